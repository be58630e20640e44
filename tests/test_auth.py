"""Authentication once: the middleware turns every request into a viewer before any route runs;
a bad credential is refused wherever records are read, and ignored where none are."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from directory.base.scope import viewer_in
from directory.store import Store
from tests.conftest import LiveServer

pytestmark = pytest.mark.anyio

BAD = {"Authorization": "Bearer pd_not-a-token"}


async def get(server: LiveServer, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        return await client.get(path, headers=headers or {})


async def test_a_bad_token_is_refused_on_every_route_that_reads_records(store: Store,
                                                                          live_server: LiveServer) -> None:
    for path in ("/maps", "/maps/directory", "/nowhere"):
        refused = await get(live_server, path, BAD)
        assert refused.status_code == 401 and "not valid" in refused.text, path
        assert refused.headers["www-authenticate"] == "Bearer"
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
        graphql = await client.post("/graphql", json={"query": "{ taxonomy { code } }"}, headers=BAD)
    assert graphql.status_code == 401 and graphql.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    _, token = await store.tokens.create("steward", None, "auth test")
    assert (await get(live_server, "/maps", {"Authorization": f"Bearer {token}"})).status_code == 200


async def test_routes_that_read_no_record_ignore_credentials(store: Store, live_server: LiveServer) -> None:
    """A proxy's own Authorization header, or a forged PD-Request, costs these routes nothing."""
    forged = base64.urlsafe_b64encode(json.dumps({"type": "pd-request", "from": "x"}).encode()).decode()
    for path in ("/health", "/.well-known/protection-directory.json", "/maps/assets/leaflet.js"):
        for headers in ({"Authorization": "Basic dXNlcjpwYXNz"}, BAD, {"PD-Request": forged}):
            answer = await get(live_server, path, headers)
            assert answer.status_code in (200, 404) and answer.status_code != 401, (path, headers)
    assert (await get(live_server, "/health", BAD)).json()["status"] == "ok"


def test_a_route_outside_the_middleware_fails_closed() -> None:
    with pytest.raises(RuntimeError):
        viewer_in({"type": "http", "path": "/pages"})


async def test_a_stewards_token_names_no_organisation_and_a_members_one_listed_here(store: Store) -> None:
    """An operator's walk: `token create --role steward --org X` was listed as "steward of X", which
    meant nothing; a member's token for an id not listed said the id alone, not what to do."""
    from directory.domain.errors import BadArgument, NotFound
    from tests.helpers import load, org

    await load(store, [org("a")])
    with pytest.raises(BadArgument, match="a steward's token is for the whole directory"):
        await store.tokens.create("steward", "test:a")
    with pytest.raises(NotFound):
        await store.tokens.create("member", "test:nosuch")
    assert (await store.tokens.create("member", "test:a"))[1]
