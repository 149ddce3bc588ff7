"""The SAM tool (J) driven end to end with real mouse and key events on a real nuclei image, with the
small random-weight SAM of tests/unit/sam_fixtures.py (the point is the tool's plumbing: worker,
cache, prompt, candidates, commit, undo; the masks themselves are checked in tests/unit/test_sam.py)."""
from __future__ import annotations

import hashlib
import threading

import numpy as np
from PySide6.QtCore import Qt

from maskwork.core.interactive.prompt import Prompt
from maskwork.core.interactive.sam import catalog
from tests.gui.interactive_helpers import CTRL, RIGHT, box_of, click, drag, full, key, steps, tool
from tests.gui.window_helpers import hover


def _ready_tool(qtbot, win, pair):
    key(qtbot, win, Qt.Key.Key_J)
    sam = tool(win)
    assert sam.name == "sam" and win.statusBar().currentMessage() == sam.hint
    encoded = []   # (on the GUI thread?, which image) per encoding
    sam.set_model(catalog.pair_spec(f"{pair[0]},{pair[1]}"))
    qtbot.waitUntil(lambda: sam.model is not None, timeout=30_000)
    real_encode = sam.model.encode

    def encode(image, *args, **kwargs):
        encoded.append((threading.current_thread() is threading.main_thread(), _digest(image)))
        return real_encode(image, *args, **kwargs)

    sam.model.encode = encode
    return sam, encoded


def _digest(image) -> str:
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=8).hexdigest()


def test_sam_click_tab_enter_undo_and_esc(qtbot, instances, tiny_pair):
    win = instances
    sam, encoded = _ready_tool(qtbot, win, tiny_pair)
    # a click before the embedding exists is kept, then answered by the worker's result
    q = click(qtbot, win, (120.5, 90.5))
    assert sam.prompt.points == [(*q, True)]
    qtbot.waitUntil(lambda: sam.result is not None, timeout=30_000)
    assert encoded and not any(main for main, _ in encoded)  # the embedding never ran on the GUI thread
    emb = sam.cache.peek(win.state.current_name)
    expected = sam.model.decode(emb, Prompt(points=[(*q, True)]))
    assert len(sam.result.masks) == 3 and sam.index == expected.best
    assert np.array_equal(full(sam.preview.masks[0]), full(expected.masks[expected.best]))
    assert "candidate" in win.statusBar().currentMessage()
    # Tab: the next candidate, with no new model run; Shift+Tab back
    key(qtbot, win, Qt.Key.Key_Tab)
    nxt = (expected.best + 1) % 3
    assert sam.index == nxt and np.array_equal(full(sam.preview.masks[0]), full(expected.masks[nxt]))
    key(qtbot, win, Qt.Key.Key_Backtab)
    assert sam.index == expected.best
    key(qtbot, win, Qt.Key.Key_Tab)
    # Enter: the shown candidate becomes one new instance, one undo step
    before = len(win.state.annotation.corrected.instances)
    key(qtbot, win, Qt.Key.Key_Return)
    layer = win.state.annotation.corrected
    assert len(layer.instances) == before + 1 and steps(win) == 1
    assert layer.instances[-1].mask == expected.masks[nxt]
    assert sam.prompt is None and not sam.preview.mask_visible()
    key(qtbot, win, Qt.Key.Key_Z, CTRL)
    assert len(win.state.annotation.corrected.instances) == before
    # a box and a background click refine; Esc drops everything, nothing is written
    a, b = (40.5, 30.5), (200.5, 150.5)
    drag(qtbot, win, a, b)
    box = box_of(win, a, b)
    r = click(qtbot, win, (100.5, 100.5), RIGHT)
    assert sam.prompt.box == box and sam.prompt.points == [(*r, False)]
    refined = sam.model.decode(emb, Prompt(box=box, points=[(*r, False)]))
    assert len(sam.result.masks) == 4 and np.array_equal(full(sam.preview.masks[0]), full(refined.masks[0]))
    key(qtbot, win, Qt.Key.Key_Escape)
    assert sam.prompt is None and not sam.preview.mask_visible()
    assert len(win.state.annotation.corrected.instances) == before and steps(win) == 1   # only the undone step


def test_sam_prefetches_the_next_image(qtbot, instances, tiny_pair):
    win = instances
    sam, encoded = _ready_tool(qtbot, win, tiny_pair)
    hover(win.view.viewport(), win.view.viewport().rect().center())   # pointing at the image starts it
    qtbot.waitUntil(lambda: sam.embedding_ready, timeout=30_000)
    names = win.state.project.image_names()
    following = names[names.index(win.state.current_name) + 1]
    qtbot.waitUntil(lambda: following in sam.cache, timeout=30_000)    # computed in the background
    win.session.open_image(following)
    qtbot.waitUntil(lambda: sam.embedding_ready, timeout=30_000)
    click(qtbot, win, (60.5, 60.5))
    assert sam.result is not None                 # answered at once: the embedding was there already
    assert [d for _, d in encoded].count(_digest(win.state.image)) == 1
    assert not any(main for main, _ in encoded)
