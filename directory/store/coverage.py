"""How many providers the viewer may see cover a place, per service type.

A provider counts for a place when a visible service of it is available there, in an area that
contains it (its country, region, the world) or, for a country, in one of its subdivisions.
`present` counts providers delivering the service in the place; `remote` those that only reach it.
"""

from __future__ import annotations

from dataclasses import dataclass

from directory import places
from directory.errors import BadArgument
from directory.store.cypher import cypher, serves_group, visible
from directory.store.graph import Graph
from directory.viewer import Viewer

MAX_PLACES = 300

PROVIDER_COUNTS = cypher("coverage.provider_counts", f"""
UNWIND $rows AS r
CALL (r) {{
  MATCH (q:Place) WHERE q.code IN r.areas RETURN q
  UNION
  MATCH (q:Place) WHERE r.kind = 'country' AND q.country = r.code AND q.kind = 'subdivision' RETURN q
}}
MATCH (q)<-[a:AVAILABLE_IN]-(s:Service)<-[:OFFERS]-(o:Organisation)
WHERE {visible('s')} AND {visible('o')}
  AND {serves_group('s')}
WITH r.code AS code, s.type AS type, o.id AS provider, collect(a.presence) AS presences
WITH code, type, 'present' IN presences AS here
RETURN code, type, sum(CASE WHEN here THEN 1 ELSE 0 END) AS present, sum(CASE WHEN here THEN 0 ELSE 1 END) AS remote
ORDER BY code, type
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
    rows = [{"code": p.code, "kind": p.kind, "areas": places.enclosing(p.code)} for p in wanted]
    out: dict[str, list[ProviderCount]] = {p.code: [] for p in wanted}
    for r in await graph.read(PROVIDER_COUNTS, rows=rows, group=group, **viewer.params):
        out[r["code"]].append(ProviderCount(r["type"], int(r["present"]), int(r["remote"])))
    return out
