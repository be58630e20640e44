"""What the web app's one authentication (`directory.web.auth`) leaves in a request's scope, read
by every route (GraphQL, maps, federation, pages): the routes live below the web app, so they read
it here rather than from the middleware's module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from directory.domain.viewer import ANONYMOUS, Viewer


def viewer_in(scope: Mapping[str, Any]) -> Viewer:
    """The viewer the request authenticated as (anonymous when it brought no credentials)."""
    viewer = scope.get("viewer")
    return viewer if isinstance(viewer, Viewer) else ANONYMOUS


def partner_in(scope: Mapping[str, Any]) -> str | None:
    """The network partner directory that signed the request, if any."""
    peer = scope.get("partner")
    return peer if isinstance(peer, str) else None
