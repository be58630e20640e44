"""The errors of the directory package. Driver errors are translated where they enter.

    DirectoryError
    ├── ConfigError            a setting is missing or malformed
    ├── StoreError             the graph store cannot be reached or started
    │   ├── DataFolderInUse    another process holds the embedded store's data folder
    │   ├── StoreUnavailable   the store did not start or stopped answering
    │   └── StatementTimedOut  the store stopped a statement that ran past its time limit
    ├── NotFound               no such record *for this viewer* (hidden reads the same as missing)
    ├── Conflict               a write lost a race or broke a uniqueness rule
    ├── BadArgument            a query argument is malformed (names the argument)
    ├── ValidationFailed       input rows or fields are invalid; carries every problem found
    └── RestoreRefused         a restore would mix a backup into a store that already has records
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import NamedTuple


class Plural(NamedTuple):
    """A message whose words follow a number, the value named `by`: "1 problem", "3 problems". It is
    a msgid with a msgid_plural, and each language's catalogue gives it in as many forms as that
    language has (three in Russian, six in Arabic), chosen by the number."""

    one: str
    other: str
    by: str


Message = str | Plural  # a literal message, its values apart in `%(name)s` placeholders


def worded(message: Message, values: Mapping[str, object], numbers: Mapping[str, object] | None = None) -> str:
    """A message's English text, its values filled in; a plural's form follows `numbers` where the
    values are already written out as text."""
    if isinstance(message, Plural):
        return (message.one if (numbers or values).get(message.by) == 1 else message.other) % values
    return message % values if values else message


class DirectoryError(Exception):
    pass


class ConfigError(DirectoryError):
    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(f"{variable}: {reason}")
        self.variable = variable


class StoreError(DirectoryError):
    pass


class DataFolderInUse(StoreError):
    pass


class StoreUnavailable(StoreError):
    pass


class StatementTimedOut(StoreError):
    def __init__(self) -> None:
        super().__init__("the graph store stopped a statement that ran past its time limit; ask for less "
                         "(a narrower filter, fewer places, a smaller page)")


class FederationError(DirectoryError):
    """Anything refused or failed between directories: a document that is not canonical, a
    signature or root we do not trust, a page refused, a body that is not the record its entry
    names, a peer out of reach, our own key file unreadable. Each subclass lives by its check
    (`federation/`)."""


class NotFound(DirectoryError):
    def __init__(self, kind: str, record_id: str, argument: str | None = None) -> None:
        # The same words whether the record is missing or hidden from this viewer; `argument`, the
        # query argument that named it (a question may name several organisations), is the same too.
        super().__init__(f"no {kind} with id {record_id!r}")
        self.kind = kind
        self.record_id = record_id
        self.argument = argument


class Conflict(DirectoryError):
    pass


class BadArgument(DirectoryError):
    """A query argument is malformed: names the argument and says why. The reason is English; a
    literal reason, with its `values` in `%(name)s` placeholders, is also a msgid the pages
    translate (their catalogue extracts every literal one), so a person reads it in the page's
    language beside the field's own label."""

    def __init__(self, argument: str, reason: Message, /, **values: object) -> None:
        self.argument = argument
        self.template = reason
        self.values = values
        self.reason = worded(reason, values)
        super().__init__(f"{argument}: {self.reason}")


class RestoreRefused(DirectoryError):
    pass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input row: where it is and why."""

    line: int
    column: str
    reason: str
    record: str = ""
    source: str = ""
    template: Message = ""  # the reason before its values went in: a msgid the pages translate
    values: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, line: int, column: str, reason: Message, record: str = "", /, **values: object) -> Problem:
        """A problem whose literal `reason` holds its `values` in `%(name)s` placeholders, so that a
        page can say it in its own language; the English `reason` reads as before everywhere else."""
        return cls(line, column, worded(reason, values), record, template=reason,
                   values=tuple(values.items()))

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "input"
        if self.source:  # a problem of a file as a whole names the file alone
            where = f"{self.source}, {where}" if self.line else self.source
        rec = f" (record {self.record})" if self.record else ""
        column = f", column {self.column}" if self.column else ""  # a whole line's problem names no column
        return f"{where}{column}{rec}: {self.reason}"


class ValidationFailed(DirectoryError):
    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        # a problem with the file as a whole is about this source: a page listing several files' problems
        # names it too
        self.problems = [p if p.source else replace(p, source=source) for p in problems]
        shown = "\n".join(f"  {p}" for p in self.problems[:200])  # each naming its file, as docs/csv-hxl.md says
        more = f"\n  ... and {len(problems) - 200} more" if len(problems) > 200 else ""
        super().__init__(f"{source}: {len(problems)} problem(s), nothing was changed\n{shown}{more}")
