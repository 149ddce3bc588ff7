"""Screenshots of the compare window and the IoU/dataset panels on real aerial data.

    Xvfb :98 -screen 0 1600x1000x24 &
    DISPLAY=:98 QT_QPA_PLATFORM=xcb .venv/bin/python tools/screenshot_panels.py --model aerial-landcover \
        [--model-b OTHER] [--int8]
Writes docs/screenshots/compare.png and docs/screenshots/iou_table.png (through ImageMagick `import`).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
AERIAL = ROOT.parent / "shared" / "datasets" / "aerial"
OUT = ROOT / "docs" / "screenshots"


def build_project(folder: Path, n: int, model: str):
    from maskwork.core.domain.annotation import ClassList, Layer, Status
    from maskwork.core.models.predict import Predictor
    from maskwork.core.models.prediction_layer import store_prediction
    from maskwork.core.store.project import Project

    classes = ClassList.from_list(json.loads((AERIAL / "classes.json").read_text()))
    images = sorted((AERIAL / "images").glob("*.jpg"))[:: max(1, 63 // n)][:n]
    for p in images:
        shutil.copy(p, folder / p.name)
    project = Project.create(folder, classes, "semantic")
    predictor = Predictor(model)
    for p in images:
        ann = project.annotation(p.name)
        ann.corrected = Layer(label_map=np.array(Image.open(AERIAL / "masks" / (p.stem + ".png"))))
        ann.status = Status.CORRECTED
        store_prediction(ann, predictor.predict(project.image(p.name)), model, False, 0.5)
        project.mark_dirty(p.name)
    project.save()
    return project


def grab(path: Path) -> None:
    subprocess.run(["import", "-window", "root", str(path)], check=True)
    print("wrote", path)


def zoom_to_disagreement(win) -> None:
    """Show the region where A and B disagree most (a 480 px window around their median pixel)."""
    from PySide6.QtCore import QRectF, Qt

    ys, xs = np.nonzero(win.diff_mask)
    if not len(xs):
        win.fit()
        return
    cx, cy = float(np.median(xs)), float(np.median(ys))
    win.view_a.fitInView(QRectF(cx - 240, cy - 180, 480, 360), Qt.KeepAspectRatio)
    win.view_a.view_changed.emit()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--model-b", help="compare with this model (default: the same model in int8)")
    ap.add_argument("--images", type=int, default=6)
    args = ap.parse_args()

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QHBoxLayout, QWidget

    from maskwork.gui.compare.window import CompareWindow
    from maskwork.gui.panels.dataset_panel import DatasetPanel
    from maskwork.gui.panels.iou_panel import IoUPanel
    from maskwork.gui.state import AppState

    app = QApplication(sys.argv)
    project = build_project(Path(tempfile.mkdtemp(prefix="maskwork-shot-")), args.images, args.model)
    state = AppState()
    state.project = project
    state.model_name = args.model
    name = project.image_names()[0]
    state.current_name, state.annotation, state.image = name, project.annotation(name), project.image(name)

    host = QWidget()
    host.setWindowTitle("IoU and dataset panels - Maskwork")
    row = QHBoxLayout(host)
    iou, table = IoUPanel(state), DatasetPanel(state)
    row.addWidget(iou, 1)
    row.addWidget(table, 2)
    host.setGeometry(0, 0, 1600, 1000)
    host.show()
    table.refresh()

    win = CompareWindow(state)
    b = args.model_b or args.model
    win.set_model_names(sorted({args.model, b}))
    win.picker_a.combo.setCurrentText(args.model)
    win.picker_b.combo.setCurrentText(b)
    win.picker_b.int8.setChecked(args.model_b is None)
    win._listed = True

    def shot_tables():
        if table.jobs.busy:
            QTimer.singleShot(500, shot_tables)
            return
        grab(OUT / "iou_table.png")
        host.hide()
        win.setGeometry(0, 0, 1600, 1000)
        win.show()
        win.start()
        QTimer.singleShot(1000, shot_compare)

    def shot_compare():
        if win.jobs.busy or win.outcome is None:
            if win.jobs.last_error:
                print(win.jobs.last_error)
                app.exit(1)
                return
            QTimer.singleShot(1000, shot_compare)
            return
        zoom_to_disagreement(win)
        QTimer.singleShot(800, lambda: (grab(OUT / "compare.png"), app.exit(0)))

    QTimer.singleShot(1500, shot_tables)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
