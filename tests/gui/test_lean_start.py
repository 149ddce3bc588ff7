"""A lean start-up (issue 14): the window opens, shows the first image and lists every model without
importing torch; the list is the one torch itself would give (classes, tasks, states, int8 support),
a user's checkpoint without a header sidecar included. torch comes when a model runs."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from maskwork.core.domain.annotation import ClassList
from maskwork.core.models.catalog import weights as W
from maskwork.core.models.catalog.builtin import MODELS
from maskwork.core.models.catalog.classlists import aerial_classes
from maskwork.core.models.catalog.headers import header_of, sidecar_path
from maskwork.core.models.catalog.specs import TorchvisionWeights, spec_with_header, weights_file
from maskwork.core.models.catalog.user_models import register_checkpoint, user_specs
from maskwork.core.models.int8.dispatch import support
from maskwork.core.models.torch_models.architectures import ARCHITECTURES
from maskwork.core.models.torch_models.checkpoint import read_checkpoint, save_checkpoint
from maskwork.core.store.project import Project

START = """
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
qapp = QApplication([sys.argv[0]])
from maskwork.gui import app
from maskwork.gui.main_window import MainWindow
window = MainWindow(panels_now=False)  # what app.run_app does
window.show()
def check():
    dock = window.panel_docks.get("Model")
    if dock is None or not dock.widget().entries or window.state.image is None:
        return
    print(json.dumps({"imported": [m for m in ("torch", "torchvision") if m in sys.modules],
                      "image": window.state.current_name,
                      "models": [[e.name, e.task, e.state, e.classes.to_list(), e.int8.mode if e.int8 else None]
                                 for e in dock.widget().entries.values()]}))
    window.session.close_project = lambda: True
    qapp.quit()
timer = QTimer()
timer.timeout.connect(check)
timer.start(50)
app.start_after_paint(window, [sys.argv[1]])
qapp.exec()
"""


def _expected() -> list:
    """The model list as torch reads it: checkpoints loaded with torch.load, states from the loader."""
    rows = []
    for spec in [*MODELS.values(), *user_specs()]:
        path = weights_file(spec)
        if not isinstance(spec.source, TorchvisionWeights) and path is not None and path.is_file():
            spec = spec_with_header(spec, header_of(read_checkpoint(path)))
        rows.append([spec.name, spec.task, W.model_state(spec), spec.classes.to_list(), support(spec).mode])
    return rows


def test_the_window_lists_every_model_without_importing_torch(tmp_path, aerial_dir, monkeypatch):
    env = {"TORCH_HOME": str(tmp_path / "torch"), "MASKWORK_CONFIG_DIR": str(tmp_path / "config"),
           "HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "home/config"),
           "XDG_DATA_HOME": str(tmp_path / "home/data"), "QT_QPA_PLATFORM": "offscreen"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    cached = MODELS["lraspp_mobilenet_v3_large"]  # one torchvision model already downloaded
    W.weights_path(cached).parent.mkdir(parents=True)
    W.weights_path(cached).write_bytes(b"weights")
    mine = tmp_path / "mine.pt"  # the user's own checkpoint, made elsewhere: no sidecar
    save_checkpoint(mine, arch="unet_tiny", task="semantic", classes=aerial_classes(),
                    state_dict=ARCHITECTURES["unet_tiny"].build(6).state_dict(), input_spec={"tile": 256})
    sidecar_path(mine).unlink()
    register_checkpoint(mine, name="my-aerial", check=False)
    folder = tmp_path / "aerial"
    folder.mkdir()
    for src in sorted((aerial_dir / "images").glob("*.jpg"))[:2]:
        shutil.copy(src, folder / src.name)
    Project.create(folder, ClassList.from_list(json.loads((aerial_dir / "classes.json").read_text())),
                   "semantic").close()

    res = subprocess.run([sys.executable, "-c", START, str(folder)], capture_output=True, text=True, timeout=180,
                         env={**os.environ, **env})
    assert res.returncode == 0, res.stderr[-3000:]
    shown = json.loads(res.stdout.strip().splitlines()[-1])
    assert shown["imported"] == []  # neither torch nor torchvision until a model runs
    assert shown["image"] == sorted(p.name for p in folder.glob("*.jpg"))[0]
    expected = _expected()
    assert shown["models"] == expected
    states = {row[0]: row[2] for row in expected}
    assert states["lraspp_mobilenet_v3_large"] == "cached" and states["fcn_resnet50"] == "needs download"
    assert states["aerial-landcover"] == "bundled" and states["my-aerial"] == "cached"
