"""Open Referral HSDS 3.0: export organisations and services, and import them back.

HSDS requires UUIDs for ids, so an exported record's id is a UUID derived from its directory id
(uuid5), and the directory id itself travels with it: in `organization.uri` for organisations,
and as HSDS attributes for services. Everything HSDS has no field for (organisation kind, service
type, defender groups, response time, capacity, visibility, presence or remote reach; what a grant
pays for, where defenders may come from, intake channels each with its own visibility, intake
languages, exclusions, status since and source, who verified a record and against what) travels as
attributes whose taxonomy is `protection-directory/<name>`, the extension mechanism HSDS offers.
Where HSDS has a field, it is used: `application_process`; `status` (paused is "temporarily
closed", closed "defunct"); `alert`, the reason of a status other than active; `assured_date`, the
day a service was verified (and `assurer_email` when its verifier is an e-mail address);
`schedules`, the hours as one schedule's description and each intake window as a schedule valid
from its opening to its closing day. `languages` stay the languages a service works in; the
languages it takes requests in are attributes. `program` is not written: no record here is a
collection of services (a consortium's programme is a DELIVERS_FOR link between organisations).
An export holds only what its viewer may see: the store gives each record redacted, intake
channels included, so a public export holds only public channels.
An import of a foreign HSDS file uses the HSDS UUIDs as local ids. A malformed file (not UTF-8
JSON, nested too deep, fields of the wrong JSON type, ids twice...) is refused with ValidationFailed
naming file, line, JSON path and reason, before anything is built or written (see "import" below).
"""

from __future__ import annotations

import codecs
import functools
import json
import math
import re
import uuid
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

from directory.domain import channels, places, taxonomy
from directory.domain.errors import Problem, ValidationFailed
from directory.domain.model import Organisation, Presence, Service, Status, Verification
from directory.domain.validation import Row
from directory.formats.parsed import Parsed

NAMESPACE = uuid.UUID("5b0c6a5e-59a3-4c1e-9c51-2f0f4a7c1d10")
URN = "urn:protection-directory:"
TAX = "protection-directory/"


NO_UNIT = "units"  # a capacity's term code where it records no unit (a term needs one)


def hsds_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def _attribute(link_id: str, link_type: str, scheme: str, code: str, name: str, value: str | None = None,
               description: str = "", key: str | None = None) -> dict[str, Any]:
    """`key` tells apart several attributes of one term on one record (two intake channels by phone)."""
    term_id = hsds_id("term", scheme, code)
    attr = {
        "id": hsds_id("attribute", link_id, scheme, code if key is None else key),
        "link_id": link_id, "link_type": link_type, "link_entity": link_type, "taxonomy_term_id": term_id,
        "taxonomy_term": {"id": term_id, "code": code, "name": name, "description": description or name,
                          "taxonomy": TAX + scheme},
    }
    if value is not None:
        attr["value"] = value
    return attr


def _place_name(code: str) -> str:
    place = places.place(code)
    return place.name if place else code


@functools.cache
def _labels() -> dict[tuple[str, str], str]:
    return {(t.scheme, t.code): t.label for t in taxonomy.BUILT_IN}


def _extent_type(code: str) -> str:
    if code.isdigit():
        return "UN M49"
    return "named region" if code in places.named_regions() else "ISO 3166"


