"""The "sam" row of core.interactive.TOOLS: segment(tool="sam", image, prompt) with the model chosen
once by `choose` (CLI --model, scripts, the benchmark). The GUI tool keeps its own model and cache
(gui/tools/sam_tool.py) so the embedding is computed in a worker."""
from __future__ import annotations

import hashlib

import numpy as np

from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.domain.progress import CancelToken, ProgressFn
from maskwork.core.interactive.prompt import Prompt
from maskwork.core.interactive.sam.cache import EmbeddingCache
from maskwork.core.interactive.sam.model import PromptModel

_CURRENT: dict[str, PromptModel | EmbeddingCache] = {}


def resolve(text: str, layout: str | None = None):
    """A SamSpec from a model name, or from ENCODER.onnx,DECODER.onnx."""
    from maskwork.core.interactive.sam import catalog

    if "," in text or text.endswith(".onnx"):
        return catalog.pair_spec(text, layout or "sam")
    spec = catalog.get_spec(text)
    if layout is not None and layout != spec.layout:
        raise InputError(f"{spec.name} is a {spec.layout} model; --layout {layout} applies to your own files only.")
    return spec


def choose(text: str, progress: ProgressFn | None = None, cancel: CancelToken | None = None,
           layout: str | None = None, **fetch_options) -> PromptModel:
    """Open the model `text` names (downloading it if needed) and make it the one "sam" uses."""
    from maskwork.core.interactive.sam import catalog

    model = catalog.open_model(resolve(text, layout), progress, cancel, **fetch_options)
    _CURRENT["model"], _CURRENT["cache"] = model, EmbeddingCache(model)
    return model


def image_key(image: np.ndarray) -> str:
    return hashlib.blake2b(image.tobytes(), digest_size=16).hexdigest() + str(image.shape)


def segment_sam(image: np.ndarray, prompt: Prompt) -> Mask:
    model, cache = _CURRENT.get("model"), _CURRENT.get("cache")
    if not isinstance(model, PromptModel) or not isinstance(cache, EmbeddingCache):
        raise InputError("the sam tool needs a model: choose one (CLI: --model NAME or ENCODER.onnx,DECODER.onnx; "
                         "`python main.py sam-models` lists them).")
    emb = cache.get(image_key(image), image)
    result = model.decode(emb, prompt)
    return result.mask
