"""The points a map may draw: organisations where this viewer may see them, and nothing finer.

The query picks the point in the store: the recorded one only for a steward or the organisation's
own members, the published one (`location.published`, derived at write time) for everyone else,
so a precise coordinate never reaches the map code for a viewer who may not see it. Country
precision shows at the country's representative point; hidden precision is not drawn at all.

On maps for the public, shelters and relocation hosts (`taxonomy.SENSITIVE_KINDS`), and
organisations offering the public a safe house (`taxonomy.SHELTERING_TYPES`), in a place
holding fewer than `shelter_minimum` of them are not drawn: one or two markers would single a
shelter out even at country precision. The place is the country, and also the subdivision when
the marker shows one; the count is over what the map would draw. A shelter whose place the store
withholds from the public (`store.shelters`) is never drawn for it, nor counted under a country:
the counts of what a map does not draw are over what it was asked for, never finer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from directory.domain import places
from directory.domain.fields import ORGANISATION, sees
from directory.domain.model import Intake, Precision
from directory.domain.taxonomy import SENSITIVE_KINDS, SHELTERING_TYPES
from directory.domain.viewer import SEES, Viewer
from directory.store.engine.cypher import cypher, place_shown, shown_subdivision, visible
from directory.store.engine.graph import Graph
from directory.store.records.shelters import alone

POINTS = cypher("mapping.points", f"""
MATCH (o:Organisation)
WHERE {visible('o')}
  AND ($ids IS NULL OR o.id IN $ids)
  AND ($kind IS NULL OR o.kind = $kind)
  AND ($country IS NULL OR (o.country = $country AND {place_shown('o')}))
WITH o, ($steward OR o.id = $viewer_org) AS exact, {place_shown('o')} AS placed
RETURN collect([o.id, o.name, o.kind, o.visibility, CASE WHEN placed THEN o.country END, o.precision,
                CASE WHEN placed THEN {shown_subdivision('o')} END,
                CASE WHEN NOT placed THEN null WHEN exact THEN o.latitude ELSE o.pub_latitude END,
                CASE WHEN NOT placed THEN null WHEN exact THEN o.longitude ELSE o.pub_longitude END,
                coalesce(o.languages, []),
                CASE WHEN $network THEN coalesce(o.contact_channels, []) ELSE [] END,
                [(o)-[:OFFERS]->(s:Service) WHERE {visible('s')}
                 | [s.type, [(s)-[:SERVES]->(g:DefenderGroup) | g.code],
                    CASE WHEN coalesce(s.status, 'active') = 'active' THEN coalesce(s.intake, []) ELSE [] END,
                    coalesce(s.purposes, [])]],
                placed
               ]) AS points
""")


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ doubled the cost of a 100k-point map
class MapPoint:
    id: str
    name: str
    kind: str
    visibility: str
    country: str | None
    subdivision: str | None  # only when the shown point reveals it anyway
    precision: str  # the precision the point is shown at: `exact` for a viewer who sees the recorded one
    latitude: float
    longitude: float
    languages: list[str]
    contact_channels: list[str]  # members and stewards only
    service_types: list[str]
    groups: list[str]
    intake: list[str] = field(default_factory=list)  # how to ask its active services, as this viewer may see
    pays_for: list[str] = field(default_factory=list)  # its grants' purposes: a type filter finds them, as listings do


@dataclass
class MapPoints:
    points: list[MapPoint] = field(default_factory=list)
    not_drawn: int = 0  # visible organisations with hidden precision or no known point
    withheld: int = 0  # shelters not drawn because too few share their place, or their place is withheld


@dataclass(frozen=True)
class PointFilter:
    kind: str | None = None
    country: str | None = None  # where the organisation is based
    service_type: str | None = None  # offers a visible service of this type
    group: str | None = None  # offers a visible service for this defender group
    ids: list[str] | None = None


async def map_points(graph: Graph, viewer: Viewer, where: PointFilter, shelter_minimum: int) -> MapPoints:
    """The organisations matching `where` as this viewer may see them on a map."""
    rows = await graph.read_plain(POINTS, ids=where.ids, kind=where.kind, country=where.country,
                                  steward=viewer.role == "steward",
                                  network=sees(viewer, ORGANISATION["contact_channels"]), **viewer.params)
    out = MapPoints()
    for row in rows[0]["points"] if rows else []:
        if not _matches(row[11], where):
            continue  # what the map does not draw is counted among what it was asked for, no more
        if not row[12]:
            out.withheld += 1  # a shelter whose place is withheld from this viewer (`store.shelters`)
        elif (point := _point(row, viewer)) is None:
            out.not_drawn += 1
        else:
            out.points.append(point)
    if viewer.role == "anonymous":
        _withhold_lonely_shelters(out, shelter_minimum)
    out.points.sort(key=lambda p: p.id)
    return out


def _matches(offers: list[list[Any]], where: PointFilter) -> bool:
    """Whether an organisation's visible services answer the filters on services (a grant's purposes
    count for a type, as listings count them)."""
    if where.service_type is not None and not any(where.service_type == t or where.service_type in paid
                                                  for t, _, _, paid in offers):
        return False
    return where.group is None or any(where.group in groups for _, groups, _, _ in offers)


def _point(row: list[Any], viewer: Viewer) -> MapPoint | None:
    oid, name, kind, visibility, country, precision, subdivision, lat, lon, languages, channels, offers, _ = row
    shown = "exact" if viewer.sees_exact_location_of(oid) else precision
    if lat is None or lon is None:
        if precision != Precision.COUNTRY.value:
            return None  # hidden, or recorded without a point
        rep = places.countries().get(country or "")
        if rep is None or rep.latitude is None or rep.longitude is None:
            return None
        lat, lon, shown = rep.latitude, rep.longitude, precision
    shown_items = SEES[viewer.view_of(oid)]  # each intake channel by its own visibility (`fields`)
    intake = sorted({f"{i.kind}: {i.value}" for _, _, items, _ in offers for i in map(Intake.of, items)
                     if i.visibility in shown_items})
    return MapPoint(oid, name, kind, visibility, country, subdivision, shown, float(lat), float(lon), list(languages),
                    list(channels), sorted({t for t, _, _, _ in offers}),
                    sorted({g for _, gs, _, _ in offers for g in gs}), intake,
                    sorted({p for _, _, _, paid in offers for p in paid}))


def _withhold_lonely_shelters(found: MapPoints, minimum: int) -> None:
    lonely = alone([(p.id, p.country, p.subdivision) for p in found.points  # a safe house's provider too
                    if p.kind in SENSITIVE_KINDS or SHELTERING_TYPES.intersection(p.service_types)], minimum)
    if lonely:
        found.points = [p for p in found.points if p.id not in lonely]
        found.withheld += len(lonely)
