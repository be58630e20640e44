"""The first GraphQL, through real HTTP requests to the running web app."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from directory.exchange import demo
from directory.store import Store
from tests.conftest import LiveServer
from tests.helpers import shown_in_cell

pytestmark = pytest.mark.anyio

LIST = """
query($filter: ListFilter, $first: Int, $after: String) {
  organisations(filter: $filter, first: $first, after: $after) {
    totalCount
    edges { cursor node { id: recordId name kind visibility contactChannels location { latitude longitude precision }
                          services { id type capacity } provenance { publisher revision updatedAt } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def gql(server: LiveServer, query: str, **variables: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


async def test_health_reports_the_store(store: Store, live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        body = (await client.get("/health")).json()
    assert body["status"] == "ok" and body["store"] == "embedded" and body["schema"] >= 1
    # a crash read: a restore killed half-way served half the directory under "ok"
    from directory.store import backup

    await store.graph.write(backup.MARK, id="restore-x", source="b.jsonl", now="2026-12-07T00:00:00Z", new_terms=[])
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        half = await client.get("/health")
    assert half.status_code == 200 and half.json()["status"] == "incomplete"
    assert half.json()["unfinished"] == 1 and "2026-12-07" not in half.text  # how many, never when
    await store.graph.write(backup.UNMARK, id="restore-x")


async def test_pagination_visits_every_public_record_once(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    seen: list[str] = []
    after = None
    while True:
        data = (await gql(live_server, LIST, first=7, after=after))["data"]["organisations"]
        seen += [e["node"]["id"] for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == data["totalCount"]
    assert "test:fict-casa-respiro" not in seen and "test:fict-sierra-lawyers" not in seen
    assert "test:front-line-defenders" in seen


async def test_anonymous_viewer_sees_public_records_and_public_fields_only(store: Store,
                                                                         live_server: LiveServer) -> None:
    await demo.load(store)
    data = (await gql(live_server, LIST, first=100))["data"]["organisations"]
    nodes = [e["node"] for e in data["edges"]]
    assert {n["visibility"] for n in nodes} == {"PUBLIC"}
    assert all(n["contactChannels"] == [] for n in nodes)
    assert all(s["capacity"] is None for n in nodes for s in n["services"])
    rio = next(n for n in nodes if n["id"] == "test:fict-rio-claro-collective")
    assert rio["location"]["precision"] == "ADMIN_AREA"
    assert shown_in_cell(rio["location"]["latitude"], rio["location"]["longitude"], 6.98, -75.2, 1.0, "CO-ANT")


async def test_hidden_and_missing_organisations_answer_the_same(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    query = "query($id: ID!) { organisation(id: $id) { id name } }"
    hidden = await gql(live_server, query, id="test:fict-casa-respiro")
    missing = await gql(live_server, query, id="test:no-such-record")
    assert hidden == missing == {"data": {"organisation": None}}
    found = await gql(live_server, query, id="test:front-line-defenders")
    assert found["data"]["organisation"]["name"] == "Front Line Defenders"


@pytest.mark.parametrize(("filter", "expected", "absent"), [
    ({"kind": "intergovernmental"}, "test:un-sr-hrd", "test:front-line-defenders"),
    ({"serviceType": "protective-accompaniment"}, "test:peace-brigades-international", "test:fidh"),
    ({"country": "KE"}, "test:fict-lakeside-rights", "test:fict-tunis-unionists"),
    ({"group": "artists"}, "test:icorn", "test:fict-honduras-press"),
    ({"group": "artists"}, "test:fidh", "test:global-witness"),  # a service naming no group is open to all
    ({"serviceType": "legal-aid", "country": "CO"}, "test:media-defence", "test:fict-rio-claro-collective"),
    ({"language": "qu"}, "test:fict-andes-network", "test:front-line-defenders"),
    ({"country": "GT", "group": "women"}, "test:im-defensoras", "test:fict-honduras-press"),
])
async def test_filters(store: Store, live_server: LiveServer, filter: dict[str, str], expected: str,
                       absent: str) -> None:
    await demo.load(store)
    data = (await gql(live_server, LIST, filter=filter, first=100))["data"]["organisations"]
    ids = {e["node"]["id"] for e in data["edges"]}
    assert expected in ids and absent not in ids and data["totalCount"] == len(ids)


async def test_page_size_over_the_cap_is_a_clear_error(store: Store, live_server: LiveServer) -> None:
    body = await gql(live_server, LIST, first=1000)
    assert body["data"] is None and "first: must be between 0 and 100" in body["errors"][0]["message"]


async def test_a_forged_cursor_is_a_clear_error(store: Store, live_server: LiveServer) -> None:
    body = await gql(live_server, LIST, first=5, after="not-a-cursor")
    assert "cursor is not one this service gave out" in body["errors"][0]["message"]


async def test_failed_requests_log_nothing_the_user_sent(store: Store, live_server: LiveServer,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    await gql(live_server, LIST, first=5, after="name-of-a-defender-at-risk")
    await gql(live_server, "{ organisation(id: 42) { nosuchfield } }")
    assert "name-of-a-defender-at-risk" not in caplog.text and "nosuchfield" not in caplog.text
