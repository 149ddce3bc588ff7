"""Keeps the canvas in step with AppState: the image, both layer overlays, boxes and labels.

Edits arrive as AppState.layer_changed(bbox): only that window of the corrected overlay is
re-rendered. Boxes and labels are rebuilt on a short timer, so a stroke does not rebuild them
on every mouse move.
"""
from __future__ import annotations

import weakref

import numpy as np
from PySide6.QtCore import QObject, QTimer

from maskwork.core.domain.annotation import ImageAnnotation
from maskwork.core.view.render import bgra_lut
from maskwork.gui import image_loader
from maskwork.gui.canvas import image_layer
from maskwork.gui.canvas.background_render import BackgroundRender
from maskwork.gui.canvas.overlay_layer import render_tiles


def prepare_canvas(project, ann, rgb, display=None) -> dict:
    """What load_image() draws, made ahead in gui/image_loader.py's worker: the picture (through the
    display transform current when the load started: brightness/contrast/gamma) and the tiles of
    both layers, each with what it was made from (used only if that still holds when the image is
    shown: same display transform, same layer objects, same colours, nothing hidden)."""
    classes = project.classes
    lut = bgra_lut(classes, size=max([256] + [c.id + 1 for c in classes]))
    ready = {"picture": image_layer.prepare(rgb, display), "display": display}
    for key in ("corrected", "prediction"):
        layer = getattr(ann, key)
        ready[key] = (layer, lut, render_tiles(layer, lut, ann.width, ann.height))
    return ready


