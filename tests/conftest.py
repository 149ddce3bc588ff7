"""Shared test set-up: headless Qt, paths to the real datasets, temporary copies."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Settings, caches and app data of this test run live in a throwaway folder: a test never reads or
# writes the developer's real QSettings, int8 cache or model list, and parallel runs do not collide.
_RUN_HOME = Path(tempfile.mkdtemp(prefix="maskwork-tests-"))
for _var, _sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache"),
                   ("XDG_STATE_HOME", "state"), ("MASKWORK_CONFIG_DIR", "maskwork-config"),
                   ("MASKWORK_CACHE_DIR", "maskwork-cache")):
    os.environ[_var] = str(_RUN_HOME / _sub)

# Headless Qt with a 1920x1200 screen (the offscreen plugin's own is 800x800): the window opens at its full
# first-start size, as on a desktop; gui/main_window.first_size shrinks it only on smaller screens.
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    (_RUN_HOME / "screens.json").write_text(
        '{"screens": [{"name": "Test", "x": 0, "y": 0, "width": 1920, "height": 1200, "logicalDpi": 96, '
        '"logicalBpi": 96, "dpr": 1}]}')
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_RUN_HOME / 'screens.json'}"

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not DATASETS.is_dir():
        pytest.skip(f"real datasets not found at {DATASETS}")
    return DATASETS


@pytest.fixture(scope="session")
def nuclei_val(datasets) -> Path:
    return datasets / "nuclei" / "val.json"


@pytest.fixture(scope="session")
def aerial_dir(datasets) -> Path:
    return datasets / "aerial"


@pytest.fixture(scope="session")
def coco_sample_val(datasets) -> Path:
    return datasets / "coco_sample" / "instances_val2017.json"


# Fixtures that unit and GUI tests share; their helpers live beside them.
from tests.unit.real_models import real_models  # noqa: E402, F401
from tests.unit.sam_fixtures import tiny_pair  # noqa: E402, F401


@pytest.fixture(autouse=True)
def _ctrl_c_as_a_user_has_it(request):
    """Every test starts with Ctrl-C raising KeyboardInterrupt, as in a `maskwork` command a user runs: a test run
    started in the background (`make test &`, nohup) inherits SIGINT ignored, and the Ctrl-C tests then hung or
    finished unstopped. What was found is named in the warnings summary, a handler a test leaves behind too, and
    both are put back."""
    import signal
    import warnings

    found = signal.getsignal(signal.SIGINT)
    if found is not signal.default_int_handler:
        warnings.warn(f"before {request.node.nodeid}: SIGINT was handled by {found!r}; set back to "
                      "default_int_handler", stacklevel=1)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    left = signal.getsignal(signal.SIGINT)
    if left is not signal.default_int_handler:
        warnings.warn(f"{request.node.nodeid} left SIGINT handled by {left!r}; put back", stacklevel=1)
        signal.signal(signal.SIGINT, signal.default_int_handler)
