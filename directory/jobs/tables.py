"""One answer, two shapes: a table a person reads in a terminal, and an HXL-tagged CSV a tool reads.

Both come from the same `Table`, so the columns of the printed answer and of the export can't drift.
The CSV is meant for spreadsheets: every cell goes through `hxl.neutralise`, like the exports, so a
record's name such as `=HYPERLINK(...)` is written as text, never as a formula. It always holds every
column and every character; the printed table fits the terminal instead: the columns on the right
are shortened first (with an ellipsis), numbers and the columns marked `keep` (the name that answers
the question: the provider, the partner, the place) never.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import sys
from dataclasses import dataclass, field

from directory.base.terminal import safe
from directory.domain.model import Organisation, published_by
from directory.domain.viewer import Viewer
from directory.formats.hxl import neutralise
from directory.store import Store

FALLBACK_WIDTH = 100  # a terminal whose width cannot be read
NARROWEST = 6  # a shortened column stays as wide as its header, and at least this wide


@dataclass
class Column:
    header: str
    tag: str  # HXL hashtag with attributes
    width: int = 0  # 0: as wide as the widest value; otherwise values are cut to this width when printed
    printed: bool = True  # False: in the CSV only (ids a person does not need to read)
    keep: bool = False  # never cut when printed, whatever the terminal's width (the name that matters)


@dataclass
class Table:
    columns: list[Column]
    rows: list[list[object]] = field(default_factory=list)
    total: int | None = None  # how many rows the whole answer has, when only the first are kept
    notes: list[str] = field(default_factory=list)  # what the answer rests on, said under it (not in the CSV)

    def add(self, *values: object) -> None:
        if len(values) != len(self.columns):
            raise ValueError(f"a row of {len(values)} values for {len(self.columns)} columns")
        self.rows.append(list(values))

    def keep(self, *headers: str) -> Table:
        """Mark the columns that are never cut when printed."""
        for header in headers:
            column = next((c for c in self.columns if c.header == header), None)
            if column is None:
                raise ValueError(f"no column {header!r}")
            column.keep = True
        return self

    def render(self, width: int | None = None) -> str:
        """Fixed-width text at most `width` characters wide (the terminal's, by default) when it can be;
        to a pipe or a file, with no width given, every value whole.

        Values are cut to their column's `width`, then columns are shortened from the right until the
        line fits; cut values end in an ellipsis. Numbers and `keep` columns are never cut (a line
        that still does not fit runs over). Numbers are right-aligned. Control characters are escaped.
        """
        whole = width is None and _not_a_terminal()
        if width is None:
            width = sys.maxsize if whole else shutil.get_terminal_size((FALLBACK_WIDTH, 24)).columns
        shown = [i for i, c in enumerate(self.columns) if c.printed]
        columns = [self.columns[i] for i in shown]
        raws = [[row[i] for i in shown] for row in self.rows]
        cells = [[safe(_text(v)) for v in row] for row in raws]
        fixed = [c.keep or all(isinstance(r[i], int | float | None) for r in raws) for i, c in enumerate(columns)]
        widths, narrowest = [], []
        for i, c in enumerate(columns):
            widest = max([len(c.header), *(len(r[i]) for r in cells)])
            widths.append(widest if fixed[i] or not c.width or whole else min(widest, c.width))
            narrowest.append(widths[i] if fixed[i] else min(widths[i], max(len(c.header), NARROWEST)))
        over = sum(widths) + 2 * (len(widths) - 1) - width
        for i in reversed(range(len(widths))):  # the columns on the right matter least
            if over <= 0:
                break
            less = min(over, widths[i] - narrowest[i])
            widths[i] -= less
            over -= less
        lines = ["  ".join(_cut(c.header, w).ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
                 "  ".join("-" * w for w in widths)]
        for row, raw in zip(cells, raws, strict=True):
            parts = []
            for text, value, w in zip(row, raw, widths, strict=True):
                text = _cut(text, w)
                parts.append(text.rjust(w) if isinstance(value, int | float) else text.ljust(w))
            lines.append("  ".join(parts).rstrip())
        if not self.rows:
            lines.append("(none)")
        return "\n".join(lines) + "\n"

    def csv(self) -> str:
        """A header row, the HXL hashtag row, then the values, as HXL tools expect."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([neutralise(c.header) for c in self.columns])
        writer.writerow([neutralise(c.tag) for c in self.columns])
        for row in self.rows:
            writer.writerow([neutralise(_text(v, exact=True)) for v in row])
        return out.getvalue()


def _not_a_terminal() -> bool:
    """Output to a pipe or a file (a log, a cron mail) with no width asked for (`COLUMNS`): every
    value is printed whole, however long the line (an operator's walk read `revok…` in a log)."""
    return "COLUMNS" not in os.environ and not sys.stdout.isatty()


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(0, width - 1)] + "…"


def _text(value: object, exact: bool = False) -> str:
    """A value as a table's cell says it: a number to four figures on a terminal; in a CSV file as
    the answer holds it, as GraphQL and the pages give it (a distance of 6632.6 km, not 6633)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if exact:
            return f"{value:.15g}"
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}".replace(",", "")
    if isinstance(value, list | tuple):
        return "; ".join(_text(v, exact) for v in value)
    return str(value)


async def organisation_names(store: Store, viewer: Viewer, ids: set[str]) -> dict[str, str]:
    """The names of these organisations that the viewer may see, for a table naming them."""
    found = await store.organisations_by_id(viewer, sorted(ids))
    return {i: named(store, o) for i, o in found.items()}


def named(store: Store, organisation: Organisation) -> str:
    """An organisation's name as an answer shows it: a peer's followed by its directory, since a peer
    may give its record the very name of one of ours (a copy sent to pull answers its way)."""
    publisher = published_by(organisation, store.directory_id)
    return organisation.name if publisher == store.directory_id else f"{organisation.name} · {publisher}"
