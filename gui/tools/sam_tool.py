"""SAM (promptable model): left click marks the object, right click (or Alt) the background, a drag
gives a box; Tab / Shift+Tab show the other candidate masks, Enter commits the shown one as one undo
step, Esc cancels, Backspace takes back the last prompt.

The model comes from the table in core/interactive/sam/catalog.py or from a pair of ONNX files
(asked for on first use). Opening it (and downloading it) and computing the image embedding run in
workers (gui/workers.py), never on the GUI thread: clicks made meanwhile are kept and answered when
the embedding is ready. Only the decoder (tens of ms) runs per click. The next image of the list is
embedded in the background (EmbeddingCache.prefetch) while the user works on this one.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QPointF, Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from maskwork.core.domain.errors import MaskworkError
from maskwork.gui.tools.base import pixel
from maskwork.gui.tools.segment_base import CLICK_SLOP, SegmentTool, is_negative
from maskwork.gui.workers import Job, start

if TYPE_CHECKING:  # the SAM modules load on first use
    from maskwork.core.interactive.sam import EmbeddingCache, PromptModel, SamResult
    from maskwork.core.interactive.sam.catalog import SamSpec

OPEN_FILES = "Open an encoder and a decoder (.onnx)…"
TAB_KEYS = (Qt.Key.Key_Tab, Qt.Key.Key_Backtab)


def picker_text(spec) -> str:
    """One row of the model picker: what it is, what it costs to fetch, whether it is here."""
    from maskwork.core.interactive.sam import catalog

    state = catalog.state(spec)
    size = f"download {catalog.download_size(spec)}" if state == "needs download" else state
    return f"{spec.name}: {spec.family}, {spec.licence}, {size}"


class _TabFilter(QObject):
    """Qt turns Tab into focus navigation before the view's keyPressEvent sees it: take it first
    while SAM has candidates to cycle."""

    def __init__(self, tool) -> None:
        super().__init__(tool.canvas)
        self.tool = tool

    def eventFilter(self, obj, event) -> bool:
        if (event.type() == QEvent.Type.KeyPress and event.key() in TAB_KEYS and self.tool.current
                and self.tool.active):
            return self.tool.key_press(event)
        return False


class SamTool(SegmentTool):
    name = "sam"
    label = "SAM"
    shortcut = "J"
    kind = "sam"
    commit_label = "SAM"
    tooltip = ("SAM (J): click the object (left) or the background (right), or drag a box; Tab shows the other "
               "candidate masks; Enter keeps it, Esc cancels. Needs a SAM-family model (chosen on first use)")
    intro = "SAM (J): click the object (left) or background (right), or drag a box; Tab: next candidate."

    def __init__(self, editor, canvas) -> None:
        super().__init__(editor, canvas)
        self.spec: SamSpec | None = None
        self.model: PromptModel | None = None
        self.cache: EmbeddingCache | None = None
        self.result: SamResult | None = None  # of the current prompt
        self.index = 0               # candidate shown
        self._model_job: Job | None = None
        self._embed_job: Job | None = None
        self._embed_key: str | None = None      # the image _embed_job embeds
        self._embedding_key: str | None = None  # key of the image whose embedding is ready
        # (view position, pixel, negative) where the button went down; the pixels dragged over since
        self._down: tuple[QPointF, tuple[int, int], bool] | None = None
        self._drag: list[tuple[int, int]] = []
        self.state.image_changed.connect(lambda _name: self.ensure_embedding() if self.current else None)
        self._tab_filter = _TabFilter(self)
        canvas.installEventFilter(self._tab_filter)
        app = QCoreApplication.instance()
        if app is not None:  # a prefetch still running would otherwise hold the exit until it ends
            app.aboutToQuit.connect(lambda: self.cache.close() if self.cache is not None else None)

    @property
    def current(self) -> bool:
        return getattr(self.canvas, "tool", None) is self

    # ---- the model ----------------------------------------------------------------------------------
    def set_model(self, spec, trust: bool = False, accept_licence: bool = False) -> Job:
        """Open `spec` (a core.interactive.sam.catalog.SamSpec) in a worker; the embedding follows."""
        from maskwork.core.interactive.sam.catalog import open_model

        if self.cache is not None:
            self.cache.close()
        self.spec, self.model, self.cache, self._embedding_key = spec, None, None, None
        job = Job(open_model, spec, trust=trust, accept_licence=accept_licence)
        job.signals.progress.connect(lambda d, t, m: self.say(f"SAM: {m} {100 * d // max(t, 1)}%"))
        job.signals.finished.connect(lambda model, j=job: self._model_ready(j, model))
        job.signals.failed.connect(lambda msg: self._failed(f"SAM: {spec.name} cannot be used: {msg}"))
        job.signals.cancelled.connect(lambda: self.say("SAM: stopped"))
        self._model_job = start(job)
        self.say(f"SAM: opening {spec.name}…")
        return job

    def _model_ready(self, job, model) -> None:
        from maskwork.core.interactive.sam import EmbeddingCache

        if job is not self._model_job:
            return
        self.model, self.cache = model, EmbeddingCache(model)
        self.say(f"SAM: {model.name} ready ({model.providers[0].replace('ExecutionProvider', '')})")
        self.ensure_embedding()

    def choose_model(self) -> bool:
        """Ask which model to use (the table, or ONNX files); False when the user declined."""
        from maskwork.core.interactive.sam import catalog

        specs = catalog.all_specs()
        items = [picker_text(s) for s in specs] + [OPEN_FILES]
        item, ok = QInputDialog.getItem(self.canvas, "SAM model", "Promptable model (a model not here yet is "
                                        "downloaded once, the size shown):", items, 0, False)
        if not ok:
            return False
        if item == OPEN_FILES:
            enc, _ = QFileDialog.getOpenFileName(self.canvas, "SAM encoder", "", "ONNX (*.onnx)")
            dec, _ = QFileDialog.getOpenFileName(self.canvas, "SAM decoder", "", "ONNX (*.onnx)") if enc else ("", "")
            if not enc or not dec:
                return False
            self.set_model(catalog.pair_spec(f"{enc},{dec}"))
            return True
        spec = specs[items.index(item)]
        trust = False
        if not spec.verified and catalog.state(spec) != "here":
            answer = QMessageBox.question(self.canvas, "SAM model", f"The publisher of {spec.name} gives no "
                                          "checksum, so Maskwork cannot verify the download. Download it anyway?")
            if answer != QMessageBox.StandardButton.Yes:
                return False
            trust = True
        if catalog.state(spec) == "needs download" and not self.get_files(spec, trust):
            return False
        self.set_model(spec, trust=trust)
        return True

    def get_files(self, spec, trust: bool) -> bool:
        """The files are not here: the dialog that says which, how big, where, and downloads them."""
        from maskwork.gui.dialogs.sam_weights import SamWeightsDialog

        self.weights_dialog = SamWeightsDialog(spec, trust, self.canvas)
        return self.weights_dialog.exec() == SamWeightsDialog.DialogCode.Accepted

    # ---- the embedding ------------------------------------------------------------------------------
    def _key(self):
        return self.state.current_name

    @property
    def embedding_ready(self) -> bool:
        return self.cache is not None and self._embedding_key == self._key() and self._key() in self.cache

    def ensure_embedding(self) -> None:
        """Start computing the current image's embedding in a worker (nothing if ready or under way)."""
        key, image = self._key(), self.state.image
        if self.cache is None or image is None or key is None or self.embedding_ready:
            return
        if key in self.cache:
            self._embedding_ready(key)
            return
        if self._embed_job is not None and self._embed_key == key:
            return
        if self._embed_job is not None:
            self._embed_job.cancel()         # the user moved to another image
        job = Job(self.cache.get, key, image)
        job.signals.progress.connect(lambda d, t, m: self.say(f"SAM: {m}…"))
        job.signals.finished.connect(lambda _emb, k=key: self._embedding_ready(k))
        job.signals.failed.connect(lambda msg: self._failed(f"SAM: the image embedding failed: {msg}"))
        self._embed_job, self._embed_key = start(job), key

    def _embedding_ready(self, key) -> None:
        if self._embed_job is not None and self._embed_key == key:
            self._embed_job = None
        if key != self._key():
            return
        self._embedding_key = key
        self.say("SAM: ready; click the object")
        self._prefetch_next()
        if self.prompt is not None:
            self.run()

    def _prefetch_next(self) -> None:
        from maskwork.core.store.images import read_image

        project, name, cache = self.state.project, self._key(), self.cache
        if project is None or cache is None:
            return
        try:
            names = project.image_names()
            nxt = names[names.index(name) + 1]
        except (AttributeError, ValueError, IndexError):
            return
        path = project.image_path(nxt)
        cache.prefetch(nxt, lambda: read_image(path))

    def _failed(self, message: str) -> None:
        self._embed_job = None
        self.say(message.splitlines()[0])

    # ---- gestures -----------------------------------------------------------------------------------
    def press(self, p, event) -> None:
        if self.spec is None and not self.choose_model():
            self.say("SAM needs a model: pick one from the list or open an encoder and decoder file.")
            return
        self.ensure_embedding()
        self._down = (event.position(), pixel(p), is_negative(event))
        self._drag = [pixel(p)]

    def move(self, p, event) -> None:
        if self._down is None:
            if self.cache is not None:
                self.ensure_embedding()      # the user points at the image: get ready
            return
        q = pixel(p)
        if q != self._drag[-1]:
            self._drag.append(q)
            self.redraw_prompt()

    def release(self, p, event) -> None:
        if self._down is None:
            return
        start_view, a, negative = self._down
        b = pixel(p)
        self._down, self._drag = None, []
        moved = (event.position() - start_view).manhattanLength() > CLICK_SLOP
        prompt = self.prompt or self.new_prompt()
        if moved and not negative:
            box = (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]) + 1, max(a[1], b[1]) + 1)
            self.change(dataclasses.replace(prompt, box=box))         # SAM takes one box: a new drag replaces it
        elif not moved:
            self.change(dataclasses.replace(prompt, points=prompt.points + [(*a, not negative)]))
        else:
            self.redraw_prompt()

    def prompt_parts(self) -> dict | None:
        parts = super().prompt_parts()
        if self._down is None or len(self._drag) < 2 or self._down[2]:
            return parts
        (x0, y0), (x1, y1) = self._down[1], self._drag[-1]
        parts = parts or {"points": [], "strokes": []}
        parts["box"] = (min(x0, x1), min(y0, y1), max(x0, x1) + 1, max(y0, y1) + 1)  # the rubber band
        return parts

    # ---- segmentation -------------------------------------------------------------------------------
    def run(self) -> None:
        if self.prompt is None:
            return
        model, cache = self.model, self.cache
        embedding = cache.peek(self._key()) if cache is not None and self.embedding_ready else None
        if model is None or embedding is None:  # not ready (no model: no cache, no embedding)
            self.mask = self.result = None
            self.say("SAM: computing the image embedding; your clicks are kept and answered when it is ready.")
            self.ensure_embedding()
            self.redraw()
            return
        try:
            self.result = model.decode(embedding, self.prompt)
        except MaskworkError as exc:
            self.result, self.mask = None, None
            self.say(str(exc))
            self.redraw()
            return
        self.show_candidate(self.result.best)

    def show_candidate(self, index: int) -> None:
        r = self.result
        if r is None:  # only a decoded prompt has candidates
            return
        self.index = index % len(r)
        self.mask = r.mask_at(self.index)
        more = f"; Tab: next of {len(r)}" if len(r) > 1 else ""
        best = " (best)" if self.index == r.best else ""
        self.say(f"SAM: candidate {self.index + 1}/{len(r)}{best}, predicted IoU {r.scores[self.index]:.2f}"
                 f"{more}; Enter keeps it")
        self.redraw()

    def claims_key(self, event) -> bool:
        if self.active and event.key() in TAB_KEYS:
            return True
        return super().claims_key(event)

    def key_press(self, event) -> bool:
        if self.active and event.key() in TAB_KEYS:
            if self.result is not None:
                back = event.key() == Qt.Key.Key_Backtab or bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
                self.show_candidate(self.result.next_index(self.index, -1 if back else 1))
            return True
        return super().key_press(event)

    def cancel(self) -> None:
        self._down, self._drag, self.result, self.index = None, [], None, 0
        super().cancel()
