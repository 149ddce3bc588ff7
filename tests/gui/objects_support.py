"""Real-data set-ups for the outline tool and Objects panel tests: a nuclei image whose instances
are its ground truth (one nucleus has a real hole), and an aerial crop whose correction is its
ground-truth label map."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from maskwork.core.domain.annotation import ClassInfo, ClassList, Instance, Source
from maskwork.core.domain.masks import Mask
from tests.gui.window_helpers import aerial_classes, view_pos

NUCLEI = ClassList([ClassInfo(0, "background", "#000000"), ClassInfo(1, "nucleus", "#FF7F0E"),
                    ClassInfo(2, "debris", "#FF00FF")])
HOLED_IMAGE, HOLED_ANNOTATION = "70827e40a7155391.png", 13947  # val: a nucleus with a 16-pixel hole


def open_holed_nuclei(window, nuclei_val, tmp_path, score_every: int = 3):
    """Open the nuclei image with the holed nucleus; its ground truth becomes the correction (every
    `score_every`-th object as if accepted from a model, with a score). Returns the holed id."""
    doc = json.loads(nuclei_val.read_text())
    image = next(i for i in doc["images"] if i["file_name"] == HOLED_IMAGE)
    folder = tmp_path / "holed"
    folder.mkdir()
    shutil.copy(nuclei_val.parent / "images" / HOLED_IMAGE, folder / HOLED_IMAGE)
    assert window.session.open_path(folder, task="instance", classes=NUCLEI)
    anns = [a for a in doc["annotations"] if a["image_id"] == image["id"]]
    instances, holed = [], None
    for k, a in enumerate(anns, start=1):
        model = k % score_every == 0
        instances.append(Instance(k, 1, Mask.from_rle(a["segmentation"]), score=round(0.5 + k / (2 * len(anns)), 3)
                                  if model else None, source=Source.MODEL if model else Source.PERSON))
        holed = k if a["id"] == HOLED_ANNOTATION else holed
    window.state.annotation.corrected.instances = instances
    window.state.notify_edit(None)
    return holed


def open_aerial_truth(window, aerial_folder, aerial_dir, tmp_path) -> np.ndarray:
    """The first aerial crop, its ground truth as the correction; returns a copy of the truth."""
    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    truth = np.array(Image.open(tmp_path / "aerial_masks" / window.state.current_name))
    window.state.annotation.corrected.label_map = truth.copy()
    window.state.notify_edit(None)
    return truth


def inside(mask: Mask) -> tuple[float, float]:
    """The centre of the mask pixel nearest its centroid (a click there hits the object)."""
    ys, xs = np.nonzero(mask.crop)
    k = np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2)
    return mask.x0 + xs[k] + 0.5, mask.y0 + ys[k] + 0.5


def look_at(window, x: float, y: float, zoom: float) -> None:
    window.view.set_zoom(zoom)
    window.view.centerOn(x, y)


def drag(qtbot, window, start: tuple[float, float], end: tuple[float, float], steps: int = 4,
         modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """Press at image point `start`, move in steps, release at `end` (real viewport events)."""
    vp = window.view.viewport()
    a, b = view_pos(window, *start), view_pos(window, *end)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, modifier, pos=a)
    for k in range(1, steps + 1):
        x, y = a.x() + (b.x() - a.x()) * k / steps, a.y() + (b.y() - a.y()) * k / steps
        qtbot.mouseMove(vp, QPoint(round(x), round(y)))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, modifier, pos=b)


def click(qtbot, window, x: float, y: float, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, modifier, pos=view_pos(window, x, y))


@pytest.fixture
def objects_dock(window):
    """The real Objects panel from the dock table, docked in the test window."""
    from maskwork.gui import docks

    docks_, skipped = docks.add_panels(window, window.state, [OBJECTS_SPEC])
    assert not skipped, skipped
    return docks_["Objects"].widget()


def _objects_spec():
    from maskwork.gui import docks

    return next(s for s in docks.PANELS if s.title == "Objects")


OBJECTS_SPEC = _objects_spec()  # read at import, before the window fixture empties docks.PANELS
