"""Candidates for `jobs.partners`: organisations offering some of the asked service types, either
reaching a place or with a published point inside a box around one, as the viewer may see them.

Distances use the published point only, never the recorded one, so a partner search cannot be used
to locate an organisation more precisely than it publishes.

`networks` reads what the networks part weighs (memberships and vetters), only for the candidates
that part could still bring into the answer.

The asker (`source`) is left out by id. A group not in the directory asks as nobody: `None` (or "")
is read as "", which no record's id is, so it leaves nobody out; a null in `o.id <> $id` would be
null for every row and leave every candidate out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from directory.domain import places
from directory.domain.fields import SERVICE, sees
from directory.domain.model import link_id
from directory.domain.viewer import Viewer
from directory.store.engine.cypher import (
    current,
    cypher,
    link_visible,
    offered_in,
    offered_in_any,
    place_shown,
    visible,
    without_origins,
)
from directory.store.engine.graph import Graph
from directory.store.shown import RESTRICTED, Shown

# A shelter whose place the viewer may not see is no candidate: where it is or works would show.
# Only services fitting who the partner is for are read, by the rules of `jobs.partners` (`_fits`), which
# applies them again: a service fits when it serves one of `$groups` (the asker's) and `$group`, or names
# no group; and it is offered in `$language` when one is asked (`cypher.offered_in`: listed, or `mul`, among
# its languages and intake languages, or, listing none, its organisation's), else in one of the asker's
# `$speaking` (`cypher.offered_in_any`; or records none). Empty `$groups`, `$speaking`: any. A
# country reached by every worldwide service has thousands of candidates; most do not fit. One row of a
# list per field: thousands of rows cost the driver more than the statement.
_COLUMNS = ("ids", "visibility", "languages", "latitude", "longitude", "country", "verified_on", "offers")
_SERVICE = f"s.type IN $types AND coalesce(s.status, 'active') = 'active' AND {visible('s')} AND {current('s')}"
_ORGANISATION = f"o.id <> $id AND {visible('o')} AND {place_shown('o')} AND {current('o')}"
# A service's groups are read, and checked, before its organisation: at 100k an asker with groups kept a
# third of Colombia's 3,200 services of a type, and the statement took 85-100 ms against 115-130.
_GROUPS = "[(s)-[:SERVES]->(g:DefenderGroup) | g.code] AS groups"
_SERVES = ("(size(groups) = 0 OR ((size($groups) = 0 OR any(g IN groups WHERE g IN $groups))"
           " AND ($group IS NULL OR $group IN groups)))")
_SPEAKS = f"($language IS NULL OR {offered_in('s', 'o')}) AND {offered_in_any('s', 'o')}"
_COLLECTED = """
WITH o, s, presences, groups, languages, [x IN presences | x[0]] AS how
WITH o, collect([s.id, s.type, 'present' IN how, s.response_hours, languages, s.verified_on, groups,
                 s.visibility, 'from' IN how, s.capacity, s.capacity_confirmed, presences]) AS offers
WITH collect([o.id, o.visibility, coalesce(o.languages, []), o.pub_latitude, o.pub_longitude, o.country,
              o.verified_on, offers]) AS found
