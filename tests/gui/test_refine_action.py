"""Edit > Refine (issue 21) in the window: it runs in a worker with the status bar's job bar, refines the
model-made objects of the image as ONE undo step with source "model, refined", and never touches an object a
person made or one that is locked."""
from __future__ import annotations

from PySide6.QtTest import QTest

from maskwork.core.domain.annotation import Source
from maskwork.core.view.object_rows import SOURCE_TEXT
from tests.gui.objects_support import open_holed_nuclei


def _wait(bar, qtbot) -> None:
    qtbot.waitUntil(lambda: not bar.busy, timeout=60_000)


def test_refine_all_objects_is_one_step_and_spares_corrected_and_locked(qtbot, window, nuclei_val, tmp_path):
    open_holed_nuclei(window, nuclei_val, tmp_path)
    layer = window.state.annotation.corrected
    model_made = [i.id for i in layer.instances if i.source == Source.MODEL]
    locked = model_made[0]
    window.state.flags.set_locked(locked, True)
    before = {i.id: (i.mask, i.source) for i in layer.instances}
    steps = window.editor.undo.activeStack().count()

    window.actions_["refine_image"].trigger()
    bar = window.features.refine.bar
    assert bar.busy and bar.isVisible()  # the work runs in a worker; the window stays responsive
    QTest.qWait(1)
    _wait(bar, qtbot)

    after = {i.id: i for i in window.state.annotation.corrected.instances}
    refined = [k for k, i in after.items() if i.source == Source.REFINED]
    assert len(refined) >= len(model_made) // 2
    assert set(refined) <= set(model_made) - {locked}
    for k, (mask, source) in before.items():
        if source == Source.PERSON or k == locked:
            assert after[k].mask == mask and after[k].source == source
    assert all(after[k].mask != before[k][0] for k in refined)
    assert window.editor.undo.activeStack().count() == steps + 1
    assert SOURCE_TEXT[Source.REFINED.value] == "model, refined"

    window.editor.undo.undo()
    back = {i.id: (i.mask, i.source) for i in window.state.annotation.corrected.instances}
    assert all(back[k][0] == m and back[k][1] == s for k, (m, s) in before.items())


def test_refine_selected_without_selection_says_what_to_do(qtbot, window, nuclei_val, tmp_path):
    open_holed_nuclei(window, nuclei_val, tmp_path)
    said = []
    window.state.status_message.connect(said.append)
    window.editor.set_selection([])
    assert window.features.refine.selected() is None
    assert "Select the objects to refine" in said[-1]
    person = next(i.id for i in window.state.annotation.corrected.instances if i.source == Source.PERSON)
    window.editor.set_selection([person])
    assert window.features.refine.selected() is None  # a person's object is never refined
    assert "Nothing to refine" in said[-1]
