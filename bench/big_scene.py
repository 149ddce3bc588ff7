"""The big scenes the interactive benchmarks edit, built from real data only:

- semantic: an aerial image and its real label map upscaled to 8000 x 6000 (48 MP), with a
  "prediction" that is the truth shifted by 7 pixels (so the live IoU has real work to do);
- instance: 300 real nuclei masks placed on an 8000 x 6000 image, the prediction shifted by (2, 1).

`open_window(scene)` opens it in the real MainWindow (offscreen), through Session.set_project as
the app does, so edits go through Editor -> core.editing -> AppState.layer_changed -> canvas overlay,
IoU panel, status bar and image list, exactly as a mouse stroke would.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from bench.common import DATASETS

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

WIDTH, HEIGHT = 8000, 6000
AERIAL_TILE = "tile1_008"
N_INSTANCES = 300


@dataclass
class Scene:
    kind: str                 # "semantic" | "instance"
    folder: Path
    name: str
    annotation: object        # core.domain.annotation.ImageAnnotation
    classes: object           # core.domain.annotation.ClassList


def aerial_classes():
    from maskwork.core.domain.annotation import ClassList

    return ClassList.from_list(json.loads((DATASETS / "aerial" / "classes.json").read_text()))


def big_label_map() -> np.ndarray:
    small = np.array(Image.open(DATASETS / "aerial" / "masks" / f"{AERIAL_TILE}.png"))
    return cv2.resize(small, (WIDTH, HEIGHT), interpolation=cv2.INTER_NEAREST)


def nuclei_masks(limit: int = N_INSTANCES):
    """Real nuclei masks (largest images first), each placed on a 20-column grid of the big image."""
    from maskwork.core.domain.masks import Mask

    data = json.loads((DATASETS / "nuclei" / "val.json").read_text())
    by_image: dict[int, list] = {}
    for a in data["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    masks = []
    for image_id in sorted(by_image, key=lambda i: -len(by_image[i])):
        masks += [Mask.from_rle(a["segmentation"]) for a in by_image[image_id]]
        if len(masks) >= limit:
            break
    return [Mask(HEIGHT, WIDTH, (k % 20) * 390 + 10, (k // 20) * 390 + 10, m.crop)
            for k, m in enumerate(masks[:limit])]


def _write_image(folder: Path, name: str) -> None:
    """The photo under the overlay: a real aerial image upscaled (JPEG keeps the write fast)."""
    src = cv2.imread(str(DATASETS / "aerial" / "images" / f"{AERIAL_TILE}.jpg"))
    cv2.imwrite(str(folder / name), cv2.resize(src, (WIDTH, HEIGHT)), [cv2.IMWRITE_JPEG_QUALITY, 85])


def make_scene(kind: str, root: Path | None = None) -> Scene:
    from maskwork.core.domain.annotation import ClassList, ImageAnnotation, Instance, Layer

    folder = Path(tempfile.mkdtemp(prefix=f"bench_{kind}_", dir=root))
    name = "big.jpg"
    _write_image(folder, name)
    if kind == "semantic":
        gt = big_label_map()
        ann = ImageAnnotation(name, WIDTH, HEIGHT, corrected=Layer(gt), prediction=Layer(np.roll(gt, 7, axis=1)))
        classes = aerial_classes()
    else:
        masks = nuclei_masks()
        from maskwork.core.domain.masks import Mask

        shifted = [Mask(m.height, m.width, m.x0 + 2, m.y0 + 1, m.crop) for m in masks]
        ann = ImageAnnotation(name, WIDTH, HEIGHT,
                              corrected=Layer(instances=[Instance(k + 1, 1, m) for k, m in enumerate(masks)]),
                              prediction=Layer(instances=[Instance(k + 1, 1, m, score=0.9)
                                                          for k, m in enumerate(shifted)]))
        classes = ClassList.from_list([{"id": 0, "name": "background", "color": "#000000"},
                                       {"id": 1, "name": "nucleus", "color": "#FFD700"}])
    return Scene(kind, folder, name, ann, classes)


def quiet_dialogs() -> None:
    """A modal dialog would block an offscreen benchmark forever: report its text and go on."""
    from maskwork.gui.dialogs import messages

    messages.show_error = lambda parent, error, title="Maskwork": print(f"[dialog] {error}")
    messages.show_info = lambda parent, title, text: print(f"[dialog] {title}: {text[:200]}")
    messages.ask_save = lambda parent, names: messages.DISCARD


def app():
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is None:  # settings and recent projects go to a throwaway folder
        home = Path(tempfile.mkdtemp(prefix="bench_settings_"))
        atexit.register(shutil.rmtree, home, True)
        os.environ["XDG_CONFIG_HOME"], os.environ["XDG_DATA_HOME"] = str(home / "config"), str(home / "data")
    return QApplication.instance() or QApplication([])


def open_window(scene: Scene):
    """A shown MainWindow with the scene's project open at its big image; returns (app, window)."""
    from maskwork.core.store.project import Project
    from maskwork.gui.main_window import MainWindow

    qapp = app()
    quiet_dialogs()
    project = Project.open(scene.folder, task=scene.kind, classes=scene.classes)
    project.set_annotation(scene.name, scene.annotation)
    window = MainWindow()
    window.show()
    qapp.processEvents()
    window.session.set_project(project)
    settle(qapp)
    return qapp, window