class CanvasBinding(QObject):
    def __init__(self, state, view, editor, parent=None) -> None:
        super().__init__(parent)
        self.state, self.view, self.editor = state, view, editor
        self.show_prediction = True
        self.show_corrected = True
        self.opacity = 0.6
        self._boxes_timer = QTimer(self)
        self._boxes_timer.setSingleShot(True)
        self._boxes_timer.setInterval(80)
        self._boxes_timer.timeout.connect(self.rebuild_boxes)
        # weak references to the (rgb, annotation) on the canvas
        self._shown: tuple[weakref.ref, weakref.ref] | None = None
        self.prediction_render = BackgroundRender(state, view.prediction_overlay, self._lut, self._prediction_shown,
                                                  self)
        state.image_changed.connect(lambda _name: self.load_image())
        state.layer_changed.connect(self.on_edit)
        state.prediction_changed.connect(self.reset_prediction)
        state.classes_changed.connect(self.reset_overlays)
        state.project_changed.connect(self.load_image)
        editor.selection_changed.connect(self.rebuild_boxes)
        view.zoom_changed.connect(view.boxes.set_zoom)
        flags = state.flags  # objects hidden in the Objects panel are left out of what is drawn
        view.corrected_overlay.view_filter = flags.visible
        view.prediction_overlay.view_filter = lambda layer: flags.visible(layer, by_id=False)
        flags.changed.connect(self.on_flags)

    def _lut(self):
        classes = self.state.project.classes
        return self.state.flags.lut(bgra_lut(classes, size=max([256] + [c.id + 1 for c in classes])))

    def _showing(self, rgb: np.ndarray | None, ann: ImageAnnotation | None) -> bool:
        """The canvas shows this very image with these very layers already: a repeated image_changed (the
        panels docked after the first image, ADR 0012) has nothing to redo."""
        shown = self._shown
        return (rgb is not None and ann is not None and shown is not None and shown[0]() is rgb
                and self.view.corrected_overlay.layer is ann.corrected
                and self.view.prediction_overlay.layer is ann.prediction and shown[1]() is ann)

    def load_image(self) -> None:
        ann, rgb = self.state.annotation, self.state.image
        if self._showing(rgb, ann):
            return
        self._shown = None if rgb is None or ann is None else (weakref.ref(rgb), weakref.ref(ann))
        ready = image_loader.ready(self.state, "canvas", ann) or {}  # made in the loading worker
        self.view.image_item.set_image(rgb, ready.get("picture"), ready.get("display"))
        if ann is None:
            self.view.set_image_size(0, 0)
            self.view.corrected_overlay.reset(None, None, 0, 0)
            self.view.prediction_overlay.reset(None, None, 0, 0)
            self.rebuild_boxes()
            return
        self.view.set_image_size(ann.width, ann.height)
        self.reset_overlays(ready)

    def reset_overlays(self, ready: dict | None = None) -> None:
        ann = self.state.annotation
        if ann is None or self.state.project is None:
            return
        lut = self._lut()
        self.prediction_render.cancel()
        for overlay, key in ((self.view.corrected_overlay, "corrected"), (self.view.prediction_overlay, "prediction")):
            layer, made = getattr(ann, key), (ready or {}).get(key)
            usable = (made is not None and made[0] is layer and np.array_equal(made[1], lut)
                      and (overlay.view_filter is None or overlay.view_filter(layer) is layer))
            overlay.reset(layer, lut, ann.width, ann.height, made[2] if made is not None and usable else None)
        self.apply_visibility()
        self.rebuild_boxes()

    def reset_prediction(self) -> None:
        ann = self.state.annotation
        if ann is not None and self.state.project is not None:
            self.prediction_render.reset(ann, self._lut())  # a big one in a worker (background_render.py)

    def _prediction_shown(self) -> None:
        self.apply_visibility()
        self.rebuild_boxes()

    def on_edit(self, bbox) -> None:
        ann = self.state.annotation
        if ann is None:
            return
        overlay = self.view.corrected_overlay
        if overlay.layer is not ann.corrected or bbox is None:
            overlay.reset(ann.corrected, overlay.lut if overlay.lut is not None else self._lut(),
                          ann.width, ann.height)
        elif ann.corrected.instances:  # an instance's pixels just outside the box may have become border or interior
            x0, y0, x1, y1 = bbox
            overlay.refresh((x0 - 1, y0 - 1, x1 + 1, y1 + 1))
        else:
            overlay.refresh(bbox)
        if self.state.project is not None and self.state.project.task == "instance":
            self._boxes_timer.start()

    def on_flags(self, bbox) -> None:
        """An object was hidden or shown (repaint its box) or a class was (new colour table)."""
        if bbox is None:
            self.reset_overlays()
        else:
            self.view.corrected_overlay.refresh(bbox)
            self.rebuild_boxes()

    # ---- toggles --------------------------------------------------------------------------
    def set_visible(self, which: str, on: bool) -> None:
        setattr(self, which, bool(on))
        self.apply_visibility()
        self.rebuild_boxes()

    def set_boxes(self, on: bool) -> None:
        self.view.boxes.show_boxes = bool(on)
        self.rebuild_boxes()

    def set_labels(self, on: bool) -> None:
        self.view.boxes.show_labels = bool(on)
        self.rebuild_boxes()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = max(0.0, min(1.0, opacity))
        self.apply_visibility()

    def apply_visibility(self) -> None:
        self.view.corrected_overlay.setVisible(self.show_corrected)
        self.view.prediction_overlay.setVisible(self.show_prediction)
        self.view.corrected_overlay.setOpacity(self.opacity)
        # under a correction the prediction is a fainter reference
        ann = self.state.annotation
        both = self.show_corrected and ann is not None and not ann.corrected.is_empty()
        self.view.prediction_overlay.setOpacity(self.opacity * (0.5 if both else 1.0))

    def shown_layer(self):
        """The layer whose boxes and labels are drawn: corrected if shown and not empty, else prediction."""
        ann = self.state.annotation
        if ann is None:
            return None
        if self.show_corrected and not ann.corrected.is_empty():
            return self.state.flags.visible(ann.corrected)
        return self.state.flags.visible(ann.prediction, by_id=False) if self.show_prediction else None

    def rebuild_boxes(self) -> None:
        self.view.boxes.selected = set(self.editor.selected)
        classes = self.state.project.classes if self.state.project is not None else None
        self.view.boxes.rebuild(self.shown_layer(), classes)
