"""Bulk work on millions of small rows: the cyclic garbage collector waits until it is done.

Reading and validating a 100k-organisation import builds millions of tuples and dicts; CPython's
cyclic collector then runs over and over, and finds nothing (rows hold no cycles). Measured on the
benchmark files: reading 2.8 times and validating 1.6 times faster with it paused. Reference
counting still frees memory as usual.

The pause is the process's, and bulk work overlaps across threads (the gap matrix folds one part of
its offers in a worker thread while the event loop reads the next): the collector runs again only
when the last of them is done, and only if it ran before the first began. The gap matrix keeps it
paused for the whole answer, its reads and weighing too: at 100k, its collections in between took
0.4-0.7 s of a matrix's 5-6 s of CPU, and the whole matrix paused was 0.4 s faster (interleaved runs).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

LONGEST_PAUSE = 30.0
"""Seconds overlapping bulk works may keep the collector paused before one of them, ending, runs it on
the young objects: under a steady stream of gap matrices the pause could otherwise never end, and
the cyclic garbage of every other request would pile up meanwhile."""

_lock = threading.Lock()
_pausing = 0  # bulk works under way
_resume = False  # whether the collector ran before the first of them
_since = 0.0  # when the pause began, or the collector last ran during it


@contextmanager
def paused_gc() -> Iterator[None]:
    global _pausing, _resume, _since
    with _lock:
        if _pausing == 0:
            _resume = gc.isenabled()
            gc.disable()
            _since = time.monotonic()
        _pausing += 1
    try:
        yield
    finally:
        collect = False
        with _lock:
            _pausing -= 1
            if _pausing == 0:
                if _resume:
                    gc.enable()
            elif _resume and time.monotonic() - _since > LONGEST_PAUSE:
                _since, collect = time.monotonic(), True
        if collect:  # others still at work: their young objects are walked once, the garbage between freed
            gc.collect(0)
