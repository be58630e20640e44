"""Listing organisations and services: filters, proximity, sort orders and stable cursors.

Every statement is static text registered with `cypher()`: one per (record type, sort order,
proximity or not), so what CI lints is exactly what runs. Filters are `($x IS NULL OR ...)`.

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
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from directory.base.clock import now
from directory.domain import places
from directory.domain.errors import BadArgument
from directory.domain.validation import require_day, require_status
from directory.store.engine.cypher import (
    cypher,
    offers_type,
    place_shown,
    serves_group,
    service_map,
    shown,
    shown_subdivision,
    taking_requests,
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

    def params(self) -> dict[str, Any]:
        """Query parameters, checked: a bad value is a `BadArgument` naming the field."""
        country = _code("country", self.country, places.country_code, "3166-1 country")
        subdivision = _code("subdivision", self.subdivision, places.subdivision_code, "3166-2 subdivision")
        region_areas, region_countries = _region(self.region)
        out: dict[str, Any] = {
            "kind": self.kind, "service_type": self.service_type, "group": self.group,
            "status": require_status(self.status, "status") if self.status else None,
            "taking_requests": self.taking_requests,
            "today": require_day(self.today, "today") if self.today else now()[:10],
            "language": self.language.lower() if self.language else None, "verified": self.verified,
            "organisation": self.organisation,
            "updated_since": _timestamp(self.updated_since) if self.updated_since else None,
            "country": country, "country_areas": places.enclosing(country) if country else [],
            "subdivision": subdivision, "subdivision_areas": places.enclosing(subdivision) if subdivision else [],
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
    again by the full condition. The most specific place condition given is enough."""
    if subdivision:
        return {"anchor_places": places.enclosing(subdivision), "anchor_countries": [subdivision.split("-")[0]]}
    if country:
        inside = [s.code for s in places.subdivisions_of(country)]
        return {"anchor_places": places.enclosing(country) + inside, "anchor_countries": [country]}
    if region_areas:
        inside = [s.code for c in region_countries for s in places.subdivisions_of(c)]
        enclosing = places.enclosing(region_areas[0])
        return {"anchor_places": sorted(set(region_areas + enclosing + region_countries + inside)),
                "anchor_countries": region_countries}
    return {"anchor_places": [], "anchor_countries": []}


def _code(argument: str, value: str | None, lookup: Callable[[str], str | None], standard: str) -> str | None:
    if not value:
        return None
    code = lookup(value)
    if code is None:
        raise BadArgument(argument, f"{value!r} is not an ISO {standard} code")
    return code


def _region(value: str | None) -> tuple[list[str], list[str]]:
    if not value:
        return [], []
    code = places.area_code(value)
    if code is None:
        raise BadArgument("region", f"{value!r} is not {places.AREAS}")
    return places.within(code)


