"""The facts behind the coverage gap matrix, as the viewer may see them.

`offers` reads every visible active service of some types with the places it is available in:
one row per service type holding a list per field (measured: grouping by service is 2.5 times
faster on ArcadeDB than one row per coverage edge, and a defender-group EXISTS per row is 80 times
slower than reading the groups along; at 100,000 organisations a list per field and a string per
service's places took the driver 0.2 s of CPU where a list per service took 2 s, and left Python's
collector almost nothing to walk). It starts from the service type index, so a read of some types
costs what they hold, not a pass over every service: the matrix reads its types in parts and folds
one part while the store reads the next (`jobs.gaps`). Which places count for which
cell (an area covers its countries, a subdivision its country) is decided by `jobs.gaps`. Capacity
is left out for viewers who may not see it. Freshness is read from the verification dates of the
service and its organisation (public fields), never from the last write: re-importing old data
must not make it look fresh. `grants` reads the visible funding received by a set of organisations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from directory.domain.fields import SERVICE, sees
from directory.domain.model import link_id
from directory.domain.viewer import Viewer
from directory.store.engine.cypher import current, cypher, link_visible, place_shown, visible
from directory.store.engine.graph import Graph
from directory.store.records.place_codes import read_place_codes
from directory.store.shown import RESTRICTED, Shown


def _offers(served: str) -> str:
    """Every visible active service of `$types` and what a cell needs of it, in one row per type of one
    list per field (each offer's places and origins in one string, written with it by
    `place_codes.place_codes`: millions of small lists cost the driver and Python's collector far more than
    a string each, and reading the relationships of each service cost the store 1.2 s of 2.8 at 100k).
    Anchored on the types: at 100k, a quarter of them took ArcadeDB 1.0-1.2 s where matching every
    service and filtering took about 1.9 s for half of them and 3.2 s for all."""
    return f"""
MATCH (s:Service) WHERE s.type IN $types
MATCH (o:Organisation)-[:OFFERS]->(s)
WHERE coalesce(s.status, 'active') = 'active'
  AND {visible('s')} AND {visible('o')} AND {place_shown('o')} AND {current('s')} AND {current('o')}{served}
WITH s.type AS type,
     collect([o.id, s.id,
              s.coverage_codes, s.origin_codes,
              s.response_hours, s.capacity, s.capacity_unit, s.capacity_confirmed, s.verified_on, o.verified_on,
              o.visibility, s.visibility, o.feed_seq IS NOT NULL]) AS offers
RETURN type, {', '.join(f'[x IN offers | x[{n}]] AS {name}' for n, name in enumerate(_FIELDS))}
"""


_FIELDS = ("providers", "services", "places", "origins", "hours", "capacity", "units", "capacity_confirmed",
           "verified_on", "organisation_verified_on", "organisation_visibility", "visibility", "from_peer")
OFFERS = cypher("gaps.offers", _offers(""))
# the services serving `$group` or naming no group (open to all)
OFFERS_FOR_GROUP = cypher("gaps.offers_for_group", _offers("""
WITH o, s, [(s)-[:SERVES]->(g:DefenderGroup) | g.code] AS groups
WHERE size(groups) = 0 OR $group IN groups"""))
_GRANTED = f"""
WHERE {visible('d')} AND {visible('r')} AND {link_visible('f', 'd', 'r')}
  AND (f.year IS NULL OR f.year >= $since)
RETURN d.id AS donor, r.id AS recipient, f.amount AS amount, f.currency AS currency, f.year AS year,
       [d.visibility, r.visibility, f.visibility] AS visibility, coalesce(f.key, '') AS key
