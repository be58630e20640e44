"""What every verb shares: its parser with examples, opening the store for one piece of work, and
progress on stderr (never stdout, which may be piped into a file or another tool)."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from directory.base.config import Settings
from directory.base.terminal import out
from directory.store import Store, open_store


def verb(sub: Any, name: str, summary: str, *examples: str) -> argparse.ArgumentParser:
    """A verb's parser: `summary` in `directory --help` and atop its own help, `examples` below it."""
    return sub.add_parser(  # type: ignore[no-any-return]
        name, help=summary, description=textwrap.fill(summary, 78),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n" + "\n".join(f"  {example}" for example in examples))


def progress(message: str) -> None:
    out(message, file=sys.stderr, flush=True)


def run_with_store(settings: Settings, work: Callable[[Store], Awaitable[Any]]) -> Any:
    """Open the store (attaching to a running one, or starting the embedded one), do `work`, close."""
    async def run() -> Any:
        async with open_store(settings) as store:
            return await work(store)

    return asyncio.run(run())


# A count in a message: `sent 4000 of 10000 rows`, `exported 5000 organisations` (not `2024.csv`).
_COUNT = re.compile(r"(?<![\w.])(\d+)(?: of (\d+))? ([^\W\d_]+)")
_NUMBER = re.compile(r"(?<![\w.])\d+(?![\w.])")


@dataclass
class _Series:
    """The lines of one loop: the same message with other numbers."""

    origin: float  # when its work began: the moment of the message before its first line
    done: int = 0
    printed: float | None = None


class Progress:
    """A `progress(message)` callback that adds rate and time left, at most a line a second per loop.

    Library code reports plain messages (`importer`, `exports`, backups). Messages that differ only
    in their numbers are one loop, and a count in them (`sent 4000 of 10000 rows`) gets the rate
    since the loop began and, when the total is known, the time left: `sent 4000 of 10000 rows;
    812 rows/s, about 7.4 s left`. Several counts without a total add up (`restored 7000
    organisations and 2952 services`: 9952 records). A count without a total gets its rate from
    the loop's second line (its first could be a count said once, `skipped 3 links`), or from the
    first when the verb reports it with `count`; its time left can come from `position`, a (done,
    total) of something else, such as the characters of the file being read. A loop's lines after
    its first are printed at most once every `every` seconds (the last one, `N of N`, always); any
    other message is printed as it comes. Safe to call from worker threads.
    """

    def __init__(self, write: Callable[[str], None] = progress, every: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 position: Callable[[], tuple[int, int]] | None = None) -> None:
        self._write = write
        self._every = every
        self._clock = clock
        self._position = position
        self._started = self._last = clock()
        self._series: dict[str, _Series] = {}
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        self._report(message, loop=False)

    def count(self, doing: str, done: int, unit: str, total: int | None = None) -> None:
        """Report a loop's count, with its rate from the first line: `count("backed up", 30000, "lines")`."""
        self._report(f"{doing} {done}{'' if total is None else f' of {total}'} {unit}", loop=True)

    def _report(self, message: str, loop: bool) -> None:
        with self._lock:
            line = self._line(message, loop)
            if line is not None:
                self._write(line)

    def _line(self, message: str, loop: bool) -> str | None:
        now, before = self._clock(), self._last
        self._last = now
        found = _COUNT.findall(message)
        if not found:
            return message
        whole = next((c for c in found if c[1]), None)  # `N of M` counts; else all counts add up
        if whole is not None:
            done, total, unit = int(whole[0]), int(whole[1]), whole[2]
        else:
            done, total = sum(int(c[0]) for c in found), None
            unit = found[0][2] if len({c[2] for c in found}) == 1 else "records"
        key = _NUMBER.sub("#", message)
        series = self._series.get(key)
        first = series is None or done < series.done  # a smaller count: the loop began again (a retry)
        if series is None or first:
            series = self._series[key] = _Series(before)
        final = total is not None and done >= total
        series.done = done
        if not first and not final and series.printed is not None and now - series.printed < self._every:
            return None
        series.printed = now
        place = self._position() if self._position else None
        if total is None and first and not loop and not (place and 0 < place[0] < place[1]):
            return message  # a count said once (`skipped 3 links`), or the first line of a loop: no rate yet
        elapsed = max(now - series.origin, 1e-3)
        rate = done / elapsed
        said = f"{message}; {_rate(rate)} {unit}/s"
        if final:
            return f"{said} over {_duration(elapsed)}"
        if total is not None and rate > 0:
            return f"{said}, about {_duration((total - done) / rate)} left"
        if place and 0 < place[0] < place[1]:
            return f"{said}, about {_duration((now - self._started) * (place[1] - place[0]) / place[0])} left"
        return said


def _rate(per_second: float) -> str:
    return f"{per_second:.0f}" if per_second >= 10 else f"{per_second:.1f}"


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"
