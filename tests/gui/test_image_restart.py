"""An image file replaced by one of another size: the window names both sizes and offers to start the image again
(what `maskwork forget-image` does), for small images and for big ones opened in the loading worker. "Leave it"
moves nothing; "Start this image again" sets the masks aside (never deletes them) and opens the image fresh."""
from __future__ import annotations

import json
import shutil

import pytest

from maskwork.core.cli import run
from maskwork.core.store import review
from maskwork.core.store.project import Project
from maskwork.gui import image_loader
from maskwork.gui.controllers import image_restart


@pytest.fixture()
def replaced(nuclei_val, tmp_path):
    """A semantic project of two annotated 256x256 nuclei images; the first file then replaced by a 320x256 one."""
    doc = json.loads(nuclei_val.read_text())
    small = sorted((i for i in doc["images"] if (i["width"], i["height"]) == (256, 256)),
                   key=lambda i: i["file_name"])[:2]
    other = next(i for i in doc["images"] if (i["width"], i["height"]) == (320, 256))
    ids = {i["id"] for i in small}
    folder = tmp_path / "project"
    folder.mkdir()
    for img in small:
        shutil.copy(nuclei_val.parent / "images" / img["file_name"], folder / img["file_name"])
    sub = {"images": small, "categories": doc["categories"],
           "annotations": [a for a in doc["annotations"] if a["image_id"] in ids]}
    (tmp_path / "gt.json").write_text(json.dumps(sub))
    assert run(["import", str(tmp_path / "gt.json"), str(folder), "--task", "semantic"]) == 0
    name, kept = small[0]["file_name"], small[1]["file_name"]
    project = Project.open(folder, writer="test")
    review.set_reviewed(project, [name])  # it had been reviewed and saved
    project.save([])
    project.close()
    shutil.copy(nuclei_val.parent / "images" / other["file_name"], folder / name)
    return folder, name, kept


def _answer(monkeypatch, answers: list[bool]) -> list[str]:
    asked = []

    def ask(parent, exc):
        asked.append(image_restart.explain(exc))
        return answers.pop(0)

    monkeypatch.setattr(image_restart, "ask", ask)
    return asked


@pytest.mark.parametrize("through_worker", [False, True], ids=["small image", "loading worker"])
def test_leave_it_moves_nothing_and_start_again_sets_the_masks_aside(qtbot, window, replaced, monkeypatch,
                                                                     through_worker):
    folder, name, kept = replaced
    if through_worker:
        monkeypatch.setattr(image_loader, "SYNC_MAX_PIXELS", 0)
    stored = folder / ".maskwork" / "annotations" / f"{name}.json"
    before = stored.read_bytes()
    asked = _answer(monkeypatch, [False, True])
    assert window.session.open_path(folder / kept)
    assert window.session.loader.wait() and window.state.current_name == kept

    window.session.open_image(name)  # "Leave it"
    assert window.session.loader.wait()
    assert len(asked) == 1 and "320 x 256" in asked[0] and "256 x 256" in asked[0] and name in asked[0]
    assert window.state.current_name == kept and stored.read_bytes() == before
    assert not (folder / ".maskwork" / "forgotten").exists()

    window.features.review.set_current(True)  # an unsaved mark on another image: starting one again must not save it
    window.session.open_image(name)  # "Start this image again"
    assert window.session.loader.wait()
    assert len(asked) == 2 and window.state.current_name == name
    ann = window.state.annotation
    assert (ann.width, ann.height) == (320, 256) and ann.corrected.is_empty()
    assert window.state.image.shape[:2] == (256, 320)
    aside = list((folder / ".maskwork" / "forgotten").rglob(f"{name}.json"))
    assert len(aside) == 1 and aside[0].read_bytes() == before  # moved, byte for byte, not deleted
    assert not window.state.project.annotation(kept).corrected.is_empty()  # the other image keeps its masks
    assert review.reviewed_names(window.state.project) == {kept}  # its own mark went, unsaved like any mark change
    assert review.saved_reviewed_names(window.state.project) == {name}  # project.json untouched: no silent save
    assert window.session.unsaved()


def test_a_read_only_window_only_explains(qtbot, window, replaced, monkeypatch):
    from maskwork.gui.dialogs import messages
    from tests.unit.lock_fixtures import holder

    folder, name, kept = replaced
    with holder(folder, "Maskwork window"):  # another program has it open for writing: the window is read-only
        shown = []
        monkeypatch.setattr(messages, "show_error", lambda parent, err, title="": shown.append(str(err)))
        asked = _answer(monkeypatch, [True])
        assert window.session.open_path(folder / kept)
        assert window.state.project.read_only
        window.session.open_image(name)
        assert not asked and len(shown) == 1 and "forget-image" in shown[0]
        assert not (folder / ".maskwork" / "forgotten").exists()
