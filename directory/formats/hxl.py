"""CSV files whose columns are labelled by an HXL hashtag row (https://hxlstandard.org).

Three kinds of file, told apart by their hashtags: organisations (`#org+id` with `#org+name`),
services (`#service+id`) and links between organisations (`#rel+type`). The full list of tags is
in `docs/csv-hxl.md`; `directory/demo/*.csv` are working samples. Tags are matched with their
attributes in any order; a column with an unknown tag is an error, so a typo never drops data.

These files are meant for spreadsheets, which run a cell as a formula when it starts with `=`, `+`,
`-`, `@`, a tab, a carriage return or a NUL (OWASP "CSV Injection"; ASVS 5.0 V1.2.10), also after
leading spaces and in the full-width and small forms (U+FF1D, U+FE62...). Every CSV cell we write goes
through `neutralise`, which puts an apostrophe in front of such a cell (`'=HYPERLINK(...)`): the
spreadsheet shows it as text and the text stays readable. A plain number (`-5`, `+3.5`, `-1e-05`)
is left alone so numeric columns stay numeric. Reading undoes it (`restore`): a cell that starts
with an apostrophe followed by such a start loses that one apostrophe, so an export imports back
to the same records. A text that itself starts with apostrophes and then such a start gets one
more apostrophe on writing, so it too comes back as it was.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import TextIO

from directory.base.bulk import paused_gc
from directory.domain.errors import Plural, Problem, ValidationFailed
from directory.domain.model import Link, Organisation, Presence, Service, Verification
from directory.domain.validation import NO_COLUMNS, SEP, Row, unambiguous
from directory.formats.parsed import Parsed

MAX_BYTES = 256 * 1024 * 1024
MAX_FIELD = 20_000

ORGANISATION_TAGS = {
    "#org+id": "id", "#org+name": "name", "#org+alt+name": "aliases", "#org+type": "kind",
    "#description": "description", "#org+url": "website", "#org+lang": "languages",
    "#channel+contact": "contact_channels", "#org+code": "identifiers", "#org+vettedby": "vetted_by",
    "#country+code": "country", "#adm1+code": "subdivision", "#geo+lat": "latitude", "#geo+lon": "longitude",
    "#geo+precision": "precision", "#meta+visibility": "visibility", "#meta+source": "source",
    "#date+verified": "verified_on", "#meta+verifiedby": "verified_by", "#meta+verifiedsource": "verified_source",
}
SERVICE_TAGS = {
    "#service+id": "id", "#org+id": "organisation", "#service+name": "name", "#sector": "type",
    "#description": "description", "#service+eligibility": "eligibility", "#capacity": "capacity",
    "#capacity+unit": "capacity_unit", "#capacity+date": "capacity_confirmed",
    "#service+response_hours": "response_hours", "#service+lang": "languages", "#service+cost": "cost",
    "#status": "status", "#country+code+present": "present_in", "#country+code+remote": "reaches",
    "#group+code": "groups", "#meta+visibility": "visibility",
    "#service+purpose": "purposes", "#service+process": "application_process", "#contact+intake": "intake",
    "#service+hours": "hours", "#date+window": "windows", "#service+lang+intake": "intake_languages",
    "#service+exclusions": "exclusions", "#status+date": "status_since", "#status+reason": "status_reason",
    "#status+source": "status_source", "#country+code+origin": "origins", "#date+verified": "verified_on",
    "#meta+verifiedby": "verified_by", "#meta+verifiedsource": "verified_source",
}
LINK_TAGS = {
    "#rel+type": "type", "#org+id+source": "source", "#org+id+target": "target", "#meta+id": "key",
    "#meta+visibility": "visibility", "#rel+response_hours": "response_hours", "#rel+formal": "formal",
    "#rel+trust": "trust", "#date+confirmed": "confirmed", "#value": "amount", "#currency": "currency",
    "#date+year": "year", "#rel+purpose": "purpose",
}
INDICATOR_TAGS = {
    "#country+code": "country", "#adm1+code": "subdivision", "#indicator+name": "name",
    "#indicator+value": "value", "#date+year": "year", "#meta+source": "source", "#meta+visibility": "visibility",
}
KINDS = {"organisations": ORGANISATION_TAGS, "services": SERVICE_TAGS, "links": LINK_TAGS,
         "indicators": INDICATOR_TAGS}

# The header row an export writes above the hashtag row, by field: for people, never read back.
_VERIFIED_LABELS = {"verified_on": "Verified on", "verified_by": "Verified by", "verified_source": "Verified against"}
LABELS = {
    "organisations": {
        "id": "Id", "name": "Name", "aliases": "Also known as", "kind": "Kind", "description": "Description",
        "website": "Website", "languages": "Languages", "contact_channels": "Secure contact",
        "identifiers": "Identifiers", "vetted_by": "Vetted by", "country": "Country", "subdivision": "Subdivision",
        "latitude": "Latitude", "longitude": "Longitude", "precision": "Location precision",
        "visibility": "Visibility", "source": "Source", **_VERIFIED_LABELS},
    "services": {
        "id": "Id", "organisation": "Organisation", "name": "Name", "type": "Service type",
        "description": "Description", "eligibility": "Eligibility", "capacity": "Capacity",
        "capacity_unit": "Capacity unit", "capacity_confirmed": "Capacity confirmed",
        "response_hours": "Response time (hours)", "languages": "Languages", "cost": "Cost", "status": "Status",
        "present_in": "Present in", "reaches": "Reaches remotely", "groups": "Defender groups",
        "visibility": "Visibility", "purposes": "Pays for", "application_process": "How to ask",
        "intake": "Intake channels", "hours": "Hours", "windows": "Intake windows",
        "intake_languages": "Intake languages", "exclusions": "Exclusions", "status_since": "Status since",
        "status_reason": "Status reason", "status_source": "Status source", "origins": "Defenders from",
        **_VERIFIED_LABELS},
    "links": {
        "type": "Type", "source": "From", "target": "To", "key": "Key", "visibility": "Visibility",
        "response_hours": "Response time (hours)", "formal": "Formal", "trust": "Trust", "confirmed": "Confirmed",
        "amount": "Amount", "currency": "Currency", "year": "Year", "purpose": "Purpose"},
    "indicators": {
        "country": "Country", "subdivision": "Subdivision", "name": "Indicator", "value": "Value", "year": "Year",
        "source": "Source", "visibility": "Visibility"},
}


def canonical(tag: str) -> str:
    """`#Org +name +alt` and `#org+alt+name` are the same tag."""
    parts = [p.strip().lower() for p in tag.strip().split("+")]
    return "+".join([parts[0], *sorted(p for p in parts[1:] if p)])


_CANONICAL = {kind: {canonical(t): f for t, f in tags.items()} for kind, tags in KINDS.items()}
# Two hashtags of a kind that are one set of attributes would read into one field: never.
assert all(len(_CANONICAL[kind]) == len(tags) for kind, tags in KINDS.items()), "two hashtags collide"
assert all(set(tags.values()) <= LABELS[kind].keys() for kind, tags in KINDS.items()), "a field has no label"


def _decode(data: bytes, source: str) -> str:
    if len(data) > MAX_BYTES:
        raise ValidationFailed(source, [Problem.of(
            0, "file", Plural("is %(size)s bytes, at most %(most)s is read",
                              "is %(size)s bytes, at most %(most)s are read", "most"), size=len(data), most=MAX_BYTES)])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValidationFailed(source, [Problem.of(line, "file", "is not UTF-8 text (byte %(at)s); save it as UTF-8 "
                                                                  "and try again", at=exc.start)]) from exc


def _is_hashtag_row(cells: list[str]) -> bool:
    filled = [c.strip() for c in cells if c.strip()]
    return bool(filled) and all(c.startswith("#") for c in filled)


def detect(tags: set[str]) -> str | None:
    if "#indicator+value" in tags:
        return "indicators"
    if "#rel+type" in tags:
        return "links"
    if "#service+id" in tags:
        return "services"
    if "#org+id" in tags:
        return "organisations"
    return None


def read(data: bytes, source: str, kind: str | None = None) -> tuple[str, list[Row]]:
    """The kind of file and its rows. Raises ValidationFailed listing every problem of the file itself."""
    found = parse(data, source, kind)
    if found.problems:
        raise ValidationFailed(source, found.problems)
    return found.kind, found.rows


def parse(data: bytes, source: str, kind: str | None = None) -> Parsed:
    """The kind of file (empty when it cannot be told), every row that could be read, and the problems
    of the file itself, raised by none: an import lists them beside every other file's and row's."""
    with paused_gc():
        try:
            return _read(data, source, kind)
        except ValidationFailed as failed:  # nothing of the file could be read
            return Parsed(source, kind or "", [], failed.problems)


# A column's hashtag by field, as docs/csv-hxl.md writes it: how a problem names a column the file lacks.
_COLUMNS = {kind: MappingProxyType({f: t for t, f in tags.items()}) for kind, tags in KINDS.items()}


def _read(data: bytes, source: str, kind: str | None) -> Parsed:
    text = _decode(data, source)
    csv.field_size_limit(MAX_FIELD * 4)
    reader = csv.reader(io.StringIO(text, newline=""))
    tags: list[str] | None = None
    columns: list[tuple[int, str, str]] = []  # cell index, field, hashtag as written
    rows: list[Row] = []
    problems: list[Problem] = []
    named: Mapping[str, str] = NO_COLUMNS
    untagged: set[int] = set()  # cells under an empty hashtag
    try:
        for cells in reader:
            line = reader.line_num
            if tags is None:
                if _is_hashtag_row(cells):
                    tags = [canonical(c) if c.strip() else "" for c in cells]
                    kind = kind or detect(set(tags))
                    if kind not in KINDS:
                        raise ValidationFailed(source, [Problem.of(line, "hashtag row", "cannot tell the kind of file: "
                                                        "it needs #org+id, #service+id, #rel+type or "
                                                        "#indicator+value")])
                    mapping, named = _CANONICAL[kind], _COLUMNS[kind]
                    untagged = {i for i, tag in enumerate(tags) if not tag}
                    for i, tag in enumerate(tags):
                        if tag and tag not in mapping:
                            problems.append(Problem.of(line, cells[i].strip(), "is not a hashtag of %(kind)s files",
                                                       kind=kind))
                        elif tag:
                            columns.append((i, mapping[tag], cells[i].strip()))
                    for twice in sorted({c.strip() for i, c in enumerate(cells)
                                         if tags[i] and tags.index(tags[i]) != i}):
                        problems.append(Problem.of(line, twice, "appears twice: give one column this hashtag, its "
                                                                "values separated by |"))
                elif line > 25:
                    break
                continue
            if not "".join(cells).strip():
                continue
            if len(cells) > len(tags):
                problems.append(Problem.of(line, "row", Plural("has %(cells)s cell, the hashtag row has %(tags)s",
                                                               "has %(cells)s cells, the hashtag row has %(tags)s",
                                                               "cells"), cells=len(cells), tags=len(tags)))
                continue
            width = len(cells)
            for i in sorted(untagged):  # a value under no hashtag would be left out without a word: said once a column
                if i < width and cells[i].strip():
                    problems.append(Problem.of(line, str(i + 1), "holds values under no hashtag, which an "
                                                "import would leave out: give it a hashtag of these files, or "
                                                "take the column out"))
                    untagged.discard(i)
            rows.append(Row(line, {f: (tag, restore(cells[i]) if cells[i][:1] == "'" else cells[i])
                                   for i, f, tag in columns if i < width}, columns=named))
    except csv.Error as exc:
        problems.append(Problem.of(reader.line_num, "row", "is not valid CSV: %(why)s", why=str(exc)))
    if tags is None:
        raise ValidationFailed(source, [Problem.of(0, "hashtag row", "no HXL hashtag row (such as #org+id,#org+name) "
                                                                  "in the first 25 lines")])
    assert kind is not None
    # rows a bad row or column leaves are read on: their own problems are listed too
    return Parsed(source, kind, rows, [replace(p, source=source) for p in problems])


# --- spreadsheet formulas -----------------------------------------------------------------------

_FORMULA = frozenset("=+-@\t\r\0")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _starts_formula(text: str) -> bool:
    """Whether a spreadsheet could take `text` for a formula: looks at its first character and,
    when it starts with whitespace, at every character up to the first that is not."""
    if not text or text[0].isalnum():
        return False
    lead = text[: len(text) - len(text.lstrip()) + 1]
    return any(ch in _FORMULA or unicodedata.normalize("NFKC", ch) in _FORMULA for ch in lead)


def neutralise(value: object) -> str:
    """The text of one CSV cell, with an apostrophe in front when a spreadsheet would run it as a
    formula (plain numbers such as `-5` excepted). `restore` undoes it."""
    text = "" if value is None else str(value)
    if _starts_formula(text.lstrip("'")) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def restore(cell: str) -> str:
    """A cell as it was before `neutralise`: one leading apostrophe less when it guards a formula start."""
    if cell[:1] == "'" and _starts_formula(cell.lstrip("'")):
        return cell[1:]
    return cell


# --- writing ------------------------------------------------------------------------------------


def _cells(values: list[str]) -> str:
    return SEP.join(values)


def organisation_cells(org: Organisation) -> dict[str, object]:
    loc = org.location
    cells: dict[str, object] = {
        "id": org.id, "name": org.name, "aliases": _cells(org.aliases), "kind": org.kind,
        "description": org.description, "website": org.website, "languages": _cells(org.languages),
        "contact_channels": _cells(org.contact_channels), "identifiers": _cells(org.identifiers),
        "visibility": org.visibility.value, "source": org.source, **_verified(org.verified),
    }
    if loc:
        cells.update(country=loc.country or "", subdivision=loc.subdivision or "", latitude=loc.latitude,
                     longitude=loc.longitude, precision=loc.precision.value)
    return cells


def _verified(v: Verification) -> dict[str, object]:
    return {"verified_on": v.on, "verified_by": v.by, "verified_source": v.source}


def service_cells(svc: Service) -> dict[str, object]:
    """A service's cells, as its reader may see it: the store has already left out the intake
    channels (`Service.intake`) whose own visibility the viewer does not reach."""
    return {
        "id": svc.id, "organisation": svc.organisation, "name": svc.name, "type": svc.type,
        "description": svc.description, "eligibility": svc.eligibility, "capacity": svc.capacity,
        "capacity_unit": svc.capacity_unit, "capacity_confirmed": svc.capacity_confirmed,
        "response_hours": svc.response_hours, "languages": _cells(svc.languages), "cost": svc.cost,
        "status": svc.status.value, "groups": _cells(svc.groups), "visibility": svc.visibility.value,
        "present_in": _cells([c.place for c in svc.coverage if c.presence is Presence.PRESENT]),
        "reaches": _cells([c.place for c in svc.coverage if c.presence is Presence.REMOTE]),
        "purposes": _cells(svc.purposes), "application_process": svc.application_process,
        "intake": _cells([str(i) for i in svc.intake]), "hours": svc.hours,
        "windows": _cells([str(w) for w in svc.windows]), "intake_languages": _cells(svc.intake_languages),
        "exclusions": svc.exclusions, "status_since": svc.status_since, "status_reason": svc.status_reason,
        "status_source": svc.status_source, "origins": _cells(svc.origins), **_verified(svc.verified),
    }


def link_cells(link: Link) -> dict[str, object]:
    p = link.properties
    formal = p.get("formal")
    return {
        "type": link.type, "source": link.source, "target": link.target, "key": link.key,
        "visibility": link.visibility.value, "response_hours": p.get("response_hours"),
        "formal": "" if formal is None else "yes" if formal else "no", "trust": p.get("trust"),
        "confirmed": p.get("confirmed"), "amount": unambiguous(p.get("amount")), "currency": p.get("currency"),
        "year": p.get("year"), "purpose": p.get("purpose"),
    }


class Writer:
    """Writes one kind of HXL CSV file: a row of labels (`LABELS`), the hashtag row, then records.
    Every cell goes through `neutralise`."""

    def __init__(self, kind: str, stream: TextIO) -> None:
        self.columns = [(tag, field) for tag, field in KINDS[kind].items() if field != "vetted_by"]
        self.csv = csv.writer(stream)
        self.csv.writerow([neutralise(LABELS[kind][field]) for _, field in self.columns])
        self.csv.writerow([neutralise(tag) for tag, _ in self.columns])

    def write(self, cells: dict[str, object]) -> None:
        self.csv.writerow([neutralise(cells.get(f)) for _, f in self.columns])
