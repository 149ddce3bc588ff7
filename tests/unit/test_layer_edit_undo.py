"""Found by make stress (issue 18; seeds 8 and 10, nuclei-instance, MASKWORK_STRESS_BURSTS=2): after 'Accept
prediction' (a LayerEdit), undoing back past the object's creation and redoing, then undoing the accept
again, gave the object the mask it had at its creation: the record held the live Instance that later
in-place edits (InstanceMaskEdit) changed, while InstancesEdit's redo inserts a copy."""
from __future__ import annotations

import numpy as np

import maskwork.core.editing as ed
from maskwork.core.domain.annotation import Instance, Layer
from maskwork.core.domain.masks import Mask
from maskwork.core.editing.shapes import capsule

H = W = 64


def _disc(x, y, r=4) -> Mask:
    return Mask.from_crop(H, W, *capsule((x, y), (x, y), r, H, W))


def test_undo_redo_through_accept_prediction_keeps_every_state():
    layer = Layer(instances=[])
    steps = [ed.create_instance(layer, _disc(10, 10), 1)]
    new_id = steps[0].added_ids[0]
    steps.append(ed.instance_segment(layer, new_id, (10, 10), (30, 10), 4, False))
    painted = layer.instance(new_id).mask.to_full().copy()
    prediction = Layer(instances=[Instance(100, 1, _disc(50, 50))])
    steps.append(ed.replace_layer(layer, prediction))
    for _ in range(2):  # undo everything, redo everything (what the stress test's check does), twice
        for edit in reversed(steps):
            edit.undo(layer)
        assert layer.instances == []
        for edit in steps:
            edit.redo(layer)
        assert [i.id for i in layer.instances] == [100]
        steps[-1].undo(layer)  # back before the accept: the painted object as it was
        assert np.array_equal(layer.instance(new_id).mask.to_full(), painted)
        steps[-1].redo(layer)
