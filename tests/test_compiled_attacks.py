"""Attacks on the compiled GraphQL path (`schema.compiled`) and the token cache (`records.tokens`).

Each test states what must hold and fails while it does not: the compiled path must answer a
request exactly as strawberry would (or give way before doing anything), and a token must stand
only for what the store it was asked of holds now.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from directory.base.audit import read_all
from directory.base.config import Settings
from directory.domain.viewer import STEWARD
from directory.store import Store
from directory.store.records import tokens as token_module
from directory.store.records.tokens import Tokens
from schema import schema
from schema.compiled import Compiler
from tests.conftest import LiveServer
from tests.test_compiled import seed

pytestmark = pytest.mark.anyio

KNOWN = '{ organisation(id: "test:a") { name } }'  # compiled
UNKNOWN = '{ organisation(id: "test:a") { ...F } } fragment F on Organisation { name }'  # strawberry only


async def _post(url: str, body: Any, token: str | None = None) -> httpx.Response:
    headers = {"content-type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        return await client.post("/graphql", content=json.dumps(body), headers=headers)


@pytest.mark.parametrize("extra", [{"operationName": 5}, {"operationName": ["x"]}, {"variables": "x"},
                                   {"variables": [1]}])
async def test_a_malformed_request_is_refused_by_the_compiled_path_as_by_strawberry(
        store: Store, live_server: LiveServer, extra: dict[str, Any]) -> None:
    """strawberry refuses an operationName that is not a string and variables that are not an
    object (400); the compiled path took `operationName: 5` as no name and `variables: "x"` as
    none, and answered 200 with data. The same request must not be accepted or refused by
    whether the document happens to be one the compiler knows."""
    await seed(store)
    by_strawberry = await _post(live_server.url, {"query": UNKNOWN, **extra})
    assert by_strawberry.status_code == 400, by_strawberry.text
    compiled = await _post(live_server.url, {"query": KNOWN, **extra})
    assert compiled.status_code == by_strawberry.status_code, compiled.text


async def test_a_request_the_compiler_gives_way_on_has_read_and_audited_nothing(
        store: Store, settings: Settings) -> None:
    """The compiled path runs its root fields one by one and gives way on the first failure;
    strawberry then runs the whole operation again. So every root field before the failing one
    is read twice (a document of 20 heavy aliases ending in one bad argument doubles its cost),
    and the restricted records the thrown-away compiled reads gave are noted in the audit log as
    shown to the steward by an answer that never carried them (strawberry notes its own)."""
    await seed(store)
    compiler = Compiler(schema._schema)
    query = ('{ c: organisation(id: "test:c") { name } '
             'bad: organisations(filter: {country: "XX"}) { totalCount } }')
    before, trips = len(read_all(settings.data_dir / "audit")), store.graph.round_trips
    assert await compiler.answer(store, STEWARD, json.dumps({"query": query}).encode()) is None
    assert read_all(settings.data_dir / "audit")[before:] == []
    assert store.graph.round_trips == trips, "statements run for an answer thrown away"


class _AnotherStore:
    """The graph of another store, holding no token at all."""

    backend = "arcadedb"

    async def read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        return []


async def test_a_token_kept_for_one_store_stands_for_nothing_in_another(store: Store) -> None:
    """What a token's lookup found is kept a second in a module-wide dict keyed by the token's id
    alone, not by the store (graph) it was read from: another store in the same process accepts
    a token it never issued, with the first store's role, without reading anything."""
    _, token = await store.tokens.create("steward", None, "attacks")
    assert (await store.tokens.viewer(token)) is not None  # read once: now kept for a second
    other = Tokens(_AnotherStore())  # type: ignore[arg-type]
    assert await other.viewer(token) is None


async def test_a_token_revoked_while_its_lookup_is_in_flight_stops_at_once(store: Store) -> None:
    """README: revoked from the stewards' desk, a token stops at once in that process. A lookup
    that read the token before the revocation committed, and whose answer arrives after
    `revoke` has cleared the cache twice, puts the live token back: it keeps working for another
    second after `revoke` returned. (The delay stands for a slow answer over Bolt.)"""
    token_id, token = await store.tokens.create("steward", None, "attacks")
    graph = store.graph
    real_read = graph.read
    answered, release = asyncio.Event(), asyncio.Event()

    async def slow_read(query: str, **params: Any) -> list[dict[str, Any]]:
        rows = await real_read(query, **params)
        if query == token_module.FIND and params.get("id") == token_id and not release.is_set():
            answered.set()
            await release.wait()  # the rows were read before the revocation
        return rows

    graph.read = slow_read  # type: ignore[method-assign]
    try:
        in_flight = asyncio.create_task(store.tokens.viewer(token))
        await answered.wait()
        await store.tokens.revoke(token_id)
        release.set()
        await in_flight  # that request was allowed: it started before the revocation
        assert await store.tokens.viewer(token) is None, "a revoked token still works in this process"
    finally:
        graph.read = real_read  # type: ignore[method-assign]
