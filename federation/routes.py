"""What a directory serves peers: the discovery document, its roots of trust, and its feeds.

A peer never trusts a key because these documents show it: it pins the first root by the
fingerprint a steward gave it out of band, and follows rotations version by version from there
(docs/federation.md). The discovery document and roots are public and hold no record. The public
feed is public; the network feed is served only on a request signed by a peer this directory
added as a network partner, checked against the root it pinned for that peer.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from directory.config import Settings
from directory.store import peers, roots
from directory.store.records import Store
from federation.canonical import NotCanonical, parse
from federation.feed import AUDIENCES, CLOCK_SKEW
from federation.keys import SPEC, Untrusted, read_request, read_root, require, unb64
from federation.publish import PAGE_LIMIT, Publisher

JSON = "application/json"


async def discovery(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    store: Store = request.app.state.store
    found = await roots.latest(store.graph)
    root = read_root(parse(found[1].encode(), "the stored root")) if found else None
    return JSONResponse({
        "spec": SPEC, "directory": settings.directory_id, "name": settings.directory_name,
        "roots": "/federation/roots/{version}.json",
        "root": None if root is None else {"version": root.version, "expires": root.expires,
                                           "fingerprint": root.fingerprint,
                                           "url": f"/federation/roots/{root.version}.json"},
        "feeds": {} if request.app.state.publisher is None else {
            "public": "/federation/feeds/public?after={cursor}",
            "network": "/federation/feeds/network?after={cursor}",
        },
        "note": "Trust a root only by the fingerprint its stewards gave you, never by this document.",
    }, headers={"Cache-Control": "no-cache"})


async def root_version(request: Request) -> Response:
    store: Store = request.app.state.store
    try:
        version = int(request.path_params["version"])
    except ValueError:
        version = 0
    document = await roots.one(store.graph, version) if version > 0 else None
    if document is None:
        return JSONResponse({"error": f"no root version {request.path_params['version']}"}, status_code=404)
    # the exact stored bytes: a peer verifies the bytes it receives
    return Response(document.encode(), media_type=JSON, headers={"Cache-Control": "public, max-age=300"})


async def signed_by_partner(request: Request) -> str | None:
    """The network partner that signed this request, or None (any flaw reads the same)."""
    header = request.headers.get("pd-request", "")
    if not header or len(header) > 8192:
        return None
    settings: Settings = request.app.state.settings
    store: Store = request.app.state.store
    try:
        envelope = parse(unb64(header, "PD-Request"), "the request signature")
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        sender = read_request(envelope, settings.directory_id, request.method, path, datetime.now(UTC),
                              CLOCK_SKEW)
        peer = await peers.one(store.graph, sender, missing_ok=True)
        if peer is None or not peer.network or peer.quarantined:
            return None
        pinned = read_root(parse(peer.root.encode(), "the pinned root"))
        require(envelope, pinned.online_keys, pinned.online_threshold, "the request")
        return peer.id
    except (Untrusted, NotCanonical):  # any flaw reads the same; a store failure is not hidden as a 403
        return None


async def feed_page(request: Request) -> Response:
    publisher: Publisher | None = request.app.state.publisher
    audience = request.path_params["audience"]
    if publisher is None or audience not in AUDIENCES:
        return JSONResponse({"error": f"no {audience} feed here"}, status_code=404)
    if audience == "network" and await signed_by_partner(request) is None:
        return JSONResponse({"error": "the network feed is served only to network partners, on a request "
                                      "signed with their directory's online key"}, status_code=403)
    try:
        after = int(request.query_params.get("after", "0"))
        limit = int(request.query_params.get("limit", str(PAGE_LIMIT)))
        body = await publisher.page(audience, after, limit)
    except ValueError as exc:
        return JSONResponse({"error": f"after and limit must be whole numbers within the log: {exc}"},
                            status_code=400)
    return Response(body, media_type=JSON, headers={"Cache-Control": "no-store"})


routes = [
    Route("/.well-known/protection-directory.json", discovery),
    Route("/federation/roots/{version}.json", root_version),
    Route("/federation/feeds/{audience}", feed_page),
]
