"""The directory's signed roots of trust (docs/federation.md), every version kept.

Roots are public documents: peers fetch each version in turn to follow a rotation. They live in
the graph so that every app process serves the same ones; the keys that sign them never do.
"""

from __future__ import annotations

from directory.store.engine.cypher import cypher
from directory.store.engine.graph import Graph

SAVE = cypher("roots.save", """
CREATE (r:FederationRoot {version: $version, document: $document, created_at: $now})
""")
LATEST = cypher("roots.latest", """
MATCH (r:FederationRoot) RETURN r.version AS version, r.document AS document ORDER BY r.version DESC LIMIT 1
""")
ONE = cypher("roots.one", """
MATCH (r:FederationRoot {version: $version}) RETURN r.document AS document
""")


async def save(graph: Graph, version: int, document: str, now: str) -> None:
    """Add a root version; the unique constraint refuses a version twice (a race between two rotations)."""
    await graph.write(SAVE, version=version, document=document, now=now)


async def latest(graph: Graph) -> tuple[int, str] | None:
    rows = await graph.read(LATEST)
    return (int(rows[0]["version"]), str(rows[0]["document"])) if rows else None


async def one(graph: Graph, version: int) -> str | None:
    rows = await graph.read(ONE, version=version)
    return str(rows[0]["document"]) if rows else None
