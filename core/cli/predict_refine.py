"""`predict --refine {none,edges,sam} [--sam-model NAME]`: prediction layers refined before they are written
(core/refine). Instance masks are refined one by one; a semantic label map gets its region borders refined
("edges"; a SAM-family model refines objects, so with "sam" a label map is written as the model gave it)."""
from __future__ import annotations

from collections.abc import Callable

from maskwork.core.domain.annotation import Layer
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import TextProgress
from maskwork.core.refine import REFINERS

RefineFn = Callable[[str, Layer], Layer]


def add_refine_flags(p) -> None:
    p.add_argument("--refine", choices=tuple(REFINERS), default="none",
                   help="move instance masks, or a semantic map's region borders, onto the image's edges before "
                        "writing them: edges (weight-free), zoom (the model again on each object's box, then "
                        "edges: for photos and YOLO; a semantic map gets edges), sam (a SAM-family model, "
                        "--sam-model), none (default: the model's masks as they are)")
    p.add_argument("--sam-model", help="with --refine sam: a model name (`sam-models`) or ENCODER.onnx,DECODER.onnx")


def refiner(args) -> RefineFn | None:
    """A function (image path, prediction layer) -> refined layer, or None for --refine none."""
    method = getattr(args, "refine", "none")
    if method == "none":
        if getattr(args, "sam_model", None):
            raise InputError("--sam-model is used by --refine sam only; add --refine sam or drop --sam-model.")
        return None
    if getattr(args, "engine", "local") == "ray":
        raise InputError(f"--refine {method} runs with the local engine only; drop --engine ray, or refine the "
                         "stored predictions afterwards in the app (Edit > Refine).")
    prompt_model = None
    if REFINERS[method].needs_model:
        if not args.sam_model:
            raise InputError("--refine sam needs --sam-model NAME (see `sam-models`) or ENCODER.onnx,DECODER.onnx.")
        from maskwork.core.interactive.sam import catalog
        from maskwork.core.interactive.sam.tool import resolve

        prompt_model = catalog.open_model(resolve(args.sam_model), TextProgress("sam"), None)

    predictor: list = []  # zoom: the model run again on each object's box (float; loaded on first use)

    def refine(path: str, layer: Layer) -> Layer:
        from maskwork.core.refine.apply import refine_layer
        from maskwork.core.store.images import read_image

        if layer.is_empty():
            return layer
        if REFINERS[method].needs_predictor and layer.instances and not predictor:
            from maskwork.core.models.predict import Predictor

            predictor.append(Predictor(args.model, device=getattr(args, "device", None)))
        return refine_layer(read_image(path), layer, method, prompt_model=prompt_model,
                            predictor=predictor[0] if predictor else None)

    return refine
