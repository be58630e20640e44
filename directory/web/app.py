"""The web app: pages for people at / (`directory.web.pages`), GraphQL at /graphql, maps under /maps
and a health check at /health.

Stateless but for the store.

The store is opened in the lifespan and kept in the app state, never in a global. With the
embedded backend a watcher restarts the store process if it dies; committed data survives that.

Every request passes `Authenticate` (`directory.web.auth`) first: the API token (`Authorization:
Bearer pd_...`; none means anonymous, a bad one is refused) becomes the request's viewer. Every
GraphQL request then passes `GraphQLGate`: a body size cap, a UTF-8 check and the time budget; a
query whose document the compiler knows is answered there (`schema.compiled`), any other by strawberry.
Expensive requests also hold one of the process's slots (`directory.base.budget`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL

from directory.base import budget
from directory.base.budget import OverBudget, Slots
from directory.base.config import Settings
from directory.base.scope import viewer_in
from directory.exchange import demo
from directory.store import Given, Store, open_store
from directory.web import graphiql
from directory.web.auth import Authenticate
from directory.web.pages.deadline import Deadline, Watched
from directory.web.pages.editing import routes as editing_routes
from directory.web.pages.forms import AskedBefore, Forged, SignedOut, Unreadable
from directory.web.pages.jobs import routes as job_page_routes
from directory.web.pages.joining import routes as joining_routes
from directory.web.pages.map_pages import routes as map_routes
from directory.web.pages.routes import fallback
from directory.web.pages.routes import routes as page_routes
from directory.web.pages.session import asked_before, forged, signed_out, unreadable
from directory.web.pages.session import routes as session_routes
from directory.web.pages.stewards import routes as steward_routes
from federation import service as federation
from federation.routes import routes as federation_routes
from maps import assets as map_assets
from schema import schema
from schema.compiled import Compiler
from schema.context import Context
from schema.work import STORE_UNAVAILABLE

log = logging.getLogger("directory.web")
WATCH_SECONDS = 5.0
HEALTH_SECONDS = 2.0
MAX_BODY = 64 * 1024


class DirectoryGraphQL(GraphQL[Context, None]):
    async def get_context(self, request: Request, response: Any = None) -> Context:  # type: ignore[override]
        return Context(store=request.app.state.store, viewer=viewer_in(request.scope),
                       slots=request.app.state.slots)


async def _error(send: Send, status: int, message: str, code: str) -> None:
    body = json.dumps({"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# Every GraphQL answer may hold what only its viewer may see: no cache keeps it, nor serves it to
# another token (an integrator's walk found member answers sent with no caching header at all).
_NOT_STORED = ((b"cache-control", b"no-store"), (b"vary", b"Authorization"))


def _not_stored(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            named = {bytes(k).lower() for k, _ in headers}
            message = {**message, "headers": headers + [h for h in _NOT_STORED if h[0] not in named]}
        await send(message)
    return sending


def _not_a_request(body: bytes) -> str | None:
    """Why a JSON body is no GraphQL request, said to the client: strawberry answered a number or a
    string with a server error and logged its traceback."""
    try:
        found = json.loads(body)
    except ValueError as exc:
        return f"the request body is not valid JSON ({exc})"
    except RecursionError:  # arrays in arrays some thousands deep: nothing a request needs
        return "the request body is not valid JSON: nested too deep"
    if isinstance(found, list):
        return "the request body is a list: this service answers one request at a time, not a batch"
    if not isinstance(found, dict):
        return "the request body must be a JSON object with a \"query\""
    return None


class _ClientGone(Exception):
    """The client went away before its body was whole: nobody is left to answer."""


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when it is over MAX_BODY."""
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _ClientGone
        body += bytes(message.get("body", b""))
        if len(body) > MAX_BODY:
            return None
        if not message.get("more_body"):
            return body


