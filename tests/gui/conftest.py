"""Fixtures of every GUI test: settings and app data in Qt's test locations and modal dialogs refused (both
autouse: a dialog would hang the run), small real projects, the main window, the user's model list in tmp."""
from tests.gui.interactive_helpers import instances, semantic  # noqa: F401
from tests.gui.objects_support import objects_dock  # noqa: F401
from tests.gui.panels_support import isolated_config  # noqa: F401
from tests.gui.window_helpers import (  # noqa: F401
    aerial_folder,
    isolated_settings,
    no_modal_dialogs,
    nuclei_folder,
    window,
)
