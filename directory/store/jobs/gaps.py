"""The facts behind the coverage gap matrix, as the viewer may see them.

`offers` reads every visible active service with the places it is available in: one row per
service type holding a list per service, so the whole matrix is one query (measured: grouping by
service is 2.5 times faster on ArcadeDB than one row per coverage edge, and a defender-group
EXISTS per row is 80 times slower than reading the groups along). Which places count for which
cell (an area covers its countries, a subdivision its country) is decided by `jobs.gaps`. Capacity
is left out for viewers who may not see it. Freshness is read from the verification dates of the
service and its organisation (public fields), never from the last write: re-importing old data
must not make it look fresh. `grants` reads the visible funding received by a set of organisations.
"""

from __future__ import annotations

from dataclasses import dataclass

from directory.domain.fields import SERVICE, sees
from directory.domain.model import link_id
from directory.domain.viewer import Viewer
from directory.store.engine.cypher import cypher, place_shown, visible
from directory.store.engine.graph import Graph
from directory.store.shown import RESTRICTED, Shown

OFFERS = cypher("gaps.offers", f"""
MATCH (o:Organisation)-[:OFFERS]->(s:Service)
WHERE ($types IS NULL OR s.type IN $types) AND coalesce(s.status, 'active') = 'active'
  AND {visible('s')} AND {visible('o')} AND {place_shown('o')}
RETURN s.type AS type,
       collect([o.id, s.id, [(s)-[a:AVAILABLE_IN]->(q:Place) | q.code + ' ' + a.presence], s.response_hours,
                s.capacity, s.capacity_unit, s.capacity_confirmed, s.verified_on,
                [(s)-[:SERVES]->(g:DefenderGroup) | g.code], o.visibility, s.visibility, o.verified_on,
                [(s)-[:TAKES_FROM]->(q:Place) | q.code + ' present']]) AS offers
""")
GRANTS = cypher("gaps.grants", f"""
UNWIND $ids AS rid
MATCH (r:Organisation {{id: rid}})
MATCH (r)<-[f:FUNDS]-(d:Organisation)
WHERE {visible('d')} AND {visible('r')} AND (f.visibility IN $see OR $viewer_org IN [d.id, r.id])
  AND (f.year IS NULL OR f.year >= $since)
RETURN d.id AS donor, r.id AS recipient, f.amount AS amount, f.currency AS currency, f.year AS year,
       [d.visibility, r.visibility, f.visibility] AS visibility, coalesce(f.key, '') AS key
ORDER BY donor, recipient, year
""")


@dataclass(frozen=True)
class Offer:
    provider: str
    service: str
    # place code: delivered there (True) or reaching it remotely (False). A relocation or exile service
    # that says where defenders may come from (`TAKES_FROM`) counts for those places, not where it hosts them.
    places: dict[str, bool]
    response_hours: float | None
    capacity: int | None  # None when not recorded, or when the viewer may not see capacity
    capacity_unit: str
    capacity_confirmed: str | None
    verified_on: str | None  # when the service was last checked against a source (not written)
    organisation_verified_on: str | None = None  # the organisation's, for a service never checked itself

    @property
    def verified(self) -> str | None:
        """The day this offer was last verified: its own, else its organisation's; None if never."""
        return self.verified_on or self.organisation_verified_on or None


@dataclass(frozen=True)
class Grant:
    donor: str
    recipient: str
    amount: float | None
    currency: str | None
    year: int | None


async def offers(graph: Graph, viewer: Viewer, shown: Shown, types: list[str] | None,
                 group: str | None) -> dict[str, list[Offer]]:
    """Service type to the visible active offers of it (for `group`: those serving it or open to all)."""
    rows = await graph.read(OFFERS, types=types, **viewer.params)
    network = sees(viewer, SERVICE["capacity"])
    out: dict[str, list[Offer]] = {}
    for r in rows:
        kept = [o for o in r["offers"] if group is None or not o[8] or group in o[8]]
        out[r["type"]] = [
            Offer(o[0], o[1], _places(o[12] or o[2]), o[3], o[4] if network else None, (o[5] or "") if network else "",
                  o[6] if network else None, o[7] or None, o[11] or None)
            for o in kept]
        shown.add("organisation", [o[0] for o in kept if o[9] == RESTRICTED])
        shown.add("service", [o[1] for o in kept if o[10] == RESTRICTED])
    return out


def _places(entries: list[str]) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for entry in entries:
        code, _, presence = entry.partition(" ")
        out[code] = out.get(code, False) or presence == "present"
    return out


async def grants(graph: Graph, viewer: Viewer, shown: Shown, recipients: list[str], since: int) -> list[Grant]:
    """Funding to these organisations from `since` on (or undated) that the viewer may see."""
    rows = await graph.read(GRANTS, ids=recipients, since=since, **viewer.params)
    shown.add("organisation", [r["donor"] for r in rows if r["visibility"][0] == RESTRICTED])
    shown.add("organisation", [r["recipient"] for r in rows if r["visibility"][1] == RESTRICTED])
    shown.add("link", [link_id(r["donor"], "FUNDS", r["recipient"], r["key"]) for r in rows
                       if r["visibility"][2] == RESTRICTED])
    return [Grant(r["donor"], r["recipient"], r["amount"], r["currency"], r["year"]) for r in rows]
