"""A second real process that holds a project open for writing (core/store/project_lock.py tests)."""
from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# argv: repo root, folder, app name, code run once the project is open (may use `p`)
HOLDER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from maskwork.core.store.project import Project
p = Project.open(sys.argv[2], writer=sys.argv[3])
exec(sys.argv[4])
print("holding", flush=True)
sys.stdin.read()  # hold until the test closes our stdin (or kills us)
"""


@contextmanager
def holder(folder: Path, app: str = "Maskwork window", then: str = "pass"):
    """Yield a process that has `folder` open for writing; it releases on exit (stdin closed)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(ROOT), str(folder), app, then],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line == "holding", proc.stderr.read() if proc.poll() is not None else line
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for f in (proc.stdin, proc.stdout, proc.stderr):
            f.close()


def stop(proc: subprocess.Popen) -> None:
    """Let the holder exit normally (its atexit releases the lock) and wait for it."""
    proc.stdin.close()
    proc.wait(timeout=30)
