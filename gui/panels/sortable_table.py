"""A read-only table of scores behind a sorting proxy, as the Dataset tab's pages show them."""
from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QSortFilterProxyModel
from PySide6.QtWidgets import QHeaderView, QTableView, QWidget


def sortable_table(model: QAbstractItemModel, sort_role: int, owner: QWidget,
                   tooltip: str) -> tuple[QSortFilterProxyModel, QTableView]:
    """(proxy, view): whole rows selected, nothing editable, columns sized to their contents, sorted by `sort_role`
    (numbers, with missing values below every number)."""
    proxy = QSortFilterProxyModel(owner)
    proxy.setSourceModel(model)
    proxy.setSortRole(sort_role)
    table = QTableView()
    table.setModel(proxy)
    table.setSortingEnabled(True)
    table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.verticalHeader().setVisible(False)
    table.setToolTip(tooltip)
    return proxy, table
