"""Edit > Refine: the selected objects, or every object of the image, moved onto the image's edges in a
worker (core/refine), with progress and Cancel in a job bar in the status bar; the result is one undo
step. Only objects a model made and nobody corrected or locked are refined (core.refine.apply.refinable).
"""
from __future__ import annotations

from maskwork.core.domain.text import plural
from maskwork.core.refine import DEFAULT_REFINER
from maskwork.core.refine.apply import refinable, refine_instances
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

    def image(self) -> Job | None:
        """Edit > Refine all objects of the image."""
        return self._start(lambda inst: True)

    def _start(self, wanted) -> Job | None:
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
        job = Job(refine_instances, image, targets, self.method)
        self.bar.run(job, lambda refined: self._done(name, refined, len(targets)),
                     on_cancel=lambda: state.status_message.emit("Refine: cancelled, nothing changed."))
        return job

    def _done(self, name: str, refined: list, asked: int) -> None:
        changed = self.window.editor.apply_refined(name, refined)
        self.state.status_message.emit(f"Refined {plural(changed, 'object')} of {asked} (one undo step)." if changed
                                       else "Refine changed nothing: the outlines already follow the image.")
