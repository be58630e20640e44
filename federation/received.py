"""A peer's body read back into a record, with the checks an import makes, never fewer.

A body's signature says only who sent it, not that it is sound. Reading one takes two steps:

1. the members' JSON types, as docs/federation.md sets them out: strings, lists of strings,
   integers, booleans, and decimals as strings in the JSON number grammar (so `"nan"`,
   `"inf"` and `"1_000"` are not numbers), every id in the publisher's own namespace;
2. the values, by the very validators CSV, HSDS and the API's mutations use
   (`directory.domain.validation`): vocabularies, ranges, countries, languages, lengths, characters.

What fails raises `BadBody` naming the record, the members and the reasons; the caller drops the
entry and reports it. A location is kept at the precision its body states, never finer: the point
is coarsened as we would publish it before it is stored, so no viewer of ours, steward or export
ever sees more of it than the peer's own public did.
"""

from __future__ import annotations

import re
from typing import Any

from directory.domain import validation
from directory.domain.errors import Problem
from directory.domain.location import published
from directory.domain.model import LINK_PROPERTIES, Link, Organisation, Presence, Service
from directory.domain.validation import Row, Vocabulary
from federation.bodies import TRAVELS_AS, BadBody

DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")

# Each member and how it travels; a trailing "?" lets it be null.
ORGANISATION = {"type": "text", "id": "text", "name": "text", "kind": "text", "visibility": "text", "aliases": "texts",
                "description": "text", "website": "text", "languages": "texts", "contact_channels": "texts",
                "identifiers": "texts", "source": "text", "location": "object?",
                "verified_on": "text?", "verified_by": "text?", "verified_source": "text?"}
LOCATION = {"latitude": "decimal?", "longitude": "decimal?", "precision": "text", "country": "text?",
            "subdivision": "text?"}
SERVICE = {"type": "text", "id": "text", "organisation": "text", "name": "text", "service_type": "text",
           "visibility": "text", "description": "text", "eligibility": "text", "capacity": "integer?",
           "capacity_unit": "text", "capacity_confirmed": "text", "response_hours": "decimal?", "languages": "texts",
           "cost": "text", "status": "text", "coverage": "objects", "groups": "texts",
           # added with intake and verification: may be left out (older peers send none), empty if so
           "status_since": "text?", "status_reason": "text?", "status_source": "text?", "origins": "texts?",
           "purposes": "texts?", "application_process": "text?", "intake": "texts?", "hours": "text?",
           "windows": "texts?", "intake_languages": "texts?", "exclusions": "text?",
           "verified_on": "text?", "verified_by": "text?", "verified_source": "text?"}
COVERAGE = {"place": "text", "presence": "text"}
LINK = {"type": "text", "link_type": "text", "source": "text", "target": "text", "visibility": "text", "key": "text",
        "properties": "object"}
PROPERTIES = {name: TRAVELS_AS[kind] + "?" for name, kind in LINK_PROPERTIES.items()}
_TYPES = {"text": (str,), "texts": (list,), "decimal": (str,), "integer": (int,), "boolean": (bool,),
          "object": (dict,), "objects": (list,)}


def _members(body: Any, spec: dict[str, str], record: str, path: str = "") -> dict[str, Any]:
    """The members of `body` named in `spec`, each of its stated JSON type."""
    if not isinstance(body, dict):
        raise BadBody(record, path.rstrip(".") or "body", "is not an object")
    out: dict[str, Any] = {}
    for name, kind in spec.items():
        value: Any = body.get(name)
        bare, member = kind.rstrip("?"), path + name
        if value is None and kind.endswith("?"):
            out[name] = None
            continue
        if not _of_type(value, bare):
            raise BadBody(record, member, f"is missing or not {_TYPE_NAMES[bare]}")
        if bare == "texts" and not all(isinstance(v, str) for v in value):
            raise BadBody(record, member, "holds something that is not a string")
        if bare == "decimal" and not DECIMAL.fullmatch(value):
            raise BadBody(record, member, f"{value[:40]!r} is not a decimal number (the JSON number grammar)")
        out[name] = value
    return out


def _of_type(value: Any, bare: str) -> bool:
    return isinstance(value, _TYPES[bare]) and (bare == "boolean" or not isinstance(value, bool))


_TYPE_NAMES = {"text": "a string", "texts": "a list of strings", "decimal": "a decimal in a string",
               "integer": "an integer", "boolean": "a boolean", "object": "an object", "objects": "a list of objects"}


def _typed(record: str, fields: dict[str, Any], kind: str) -> None:
    """The body says what it is, and it is what its entry says (`type`, then gone from the fields)."""
    if fields.pop("type") != kind:
        raise BadBody(record, "type", f"is not {kind!r}, the kind of its entry")


def _own(record: str, member: str, value: str, origin: str) -> None:
    if not value.startswith(f"{origin}:"):
        raise BadBody(record, member, f"{value[:200]!r} is outside the publisher's namespace {origin!r}: "
                                      "a peer's records and links stay among its own records")


def _refused(record: str, problems: list[Problem]) -> BadBody:
    return BadBody(record, problems[0].column, "; ".join(
        p.reason if i == 0 else f"{p.column} {p.reason}" for i, p in enumerate(problems)))


def _row(entry: int, fields: dict[str, Any]) -> Row:
    return Row(entry, {name: (name, value) for name, value in fields.items()})


def organisation(body: Any, origin: str, vocab: Vocabulary, entry: int = 0) -> Organisation:
    record = str(body.get("id")) if isinstance(body, dict) else "?"
    fields = _members(body, ORGANISATION, record)
    _typed(record, fields, "organisation")
    _own(record, "id", fields["id"], origin)
    place = fields.pop("location")
    if place is not None:
        fields.update(_members(place, LOCATION, record, "location."))
    org, _, problems = validation.organisation(_row(entry, fields), origin, vocab)
    if org is None:
        raise _refused(record, problems)
    if org.location is not None:
        org.location = published(org.location, org.id)
    return org


def service(body: Any, origin: str, vocab: Vocabulary, entry: int = 0) -> Service:
    record = str(body.get("id")) if isinstance(body, dict) else "?"
    fields = _members(body, SERVICE, record)
    _typed(record, fields, "service")
    _own(record, "id", fields["id"], origin)
    _own(record, "organisation", fields["organisation"], origin)
    places: dict[str, list[str]] = {"present_in": [], "reaches": []}
    for item in fields.pop("coverage"):
        cov = _members(item, COVERAGE, record, "coverage.")
        if cov["presence"] not in {p.value for p in Presence}:
            raise BadBody(record, "coverage.presence", f"{cov['presence'][:40]!r} is not present or remote")
        places["present_in" if cov["presence"] == Presence.PRESENT.value else "reaches"].append(cov["place"])
    fields["type"] = fields.pop("service_type")
    svc, problems = validation.service(_row(entry, {**fields, **places}), origin, vocab)
    if svc is None:
        raise _refused(record, problems)
    return svc


def link(body: Any, origin: str, entry: int = 0) -> Link:
    record = (f"{body.get('source')} {body.get('link_type')} {body.get('target')}" if isinstance(body, dict)
              else "?")
    fields = _members(body, LINK, record)
    _typed(record, fields, "link")
    _own(record, "source", fields["source"], origin)
    _own(record, "target", fields["target"], origin)
    properties = _members(fields.pop("properties"), PROPERTIES, record, "properties.")
    fields["type"] = fields.pop("link_type")
    found, problems = validation.link(_row(entry, {**fields, **properties}), origin)
    if found is None:
        raise _refused(record, problems)
    return found
