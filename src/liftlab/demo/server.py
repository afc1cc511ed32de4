"""Run ``liftlab serve`` as a child process for the demo, and wait until it answers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import requests

STARTUP_SECONDS = 60


class ServerStartError(Exception):
    """The child server died or never answered; the message points at its log."""


def free_port(host: str, preferred: int) -> int:
    """The preferred port if nothing listens there, else one the system picks."""
    for port in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise OSError(f"no free port on {host}")


def start_server(
    host: str,
    port: int,
    log_path: str,
    env: dict[str, str] | None = None,
    options: tuple[str, ...] = (),
) -> subprocess.Popen:
    """Start ``liftlab serve`` (on this LIFTLAB_HOME unless ``env`` says otherwise).

    Its output goes to ``log_path``; ``options`` are more ``liftlab serve`` arguments. It
    runs in a process group of its own, so that signalling the group reaches every process
    of the server (the durability tests SIGKILL it; ``stop_server`` sends SIGTERM).
    """
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed with it
    return subprocess.Popen(
        [sys.executable, "-m", "liftlab", "serve", "--host", host, "--port", str(port), *options],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ.copy() if env is None else env,
        start_new_session=True,
    )


def serve_on_free_port(
    env: dict[str, str], log_path: str, options: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, str]:
    """A started, answering ``liftlab serve`` on a free loopback port, and its base URL."""
    port = free_port("127.0.0.1", 0)
    base_url = f"http://127.0.0.1:{port}"
    process = start_server("127.0.0.1", port, log_path, env, options)
    wait_until_up(process, base_url, log_path)
    return process, base_url


def wait_until_up(process: subprocess.Popen, base_url: str, log_path: str) -> None:
    """Poll the API schema until the server answers; fail early if the child died.

    Either failure is a ``ServerStartError`` (the ``liftlab`` command prints it as one line).
    """
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"the server exited (code {process.returncode}); see {log_path}")
        try:
            if requests.get(base_url + "/api/schema/", timeout=5).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise ServerStartError(f"the server did not answer within {STARTUP_SECONDS} s; see {log_path}")


def stop_server(process: subprocess.Popen, seconds: float = 20) -> None:
    """SIGTERM to the server's process group, SIGKILL if it is not gone within ``seconds``."""
    for sent in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):  # the group is gone already
            os.killpg(process.pid, sent)
        try:
            process.wait(timeout=seconds)
            return
        except subprocess.TimeoutExpired:
            continue
    process.wait()


class Stopped(Exception):
    """The process was asked to stop (SIGTERM, SIGHUP): raised so that cleanups run."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def stop_signals_raise() -> Iterator[None]:
    """Within the block SIGTERM and SIGHUP raise ``Stopped`` (by default they end Python
    without running ``finally`` blocks, which would leave a started server running)."""

    raised = False

    def stop(signum, frame) -> None:
        nonlocal raised
        if not raised:  # once: a second signal must not interrupt the cleanup of the first
            raised = True
            raise Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
