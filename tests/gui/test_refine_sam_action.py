"""Edit > Refine selected with SAM (issue 21): the SAM tool's model refines the selected model-made objects in a
worker, as one undo step, with core/refine/sam.py's choice; without a SAM model it says what to do. The tiny
SAM of sam_fixtures (random weights, SAM's real decoder) on a real nuclei image: the test checks the wiring and
the choice, not the quality."""
from __future__ import annotations

from maskwork.core.domain.annotation import Source
from tests.gui.objects_support import open_holed_nuclei


def test_refine_selected_with_sam_uses_the_sam_tools_model(qtbot, window, nuclei_val, tmp_path, tiny_pair):
    from maskwork.core.interactive.sam.model import PromptModel
    from maskwork.core.refine.sam import refine_sam

    open_holed_nuclei(window, nuclei_val, tmp_path)
    said = []
    window.state.status_message.connect(said.append)
    layer = window.state.annotation.corrected
    model_made = [i for i in layer.instances if i.source == Source.MODEL][:4]
    person = next(i for i in layer.instances if i.source == Source.PERSON)
    window.editor.set_selection([i.id for i in model_made] + [person.id])
    assert window.features.refine.selected_sam() is None and "needs a SAM-family model" in said[-1]

    model = PromptModel(*tiny_pair)
    window.toolbar.tools["sam"].model = model
    embedding = model.encode(window.state.image)
    expected = {i.id: refine_sam(model, embedding, i.mask) for i in model_made}
    before = {i.id: i.mask for i in layer.instances}
    steps = window.editor.undo.activeStack().count()
    window.actions_["refine_sam"].trigger()
    bar = window.features.refine.bar
    assert bar.busy
    qtbot.waitUntil(lambda: not bar.busy, timeout=120_000)

    after = {i.id: i for i in window.state.annotation.corrected.instances}
    changed = [k for k, m in expected.items() if m != before[k]]
    assert changed, "the tiny SAM should change some masks"
    for k, mask in expected.items():
        assert after[k].mask == mask
        assert after[k].source == (Source.REFINED if k in changed else Source.MODEL)
    assert after[person.id].mask == before[person.id] and after[person.id].source == Source.PERSON
    assert window.editor.undo.activeStack().count() == steps + 1
