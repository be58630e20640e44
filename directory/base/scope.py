"""What the web app's one authentication (`directory.web.auth`) leaves in a request's scope, read
by every route (GraphQL, maps, federation, pages): the routes live below the web app, so they read
it here rather than from the middleware's module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from directory.domain.viewer import Viewer


def viewer_in(scope: Mapping[str, Any]) -> Viewer:
    """The viewer the request authenticated as (anonymous when it brought no credentials). A route
    mounted outside the authentication fails closed: there is no viewer to fall back to."""
    viewer = scope.get("viewer")
    if not isinstance(viewer, Viewer):
        raise RuntimeError("no viewer in the request scope: the route is outside directory.web.auth")
    return viewer


def partner_in(scope: Mapping[str, Any]) -> str | None:
    """The network partner directory that signed the request, if any."""
    peer = scope.get("partner")
    return peer if isinstance(peer, str) else None
