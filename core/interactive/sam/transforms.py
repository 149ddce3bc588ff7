"""Pre- and post-processing shared by every layout: pure numpy, no model.

The arithmetic follows segment-anything's reference (ResizeLongestSide, Sam.preprocess,
Sam.postprocess_masks) so masks agree with SamPredictor pixel for pixel (tests/unit/test_sam.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from maskwork.core.domain.errors import InputError
from maskwork.core.interactive.sam.layouts import Layout


@dataclass(frozen=True)
class Frame:
    """The image (height x width) scaled to h x w at the top-left of the model's side x side input."""
    height: int
    width: int
    h: int
    w: int
    side: int = 1024

    def to_frame(self, xy: np.ndarray) -> np.ndarray:
        """Image pixel coordinates (x, y) -> model input coordinates (ResizeLongestSide.apply_coords)."""
        out = np.asarray(xy, np.float64).copy()
        out[..., 0] *= self.w / self.width
        out[..., 1] *= self.h / self.height
        return out


def make_frame(height: int, width: int, layout: Layout, fit: tuple[int, int] | None = None) -> Frame:
    """Where the image goes: longest side to `side` (aspect kept), or stretched to the square.

    `fit` (h, w) is a fixed encoder input smaller than the square (an [H, W, 3] export with fixed
    dims): the image is scaled to fit inside it, as the tool that exported it does."""
    if height < 1 or width < 1:
        raise InputError(f"the image is {width}x{height} pixels; a promptable model needs at least 1x1.")
    side = layout.side
    if layout.frame == "square":
        return Frame(height, width, side, side, side)
    if fit is not None:
        scale = min(fit[0] / height, fit[1] / width)
    else:
        scale = side / max(height, width)
    h, w = int(height * scale + 0.5), int(width * scale + 0.5)   # ResizeLongestSide.get_preprocess_shape
    return Frame(height, width, min(h, side), min(w, side), side)


def resize_rgb(image: np.ndarray, w: int, h: int) -> np.ndarray:
    """Bilinear (antialiased) resize with Pillow, as the reference does through to_pil_image."""
    if image.shape[:2] == (h, w):
        return image
    return np.asarray(Image.fromarray(image).resize((w, h), Image.Resampling.BILINEAR))


def resize_float(image: np.ndarray, w: int, h: int) -> np.ndarray:
    """Antialiased bilinear on float pixels: Pillow's filter on each channel as 32-bit floats, which is
    torchvision's Resize(antialias=True) on a float tensor (SAM 2's SAM2Transforms) to ~3e-7."""
    if image.shape[:2] == (h, w):
        return image.astype(np.float32)
    bands = Image.fromarray(image).split()   # converted inside Pillow: no float copy of a big image in numpy
    return np.stack([np.asarray(b.convert("F").resize((w, h), Image.Resampling.BILINEAR)) for b in bands], axis=-1)


def check_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"a promptable model needs an RGB image (height, width, 3); got shape {image.shape}.")
    if image.dtype != np.uint8:
        raise InputError(f"a promptable model needs 8-bit pixels; got {image.dtype} (read the image with "
                         "maskwork.core.store.images.read_image).")
    return image


