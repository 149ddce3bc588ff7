"""What the stress test (tests/gui/test_stress_tools.py) checks after each burst of random events:

- save (Ctrl+S) and reopen: what Project.open reads back equals what the editor holds, image by image;
- the canvas shows the layer: the corrected overlay's pixels equal a fresh render of the layer;
- undo back to the start (Ctrl+Z on every image's stack) gives each image's starting state pixel for
  pixel, and redo (Ctrl+Y) back to where the burst ended gives the state the burst left.

States compare label maps and instance masks pixel for pixel (an all-unlabeled map counts as no map:
the map is made on the first stroke and stays when that stroke is undone).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from maskwork.core.store.project import Project
from maskwork.core.view.render import render_window

CTRL = Qt.KeyboardModifier.ControlModifier


def layer_state(layer) -> dict:
    lm = layer.label_map
    objects = [(i.id, i.class_id, None if i.box is None else tuple(i.box), bool(i.iscrowd),
                np.packbits(i.mask.to_full()).tobytes()) for i in layer.instances]
    return {"label_map": None if lm is None or not lm.any() else lm.copy(), "objects": objects}


def annotation_state(ann) -> dict:
    return {"status": str(ann.status), **layer_state(ann.corrected)}


def difference(a: dict, b: dict) -> str:
    """'' when equal, else one line saying where they differ."""
    la, lb = a["label_map"], b["label_map"]
    if (la is None) != (lb is None):
        return f"label map: {'none' if la is None else 'labelled'} vs {'none' if lb is None else 'labelled'}"
    if la is not None and (la.shape != lb.shape or not np.array_equal(la, lb)):
        ys, xs = np.nonzero(la != lb) if la.shape == lb.shape else ([0], [0])
        return f"label map differs at {len(ys)} pixels, e.g. x={xs[0]} y={ys[0]}"
    oa, ob = a["objects"], b["objects"]
    if [o[:4] for o in oa] != [o[:4] for o in ob]:
        return f"objects (id, class, box, crowd) differ: {[o[:4] for o in oa]} vs {[o[:4] for o in ob]}"
    bad = [o[0] for o, p in zip(oa, ob) if o[4] != p[4]]
    if bad:
        return f"masks of objects {bad} differ"
    if a.get("status") != b.get("status") and "status" in a and "status" in b:
        return f"status {a['status']} vs {b['status']}"
    return ""


class Invariants:
    """The starting state of every image (taken once), and the checks after a burst."""

    def __init__(self, driver) -> None:
        self.driver, self.win = driver, driver.win
        project = self.win.state.project
        self.names = project.image_names()
        self.start = {n: layer_state(project.annotation(n).corrected) for n in self.names}

    def states(self) -> dict:
        project = self.win.state.project
        return {n: annotation_state(project.annotation(n)) for n in self.names}

    def check(self) -> list[str]:
        """Every broken invariant, one line each ([] when all hold)."""
        problems = []
        now = self.states()
        problems += self._check_canvas("after the burst")
        problems += self._check_save_reopen(now)
        problems += self._check_undo_redo(now)
        return problems

    def _check_canvas(self, when: str) -> list[str]:
        win = self.win
        ann, overlay = win.state.annotation, win.view.corrected_overlay
        if ann is None or overlay.lut is None or overlay.layer is not ann.corrected:
            return [f"{when}: the canvas does not show the current image's correction"]
        w, h = ann.width, ann.height
        shown = overlay.pixels(0, 0, w, h)
        fresh = render_window(win.state.flags.visible(ann.corrected), (0, 0, w, h), overlay.lut)
        if not np.array_equal(shown, fresh):
            n = int(np.any(shown != fresh, axis=2).sum())
            return [f"{when}: the canvas shows {n} pixels of {win.state.current_name} unlike its layer"]
        return []

    def _check_save_reopen(self, now: dict) -> list[str]:
        win = self.win
        project = win.state.project
        self.driver.key(Qt.Key.Key_S, CTRL)  # File > Save, as the user saves
        problems = [f"after Ctrl+S these images are still unsaved: {project.dirty}"] if project.dirty else []
        reopened = Project.open(project.root, read_only=True)
        try:
            for name in self.names:
                diff = difference(annotation_state(reopened.annotation(name)), now[name])
                if diff:
                    problems.append(f"saved and reopened {name} is not what the editor holds: {diff}")
        finally:
            reopened.close()
        return problems

    def _check_undo_redo(self, now: dict) -> list[str]:
        win, problems = self.win, []
        back_to = win.state.current_name
        for name in self.names:
            win.session.open_image(name)
            stack = win.editor.undo.activeStack()
            if stack is None or stack.count() == 0:
                if difference(layer_state(win.state.annotation.corrected), self.start[name]):
                    problems.append(f"{name} changed without an undo step")
                continue
            index = stack.index()
            for _ in range(index):
                self.driver.key(Qt.Key.Key_Z, CTRL)
            diff = difference(layer_state(win.state.annotation.corrected), self.start[name])
            if stack.index() != 0 or diff:
                problems.append(f"undo back to the start of {name} ({index} steps, now at {stack.index()}): "
                                f"{diff or 'not all steps undone'}")
            problems += self._check_canvas(f"{name} undone to the start")
            for _ in range(index):
                self.driver.key(Qt.Key.Key_Y, CTRL)
            diff = difference(annotation_state(win.state.annotation), now[name])
            if stack.index() != index or diff:
                problems.append(f"redo of {name} to step {index} (now at {stack.index()}): "
                                f"{diff or 'not all steps redone'}")
        win.session.open_image(back_to)
        return problems
