"""The graph store: one driver, two servers (embedded ArcadeDB, or Neo4j 5).

`open_store(settings)` is the only way in: it attaches to (or starts) the embedded store, or
connects to the configured Neo4j, makes sure the schema is current, and returns a `Store` whose
reads all take a `Viewer`. The backend differences live in `backends.py` and nowhere else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from directory.audit import AuditLog
from directory.config import Settings
from directory.errors import StoreUnavailable
from directory.store import shelters
from directory.store.backends import connection
from directory.store.embedded import EmbeddedStore
from directory.store.graph import Graph, make_driver
from directory.store.records import Store
from directory.store.schema import ensure_schema
from directory.store.writes import now

__all__ = ["EmbeddedStore", "Graph", "Store", "open_store"]


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Store]:
    uri, auth, database, embedded = connection(settings)
    driver = make_driver(uri, auth)
    graph = Graph(driver, database, settings.backend)
    try:
        try:
            await driver.verify_connectivity()
        except Exception as exc:
            raise StoreUnavailable(f"cannot reach the graph store at {uri}: {exc}") from exc
        await ensure_schema(graph, embedded)
        await shelters.refresh_now(graph, settings.map_shelter_minimum, now())  # the minimum may have changed
        yield Store(graph, settings.directory_id, embedded, AuditLog(settings.data_dir / "audit"),
                    settings.map_shelter_minimum)
    finally:
        await graph.close()
        if embedded is not None:
            embedded.stop()
