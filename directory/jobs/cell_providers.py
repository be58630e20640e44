"""A gap cell's providers of one kind, as a list read only when asked.

Every cell of the full matrix lists the providers reaching it only through areas (the world, a
region): at 100k, about 640 of them in each of 7,047 cells, the same for every place in the same
areas. A cell refers to its areas' lists instead of copying them (those reaching it only through the
world, the same in every cell, and those through its other areas), less the few it counts as local
(`jobs.gap_cells`); most of the matrix is counted, not listed, and the weighing asks only which of
them are funded (`among`), worked out once per shared list.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import overload


class Providers(Sequence[str]):
    """A cell's providers of one kind by id, read as a list only when asked: those of its areas'
    shared lists (each the same for every cell it is shared by), each less those counted as local
    here (`less`, one list for each), and its own (sorted lists, all holding different providers).
    Most of a full matrix is counted, not listed: at 100k the 7,047 cells each held about 640 wide
    providers, and copying them into every cell was a quarter of the fold."""

    __slots__ = ("_ids", "_less", "_own", "_shared")

    def __init__(self, shared: list[list[str]], less: list[list[str]], own: list[list[str]]) -> None:
        self._shared, self._less, self._own = shared, less, own
        self._ids: list[str] | None = None

    def __len__(self) -> int:
        return sum(map(len, self._shared)) - sum(map(len, self._less)) + sum(map(len, self._own))

    def _list(self) -> list[str]:
        if self._ids is None:
            self._ids = _union([*map(_less, self._shared, self._less), *self._own])
        return self._ids

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        return self._list()[i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._list())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and not isinstance(other, str) and self._list() == list(other)

    __hash__ = None  # type: ignore[assignment]  # equal to a list, mutable as one is not: unhashable alike

    def __add__(self, other: Sequence[str]) -> list[str]:  # as a list's: `cell.present + cell.remote`
        return [*self._list(), *other]

    def __radd__(self, other: Sequence[str]) -> list[str]:
        return [*other, *self._list()]

    def __repr__(self) -> str:
        return repr(self._list())

    def among(self, ids: set[str], memo: dict[int, tuple[list[str], list[str]]]) -> list[str]:
        """Those of them in `ids`, by id. A shared list's are found once per `memo`, which belongs
        to this one set of `ids` (and holds each shared list it was asked about, so its key stays its own)."""
        found = []
        for shared, less in zip(self._shared, self._less, strict=True):
            seen = memo.get(id(shared))
            if seen is None:
                seen = memo[id(shared)] = (shared, [p for p in shared if p in ids])
            found.append(_less(seen[1], [p for p in less if p in ids]))
        return _union([*found, *([p for p in own if p in ids] for own in self._own)])


def among(providers: Sequence[str], ids: set[str], memo: dict[int, tuple[list[str], list[str]]]) -> list[str]:
    """The providers in `ids`, by id (`Providers.among` for a folded cell's)."""
    if isinstance(providers, Providers):
        return providers.among(ids, memo)
    return sorted(ids.intersection(providers))


def _less(ids: list[str], gone: list[str]) -> list[str]:
    """Sorted `ids` without `gone` (a few of them, sorted)."""
    if not gone:
        return ids
    out = list(ids)
    for p in reversed(gone):
        del out[bisect_left(out, p)]
    return out


def _union(lists: list[list[str]]) -> list[str]:
    """Sorted lists as one sorted list (a sort of sorted runs merges them)."""
    out = list(chain.from_iterable(lists))
    out.sort()
    return out
