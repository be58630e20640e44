"""Reads shaped by what was asked: one statement per question, returning plain values.

A channel that knows which fields it wants (GraphQL compiles its selection: `schema.compiled`)
asks with a `Shape`: the fields of a record under the keys it wants them, and the services,
provider and links to follow, each with its own shape. The statement projects exactly those
with map projections and `COLLECT` subqueries, the viewer's visibility inside every step, and the
driver's maps are the answer: no record is built, no field converted.

Only fields whose value is the same in every view are projected (`PROJECTED`, derived from the
one declaration in `domain/fields.py`): a field `redact` may empty, coarsen or filter by item is
never in a shape, so a channel wanting one reads records through the door instead.

A service's coverage says where its provider works, and its origins where its defenders come
from (for a shelter, often where it is), so the public does not see them for a shelter whose place
is withheld (`Place.WITHHELD`): the statement gives none then, by the predicate every record read
uses (`cypher.place_shown`) on the provider the statement already holds. Otherwise it
gives the places as the service holds them in one string (`place_codes.place_codes`, one property
rather than a pattern per service), and `finished` makes them the items asked for (`Covered`).

An organisation's location is the one field read otherwise: its coarsening needs Python (the
published point is a function of the record, `domain.location`), so the statement returns what is
recorded under `PLACED` and `finished` replaces it by what the viewer's view of that organisation
shows (`fields.shown_location`, the rule `redact` applies), with the parts asked for. Only a shape
asking for a location costs that.

For a viewer who may see restricted records, each projected record carries `AUDIT`: its kind and
id when it is restricted. `finished` takes those out, and the door notes them as it does for every
read. Both keys are ones no GraphQL name can be.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from directory.domain.fields import DECLARED, Audience, Place, shown_location
from directory.domain.model import LINK_TYPES, Location, Organisation, Precision, Service, link_id
from directory.domain.viewer import Viewer
from directory.store.engine.cypher import link_visible, place_shown, sampled, visible
from directory.store.records.listing import Sort, page_of
from directory.store.records.place_codes import place_entries

AUDIT = "#audit"
PLACED = "#placed"
COVERED = "#covered"
LOCATION_PARTS = ("latitude", "longitude", "precision", "country", "subdivision", "__typename")
COVERAGE_PARTS = ("place", "presence", "__typename")
_FIXED = ("provenance", "verified")  # composite, and shown per view: read as records


def _same_in_every_view(kind: type) -> frozenset[str]:
    """The fields every view reads alike, but for those withheld with a shelter's place, which the
    statement empties as `redact` does (`WITHHELD`)."""
    return frozenset(name for name, f in DECLARED[kind].items()
                     if f.audience is Audience.PUBLIC and f.place in (Place.NONE, Place.WITHHELD) and not f.itemised
                     and name not in _FIXED)


# fields gone from the public's view of a shelter whose place is withheld (`fields.redact`)
WITHHELD = {"organisation": frozenset(n for n, f in DECLARED[Organisation].items() if f.place is Place.WITHHELD),
            "service": frozenset(n for n, f in DECLARED[Service].items() if f.place is Place.WITHHELD)}


def _coverage_alike() -> bool:
    """Whether a service's coverage reads the same in every view but where its provider's place is
    withheld, which the statement applies (`Covered`)."""
    declared = DECLARED[Service]["coverage"]
    return declared.audience is Audience.PUBLIC and not declared.itemised and declared.place in (
        Place.NONE, Place.WITHHELD)


def _expressions(kind: type, table: dict[str, str]) -> dict[str, str]:
    """The Cypher for each field a shape may hold (`{v}`: the record's variable): only those the
    declaration shows alike to every viewer."""
    allowed = _same_in_every_view(kind)
    return {name: expr for name, expr in table.items() if name in allowed}


PROJECTED: dict[str, dict[str, str]] = {
    "organisation": _expressions(Organisation, {
        "id": "{v}.id", "name": "{v}.name", "kind": "{v}.kind", "visibility": "{v}.visibility",
        "description": "coalesce({v}.description, '')", "website": "coalesce({v}.website, '')",
        "languages": "coalesce({v}.languages, [])", "identifiers": "coalesce({v}.identifiers, [])",
        "aliases": "coalesce({v}.aliases, [])", "source": "coalesce({v}.source, '')",
    }),
    "service": _expressions(Service, {
        "id": "{v}.id", "organisation": "{v}.organisation", "name": "{v}.name", "type": "{v}.type",
        "visibility": "{v}.visibility", "description": "coalesce({v}.description, '')",
        "eligibility": "coalesce({v}.eligibility, '')", "cost": "coalesce({v}.cost, '')",
        "languages": "coalesce({v}.languages, [])", "status": "coalesce({v}.status, 'active')",
        "response_hours": "{v}.response_hours", "hours": "coalesce({v}.hours, '')",
        "application_process": "coalesce({v}.application_process, '')",
        "exclusions": "coalesce({v}.exclusions, '')", "status_reason": "coalesce({v}.status_reason, '')",
        "status_source": "coalesce({v}.status_source, '')", "purposes": "coalesce({v}.purposes, [])",
        "intake_languages": "coalesce({v}.intake_languages, [])",
        # as a record holds them: sorted (`reads.service_of`)
        "groups": "COLLECT {{ MATCH ({v})-[:SERVES]->({v}_g:DefenderGroup) RETURN {v}_g.code AS x ORDER BY x }}",
        "origins": "COLLECT {{ MATCH ({v})-[:TAKES_FROM]->({v}_q:Place) RETURN {v}_q.code AS x ORDER BY x }}",
    }),
}
# A link's own fields (its properties are read as records: their types vary by link type).
LINK_FIELDS = {"type": "type({l})", "source": "{a}.id", "target": "{b}.id", "key": "coalesce({l}.key, '')",
               "visibility": "{l}.visibility"}


@dataclass(frozen=True)
class Pick:
    """One value under `key`: a field, or a constant (`constant` set), or a field with a prefix
    (`prefix`: a global id is its type name and the record id)."""

    key: str
    field: str = ""
    upper: bool = False  # as an enum's name: PUBLIC for public
    prefix: str = ""
    constant: str | None = None


@dataclass(frozen=True)
class Follow:
    """Under `key`: an organisation's services the viewer may see (`services`, by name), or a
    service's provider (`provider`), each as `shape` asks."""

    key: str
    what: str  # services | provider
    shape: Shape


@dataclass(frozen=True)
class End:
    """Under `key`: a link's source or target organisation, as `shape` asks."""

    key: str
    end: str  # source | target
    shape: Shape


@dataclass(frozen=True)
class Links:
    """Under `key`: an organisation's links the viewer may see, leaving it (`out`) or reaching it."""

    key: str
    direction: str  # out | in
    types: str | None  # the parameter holding the link types asked for; None: every type
    parts: tuple[Pick | End, ...] = ()


@dataclass(frozen=True)
class Located:
    """Under `key`: an organisation's location as the viewer may see it, the parts in `parts`
    (key, one of LOCATION_PARTS) and `precision` as an enum's name."""

    key: str
    parts: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Covered:
    """Under `key`: a service's coverage, each place with the parts in `parts` (key, one of
    COVERAGE_PARTS; presence as an enum's name), empty where the viewer may not see where its
    provider works."""

    key: str
    parts: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Shape:
    """What to read of one record (an organisation or a service), in the order it is wanted."""

    kind: str
    parts: tuple[Pick | Follow | Links | Located | Covered, ...] = ()


class Unprojectable(Exception):
    """A shape asks for something no projection gives (a channel reads records instead)."""


@lru_cache(maxsize=1024)
def check(shape: Shape) -> None:
    """Refuse a shape holding a field that is not the same in every view (a shape that passes is
    remembered: only a refusal is checked again)."""
    for part in shape.parts:
        if isinstance(part, Pick) and part.constant is None and part.field not in PROJECTED[shape.kind]:
            raise Unprojectable(f"{shape.kind}.{part.field}")
        if isinstance(part, Follow):
            if part.what != ("services" if shape.kind == "organisation" else "provider"):
                raise Unprojectable(f"{shape.kind}.{part.what}")
            check(part.shape)
        if isinstance(part, Located) and (shape.kind != "organisation"
                                          or any(p not in LOCATION_PARTS for _, p in part.parts)):
            raise Unprojectable(f"{shape.kind}.location")
        if isinstance(part, Covered) and (shape.kind != "service" or not _coverage_alike()
                                          or any(p not in COVERAGE_PARTS for _, p in part.parts)):
            raise Unprojectable(f"{shape.kind}.coverage")
        if isinstance(part, Links):
            if shape.kind != "organisation":
                raise Unprojectable(f"{shape.kind}.links")
            for inner in part.parts:
                if isinstance(inner, Pick) and inner.constant is None and inner.field not in LINK_FIELDS:
                    raise Unprojectable(f"link.{inner.field}")
                if isinstance(inner, End):
                    check(inner.shape)


def _value(expr: str, pick: Pick) -> str:
    if pick.constant is not None:
        return "'" + pick.constant.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if pick.prefix:
        expr = f"'{pick.prefix}' + {expr}"
    return f"toUpper({expr})" if pick.upper else expr


class _Writer:
    """Writes one shape's projection; each nesting level gets fresh variable names."""

    def __init__(self, audit: bool) -> None:
        self.audit = audit
        self.count = 0

    def fresh(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def record(self, v: str, shape: Shape, provider: str = "") -> str:
        """`v`'s projection; `provider`: for a service, its organisation's variable."""
        table = PROJECTED[shape.kind]
        parts = []
        for part in shape.parts:
            if isinstance(part, Pick):
                value = _value(table.get(part.field, "").format(v=v), part)
                if part.field in WITHHELD[shape.kind]:  # a list of places, none where the place is withheld
                    holder = v if shape.kind == "organisation" else provider
                    if not holder:
                        raise ValueError(f"a service's {part.field} is projected only beside its provider")
                    value = f"CASE WHEN {place_shown(holder)} THEN {value} ELSE [] END"
                parts.append(f"`{part.key}`: {value}")
            elif isinstance(part, Follow) and part.what == "services":
                s = self.fresh("s")
                parts.append(f"`{part.key}`: COLLECT {{ MATCH ({v})-[:OFFERS]->({s}:Service) WHERE {visible(s)}\n"
                             f"  RETURN {self.record(s, part.shape, v)} AS x ORDER BY {s}.name, {s}.id }}")
            elif isinstance(part, Follow):
                o = self.fresh("o")
                parts.append(f"`{part.key}`: COLLECT {{ MATCH ({v})<-[:OFFERS]-({o}:Organisation) WHERE {visible(o)}\n"
                             f"  RETURN {self.record(o, part.shape)} AS x }}[0]")
            elif isinstance(part, Covered):
                if not provider:
                    raise ValueError("a service's coverage is projected only beside its provider")
                codes = f"CASE WHEN {place_shown(provider)} THEN coalesce({v}.coverage_codes, '') ELSE '' END"
                wanted = ", ".join(f"['{k}', '{p}']" for k, p in part.parts)
                parts.append(f"`{part.key}`: {{`{COVERED}`: [{codes}, [{wanted}]]}}")
            elif isinstance(part, Located):
                wanted = ", ".join(f"['{k}', '{p}']" for k, p in part.parts)
                parts.append(f"`{part.key}`: {{`{PLACED}`: [{v}.id, {v}.latitude, {v}.longitude, {v}.precision, "
                             f"{v}.country, {v}.subdivision, coalesce({v}.place_withheld, false), [{wanted}]]}}")
            else:
                parts.append(f"`{part.key}`: {self.links(v, part)}")
        if self.audit:
            parts.append(f"`{AUDIT}`: CASE WHEN {v}.visibility = 'restricted' THEN ['{shape.kind}', {v}.id] END")
        # A map literal, not a projection `v {...}`: ArcadeDB returns a map literal holding a
        # projection as the projection alone (`{type: type(l), target: b {.name}}` reads `{name}`).
        return f"{{{', '.join(parts)}}}"

    def links(self, v: str, link: Links) -> str:
        rel, other = self.fresh("l"), self.fresh("b")
        a, b = (v, other) if link.direction == "out" else (other, v)
        arrow = ("-", "->") if link.direction == "out" else ("<-", "-")  # from the row's own node (docs/store.md)
        pattern = f"({v}){arrow[0]}[{rel}:{'|'.join(LINK_TYPES)}]{arrow[1]}({other}:Organisation)"
        where = [visible(other), link_visible(rel, a, b)]
        if link.types is not None:
            where.append(f"type({rel}) IN ${link.types}")
        parts = []
        for part in link.parts:
            if isinstance(part, Pick):
                expr = LINK_FIELDS.get(part.field, "").format(l=rel, a=a, b=b)
                parts.append(f"`{part.key}`: {_value(expr, part)}")
            else:
                parts.append(f"`{part.key}`: {self.record(a if part.end == 'source' else b, part.shape)}")
        if self.audit:
            parts.append(f"`{AUDIT}`: CASE WHEN {rel}.visibility = 'restricted' "
                         f"THEN ['link', {a}.id, type({rel}), {b}.id, coalesce({rel}.key, '')] END")
        return (f"COLLECT {{ MATCH {pattern} WHERE {' AND '.join(where)}\n"
                f"  RETURN {{{', '.join(parts)}}} AS x ORDER BY type({rel}), {other}.id, coalesce({rel}.key, '') }}")


@lru_cache(maxsize=1024)
def by_id(shape: Shape, audit: bool) -> str:
    """The records with these ids (`$ids`) the viewer may see, each as `v` beside its `id`; a
    service only with a provider the viewer may see."""
    writer = _Writer(audit)
    if shape.kind == "organisation":
        return f"""UNWIND $ids AS wanted
MATCH (n:Organisation {{id: wanted}})
WHERE {visible('n')}
RETURN n.id AS id, {writer.record('n', shape)} AS v"""
    return f"""UNWIND $ids AS wanted
MATCH (s:Service {{id: wanted}})<-[:OFFERS]-(o:Organisation)
WHERE {visible('o')} AND {visible('s')}
RETURN s.id AS id, {writer.record('s', shape, 'o')} AS v"""


@lru_cache(maxsize=1024)
def listing(shape: Shape, sort: Sort, source: str, wanted: frozenset[str], audit: bool, counted: bool = False) -> str:
    """One page of a listing (`records.listing.page_of`), each entry the record's id, distance, sort
    key and projection."""
    var = "n" if shape.kind == "organisation" else "s"
    returned = f"[{var}.id, distance, k, {_Writer(audit).record(var, shape, 'n')}]"  # n: a service's provider
    return page_of(shape.kind, sort, source, wanted, returned, counted)


def audits(viewer: Viewer) -> bool:
    """Whether a projection for this viewer must mark restricted records: anyone but the public
    may be shown some (a member its own organisation's)."""
    return viewer.role != "anonymous"


@lru_cache(maxsize=1024)
def finishes(shape: Shape) -> bool:
    """Whether the shape asks anywhere for a part `finished` makes (a location, a coverage)."""
    for part in shape.parts:
        if isinstance(part, Located | Covered):
            return True
        inner = [part.shape] if isinstance(part, Follow) else \
            [p.shape for p in part.parts if isinstance(p, End)] if isinstance(part, Links) else []
        if any(finishes(x) for x in inner):
            return True
    return False


def finished(values: list[Any], viewer: Viewer) -> Iterator[tuple[str, str]]:
    """Make the values under these what the viewer may see and asked for: each location as its
    view shows it, each coverage as items, and `AUDIT` taken out, giving (kind, id) for each
    restricted record."""
    stack = list(values)
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            mark = item.pop(AUDIT, None)
            if mark is not None:
                yield (mark[0], link_id(*mark[1:]) if mark[0] == "link" else mark[1])
            for key, value in item.items():
                if isinstance(value, dict) and PLACED in value:
                    item[key] = _location(value[PLACED], viewer)
                elif isinstance(value, dict) and COVERED in value:
                    item[key] = _coverage(*value[COVERED])
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)


def _location(placed: list[Any], viewer: Viewer) -> dict[str, Any]:
    record, latitude, longitude, precision, country, subdivision, withheld, wanted = placed
    recorded = Location(latitude, longitude, Precision(precision or "hidden"), country, subdivision)
    point = any(part in ("latitude", "longitude") for _, part in wanted)  # else the point need not be worked out
    shown = shown_location(recorded, record, viewer.view_of(record), bool(withheld), point)
    values = {"latitude": shown.latitude, "longitude": shown.longitude, "precision": shown.precision.name,
              "country": shown.country, "subdivision": shown.subdivision, "__typename": "Location"}
    return {key: values[part] for key, part in wanted}


def _coverage(codes: str, wanted: list[list[str]]) -> list[dict[str, str]]:
    """Coverage as a record holds it (sorted by place and presence), each item the parts wanted."""
    items = sorted(place_entries(codes))
    return [{key: place if part == "place" else presence.upper() if part == "presence" else "Coverage"
             for key, part in wanted} for place, presence in items]


def _sample_shape() -> Shape:
    """A shape holding every kind of step, for the lint."""
    org = tuple(Pick(f, f) for f in PROJECTED["organisation"])
    svc = tuple(Pick(f, f) for f in PROJECTED["service"])
    inner = Shape("organisation", (Pick("id", "id", prefix="Organisation:"), Pick("t", constant="Organisation")))
    covered = Covered("coverage", tuple((p, p) for p in COVERAGE_PARTS))
    service = Shape("service", (*svc, covered, Pick("v", "visibility", upper=True), Follow("by", "provider", inner)))
    target = Shape("organisation", (*org, Follow("s", "services", service)))
    out = Links("out", "out", "types_1", (*(Pick(f, f) for f in LINK_FIELDS), End("to", "target", target)))
    back = Links("in", "in", None, (Pick("type", "type"), End("from", "source", inner)))
    where = Located("location", tuple((p, p) for p in LOCATION_PARTS))
    return Shape("organisation", (*org, where, Follow("services", "services", service), out, back))


@sampled
def samples() -> dict[str, str]:
    shape = _sample_shape()
    out = {}
    for audit in (False, True):
        out[f"projection.organisation.{audit}"] = by_id(shape, audit)
        out[f"projection.listing.{audit}"] = listing(shape, Sort.NAME, "service",
                                                     frozenset({"country", "service_type", "after"}), audit)
        out[f"projection.listing.counted.{audit}"] = listing(shape, Sort.RESPONSE_TIME, "place",
                                                             frozenset({"country"}), audit, True)
    service = next(p.shape for p in shape.parts if isinstance(p, Follow))
    out["projection.service"] = by_id(service, True)
    out["projection.services"] = listing(service, Sort.UPDATED, "place", frozenset({"country"}), False)
    return out
