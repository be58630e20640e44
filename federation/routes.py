"""What a directory serves peers: the discovery document, its roots of trust, and its feeds.

A peer never trusts a key because these documents show it: it pins the first root by the
fingerprint a steward gave it out of band, and follows rotations version by version from there
(docs/federation.md). The discovery document and roots are public and hold no record. The public
feed is public; the network feed is served only on a request signed by a peer this directory
added as a network partner, checked against the root it pinned for that peer.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from directory.base.config import Settings
from directory.base.scope import partner_in
from directory.store import Store
from federation.canonical import MAX_SAFE_INTEGER, parse
from federation.feed import AUDIENCES
from federation.identity import DamagedKeyFile
from federation.keys import SPEC, read_root
from federation.publish import PAGE_LIMIT, Publisher

JSON = "application/json"

log = logging.getLogger("directory.federation")


async def discovery(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    store: Store = request.app.state.store
    found = await store.roots.latest()
    root = read_root(parse(found[1].encode(), "the stored root")) if found else None
    return JSONResponse({
        "spec": SPEC, "directory": settings.directory_id, "name": settings.directory_name,
        "roots": "/federation/roots/{version}.json",
        "root": None if root is None else {"version": root.version, "expires": root.expires,
                                           "fingerprint": root.fingerprint,
                                           "url": f"/federation/roots/{root.version}.json"},
        "feeds": {} if request.app.state.publishing.get() is None else {
            "public": "/federation/feeds/public?after={cursor}",
            "network": "/federation/feeds/network?after={cursor}",
        },
        "note": "Trust a root only by the fingerprint its stewards gave you, never by this document.",
    }, headers={"Cache-Control": "no-cache"})


def _whole(text: str) -> int:
    """A whole number as the addresses write it: ASCII digits, at most 2^53 (which the store's driver
    takes; `int` reads other scripts' digits, and a larger number failed in the driver, a 500)."""
    if not (text.isascii() and text.isdigit() and len(text) <= 16) or int(text) > MAX_SAFE_INTEGER:
        raise ValueError(f"{text[:40]!r} is not a whole number up to 2^53")
    return int(text)


async def root_version(request: Request) -> Response:
    store: Store = request.app.state.store
    try:
        version = _whole(request.path_params["version"])
    except ValueError:
        version = 0
    document = await store.roots.one(version) if version > 0 else None
    if document is None:
        return JSONResponse({"error": f"no root version {request.path_params['version']}"}, status_code=404)
    # the exact stored bytes: a peer verifies the bytes it receives
    return Response(document.encode(), media_type=JSON, headers={"Cache-Control": "public, max-age=300"})


async def feed_page(request: Request) -> Response:
    publisher: Publisher | None = request.app.state.publishing.get()
    audience = request.path_params["audience"]
    if publisher is None or audience not in AUDIENCES:
        return JSONResponse({"error": f"no {audience} feed here"}, status_code=404)
    if audience == "network" and partner_in(request.scope) is None:
        return JSONResponse({"error": "the network feed is served only to network partners, on a request "
                                      "signed with their directory's online key"}, status_code=403)
    try:
        after = _whole(request.query_params.get("after", "0"))
        limit = _whole(request.query_params.get("limit", str(PAGE_LIMIT)))
        body = await publisher.page(audience, after, limit)
    except ValueError as exc:
        return JSONResponse({"error": f"after and limit must be whole numbers within the log: {exc}"},
                            status_code=400)
    except DamagedKeyFile as exc:  # nothing signed, said in a line (an attacker's read: a 500 and a traceback)
        log.error("a feed page could not be signed: %s", exc)
        return JSONResponse({"error": "the feed cannot be signed just now"}, status_code=503,
                            headers={"Retry-After": "300"})
    return Response(body, media_type=JSON, headers={"Cache-Control": "no-store"})


routes = [
    Route("/.well-known/protection-directory.json", discovery),
    Route("/federation/roots/{version}.json", root_version),
    Route("/federation/feeds/{audience}", feed_page),
]