def organisation_to_hsds(org: Organisation) -> dict[str, Any]:
    oid = hsds_id("organisation", org.id)
    labels = _labels()
    out: dict[str, Any] = {
        "id": oid, "name": org.name, "description": org.description or org.name, "uri": URN + org.id,  # required
        "organization_identifiers": [
            {"id": hsds_id("identifier", org.id, ident), "organization_id": oid, "identifier_type": "org-id",
             "identifier_scheme": ident.split(":", 1)[0], "identifier": ident.split(":", 1)[1]}
            for ident in org.identifiers],
        "attributes": [
            _attribute(oid, "organization", taxonomy.ORGANISATION_KIND, org.kind,
                       labels.get((taxonomy.ORGANISATION_KIND, org.kind), org.kind)),
            _attribute(oid, "organization", "visibility", org.visibility.value, org.visibility.value),
        ] + [_attribute(oid, "organization", "language", lang, lang) for lang in org.languages]
        + _verified(oid, "organization", org.verified, on=True),
    }
    if org.aliases:
        out["alternate_name"] = " | ".join(org.aliases)
    if org.website:
        out["website"] = org.website
    loc = org.location
    if loc and (loc.latitude is not None or loc.country):
        lid = hsds_id("location", org.id)
        location: dict[str, Any] = {
            "id": lid, "location_type": "physical", "organization_id": oid,
            "attributes": [_attribute(lid, "location", "precision", loc.precision.value, loc.precision.value)],
        }
        if loc.latitude is not None:
            location["latitude"], location["longitude"] = loc.latitude, loc.longitude
        code = loc.subdivision or loc.country
        if code:
            location["external_identifier"], location["external_identifier_type"] = code, "ISO 3166"
            location["name"] = _place_name(code)
        out["locations"] = [location]
    emails = [c.split(":", 1)[1] for c in org.contact_channels if c.startswith("email:")]
    if emails:
        out["email"] = emails[0]
    return out


# Our statuses in HSDS's words; reading back goes through `model.STATUS_ALIASES`.
HSDS_STATUS = {Status.ACTIVE: "active", Status.PAUSED: "temporarily closed", Status.CLOSED: "defunct"}
# What each schedule a service export writes stands for (its attribute, `protection-directory/schedule`).
HOURS, WINDOW = "hours", "intake-window"


def _text(link_id: str, link_type: str, scheme: str, value: str, name: str) -> list[dict[str, Any]]:
    """A text HSDS has no field for, as one attribute (none when empty)."""
    return [_attribute(link_id, link_type, scheme, "text", name, value=value)] if value else []


def _verified(link_id: str, link_type: str, v: Verification, on: bool) -> list[dict[str, Any]]:
    """Who checked the record and against what; `on` also the day (a service has `assured_date`)."""
    return ((_text(link_id, link_type, "verified-on", v.on, "Verified on") if on else [])
            + _text(link_id, link_type, "verified-by", v.by, "Verified by")
            + _text(link_id, link_type, "verified-source", v.source, "Verified against"))


def _schedules(svc: Service, sid: str) -> list[dict[str, Any]]:
    """Hours as a schedule's description; each intake window as a schedule valid from its opening
    day to its closing day (if any), its note as description."""
    out = []
    if svc.hours:
        hid = hsds_id("schedule", svc.id, HOURS)
        out.append({"id": hid, "service_id": sid, "description": svc.hours,
                    "attributes": [_attribute(hid, "schedule", "schedule", HOURS, "Hours")]})
    for w in svc.windows:
        wid = hsds_id("schedule", svc.id, WINDOW, str(w))
        window: dict[str, Any] = {"id": wid, "service_id": sid, "valid_from": w.opens,
                                  "attributes": [_attribute(wid, "schedule", "schedule", WINDOW, "Intake window")]}
        if w.closes:
            window["valid_to"] = w.closes
        if w.note:
            window["description"] = w.note
        out.append(window)
    return out