class GraphQLGate:
    """Body checks and the time budget around the GraphQL app (`Authenticate` found the viewer).

    The body is read whole (it is capped at MAX_BODY) and must be UTF-8 before GraphQL sees it:
    a malformed body is the client's mistake and gets a 400 saying so, never a server error."""

    def __init__(self, app: DirectoryGraphQL, budget: float, compiler: Compiler | None = None) -> None:
        self.app = app
        self.budget = budget
        self.compiler = compiler

    async def _compiled(self, scope: Scope, body: bytes, send: Send) -> bool:
        """Answer a query the compiler knows (`schema.compiled`); False: strawberry must answer it."""
        if self.compiler is None or scope["method"] != "POST":
            return False
        kind = Request(scope).headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            return False
        answer = await self.compiler.answer(scope["app"].state.store, viewer_in(scope), body)
        if answer is None:
            return False
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        send = _not_stored(send)
        too_large = f"the request body is over {MAX_BODY // 1024} KiB"
        if int(request.headers.get("content-length") or 0) > MAX_BODY:
            await _error(send, 413, too_large, "BODY_TOO_LARGE")
            return
        body = b""
        if scope["method"] == "POST":
            try:
                found = await _read_body(receive)
            except _ClientGone:
                return
            if found is None:
                await _error(send, 413, too_large, "BODY_TOO_LARGE")
                return
            try:
                found.decode("utf-8")
            except UnicodeDecodeError as exc:
                await _error(send, 400, f"the request body is not valid UTF-8 (byte {exc.start})", "BAD_REQUEST")
                return
            body = found
            # strawberry reads as JSON any body whose type names it anywhere ("application/jsonx",
            # "x/application/json, text/plain": an attacker's read): so is it checked here
            kind = request.headers.get("content-type", "").lower()
            if "application/json" in kind and (why := _not_a_request(body)) is not None:
                await _error(send, 400, why, "BAD_REQUEST")
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        given: Given | None = None

        async def giving(message: Message) -> None:
            if message["type"] == "http.response.start" and given is not None:
                given.give()
            await send(message)

        watched = Watched(giving)
        try:
            # what one request's reads gave its viewer is noted as its answer starts going out, one
            # audit line per kind (a job's answer and the names resolved under it alike), so the
            # lines are there once the client has it; nothing if it failed before
            with budget.within(self.budget), scope["app"].state.store.answer(viewer_in(scope)) as given:
                async with asyncio.timeout(self.budget):
                    if not await self._compiled(scope, body, watched):
                        await self.app(scope, replay, watched)
        except TimeoutError:
            log.warning("a GraphQL request ran out of its time budget")
            if not watched.started:
                if await _store_gone(scope["app"].state.store):  # not the question's size: say so
                    await _error(send, 200, "the directory's store is not answering; try again in a minute",
                                 STORE_UNAVAILABLE)
                else:
                    await _error(send, 200, str(OverBudget(self.budget)), "TIME_BUDGET")


async def _store_gone(store: Store) -> bool:
    """Whether the embedded store takes no connection at all (not merely slow to answer)."""
    return store.embedded is not None and not await asyncio.to_thread(store.embedded.reachable)


async def health(request: Request) -> Response:
    """Whether the store answers, and how busy the expensive work is. Takes no slot: it must
    answer within a second even while every slot is taken."""
    store: Store = request.app.state.store
    slots: Slots = request.app.state.slots
    work = {"expensive_in_use": slots.in_use, "expensive_slots": slots.size, "busy_answers": slots.busy_answers}
    try:
        async with asyncio.timeout(HEALTH_SECONDS):
            version = await store.schema_version()
            # a crash read: a restore killed half-way served half the directory (false gaps) under "ok"
            # how many, never when (an attacker's read: the public learnt when stewards import)
            unfinished = len(await store.unfinished_imports()) + len(await store.backups.unfinished())
    except TimeoutError:  # slow, or (the embedded store taking no connection) not there at all
        status = "unavailable" if await _store_gone(store) else "slow"
        return JSONResponse({"status": status, "store": store.backend, **work}, status_code=503)
    except Exception:
        return JSONResponse({"status": "unavailable", "store": store.backend, **work}, status_code=503)
    # still answering, so 200; "incomplete" says the records are not all there (`directory status` says which)
    return JSONResponse({"status": "incomplete" if unfinished else "ok", "store": store.backend, "schema": version,
                         **work, **({"unfinished": unfinished} if unfinished else {})})


def create_app(settings: Settings, load_demo: bool = False) -> Starlette:
    """The app; with `load_demo` the demo data is loaded at start-up into a store that never held records."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_store(settings, sessions=True) as store:
            if load_demo:
                counts = await demo.load_into_empty(store)
                if counts is None:
                    log.warning("the store already holds records: the demo data was not loaded "
                                "(`directory demo` adds what is missing of it)")
                else:
                    log.warning("demo data loaded: %d organisations and %d services", counts.organisations,
                                counts.services)
            app.state.store = store
            app.state.settings = settings
            app.state.slots = Slots(settings.expensive_requests)
            app.state.publishing = federation.Publishing(settings, store)
            tasks = [asyncio.create_task(store.keep_embedded_alive(WATCH_SECONDS, log.warning))]
            if settings.federation_interval:
                tasks.append(asyncio.create_task(federation.run_forever(settings, store, app.state.publishing)))
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()

    map_assets.check()
    graphql = GraphQLGate(DirectoryGraphQL(schema, graphql_ide=None, allow_queries_via_get=False),
                          settings.time_budget, Compiler(schema._schema))
    pages = GZipMiddleware(Deadline(Router(routes=[*page_routes, *job_page_routes, *session_routes, *editing_routes,
                                                   *joining_routes, *steward_routes, fallback]), settings.time_budget))
    return Starlette(
        routes=[*graphiql.routes(graphql), Route("/health", health), *map_routes,
                *federation_routes, Mount("", app=pages)],
        exception_handlers={Forged: forged, SignedOut: signed_out, Unreadable: unreadable,
                            AskedBefore: asked_before},
        lifespan=lifespan,
        middleware=[Middleware(Authenticate)],
    )
