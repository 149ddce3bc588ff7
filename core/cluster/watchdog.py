"""A local Ray instance that a command started must not outlive it (issue 19).

Ray ties GCS and the raylet to the driver (they die with it), but the raylet's own children, the
DashboardAgent and RuntimeEnvAgent, survive a SIGKILLed driver and ignore SIGTERM. Ray gives no option
to tie them to the driver, and a PDEATHSIG can only be set by their parent (the raylet). So before
`ray.init` starts a local instance, the command starts this watchdog: a small stdlib-only process that
holds the read end of a pipe whose write end only the driver has. Every half second it notes the Ray
processes descending from the driver (command line `ray::...` or under a `ray/` folder) with their start
times; when the pipe reaches end of file (the driver ended, however it ended, or closed it after
`ray.shutdown`) it SIGKILLs every noted process that still runs with the same start time, then exits.
Linux only (/proc); elsewhere nothing is started.

Run as a script: `python watchdog.py DRIVER_PID` with the pipe on stdin.
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

POLL_S = 0.5


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of a running process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            text = fh.read().decode(errors="replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()  # after the command name, which may hold spaces
    return int(fields[1]), int(fields[19])


def _is_ray(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmd = fh.read().replace(b"\0", b" ")
    except OSError:
        return False
    return cmd.startswith(b"ray::") or b"/ray/" in cmd


def ray_descendants(root: int) -> dict[int, int]:
    """{pid: start time} of the Ray processes below `root` (the driver)."""
    parents: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _stat(int(entry))
            if info is not None:
                parents.setdefault(info[0], []).append(int(entry))
                starts[int(entry)] = info[1]
    found, todo = {}, list(parents.get(root, []))
    while todo:
        pid = todo.pop()
        todo += parents.get(pid, [])
        if _is_ray(pid):
            found[pid] = starts[pid]
    return found


def kill_noted(noted: dict[int, int]) -> None:
    for pid, start in noted.items():
        info = _stat(pid)
        if info is not None and info[1] == start:  # the same process, not a later one with a recycled pid
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def watch(driver: int) -> None:
    noted: dict[int, int] = {}
    while True:
        readable, _, _ = select.select([sys.stdin.buffer], [], [], POLL_S)
        if readable and not os.read(sys.stdin.fileno(), 4096):
            break  # end of file: the driver is gone or done
        noted.update(ray_descendants(driver))
    time.sleep(POLL_S)  # a driver that shut Ray down gave its processes a moment to end by themselves
    kill_noted(noted)


class Watchdog:
    """Started before a local Ray instance; `stop()` after ray.shutdown (the driver's death does the same)."""

    def __init__(self) -> None:
        self._write_end: int | None = None
        self.process: subprocess.Popen | None = None
        if not sys.platform.startswith("linux"):
            return
        read_end, self._write_end = os.pipe()  # not inheritable: Ray's processes never hold the write end
        try:
            self.process = subprocess.Popen([sys.executable, "-S", os.path.abspath(__file__), str(os.getpid())],
                                            stdin=read_end, start_new_session=True,  # no Ctrl-C of the terminal
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            os.close(read_end)

    def stop(self) -> None:
        if self._write_end is not None:
            os.close(self._write_end)
            self._write_end = None


if __name__ == "__main__":
    watch(int(sys.argv[1]))