def service_to_hsds(svc: Service) -> dict[str, Any]:
    sid = hsds_id("service", svc.id)
    labels = _labels()
    attrs = [
        _attribute(sid, "service", "record-id", svc.id, "Protection Directory record id"),
        _attribute(sid, "service", taxonomy.SERVICE_TYPE, svc.type,
                   labels.get((taxonomy.SERVICE_TYPE, svc.type), svc.type)),
        _attribute(sid, "service", "visibility", svc.visibility.value, svc.visibility.value),
    ] + [_attribute(sid, "service", taxonomy.DEFENDER_GROUP, g, labels.get((taxonomy.DEFENDER_GROUP, g), g))
         for g in svc.groups]
    if svc.response_hours is not None:
        attrs.append(_attribute(sid, "service", "response-hours", "hours", "Typical response time in hours",
                                value=repr(svc.response_hours)))
    if svc.capacity is not None:
        attrs.append(_attribute(sid, "service", "capacity", svc.capacity_unit or NO_UNIT, "Capacity",
                                value=str(svc.capacity)))
        if svc.capacity_confirmed:
            attrs.append(_attribute(sid, "service", "capacity-confirmed", "date", "Capacity last confirmed",
                                    value=svc.capacity_confirmed))
    attrs += [_attribute(sid, "service", "purpose", p, labels.get((taxonomy.SERVICE_TYPE, p), p)) for p in svc.purposes]
    attrs += [_attribute(sid, "service", "origin", o, _place_name(o)) for o in svc.origins]
    # Each channel with its own visibility: the store gave only those the viewer may see.
    attrs += [_attribute(sid, "service", "intake", i.kind, i.kind, value=str(i), key=str(i)) for i in svc.intake]
    attrs += [_attribute(sid, "service", "intake-language", lang, lang) for lang in svc.intake_languages]
    attrs += _text(sid, "service", "exclusions", svc.exclusions, "Exclusions")
    attrs += _text(sid, "service", "status-since", svc.status_since, "Status since")
    attrs += _text(sid, "service", "status-source", svc.status_source, "Status source")
    if svc.status is Status.ACTIVE:  # otherwise the reason is the service's `alert`
        attrs += _text(sid, "service", "status-reason", svc.status_reason, "Status reason")
    attrs += _verified(sid, "service", svc.verified, on=False)
    out: dict[str, Any] = {
        "id": sid, "organization_id": hsds_id("organisation", svc.organisation), "name": svc.name,
        "status": HSDS_STATUS[svc.status], "attributes": attrs,
        "languages": [{"id": hsds_id("language", svc.id, lang), "service_id": sid, "code": lang}
                      for lang in svc.languages],
        "service_areas": [
            {"id": hsds_id("area", svc.id, c.place), "service_id": sid,
             "name": _place_name(c.place),
             "description": "present" if c.presence is Presence.PRESENT else "remote",
             "extent": c.place, "extent_type": _extent_type(c.place)}
            for c in svc.coverage],
    }
    schedules = _schedules(svc, sid)
    if schedules:
        out["schedules"] = schedules
    if svc.application_process:
        out["application_process"] = svc.application_process
    if svc.status_reason and svc.status is not Status.ACTIVE:
        out["alert"] = svc.status_reason
    if svc.verified.on:
        out["assured_date"] = svc.verified.on
    if channels.EMAIL.fullmatch(svc.verified.by):
        out["assurer_email"] = svc.verified.by
    if svc.description:
        out["description"] = svc.description
    if svc.eligibility:
        out["eligibility_description"] = svc.eligibility
    if svc.cost:
        out["fees_description"] = svc.cost
    return out


# --- import -------------------------------------------------------------------------------------
#
# An HSDS file from elsewhere is untrusted, so it is checked in two steps before any row is built.
# As JSON: UTF-8, valid syntax, nesting at most MAX_DEPTH levels (counted by a linear scan before
# parsing, since the parser recurses once per level), no key twice in one object, no NaN or
# Infinity; the first such problem is reported with its line and column. Then as HSDS: the top
# level is an array of objects (or one object), every field we read has the JSON type HSDS gives
# it (ORGANIZATION and SERVICE below; null counts as absent, except for the fields we require), and
# no id appears twice. Every such problem of the file is listed with the line where its record
# starts and the JSON path of the field (`$[3].locations`), and nothing is written.

MAX_DEPTH = 64
MAX_PROBLEMS = 10_000
STRING, NUMBER = "a string", "a number"
Spec = dict[str, Any] | list[Any] | str  # an object's fields, an array of one spec, or STRING/NUMBER

_ATTRIBUTES = [{"value": STRING, "taxonomy_term": {"code": STRING, "taxonomy": STRING}}]
ORGANIZATION: dict[str, Spec] = {
    "id": STRING, "name": STRING, "alternate_name": STRING, "description": STRING, "email": STRING,
    "website": STRING, "uri": STRING, "attributes": _ATTRIBUTES,
    "organization_identifiers": [{"identifier_scheme": STRING, "identifier": STRING}],
    "locations": [{"latitude": NUMBER, "longitude": NUMBER, "external_identifier": STRING,
                   "external_identifier_type": STRING, "addresses": [{"country": STRING}],
                   "attributes": _ATTRIBUTES}],
}
SERVICE: dict[str, Spec] = {
    "id": STRING, "organization_id": STRING, "name": STRING, "status": STRING, "description": STRING,
    "eligibility_description": STRING, "fees_description": STRING, "attributes": _ATTRIBUTES,
    "languages": [{"code": STRING}], "service_areas": [{"extent": STRING, "description": STRING}],
    "application_process": STRING, "alert": STRING, "assured_date": STRING, "assurer_email": STRING,
    "schedules": [{"valid_from": STRING, "valid_to": STRING, "description": STRING, "attributes": _ATTRIBUTES}],
}
_REQUIRED = {"organization": ("id", "name"), "service": ("id", "name", "organization_id")}

