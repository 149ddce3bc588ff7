"""The Model panel's "Refine" choice: how the masks of a run are moved onto the image's edges before they
become the prediction layer (core/refine, issue 21). The list is core.refine.REFINERS; "sam" is offered only
when a SAM-family model is at hand: the window hands the choice `sam_model` (gui/refine_action.py: the SAM
tool's model, or None), asked each time the list opens and when a run starts."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from maskwork.core.refine import REFINERS

TIP = ("Refine each run's masks before they are stored: 'edges' moves instance outlines and semantic region "
       "borders onto the image's colour edges (weight-free, a few ms per object); 'zoom' runs the model again "
       "on each object's box, then edges (photos with YOLO: much finer outlines, one model pass per object; "
       "slow with torch models); 'none' keeps the model's masks. Only the prediction is refined: corrected "
       "and locked objects are never touched. An instance run keeps the detections at the run's threshold.")


class RefineChoice(QComboBox):
    def __init__(self, on_pick=None, parent=None) -> None:
        """`on_pick(method)`: the user picked another refinement (the panel keeps it in the project)."""
        super().__init__(parent)
        self.setToolTip(TIP)
        self.sam_model: Callable[[], object | None] = lambda: None
        self._fill(sam=False)
        if on_pick is not None:
            self.currentIndexChanged.connect(lambda _i: on_pick(self.method()))

    def _fill(self, sam: bool) -> None:
        current = self.method()
        self.blockSignals(True)
        self.clear()
        for name, refiner in REFINERS.items():
            if sam or not refiner.needs_model:
                self.addItem(name, name)
                self.setItemData(self.count() - 1, refiner.description, Qt.ItemDataRole.ToolTipRole)
        self.set_method(current or "none")
        self.blockSignals(False)

    def set_sam_available(self, available: bool) -> None:
        if available != (self.findData("sam") >= 0):
            self._fill(available)

    def showPopup(self) -> None:  # noqa: N802 (Qt's name)
        self.set_sam_available(self.sam_model() is not None)
        super().showPopup()

    def method(self) -> str:
        return self.currentData() or ""

    def choice(self) -> tuple[str, object | None]:
        """(method, the SAM-family model for 'sam', else None): what a run is handed (gui/panels/model_jobs.py)."""
        method = self.method()
        return method, self.sam_model() if REFINERS[method].needs_model else None

    def set_method(self, name: str) -> None:
        """Pick `name` when offered; otherwise (e.g. 'sam' with no SAM model) 'none'."""
        index = self.findData(name)
        self.setCurrentIndex(index if index >= 0 else max(0, self.findData("none")))
