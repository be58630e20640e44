"""What long work reports while it runs: a line said once, or a loop's count.

Library code (imports, exports, backups, generated data) takes a `Progress` and says what it does;
the CLI's implementation (`directory.cli.runner.Reporter`) adds the rate and the time left to a
loop's counts and prints on stderr. `QUIET` says nothing.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def __call__(self, message: str) -> None:
        """A line said once: what is being done, or what was found."""

    def count(self, doing: str, done: int, unit: str, total: int | None = None, note: str = "") -> None:
        """One step of a loop: `doing done [of total] unit[; note]`, e.g. ("sent", 4000, "rows", 10000)."""


class _Quiet:
    def __call__(self, message: str) -> None:
        pass

    def count(self, doing: str, done: int, unit: str, total: int | None = None, note: str = "") -> None:
        pass


QUIET: Progress = _Quiet()