_ESCAPES = re.compile(rb"\\.", re.S)
_NOT_QUOTES_OR_BRACKETS = bytes(sorted(set(range(256)) - set(b'"[]{}')))
_STRINGS = re.compile(rb'"[^"]*"')
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1, ord('"'): 0}  # a quote left: unterminated
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.S)  # "?: an unended string takes the rest
_SPACE = re.compile(r"[ \t\n\r]*")


def _skip(text: str, i: int) -> int:
    """The position of the first character at or after `i` that is not JSON whitespace."""
    found = _SPACE.match(text, i)
    return found.end() if found else i


class _Refused(ValueError):
    """JSON that Python's parser accepts and we do not: NaN or Infinity, a key twice in one object."""


def _no_constant(name: str) -> Any:
    raise _Refused(f"holds {name}, which is not JSON")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"has the key {key!r} twice in one object")
            seen.add(key)
    return obj


_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_no_constant)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return NUMBER
    if isinstance(value, str):
        return STRING
    return "an array" if isinstance(value, list) else "an object"


def _position(text: str, pos: int) -> tuple[int, str]:
    """Line and column (both from 1) of a character of `text`."""
    return text.count("\n", 0, pos) + 1, str(pos - text.rfind("\n", 0, pos))


def _too_deep(data: bytes, text: str) -> int | None:
    """Where in `text` (`data` decoded) the first bracket nested deeper than MAX_DEPTH opens, or None.
    Brackets inside strings do not count. Linear and in C: on the UTF-8 bytes (where a multi-byte
    character never holds an ASCII byte) escapes are cut out, then everything but quotes and
    brackets, then empty strings and the strings left; the running depth is summed by
    `accumulate`. Only a file that is too deep is scanned again, to say where."""
    kept = (_ESCAPES.sub(b"", data) if b"\\" in data else data).translate(None, _NOT_QUOTES_OR_BRACKETS)
    brackets = _STRINGS.sub(b"", kept.replace(b'""', b""))  # "" is an empty string, or joins two strings
    if not any(map(MAX_DEPTH.__lt__, accumulate(map(_STEP.__getitem__, brackets)))):
        return None
    depth = 0
    for token in _TOKENS.finditer(text):
        first = token.group()[0]
        if first in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return token.start()
        elif first in "]}":
            depth -= 1
    return None  # not reached: both scans count the same brackets


def _fail(source: str, line: int, column: str, reason: str) -> ValidationFailed:
    return ValidationFailed(source, [Problem(line, column, reason, source=source)])


def _array(text: str, start: int, source: str) -> Iterator[tuple[str, int, Any]]:
    """The elements of the top-level array opening at `start`, one at a time, with JSON path and line."""
    i, n = _skip(text, start + 1), 0
    line, counted = 1 + text.count("\n", 0, i), i
    if text.startswith("]", i):
        i += 1
    else:
        while True:
            line, counted = line + text.count("\n", counted, i), i
            path, n = f"$[{n}]", n + 1
            try:
                value, i = _DECODER.raw_decode(text, i)
            except _Refused as exc:
                raise _fail(source, line, path, str(exc)) from exc
            yield path, line, value
            i = _skip(text, i)
            if text.startswith(",", i):
                i = _skip(text, i + 1)
            elif text.startswith("]", i):
                i += 1
                break
            else:
                raise json.JSONDecodeError("Expecting ',' delimiter", text, i)
    i = _skip(text, i)
    if i != len(text):
        raise json.JSONDecodeError("Extra data", text, i)


