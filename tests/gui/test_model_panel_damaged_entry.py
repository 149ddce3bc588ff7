"""A damaged entry of the user's models.json is said in the Model panel, not silently dropped; the other models
stay usable (issue 19 s4: the rest stays usable where it can)."""
from __future__ import annotations

import json

from maskwork.core.models.catalog.user_models import models_file
from maskwork.gui.panels.model_panel import ModelPanel
from maskwork.gui.state import AppState
from tests.gui.panels_support import make_tiny_model


def test_the_panel_names_the_damaged_entry_and_lists_the_rest(qtbot, tmp_path, isolated_config):
    good = make_tiny_model(tmp_path, "semantic", "tiny-semantic")
    doc = json.loads(models_file().read_text())
    doc["models"].append({"name": "broken-one", "task": "semantic", "checkpoint": str(tmp_path / "x.pt")})  # no arch
    models_file().write_text(json.dumps(doc))
    panel = ModelPanel(AppState())
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.combo.findData(good) >= 0, timeout=120_000)
    assert panel.combo.findData("broken-one") < 0
    assert "1 damaged entry of your models.json left out" in panel.info_label.text()
    assert "'broken-one'" in panel.info_label.toolTip() and "register it again" in panel.info_label.toolTip()
