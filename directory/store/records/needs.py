"""Need indicators in the graph: `Indicator` nodes keyed by indicator name, place and year."""

from __future__ import annotations

from directory.base.clock import now
from directory.domain.model import Indicator, Visibility
from directory.store.engine.cypher import cypher, visible
from directory.store.engine.graph import Graph, Tx

# the keys of those restricted before or after: their change leaves an audit line, as a record's does
UPSERT = cypher("needs.upsert", """
UNWIND $rows AS r
MERGE (i:Indicator {key: r.key})
WITH i, r, i.visibility AS was
SET i.name = r.name, i.place = r.place, i.year = r.year, i.value = r.value, i.source = r.source,
    i.visibility = r.visibility, i.updated_at = $now
WITH i, r, was WHERE was = 'restricted' OR r.visibility = 'restricted'
RETURN i.key AS key
""")
VISIBLE = cypher("needs.visible", f"""
MATCH (i:Indicator)
WHERE ($names IS NULL OR i.name IN $names) AND {visible('i')}
RETURN i.name AS name, i.place AS place, i.year AS year, i.value AS value, i.source AS source,
       i.visibility AS visibility
ORDER BY name, place, year
""")
NAMES = cypher("needs.names", f"""
MATCH (i:Indicator) WHERE {visible('i')}
RETURN DISTINCT i.name AS name ORDER BY name
""")


async def write(graph: Graph, indicators: list[Indicator]) -> list[str]:
    """All rows in one transaction: all of them or none. Returns the keys of those restricted before
    or after, for the audit log."""

    async def work(tx: Tx) -> list[str]:
        rows = [{"key": i.key, "name": i.name, "place": i.place, "year": i.year, "value": i.value,
                 "source": i.source, "visibility": i.visibility.value} for i in indicators]
        restricted: list[str] = []
        for start in range(0, len(rows), 2000):
            restricted += [r["key"] for r in await graph.run(tx, UPSERT, rows=rows[start:start + 2000], now=now())]
        return restricted

    return await graph.write_tx(work)


async def read(graph: Graph, params: dict[str, object], names: list[str] | None = None) -> list[Indicator]:
    """The indicators a viewer may see (`params` from `Viewer.params`), optionally only these names."""
    rows = await graph.read(VISIBLE, names=names, **params)
    return [Indicator(r["name"], r["place"], int(r["year"]), float(r["value"]), r["source"],
                      Visibility(r["visibility"])) for r in rows]


async def names(graph: Graph, params: dict[str, object]) -> list[str]:
    return [r["name"] for r in await graph.read(NAMES, **params)]
