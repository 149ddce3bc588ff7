"""The Qt binding must not free None (PySide6 6.12.0 on Python 3.11 did: the window aborted minutes into a
labelling session with "Fatal Python error: none_dealloc"). Where None is immortal (3.12+) there is nothing to
count and these tests skip."""
from __future__ import annotations

import ctypes
import sys

import pytest

from maskwork.gui import binding_check
from maskwork.gui.app import refuse_defective_binding

mortal_none = pytest.mark.skipif(binding_check.none_is_immortal(), reason="None is immortal on Python 3.12+")


def _void_calls():
    """Void Qt methods of the kinds the canvas and tools call on every mouse move."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QPainterPath, QPen, QPolygonF
    from PySide6.QtWidgets import QGraphicsRectItem

    path, pen, polygon, item = QPainterPath(), QPen(), QPolygonF(), QGraphicsRectItem(0, 0, 4, 4)
    return {
        "QPainterPath.lineTo": lambda: path.lineTo(2.0, 3.0),
        "QPen.setWidthF": lambda: pen.setWidthF(1.5),
        "QPolygonF.append": lambda: polygon.append(QPointF(1.0, 1.0)),
        "QGraphicsItem.setPos": lambda: item.setPos(1.0, 2.0),
    }


@mortal_none
def test_the_installed_binding_keeps_every_reference_to_none(qapp):
    lost = {name: binding_check.none_references_lost(call, 3000) for name, call in _void_calls().items()}
    assert all(n < 100 for n in lost.values()), f"references to None lost per 3000 calls: {lost}"
    assert binding_check.binding_defect() is None


def _leaking_call():
    """What the defective binding does on each call: one reference to None too few."""
    ctypes.pythonapi.Py_DecRef(ctypes.py_object(None))


@pytest.fixture
def leaking_call():
    before = sys.getrefcount(None)
    yield _leaking_call
    assert sys.getrefcount(None) >= before - 50, "the check must give back what the binding took"


@mortal_none
def test_the_check_recognises_a_binding_that_frees_none(leaking_call):
    message = binding_check.binding_defect(leaking_call)
    assert message is not None
    assert "PySide6-Essentials<6.12" in message and "None" in message


@mortal_none
def test_start_up_says_so_instead_of_crashing_later(qapp, leaking_call, monkeypatch, capsys):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(binding_check, "void_qt_call", lambda: leaking_call)
    monkeypatch.setattr(QMessageBox, "critical", lambda *args: shown.append(args[2]))
    assert refuse_defective_binding() is True
    assert shown and "pip install 'PySide6-Essentials<6.12'" in shown[0]
    assert shown[0] in capsys.readouterr().err


def test_a_sound_binding_starts(qapp):
    assert refuse_defective_binding() is False
