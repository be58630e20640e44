"""A column an import's file does not have keeps what the directory holds for that field.

Imports upsert whole records by id, and a field the row does not give was read as empty, or as its
kind's default: a steward correcting names from a file of ids and names (a steward's walk) emptied
every description, language, contact channel and point it did not list, and a restricted
organisation's visibility fell back to its kind's default, which for most kinds is public. So
before a file is checked, each row naming a record the directory holds is given, for every field
whose column the whole file lacks, the value held, as an export would write it (`hxl`); a cell left
empty in a column the file has still empties its field, but for the choices whose default may show
more (`KEPT`: who may see it, the precision, the kind), which keep what is held, as the edit forms
keep them; an HSDS file, which says nothing of them unless ours wrote it, likewise. Read as the
importing viewer sees the records, through the store's door.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from directory.domain.ids import own_id
from directory.domain.validation import Row
from directory.domain.viewer import Viewer
from directory.formats import hxl
from directory.formats.parsed import Parsed
from directory.store import Store

READ_AT_ONCE = 1000  # ids a read takes
KEPT = ("visibility", "precision", "kind")  # given empty, kept as held

_CELLS: dict[str, Callable[[Any], dict[str, object]]] = {
    "organisations": hxl.organisation_cells, "services": hxl.service_cells}


async def keep_what_files_leave_out(store: Store, viewer: Viewer, inputs: list[Parsed]) -> int:
    """Fill in, row by row, the fields each file lacks a column for from the records held (see the
    module docstring); how many rows were given some."""
    filled = 0
    for parsed in inputs:
        if parsed.kind not in _CELLS or not parsed.rows:
            continue
        given = set().union(*(row.fields for row in parsed.rows))
        lacking = sorted(set(hxl.KINDS[parsed.kind].values()) - given - {"vetted_by"})  # links, written apart
        if not lacking and not any(_empty(row, name) for row in parsed.rows for name in KEPT):
            continue
        ids = {row.line: own_id(str(row.fields["id"][1]).strip(), store.directory_id)
               for row in parsed.rows if "id" in row.fields}
        held = await _held(store, viewer, parsed.kind, sorted(set(ids.values())))
        for row in parsed.rows:
            record = held.get(ids.get(row.line, ""))
            if record is None:
                continue
            cells = _CELLS[parsed.kind](record)
            names = [*lacking, *(name for name in KEPT if _empty(row, name))]
            row.fields.update({name: (row.column(name), _text(cells[name])) for name in names if name in cells})
            filled += 1
    return filled


async def _held(store: Store, viewer: Viewer, kind: str, ids: list[str]) -> Mapping[str, Any]:
    read: Callable[[Viewer, list[str]], Awaitable[Mapping[str, Any]]] = (
        store.organisations_by_id if kind == "organisations" else store.services_by_id)
    out: dict[str, Any] = {}
    for start in range(0, len(ids), READ_AT_ONCE):
        out.update(await read(viewer, ids[start:start + READ_AT_ONCE]))
    return out


def _empty(row: Row, name: str) -> bool:
    """Whether the row gives the field, but empty (a CSV cell left empty, an HSDS file silent)."""
    return name in row.fields and str(row.fields[name][1] or "").strip() == ""


def _text(value: object) -> str:
    return "" if value is None else str(value)
