"""Screenshot of a registered ONNX model (e.g. the seed's YOLO-seg) predicting people on a COCO image.

    MASKWORK_CONFIG_DIR=/tmp/cfg .venv/bin/python main.py models add ../shared/models/yolo11n-seg-quantized.onnx \
        --name yolo11n-seg
    Xvfb :97 -screen 0 1500x950x24 &
    DISPLAY=:97 QT_QPA_PLATFORM=xcb MASKWORK_CONFIG_DIR=/tmp/cfg .venv/bin/python tools/screenshot_onnx.py \
        --model yolo11n-seg --image ../shared/datasets/coco_sample/val2017/000000005001.jpg
Writes docs/screenshots/yolo_onnx.png (through ImageMagick `import`): the main window with the model
panel, the prediction drawn over the image and the "Add model file…" entry of the Model menu.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "screenshots"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--out", default=str(OUT / "yolo_onnx.png"))
    ap.add_argument("--threshold", type=float, default=0.3)
    args = ap.parse_args()

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from maskwork.core.models.catalog.registry import get_model
    from maskwork.core.store.project import Project
    from maskwork.gui.main_window import MainWindow

    app = QApplication(sys.argv)
    folder = Path(tempfile.mkdtemp(prefix="maskwork-onnx-shot-"))
    shutil.copy(args.image, folder / Path(args.image).name)
    Project.create(folder, get_model(args.model).classes.copy(), "instance").close()
    win = MainWindow()
    win.setGeometry(0, 0, 1500, 950)
    win.show()
    win.session.open_path(str(folder))
    panel = win.panel_docks["Model"].widget()

    def run():
        if panel.combo.findData(args.model) < 0:
            QTimer.singleShot(300, run)
            return
        panel.select_model(args.model)
        panel.slider.setValue(round(args.threshold * 100))  # show the less certain people too
        panel.run_current()
        QTimer.singleShot(1500, shot)

    def shot():
        if panel.jobs.busy:
            QTimer.singleShot(300, shot)
            return
        win.view.fit()
        QTimer.singleShot(800, lambda: (subprocess.run(["import", "-window", "root", args.out], check=True),
                                        print("wrote", args.out), app.quit()))

    QTimer.singleShot(500, run)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
