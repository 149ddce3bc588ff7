"""Opening, switching, saving and closing: the life of a project in the window.

Crash safety: every completed edit goes to the project's crash journal (gui/controllers/undo.py -> core.store.journal)
and is on disk within about a second; class-list changes are journaled as they happen. Every
AUTOSAVE_MS and on every image switch, unsaved work is also snapshotted (which compacts the journal):
copied here, encoded and written in a worker (gui/controllers/autosaver.py, core/store/autosave.py). The next open
recovers both and the window lists what came back. Images above a few MP are decoded in a worker
(gui/image_loader.py); the current image stays until the new one is ready (ADR 0012).
Closing with unsaved work asks Save / Discard / Cancel; Discard means discard: the journal and
the snapshots are deleted and the saved files stay as they were (docs/adr/0007).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtWidgets import QFileDialog

from maskwork.core.domain.errors import InputError, MaskworkError, ProjectError
from maskwork.core.domain.text import plural
from maskwork.core.models.catalog.defaults import default_model_for
from maskwork.core.store.autosave import recovered_in_words
from maskwork.core.store.image_fit import ImageSizeChanged
from maskwork.core.store.images import is_image_file
from maskwork.core.store.project import Project
from maskwork.core.store.project_lock import ProjectLockedError
from maskwork.core.store.store_checks import UndefinedClassError
from maskwork.core.store.writer_guard import check_new_store
from maskwork.gui.controllers import image_restart
from maskwork.gui.controllers.autosaver import Autosaver
from maskwork.gui.controllers.saving import save_project
from maskwork.gui.dialogs import messages
from maskwork.gui.dialogs.new_project import ask_new_project
from maskwork.gui.image_loader import ImageLoader, Prepared, needs_worker
from maskwork.gui.release import release_later

AUTOSAVE_MS = 30_000
WRITER = "Maskwork window"  # how another program's "open for writing by ..." message names us
MAX_RECENT = 10


class Session(QObject):
    title_changed = Signal()
    recent_changed = Signal()
    saved = Signal()  # project.json and the annotations are on disk (Save, Save to another folder)

    def __init__(self, state, editor, view, parent_widget) -> None:
        super().__init__(parent_widget)
        self.state, self.editor, self.view, self.window = state, editor, view, parent_widget
        self.saving = False  # a save is being written (gui/controllers/saving.py)
        self.unsaved_sources: list = []  # callables -> list[str]: other unsaved parts (controllers/review.py)
        self.file_jobs: list = []  # import/export jobs using the project (FileOps.jobs, handed in by the window)
        self.views: dict[str, dict] = {}  # zoom/centre per image while the project is open
        self.loader = ImageLoader(self, view, self)  # big images: decoded in a worker (ADR 0012)
        self.loader.failed.connect(lambda message: messages.show_error(self.window, message))
        self.loader.size_changed.connect(lambda exc: image_restart.offer(self, exc))
        self.autosaver = Autosaver(self.autosave, self)  # snapshots encoded and written in a worker
        self.autosaver.written.connect(
            lambda names: self.state.status_message.emit(f"Autosaved {plural(len(names), 'image')}."))
        self.autosaver.failed.connect(lambda message: self.state.status_message.emit(f"Autosave failed: {message}"))
        self.timer = QTimer(self)
        self.timer.setInterval(AUTOSAVE_MS)
        self.timer.timeout.connect(self.autosave)
        self.timer.start()
        state.layer_changed.connect(lambda _box: self.title_changed.emit())
        state.prediction_changed.connect(self.title_changed.emit)
        state.classes_changed.connect(self._classes_edited)
        state.layer_changed.connect(lambda _box: self._journal_health())

    def _classes_edited(self) -> None:
        p = self.state.project
        if p is not None:
            p.classes_changed()  # unsaved until saved, journaled now (core/store/project.py)
        self.title_changed.emit()

    def _journal_health(self) -> None:
        """A journal that cannot write (disk full) is said once, so the user knows to save."""
        p = self.state.project
        error = None if p is None else p.journal.error
        if error and error != getattr(self, "_journal_error_shown", None):
            self._journal_error_shown = error
            self.state.status_message.emit(f"Warning: {error}")

    # ---- state ----------------------------------------------------------------------------
    def unsaved(self) -> list[str]:
        p = self.state.project
        if p is None or p.read_only:
            return []  # a read-only project takes no edits, so nothing can be unsaved
        extra = [item for source in self.unsaved_sources for item in source()]
        return list(p.dirty) + (["(class list)"] if p.classes_unsaved else []) + extra

    # ---- opening --------------------------------------------------------------------------
    def open_path(self, path, task: str | None = None, classes=None) -> bool:
        """Open a project folder, a plain folder of images, or one image (its folder, at that image)."""
        path = Path(path)
        select = None
        if path.is_file():
            if not is_image_file(path):
                messages.show_error(self.window, InputError(
                    f"{path} is not an image Maskwork can open; pick a .png, .jpg, .tif, .bmp or .webp file, "
                    "or a folder."))
                return False
            path, select = path.parent, path.name
        if not self.close_project():
            return False
        try:
            project = self._open(path, task, classes)
            if not project.has_store and task is None and not project.classes.ids():
                answer = ask_new_project(self.window, str(path))
                new = None if answer is None else self._open(path, answer[0], answer[1])
                project.close()  # after the reopen: the lock is never let go in between
                if new is None:
                    return False
                project = new
        except MaskworkError as exc:
            messages.show_error(self.window, exc)
            return False
        self.set_project(project, select)
        return True

    @staticmethod
    def _open(path, task: str | None = None, classes=None) -> Project:
        """Open for writing (the project lock); read-only while another program has it open for
        writing: the window then shows the banner and takes no edits (core/store/project_lock.py)."""
        kwargs = {} if task is None else {"task": task, "classes": classes}
        try:
            return Project.open(path, writer=WRITER, **kwargs)
        except ProjectLockedError:
            return Project.open(path, read_only=True, **kwargs)

    def retry_write(self) -> bool:
        """The read-only banner's Retry: open the project for writing if its holder has let go."""
        p = self.state.project
        if p is None or not p.read_only:
            return True
        try:
            project = Project.open(p.store.parent, task=p.task, classes=p.classes, writer=WRITER)
        except ProjectLockedError as exc:
            self.state.status_message.emit(f"Still read-only: {exc}")
            return False
        except MaskworkError as exc:
            messages.show_error(self.window, exc)
            return False
        name = self.state.current_name
        p.close()
        self.set_project(project, name)
        self.state.status_message.emit(f"{project.root.name} is open for editing now.")
        return True

    def set_project(self, project, select: str | None = None) -> None:
        self.loader.cancel()  # an image of the previous project still loading is never shown
        self.editor.undo.clear_all()
        self.views = {}
        self.state.project, self.state.current_name = project, None
        if not project.settings.get("model"):  # the model panel starts on this one (core.models.catalog.defaults)
            default = default_model_for(project.task, project.classes)
            if default:
                project.settings["model"] = default
        self.state.annotation = self.state.image = None
        ids = [c for c in project.classes.ids() if c != 0]
        self.state.current_class = ids[0] if ids else 0
        self.state.project_changed.emit()
        self.add_recent(str(project.root))
        names = project.image_names()
        current = select or project.settings.get("current_image")
        if names:
            self.open_image(current if current in names else names[0], restore_view=True)
        else:
            self.state.status_message.emit(f"No images in {project.root}: drop image files there or open another "
                                           "folder.")
        self.title_changed.emit()
        self._report_recovery(project)  # over the image, so the recovered work is seen behind the note

    def _report_recovery(self, project) -> None:
        lines = []
        if project.recovered:
            edits = project.recovered_edits
            shown = "\n".join(f"{n} ({plural(edits[n], 'edit')} from the crash journal)" if n in edits
                              else recovered_in_words(n)
                              for n in project.recovered[:15])
            count = plural(len(project.recovered), "item")
            lines.append(f"Unsaved work from the last session was recovered for {count}:\n"
                         f"{shown}\n\nCheck it, then save (Ctrl+S) to keep it.")
        if project.warnings:
            lines.append("Warnings:\n" + "\n".join(project.warnings[:10]))
        if lines:
            messages.show_info(self.window, "Recovered work", "\n\n".join(lines))

    def open_image(self, name: str, restore_view: bool = False) -> bool:
        p = self.state.project
        if p is None:
            return False
        self.loader.cancel()  # the newest choice wins over an image still loading
        if name == self.state.current_name:
            return False
        if needs_worker(p, name):  # a big image is decoded in a worker; the current one stays till then
            self.loader.load(p, name, restore_view)
            return True
        try:
            prepared = Prepared(name, p.annotation(name), p.image(name))
        except ImageSizeChanged as exc:
            return image_restart.offer(self, exc)
        except MaskworkError as exc:
            messages.show_error(self.window, exc)
            return False
        self.show_image(prepared, restore_view)
        return True

    def show_image(self, prepared: Prepared, restore_view: bool = False) -> None:
        """Make a read image the current one (small ones from open_image, big ones from the loader)."""
        p, name = self.state.project, prepared.name
        self.view.set_tool(self.view.tool)  # ends a polygon in progress
        self.remember_view()
        self.autosave()
        release_later([self.state.image])  # the previous pixels (144 MB at 48 MP) are freed off this thread
        self.state.current_name, self.state.annotation, self.state.image = name, prepared.annotation, prepared.rgb
        self.state.last_result = None
        p.settings["current_image"] = name
        self.editor.image_switched()
        self.state.prepared = prepared  # what the loading worker made for the views (gui/image_loader.py)
        try:
            self.state.image_changed.emit(name)
        finally:
            self.state.prepared = None
        view = p.settings.get("view") if restore_view else self.views.get(name)
        if view and view.get("image") == name:
            self.view.restore_view(view)
        else:
            self.view.fit()
        self.title_changed.emit()

    def remember_view(self) -> None:
        p = self.state.project
        if p is not None and self.state.current_name is not None:
            view = {"image": self.state.current_name, **self.view.view_state()}
            p.settings["view"] = self.views[self.state.current_name] = view

    def step(self, direction: int, names: list[str] | None = None) -> None:
        """Next (+1) / previous (-1) image among `names` (the image list's filtered order)."""
        p = self.state.project
        if p is None:
            return
        names = names if names is not None else p.image_names()
        if not names:
            return
        cur = self.loader.target or self.state.current_name  # D pressed twice while loading: two steps
        i = names.index(cur) + direction if cur in names else 0
        if 0 <= i < len(names):
            self.open_image(names[i])
        else:
            self.state.status_message.emit("This is the last image." if direction > 0 else "This is the first image.")

    # ---- saving ---------------------------------------------------------------------------
    def save(self) -> bool:
        p = self.state.project
        if p is None:
            return True
        self.autosaver.wait()
        if p.read_only:  # the Save action is disabled then; this is Ctrl+S reaching us anyway
            messages.show_error(self.window, f"Nothing was saved: {p.root} is open read-only because "
                                             f"{p.lock_holder or 'another program'} has it open for writing.")
            return False
        self.remember_view()
        self.saving = True  # autosave stands aside while a big save runs in a worker (gui/controllers/saving.py)
        try:
            written = save_project(p, self.window)
        except UndefinedClassError as exc:  # another folder would not help: the class list must
            messages.show_error(self.window, exc)
            return False
        except ProjectError as exc:  # read-only folder, full disk: the work is still in memory
            messages.show_error(self.window, f"{exc}\n\nNothing is lost: choose another folder for the "
                                             "annotations (the images stay where they are).")
            return self.save_elsewhere()
        except MaskworkError as exc:
            messages.show_error(self.window, exc)
            return False
        finally:
            self.saving = False
        self.saved.emit()
        self.state.status_message.emit(f"Saved {plural(len(written), 'image')} to {p.store}.")
        self.title_changed.emit()
        return True

    def save_elsewhere(self, folder=None) -> bool:
        """Write the whole store to another folder (File > Save to another folder, or after a failed save)."""
        p = self.state.project
        if p is None:
            return True
        self.autosaver.wait()
        folder = folder or QFileDialog.getExistingDirectory(self.window, "Folder for the annotations")
        if not folder:
            return False
        self.remember_view()
        try:
            check_new_store(folder, p.store)  # core/store/writer_guard.py: not over another project's store
            p.save_as(folder)
        except MaskworkError as exc:  # the core message says what to do; the work itself is still in memory
            messages.show_error(self.window, f"{exc}\n\nYour unsaved work is still open.")
            return False
        self.saved.emit()
        self.state.status_message.emit(f"Saved to {p.store}.")
        self.title_changed.emit()
        return True

    def autosave(self) -> None:
        p = self.state.project
        if p is None or self.saving or not self.unsaved():
            return
        if self.file_jobs:
            return  # an import/export worker is using the project; the next tick autosaves
        self.remember_view()
        self.autosaver.run(p)  # a cheap copy here; encoded and written in a worker (gui/controllers/autosaver.py)

    def close_project(self) -> bool:
        """Ask about unsaved work; False when the user cancels."""
        if self.state.project is None:
            return True
        self.autosaver.wait()  # Discard or Save never race a snapshot being written
        unsaved = self.unsaved()
        if unsaved:
            answer = messages.ask_save(self.window, unsaved)
            if answer == messages.CANCEL:
                return False
            if answer == messages.SAVE and not self.save():
                return False
            if answer == messages.DISCARD:
                self.state.project.discard_unsaved()
                self.title_changed.emit()
        else:
            self._save_settings_quietly()
        self.state.project.close()  # the journal's last writes are on disk
        return True

    def _save_settings_quietly(self) -> None:
        """Current image and view are remembered without asking (only for an existing store)."""
        p = self.state.project
        if p is not None and p.has_store:
            self.remember_view()
            try:
                p.save(names=[])
            except MaskworkError:
                pass  # a read-only project simply does not remember the view

    # ---- recent projects ------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = QSettings().value("recent_projects", [])
        return [str(v) for v in (value if isinstance(value, list) else [value]) if v]  # QSettings keeps strings

    def add_recent(self, folder: str) -> None:
        items = [folder] + [f for f in self.recent() if f != folder]
        QSettings().setValue("recent_projects", items[:MAX_RECENT])
        self.recent_changed.emit()

    def title(self) -> str:
        p = self.state.project
        if p is None:
            return "Maskwork"
        star = "*" if self.unsaved() else ""
        image = f" — {self.state.current_name}" if self.state.current_name else ""
        return f"{star}{p.root.name}{image} — Maskwork"
