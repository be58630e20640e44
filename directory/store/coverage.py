"""How many providers the viewer may see cover a place, per service type.

A provider counts for a place when a visible service of it is available there, in an area that
contains it (its country, region, the world) or, for a country, in one of its subdivisions.
`present` counts providers delivering the service in the place; `remote` those that only reach it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from directory import budget, places
from directory.errors import BadArgument
from directory.store.cypher import cypher, place_shown, visible
from directory.store.graph import Graph
from directory.viewer import Viewer

MAX_PLACES = 300

# One row per service type, a list entry per visible service: its provider, the places it is
# available in, the groups it serves. Expanding every service to every place that contains its
# coverage inside the query (the world holds 250 countries) went over ArcadeDB's query memory at
# 5,000 organisations; the expansion is done in Python instead, as the gap matrix does.
OFFERS = cypher("coverage.offers", f"""
MATCH (o:Organisation)-[:OFFERS]->(s:Service)
WHERE {visible('s')} AND {visible('o')} AND {place_shown('o')}
RETURN s.type AS type,
       collect([o.id, [(s)-[a:AVAILABLE_IN]->(q:Place) | q.code + ' ' + a.presence],
                [(s)-[:SERVES]->(g:DefenderGroup) | g.code]]) AS offers
""")


@dataclass(frozen=True)
class ProviderCount:
    service_type: str
    present: int
    remote: int


def one_place(code: str, argument: str) -> places.Place:
    """A country or subdivision named by a query argument, or BadArgument naming it."""
    place = places.place(code.upper())
    if place is None or place.kind not in ("country", "subdivision"):
        raise BadArgument(argument, f"{code!r} is not an ISO 3166-1 country or ISO 3166-2 subdivision code")
    return place


def place_list(codes: list[str] | None, country: str | None) -> list[places.Place]:
    """The places asked for: these codes, a country's subdivisions, or every peopled country."""
    if codes:
        found = [one_place(code, "codes") for code in codes]
    elif country:
        country_code = places.country_code(country)
        if country_code is None:
            raise BadArgument("country", f"{country!r} is not an ISO 3166-1 country code")
        found = list(places.subdivisions_of(country_code))
    else:
        found = sorted((c for c in places.countries().values() if c.code not in places.UNPEOPLED),
                       key=lambda c: c.code)
    if len(found) > MAX_PLACES:
        raise BadArgument("codes", f"at most {MAX_PLACES} places at once")
    return found


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
            for entry in coverage:
                code, _, presence = entry.partition(" ")
                for place in counts_for.get(code, ()):
                    seen = present_at[place]
                    seen[provider] = seen.get(provider, False) or presence == "present"
        for place, providers in present_at.items():
            here = sum(providers.values())
            out[place].append(ProviderCount(row["type"], here, len(providers) - here))
    return out
