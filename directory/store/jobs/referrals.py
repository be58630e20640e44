"""The part of the referral graph a viewer may see, fetched for `jobs.paths`.

The walk starts at one organisation and follows REFERS_TO links one hop per query, keeping only
links and organisations the viewer may see: an organisation hidden from the viewer is never
reached, so nothing behind it is either. Providers are then looked up among the organisations
reached, not across the whole directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from directory.domain import places
from directory.domain.errors import NotFound
from directory.domain.fields import SERVICE, sees
from directory.domain.model import Referral, Window, link_id
from directory.domain.viewer import Viewer
from directory.store.engine.cypher import (
    current,
    cypher,
    helps_through,
    link_visible,
    offered_in,
    place_shown,
    serves_group,
    visible,
)
from directory.store.engine.graph import Graph
from directory.store.shown import RESTRICTED, Shown

START = cypher("referrals.start", f"""
MATCH (o:Organisation {{id: $id}})
WHERE {visible('o')}
RETURN o.id AS id
""")
NEXT_HOP = cypher("referrals.next_hop", f"""
UNWIND $ids AS oid
MATCH (a:Organisation {{id: oid}})-[l:REFERS_TO]->(b:Organisation)
WHERE {visible('b')} AND {current('b')} AND {link_visible('l', 'a', 'b')}
RETURN a.id AS source, b.id AS target, l.response_hours AS response_hours, l.trust AS trust,
       l.formal AS formal, l.confirmed AS confirmed, [b.visibility, l.visibility] AS visibility,
       coalesce(l.key, '') AS key
""")
PROVIDERS = cypher("referrals.providers", f"""
UNWIND $ids AS oid
MATCH (o:Organisation {{id: oid}})-[:OFFERS]->(s:Service)-[a:AVAILABLE_IN|TAKES_FROM]->(q:Place)
WHERE s.type = $type AND coalesce(s.status, 'active') = 'active'
  AND (q.code IN $areas OR (q.kind = 'subdivision' AND q.country = $country)) AND {helps_through('a', 's')}
  AND {visible('o')} AND {visible('s')} AND {place_shown('o')} AND {current('o')} AND {current('s')}
  AND {serves_group('s')}
  AND ($language IS NULL OR {offered_in('s', 'o')})
WITH o, s, collect([coalesce(a.presence, 'from'), q.code]) AS matched
RETURN o.id AS provider, s.id AS service, s.name AS name, s.response_hours AS response_hours, s.capacity AS capacity,
       s.capacity_confirmed AS capacity_confirmed, matched, coalesce(s.verified_on, o.verified_on) AS verified_on,
       coalesce(s.window_spans, []) AS windows, [o.visibility, s.visibility] AS visibility
ORDER BY provider, service
""")
VETTERS = cypher("referrals.vetters", f"""
UNWIND $ids AS oid
MATCH (a:Organisation {{id: oid}})-[l:VETTED_BY]->(b:Organisation)
WHERE {visible('a')} AND {visible('b')} AND {link_visible('l', 'a', 'b')}
RETURN a.id AS id, b.name AS vetter, b.id AS vetter_id, [a.visibility, b.visibility, l.visibility] AS visibility,
       coalesce(l.key, '') AS key
ORDER BY id, vetter
""")


@dataclass(frozen=True)
class Offer:
    """A visible, active service of the asked type reaching the asked place, or taking defenders from
    it (relocation and exile support: a service naming origins is found by them only, `helps_through`)."""

    provider: str
    service: str
    name: str  # the service's, for the reasons a person reads
    response_hours: float | None
    capacity: int | None  # None when the viewer may not see capacity
    capacity_confirmed: str | None
    present: bool
    remote: bool  # reaches the place remotely; neither: it takes defenders from there (relocation)
    places: list[str]  # the places it records that answered (KE-28 for a question about KE), for its reasons
    verified_on: str | None  # the service's verification, else its organisation's (as the gap matrix reads it)
    windows: list[Window] = field(default_factory=list)  # its intake windows (open calls), if it has any


@dataclass
class ReferralGraph:
    source: str
    referrals: list[Referral]
    offers: list[Offer]


async def fetch(graph: Graph, viewer: Viewer, shown: Shown, source: str, service_type: str,
                where: places.Place, max_hops: int, group: str | None = None,
                language: str | None = None) -> ReferralGraph:
    """Everything the viewer may see within `max_hops` referrals of `source`. Raises NotFound for a
    source the viewer may not see, in the same words as for one that does not exist."""
    if not await graph.read(START, id=source, **viewer.params):
        raise NotFound("organisation", source)
    reached = {source}
    frontier = [source]
    referrals: list[Referral] = []
    for _ in range(max_hops):
        if not frontier:
            break
        rows = await graph.read(NEXT_HOP, ids=frontier, **viewer.params)
        referrals += [Referral(r["source"], r["target"], r["response_hours"], r["trust"], r["formal"],
                               r["confirmed"]) for r in rows]
        shown.add("organisation", [r["target"] for r in rows if r["visibility"][0] == RESTRICTED])
        shown.add("link", [link_id(r["source"], "REFERS_TO", r["target"], r["key"]) for r in rows
                           if r["visibility"][1] == RESTRICTED])
        frontier = sorted({r["target"] for r in rows} - reached)
        reached.update(frontier)
    rows = await graph.read(PROVIDERS, ids=sorted(reached), type=service_type, areas=places.covering(where.code),
                            country=where.code if where.kind == "country" else None, group=group,
                            language=language, **viewer.params)
    shown.add("organisation", [r["provider"] for r in rows if r["visibility"][0] == RESTRICTED])
    shown.add("service", [r["service"] for r in rows if r["visibility"][1] == RESTRICTED])
    network = sees(viewer, SERVICE["capacity"])
    offers = [_offer(r, network) for r in rows]
    return ReferralGraph(source, referrals, offers)


def _offer(row: dict[str, Any], capacity: bool) -> Offer:
    """A row as an offer: how it answers the place (delivered there first, then remotely, then taking
    defenders from it) and the places it records that answer it so; capacity only for those who may see it."""
    how = next(h for h in ("present", "remote", "from") if any(m[0] == h for m in row["matched"]))
    return Offer(row["provider"], row["service"], row["name"] or row["service"], row["response_hours"],
                 row["capacity"] if capacity else None, row["capacity_confirmed"] if capacity else None,
                 how == "present", how == "remote", sorted({m[1] for m in row["matched"] if m[0] == how}),
                 row["verified_on"] or None, [Window.of(span) for span in row["windows"]])


async def vetters(graph: Graph, viewer: Viewer, shown: Shown, ids: list[str]) -> dict[str, list[str]]:
    """The names of the organisations that vouch for each of these, where the viewer may see both."""
    out: dict[str, list[str]] = {}
    for r in await graph.read(VETTERS, ids=ids, **viewer.params):
        out.setdefault(r["id"], []).append(r["vetter"])
        shown.add("organisation", [i for i, v in zip((r["id"], r["vetter_id"]), r["visibility"], strict=False)
                                   if v == RESTRICTED])
        if r["visibility"][2] == RESTRICTED:
            shown.add("link", [link_id(r["id"], "VETTED_BY", r["vetter_id"], r["key"])])
    return out
