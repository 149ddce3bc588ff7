"""What the window does with the user's work: the session (open, switch, save), the editor and its undo adapter,
file jobs, autosave and review. Views never import these (import-linter contract); they get state and callbacks."""
