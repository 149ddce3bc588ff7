"""The log file: failures with their tracebacks, for the user to send and the next engineer to read.

Dialogs and CLI messages say what went wrong in a sentence; the traceback goes here. One rotating
file (logging.handlers.RotatingFileHandler, 1 MB x 4) in the user's state folder:
  $MASKWORK_LOG_DIR, else $XDG_STATE_HOME/maskwork (default ~/.local/state/maskwork) on Linux,
  ~/Library/Logs/Maskwork on macOS, %LOCALAPPDATA%\\Maskwork\\Logs on Windows.
`setup_logging()` runs once per process (the app at start, the CLI before a command); later calls
return the same path. Modules log through `logging.getLogger(__name__)` as usual.
"""
from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

LOG_NAME = "maskwork.log"
MAX_BYTES = 1_000_000
BACKUPS = 3
FORMAT = "%(asctime)s %(process)d %(threadName)s %(levelname)s %(name)s: %(message)s"

_handler: logging.Handler | None = None


def log_dir() -> Path:
    """Where the log file lives (not created here)."""
    override = os.environ.get("MASKWORK_LOG_DIR")
    if override:
        return Path(override)
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Logs" / "Maskwork"
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local")) / "Maskwork" / "Logs"
    return Path(os.environ.get("XDG_STATE_HOME") or home / ".local" / "state") / "maskwork"


def log_path() -> Path:
    return log_dir() / LOG_NAME


def setup_logging(kind: str = "app", level: int = logging.INFO) -> Path | None:
    """Send the `maskwork` loggers to the rotating file; once per process (warnings still go to stderr).

    Returns the file's path, or None when the folder cannot be written (read-only home): logging then
    stays off rather than stopping the app or the command."""
    global _handler
    path = log_path()
    if _handler is not None:
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                       encoding="utf-8", delay=True)
    except OSError:
        return None
    handler.setFormatter(logging.Formatter(FORMAT))
    logger = logging.getLogger("maskwork")
    logger.addHandler(handler)
    logger.setLevel(min(logger.level or level, level))
    _handler = handler
    logging.getLogger("maskwork").info("%s started (pid %d, Python %s)", kind, os.getpid(), sys.version.split()[0])
    return path


def flush() -> None:
    if _handler is not None:
        _handler.flush()


def stop_logging() -> None:
    """Detach and close the file handler (tests; a process that moves its state folder)."""
    global _handler
    if _handler is None:
        return
    logging.getLogger("maskwork").removeHandler(_handler)
    _handler.close()
    _handler = None
