"""The one owner of the neo4j driver: sessions, retries of transient errors, error translation.

A read of one statement runs as an auto-commit transaction (one round trip); other reads and
writes are transaction functions. Either runs again whole when the server reports a transient
error, such as ArcadeDB's write conflicts and Neo4j's deadlocks, so a function must do all its
reading and deciding inside the transaction. The retry is ours rather
than the driver's managed one: the driver waits a second before its first retry (a conflict
between two editors then costs every one of them a second) and logs the server's message,
which may quote what was written; ours starts at a few milliseconds and logs nothing.

A unique key broken (`ConstraintError`) is also run again, a few times: on ArcadeDB two writers that
each MERGE the same new node (a place's node for a service type, an organisation identifier, a
record both create) both create it, and the second to commit breaks the key. Run again, its MERGE
finds the node. A key broken for good (a restore creating a record that exists) fails the same way
each time and is reported as a `Conflict` after those few attempts. So is a node or relationship
deleted by another writer after a statement found it (`ENTITY_GONE`): two imports of one file at
once each take away the other's relationships to write them again.

Every statement first checks the request's time budget (`directory.base.budget`), and a transaction
of a request holding a slot for expensive work is finished even if the request is cancelled, so
that the slot stays taken while the store is still busy with it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import neo4j
from neo4j import AsyncDriver, AsyncSession, AsyncTransaction
from neo4j.exceptions import ConstraintError, DriverError, Neo4jError, ServiceUnavailable, SessionExpired

from directory.base import budget
from directory.domain.errors import Conflict, StatementTimedOut, StoreError, StoreUnavailable

T = TypeVar("T")
Tx = AsyncTransaction
RETRY_SECONDS = 30.0  # how long a transaction function is retried on transient errors
KEY_ATTEMPTS = 4  # how many times one is run when it breaks a unique key (see above)
_FIRST_DELAY, _LONGEST_DELAY = 0.002, 0.5


class Graph:
    """A database on a Bolt server, for one process. Safe to share between tasks."""

    def __init__(self, driver: AsyncDriver, database: str, backend: str) -> None:
        self.driver = driver
        self.database = database
        self.backend = backend
        self.round_trips = 0  # statements sent; tests count them to catch N+1 queries

    async def read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """One statement, read as an auto-commit transaction: one round trip to the server instead
        of three (begin, run, commit), which was most of a small lookup's time."""
        return await budget.shielded(self._attempts(self._once(query, params, plain=False), neo4j.READ_ACCESS))

    async def read_plain(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """`read` for a statement returning only plain values (no nodes or relationships).

        It skips `Record.data()`, which walks every nested list and map to convert graph types:
        on the map's 100k-element list that walk cost more than the query."""
        return await budget.shielded(self._attempts(self._once(query, params, plain=True), neo4j.READ_ACCESS))

    def _once(self, query: str, params: dict[str, Any],
              plain: bool) -> Callable[[AsyncSession, float | None], Awaitable[list[dict[str, Any]]]]:
        async def run(session: AsyncSession, timeout: float | None) -> list[dict[str, Any]]:
            budget.check()
            self.round_trips += 1
            result = await session.run(neo4j.Query(query, timeout=timeout), params)
            if plain:
                return [dict(zip(record.keys(), record.values(), strict=True)) async for record in result]
            return [record.data() async for record in result]

        return run

    async def write(self, query: str, **params: Any) -> list[dict[str, Any]]:
        async def work(tx: Tx) -> list[dict[str, Any]]:
            return await self.run(tx, query, **params)

        return await self.write_tx(work)

    async def run(self, tx: Tx, query: str, **params: Any) -> list[dict[str, Any]]:
        """One statement inside a transaction function."""
        return await self._records(tx, query, params, plain=False)

    async def run_plain(self, tx: Tx, query: str, **params: Any) -> list[dict[str, Any]]:
        """`run` for a statement returning only plain values (see `read_plain`)."""
        return await self._records(tx, query, params, plain=True)

    async def _records(self, tx: Tx, query: str, params: dict[str, Any], plain: bool) -> list[dict[str, Any]]:
        budget.check()
        self.round_trips += 1
        result = await tx.run(query, params)
        if plain:
            return [dict(zip(record.keys(), record.values(), strict=True)) async for record in result]
        return [record.data() async for record in result]

    async def read_tx(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        return await self._transaction(work, neo4j.READ_ACCESS)

    async def write_tx(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        return await self._transaction(work, neo4j.WRITE_ACCESS)

    async def _transaction(self, work: Callable[[Tx], Awaitable[T]], mode: str) -> T:
        async def explicit(session: AsyncSession, timeout: float | None) -> T:
            async with await session.begin_transaction(timeout=timeout) as tx:
                return await work(tx)  # leaving the block commits; an exception rolls back

        return await budget.shielded(self._attempts(explicit, mode))

    async def _attempts(self, work: Callable[[AsyncSession, float | None], Awaitable[T]], mode: str) -> T:
        """Run `work` in a session, again on a transient error, with jittered backoff."""
        started, delay, broken = time.monotonic(), _FIRST_DELAY, 0  # broken: attempts that broke a unique key
        while True:
            try:
                async with self.driver.session(database=self.database, default_access_mode=mode) as session:
                    # Neo4j stops the transaction at the request's deadline; ArcadeDB ignores this
                    # and is bounded by its server-wide statement timeout (`launcher.py`).
                    left = budget.remaining()
                    return await work(session, None if left is None else max(left, 0.001))
            except (Neo4jError, DriverError) as exc:
                # a conflict before a broken key is no race lost: only races lost count towards the few allowed
                lost = _race_lost(exc)
                broken += lost
                again = exc.is_retryable() or (lost and broken < KEY_ATTEMPTS)
                if not again or time.monotonic() - started > RETRY_SECONDS:
                    raise _translate(exc) from exc
            await asyncio.sleep(random.uniform(delay / 2, delay))
            delay = min(delay * 2, _LONGEST_DELAY)

    async def close(self) -> None:
        await self.driver.close()


# A node or relationship another writer deleted after this statement found it (ArcadeDB: two imports
# of one file, each taking away the other's relationships to write them again).
ENTITY_GONE = "Neo.ClientError.Statement.EntityNotFound"


def _race_lost(exc: Neo4jError | DriverError) -> bool:
    """A write that lost a race to a writer that committed first: a unique key it broke, or something
    it was changing that the other deleted. Run again, it sees what the other committed."""
    return isinstance(exc, ConstraintError) or (isinstance(exc, Neo4jError) and exc.code == ENTITY_GONE)


def _translate(exc: Neo4jError | DriverError) -> Exception:
    if isinstance(exc, ServiceUnavailable | SessionExpired):
        return StoreUnavailable(f"the graph store is not answering: {exc}")
    if isinstance(exc, DriverError):
        return StoreError(f"the graph store connection failed ({type(exc).__name__})")
    if exc.code is not None and exc.code.startswith("Neo.ClientError.Transaction.TransactionTimedOut"):
        return StatementTimedOut()
    if exc.code is not None and exc.code.startswith("Neo.TransientError"):
        # retried for RETRY_SECONDS: other writes to the same records (edits, another import) kept it out
        return StoreError(f"other writes to the same records kept this one out for {RETRY_SECONDS:.0f} s "
                          f"({exc.code}); it was not made: run it again when fewer writes are going on")
    if "heap budget" in (exc.message or "").lower():  # ArcadeDB's bound on one statement's memory
        return StoreError("a statement needed more memory than the graph store lets one statement use (a part "
                          "of its heap): a larger DIRECTORY_STORE_HEAP raises that")
    if isinstance(exc, ConstraintError):
        # ArcadeDB's message is generic and may echo the statement: say what it means instead.
        return Conflict("the write would duplicate a record id that already exists")
    return StoreError(f"the graph store refused a statement ({exc.code})")


def make_driver(uri: str, auth: tuple[str, str]) -> AsyncDriver:
    # the driver's own lines ("[#A1F6] _: <CONNECTION> error ...") reached a CLI's stderr whenever the
    # store died: what they say comes back as the error the command reports (`StoreUnavailable`)
    logging.getLogger("neo4j").setLevel(logging.CRITICAL)
    return neo4j.AsyncGraphDatabase.driver(
        uri, auth=auth, max_connection_pool_size=32, connection_acquisition_timeout=30.0,
        max_transaction_retry_time=30.0, notifications_min_severity="OFF",
    )
