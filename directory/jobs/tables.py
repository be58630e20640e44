"""One answer, two shapes: a table a person reads in a terminal, and an HXL-tagged CSV a tool reads.

Both come from the same `Table`, so the columns of the printed answer and of the export can't drift.
The CSV is meant for spreadsheets: every cell goes through `hxl.neutralise`, like the exports, so a
record's name such as `=HYPERLINK(...)` is written as text, never as a formula.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from directory.formats.hxl import neutralise


@dataclass
class Column:
    header: str
    tag: str  # HXL hashtag with attributes
    width: int = 0  # 0: as wide as the widest value; otherwise values are cut to this width when printed
    printed: bool = True  # False: in the CSV only (ids a person does not need to read)


@dataclass
class Table:
    columns: list[Column]
    rows: list[list[object]] = field(default_factory=list)

    def add(self, *values: object) -> None:
        if len(values) != len(self.columns):
            raise ValueError(f"a row of {len(values)} values for {len(self.columns)} columns")
        self.rows.append(list(values))

    def render(self) -> str:
        """Fixed-width text; cut values end in an ellipsis, numbers are right-aligned."""
        shown = [i for i, c in enumerate(self.columns) if c.printed]
        columns = [self.columns[i] for i in shown]
        raws = [[row[i] for i in shown] for row in self.rows]
        cells = [[_text(v) for v in row] for row in raws]
        widths = []
        for i, c in enumerate(columns):
            widest = max([len(c.header), *(len(r[i]) for r in cells)])
            widths.append(min(widest, c.width) if c.width else widest)
        lines = ["  ".join(c.header.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
                 "  ".join("-" * w for w in widths)]
        for row, raw in zip(cells, raws, strict=True):
            parts = []
            for text, value, w in zip(row, raw, widths, strict=True):
                text = text if len(text) <= w else text[:max(0, w - 1)] + "…"
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
            writer.writerow([neutralise(_text(v)) for v in row])
        return out.getvalue()


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}".replace(",", "")
    if isinstance(value, list | tuple):
        return "; ".join(_text(v) for v in value)
    return str(value)