def encoder_input(image: np.ndarray, frame: Frame, layout: Layout, rank: int = 4,
                  fixed: tuple[int, int] | None = None) -> np.ndarray:
    """The encoder's input tensor: NCHW normalised and padded, or (rank 3) raw HWC pixels for
    encoders that normalise and pad themselves (samexporter's export with pre-processing)."""
    image = check_rgb(image)
    if layout.resample == "float":   # as F.interpolate inside the encoder: float pixels, no rounding to 8 bits
        scaled = resize_window(image.transpose(2, 0, 1), frame.h, frame.w).transpose(1, 2, 0)
    elif layout.resample == "pil_float":   # as torchvision's Resize on the float tensor
        scaled = resize_float(image, frame.w, frame.h)
    else:
        scaled = resize_rgb(image, frame.w, frame.h).astype(np.float32)
    if rank == 3:
        if fixed is None:
            return scaled
        out = np.zeros((fixed[0], fixed[1], 3), np.float32)   # letterbox, content at the top-left
        out[: frame.h, : frame.w] = scaled
        return out
    x = scaled / np.float32(layout.pixel_scale) if layout.pixel_scale != 1 else scaled
    if not layout.encoder_normalises:
        x = (x - np.asarray(layout.mean, np.float32)) / np.asarray(layout.std, np.float32)
    out = np.zeros((1, 3, frame.side, frame.side), np.float32)  # padding is 0 after normalisation
    out[0, :, : frame.h, : frame.w] = x.transpose(2, 0, 1)
    return out


def _axis(n_in: int, n_out: int, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of bilinear resizing n_in -> n_out (align_corners=False, as
    torch.nn.functional.interpolate) for output indices start..stop-1."""
    scale = np.float32(n_in) / np.float32(n_out)
    src = (np.arange(start, stop, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    src = np.maximum(src, np.float32(0))
    i0 = np.minimum(src.astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = (src - i0.astype(np.float32)).astype(np.float32)
    return i0, i1, lam


def resize_window(a: np.ndarray, out_h: int, out_w: int, y0: int = 0, y1: int | None = None,
                  x0: int = 0, x1: int | None = None) -> np.ndarray:
    """Rows y0..y1 and columns x0..x1 of `a` (..., H, W) bilinearly resized to out_h x out_w,
    computed only for that window (a 48-megapixel image costs the size of the object)."""
    y1 = out_h if y1 is None else y1
    x1 = out_w if x1 is None else x1
    r0, r1, ry = _axis(a.shape[-2], out_h, y0, y1)
    c0, c1, cx = _axis(a.shape[-1], out_w, x0, x1)
    rows = a[..., r0, :] * (1 - ry)[:, None] + a[..., r1, :] * ry[:, None]
    return rows[..., c0] * (1 - cx) + rows[..., c1] * cx


def frame_logits(low_res: np.ndarray, frame: Frame, layout: Layout) -> np.ndarray:
    """Low-resolution logits (..., n, n) over the model input -> logits over the scaled image (h x w)
    for "crop" layouts (to side x side, padding cut), or left as they are for "direct" ones."""
    if layout.upscale == "direct":
        return low_res
    return resize_window(low_res, frame.side, frame.side, 0, frame.h, 0, frame.w)


def image_logits(low_res: np.ndarray, frame: Frame, layout: Layout,
                 window: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Logits at the image's resolution (Sam.postprocess_masks), for the window x0, y0, x1, y1."""
    x0, y0, x1, y1 = window or (0, 0, frame.width, frame.height)
    return resize_window(frame_logits(low_res, frame, layout), frame.height, frame.width, y0, y1, x0, x1)


def positive_window(src: np.ndarray, height: int, width: int, threshold: float = 0.0
                    ) -> tuple[int, int, int, int] | None:
    """The window of a height x width resize of `src` (h x w) that holds every value above `threshold`:
    a bilinear sample is a convex mix of its 4 neighbours, so it can only be positive near a positive."""
    pos = src > threshold
    rows, cols = np.flatnonzero(pos.any(axis=1)), np.flatnonzero(pos.any(axis=0))
    if rows.size == 0:
        return None
    sh, sw = src.shape
    fy, fx = height / sh, width / sw
    y0 = max(0, int(np.floor((rows[0] - 1.0) * fy)) - 1)
    y1 = min(height, int(np.ceil((rows[-1] + 2.0) * fy)) + 1)
    x0 = max(0, int(np.floor((cols[0] - 1.0) * fx)) - 1)
    x1 = min(width, int(np.ceil((cols[-1] + 2.0) * fx)) + 1)
    return x0, y0, x1, y1
