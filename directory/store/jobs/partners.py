"""Candidates for `jobs.partners`: organisations offering some of the asked service types, either
reaching a place or with a published point inside a box around one, as the viewer may see them.

Distances use the published point only, never the recorded one, so a partner search cannot be used
to locate an organisation more precisely than it publishes.

The asker (`source`) is left out by id. A group not in the directory asks as nobody: `None` (or "")
is read as "", which no record's id is, so it leaves nobody out; a null in `o.id <> $id` would be
null for every row and leave every candidate out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from directory.domain import places
from directory.domain.viewer import Viewer
from directory.store.engine.cypher import cypher, place_shown, visible
from directory.store.engine.graph import Graph
from directory.store.shown import RESTRICTED, Shown

# A shelter whose place the viewer may not see is no candidate: where it is or works would show.
_OFFERS = f"""
WHERE s.type IN $types AND coalesce(s.status, 'active') = 'active' AND o.id <> $id
  AND {visible('o')} AND {visible('s')} AND {place_shown('o')}
WITH o, s, collect(a.presence) AS presences
WITH o, collect([s.id, s.type, 'present' IN presences, s.response_hours, coalesce(s.languages, []),
                 s.verified_on, [(s)-[:SERVES]->(g:DefenderGroup) | g.code], s.visibility]) AS offers
RETURN o.id AS id, o.visibility AS visibility, coalesce(o.languages, []) AS languages, o.pub_latitude AS latitude,
       o.pub_longitude AS longitude, o.country AS country, o.verified_on AS verified_on, offers
"""
IN_PLACE = cypher("partners.in_place", """
MATCH (q:Place) WHERE q.code IN $areas OR (q.kind = 'subdivision' AND q.country = $country)
MATCH (q)<-[a:AVAILABLE_IN]-(s:Service)<-[:OFFERS]-(o:Organisation)
""" + _OFFERS)
NEAR = cypher("partners.near", """
MATCH (o:Organisation)
WHERE o.pub_latitude >= $lat_min AND o.pub_latitude <= $lat_max
  AND o.pub_longitude >= $lon_min AND o.pub_longitude <= $lon_max
MATCH (o)-[:OFFERS]->(s:Service)-[a:AVAILABLE_IN]->(:Place)
""" + _OFFERS)


@dataclass(frozen=True)
class Offer:
    service: str
    type: str
    present: bool  # delivered in the place asked (always True for a radius search)
    response_hours: float | None
    languages: list[str]
    verified_on: str  # freshness is when it was verified, not last written: old data re-imported stays old
    groups: list[str]


@dataclass(frozen=True)
class Candidate:
    id: str
    languages: list[str]
    latitude: float | None  # published point
    longitude: float | None
    country: str | None
    verified_on: str
    offers: list[Offer]


def _candidates(rows: list[dict[str, Any]], shown: Shown) -> list[Candidate]:
    shown.add("organisation", [r["id"] for r in rows if r["visibility"] == RESTRICTED])
    shown.add("service", [o[0] for r in rows for o in r["offers"] if o[7] == RESTRICTED])
    return [Candidate(r["id"], list(r["languages"]), r["latitude"], r["longitude"], r["country"],
                      r["verified_on"] or "",
                      [Offer(o[0], o[1], bool(o[2]), o[3], list(o[4]), o[5] or "", list(o[6])) for o in r["offers"]])
            for r in rows]


def _asker(source: str | None) -> str:
    """The id to leave out: the asker's, or "" (nobody's) when nobody asks."""
    return source or ""


async def reaching(graph: Graph, viewer: Viewer, shown: Shown, source: str | None, types: list[str],
                   where: places.Place) -> list[Candidate]:
    """Organisations (not `source`) with a visible active service of these types reaching `where`."""
    rows = await graph.read(IN_PLACE, id=_asker(source), types=types, areas=places.enclosing(where.code),
                            country=where.code if where.kind == "country" else None, **viewer.params)
    return _candidates(rows, shown)


async def near(graph: Graph, viewer: Viewer, shown: Shown, source: str | None, types: list[str], latitude: float,
               longitude: float, radius_km: float) -> list[Candidate]:
    """Organisations whose published point is within the box around a circle of `radius_km`;
    the caller measures the exact distance."""
    dlat = radius_km / 111.0
    dlon = radius_km / max(1.0, 111.0 * math.cos(math.radians(latitude)))
    rows = await graph.read(NEAR, id=_asker(source), types=types, lat_min=latitude - dlat, lat_max=latitude + dlat,
                            lon_min=longitude - dlon, lon_max=longitude + dlon, **viewer.params)
    return _candidates(rows, shown)
