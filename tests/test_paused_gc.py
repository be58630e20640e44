"""The collector paused for bulk work that overlaps across threads: it runs again only once the last is done."""

from __future__ import annotations

import gc
import threading

from directory.base.bulk import paused_gc


def test_overlapping_pauses_in_two_threads_resume_the_collector_only_when_both_are_done() -> None:
    assert gc.isenabled()
    inside, leave = threading.Event(), threading.Event()
    seen: list[bool] = []

    def other() -> None:
        with paused_gc():
            inside.set()
            leave.wait(5)
            seen.append(gc.isenabled())

    worker = threading.Thread(target=other)
    with paused_gc():
        worker.start()
        inside.wait(5)
    # this thread's pause ended first: the other's work still goes on without the collector
    assert not gc.isenabled()
    leave.set()
    worker.join(5)
    assert seen == [False] and gc.isenabled()


def test_a_collector_paused_before_stays_paused() -> None:
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