def _timestamp(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadArgument("updatedSince", f"{value!r} is not an ISO 8601 date or date and time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _near(near: Near | None) -> dict[str, Any]:
    if near is None:
        return {"near_lat": None, "near_lon": None, "near_m": None, "lat_min": None, "lat_max": None,
                "lon_min": None, "lon_max": None, "near_countries": []}
    if not -90 <= near.latitude <= 90:
        raise BadArgument("near.latitude", f"{near.latitude} is outside -90 to 90")
    if not -180 <= near.longitude <= 180:
        raise BadArgument("near.longitude", f"{near.longitude} is outside -180 to 180")
    if not 0 < near.radius_km <= MAX_RADIUS_KM:
        raise BadArgument("near.radiusKm", f"{near.radius_km} is outside 0 (excluded) to {MAX_RADIUS_KM:g}")
    # A bounding box wide enough for the radius plus the coarsest tolerance lets the range
    # indexes on the published point do the first cut; point.distance() refines.
    reach_km = near.radius_km + max(TOLERANCE_M.values()) / 1000
    dlat = reach_km / 111.0
    cos = math.cos(math.radians(min(89.0, abs(near.latitude) + dlat)))
    dlon = 360.0 if cos < 1e-6 else reach_km / (111.0 * cos)
    lon_min, lon_max = near.longitude - dlon, near.longitude + dlon
    if lon_min < -180 or lon_max > 180:  # the box crosses the antimeridian: no longitude cut
        lon_min, lon_max = -180.0, 180.0
    within = [c.code for c in places.countries().values() if c.latitude is not None and c.longitude is not None
              and places.distance_km(near.latitude, near.longitude, c.latitude, c.longitude) <= near.radius_km]
    home = places.nearest_country(near.latitude, near.longitude)
    return {"near_lat": near.latitude, "near_lon": near.longitude, "near_m": near.radius_km * 1000,
            "lat_min": near.latitude - dlat, "lat_max": near.latitude + dlat, "lon_min": lon_min, "lon_max": lon_max,
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

def _place_condition(var: str, owner: str) -> str:
    """The service `var` is available in the asked place, or takes defenders from it (relocation and
    exile support: `TAKES_FROM`, its origins); for the public, never a service of a
    shelter whose place is withheld (`store.shelters`): where it works is where it is."""
    return f"""($country IS NULL AND $subdivision IS NULL AND $region IS NULL) OR {place_shown(owner)} AND EXISTS {{
                MATCH ({var})-[:AVAILABLE_IN|TAKES_FROM]->(p:Place)
                WHERE ($country IS NULL OR p.code IN $country_areas OR p.country = $country)
                  AND ($subdivision IS NULL OR p.code IN $subdivision_areas)
                  AND ($region IS NULL OR p.code IN $region_areas OR p.code IN $enclosing_region
                       OR p.country IN $region_countries) }}"""



# With a place condition and no proximity, start from the places instead of every organisation:
# the services available there (directly or through an area containing it) and the
# organisations based there. Only a superset; the full condition is applied afterwards.
_PLACE_SOURCE = f"""CALL () {{
  MATCH (p:Place) WHERE p.code IN $anchor_places
  MATCH (p)<-[:AVAILABLE_IN|TAKES_FROM]-(s:Service)
  WHERE {visible('s')}
  MATCH (n:Organisation)-[:OFFERS]->(s)
  RETURN DISTINCT n
  UNION
  MATCH (n:Organisation) WHERE n.country IN $anchor_countries
  RETURN n
}}"""

_VISIBLE_SERVICE = f"""(s:Service)
         WHERE {visible('s')}
           AND {offers_type('s')}
           AND {serves_group('s')}
           AND ({_place_condition('s', 'n')})"""


# Vetting is ours to give: a link a peer published (from its own records) never counts.
_VERIFIED = f"""($verified IS NULL OR $verified = EXISTS {{
         MATCH (n)-[v:VETTED_BY]->(w:Organisation)
         WHERE v.publisher = $me AND {visible('w')} AND (v.visibility IN $see OR $viewer_org IN [n.id, w.id]) }})"""

# An organisation matches a place by where it is based or by where a visible service of it is
# available; with a service type or group, that one service must also be in the place.
_ORGANISATION_WHERE = f"""{visible('n')}
  AND ($kind IS NULL OR n.kind = $kind)
  AND ($language IS NULL OR $language IN n.languages)
  AND ($updated_since IS NULL OR {shown('n', 'updated_at')} >= $updated_since)
  AND {_VERIFIED}
  AND (($service_type IS NULL AND $group IS NULL
        AND (($country IS NULL AND $subdivision IS NULL AND $region IS NULL) OR {place_shown('n')})
        AND ($country IS NULL OR n.country = $country)
        AND ($subdivision IS NULL OR {shown_subdivision('n')} = $subdivision)
        AND ($region IS NULL OR n.country IN $region_countries))
       OR EXISTS {{ MATCH (n)-[:OFFERS]->{_VISIBLE_SERVICE} }})"""

_SERVICE_WHERE = f"""{visible('n')} AND {visible('s')}
  AND ($kind IS NULL OR n.kind = $kind)
  AND ($organisation IS NULL OR n.id = $organisation)
  AND {offers_type('s')}
  AND ($status IS NULL OR coalesce(s.status, 'active') = $status)
  AND ($taking_requests IS NULL OR $taking_requests = {taking_requests('s')})
  AND ($language IS NULL OR $language IN s.languages OR $language IN coalesce(s.intake_languages, [])
       OR 'mul' IN coalesce(s.intake_languages, []))
  AND ($updated_since IS NULL OR {shown('s', 'updated_at')} >= $updated_since)
  AND {_VERIFIED}
  AND {serves_group('s')}
  AND ({_place_condition('s', 'n')})"""

_FASTEST = f"""COLLECT {{ MATCH (n)-[:OFFERS]->(s:Service)
          WHERE {visible('s')} AND {offers_type('s')} AND s.response_hours IS NOT NULL
          RETURN s.response_hours AS hours ORDER BY hours LIMIT 1 }}[0]"""

# sort -> (key expression for organisations, for services, descending?)
_KEYS: dict[Sort, tuple[str, str, bool]] = {
    Sort.NAME: ("n.name", "s.name", False),
    Sort.UPDATED: (shown("n", "updated_at"), shown("s", "updated_at"), True),
    Sort.RESPONSE_TIME: (f"coalesce({_FASTEST}, {_FAR})", f"coalesce(s.response_hours, {_FAR})", False),
    Sort.DISTANCE: (f"coalesce(distance, {_FAR})", f"coalesce(distance, {_FAR})", False),
}


def _after(descending: bool, record: str) -> str:
    op = "<" if descending else ">"
    return f"($after_id IS NULL OR k {op} $after_key OR (k = $after_key AND {record}.id > $after_id))"


def _organisation_source(source: str) -> str:
    return {"near": _NEAR_SOURCE, "place": f"{_PLACE_SOURCE}\nWITH DISTINCT n\nWITH n, null AS distance",
            "all": "MATCH (n:Organisation) WITH n, null AS distance"}[source]


def _organisation_list(sort: Sort, source_name: str) -> str:
    key, _, desc = _KEYS[sort]
    source = _organisation_source(source_name)
    return f"""{source}
WITH n, distance WHERE {_ORGANISATION_WHERE}
WITH n, distance, {key} AS k
WHERE {_after(desc, 'n')}
RETURN n {{.*}} AS n, distance, k
ORDER BY k{' DESC' if desc else ''}, n.id
LIMIT $limit"""


def _service_list(sort: Sort, near: bool) -> str:
    _, key, desc = _KEYS[sort]
    source = (f"{_NEAR_SOURCE}\nMATCH (n)-[:OFFERS]->(s:Service)" if near
              else "MATCH (n:Organisation)-[:OFFERS]->(s:Service) WITH n, s, null AS distance")
    return f"""{source}
WITH n, s, distance WHERE {_SERVICE_WHERE}
WITH n, s, distance, {key} AS k
WHERE {_after(desc, 's')}
RETURN {service_map('s')} AS s, NOT {place_shown('n')} AS unplaced, distance, k
ORDER BY k{' DESC' if desc else ''}, s.id
LIMIT $limit"""


_SOURCES = ("all", "place", "near")
LIST_ORGANISATIONS = {
    (sort, source): cypher(f"listing.organisations.{sort.value}.{source}", _organisation_list(sort, source))
    for sort in Sort for source in _SOURCES if source == "near" or sort is not Sort.DISTANCE
}
LIST_SERVICES = {
    (sort, near): cypher(f"listing.services.{sort.value}{'.near' if near else ''}", _service_list(sort, near))
    for sort in Sort for near in (False, True) if near or sort is not Sort.DISTANCE
}
COUNT_ORGANISATIONS = {
    source: cypher(f"listing.count_organisations.{source}", f"{_organisation_source(source)}\n"
                   f"WITH n, distance WHERE {_ORGANISATION_WHERE} RETURN count(n) AS total")
    for source in _SOURCES
}
COUNT_SERVICES = {
    False: cypher("listing.count_services", "MATCH (n:Organisation)-[:OFFERS]->(s:Service) WITH n, s, null AS distance "
                                            f"WHERE {_SERVICE_WHERE} RETURN count(s) AS total"),
    True: cypher("listing.count_services.near", f"{_NEAR_SOURCE}\nMATCH (n)-[:OFFERS]->(s:Service) "
                                                f"WITH n, s, distance WHERE {_SERVICE_WHERE} RETURN count(s) AS total"),
}


@dataclass
class Page:
    """One page of a listing: records in order, their cursors, and distances where asked."""

    items: list[Any]
    cursors: list[str]
    has_next: bool
    total: int | None = None  # None when not counted
    distances_km: list[float | None] = field(default_factory=list)


def _source(where: Filter) -> str:
    if where.near is not None:
        return "near"
    return "place" if where.country or where.subdivision or where.region else "all"


def statement(kind: str, sort: Sort, where: Filter) -> str:
    near = where.near is not None
    if sort is Sort.DISTANCE and not near:
        raise BadArgument("sort", "sorting by distance needs `near`")
    if kind == "organisation":
        return LIST_ORGANISATIONS[(sort, _source(where))]
    return LIST_SERVICES[(sort, near)]


def count_statement(kind: str, where: Filter) -> str:
    if kind == "organisation":
        return COUNT_ORGANISATIONS[_source(where)]
    return COUNT_SERVICES[where.near is not None]
