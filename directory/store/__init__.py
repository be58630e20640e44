"""The graph store: one driver, two servers (embedded ArcadeDB, or Neo4j 5).

`open_store(settings)` is the only way in: it attaches to (or starts) the embedded store, or
connects to the configured Neo4j, makes sure the schema is current, and returns a `Store` whose
reads all take a `Viewer`. The backend differences live in `_backend()` and nowhere else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from directory.config import Settings
from directory.errors import StoreUnavailable
from directory.store.embedded import EmbeddedStore
from directory.store.graph import Graph, make_driver
from directory.store.records import Store
from directory.store.schema import ensure_schema

__all__ = ["EmbeddedStore", "Graph", "Store", "open_store"]


def _backend(settings: Settings) -> tuple[str, tuple[str, str], str, EmbeddedStore | None]:
    """URI, credentials, database name, and the embedded process if there is one."""
    if settings.backend == "neo4j":
        return settings.neo4j_uri, (settings.neo4j_user, settings.neo4j_password), settings.neo4j_database, None
    from directory.store import layout

    embedded = EmbeddedStore(settings.data_dir.resolve(), heap=settings.store_heap, port=settings.store_port)
    embedded.attach()
    return embedded.uri, embedded.auth, layout.DATABASE, embedded


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Store]:
    uri, auth, database, embedded = _backend(settings)
    driver = make_driver(uri, auth)
    graph = Graph(driver, database, settings.backend)
    try:
        try:
            await driver.verify_connectivity()
        except Exception as exc:
            raise StoreUnavailable(f"cannot reach the graph store at {uri}: {exc}") from exc
        await ensure_schema(graph)
        yield Store(graph, settings.directory_id, embedded)
    finally:
        await graph.close()
        if embedded is not None:
            embedded.stop()
