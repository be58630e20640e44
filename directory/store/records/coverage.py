"""How many providers the viewer may see cover a place, per service type.

A provider counts for a place when a visible service of it is available there, in an area that
contains it (its country, region, the world) or, for a country, in one of its subdivisions; a
relocation service also where it takes defenders from (counted as present: it acts for them there).
`present` counts providers delivering the service in the place; `remote` those that only reach it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from directory.base import budget
from directory.domain import places
from directory.domain.viewer import Viewer
from directory.store.engine.cypher import cypher, place_shown, visible
from directory.store.engine.graph import Graph
from directory.store.records.place_codes import read_place_codes

# One row per service type, a list entry per visible service: its provider, the places it is
# available in and takes defenders from (as `place_codes.place_codes` keeps them, `|CO present|001
# remote`, then `|KE`), the groups it serves. Expanding every service to every place that contains
# its coverage inside the query (the world holds 250 countries) went over ArcadeDB's query memory at
# 5,000 organisations; the expansion is done in Python instead, as the gap matrix does.
OFFERS = cypher("coverage.offers", f"""
MATCH (o:Organisation)-[:OFFERS]->(s:Service)
WHERE {visible('s')} AND {visible('o')} AND {place_shown('o')}
RETURN s.type AS type,
       collect([o.id, coalesce(s.coverage_codes, '') + coalesce(s.origin_codes, ''),
                [(s)-[:SERVES]->(g:DefenderGroup) | g.code]]) AS offers
""")


@dataclass(frozen=True)
class ProviderCount:
    service_type: str
    present: int
    remote: int


async def provider_counts(graph: Graph, viewer: Viewer, wanted: list[places.Place],
                          group: str | None = None) -> dict[str, list[ProviderCount]]:
    rows = await graph.read_plain(OFFERS, **viewer.params)
    return await budget.in_thread(count_providers, rows, wanted, group)


def count_providers(rows: list[dict[str, Any]], wanted: list[places.Place],
                    group: str | None) -> dict[str, list[ProviderCount]]:
    """Providers per wanted place and service type: present when any of its services there
    delivers in the place; a service naming no group is open to every group."""
    counts_for: dict[str, list[str]] = defaultdict(list)  # coverage place: the wanted places it counts for
    for p in wanted:
        for code in places.covering(p.code):
            counts_for[code].append(p.code)
    out: dict[str, list[ProviderCount]] = {p.code: [] for p in wanted}
    for row in sorted(rows, key=lambda r: str(r["type"])):
        budget.check()
        present_at: dict[str, dict[str, bool]] = defaultdict(dict)  # wanted place: provider -> present
        for provider, coverage, groups in row["offers"]:
            if group is not None and groups and group not in groups:
                continue
            for code, present in read_place_codes(coverage).items():
                for place in counts_for.get(code, ()):
                    seen = present_at[place]
                    seen[provider] = seen.get(provider, False) or present
        for place, providers in present_at.items():
            here = sum(providers.values())
            out[place].append(ProviderCount(row["type"], here, len(providers) - here))
    return out