ORDER BY donor, recipient, year
"""
GRANTS = cypher("gaps.grants", """
UNWIND $ids AS rid
MATCH (r:Organisation {id: rid})
MATCH (r)<-[f:FUNDS]-(d:Organisation)
""" + _GRANTED)
# For many recipients (the whole matrix of a large directory): every visible grant, those of others left out
# after. Measured at 100,000 organisations: 1.0 s against 2.0 s looking up 100,000 recipients one by one.
EVERY_GRANT = cypher("gaps.every_grant", """
MATCH (d:Organisation)-[f:FUNDS]->(r:Organisation)
""" + _GRANTED)
MANY_RECIPIENTS = 20_000


class Offer(NamedTuple):  # a tuple: 200,000 of them are made per matrix at 100k, a frozen dataclass costs twice
    provider: str
    service: str
    # place code: delivered there (True) or reaching it remotely (False). A relocation or exile service
    # that says where defenders may come from (`TAKES_FROM`) counts for those places, not where it hosts them.
    places: dict[str, bool]  # shared by the offers reaching the same places (`offers`): never changed
    response_hours: float | None
    capacity: int | None  # None when not recorded, or when the viewer may not see capacity
    capacity_unit: str
    capacity_confirmed: str | None
    verified_on: str | None  # when the service was last checked against a source (not written)
    organisation_verified_on: str | None = None  # the organisation's, for a service never checked itself
    from_peer: bool = False  # its organisation is a record a peer directory published (`federation`)

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


async def offers(graph: Graph, viewer: Viewer, shown: Shown, types: list[str],
                 group: str | None) -> dict[str, list[Offer]]:
    """Service type (of `types`) to the visible active offers of it (for `group`: those serving it or
    open to all)."""
    if group is None:
        rows = await graph.read_plain(OFFERS, types=types, **viewer.params)
    else:
        rows = await graph.read_plain(OFFERS_FOR_GROUP, types=types, group=group, **viewer.params)
    network = sees(viewer, SERVICE["capacity"])
    out: dict[str, list[Offer]] = {}
    read: dict[str | None, dict[str, bool]] = {}  # many services reach the same places: each read once, shared
    for r in rows:  # the collector waits meanwhile: the whole matrix pauses it (`jobs.gaps.coverage_gaps`)
        _add_offers(out, r, network, shown, read)
    return out


def _add_offers(out: dict[str, list[Offer]], r: dict[str, Any], network: bool, shown: Shown,
                read: dict[str | None, dict[str, bool]]) -> None:
    """One row's offers (all of one type) into `out`, and its restricted records noted."""
    out[r["type"]] = [
        Offer(provider, service, read.get(reach) or read.setdefault(reach, read_place_codes(reach)), hours,
              capacity if network else None,
              (unit or "") if network else "", confirmed if network else None, verified or None,
              organisation_verified or None, from_peer)
        for provider, service, places, origins, hours, capacity, unit, confirmed, verified, organisation_verified,
        from_peer in zip(*(r[name] for name in (*_FIELDS[:10], "from_peer")), strict=True)
        for reach in (origins or places,)]
    shown.add("organisation", [o for o, v in zip(r["providers"], r["organisation_visibility"], strict=True)
                               if v == RESTRICTED])
    shown.add("service", [s for s, v in zip(r["services"], r["visibility"], strict=True) if v == RESTRICTED])


async def grants(graph: Graph, viewer: Viewer, shown: Shown, recipients: list[str], since: int) -> list[Grant]:
    """Funding to these organisations from `since` on (or undated) that the viewer may see."""
    if len(recipients) < MANY_RECIPIENTS:
        rows = await graph.read_plain(GRANTS, ids=recipients, since=since, **viewer.params)
    else:
        asked = set(recipients)
        rows = [r for r in await graph.read_plain(EVERY_GRANT, since=since, **viewer.params) if r["recipient"] in asked]
    shown.add("organisation", [r["donor"] for r in rows if r["visibility"][0] == RESTRICTED])
    shown.add("organisation", [r["recipient"] for r in rows if r["visibility"][1] == RESTRICTED])
    shown.add("link", [link_id(r["donor"], "FUNDS", r["recipient"], r["key"]) for r in rows
                       if r["visibility"][2] == RESTRICTED])
    return [Grant(r["donor"], r["recipient"], r["amount"], r["currency"], r["year"]) for r in rows]
