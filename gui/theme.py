"""Window themes: the system's look, or Qt's Fusion style with a light or a dark palette.

Overlays, class colours and the image are not themed: only the window around them changes.
"""
from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

Role, Group = QPalette.ColorRole, QPalette.ColorGroup

DARK = {Role.Window: "#2b2b2b", Role.WindowText: "#e0e0e0", Role.Base: "#1e1e1e", Role.AlternateBase: "#333333",
        Role.ToolTipBase: "#3c3c3c", Role.ToolTipText: "#e0e0e0", Role.PlaceholderText: "#8a8a8a",
        Role.Text: "#e0e0e0", Role.Button: "#353535", Role.ButtonText: "#e0e0e0", Role.BrightText: "#ff5555",
        Role.Light: "#505050", Role.Midlight: "#404040", Role.Mid: "#303030", Role.Dark: "#202020",
        Role.Shadow: "#101010", Role.Highlight: "#3d7ac2", Role.HighlightedText: "#ffffff",
        Role.Link: "#6fa8ff"}
DARK_DISABLED = {Role.WindowText: "#7a7a7a", Role.Text: "#7a7a7a", Role.ButtonText: "#7a7a7a"}
THEMES = ("system", "light", "dark")

_system: tuple[str, QPalette] | None = None  # style name and palette before the first change


def palette(name: str) -> QPalette:
    if name == "light":
        return QApplication.style().standardPalette()
    pal = QPalette()
    for role, colour in DARK.items():
        pal.setColor(role, QColor(colour))
    for role, colour in DARK_DISABLED.items():
        pal.setColor(Group.Disabled, role, QColor(colour))
    return pal


def apply(name: str) -> None:
    """Switch the running application's look (no restart)."""
    global _system
    app = QApplication.instance()
    if app is None or name not in THEMES or (name == "system" and _system is None):
        return  # unknown, or the system look that is already there
    if _system is None:
        _system = (app.style().name(), QPalette(app.palette()))
    if name == "system":
        app.setStyle(_system[0])
        app.setPalette(_system[1])
        return
    app.setStyle("Fusion")  # the one built-in style that follows the palette everywhere
    app.setPalette(palette(name))


def current_is_dark() -> bool:
    app = QApplication.instance()
    return app is not None and app.palette().color(Role.Window).lightness() < 128