RETURN """ + ", ".join(f"[x IN found | x[{n}]] AS {name}" for n, name in enumerate(_COLUMNS)) + """
"""
# From each service found (its `presences`, as [how, where] pairs) to the candidates: the services fitting
# who the partner is for, then their organisations the viewer may see, sharing the language asked.
_FITTING = f"""
WITH s, presences, {_GROUPS}
WHERE {_SERVES}
UNWIND [(s)<-[:OFFERS]-(o:Organisation) | o] AS o
WITH o, s, presences, groups, coalesce(s.languages, []) + coalesce(s.intake_languages, []) AS languages
WHERE {_ORGANISATION} AND {_SPEAKS}""" + _COLLECTED
# From the place nodes of the types asked (`writes.REACH`: one per place covering the one asked and
# service type) to their services, and only then to their organisations. A grant reaches the nodes of
# the types it pays for too: a partner offers a type, so `_SERVICE` asks `s.type` again. From the places themselves,
# ArcadeDB went through every service available there, of any type (at 100k, 80,000 in Colombia to find
# 1,700 of one type); matched together with the organisations, it loaded the organisation of each.
IN_PLACE = cypher("partners.in_place", f"""
MATCH (k:Reach) WHERE k.key IN $reach
MATCH (k)<-[a:REACHES]-(s:Service)
WHERE {_SERVICE} AND {without_origins('s')}
WITH s, collect([a.presence, k.key]) AS presences
""" + _FITTING)
# Relocation and exile support naming origins (`cypher.without_origins`: found by them only, never by where
# it hosts defenders): from the places asked, through their few TAKES_FROM, each such service once, as
# taking defenders from there ('from').
FROM_PLACE = cypher("partners.from_place", f"""
MATCH (q:Place) WHERE q.code IN $covering
MATCH (q)<-[:TAKES_FROM]-(s:Service)
WHERE {_SERVICE}
WITH s, collect(['from', q.code]) AS presences
""" + _FITTING)
# What the networks part weighs of a candidate: the networks it belongs to and who vetted it, each link and
# both its ends visible, as `records.links_from` reads them (anchored on the candidate first).
NETWORKS = cypher("partners.networks", f"""
UNWIND $ids AS oid
MATCH (a:Organisation {{id: oid}})
MATCH (a)-[l:MEMBER_OF|VETTED_BY]->(b:Organisation)
WHERE {visible('a')} AND {visible('b')} AND {link_visible('l', 'a', 'b')}
RETURN a.id AS id, collect([b.id, type(l), l.visibility, coalesce(l.key, '')]) AS links
""")
NEAR = cypher("partners.near", f"""
MATCH (o:Organisation)
WHERE o.pub_latitude >= $lat_min AND o.pub_latitude <= $lat_max
  AND o.pub_longitude >= $lon_min AND o.pub_longitude <= $lon_max AND {_ORGANISATION}
MATCH (o)-[:OFFERS]->(s:Service)
WHERE {_SERVICE}
WITH o, s, [(s)-[a:AVAILABLE_IN]->(p:Place) | [a.presence, p.code]] AS presences
WITH o, s, presences, {_GROUPS}, coalesce(s.languages, []) + coalesce(s.intake_languages, []) AS languages
WHERE {_SERVES} AND {_SPEAKS}""" + _COLLECTED)


@dataclass(frozen=True)
class Offer:
    service: str
    type: str
    present: bool  # delivered in the place asked, or taking defenders from it (always True for a radius search)
    response_hours: float | None
    languages: list[str]
    verified_on: str  # freshness is when it was verified, not last written: old data re-imported stays old
    groups: list[str]
    takes_from: bool = False  # relocation or exile support taking defenders from the place asked (its origins)
    capacity: int | None = None  # None when the viewer may not see capacity
    capacity_confirmed: str | None = None
    places: list[str] = field(default_factory=list)  # the places it records that answered, as it answered them


@dataclass(frozen=True)
class Candidate:
    id: str
    languages: list[str]
    latitude: float | None  # published point
    longitude: float | None
    country: str | None
    verified_on: str
    offers: list[Offer]


def _candidates(parts: list[list[dict[str, Any]]], fit: Fit, shown: Shown, viewer: Viewer) -> list[Candidate]:
    """The candidates of a question's parts, each organisation once with its fitting offers from every part;
    capacity only for a viewer who may see it."""
    capacity = sees(viewer, SERVICE["capacity"])
    by_id: dict[str, list[Any]] = {}
    for rows in parts:
        for row in zip(*(rows[0][name] for name in _COLUMNS), strict=True) if rows else ():
            seen = by_id.get(row[0])
            if seen is None:
                by_id[row[0]] = list(row)
            else:
                seen[7] = [*seen[7], *row[7]]
    found = list(by_id.values())
    shown.add("organisation", [row[0] for row in found if row[1] == RESTRICTED])
    shown.add("service", [o[0] for row in found for o in row[7] if o[7] == RESTRICTED])
    return [Candidate(i, list(languages), latitude, longitude, country, verified_on or "",
                      [Offer(o[0], o[1], bool(o[2] or o[8]), o[3], list(o[4]), o[5] or "", list(o[6]), bool(o[8]),
                             o[9] if capacity else None, o[10] if capacity else None, _answered(o[11]))
                       for o in offers])
            for i, _, languages, latitude, longitude, country, verified_on, offers in found]


def _answered(presences: list[list[str]]) -> list[str]:
    """The places a service records that answered the question, as it answered it: delivered there,
    else taking defenders from there, else reaching them remotely (a place node's key is its code
    and a type, `writes.REACH`)."""
    for how in ("present", "from", "remote"):
        found = sorted({where.split(" ", 1)[0] for presence, where in presences if presence == how})
        if found:
            return found
    return []


def _asker(source: str | None) -> str:
    """The id to leave out: the asker's, or "" (nobody's) when nobody asks."""
    return source or ""


@dataclass(frozen=True)
class Fit:
    """Who the partner is for (`_SERVES`, `_SPEAKS`): the asker's groups and languages, the group and language asked."""

    groups: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    group: str | None = None
    language: str | None = None

    @property
    def params(self) -> dict[str, object]:
        # the asker's languages narrow only where no language is asked, and `mul` (any) narrows nothing
        speaking = [] if self.language is not None or places.ANY_LANGUAGE in self.languages else sorted(self.languages)
        return {"groups": sorted(self.groups), "group": self.group, "language": self.language, "speaking": speaking}


