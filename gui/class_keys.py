"""Keys 1-9 pick classes in the order the Classes panel lists them (class 0, background/unlabeled,
has no key): key k is the k-th listed class, whatever its id (COCO ids have gaps, user lists do not
start at 1). The Tools menu and the shortcuts dialog show the class names."""
from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

KEYS = 9


def digit_classes(classes) -> dict[int, int]:
    """{digit: class id} for the first nine listed classes other than class 0."""
    listed = [c.id for c in (classes or []) if c.id != 0]
    return {k + 1: cid for k, cid in enumerate(listed[:KEYS])}


def make_actions(window, pick) -> list[QAction]:
    """One action per digit; `pick(digit)` runs on the key. Texts come from update_actions."""
    out = []
    for k in range(1, KEYS + 1):
        a = QAction(f"Class key {k}", window)
        a.triggered.connect(lambda _=False, k=k: pick(k))
        window.addAction(a)
        out.append(a)
    return out


def update_actions(actions: list[QAction], classes) -> None:
    """Name each digit's class; a digit without a class is hidden and has no shortcut."""
    keys = digit_classes(classes)
    for k, a in enumerate(actions, start=1):
        cid = keys.get(k)
        if cid is None:
            a.setShortcut(QKeySequence())
            a.setVisible(False)
            continue
        name = classes.get(cid).name
        a.setText(f"Class: {name}")
        a.setShortcut(QKeySequence(str(k)))
        a.setToolTip(f"Paint with {name} (class id {cid}); in instance mode also give it to the selection ({k})")
        a.setVisible(True)
