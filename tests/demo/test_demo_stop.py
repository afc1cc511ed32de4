"""`liftlab demo` stopped by a signal takes its server child with it: no orphan keeps serving."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def read_until(process: subprocess.Popen, text: str, seconds: float) -> str:
    """The demo's output up to ``text`` (fails after ``seconds`` or if the demo exits)."""
    output = b""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds
    while text.encode() not in output:
        assert time.monotonic() < deadline, output.decode()
        if selector.select(timeout=1):
            chunk = os.read(process.stdout.fileno(), 65536)
            assert chunk, output.decode()  # the demo exited
            output += chunk
    return output.decode()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stopped_demo_stops_its_server(tmp_path, stop):
    env = {**os.environ, "LIFTLAB_HOME": str(tmp_path / "home")}
    for inherited in ("EVENTSTORE_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(inherited, None)
    demo = subprocess.Popen(
        [sys.executable, "-m", "liftlab", "demo", "--users", "100", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    server = None
    try:
        read_until(demo, "Serving; press Ctrl-C to stop.", 300)
        (server,) = children(demo.pid)
        assert "serve" in Path(f"/proc/{server}/cmdline").read_text()

        demo.send_signal(stop)
        code = demo.wait(timeout=60)

        assert not alive(server)
        assert code == 128 + stop, demo.stdout.read().decode()
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        if server is not None and alive(server):  # the orphan this test is about
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server, signal.SIGKILL)
