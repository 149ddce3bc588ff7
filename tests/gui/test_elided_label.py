"""The model description is one elided line (a wrapped label in a squeezed dock was cut in half)."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel

from maskwork.gui.panels.elided_label import ElidedLabel


def test_long_text_is_one_elided_line_with_the_whole_text_in_the_tooltip(qtbot):
    text = ("instance, weights cached: Ultralytics YOLO11n-seg model trained on /ultralytics/cfg/datasets/coco.yaml, "
            "80 classes")
    label = ElidedLabel(text, "what the words mean")
    qtbot.addWidget(label)
    label.resize(220, 30)
    label.show()
    shown = QLabel.text(label)
    assert shown != text and shown.endswith("…") and text.startswith(shown[:-1])
    assert label.fontMetrics().horizontalAdvance(shown) <= 220
    assert label.text() == text and text in label.toolTip() and "what the words mean" in label.toolTip()
    label.resize(2000, 30)
    assert QLabel.text(label) == text  # room enough: all of it
