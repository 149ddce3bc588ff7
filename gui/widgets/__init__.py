"""Small reusable widgets of the main window: status bar, toolbar, read-only banner, plot."""
