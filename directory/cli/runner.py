"""What every verb shares: its parser with examples, opening the store for one piece of work, and
progress on stderr (never stdout, which may be piped into a file or another tool)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from directory.base.config import Settings
from directory.base.terminal import out
from directory.domain.ids import own_id as own_id  # the one reading of a bare id, here for the verbs
from directory.jobs import questions
from directory.store import Store, open_store


def verb(sub: Any, name: str, summary: str, *examples: str) -> argparse.ArgumentParser:
    """A verb's parser: `summary` in `directory --help` and atop its own help, `examples` below it."""
    return sub.add_parser(  # type: ignore[no-any-return]
        name, help=summary, description=textwrap.fill(summary, 78),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n" + "\n".join(f"  {example}" for example in examples))


# the flags naming an organisation: a member's (`--as`), a token's (`--org`), the jobs' (`--from`, ...)
ORGANISATION_FLAGS = ("as_org", "org", *sorted(questions.ORGANISATION_OPTIONS))


def own_ids(args: argparse.Namespace, directory_id: str) -> None:
    """Each organisation flag given read by `own_id`, before any verb sees it."""
    for name in ORGANISATION_FLAGS:
        value = getattr(args, name, None)
        if isinstance(value, str):
            setattr(args, name, own_id(value.strip(), directory_id))


def progress(message: str) -> None:
    out(message, file=sys.stderr, flush=True)


def run_with_store(settings: Settings, work: Callable[[Store], Awaitable[Any]]) -> Any:
    """Open the store (attaching to a running one, or starting the embedded one), do `work`, close."""
    async def run() -> Any:
        async with open_store(settings) as store:
            return await work(store)

    return asyncio.run(run())


@dataclass
class _Loop:
    origin: float  # when its work began: the moment of the line before its first count
    done: int = 0
    printed: float | None = None


class Reporter:
    """`Progress` on stderr: lines as they come, and each loop's counts (`count`) with the rate since
    the loop began and, when the total is known, the time left, at most one line every `every`
    seconds (the last of a loop, N of N, always). Without a total, the time left can come from
    `position`, a (done, total) of something else, such as the characters of the file being read.
    Safe to call from worker threads (an import validates in one)."""

    def __init__(self, write: Callable[[str], None] = progress, every: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 position: Callable[[], tuple[int, int]] | None = None) -> None:
        self._write = write
        self._every = every
        self._clock = clock
        self._position = position
        self._started = self._last = clock()
        self._loops: dict[tuple[str, str], _Loop] = {}
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        with self._lock:
            self._last = self._clock()
            self._write(message)

    def count(self, doing: str, done: int, unit: str, total: int | None = None, note: str = "") -> None:
        with self._lock:
            now, before = self._clock(), self._last
            self._last = now
            loop = self._loops.get((doing, unit))
            if loop is None or done < loop.done:  # a smaller count: the loop began again (a retried transaction)
                loop = self._loops[(doing, unit)] = _Loop(before)
            final = total is not None and done >= total
            loop.done = done
            if not final and loop.printed is not None and now - loop.printed < self._every:
                return
            loop.printed = now
            elapsed = max(now - loop.origin, 1e-3)
            rate = done / elapsed
            said = f"{doing} {done}{'' if total is None else f' of {total}'} {unit}{f' {note}' if note else ''}; " \
                   f"{_rate(rate)} {unit}/s"
            place = self._position() if self._position else None
            if final:
                said += f" over {_duration(elapsed)}"
            elif total is not None and rate > 0:
                said += f", about {_duration((total - done) / rate)} left"
            elif place and 0 < place[0] < place[1]:
                said += f", about {_duration((now - self._started) * (place[1] - place[0]) / place[0])} left"
            self._write(said)


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