def _elements(data: bytes, source: str, entity: str) -> Iterator[tuple[str, int, Any]]:
    """Each record of an HSDS file (a JSON array, or one object) with its JSON path and the line it
    starts on, one at a time. ValidationFailed when the file is not UTF-8 JSON we accept, or not an
    array or object."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        begin = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[begin:exc.start].decode("utf-8", "replace")) + 1
        raise _fail(source, data.count(b"\n", 0, exc.start) + 1, str(column),
                    f"is not UTF-8 text (byte {exc.start}); save the file as UTF-8 and try again") from exc
    deep = _too_deep(data, text)
    if deep is not None:
        raise _fail(source, *_position(text, deep), f"is nested deeper than {MAX_DEPTH} levels; HSDS needs far fewer")
    start = _skip(text, 0)
    try:
        if text.startswith("[", start):
            yield from _array(text, start, source)
            return
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise _fail(source, exc.lineno, str(exc.colno), f"is not valid JSON: {exc.msg}") from exc
    except _Refused as exc:
        raise _fail(source, _position(text, start)[0], "$", str(exc)) from exc
    except RecursionError as exc:  # not expected below MAX_DEPTH; never a traceback
        raise _fail(source, 0, "$", "is nested too deeply to read") from exc
    if not isinstance(value, dict):
        raise _fail(source, _position(text, start)[0], "$",
                    f"is {_kind(value)}; an HSDS file is a JSON array of {entity} objects")
    yield "$", _position(text, start)[0], value


def _check(value: Any, spec: Spec, path: str, found: list[tuple[str, str]]) -> None:
    """Add (JSON path, reason) to `found` for every field of `value` whose JSON type is not `spec`'s."""
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            found.append((path, f"is {_kind(value)}; HSDS wants an object here"))
            return
        for key, inner in spec.items():
            if value.get(key) is not None:  # null is taken as absent
                _check(value[key], inner, f"{path}.{key}", found)
    elif isinstance(spec, list):
        if not isinstance(value, list):
            found.append((path, f"is {_kind(value)}; HSDS wants an array here"))
            return
        for n, item in enumerate(value):
            _check(item, spec[0], f"{path}[{n}]", found)
    elif spec == STRING:
        if not isinstance(value, str):
            found.append((path, f"is {_kind(value)}; HSDS wants a string here"))
        elif not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                found.append((path, "holds a lone surrogate (such as \\ud800), which is not text"))
    elif isinstance(value, bool) or not isinstance(value, int | float):
        found.append((path, f"is {_kind(value)}; HSDS wants a number here"))
    else:
        try:
            finite = math.isfinite(float(value))
        except OverflowError:
            finite = False
        if not finite:
            found.append((path, "is too large a number"))


def _records(data: bytes, source: str, entity: str, spec: dict[str, Spec]) -> list[tuple[str, int, dict[str, Any]]]:
    """The records of an HSDS file, each with its JSON path and line, once every field we read has
    its HSDS JSON type and no id appears twice; otherwise ValidationFailed listing every problem
    (up to MAX_PROBLEMS: a file of a million numbers is not worth a million messages)."""
    problems: list[Problem] = []
    records: list[tuple[str, int, dict[str, Any]]] = []
    first: dict[str, tuple[str, int]] = {}
    elements = _elements(data, source, entity)
    while len(problems) < MAX_PROBLEMS:
        try:
            path, line, obj = next(elements)
        except StopIteration:
            break
        except ValidationFailed as exc:  # the JSON itself is broken here: nothing more can be read
            problems += exc.problems
            break
        if not isinstance(obj, dict):
            problems.append(Problem(line, path, f"is {_kind(obj)}; each element of the file is an HSDS {entity} "
                                                "object", source=source))
            continue
        found = [(f"{path}.{key}", f"is null; HSDS {entity} objects require it")
                 for key in _REQUIRED[entity] if key in obj and obj[key] is None]
        _check(obj, spec, path, found)
        if isinstance(obj.get("id"), str) and obj["id"]:
            if obj["id"] in first:
                where, at = first[obj["id"]]
                found.append((f"{path}.id", f"{obj['id']!r} appears twice; first at {where}.id (line {at})"))
            else:
                first[obj["id"]] = (path, line)
        problems += [Problem(line, column, reason, source=source) for column, reason in found]
        if not found:
            records.append((path, line, obj))
    if len(problems) >= MAX_PROBLEMS:
        problems.append(Problem(0, "file", f"reading stopped after {MAX_PROBLEMS} problems", source=source))
    if problems:
        raise ValidationFailed(source, problems)
    return records


