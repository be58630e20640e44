"""What a directory tells peers about itself: the discovery document and its roots of trust.

A peer never trusts a key because these documents show it: it pins the first root by the
fingerprint a steward gave it out of band, and follows rotations version by version from there
(docs/federation.md). The documents are public; they hold no record.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from directory.config import Settings
from directory.store import roots
from directory.store.records import Store
from federation.canonical import parse
from federation.keys import SPEC, read_root

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
        "feeds": {},  # the public and network feeds are not published yet
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


routes = [
    Route("/.well-known/protection-directory.json", discovery),
    Route("/federation/roots/{version}.json", root_version),
]
