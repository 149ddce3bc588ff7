"""Maskwork's desktop app: PySide6 views over maskwork.core."""

if __name__ == "gui":  # imported by its bare name from the repository root: a second copy of every class
    raise ImportError("Maskwork's GUI is imported as `maskwork.gui` (e.g. `from maskwork.gui.state import AppState`), "
                      "never as bare `gui`, which would load a second copy of every class and of maskwork.core's; "
                      "install the checkout with `make install` (docs/adr/0010).")
