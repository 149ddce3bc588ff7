"""Issue 19: a local Ray instance that `--engine ray` started does not outlive its driver, even SIGKILLed
(DashboardAgent and RuntimeEnvAgent used to keep running, ignoring SIGTERM; core/cluster/watchdog.py)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from maskwork.core.cluster import watchdog

pytest.importorskip("ray")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the watchdog reads /proc")

DRIVER = """
import time
from maskwork.core.cluster.session import PoolSettings, ray_session
with ray_session(PoolSettings(workers=1)):
    print("ready", flush=True)
    time.sleep(600)
"""


def _wait(predicate, seconds: float):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    return predicate()


def _agents(pid: int) -> dict[int, int]:
    found = watchdog.ray_descendants(pid)
    names = [open(f"/proc/{p}/cmdline", "rb").read() for p in found if os.path.exists(f"/proc/{p}")]
    return found if any(n.startswith(b"ray::DashboardAgent") for n in names) else {}


def test_a_sigkilled_driver_leaves_no_ray_process_behind(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    driver = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert driver.stdout.readline().strip() == b"ready"
        ray_processes = _wait(lambda: _agents(driver.pid), 60)
        assert ray_processes, "the local Ray instance did not start its agents"
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    alive = _wait(lambda: not [p for p, start in ray_processes.items() if watchdog._stat(p) is not None
                               and watchdog._stat(p)[1] == start], 30)
    left = {p: open(f"/proc/{p}/cmdline", "rb").read()[:40] for p in ray_processes if watchdog._stat(p)}
    watchdog.kill_noted(ray_processes)  # never leave them to the next test
    assert alive, f"Ray processes outlived the driver: {left}"
