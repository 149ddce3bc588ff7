"""A real MainWindow that edits a project by script until it is killed (tests/gui/test_crash_safety.py).

    python -m tests.gui.crash_child FOLDER SEED

Edits go through the window's own editor, undo stack, session and classes panel, paced by a QTimer
like a quick user. Protocol on stdout (one flushed line each):
  READY                      the project is open (recovery included), editing starts
  S <digest>                 the project state right before it is handed to the crash journal
  D <op> <monotonic time>    operation <op> is complete
Every state the journal could hold was printed as an S line before it reached the journal.
"""
from __future__ import annotations

import hashlib
import os
import random
import sys
import time

import numpy as np


def project_digest(project) -> str:
    """Classes + the corrected layer and status of every image, as a user would see them."""
    h = hashlib.sha256(repr([(c.id, c.name, c.color) for c in project.classes]).encode())
    for name in project.image_names():
        ann = project.annotation(name)
        h.update(name.encode() + str(ann.status.value).encode())
        lm = ann.corrected.label_map
        if lm is None:  # an untouched map and a created, still empty one look the same
            lm = np.zeros((ann.height, ann.width), np.uint8)
        h.update(lm.astype(np.uint16).tobytes())
        for i in ann.corrected.instances:
            h.update(repr((i.id, i.class_id, i.score, i.box, i.source.value, i.iscrowd, i.mask.x0, i.mask.y0,
                           i.mask.crop.shape)).encode())
            h.update(np.packbits(i.mask.crop).tobytes())
    return h.hexdigest()[:16]


def say(*parts) -> None:
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()


class Script:
    def __init__(self, window, rng: random.Random) -> None:
        self.w, self.rng, self.op = window, rng, 0
        self.instance = window.state.project.task == "instance"

    def point(self):
        ann = self.w.state.annotation
        return (self.rng.randrange(ann.width), self.rng.randrange(ann.height))

    def pick_class(self) -> None:
        ids = [c for c in self.w.state.project.classes.ids() if c != 0]
        self.w.state.set_current_class(self.rng.choice(ids))

    def stroke(self, erase: bool = False) -> None:
        ed = self.w.editor
        p = self.point()
        ed.set_radius(self.rng.randint(2, 12))
        ed.begin_stroke(p, erase)
        for _ in range(self.rng.randint(1, 6)):
            q = (min(max(p[0] + self.rng.randint(-40, 40), 0), self.w.state.annotation.width - 1),
                 min(max(p[1] + self.rng.randint(-40, 40), 0), self.w.state.annotation.height - 1))
            ed.stroke_to(p, q)
            p = q
        ed.end_stroke()

    def select_some(self, k: int) -> bool:
        ids = [i.id for i in self.w.state.annotation.corrected.instances]
        if len(ids) < k:
            return False
        self.w.editor.set_selection(self.rng.sample(ids, k))
        return True

    def step(self) -> None:
        r = self.rng.random()
        ed, state = self.w.editor, self.w.state
        if r < 0.30:
            self.pick_class()
            if self.instance and self.rng.random() < 0.5:
                ed.new_instance()
            elif self.instance:
                self.select_some(1)
            self.stroke()
        elif r < 0.38:
            if self.instance:
                self.select_some(1)
            self.stroke(erase=True)
        elif r < 0.48:
            self.pick_class()
            pts = [self.point() for _ in range(self.rng.randint(3, 6))]
            ed.polygon(pts)
        elif r < 0.55 and not self.instance:
            self.pick_class()
            ed.fill(self.point())
        elif r < 0.62 and self.instance:
            if self.select_some(1):
                ed.delete_selected()
        elif r < 0.66 and self.instance:
            if self.select_some(2):
                ed.merge_selected()
        elif r < 0.70 and self.instance:
            if self.select_some(1):
                ed.reclass_selected(self.rng.choice([c for c in state.project.classes.ids() if c != 0]))
        elif r < 0.80:
            ed.undo.undo()
        elif r < 0.86:
            ed.undo.redo()
        elif r < 0.89:
            ed.accept_prediction()
        elif r < 0.95:
            self.w.session.step(1 if self.rng.random() < 0.5 else -1)
        else:
            self.w.classes_panel.add_class(f"class{self.rng.randrange(10**6)}")

    def run(self) -> None:
        from PySide6.QtCore import QTimer

        try:
            self.step()
        except Exception:  # a failing edit is a bug the test must show, not a silent stop
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
            os._exit(3)
        self.op += 1
        say("D", self.op, f"{time.monotonic():.6f}")
        QTimer.singleShot(self.rng.randint(5, 120), self.run)


def main() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    folder, seed = sys.argv[1], int(sys.argv[2])
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from maskwork.gui import docks
    from maskwork.gui.dialogs import messages
    from maskwork.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    docks.PANELS = []  # the model panels load models; editing does not need them
    messages.show_info = lambda *a, **k: None
    from maskwork.gui.dialogs import accept_prediction as accept_dialog  # the user's answer, as the script picks it

    answers = random.Random(seed + 7)
    accept_dialog.ask_accept_mode = lambda *a: answers.choice([accept_dialog.REPLACE, accept_dialog.ADD])
    messages.show_error = lambda parent, exc, *a: say("E", str(exc).replace("\n", " "))
    window = MainWindow()
    window.resize(900, 700)
    window.show()
    assert window.session.open_path(folder)
    project = window.state.project
    record, journal_classes = project.record_edit, project.journal_classes

    def record_hooked(name, bbox=None):
        say("S", project_digest(project))
        return record(name, bbox)

    def classes_hooked():
        say("S", project_digest(project))
        return journal_classes()

    project.record_edit, project.journal_classes = record_hooked, classes_hooked
    say("READY")
    script = Script(window, random.Random(seed))  # held here: Qt keeps only a weak reference to the slot
    QTimer.singleShot(0, script.run)
    app.exec()


if __name__ == "__main__":
    main()