def _terms(attrs: list[dict[str, Any]], scheme: str) -> list[dict[str, Any]]:
    out = []
    for a in attrs or []:
        term = a.get("taxonomy_term") or {}
        if term.get("taxonomy") == TAX + scheme:
            out.append({"code": term.get("code"), "value": a.get("value")})
    return out


def _first(attrs: list[dict[str, Any]], scheme: str, key: str = "code") -> Any:
    found = _terms(attrs, scheme)
    return found[0][key] if found else None


def parse_organisations(data: bytes, source: str, default_kind: str | None = None) -> tuple[Parsed, dict[str, str]]:
    """Rows for the validator, and the HSDS organisation UUID -> directory id of each.
    ValidationFailed, naming file, line, JSON path and reason, when the file is malformed."""
    rows, ids = [], {}
    for p, line, obj in _records(data, source, "organization", ORGANIZATION):
        uri = str(obj.get("uri") or "")
        record = uri[len(URN):] if uri.startswith(URN) else str(obj.get("id") or "")
        ids[str(obj.get("id"))] = record
        attrs = obj.get("attributes") or []
        locs = obj.get("locations") or []
        loc = locs[0] if locs else {}
        code = str(loc.get("external_identifier") or "") if loc.get("external_identifier_type") == "ISO 3166" else ""
        address = (loc.get("addresses") or [{}])[0]
        country_column = f"{p}.locations[0].external_identifier"
        if not code and address.get("country"):
            code, country_column = str(address["country"]), f"{p}.locations[0].addresses[0].country"
        fields = {
            "id": (f"{p}.id", record), "name": (f"{p}.name", obj.get("name")),
            # named by the attribute's taxonomy: a publisher's file without ours says what it lacks
            "kind": (f"{p}.attributes[{TAX}{taxonomy.ORGANISATION_KIND}]",
                     _first(attrs, taxonomy.ORGANISATION_KIND) or default_kind),
            "visibility": (f"{p}.attributes", _first(attrs, "visibility")),
            "aliases": (f"{p}.alternate_name", [a for a in str(obj.get("alternate_name") or "").split(" | ") if a]),
            # HSDS requires one: the name written for none (`_organisation`) is read as none
            "description": (f"{p}.description", None if obj.get("description") == obj.get("name")
                            else obj.get("description")),
            "website": (f"{p}.website", obj.get("website")),
            "languages": (f"{p}.attributes", [t["code"] for t in _terms(attrs, "language")]),
            "identifiers": (f"{p}.organization_identifiers", [
                f"{i.get('identifier_scheme')}:{i.get('identifier')}"
                for i in obj.get("organization_identifiers") or []]),
            "contact_channels": (f"{p}.email", [f"email:{obj['email']}"] if obj.get("email") else []),
            "latitude": (f"{p}.locations[0].latitude", loc.get("latitude")),
            "longitude": (f"{p}.locations[0].longitude", loc.get("longitude")),
            "precision": (f"{p}.locations[0].attributes", _first(loc.get("attributes") or [], "precision")),
            "country": (country_column, code.split("-")[0] if code else None),
            "subdivision": (f"{p}.locations[0].external_identifier", code if "-" in code else None),
            "verified_on": (f"{p}.attributes", _first(attrs, "verified-on", "value")),
            "verified_by": (f"{p}.attributes", _first(attrs, "verified-by", "value")),
            "verified_source": (f"{p}.attributes", _first(attrs, "verified-source", "value")),
        }
        rows.append(Row(line, fields))
    return Parsed(source, "organisations", rows), ids


