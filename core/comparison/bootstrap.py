"""Is B better, or is it noise? A paired bootstrap over images: the same resampled images score both models,
so what the two share (hard images, easy images) cancels and only their difference is left."""
from __future__ import annotations

import numpy as np

ROUNDS = 1000
LEVEL = 0.95
NEGLIGIBLE = 0.005  # a difference whose whole interval lies within this is "the same" for a user


def _resample_weights(n: int, rounds: int, seed: int) -> np.ndarray:
    """(rounds, n) how many times each image is drawn in each resample."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(rounds, n))
    return np.stack([np.bincount(d, minlength=n) for d in draws]).astype(np.float64)


def _interval(samples: np.ndarray) -> tuple[float, float]:
    lo, hi = np.nanpercentile(samples, [50 * (1 - LEVEL), 100 - 50 * (1 - LEVEL)], axis=0)
    return float(lo), float(hi)


def mean_difference_interval(a: list[float], b: list[float], seed: int = 0) -> tuple[float, float] | None:
    """Interval of mean(B) - mean(A) over images (per-image AP, PQ)."""
    d = np.asarray(b, np.float64) - np.asarray(a, np.float64)
    if len(d) < 2:
        return None
    w = _resample_weights(len(d), ROUNDS, seed)
    return _interval(w @ d / len(d))


def ious_of(conf: np.ndarray, ignore_index: int | None) -> np.ndarray:
    """(..., C) IoU per class of (..., C, C) confusion counts (nan where a class is absent or ignored), the
    rule of core.training.semantic.iou_from_confusion."""
    conf = conf.astype(np.float64).copy()
    if ignore_index is not None:
        conf[..., ignore_index, :] = 0
    tp = np.diagonal(conf, axis1=-2, axis2=-1)
    union = conf.sum(-2) + conf.sum(-1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / np.where(union > 0, union, 1), np.nan)
    if ignore_index is not None:
        iou[..., ignore_index] = np.nan
    return iou


def confusion_difference_intervals(conf_a: np.ndarray, conf_b: np.ndarray, ignore_index: int | None,
                                   seed: int = 0) -> dict:
    """Intervals of B - A for the dataset mIoU ("miou") and each class's IoU (class id -> interval), from
    (T, C, C) per-image confusion counts: each resample sums the drawn images' counts, as the dataset
    score itself does (not a mean of per-image IoUs)."""
    t, c = conf_a.shape[0], conf_a.shape[1]
    if t < 2:
        return {}
    w = _resample_weights(t, ROUNDS, seed)
    sums_a = (w @ conf_a.reshape(t, -1)).reshape(ROUNDS, c, c)
    sums_b = (w @ conf_b.reshape(t, -1)).reshape(ROUNDS, c, c)
    iou_a, iou_b = ious_of(sums_a, ignore_index), ious_of(sums_b, ignore_index)
    with np.errstate(invalid="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a resample where a class is absent everywhere
            out: dict = {"miou": _interval(np.nanmean(iou_b, 1) - np.nanmean(iou_a, 1))}
            for k in range(c):
                diff = iou_b[:, k] - iou_a[:, k]
                if np.isfinite(diff).any():
                    out[k] = _interval(diff)
    return out


def verdict(a_label: str, b_label: str, interval: tuple[float, float] | None) -> str:
    if interval is None:
        return "too few images with truth to tell whether either model is better"
    lo, hi = interval
    span = f"{LEVEL:.0%} interval of B - A: [{lo:+.4f}, {hi:+.4f}]"
    if max(abs(lo), abs(hi)) < NEGLIGIBLE:
        return f"practically the same: B - A stays within ±{NEGLIGIBLE} ({span})"
    if lo > 0:
        return f"B ({b_label}) is better ({span})"
    if hi < 0:
        return f"A ({a_label}) is better ({span})"
    return f"no clear difference: the interval includes 0 ({span})"