SIDE_BY_SIDE = 2
"""A question's service types are read in this many statements at once, each with some of them: a country
reached by every worldwide service is thousands of rows for the store, and one statement keeps one of its
cores busy (at 100,000 organisations, two halves took 122 ms where one statement took 221)."""


async def _read(graph: Graph, statement: str, types: list[str], fit: Fit, covering: list[str], /,
                **params: Any) -> list[list[dict[str, Any]]]:
    """The statement's rows for each part of the types, read side by side (each type in one part only:
    a type in two would bring its services twice); `covering`: the places whose nodes of each part's
    types a statement starts from (`$reach`)."""
    types = sorted(set(types))
    parts = [types[i::SIDE_BY_SIDE] for i in range(min(SIDE_BY_SIDE, len(types)))]
    return await asyncio.gather(*(graph.read_plain(statement, types=part, reach=reach_keys(covering, part),
                                                   **fit.params, **params) for part in parts))


def reach_keys(codes: list[str], types: list[str]) -> list[str]:
    """The keys of the place nodes of these types in these places (`writes.REACH`)."""
    return [f"{code} {t}" for code in codes for t in types]


async def reaching(graph: Graph, viewer: Viewer, shown: Shown, source: str | None, types: list[str],
                   where: places.Place, fit: Fit) -> list[Candidate]:
    """Organisations (not `source`) with a visible active service of these types reaching `where`."""
    covering = places.covering(where.code)  # itself, what it is in and, for a country or region, what is in it
    parts, taking = await asyncio.gather(
        _read(graph, IN_PLACE, types, fit, covering, id=_asker(source), **viewer.params),
        graph.read_plain(FROM_PLACE, types=sorted(set(types)), covering=covering, id=_asker(source), **fit.params,
                         **viewer.params))
    return _candidates([*parts, taking], fit, shown, viewer)


async def near(graph: Graph, viewer: Viewer, shown: Shown, source: str | None, types: list[str], latitude: float,
               longitude: float, radius_km: float, fit: Fit) -> list[Candidate]:
    """Organisations whose published point is within the box around a circle of `radius_km`;
    the caller measures the exact distance."""
    lat_min, lat_max, lon_min, lon_max = places.box(latitude, longitude, radius_km)
    parts = await _read(graph, NEAR, types, fit, [], id=_asker(source), lat_min=lat_min, lat_max=lat_max,
                        lon_min=lon_min, lon_max=lon_max, **viewer.params)
    return _candidates(parts, fit, shown, viewer)


def ties(links: Iterable[tuple[str, str]]) -> dict[str, str]:
    """(link type, target) pairs as what an organisation is tied to: each network it is a member of
    (`MEMBER_OF`) and each organisation that vetted it (`VETTED_BY`, which says more where it is both)."""
    out: dict[str, str] = {}
    for kind, target in links:
        if out.get(target) != "VETTED_BY":
            out[target] = kind
    return out


async def networks(graph: Graph, viewer: Viewer, shown: Shown, ids: list[str]) -> dict[str, dict[str, str]]:
    """What these organisations are tied to (`ties`), by organisation, through links the viewer may
    see (an organisation with none is left out)."""
    rows = await graph.read_plain(NETWORKS, ids=ids, **viewer.params)
    shown.add("link", [link_id(r["id"], kind, target, key) for r in rows for target, kind, visibility, key in r["links"]
                       if visibility == RESTRICTED])
    return {r["id"]: ties((kind, target) for target, kind, _, _ in r["links"]) for r in rows}
