"""The web app: GraphQL at /graphql and a health check at /health. Stateless but for the store.

The store is opened in the lifespan and kept in the app state, never in a global. With the
embedded backend a watcher restarts the store process if it dies; committed data survives that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from directory import demo
from directory.config import Settings
from directory.store import open_store
from directory.store.graph import make_driver
from directory.store.records import Store
from directory.store.schema import schema_version
from directory.viewer import ANONYMOUS
from schema import schema
from schema.context import Context

log = logging.getLogger("directory.web")
WATCH_SECONDS = 5.0


class DirectoryGraphQL(GraphQL[Context, None]):
    async def get_context(self, request: Request, response: Any = None) -> Context:  # type: ignore[override]
        return Context(store=request.app.state.store, viewer=ANONYMOUS)


async def health(request: Request) -> Response:
    store: Store = request.app.state.store
    try:
        version = await schema_version(store.graph)
    except Exception:
        return JSONResponse({"status": "unavailable", "store": store.graph.backend}, status_code=503)
    return JSONResponse({"status": "ok", "store": store.graph.backend, "schema": version})


async def _watch(store: Store) -> None:
    embedded = store.embedded
    if embedded is None:
        return
    while True:
        await asyncio.sleep(WATCH_SECONDS)
        uri = embedded.uri
        if await asyncio.to_thread(embedded.restart_if_dead):
            log.warning("the embedded store had stopped; it was started again")
            if embedded.uri != uri:  # another command's store took the folder first: follow it
                old, store.graph.driver = store.graph.driver, make_driver(embedded.uri, embedded.auth)
                await old.close()


def create_app(settings: Settings, load_demo: bool = False) -> Starlette:
    """The app; with `load_demo` the demo data is upserted at start-up (idempotent)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_store(settings) as store:
            if load_demo:
                counts = await demo.load(store)
                log.warning("demo data loaded: %d organisations and %d services changed",
                            counts.organisations, counts.services)
            app.state.store = store
            watcher = asyncio.create_task(_watch(store))
            try:
                yield
            finally:
                watcher.cancel()

    graphql = DirectoryGraphQL(schema, graphql_ide=None, allow_queries_via_get=False)
    return Starlette(
        routes=[Route("/graphql", graphql, methods=["GET", "POST"]), Route("/health", health)],
        lifespan=lifespan,
    )
