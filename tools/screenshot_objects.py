"""Screenshots of the Objects panel and of outline (vertex) editing on a real nuclei image.

    Xvfb :45 -screen 0 1600x1000x24 &
    HOME=/tmp/h45 DISPLAY=:45 QT_QPA_PLATFORM=xcb .venv/bin/python tools/screenshot_objects.py
Writes docs/screenshots/objects_panel.png and docs/screenshots/vertex_editing.png (ImageMagick `import`).
The correction is the image's ground truth, every third object as if accepted from a model (with a
score); one object is hidden and one locked, as a user would while reviewing.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NUCLEI = ROOT.parent / "shared" / "datasets" / "nuclei"
OUT = ROOT / "docs" / "screenshots"
IMAGE, HOLED = "70827e40a7155391.png", 13947


def build_project(folder: Path) -> int:
    from maskwork.core.domain.annotation import ClassInfo, ClassList, Instance, Layer, Source, Status
    from maskwork.core.domain.masks import Mask
    from maskwork.core.store.project import Project

    doc = json.loads((NUCLEI / "val.json").read_text())
    image = next(i for i in doc["images"] if i["file_name"] == IMAGE)
    shutil.copy(NUCLEI / "images" / IMAGE, folder / IMAGE)
    classes = ClassList([ClassInfo(0, "background", "#000000"), ClassInfo(1, "nucleus", "#FF7F0E")])
    project = Project.create(folder, classes, "instance")
    anns = [a for a in doc["annotations"] if a["image_id"] == image["id"]]
    instances, holed = [], 0
    for k, a in enumerate(anns, start=1):
        model = k % 3 != 0
        instances.append(Instance(k, 1, Mask.from_rle(a["segmentation"]),
                                  score=round(0.55 + 0.44 * ((k * 37) % 100) / 100, 2) if model else None,
                                  source=Source.MODEL if model else Source.PERSON))
        holed = k if a["id"] == HOLED else holed
    ann = project.annotation(IMAGE)
    ann.corrected = Layer(None, instances)
    ann.status = Status.CORRECTED
    project.mark_dirty(IMAGE)
    project.save()
    project.close()
    return holed


def grab(path: Path) -> None:
    subprocess.run(["import", "-window", "root", str(path)], check=True)
    print("wrote", path)


def main() -> int:
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from maskwork.gui.main_window import MainWindow

    app = QApplication(sys.argv)
    app.setApplicationName("Maskwork")
    work = Path(tempfile.mkdtemp(prefix="maskwork-shot-"))
    holed = build_project(work)
    win = MainWindow()
    win.resize(1600, 1000)
    win.move(0, 0)
    win.show()
    assert win.session.open_path(work)
    panel = win.panel_docks["Objects"].widget()
    layer = win.state.annotation.corrected
    flags = win.state.flags

    def review() -> None:  # a reviewer sorts by score, hides one object, locks one, selects one
        scored = sorted((i for i in layer.instances if i.score is not None), key=lambda i: i.score)
        hidden, picked, locked = scored[1], scored[2], scored[3]
        x0, y0, w, h = hidden.mask.bbox
        flags.set_hidden(hidden.id, True, (x0, y0, x0 + w, y0 + h))
        flags.set_locked(locked.id, True)
        panel.tree.sortByColumn(4, Qt.SortOrder.AscendingOrder)  # lowest scores first: the ones to check
        win.resizeDocks([win.panel_docks["Objects"]], [470], Qt.Orientation.Vertical)
        win.state.select_requested.emit([picked.id])
        panel.tree.scrollToTop()

    def outline() -> None:
        win.toolbar.select("outline")
        mask = layer.instance(holed).mask
        ys, xs = mask.crop.nonzero()
        cx, cy = mask.x0 + int(xs[len(xs) // 2]), mask.y0 + int(ys[len(ys) // 2])  # a pixel of the nucleus
        win.view.set_zoom(9)
        win.view.centerOn(mask.x0 + mask.crop.shape[1] / 2, mask.y0 + mask.crop.shape[0] / 2)
        tool = win.view.tool
        tool.outline.pick((int(cx), int(cy)))
        tool._show_target()
        pts = list(tool.points)
        k = max(range(len(pts)), key=lambda i: pts[i][0])  # pull the rightmost vertex out, as a drag does
        pts[k] = (pts[k][0] + 6, pts[k][1] + 3)
        tool.outline.drag(pts)
        tool.outline.commit(pts, "Move vertex")
        tool.active = k
        tool._show_target()
        win.view.viewport().setCursor(tool.cursor())
        win.state.status_message.emit("Outline (V): drag a vertex, press on an edge to add one, "
                                      "Shift+click or Delete removes one; one undo step per drag.")

    steps = [(600, review), (900, win.view.fit), (900, lambda: grab(OUT / "objects_panel.png")), (600, outline),
             (1500, lambda: grab(OUT / "vertex_editing.png")), (200, app.quit)]
    delay = 0
    for wait, step in steps:
        delay += wait
        QTimer.singleShot(delay, step)
    app.exec()
    win.session.close_project = lambda: True
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
