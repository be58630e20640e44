"""Listing organisations and services: filters, proximity, sort orders and stable cursors.

A statement holds only the conditions of the filters given (`given`) and starts from the most
selective source they allow (`source_of`: the places near a point, the asked places' services, the
places, one organisation, or all); no condition is guarded by `$x IS NULL OR`, which the server
would test on every row. Statements are built from fragments and kept once built (`matching`); the
Cypher lint reads every fragment, each filter alone and all together from each source (`samples`).

Rules that keep a listing from telling more than its records do:
- a service condition (type, defender group, place) only counts visible services;
- `verified` counts only vetting links we published (never a peer's), that the viewer may see, by
  vetters the viewer may see;
- proximity and distance use the published point (`writes.derived_organisation`), never the
  recorded one, and a record published at country precision matches by country;
- an organisation's own place matches by what the viewer may see of it: the subdivision only when
  its published precision shows one, and never, for the public, a shelter whose place is withheld
  (`store.shelters`);
- the update time filtered and sorted on is the viewer's view of it (`viewer.py`);
- the response-time sort key is the fastest *visible* service;
- a cursor holds only the sort key and id of a record the viewer was shown.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from directory.base.clock import now
from directory.domain import places
from directory.domain.errors import BadArgument
from directory.domain.validation import asked_language, require_day, require_status
from directory.store.engine.cypher import (
    group_served,
    link_visible,
    offered_in,
    place_shown,
    sampled,
    service_map,
    shown,
    shown_subdivision,
    spoken_by,
    taking_requests,
    type_offered,
    visible,
)

MAX_PAGE = 100
MAX_RADIUS_KM = 5000.0
_FAR = 1.0e12  # sort key of records with no distance or no response time: after all others

# How far a published point may be from the recorded one, by precision (half a grid cell's diagonal).
TOLERANCE_M = {"exact": 0.0, "locality": 7_900.0, "admin_area": 79_000.0}


class Sort(StrEnum):
    NAME = "name"
    DISTANCE = "distance"
    RESPONSE_TIME = "response_time"
    UPDATED = "updated"  # most recently updated first


@dataclass
class Near:
    latitude: float
    longitude: float
    radius_km: float


@dataclass
class Filter:
    """Conditions on organisations, or on services (where `kind` is the provider's kind)."""

    kind: str | None = None
    service_type: str | None = None
    country: str | None = None
    subdivision: str | None = None
    region: str | None = None
    group: str | None = None
    language: str | None = None
    verified: bool | None = None
    updated_since: str | None = None
    organisation: str | None = None  # services of one provider
    near: Near | None = None
    status: str | None = None  # services: active, paused or closed
    taking_requests: bool | None = None  # services: active, and in an intake window if they have any
    today: str | None = None  # for taking_requests; the clock's day when not given

    @property
    def spoken(self) -> str | None:
        """The language asked, as its code (`validation.asked_language`: `spa` is `es`, and `mul`,
        any language, narrows nothing)."""
        return asked_language(self.language, "language")

    def params(self) -> dict[str, Any]:
        """Query parameters, checked: a bad value is a `BadArgument` naming the field."""
        country = _country(self.country)
        subdivision = _subdivision(self.subdivision)
        region_areas, region_countries = _region(self.region)
        out: dict[str, Any] = {
            "kind": self.kind, "service_type": self.service_type, "group": self.group,
            "status": require_status(self.status, "status") if self.status else None,
            "taking_requests": self.taking_requests,
            "today": require_day(self.today, "today") if self.today else now()[:10],
            "language": self.spoken, "verified": self.verified,
            "organisation": self.organisation,
            "updated_since": _timestamp(self.updated_since) if self.updated_since else None,
            "country": country, "country_areas": places.enclosing(country) if country else [],
            "subdivision": subdivision,
            "subdivision_areas": places.covering(subdivision) if subdivision else [],  # a region's districts too
            "subdivision_inside": [subdivision, *places.inside(subdivision)] if subdivision else [],
            "region": self.region and region_areas[0], "region_areas": region_areas,
            "region_countries": region_countries,
            "enclosing_region": places.enclosing(region_areas[0]) if region_areas else [],
        }
        out.update(_near(self.near))
        out.update(_anchor(country, subdivision, region_areas, region_countries))
        return out


def _anchor(country: str | None, subdivision: str | None, region_areas: list[str],
            region_countries: list[str]) -> dict[str, list[str]]:
    """Places whose services may match, and countries whose organisations may: a superset, checked
    again by the full condition. The most specific place condition given is enough. `reach_places`:
    the same less the subdivisions of a country or region asked, whose services of a type a listing
    finds from their country's node of what lies inside it (`_services_at`)."""
    if subdivision:
        covering = places.covering(subdivision)  # what encloses it, and what lies within it
        return {"anchor_places": covering, "reach_places": covering, "anchor_countries": [subdivision.split("-")[0]]}
    if country:
        inside = [s.code for s in places.subdivisions_of(country)]
        return {"anchor_places": places.enclosing(country) + inside, "reach_places": places.enclosing(country),
                "anchor_countries": [country]}
    if region_areas:
        inside = [s.code for c in region_countries for s in places.subdivisions_of(c)]
        around = sorted(set(region_areas + places.enclosing(region_areas[0]) + region_countries))
        return {"anchor_places": sorted(set(around + inside)), "reach_places": around,
                "anchor_countries": region_countries}
    return {"anchor_places": [], "reach_places": [], "anchor_countries": []}


def _country(value: str | None) -> str | None:
    return places.require_country(value, "country") if value else None


def _subdivision(value: str | None) -> str | None:
    return places.require_subdivision(value, "subdivision") if value else None


def _region(value: str | None) -> tuple[list[str], list[str]]:
    return places.within(places.require_area(value, "region")) if value else ([], [])


def _timestamp(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadArgument("updatedSince", "%(value)r is not an ISO 8601 date or date and time", value=value) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _near(near: Near | None) -> dict[str, Any]:
    if near is None:
        return {"near_lat": None, "near_lon": None, "near_m": None, "lat_min": None, "lat_max": None,
                "lon_min": None, "lon_max": None, "near_countries": []}
    if not -90 <= near.latitude <= 90:
        raise BadArgument("near.latitude", "%(value)s is outside -90 to 90", value=near.latitude)
    if not -180 <= near.longitude <= 180:
        raise BadArgument("near.longitude", "%(value)s is outside -180 to 180", value=near.longitude)
    if not 0 < near.radius_km <= MAX_RADIUS_KM:
        raise BadArgument("near.radiusKm", "%(value)s is outside 0 (excluded) to %(most)s", value=near.radius_km,
                          most=format(MAX_RADIUS_KM, "g"))
    # A bounding box wide enough for the radius plus the coarsest tolerance lets the range
    # indexes on the published point do the first cut; point.distance() refines.
    lat_min, lat_max, lon_min, lon_max = places.box(near.latitude, near.longitude,
                                                    near.radius_km + max(TOLERANCE_M.values()) / 1000)
    within = [c.code for c in places.countries().values() if c.latitude is not None and c.longitude is not None
              and places.distance_km(near.latitude, near.longitude, c.latitude, c.longitude) <= near.radius_km]
    home = places.nearest_country(near.latitude, near.longitude)
    return {"near_lat": near.latitude, "near_lon": near.longitude, "near_m": near.radius_km * 1000,
            "lat_min": lat_min, "lat_max": lat_max, "lon_min": lon_min, "lon_max": lon_max,
            "near_countries": sorted(set(within) | ({home} if home else set()))}


# --- cursors ------------------------------------------------------------------------------------


def cursor(sort: Sort, key: Any, record_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([sort.value, key, record_id]).encode()).decode()


def uncursor(sort: Sort, value: str | None) -> tuple[Any, str | None]:
    if not value:
        return None, None
    try:
        sort_name, key, record_id = json.loads(base64.urlsafe_b64decode(value.encode()))
    except (ValueError, TypeError):
        raise BadArgument("after", "the cursor is not one this service gave out") from None
    if sort_name != sort.value or not isinstance(record_id, str):
        raise BadArgument("after", "the cursor belongs to a different sort order")
    return key, record_id


# --- statements ---------------------------------------------------------------------------------
# Assembled from the filters given (`given`): each filter adds its condition, none is a guard.

PLACES = ("country", "subdivision", "region")
_TOLERANCE = ("CASE n.precision " + " ".join(f"WHEN '{p}' THEN {m:.1f}" for p, m in TOLERANCE_M.items() if m)
              + " ELSE 0.0 END")
_NEAR_SOURCE = f"""CALL () {{
  MATCH (n:Organisation)
  WHERE n.pub_latitude >= $lat_min AND n.pub_latitude <= $lat_max
    AND n.pub_longitude >= $lon_min AND n.pub_longitude <= $lon_max AND {place_shown('n')}
  WITH n, point.distance(point({{latitude: n.pub_latitude, longitude: n.pub_longitude}}),
                         point({{latitude: $near_lat, longitude: $near_lon}})) AS distance
  WHERE distance <= $near_m + {_TOLERANCE}
  RETURN n, distance
  UNION
  MATCH (n:Organisation)
  WHERE n.country IN $near_countries AND n.pub_latitude IS NULL AND n.precision <> 'hidden' AND {place_shown('n')}
  RETURN n, null AS distance
}}"""

# A place `p` a service is available in (or takes defenders from) is the asked place.
_AT_PLACE = {
    "country": "(p.code IN $country_areas OR p.country = $country)",
    "subdivision": "p.code IN $subdivision_areas",
    "region": "(p.code IN $region_areas OR p.code IN $enclosing_region OR p.country IN $region_countries)",
}
# An organisation's own place is the asked place, as far as the viewer may see it.
_BASED_AT = {
    "country": "n.country = $country",
    "subdivision": f"{shown_subdivision('n')} IN $subdivision_inside",
    "region": "n.country IN $region_countries",
}
# Vetting is ours to give: a link a peer published (from its own records) never counts.
_VERIFIED = f"""$verified = EXISTS {{
         MATCH (n)-[v:VETTED_BY]->(w:Organisation)
         WHERE v.publisher = $me AND {visible('w')} AND {link_visible('v', 'n', 'w')} }}"""


def given(where: Filter, after: bool = False) -> frozenset[str]:
    """The names of the filters that hold a value (and `after` when a page follows a cursor)."""
    names = {f for f in ("kind", "service_type", "country", "subdivision", "region", "group", "spoken",
                         "verified", "updated_since", "organisation", "status", "taking_requests")
             if getattr(where, f) is not None}
    names = {"language" if f == "spoken" else f for f in names}
    return frozenset(names | ({"after"} if after else set()))


def _all(conditions: list[str]) -> str:
    return "\n  AND ".join(conditions)


def _at_place(var: str, owner: str, wanted: frozenset[str]) -> str:
    """The service `var` is available in the asked place, or takes defenders from it (relocation and
    exile support: `TAKES_FROM`, its origins); for the public, never a service of a shelter whose
    place is withheld (`store.shelters`): where it works is where it is."""
    return (f"{place_shown(owner)} AND EXISTS {{ MATCH ({var})-[:AVAILABLE_IN|TAKES_FROM]->(p:Place)\n"
            f"         WHERE {_all([_AT_PLACE[f] for f in PLACES if f in wanted])} }}")


# The filters on a service: an organisation listed by them must offer one service that meets them all
ON_SERVICES = frozenset({"service_type", "group", "status", "taking_requests"})


def _service_conditions(wanted: frozenset[str], placed: bool = True) -> list[str]:
    """What a service `s` of organisation `n` must be for the filters on services."""
    out = [visible("s")]
    if "service_type" in wanted:
        out.append(type_offered("s"))
    if "group" in wanted:
        out.append(group_served("s"))
    if "status" in wanted:
        out.append("coalesce(s.status, 'active') = $status")
    if "taking_requests" in wanted:
        out.append(f"$taking_requests = {taking_requests('s')}")
    if placed and wanted & set(PLACES):
        out.append(_at_place("s", "n", wanted))
    return out


def _organisation_where(wanted: frozenset[str], anchored: bool) -> str:
    """An organisation matches a place by where it is based or by where a visible service of it is
    available; with a service type or group, that one service must also be in the place.
    `anchored`: the source gave only organisations in the place asked, or with such a service."""
    out = [visible("n")]
    if "organisation" in wanted:
        out.append("n.id = $organisation")
    if "kind" in wanted:
        out.append("n.kind = $kind")
    if "language" in wanted:
        out.append(f"({spoken_by('n')})")
    if "updated_since" in wanted:
        out.append(f"{shown('n', 'updated_at')} >= $updated_since")
    if "verified" in wanted:
        out.append(_VERIFIED)
    some_service = f"EXISTS {{ MATCH (n)-[:OFFERS]->(s:Service)\n         WHERE {_all(_service_conditions(wanted))} }}"
    if anchored:
        out.append(place_shown("n"))
    elif wanted & ON_SERVICES:
        out.append(some_service)
    elif wanted & set(PLACES):
        based = _all([place_shown("n"), *(_BASED_AT[f] for f in PLACES if f in wanted)])
        out.append(f"(({based})\n       OR {some_service})")
    return _all(out)


def _service_where(wanted: frozenset[str]) -> str:
    out = [visible("n"), *_service_conditions(wanted)]
    if "kind" in wanted:
        out.append("n.kind = $kind")
    if "organisation" in wanted:
        out.append("n.id = $organisation")
    if "language" in wanted:
        out.append(offered_in("s", "n"))
    if "updated_since" in wanted:
        out.append(f"{shown('s', 'updated_at')} >= $updated_since")
    if "verified" in wanted:
        out.append(_VERIFIED)
    return _all(out)


def _key(kind: str, sort: Sort, wanted: frozenset[str]) -> tuple[str, bool]:
    """The sort key expression and whether it sorts descending. Response time: the fastest
    *visible* service (of the asked type, when one is asked)."""
    if sort is Sort.NAME:
        return ("n.name" if kind == "organisation" else "s.name"), False
    if sort is Sort.UPDATED:
        return shown("n" if kind == "organisation" else "s", "updated_at"), True
    if sort is Sort.DISTANCE:
        return f"coalesce(distance, {_FAR})", False
    if kind == "service":
        return f"coalesce(s.response_hours, {_FAR})", False
    typed = f" AND {type_offered('s')}" if "service_type" in wanted else ""
    return (f"coalesce(COLLECT {{ MATCH (n)-[:OFFERS]->(s:Service)\n"
            f"          WHERE {visible('s')}{typed} AND s.response_hours IS NOT NULL\n"
            f"          RETURN s.response_hours AS hours ORDER BY hours LIMIT 1 }}[0], {_FAR})"), False


def _organisation_source(source: str, wanted: frozenset[str]) -> str:
    """Where the candidates come from, anchored on the most selective filter given:
    - near: the published points in a box around the point, and those known by country only;
    - service: a place and a service condition: the matching services available at the places
      asked, then their providers;
    - place: a place alone: the visible services available at the places asked, then their
      providers, and the organisations based there;
    Both are exact for the place and service conditions (`_AT_PLACE` is checked on the places
    the anchor gives, a superset): the organisation's own conditions are checked after them.
    - organisation: the one organisation asked (`organisation` lists it alone, if it matches);
    - all: every organisation."""
    if source == "near":
        return _NEAR_SOURCE
    if source == "organisation":
        return "MATCH (n:Organisation {id: $organisation}) WITH n, null AS distance"
    if source == "service":
        return f"""{_services_at(wanted)}
WITH s WHERE {_all(_service_conditions(wanted, placed=False))}
MATCH (s)<-[:OFFERS]-(n:Organisation)
WITH DISTINCT n
WITH n, null AS distance"""
    if source == "place":
        based = _all(["n.country IN $anchor_countries", *(_BASED_AT[f] for f in PLACES if f in wanted)])
        return f"""CALL () {{
  MATCH (p:Place) WHERE p.code IN $anchor_places
    AND {_all([_AT_PLACE[f] for f in PLACES if f in wanted])}
  MATCH (p)<-[:AVAILABLE_IN|TAKES_FROM]-(s:Service)
  WHERE {visible('s')}
  MATCH (s)<-[:OFFERS]-(n:Organisation)
  RETURN DISTINCT n
  UNION
  MATCH (n:Organisation) WHERE {based}
  RETURN n
}}
WITH DISTINCT n
WITH n, null AS distance"""
    return "MATCH (n:Organisation) WITH n, null AS distance"


def _services_at(wanted: frozenset[str]) -> str:
    """The services `s` available at a place asked or taking defenders from one (a superset when no
    service type is asked). With a service type asked, those available there come from the place's
    node of that type (`writes.REACH`, which a grant paying for the type reaches too): a country's
    place holds the services of every type (at 100k, Colombia's places about 100,000), its node of
    one type only those (Colombia and legal aid: 848 ms from the places, 190 from the nodes). For a
    country or region, those in its subdivisions come from each country's nodes of what lies inside it
    (`in:` and `from:`), not from each subdivision's (docs/store.md has the cost)."""
    at = _all([_AT_PLACE[f] for f in PLACES if f in wanted])
    if "service_type" not in wanted:
        return f"""MATCH (p:Place) WHERE p.code IN $anchor_places
  AND {at}
MATCH (p)<-[:AVAILABLE_IN|TAKES_FROM]-(s:Service)"""
    inside = "" if "subdivision" in wanted else """
  UNION
  MATCH (:Reach {key: 'in:' + p.code + ' ' + $service_type})<-[:REACHES]-(s:Service)
  RETURN s
  UNION
  MATCH (:Reach {key: 'from:' + p.code + ' ' + $service_type})<-[:REACHES]-(s:Service)
  RETURN s"""
    return f"""MATCH (p:Place) WHERE p.code IN $reach_places
  AND {at}
CALL (p) {{
  MATCH (:Reach {{key: p.code + ' ' + $service_type}})<-[:REACHES]-(s:Service)
  RETURN s
  UNION
  MATCH (p)<-[:TAKES_FROM]-(s:Service)
  RETURN s{inside}
}}"""


def _service_source(source: str, wanted: frozenset[str]) -> str:
    if source == "near":
        return f"{_NEAR_SOURCE}\nMATCH (n)-[:OFFERS]->(s:Service)"
    if source == "organisation":
        return "MATCH (n:Organisation {id: $organisation})-[:OFFERS]->(s:Service) WITH n, s, null AS distance"
    if source == "place":
        return f"""{_services_at(wanted)}
WITH DISTINCT s
MATCH (s)<-[:OFFERS]-(n:Organisation)
WITH n, s, null AS distance"""
    return "MATCH (n:Organisation)-[:OFFERS]->(s:Service) WITH n, s, null AS distance"


def _tie(record: str) -> str:
    """What orders records of the same key: ours before a peer's, then by id. A peer's copy of one of
    ours by name came first when its directory's name sorted first."""
    return f"(CASE WHEN {record}.id STARTS WITH $me + ':' THEN '0' ELSE '1' END + {record}.id)"


def after_tie(directory_id: str, record_id: str | None) -> str | None:
    """A cursor's record as `_tie` orders it."""
    if record_id is None:
        return None
    return ("0" if record_id.startswith(f"{directory_id}:") else "1") + record_id


def _after(descending: bool, record: str) -> str:
    op = "<" if descending else ">"
    return f"(k {op} $after_key OR (k = $after_key AND {_tie(record)} > $after_tie))"


@lru_cache(maxsize=1024)
def matching(kind: str, sort: Sort, source: str, wanted: frozenset[str]) -> str:
    """A listing's rows before their order and what each returns: `n`, `distance` and the sort key
    `k` (and `s` for services)."""
    key, desc = _key(kind, sort, wanted)
    after = f"\nWHERE {_after(desc, 'n' if kind == 'organisation' else 's')}" if "after" in wanted else ""
    if kind == "organisation":
        return f"""{_organisation_source(source, wanted)}
WITH n, distance WHERE {_organisation_where(wanted, anchored=source in ('service', 'place'))}
WITH n, distance, {key} AS k{after}"""
    return f"""{_service_source(source, wanted)}
WITH n, s, distance WHERE {_service_where(wanted)}
WITH n, s, distance, {key} AS k{after}"""


def _order(kind: str, sort: Sort) -> str:
    """The listing's order: by the key, then ours before a peer's and by id (`tie`), so a cursor is stable."""
    return f"ORDER BY k{' DESC' if _key(kind, sort, frozenset())[1] else ''}, tie"


# What a listing orders and counts: ids and keys, never a record. ArcadeDB weighs each row it holds
# for an order or a collect by all it carries: collecting every matching record to count them was
# refused ("Query heap budget exceeded") once a peer's 32 MiB of the largest records were among
# them, and the records held ran its 512 MB heap out of memory with a few such requests at once.
# The page's records are matched again by id, and put in order again (a match keeps no order).
_KEYS = {"organisation": ("nid", "distance", "k", "tie"), "service": ("nid", "sid", "distance", "k", "tie")}
_AGAIN = {"organisation": f"MATCH (n:Organisation {{id: nid}})\nWHERE {visible('n')}",
          "service": f"MATCH (s:Service {{id: sid}})<-[:OFFERS]-(n:Organisation {{id: nid}})\n"
                     f"WHERE {visible('n')} AND {visible('s')}"}  # as the match: no record changed in between shows


def page_of(kind: str, sort: Sort, source: str, wanted: frozenset[str], returned: str, counted: bool) -> str:
    """A listing's page (up to `$limit` records) in one row: `page`, the list `returned` (a list
    expression of `n`, `s`, `distance` and `k`) of each record in order, and with `counted`,
    `total`, how many match in all, from the same match (no cursor may be given). One row, as
    ArcadeDB's Bolt costs about 0.05 ms a row (`read_page`)."""
    head, order = matching(kind, sort, source, wanted), _order(kind, sort)
    names = _KEYS[kind]
    of = {"nid": "n.id", "sid": "s.id", "tie": _tie("n" if kind == "organisation" else "s")}
    keys = ", ".join(f"{of[v]} AS {v}" if v in of else v for v in names)
    carried = "n, distance, k, tie" if kind == "organisation" else "n, s, distance, k, tie"
    again = f"{_AGAIN[kind]}\nWITH {carried}\n{order}"
    if not counted:
        return f"{head}\nWITH {keys}\n{order}\nLIMIT $limit\n{again}\nRETURN collect({returned}) AS page"
    unpacked = ", ".join(f"row[{i}] AS {v}" for i, v in enumerate(names))
    return (f"{head}\nWITH {keys}\n{order}\nWITH collect([{', '.join(names)}]) AS found\n"
            f"WITH size(found) AS total, found[0..$limit] AS page\nUNWIND page AS row\n"
            f"WITH total, {unpacked}\n{_AGAIN[kind]}\nWITH total, {carried}\n{order}\n"
            f"RETURN total, collect({returned}) AS page")


def read_page(result: list[dict[str, Any]]) -> tuple[list[list[Any]], int]:
    """A `page_of` statement's answer: the page's entries, and the total (0 when none match, or
    when it was not counted)."""
    if not result:  # counted, and nothing matched
        return [], 0
    return result[0]["page"], int(result[0].get("total") or 0)


@lru_cache(maxsize=1024)
def _records(kind: str, sort: Sort, source: str, wanted: frozenset[str], counted: bool = False) -> str:
    """Each entry: the record's map, whether its place is withheld from this viewer (a service's
    provider's), its distance and sort key."""
    returned = "[n {.*}, false" if kind == "organisation" else f"[{service_map('s')}, NOT {place_shown('n')}"
    return page_of(kind, sort, source, wanted, f"{returned}, distance, k]", counted)


@lru_cache(maxsize=1024)
def _count(kind: str, source: str, wanted: frozenset[str]) -> str:
    if kind == "organisation":
        return (f"{_organisation_source(source, wanted)}\n"
                f"WITH n, distance WHERE {_organisation_where(wanted, anchored=source in ('service', 'place'))}\n"
                "RETURN count(n) AS total")
    return (f"{_service_source(source, wanted)}\nWITH n, s, distance WHERE {_service_where(wanted)}\n"
            "RETURN count(s) AS total")


@dataclass
class Page:
    """One page of a listing: records in order, their cursors, and distances where asked."""

    items: list[Any]
    cursors: list[str]
    has_next: bool
    total: int | None = None  # None when not counted
    distances_km: list[float | None] = field(default_factory=list)


def source_of(kind: str, where: Filter) -> str:
    """The most selective anchor the filters allow (`_organisation_source`)."""
    if where.near is not None:
        return "near"
    placed = bool(where.country or where.subdivision or where.region)
    if where.organisation:
        return "organisation"
    if kind == "service":
        return "place" if placed else "all"
    if placed:
        return "service" if given(where) & ON_SERVICES else "place"
    return "all"


def require_sort(sort: Sort, where: Filter) -> None:
    if sort is Sort.DISTANCE and where.near is None:
        raise BadArgument("sort", "sorting by distance needs `near`")


def statement(kind: str, sort: Sort, where: Filter, after: bool = False, counted: bool = False) -> str:
    """The listing's statement returning records (`n {.*}`, or a service's map); `counted`: with
    the total (only without a cursor, `page_of`)."""
    require_sort(sort, where)
    return _records(kind, sort, source_of(kind, where), given(where, after), counted and not after)


def count_statement(kind: str, where: Filter) -> str:
    return _count(kind, source_of(kind, where), given(where))


_FILTERS = ("kind", "service_type", "country", "subdivision", "region", "group", "language", "verified",
            "updated_since", "organisation", "status", "taking_requests")


# What each source needs given to anchor on (`source_of`).
_NEEDS = {"all": frozenset(), "near": frozenset(), "place": frozenset({"country"}),
          "service": frozenset({"country", "service_type"}), "organisation": frozenset({"organisation"})}


@sampled
def samples() -> dict[str, str]:
    """Every fragment in some statement: each filter alone, and all together from each source;
    each sort with a cursor (`engine.cypher`)."""
    out: dict[str, str] = {}
    for kind, sources in (("organisation", ("all", "place", "service", "organisation", "near")),
                          ("service", ("all", "place", "organisation", "near"))):
        for source in sources:
            needs = _NEEDS[source]
            sets = [needs, needs | frozenset(_FILTERS)]
            if source == "all":
                sets += [frozenset({f}) for f in _FILTERS]
            for wanted in sets:
                name = f"listing.{kind}.{source}.{'+'.join(sorted(wanted)) or 'none'}"
                out[name] = _records(kind, Sort.NAME, source, wanted)
                out[f"{name}.counted"] = _records(kind, Sort.NAME, source, wanted, True)
                out[f"{name}.count"] = _count(kind, source, wanted)
        for sort in Sort:
            source = "near" if sort is Sort.DISTANCE else "all"
            out[f"listing.{kind}.{sort.value}.after"] = _records(kind, sort, source,
                                                                 frozenset({"after", "service_type"}))
    return out
