"""A service's intake channels and open calls typed as rows of fields, not as a syntax to learn.

People from small local groups fill these in: a channel is how (a kind), where (the number, address,
handle) and who may see it; an open call is the day it opens, the day it closes (none: open-ended)
and a note. Each row's text is the item the store takes (`Intake`, `Window` in their text form), so
the store checks it as any edit, and a reason that names an item names its row instead.

Each field is named with its row's number (`intake_kind_2`), the number its legend shows: `forms.read`
drops empty values, so values repeated under one name would slip into another row. A row whose
value (for an open call, every field) is empty is no item: that is how a person removes one.
"""

from __future__ import annotations

from dataclasses import replace

from directory.domain.errors import Problem
from directory.domain.model import Visibility, Window
from directory.web.pages import forms

Row = dict[str, str]
FIELDS = {"intake": ("kind", "value", "visibility"), "windows": ("opens", "closes", "note")}
SPARE = {"intake": 2, "windows": 1}  # empty rows after the last, for a new item
MOST = 60  # rows read: a list holds at most 20 items (`fields.py`); a higher number is a hand-made form's
# how a store's reason about one item of a list begins: by its place in the list, or by its text
ITEM, TEXT = "item %(n)s ", "%(value)r "


def typed(form: dict[str, list[str]], name: str) -> list[Row]:
    """The rows of a list as typed, row n at n - 1 (a field or a row not sent is empty)."""
    found: dict[int, Row] = {}
    for key, values in form.items():
        head, _, number = key.rpartition("_")
        listed, _, field = head.partition("_")
        n = forms.digits(number, 2)
        if listed == name and field in FIELDS[name] and n and n <= MOST and values:
            found.setdefault(n, {})[field] = values[0]
    return [_row(name, found.get(n, {})) for n in range(1, max(found, default=0) + 1)]


def stored(name: str, text: str) -> list[Row]:
    """A record's items (one a line, in their text form, as `edit_form.shown` gives them) as rows."""
    rows = []
    for line in text.splitlines():
        if name == "intake":
            visibility, _, channel = line.partition(" ")
            kind, _, value = channel.partition(":")
            rows.append({"kind": kind, "value": value, "visibility": visibility})
        else:
            w = Window.of(line)
            rows.append({"opens": w.opens, "closes": w.closes, "note": w.note})
    return rows


def shown(name: str, rows: list[Row]) -> list[Row]:
    """The rows a form shows: these, then empty ones up to the list's spare rows."""
    trailing = next((i for i, row in enumerate(reversed(rows)) if item(name, row)), len(rows))
    return [*rows, *(_row(name, {}) for _ in range(max(0, SPARE[name] - trailing)))]


def item(name: str, row: Row) -> str:
    """The row as the item the store takes, or "" for a row that is no item."""
    if name == "intake":
        visibility = row["visibility"] or Visibility.NETWORK.value  # left out (by hand): the safe default
        return f"{visibility} {row['kind']}:{row['value']}" if row["value"] else ""
    if not any(row.values()):
        return ""
    return f"{row['opens']}/{row['closes']}" + (f" {row['note']}" if row["note"] else "")


def kept(name: str, rows: list[Row]) -> list[tuple[int, str]]:
    """Each item with the number of the row it came from."""
    return [(n, text) for n, row in enumerate(rows, 1) if (text := item(name, row))]


def named(name: str, rows: list[Row], problem: Problem) -> Problem:
    """A store's problem with this list, about the row it names (`"intake 2"`) when it names an item
    (by its place, or by its text for an open call), in plain words for a row left unfinished;
    otherwise the problem as it is."""
    items, values = kept(name, rows), dict(problem.values)
    template, at = problem.template or problem.reason, None
    if not isinstance(template, str):  # a plural names no item
        return problem
    if template.startswith(ITEM) and 0 < int(str(values.get("n", 0))) <= len(items):
        at, template = items[int(str(values["n"])) - 1][0], template.removeprefix(ITEM)
    elif template.startswith(TEXT):
        at = next((n for n, text in items if text == values.get("value")), None)
        template = template.removeprefix(TEXT)
    if at is None:
        return problem
    # the row and its cell the problem is about, which the page links to and marks (a Spanish walk: a
    # bad address led to the row's "How" and marked nothing): a kind not chosen, a day not given, or
    # else an intake's value and an open call's first day
    field = f"{name} {at}"
    if name == "intake" and not rows[at - 1]["kind"]:
        return Problem.of(0, f"{field} kind", "choose how to ask")
    if name == "windows" and not rows[at - 1]["opens"]:
        return Problem.of(0, f"{field} opens", "give the day it opens")
    cell = "value" if name == "intake" else "opens"
    return replace(problem, column=f"{field} {cell}", reason=template % values, template=template)


def _row(name: str, values: Row) -> Row:
    return {field: values.get(field, "") for field in FIELDS[name]}
