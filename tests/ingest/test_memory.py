"""The collector pause around batches: counted across threads, and leaving gc as found."""

from __future__ import annotations

import gc
import threading

from liftlab.ingest.memory import collector_paused


def test_paused_while_any_batch_is_inside_and_resumed_after_the_last() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_overlapping_batches_on_threads_leave_it_enabled() -> None:
    inside, release = threading.Barrier(3), threading.Event()

    def batch() -> None:
        with collector_paused():
            inside.wait()
            release.wait()

    threads = [threading.Thread(target=batch) for _ in range(2)]
    for thread in threads:
        thread.start()
    inside.wait()
    assert not gc.isenabled()
    release.set()
    for thread in threads:
        thread.join()
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
