"""The directory's signed roots of trust (docs/federation.md), every version kept.

Roots are public documents: peers fetch each version in turn to follow a rotation. They live in
the graph so that every app process serves the same ones; the keys that sign them never do.
"""

from __future__ import annotations

from directory.store.engine.cypher import cypher
from directory.store.engine.graph import Graph

SAVE = cypher("roots.save", """
CREATE (r:FederationRoot {version: $version, document: $document, created_at: $now, resign: $resign})
""")
LATEST = cypher("roots.latest", """
MATCH (r:FederationRoot) RETURN r.version AS version, r.document AS document ORDER BY r.version DESC LIMIT 1
""")
# A rotation's root whose re-signing of the feeds has not finished (`rotate` killed while it signed).
RESIGN_PENDING = cypher("roots.resign_pending", """
MATCH (r:FederationRoot) WITH r ORDER BY r.version DESC LIMIT 1
WITH r WHERE r.resign = true
RETURN r.version AS version
""")
RESIGNED = cypher("roots.resigned", "MATCH (r:FederationRoot {version: $version}) SET r.resign = false")
ONE = cypher("roots.one", """
MATCH (r:FederationRoot {version: $version}) RETURN r.document AS document
""")


async def save(graph: Graph, version: int, document: str, now: str, resign: bool = False) -> None:
    """Add a root version; the unique constraint refuses a version twice (a race between two rotations).
    `resign`: every entry of the feeds is to be signed again with the online keys it names, and is
    not yet (`resign_pending`)."""
    await graph.write(SAVE, version=version, document=document, now=now, resign=resign)


async def resign_pending(graph: Graph) -> int | None:
    """The latest root's version, if the feeds are still to be signed again with its online keys."""
    rows = await graph.read(RESIGN_PENDING)
    return int(rows[0]["version"]) if rows else None


async def resigned(graph: Graph, version: int) -> None:
    await graph.write(RESIGNED, version=version)


async def latest(graph: Graph) -> tuple[int, str] | None:
    rows = await graph.read(LATEST)
    return (int(rows[0]["version"]), str(rows[0]["document"])) if rows else None


async def one(graph: Graph, version: int) -> str | None:
    rows = await graph.read(ONE, version=version)
    return str(rows[0]["document"]) if rows else None
