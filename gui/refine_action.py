"""Edit > Refine: the selected objects, or every object of the image, moved onto the image's edges in a
worker (core/refine), with progress and Cancel in a job bar in the status bar; the result is one undo
step. Only objects a model made and nobody corrected or locked are refined (core.refine.apply.refinable).
On a semantic image, Refine all moves the region borders of the correction where it still holds the model's
prediction (core.refine.semantic): pixels a person painted or erased, and locked classes, keep theirs.
"""
from __future__ import annotations

from maskwork.core.domain.text import plural
from maskwork.core.refine import DEFAULT_REFINER
from maskwork.core.refine.apply import refinable, refine_instances
from maskwork.core.refine.semantic import refine_semantic
from maskwork.gui.panels.job_bar import JobBar
from maskwork.gui.workers import Job


class RefineController:
    def __init__(self, window) -> None:
        self.window = window
        self.state = window.state
        self.bar = JobBar(window)
        self.bar.setMaximumWidth(360)
        window.statusBar().addPermanentWidget(self.bar)
        self.method = DEFAULT_REFINER

    def selected(self) -> Job | None:
        """Edit > Refine selected objects."""
        ids = set(self.window.editor.selected)
        if not ids:
            self.state.status_message.emit("Select the objects to refine (S, click them), or use Refine all objects.")
            return None
        return self._start(lambda inst: inst.id in ids)

    def selected_sam(self) -> Job | None:
        """Edit > Refine selected with SAM: the model the SAM tool uses, prompted with each object's box and
        inner point (core/refine/sam.py)."""
        model = self.sam_model()
        if model is None:
            self.state.status_message.emit("Refine with SAM needs a SAM-family model: choose one with the SAM tool "
                                           "(J, first click) and wait until it is ready, then try again.")
            return None
        ids = set(self.window.editor.selected)
        if not ids:
            self.state.status_message.emit("Select the objects to refine (S, click them), then Refine selected with "
                                           "SAM.")
            return None
        return self._start(lambda inst: inst.id in ids, "sam", model)

    def sam_model(self):
        """The SAM tool's model when one is open and ready, else None."""
        tool = getattr(getattr(self.window, "toolbar", None), "tools", {}).get("sam")
        return getattr(tool, "model", None)

    def offer_sam(self, panel_docks: dict) -> None:
        """The Model panel's Refine choice offers 'sam' with the SAM tool's model (called when the panels dock)."""
        dock = panel_docks.get("Model")
        refine_box = getattr(dock.widget(), "refine_box", None) if dock is not None else None
        if refine_box is not None:
            refine_box.sam_model = self.sam_model

    def image(self) -> Job | None:
        """Edit > Refine all objects of the image (a semantic image: its region borders)."""
        editor = self.window.editor
        if self.state.image is not None and editor.layer is not None and not editor.instance_mode:
            return self._start_semantic()
        return self._start(lambda inst: True)

    def _start_semantic(self) -> Job | None:
        state, ann = self.state, self.state.annotation
        if self.bar.busy:
            state.status_message.emit("Refining is already running; wait for it or press Cancel.")
            return None
        if state.refuse_read_only():
            return None
        prediction = None if ann is None or ann.prediction is None else ann.prediction.label_map
        current = self.window.editor.layer.label_map
        if prediction is None or current is None or prediction.shape != current.shape:
            state.status_message.emit("Refine moves the borders of a model's regions: run the model and accept its "
                                      "prediction first (the corrected pixels that differ from it stay as they are).")
            return None
        name, before = state.current_name, current.copy()  # the user may paint on while the worker runs
        job = Job(refine_semantic, state.image, before, prediction, state.flags.edit_locks().class_ids)
        self.bar.run(job, lambda after: self._done_semantic(name, before, after),
                     on_cancel=lambda: state.status_message.emit("Refine: cancelled, nothing changed."))
        return job

    def _done_semantic(self, name: str, before, after) -> None:
        changed = self.window.editor.apply_refined_map(name, before, after)
        self.state.status_message.emit(f"Refined the region borders: {plural(changed, 'pixel')} changed (one undo "
                                       "step)." if changed else "Refine changed nothing: the borders already follow "
                                       "the image.")

    def _start(self, wanted, method: str | None = None, prompt_model=None) -> Job | None:
        editor, state = self.window.editor, self.state
        if self.bar.busy:
            state.status_message.emit("Refining is already running; wait for it or press Cancel.")
            return None
        if state.image is None or editor.layer is None or not editor.instance_mode or state.refuse_read_only():
            state.status_message.emit("Refine works on the objects of an instance project's image.")
            return None
        targets = refinable([i for i in editor.layer.instances if wanted(i)], state.flags.edit_locks())
        if not targets:
            state.status_message.emit("Nothing to refine: only a model's objects that nobody corrected or locked "
                                      "are refined (accept a prediction first).")
            return None
        name, image = state.current_name, state.image
        job = Job(refine_instances, image, targets, method or self.method, prompt_model)
        self.bar.run(job, lambda refined: self._done(name, refined, len(targets)),
                     on_cancel=lambda: state.status_message.emit("Refine: cancelled, nothing changed."))
        return job

    def _done(self, name: str, refined: list, asked: int) -> None:
        changed = self.window.editor.apply_refined(name, refined)
        self.state.status_message.emit(f"Refined {plural(changed, 'object')} of {asked} (one undo step)." if changed
                                       else "Refine changed nothing: the outlines already follow the image.")