def settle(qapp) -> None:
    """Let start-up work finish before timing: the model panel lists models in a worker thread (it
    imports torch), which would otherwise compete with the timed edits for the GIL and the CPU."""
    from PySide6.QtCore import QThreadPool

    for _ in range(3):
        qapp.processEvents()
        QThreadPool.globalInstance().waitForDone(120_000)
    qapp.processEvents()


def png_project(n: int, root: Path | None = None, side: int = 64) -> Path:
    """A saved project of n small PNGs cut from real nuclei images (names img_00000.png ...)."""
    from maskwork.core.domain.annotation import ClassList
    from maskwork.core.store.project import Project

    folder = Path(tempfile.mkdtemp(prefix=f"bench_{n}png_", dir=root))
    sources = sorted((DATASETS / "nuclei" / "images").glob("*.png"))[:20]
    crops = []
    for src in sources:
        img = cv2.imread(str(src))
        for y in range(0, img.shape[0] - side + 1, side):
            for x in range(0, img.shape[1] - side + 1, side):
                crops.append(img[y : y + side, x : x + side])
    for k in range(n):
        cv2.imwrite(str(folder / f"img_{k:05d}.png"), crops[k % len(crops)])
    Project.create(folder, ClassList.from_names(["background", "nucleus"]), task="semantic")
    return folder


def aerial_project(root: Path | None = None, count: int = 12, with_big: bool = True) -> Path:
    """A saved semantic project of real aerial images with their real label maps as corrections and
    the labels shifted by 7 px as predictions; optionally the 8000 x 6000 image too (big.jpg)."""
    from maskwork.core.domain.annotation import ImageAnnotation, Layer
    from maskwork.core.store.project import Project

    folder = Path(tempfile.mkdtemp(prefix="bench_aerial_", dir=root))
    project = Project.create(folder, aerial_classes(), task="semantic")
    for src in sorted((DATASETS / "aerial" / "images").glob("*.jpg"))[:count]:
        dst = folder / src.name
        dst.write_bytes(src.read_bytes())
        labels = np.array(Image.open(DATASETS / "aerial" / "masks" / (src.stem + ".png")))
        h, w = labels.shape
        project.set_annotation(src.name, ImageAnnotation(src.name, w, h, corrected=Layer(labels),
                                                         prediction=Layer(np.roll(labels, 7, axis=1))))
    project.settings["current_image"] = sorted(project.dirty)[0]  # start on a real tile, not the 48 MP one
    if with_big:
        _write_image(folder, "big.jpg")
        gt = big_label_map()
        project.set_annotation("big.jpg", ImageAnnotation("big.jpg", WIDTH, HEIGHT, corrected=Layer(gt),
                                                          prediction=Layer(np.roll(gt, 7, axis=1))))
    project.save()
    return folder
