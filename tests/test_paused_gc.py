"""The collector paused for bulk work that overlaps across threads: it runs again only once the last is done."""

from __future__ import annotations

import gc
import threading
import time

import pytest

from directory.base import bulk
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


def test_pauses_overlapping_for_too_long_still_collect_the_garbage_between(monkeypatch: pytest.MonkeyPatch) -> None:
    # a steady stream of bulk works, each beginning before the last ends, never resumes the collector:
    # one ending after LONGEST_PAUSE runs it, so cycles made meanwhile by others are freed
    monkeypatch.setattr(bulk, "LONGEST_PAUSE", 0.0)
    collected: list[int] = []

    def noted(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collected.append(info["generation"])

    freed = threading.Event()

    class Cycle:
        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            freed.set()

    gc.callbacks.append(noted)
    try:
        with paused_gc():
            with paused_gc():
                Cycle()  # garbage only the collector can free
                time.sleep(0.01)
            assert collected == [0] and freed.is_set() and not gc.isenabled()  # the outer work goes on paused
    finally:
        gc.callbacks.remove(noted)
    assert gc.isenabled()
