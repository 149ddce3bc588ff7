"""Screenshots of the new-project dialog, the reviewed mark in the image list (with a box-only object and
the Image panel lifting a dark nuclei image), and the dark theme with Edit > Preferences open.

    Xvfb :46 -screen 0 1600x1000x24 &
    HOME=/tmp/h46 DISPLAY=:46 QT_QPA_PLATFORM=xcb .venv/bin/python tools/screenshot_review.py
Writes docs/screenshots/new_project.png, reviewed_list.png and dark_theme.png (ImageMagick `import`).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
OUT = ROOT / "docs" / "screenshots"
NUCLEI_IMAGES = 12


def nuclei_project(folder: Path) -> list[str]:
    """Twelve real nuclei images; their truth imported as the correction of the first eight."""
    from maskwork.core.domain.annotation import ClassList
    from maskwork.core.formats.coco import load_coco
    from maskwork.core.formats.project_io import import_coco
    from maskwork.core.store.project import Project

    doc = json.loads((DATASETS / "nuclei" / "val.json").read_text())
    images = [i for i in doc["images"] if (i["width"], i["height"]) == (256, 256)][:NUCLEI_IMAGES]
    for img in images:
        shutil.copy(DATASETS / "nuclei" / "images" / img["file_name"], folder / img["file_name"])
    keep = {i["id"] for i in images[:8]}
    sub = {"images": images[:8], "categories": doc["categories"],
           "annotations": [a for a in doc["annotations"] if a["image_id"] in keep]}
    (folder.parent / "truth.json").write_text(json.dumps(sub))
    project = Project.create(folder, ClassList.from_names(["background", "nucleus"]), "instance")
    import_coco(project, load_coco(folder.parent / "truth.json"))
    project.save()
    project.close()
    return sorted(i["file_name"] for i in images)


def grab(path: Path, geometry: str | None = None) -> None:
    subprocess.run(["import", "-window", "root", *(["-crop", geometry] if geometry else []), str(path)], check=True)
    print("wrote", path)


def main() -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from maskwork.core.store import review
    from maskwork.gui import preferences
    from maskwork.gui.dialogs.new_project import NewProjectDialog
    from maskwork.gui.main_window import MainWindow

    app = QApplication(sys.argv)
    app.setOrganizationName("Maskwork")
    app.setApplicationName("Maskwork")
    work = Path(tempfile.mkdtemp(prefix="maskwork-shot-"))
    (work / "nuclei").mkdir()
    names = nuclei_project(work / "nuclei")
    drone = work / "drone-images"
    drone.mkdir()
    for src in sorted((DATASETS / "aerial" / "images").glob("*.jpg"))[:6]:
        shutil.copy(src, drone / src.name)
    preferences.reset_all()  # a previous run's dark theme must not colour the first two shots
    win = MainWindow()
    win.resize(1600, 1000)
    win.move(0, 0)
    win.show()
    dialog = None

    def new_project() -> None:  # what opening the plain aerial folder asks
        nonlocal dialog
        dialog = NewProjectDialog(str(drone), win)
        dialog.task.setCurrentText("semantic")
        dialog.names.setText("building, land, road, vegetation, water")
        dialog.show()
        dialog.move(win.geometry().center() - dialog.rect().center())

    def close_dialog() -> None:
        dialog.close()

    def reviewing() -> None:
        assert win.session.open_path(work / "nuclei")
        p = win.state.project
        review.set_reviewed(p, names[:3] + [names[5]])
        win.state.reviewed_changed.emit(names[:3] + [names[5]])
        win.session.open_image(names[6])
        win.toolbar.select("bbox")
        win.editor.add_box((150, 20), (205, 70))  # an object with a box and no mask yet
        tone = win.panel_docks["Image"]
        tone.show()
        tone.raise_()
        panel = tone.widget()
        panel.sliders["gamma"].setValue(180)
        panel.redraw()
        win.view.fit()
        win.state.status_message.emit(f"{names[5]} marked reviewed (R again takes it back); 8 images left to review.")

    def dark() -> None:
        preferences.set_value("theme", "dark", win)
        prefs = win.features.open_preferences()
        prefs.move(win.geometry().center() - prefs.rect().center())

    def grab_dialog() -> None:  # the dialog with some of the window around it
        g = dialog.frameGeometry().adjusted(-160, -90, 160, 90)
        grab(OUT / "new_project.png", f"{g.width()}x{g.height()}+{g.x()}+{g.y()}")

    steps = [(800, new_project), (1200, grab_dialog), (200, close_dialog),
             (200, reviewing), (2500, lambda: grab(OUT / "reviewed_list.png")), (200, dark),
             (1500, lambda: grab(OUT / "dark_theme.png")), (300, app.quit)]
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
