"""Start-up (issue 12, defects 7-8): the last project reopens, a gone one falls back to the samples
with a message, File > Open sample offers every sample, and the window paints before the slow part."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QObject, QSettings, QStandardPaths

from maskwork.gui import app
from maskwork.gui.controllers.samples import SAMPLES
from tests.gui.window_helpers import aerial_classes

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="a checkout without the bundled samples")


@pytest.fixture
def data_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(QStandardPaths, "writableLocation", lambda _loc: str(tmp_path / "data"))
    return tmp_path / "data" / "Maskwork"  # gui/controllers/data_folder.py: <data>/Maskwork


def test_the_last_project_reopens(qtbot, window, aerial_folder, aerial_dir, data_folder):
    assert window.session.open_path(aerial_folder, task="semantic", classes=aerial_classes(aerial_dir))
    window.session.save()
    window.session.add_recent(str(aerial_folder))
    window.state.project.close()
    window.state.project = None
    app.open_at_start(window, [])
    assert window.state.project.root == aerial_folder.resolve()  # not the nuclei sample
    assert window.state.current_name is not None


def test_a_gone_last_project_falls_back_to_a_sample_with_a_message(qtbot, window, tmp_path, data_folder):
    QSettings().setValue("recent_projects", [str(tmp_path / "moved_away")])
    said = []
    window.state.status_message.connect(said.append)
    app.open_at_start(window, [])
    assert window.state.project.root == (data_folder / "samples" / "nuclei").resolve()
    assert any("moved_away is gone" in s and "nuclei sample" in s for s in said)


def test_file_menu_offers_every_sample(qtbot, window, data_folder):
    samples = {a.text(): a for a in window.sample_menu.actions()}
    assert set(samples) == {"nuclei", "aerial"}
    samples["aerial"].trigger()
    project = window.state.project
    assert project.root == (data_folder / "samples" / "aerial").resolve() and project.task == "semantic"
    assert window.state.image is not None
    samples["nuclei"].trigger()
    assert window.state.project.task == "instance"


class PaintSeen(QObject):
    painted = False

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.painted = True
        return False


def test_the_window_paints_before_panels_and_project_load(qtbot, monkeypatch, data_folder):
    from maskwork.gui import docks
    from maskwork.gui.main_window import MainWindow

    monkeypatch.setattr(docks, "PANELS", [])  # the model panel's workers are tested on their own
    win = MainWindow(panels_now=False)
    qtbot.addWidget(win)
    win.session.close_project = lambda: True
    seen = PaintSeen(win)
    win.view.viewport().installEventFilter(seen)
    order = []
    add_panels = win.add_panels
    monkeypatch.setattr(win, "add_panels", lambda: order.append(("panels", seen.painted)) or add_panels())
    win.show()
    app.start_after_paint(win, [], lambda: order.append(("ready", win.state.project is not None)))
    qtbot.waitUntil(lambda: len(order) == 2, timeout=20000)
    assert order == [("panels", True), ("ready", True)]
