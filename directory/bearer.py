"""The viewer an HTTP request authenticates as, for every route that reads the directory.

`Authorization: Bearer pd_...` names an API token; no header means anonymous. A header that is
present but wrong gives `None`, and the route refuses the request rather than quietly answering
as anonymous.
"""

from __future__ import annotations

from starlette.requests import Request

from directory.store.records import Store
from directory.viewer import ANONYMOUS, Viewer


async def viewer_of(request: Request) -> Viewer | None:
    header = request.headers.get("authorization")
    if not header:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    store: Store = request.app.state.store
    return await store.tokens.viewer(token.strip())
