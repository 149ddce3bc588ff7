"""Screenshot of Edit > Refine all objects on a coco_sample street photo (issue 21).

    Xvfb :19 -screen 0 1600x1000x24 &
    HOME=/tmp/h19 DISPLAY=:19 QT_QPA_PLATFORM=xcb .venv/bin/python tools/screenshot_refine.py
Writes docs/screenshots/refine.png (ImageMagick `import`). The seed's YOLO11n-seg (../shared/models, test data
only) predicts the people and cars; its objects are accepted as the correction (source "model"), one is locked,
then Refine all objects runs: the Objects panel lists the refined ones as "model, refined".
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COCO = ROOT.parent / "shared" / "datasets" / "coco_sample" / "val2017"
YOLO = ROOT.parent / "shared" / "models" / "yolo11n-seg-quantized.onnx"
OUT = ROOT / "docs" / "screenshots" / "refine.png"
IMAGE = "000000184324.jpg"  # a street with people and cars; Flickr licence in instances_val2017.json


def build_project(folder: Path) -> None:
    from maskwork.core.domain.annotation import ClassInfo, ClassList, Layer, Status
    from maskwork.core.models.onnx_models.register import register_onnx
    from maskwork.core.models.predict import Predictor
    from maskwork.core.store.images import read_image
    from maskwork.core.store.project import Project

    shutil.copy(COCO / IMAGE, folder / IMAGE)
    predictor = Predictor(register_onnx(YOLO, name="yolo11n-seg").name)
    ids = {c.id: c.name for c in predictor.classes}
    ours = {"person": 1, "car": 2}
    classes = ClassList([ClassInfo(0, "background", "#000000"), ClassInfo(1, "person", "#E6194B"),
                         ClassInfo(2, "car", "#3CB4F0")])
    project = Project.create(folder, classes, "instance")
    found = predictor.predict(read_image(folder / IMAGE), 0.3).filtered(0.3)
    kept = [i for i in found if ids[i.class_id] in ours]
    for k, inst in enumerate(kept, start=1):
        inst.id, inst.class_id = k, ours[ids[inst.class_id]]
    ann = project.annotation(IMAGE)
    ann.corrected = Layer(None, kept)
    ann.status = Status.CORRECTED
    project.mark_dirty(IMAGE)
    project.save()
    project.close()


def main() -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    os.environ.setdefault("MASKWORK_CONFIG_DIR", tempfile.mkdtemp(prefix="maskwork-shot-config-"))
    from maskwork.gui.main_window import MainWindow

    app = QApplication(sys.argv)
    app.setApplicationName("Maskwork")
    work = Path(tempfile.mkdtemp(prefix="maskwork-shot-"))
    build_project(work)
    win = MainWindow()
    win.resize(1600, 1000)
    win.move(0, 0)
    win.show()
    assert win.session.open_path(work)
    win.state.flags.set_locked(win.state.annotation.corrected.instances[-1].id, True)

    def refine() -> None:
        win.actions_["refine_image"].trigger()
        QTimer.singleShot(300, wait)

    def wait() -> None:
        if win.features.refine.bar.busy:
            QTimer.singleShot(200, wait)
            return
        QTimer.singleShot(800, shoot)

    def shoot() -> None:
        subprocess.run(["import", "-window", "root", str(OUT)], check=True)
        print("wrote", OUT)
        app.quit()

    QTimer.singleShot(1500, refine)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
