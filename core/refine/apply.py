"""Refine the instances of a layer: which may be refined, the work itself (progress, cancel), and the
edit that puts the result in place as one undo step.

Only instances a model made and nobody touched (source "model" or already "refined") with a mask
are refined: one a person drew or corrected (source "person") and one the user locked never are.
A refined instance keeps its id, class and score; its source becomes "refined" ("model, refined" in
the Objects panel) and its box follows the new mask.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np

from maskwork.core.domain.annotation import Instance, Layer, Source
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import CancelToken, ProgressFn, check, report
from maskwork.core.editing.locks import EditLocks
from maskwork.core.editing.records import InstancesEdit, LabelMapEdit, editable_label_map
from maskwork.core.refine import REFINERS
from maskwork.core.refine.edges import refine_edges

REFINABLE = (Source.MODEL, Source.REFINED)


def refinable(instances: Iterable[Instance], locks: EditLocks | None = None) -> list[Instance]:
    """The instances refinement may change: a model's, with pixels, not locked."""
    return [i for i in instances
            if Source(i.source) in REFINABLE and not i.mask.is_empty and not (locks and locks.locks(i))]


def refine_instances(image: np.ndarray, instances: list[Instance], method: str = "edges", prompt_model=None,
                     progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                     predictor=None) -> list[Instance]:
    """New Instance objects for `instances` (call `refinable` first), refined by REFINERS[method]; the
    ones whose mask did not change are left out. `predictor`: the instance model, for "zoom" (its class
    ids are not checked: the instances may be in a project's ids)."""
    mask_of = mask_refiner(method, image, prompt_model, cancel, predictor)
    out = []
    for n, inst in enumerate(instances):
        check(cancel)
        report(progress, n, len(instances), f"refining object {n + 1} of {len(instances)}")
        mask = mask_of(inst.mask, None)
        if mask is not inst.mask and mask != inst.mask:
            out.append(dataclasses.replace(inst, mask=mask, box=None, source=Source.REFINED))
    report(progress, len(instances), len(instances), "refined")
    return out


def refine_layer(image: np.ndarray, layer: Layer, method: str = "edges", locks: EditLocks | None = None,
                 prompt_model=None, progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                 predictor=None) -> Layer:
    """A copy of `layer` with its refinable instances refined; a label map (a model's semantic prediction)
    gets its region borders refined ("edges"; SAM refines objects only), a new array, the old one never
    edited."""
    label_map = layer.label_map
    if label_map is not None and method in ("edges", "zoom"):  # zoom refines objects; a map gets edges
        from maskwork.core.refine.semantic import refine_semantic

        locked = () if locks is None else locks.class_ids
        label_map = refine_semantic(image, label_map, None, locked, progress=progress, cancel=cancel)
    done = {i.id: i for i in refine_instances(image, refinable(layer.instances, locks), method, prompt_model,
                                              progress, cancel, predictor)} if layer.instances else {}
    return Layer(label_map, [done.get(i.id, i) for i in layer.instances])


def refine_edit(layer: Layer, refined: list[Instance], label: str = "Refine") -> InstancesEdit | None:
    """Apply `refined` (instances of `layer` by id) as one undoable edit; None when nothing changes.
    Instances gone from the layer since the work started (or now locked by source) are skipped."""
    place = {inst.id: k for k, inst in enumerate(layer.instances)}
    pairs = sorted((place[r.id], layer.instances[place[r.id]], r) for r in refined
                   if r.id in place and Source(layer.instances[place[r.id]].source) in REFINABLE)
    if not pairs:
        return None
    edit = InstancesEdit(label, removed=[(k, old) for k, old, _ in pairs], added=[(k, new) for k, _, new in pairs])
    edit.redo(layer)
    return edit


def refine_map_edit(layer: Layer, before: np.ndarray, after: np.ndarray, label: str = "Refine") -> LabelMapEdit | None:
    """Apply a refined label map (core.refine.semantic, computed from `before`, a copy of the layer's map) as one
    undoable edit over the changed pixels' box; None when nothing changes. A pixel edited since the work
    started (the layer no longer holds `before` there) keeps the edit."""
    current = editable_label_map(layer)
    changed = (after != before) & (current == before)
    if not changed.any():
        return None
    rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    old = current[y0:y1, x0:x1].copy()
    edit = LabelMapEdit(label, x0, y0, old, np.where(changed[y0:y1, x0:x1], after[y0:y1, x0:x1], old))
    edit.redo(layer)
    return edit


def mask_refiner(method: str, image: np.ndarray, prompt_model=None, cancel: CancelToken | None = None,
                 predictor=None):
    """A function (Mask, the model's class id or None) -> refined Mask for REFINERS[method] on `image`
    (SAM: the image embedded once; zoom: `predictor` runs on each object's box)."""
    if method not in REFINERS:
        raise InputError(f"unknown refinement {method!r}; choose one of {', '.join(REFINERS)}.")
    if method == "none":
        return lambda mask, class_id: mask
    if method == "edges":
        return lambda mask, class_id: refine_edges(image, mask)
    if method == "zoom":
        if predictor is None:
            raise InputError("refinement 'zoom' runs the instance model that made the masks again: it is offered "
                             "with a model's run (predict --refine zoom, the Model panel), not on stored objects.")
        from maskwork.core.refine.zoom import refine_zoom

        return lambda mask, class_id: refine_zoom(predictor, image, mask, class_id, cancel)
    if prompt_model is None:
        raise InputError("refinement 'sam' needs a SAM-family model: choose one (CLI: --sam-model NAME or "
                         "ENCODER.onnx,DECODER.onnx; `python main.py sam-models` lists them).")
    from maskwork.core.refine.sam import refine_sam  # onnxruntime session work only when asked for

    embedding = prompt_model.encode(image, cancel=cancel)
    return lambda mask, class_id: refine_sam(prompt_model, embedding, mask)