def parse_services(data: bytes, source: str, organisations: dict[str, str]) -> Parsed:
    """Rows for the validator; ValidationFailed, like `parse_organisations`, when the file is malformed."""
    rows = []
    for p, line, obj in _records(data, source, "service", SERVICE):
        attrs = obj.get("attributes") or []
        record = _first(attrs, "record-id") or str(obj.get("id") or "")
        org_uuid = str(obj.get("organization_id") or "")
        capacity = _terms(attrs, "capacity")
        areas = obj.get("service_areas") or []
        fields = {
            "id": (f"{p}.id", record), "organisation": (f"{p}.organization_id", organisations.get(org_uuid, org_uuid)),
            "name": (f"{p}.name", obj.get("name")), "type": (f"{p}.attributes[{TAX}{taxonomy.SERVICE_TYPE}]",
                                                          _first(attrs, taxonomy.SERVICE_TYPE)),
            "visibility": (f"{p}.attributes", _first(attrs, "visibility")),
            "description": (f"{p}.description", obj.get("description")),
            "eligibility": (f"{p}.eligibility_description", obj.get("eligibility_description")),
            "cost": (f"{p}.fees_description", obj.get("fees_description")),
            "status": (f"{p}.status", obj.get("status")),
            "languages": (f"{p}.languages",
                          [lang.get("code") for lang in obj.get("languages") or [] if lang.get("code")]),
            "groups": (f"{p}.attributes", [t["code"] for t in _terms(attrs, taxonomy.DEFENDER_GROUP)]),
            "response_hours": (f"{p}.attributes", _first(attrs, "response-hours", "value")),
            "capacity": (f"{p}.attributes", capacity[0]["value"] if capacity else None),
            "capacity_unit": (f"{p}.attributes", capacity[0]["code"] if capacity and capacity[0]["code"] != NO_UNIT
                              else None),
            "capacity_confirmed": (f"{p}.attributes", _first(attrs, "capacity-confirmed", "value")),
            "present_in": (f"{p}.service_areas", [a.get("extent") for a in areas if a.get("description") != "remote"]),
            "reaches": (f"{p}.service_areas", [a.get("extent") for a in areas if a.get("description") == "remote"]),
            **_intake_fields(p, obj, attrs),
        }
        rows.append(Row(line, fields))
    return Parsed(source, "services", rows)


def _values(attrs: list[dict[str, Any]], scheme: str, key: str = "code") -> list[Any]:
    return [t[key] for t in _terms(attrs, scheme) if t[key] is not None]


def _intake_fields(p: str, obj: dict[str, Any], attrs: list[dict[str, Any]]) -> dict[str, tuple[str, Any]]:
    """How to ask, status and verification of a service, as Row fields. A schedule we wrote says
    what it is (`protection-directory/schedule`); one from elsewhere is read as hours, by its
    description. `alert` is the reason for a status other than active, and ignored on an active one."""
    hours, windows = [], []
    for schedule in obj.get("schedules") or []:
        kind = _first(schedule.get("attributes") or [], "schedule")
        if kind == WINDOW:
            span = f"{schedule.get('valid_from') or ''}/{schedule.get('valid_to') or ''}"
            windows.append(f"{span} {schedule.get('description') or ''}".strip())
        elif kind in (HOURS, None) and schedule.get("description"):
            hours.append(str(schedule["description"]).strip())
    status = str(obj.get("status") or "active").strip().lower()
    alert = obj.get("alert") if status != "active" else None
    reason = (f"{p}.alert", alert) if alert else (f"{p}.attributes", _first(attrs, "status-reason", "value"))
    return {
        "application_process": (f"{p}.application_process", obj.get("application_process")),
        "hours": (f"{p}.schedules", "; ".join(h for h in hours if h)),
        "windows": (f"{p}.schedules", windows),
        "purposes": (f"{p}.attributes", _values(attrs, "purpose")),
        "origins": (f"{p}.attributes", _values(attrs, "origin")),
        "intake": (f"{p}.attributes", _values(attrs, "intake", "value")),
        "intake_languages": (f"{p}.attributes", _values(attrs, "intake-language")),
        "exclusions": (f"{p}.attributes", _first(attrs, "exclusions", "value")),
        "status_since": (f"{p}.attributes", _first(attrs, "status-since", "value")),
        "status_source": (f"{p}.attributes", _first(attrs, "status-source", "value")),
        "status_reason": reason,
        "verified_on": (f"{p}.assured_date", obj.get("assured_date")),
        "verified_by": (f"{p}.attributes", _first(attrs, "verified-by", "value") or obj.get("assurer_email")),
        "verified_source": (f"{p}.attributes", _first(attrs, "verified-source", "value")),
    }
