"""Window themes: the system's look, or Qt's Fusion style with a light or a dark palette.

Overlays, class colours and the image are not themed: only the window around them changes.
Colours a view picks itself (a score cell's shade) come from here with text that reads on them:
`contrast` is the WCAG ratio (4.5 for text, 3 for icons), `readable_on` the text colour that meets it.
A widget that draws such colours or icons redraws them on PALETTE_EVENTS (a live theme switch).
"""
from __future__ import annotations

from PySide6.QtCore import QEvent
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
# what a widget gets when the theme changes under it: redraw what was drawn in the old palette's colours
PALETTE_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)

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
    if not isinstance(app, QApplication) or name not in THEMES or (name == "system" and _system is None):
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
    return isinstance(app, QApplication) and app.palette().color(Role.Window).lightness() < 128


def luminance(colour: QColor) -> float:
    """WCAG relative luminance of an opaque colour (0 black .. 1 white)."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    return 0.2126 * linear(colour.redF()) + 0.7152 * linear(colour.greenF()) + 0.0722 * linear(colour.blueF())


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two opaque colours: 1 (same) .. 21 (black on white)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on(background: QColor) -> QColor:
    """Black or white, whichever reads better on `background`."""
    black, white = QColor("#000000"), QColor("#ffffff")
    return black if contrast(black, background) >= contrast(white, background) else white


def score_colour(value: float) -> QColor:
    """A score cell's shade, red (0) to green (1): pale on a light window, deep on a dark one, so the
    table does not glare; its text is readable_on(shade)."""
    hue = max(0.0, min(value, 1.0)) / 3.0
    return QColor.fromHsvF(hue, 0.55, 0.40) if current_is_dark() else QColor.fromHsvF(hue, 0.3, 1.0)
