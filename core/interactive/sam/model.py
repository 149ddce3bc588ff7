"""An ONNX encoder/decoder pair of the SAM family, run with onnxruntime.

`encode(image)` is the slow half (seconds on a CPU): run it in a worker and keep the result in an
EmbeddingCache. `decode(embedding, prompt)` is the fast half (tens of ms) and returns every
candidate mask with its predicted IoU and the index of the best, so a key can switch candidates
without running anything again.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from maskwork.core.domain.errors import Cancelled, InputError, ModelError
from maskwork.core.domain.masks import Mask
from maskwork.core.domain.progress import CancelToken, ProgressFn, check, report
from maskwork.core.interactive.prompt import Prompt
from maskwork.core.interactive.sam import transforms as T
from maskwork.core.interactive.sam.layouts import Layout, get_layout
from maskwork.core.store import bounded

log = logging.getLogger(__name__)

STROKE_POINTS = 5          # a scribble becomes this many clicks along it (SAM takes clicks, not strokes)
LOW_RES = 256              # side of the decoders' mask logits and of mask_input
STABILITY_DELTA, STABILITY_MIN = 0.05, 0.98   # build_sam2's dynamic_multimask_stability_delta / _thresh


@dataclass
class Embedding:
    features: dict[str, np.ndarray]     # role -> array with its batch dimension
    frame: T.Frame

    @property
    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in self.features.values()))


@dataclass
class SamResult:
    """Candidate masks for one prompt: predicted IoU of each, which is best, and the low-resolution logits
    (feed `low_res[i]` back as `previous` to refine with more clicks). A candidate's full-size mask is
    made when first asked for (`mask_at`), so showing the best costs one upscaling, not four."""
    scores: np.ndarray
    best: int
    low_res: np.ndarray
    frame: T.Frame
    layout: Layout
    latency_ms: float = 0.0
    _masks: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.scores)

    def mask_at(self, index: int) -> Mask:
        if index not in self._masks:
            self._masks[index] = logits_to_mask(self.low_res[index], self.frame, self.layout)
        return self._masks[index]

    @property
    def masks(self) -> list[Mask]:
        return [self.mask_at(i) for i in range(len(self))]

    @property
    def mask(self) -> Mask:
        return self.mask_at(self.best)

    def next_index(self, index: int, step: int = 1) -> int:
        return (index + step) % len(self)


def logits_to_mask(low: np.ndarray, frame: T.Frame, layout: Layout) -> Mask:
    """Threshold at 0 (SAM's mask_threshold), computed only in the window that can be positive."""
    src = T.frame_logits(low, frame, layout)
    window = T.positive_window(src, frame.height, frame.width)
    if window is None:
        return Mask.empty(frame.height, frame.width)
    x0, y0, x1, y1 = window
    logits = T.resize_window(src, frame.height, frame.width, y0, y1, x0, x1)
    return Mask.from_crop(frame.height, frame.width, x0, y0, logits > 0)


def providers() -> list[str]:
    """CUDA when onnxruntime has it, else the CPU."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    return (["CUDAExecutionProvider"] if "CUDAExecutionProvider" in available else []) + ["CPUExecutionProvider"]


def _session(path: Path, what: str):
    import onnxruntime as ort

    if not Path(path).exists():
        raise ModelError(f"the {what} file {path} does not exist; download the model again or point at the "
                         "right file.")
    path = bounded.check_file(path, limit=bounded.MODEL_FILE, what=f"{what} file")
    opts = ort.SessionOptions()
    threads = int(os.environ.get("MASKWORK_THREADS", "0") or 0)
    if threads > 0:
        opts.intra_op_num_threads = threads
    try:
        try:
            return ort.InferenceSession(str(path), opts, providers=providers())
        except Exception:  # a CUDA provider that is present but unusable (no device, wrong driver)
            log.warning("%s: GPU providers failed, running on the CPU", path, exc_info=True)
            return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError(f"{path} is not a readable ONNX {what} ({type(exc).__name__}: {str(exc)[:120]}); "
                         "download it again or choose the right file.") from exc


class PromptModel:
    """One encoder + decoder pair in a declared layout (core.interactive.sam.layouts)."""

    def __init__(self, encoder: Path | str, decoder: Path | str, layout: Layout | str = "sam", name: str = "") -> None:
        self.layout = get_layout(layout) if isinstance(layout, str) else layout
        self.encoder_path, self.decoder_path = Path(encoder), Path(decoder)
        self.name = name or self.encoder_path.stem
        self.encoder = _session(self.encoder_path, "encoder")
        self.decoder = _session(self.decoder_path, "decoder")
        self._read_encoder_input()
        self._read_decoder_inputs()

    # ---- what the files expect ---------------------------------------------------------------
    def _read_encoder_input(self) -> None:
        first = self.encoder.get_inputs()[0]
        self._enc_name, shape = first.name, list(first.shape)
        self._enc_rank = len(shape)
        self._enc_fixed = None
        if self._enc_rank == 3 and self.layout.hwc_encoder_ok:
            dims = shape[:2]
            if all(isinstance(d, int) and d > 0 for d in dims) and tuple(dims) != (self.layout.side,) * 2:
                self._enc_fixed = (int(dims[0]), int(dims[1]))
        elif self._enc_rank != 4:
            raise ModelError(f"{self.encoder_path} takes a {self._enc_rank}-dimensional input {shape}; the "
                             f"{self.layout.name} layout needs [1, 3, H, W]"
                             + (" or [H, W, 3]" if self.layout.hwc_encoder_ok else "") + ".")

    def _read_decoder_inputs(self) -> None:
        names = {i.name for i in self.decoder.get_inputs()}
        self._dec_names: dict[str, str] = {}
        missing = []
        for role, accepted in self.layout.decoder.items():
            found = next((n for n in accepted if n in names), None)
            if found is not None:
                self._dec_names[role] = found
            elif role not in self.layout.optional:
                missing.append("/".join(accepted))
        if missing:
            raise ModelError(f"{self.decoder_path} is not a {self.layout.name} decoder: it lacks the inputs "
                             f"{', '.join(missing)} (it has {', '.join(sorted(names))}); choose the decoder that "
                             "belongs to this encoder, or the layout these files were exported in.")

    @property
    def providers(self) -> list[str]:
        return self.encoder.get_providers()

    # ---- the image ---------------------------------------------------------------------------
    def frame_for(self, height: int, width: int) -> T.Frame:
        return T.make_frame(height, width, self.layout, self._enc_fixed)

    def encode(self, image: np.ndarray, progress: ProgressFn | None = None,
               cancel: CancelToken | None = None) -> Embedding:
        """The image embedding; cancel stops onnxruntime mid-run (RunOptions.terminate)."""
        image = T.check_rgb(image)
        frame = self.frame_for(*image.shape[:2])
        report(progress, 0, 1, f"{self.name}: computing the image embedding")
        x = T.encoder_input(image, frame, self.layout, self._enc_rank, self._enc_fixed)
        check(cancel)
        outputs = _run_cancellable(self.encoder, {self._enc_name: x}, cancel)
        features = self._match_features(outputs)
        report(progress, 1, 1, f"{self.name}: image embedding ready")
        return Embedding(features, frame)

    def _match_features(self, outputs: list[np.ndarray]) -> dict[str, np.ndarray]:
        features = {}
        for feat in self.layout.features:
            hit = next((o for o in outputs if o.ndim == 4 and o.shape[1] == feat.channels
                        and o.shape[2:] == (feat.size, feat.size)), None)
            if hit is None:
                got = ", ".join(str(tuple(o.shape)) for o in outputs)
                raise ModelError(f"{self.encoder_path} gives outputs {got}, but the {self.layout.name} layout needs "
                                 f"[1, {feat.channels}, {feat.size}, {feat.size}] ({feat.role}); it is an encoder "
                                 "of another layout.")
            features[feat.role] = np.ascontiguousarray(hit, np.float32)
        return features

    # ---- prompts -----------------------------------------------------------------------------
    def prompt_arrays(self, prompt: Prompt, frame: T.Frame) -> tuple[np.ndarray, np.ndarray]:
        """Clicks and box corners in the model's frame with SAM's labels (1 object, 0 background,
        2/3 box corners, -1 padding), ordered as the layout's reference predictor orders them."""
        prompt.check(frame.width, frame.height)
        clicks: list[tuple[float, float, float]] = [(x, y, 1.0 if pos else 0.0) for x, y, pos in prompt.points]
        for stroke in prompt.strokes:
            pts = stroke.points
            picks = np.linspace(0, len(pts) - 1, min(STROKE_POINTS, len(pts))).round().astype(int)
            clicks += [(pts[i][0], pts[i][1], 1.0 if stroke.positive else 0.0) for i in picks]
        box: list[tuple[float, float, float]] = []
        if prompt.box is not None:
            x0, y0, x1, y1 = prompt.box
            box = [(x0, y0, 2.0), (x1, y1, 3.0)]
        if not clicks and not box:
            raise InputError("a promptable model needs a click or a box; click on the object or drag a box.")
        limit = self.layout.max_points
        if limit and len(box) + len(clicks) > limit:   # the decoder would silently drop the rows past its limit
            keep = max(limit - len(box), 0)
            log.warning("%s takes at most %d clicks and box corners: using the box and the last %d clicks",
                        self.name, limit, keep)
            clicks = clicks[len(clicks) - keep:]
        rows = box + clicks if self.layout.box_first else clicks + box
        if self.layout.pad_point and not box:
            rows.append((0.0, 0.0, -1.0))
        arr = np.asarray(rows, np.float64)
        coords = frame.to_frame(arr[:, :2])
        coords[arr[:, 2] < 0] = 0.0                      # the padding point stays at (0, 0)
        return coords.astype(np.float32), arr[:, 2].astype(np.float32)

    def decoder_feed(self, emb: Embedding, prompt: Prompt, previous: np.ndarray | None = None) -> dict:
        coords, labels = self.prompt_arrays(prompt, emb.frame)
        lay, f = self.layout, emb.frame
        values = dict(emb.features)
        if lay.points_rank == 4:
            values["point_coords"], values["point_labels"] = coords[None, None], labels[None, None]
        else:
            values["point_coords"], values["point_labels"] = coords[None], labels[None]
        has = previous is not None and "mask_input" in self._dec_names
        values["mask_input"] = (np.asarray(previous, np.float32).reshape(1, 1, LOW_RES, LOW_RES) if has
                                else np.zeros((1, 1, LOW_RES, LOW_RES), np.float32))
        values["has_mask_input"] = np.array([1.0 if has else 0.0], np.float32)
        # only the decoder's full-size output depends on it where orig_size_scales_points is False: keep that
        # output 1x1 (Maskwork upscales the low-res logits itself, in a window); else the frame's size
        size = [f.h, f.w] if lay.orig_size_scales_points else [1, 1]
        values["orig_im_size"] = np.array(size, lay.roles_fed_as.get("orig_im_size", "float32"))
        return {name: values[role] for role, name in self._dec_names.items()}

    def decode(self, emb: Embedding, prompt: Prompt, multimask: bool | None = None,
               previous: np.ndarray | None = None) -> SamResult:
        """Candidate masks for the prompt. multimask None: SAM's rule (several candidates for one
        click, where the object is ambiguous; the single-mask output first for richer prompts, or
        SAM 2's stable pick as best where the layout says so); True/False force it, as
        SamPredictor's multimask_output does."""
        start = time.perf_counter()
        outputs = self.decoder.run(None, self.decoder_feed(emb, prompt, previous))
        low, scores = self._low_res_and_scores(outputs)
        order, best = self._candidates(low, prompt, multimask, scores)
        result = SamResult(scores[order], best, low[order], emb.frame, self.layout)
        result.mask_at(best)
        result.latency_ms = (time.perf_counter() - start) * 1000
        return result

    def _low_res_and_scores(self, outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        low = next((o for o in outputs if o.ndim >= 3 and o.shape[-2:] == (LOW_RES, LOW_RES)), None)
        scores = next((o for o in outputs if o.ndim in (2, 3) and o.shape[-1] in (1, 3, 4)
                       and o.shape[-1] == (low.shape[-3] if low is not None else -1)), None)
        if low is None or scores is None:
            got = ", ".join(str(tuple(o.shape)) for o in outputs)
            raise ModelError(f"{self.decoder_path} gives outputs {got}; Maskwork needs the {LOW_RES}x{LOW_RES} "
                             "mask logits and the predicted IoU of each mask (export the decoder with them).")
        return low.reshape(-1, LOW_RES, LOW_RES), scores.reshape(-1).astype(np.float32)

    def _candidates(self, low: np.ndarray, prompt: Prompt, multimask: bool | None,
                    scores: np.ndarray) -> tuple[list[int], int]:
        count = len(scores)
        if count == 4 and self.layout.single_is_token0:
            one_click = prompt.box is None and len(prompt.points) == 1 and not prompt.strokes
            if multimask or (multimask is None and one_click):
                order = [1, 2, 3]
                return order, int(np.argmax(scores[order]))
            single = stable_single(low, scores) if self.layout.single_by_stability else 0
            if multimask is False:
                return [single], 0
            return [0, 1, 2, 3], single
        order = list(range(count))
        return order, int(np.argmax(scores))


def stable_single(low: np.ndarray, scores: np.ndarray) -> int:
    """SAM 2's single mask (MaskDecoder._dynamic_multimask_via_stability): token 0 where its logits are stable
    (the area above +delta is at least 98% of the area above -delta), else the best-scored multimask token."""
    outer = np.count_nonzero(low[0] > -STABILITY_DELTA)
    if outer == 0 or np.count_nonzero(low[0] > STABILITY_DELTA) / outer >= STABILITY_MIN:
        return 0
    return 1 + int(np.argmax(scores[1:]))


def _run_cancellable(session, feed: dict, cancel: CancelToken | None) -> list[np.ndarray]:
    import onnxruntime as ort

    if cancel is None:
        return session.run(None, feed)
    opts = ort.RunOptions()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            if cancel.cancelled:
                opts.terminate = True
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        return session.run(None, feed, opts)
    except Exception:
        if cancel.cancelled:
            raise Cancelled("stopped at the user's request") from None
        raise
    finally:
        done.set()
        watcher.join()
