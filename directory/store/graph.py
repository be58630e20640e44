"""The one owner of the neo4j driver: sessions, retries of transient errors, error translation.

Reads and writes go through managed transactions (`execute_read` / `execute_write`), which the
driver retries on transient errors such as ArcadeDB's write conflicts and Neo4j's deadlocks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import neo4j
from neo4j import AsyncDriver, AsyncManagedTransaction
from neo4j.exceptions import ConstraintError, Neo4jError, ServiceUnavailable, SessionExpired

from directory.errors import Conflict, StoreError, StoreUnavailable

T = TypeVar("T")
Tx = AsyncManagedTransaction


class Graph:
    """A database on a Bolt server, for one process. Safe to share between tasks."""

    def __init__(self, driver: AsyncDriver, database: str, backend: str) -> None:
        self.driver = driver
        self.database = database
        self.backend = backend
        self.round_trips = 0  # statements sent; tests count them to catch N+1 queries

    async def read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        async def work(tx: Tx) -> list[dict[str, Any]]:
            return await self.run(tx, query, **params)

        return await self.read_tx(work)

    async def read_plain(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """`read` for a statement returning only plain values (no nodes or relationships).

        It skips `Record.data()`, which walks every nested list and map to convert graph types:
        on the map's 100k-element list that walk cost more than the query."""
        async def work(tx: Tx) -> list[dict[str, Any]]:
            return await self._records(tx, query, params, plain=True)

        return await self.read_tx(work)

    async def write(self, query: str, **params: Any) -> list[dict[str, Any]]:
        async def work(tx: Tx) -> list[dict[str, Any]]:
            return await self.run(tx, query, **params)

        return await self.write_tx(work)

    async def run(self, tx: Tx, query: str, **params: Any) -> list[dict[str, Any]]:
        """One statement inside a transaction function."""
        return await self._records(tx, query, params, plain=False)

    async def _records(self, tx: Tx, query: str, params: dict[str, Any], plain: bool) -> list[dict[str, Any]]:
        self.round_trips += 1
        result = await tx.run(query, params)
        if plain:
            return [dict(zip(record.keys(), record.values(), strict=True)) async for record in result]
        return [record.data() async for record in result]

    async def read_tx(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        try:
            async with self.driver.session(database=self.database) as session:
                return await session.execute_read(work)
        except Neo4jError as exc:
            raise _translate(exc) from exc
        except (ServiceUnavailable, SessionExpired) as exc:
            raise StoreUnavailable(f"the graph store is not answering: {exc}") from exc

    async def write_tx(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        try:
            async with self.driver.session(database=self.database) as session:
                return await session.execute_write(work)
        except Neo4jError as exc:
            raise _translate(exc) from exc
        except (ServiceUnavailable, SessionExpired) as exc:
            raise StoreUnavailable(f"the graph store is not answering: {exc}") from exc

    async def close(self) -> None:
        await self.driver.close()


def _translate(exc: Neo4jError) -> Exception:
    if isinstance(exc, ConstraintError):
        # ArcadeDB's message is generic and may echo the statement: say what it means instead.
        return Conflict("the write would duplicate a record id that already exists")
    return StoreError(f"the graph store refused a statement ({exc.code})")


def make_driver(uri: str, auth: tuple[str, str]) -> AsyncDriver:
    return neo4j.AsyncGraphDatabase.driver(
        uri, auth=auth, max_connection_pool_size=32, connection_acquisition_timeout=30.0,
        max_transaction_retry_time=30.0, notifications_min_severity="OFF",
    )
