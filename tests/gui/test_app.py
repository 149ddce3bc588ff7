"""Start-up: no torch on the start-up path; samples copied to the user's data folder and opened."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QStandardPaths

ROOT = Path(__file__).resolve().parents[2]


def test_startup_path_does_not_import_torch():
    code = ("import sys; from PySide6.QtWidgets import QApplication; app = QApplication([]); "
            "from maskwork.gui.main_window import MainWindow; w = MainWindow(panels_now=False); w.show(); "
            "print('torch' in sys.modules, 'torchvision' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


def test_samples_are_copied_once_and_opened_without_writing_the_repo(qtbot, window, tmp_path, monkeypatch):
    from maskwork.gui.controllers import samples

    if not samples.SAMPLES.is_dir():
        return  # a checkout without samples: nothing to test
    before = sorted(p.relative_to(samples.SAMPLES) for p in samples.SAMPLES.rglob("*"))
    monkeypatch.setattr(QStandardPaths, "writableLocation", lambda _loc: str(tmp_path / "data"))
    folder = samples.user_samples_folder()
    assert folder == tmp_path / "data" / "Maskwork" / "samples"  # gui/controllers/data_folder.py: not Maskwork/Maskwork
    project_dir = samples.first_project(folder)
    assert window.session.open_path(project_dir)
    project = window.state.project
    assert project.task == samples.SAMPLE_PROJECTS[project_dir.name][0]
    assert window.state.current_name in project.image_names() and window.state.image is not None
    assert sorted(p.relative_to(samples.SAMPLES) for p in samples.SAMPLES.rglob("*")) == before
    (folder / "marker").write_text("user data")
    assert samples.user_samples_folder() == folder and (folder / "marker").exists()  # not copied again


def test_a_broken_image_shows_a_clear_error_and_keeps_the_current_one(qtbot, window, aerial_dir, tmp_path,
                                                                     monkeypatch):
    from PIL import Image

    from maskwork.gui.dialogs import messages
    from tests.gui.window_helpers import aerial_classes

    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.open(sorted((aerial_dir / "images").glob("*.jpg"))[0]).crop((0, 0, 200, 200)).save(folder / "a.png")
    (folder / "b.png").write_bytes(b"")  # 0-byte file
    errors = []
    monkeypatch.setattr(messages, "show_error", lambda parent, err, title="": errors.append(str(err)))
    assert window.session.open_path(folder, task="semantic", classes=aerial_classes(aerial_dir))
    assert window.state.current_name == "a.png"
    window.actions_["next"].trigger()
    assert window.state.current_name == "a.png"
    assert errors and "b.png" in errors[0] and "0 bytes" in errors[0]


def test_sigterm_quits_cleanly_releasing_the_lock_without_a_prompt(aerial_dir, tmp_path):
    """Logout or `kill`: no dialog can be answered; the app quits with exit 0 and leaves no lock."""
    import os
    import shutil
    import signal

    from maskwork.core.store.project import Project
    from tests.gui.window_helpers import aerial_classes

    folder = tmp_path / "aerial"
    folder.mkdir()
    shutil.copy(sorted((aerial_dir / "images").glob("*.jpg"))[0], folder)
    Project.create(folder, aerial_classes(aerial_dir), task="semantic").close()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MASKWORK_STARTUP_PROBE="1")
    proc = subprocess.Popen([sys.executable, "main.py", str(folder)], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for line in proc.stdout:
        if "ready" in line:
            break
    assert (folder / ".maskwork" / "lock").exists()  # the window holds the project
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert not (folder / ".maskwork" / "lock").exists()
