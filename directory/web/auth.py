"""Who is asking: one middleware for every route, so no handler authenticates.

Before any route runs, `Authenticate` puts a `Viewer` in the request scope: an API token
(`Authorization: Bearer pd_...`) names a member or a steward, and no credentials at all is the
anonymous public. Credentials that are present but wrong are refused here with a 401, never
answered as anonymous. Routes that read no record (`/health`, map assets, the discovery document,
roots and feeds) get the anonymous viewer without a look at the header, so a proxy's own
`Authorization` or a flood of tokens costs them nothing. The network feed alone asks who signed
the request (`PD-Request`, docs/federation.md): the peer goes in the scope when we added it as a
network partner, and any flaw in the signature reads the same as no signature. Routes read the
scope with `directory.base.scope`, which refuses a route mounted outside this middleware.

The pages' session is one more credential read here: after signing in with a token, the browser
holds a session value in an HttpOnly, SameSite=Strict cookie (`SESSION`, Secure over TLS): the
token's public id and when the session ends, under a MAC only the store's key makes
(`records/tokens.py`), never the token itself. A request with no `Authorization` header reads
the cookie; an ended, forged or revoked one is no session at all (the pages then show the public
view and a way to sign in), never a 401 that would lock a person out of the public pages. A
request signed in by cookie carries its CSRF value in the scope: every form the pages read must
send it back. GraphQL ignores the cookie: it takes the bearer token only, so no other page can
spend a person's session on it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from directory.base.config import Settings
from directory.domain.errors import StoreError
from directory.domain.viewer import ANONYMOUS, Viewer
from directory.store import Store
from directory.web.pages.deadline import RETRY_AFTER
from directory.web.pages.render import page
from federation.canonical import NotCanonical, parse
from federation.feed import CLOCK_SKEW
from federation.keys import Untrusted, check_root_dates, read_request, read_root, require, unb64

log = logging.getLogger("directory.web")

# Paths that read no record: no credential is looked at for them.
RECORD_FREE = ("/health", "/maps/assets/", "/graphql/assets/", "/pages.css", "/icon.svg", "/favicon.ico",
               "/.well-known/", "/federation/")
NETWORK_FEED = "/federation/feeds/network"
INVALID_TOKEN = "the API token is not valid: unknown, revoked or malformed"  # noqa: S105 (a message)
MAX_SIGNATURE = 8192
SESSION = "pd_session"


async def _session(connection: HTTPConnection, store: Store) -> tuple[Viewer, str | None]:
    """The viewer a session cookie names, and the CSRF value its forms carry (which another site
    cannot read, so it cannot make a browser post a form as its signed-in person); anonymous
    without a valid one."""
    signed_in = await store.tokens.signed_in(connection.cookies.get(SESSION, ""))
    return signed_in if signed_in is not None else (ANONYMOUS, None)


async def _bearer(connection: HTTPConnection, store: Store) -> Viewer | None:
    header = connection.headers.get("authorization")
    if not header:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return await store.tokens.viewer(token.strip())


async def _signed_by_partner(connection: HTTPConnection, store: Store, settings: Settings) -> str | None:
    """The network partner that signed this request, or None (any flaw reads the same)."""
    header = connection.headers.get("pd-request", "")
    if not header or len(header) > MAX_SIGNATURE:
        return None
    try:
        envelope = parse(unb64(header, "PD-Request"), "the request signature")
        url = connection.url
        path = url.path + (f"?{url.query}" if url.query else "")
        sender = read_request(envelope, settings.directory_id, connection.scope["method"], path,
                              datetime.now(UTC), CLOCK_SKEW)
        peer = await store.peers.find(sender)
        if peer is None or not peer.network or peer.quarantined:
            return None
        pinned = read_root(parse(peer.root.encode(), "the pinned root"))
        # a root past its expiry caps what its online keys sign, a request as an entry: a partner that
        # stopped signing fresh roots (its old key stolen, say) reads our network feed no more
        check_root_dates(pinned, datetime.now(UTC))
        require(envelope, pinned.online_keys, pinned.online_threshold, "the request")
        return peer.id
    except (Untrusted, NotCanonical):  # a store failure is not hidden as "unsigned"
        return None


async def _answer(scope: Scope, send: Send, status: int, message: str, code: str) -> None:
    """An error before any route ran: in GraphQL's error shape on /graphql, plain text elsewhere."""
    if scope["path"].startswith("/graphql"):
        body = json.dumps({"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}).encode()
        kind = b"application/json"
    else:
        body, kind = f"{message}.\n".encode(), b"text/plain; charset=utf-8"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _unavailable(scope: Scope, receive: Receive, send: Send) -> None:
    """The store did not answer in time: the API's error, or the pages' own page in the reader's
    language (`pages.deadline`), with a 503 and when to ask again."""
    if not scope["path"].startswith(("/graphql", "/federation")):
        scope.setdefault("viewer", ANONYMOUS)
        response = page(Request(scope), "unavailable.html", status=503)
        response.headers["Retry-After"] = str(RETRY_AFTER)
        await response(scope, receive, send)
        return
    await _answer(scope, send, 503, "the directory's store is not answering; try again in a minute",
                  "STORE_UNAVAILABLE")


def _dropping_the_session(send: Send) -> Send:
    """`send`, with the ended session's cookie deleted by the response, unless the response sets a
    new one (a sign-in sent with the ended cookie still in the browser)."""
    async def sending(message: Message) -> None:
        headers = message.get("headers", []) if message["type"] == "http.response.start" else None
        if headers is not None and not any(name.lower() == b"set-cookie" and value.startswith(f"{SESSION}=".encode())
                                           for name, value in headers):
            message = {**message, "headers": [*headers,
                                              (b"set-cookie", f'{SESSION}=""; Max-Age=0; Path=/; HttpOnly; '
                                                              f"SameSite=strict".encode())]}
        await send(message)
    return sending


class Authenticate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no route takes a websocket: refuse rather than pass it unauthenticated
            await send({"type": "websocket.close", "code": 1008})
            return
        state = scope["app"].state
        store: Store | None = getattr(state, "store", None)
        if store is None:
            await _answer(scope, send, 503, "the service is starting", "UNAVAILABLE")
            return
        connection = HTTPConnection(scope)
        path: str = scope["path"]
        scope["csrf"] = None
        try:  # a token, a session or a partner's key is looked up in the store, within the request's budget
            async with asyncio.timeout(state.settings.time_budget):
                if path.startswith(RECORD_FREE):
                    scope["viewer"] = ANONYMOUS
                elif "authorization" not in connection.headers and SESSION in connection.cookies \
                        and not path.startswith("/graphql"):  # the API takes tokens only: it checks no CSRF value
                    scope["viewer"], scope["csrf"] = await _session(connection, store)
                    if scope["csrf"] is None:  # a session that ended: said once on the page, and the cookie dropped
                        scope["session_ended"] = True
                        send = _dropping_the_session(send)
                else:
                    viewer = await _bearer(connection, store)
                    if viewer is None:
                        await _answer(scope, send, 401, f"Not authorised: {INVALID_TOKEN}", "UNAUTHENTICATED")
                        return
                    scope["viewer"] = viewer
                scope["partner"] = await _signed_by_partner(connection, store, state.settings) \
                    if path == NETWORK_FEED else None
        except (TimeoutError, StoreError) as exc:
            # a crash read: with the store hung, a request with a token waited two minutes for a bare 500
            # while an anonymous one had its answer in the budget; said as any request the store fails
            log.warning("a request's token or session could not be looked up: %s", type(exc).__name__)
            await _unavailable(scope, receive, send)
            return
        await self.app(scope, receive, send)
