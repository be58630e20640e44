"""Organisations by their org-id.guide identifiers, for matching records from other systems (IATI).

Matching is the steward's import step, so it looks at every organisation whatever its visibility;
what it finds is only written back as links that carry their own visibility.
"""

from __future__ import annotations

from directory.store.engine.cypher import cypher
from directory.store.engine.graph import Graph

WITH_IDENTIFIERS = cypher("identifiers.all", """
MATCH (o:Organisation)
WHERE size(coalesce(o.identifiers, [])) > 0
RETURN o.id AS id, o.identifiers AS identifiers
""")


async def index(graph: Graph) -> dict[str, str | None]:
    """Lower-cased identifier, in both the directory's `SCHEME:VALUE` form and IATI's `SCHEME-VALUE`,
    to the organisation holding it; None when several organisations hold it (never guessed)."""
    out: dict[str, str | None] = {}
    for r in await graph.read(WITH_IDENTIFIERS):
        for identifier in r["identifiers"]:
            scheme, _, value = identifier.partition(":")
            for key in {identifier.lower(), f"{scheme}-{value}".lower()}:
                out[key] = r["id"] if out.get(key, r["id"]) == r["id"] else None
    return out
