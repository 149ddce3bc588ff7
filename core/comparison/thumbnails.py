"""Small pictures for the report: the image with A's, B's or the truth's masks over it, and where A and B
disagree (red over a grey copy). Pure numpy + OpenCV."""
from __future__ import annotations

import base64

import cv2
import numpy as np

from maskwork.core.domain.annotation import ClassList
from maskwork.core.domain.masks import Mask
from maskwork.core.view.render import instance_rgb

SIDE = 240  # px, the longer side of a thumbnail
ALPHA = 0.5


def _palette(classes: ClassList, size: int) -> np.ndarray:
    table = np.zeros((max(size, 1), 3), np.uint8)
    for c in classes:
        if 0 <= c.id < len(table) and c.id != 0:
            table[c.id] = c.rgb
    return table


def _blend(rgb: np.ndarray, colours: np.ndarray, where: np.ndarray) -> np.ndarray:
    out = rgb.astype(np.float32)
    out[where] = (1 - ALPHA) * out[where] + ALPHA * colours[where]
    return out.astype(np.uint8)


def semantic_overlay(rgb: np.ndarray, label_map: np.ndarray, classes: ClassList) -> np.ndarray:
    table = _palette(classes, int(label_map.max(initial=0)) + 1)
    return _blend(rgb, table[label_map], label_map > 0)


def instance_overlay(rgb: np.ndarray, masks: list[Mask]) -> np.ndarray:
    """Each object in its own colour (the canvas's colours), outlined in white: touching objects stay apart."""
    colours = np.zeros_like(rgb)
    where = np.zeros(rgb.shape[:2], bool)
    edges = np.zeros(rgb.shape[:2], np.uint8)
    for k, m in enumerate(masks, start=1):
        full = m.to_full()
        colours[full] = instance_rgb(k)
        where |= full
        contours, _ = cv2.findContours(full.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(edges, contours, -1, 255, max(1, round(max(rgb.shape[:2]) / SIDE)))
    out = _blend(rgb, colours, where)
    out[edges > 0] = (255, 255, 255)
    return out


def disagreement_overlay(rgb: np.ndarray, differ: np.ndarray) -> np.ndarray:
    """Red where A and B differ, grown to a thumbnail pixel so that scattered pixels stay visible."""
    grow = round(max(rgb.shape[:2]) / SIDE)
    if grow > 1:
        differ = cv2.dilate(differ.astype(np.uint8), np.ones((grow, grow), np.uint8)).astype(bool)
    grey = cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    red = np.zeros_like(rgb)
    red[..., 0] = 255
    out = grey.copy()
    out[differ] = (0.2 * grey[differ] + 0.8 * red[differ]).astype(np.uint8)
    return out


def png_data_uri(rgb: np.ndarray) -> str:
    h, w = rgb.shape[:2]
    scale = SIDE / max(h, w)
    if scale < 1:
        rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("could not encode a thumbnail")
    return "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode()
