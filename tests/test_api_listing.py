"""Listing through the API: filters, sorts, proximity, pagination; and nothing hidden leaks through them."""

from __future__ import annotations

from typing import Any

import pytest

from directory.store import Store
from tests.helpers import Api, load, org, service

pytestmark = pytest.mark.anyio

LIST = """query($filter: ListFilter, $sort: SortOrder, $first: Int, $after: String) {
  organisations(filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount edges { cursor distanceKm node { recordId name } } pageInfo { hasNextPage endCursor } } }"""
SERVICES = """query($filter: ListFilter, $sort: SortOrder, $first: Int, $after: String) {
  services(filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount edges { cursor distanceKm node { recordId responseHours organisation { recordId } } }
    pageInfo { hasNextPage endCursor } } }"""
BOGOTA = {"latitude": 4.711, "longitude": -74.072}


async def seed(store: Store) -> None:
    await load(store, [
        org("bogota", "Bogota Legal", **{"#geo+lat": "4.65", "#geo+lon": "-74.10", "#geo+precision": "exact"}),
        org("soacha", "Soacha Group", **{"#geo+lat": "4.58", "#geo+lon": "-74.22", "#geo+precision": "locality"}),
        org("medellin", "Medellin Group", **{"#geo+lat": "6.25", "#geo+lon": "-75.56", "#geo+precision": "locality",
                                             "#adm1+code": "CO-ANT"}),
        org("countrywide", "Countrywide", **{"#geo+lat": "4.70", "#geo+lon": "-74.07", "#geo+precision": "country"}),
        org("lima", "Lima Group", **{"#country+code": "PE", "#geo+lat": "-12.05", "#geo+lon": "-77.04"}),
        org("nairobi", "Nairobi Group", **{"#country+code": "KE", "#org+lang": "sw|en"}),
        org("hidden-near", "Aaa Hidden", **{"#geo+lat": "4.711", "#geo+lon": "-74.072", "#geo+precision": "exact",
                                            "#meta+visibility": "restricted"}),
        org("vetter", "Vetting Network", **{"#org+type": "regional-network"}),
    ], [
        service("s-bogota", "bogota", "legal-aid", **{"#country+code+present": "CO-DC"}),
        service("s-medellin", "medellin", "medical-care", **{"#country+code+present": "CO-ANT"}),
        service("s-world", "nairobi", "digital-security", **{"#country+code+present": "KE",
                                                              "#country+code+remote": "world"}),
        service("s-lima", "lima", "legal-aid", **{"#country+code+present": "PE"}),
    ], [
        {"#rel+type": "VETTED_BY", "#org+id+source": "soacha", "#org+id+target": "vetter",
         "#meta+visibility": "public"},
        {"#rel+type": "VETTED_BY", "#org+id+source": "lima", "#org+id+target": "vetter",
         "#meta+visibility": "restricted"},
    ])


async def _ids(api: Api, query: str = LIST, **variables: Any) -> list[str]:
    data = await api.data(query, **variables)
    return [e["node"]["recordId"].removeprefix("test:") for e in next(iter(data.values()))["edges"]]


@pytest.mark.parametrize(("filter", "expected"), [
    ({"subdivision": "CO-ANT"}, ["medellin", "nairobi"]),  # nairobi reaches the whole world remotely
    ({"subdivision": "CO-DC", "serviceType": "legal-aid"}, ["bogota"]),
    ({"region": "region:Americas", "serviceType": "legal-aid"}, ["bogota", "lima"]),
    ({"region": "subregion:Latin America and the Caribbean", "serviceType": "legal-aid"}, ["bogota", "lima"]),
    ({"region": "019"}, ["bogota", "countrywide", "lima", "medellin", "nairobi", "soacha", "vetter"]),
    ({"region": "region:Africa"}, ["nairobi"]),
    ({"country": "PE", "serviceType": "digital-security"}, ["nairobi"]),  # reaches the world remotely
    ({"verified": True}, ["soacha"]),  # lima's vetting is restricted: not for an anonymous viewer
    ({"language": "sw"}, ["nairobi"]),
    ({"language": "swa"}, ["nairobi"]),  # ISO 639-2/3 for Swahili: the same language
    ({"language": "mul"}, ["bogota", "countrywide", "lima", "medellin", "nairobi", "soacha", "vetter"]),  # any
    ({"updatedSince": "2000-01-01"}, ["bogota", "countrywide", "lima", "medellin", "nairobi", "soacha", "vetter"]),
    ({"updatedSince": "2999-01-01T00:00:00Z"}, []),
])
async def test_filters(store: Store, api: Api, filter: dict[str, Any], expected: list[str]) -> None:
    await seed(store)
    assert sorted(await _ids(api, filter=filter, first=100)) == expected


async def test_services_by_language_follow_the_one_rule(store: Store, api: Api) -> None:
    """A service is offered in a language it lists (or mul), or, listing none, in its organisation's."""
    await seed(store)
    await load(store, [org("quito", "Quito Group", **{"#country+code": "EC", "#org+lang": "es"})], [
        service("s-quito", "quito", "legal-aid", **{"#country+code+present": "EC"}),
        service("s-quito-en", "quito", "medical-care", **{"#country+code+present": "EC", "#service+lang": "en"}),
        service("s-any", "lima", "medical-care", **{"#service+lang+intake": "mul"})])
    assert sorted(await _ids(api, SERVICES, filter={"language": "spa"}, first=100)) == ["s-any", "s-quito"]
    assert sorted(await _ids(api, SERVICES, filter={"language": "en"}, first=100)) == [
        "s-any", "s-quito-en", "s-world"]  # s-world: Nairobi speaks sw and en


async def test_near_matches_by_published_precision_and_sorts_by_distance(store: Store, api: Api) -> None:
    await seed(store)
    data = await api.data(LIST, filter={"near": dict(BOGOTA, radiusKm=30)}, sort="DISTANCE", first=100)
    edges = data["organisations"]["edges"]
    got = [(e["node"]["recordId"].removeprefix("test:"), e["distanceKm"]) for e in edges]
    # exact point first; the locality one by its grid cell's centre; by country (no published point) last.
    assert [g[0] for g in got] == ["bogota", "soacha", "countrywide", "vetter"]
    assert got[0][1] < got[1][1] and got[2][1] is None and got[3][1] is None
    assert data["organisations"]["totalCount"] == 4
    far = await _ids(api, filter={"near": {"latitude": 6.2, "longitude": -75.6, "radiusKm": 20}}, first=100)
    assert far == ["countrywide", "medellin", "vetter"]  # the country-precision records are in Colombia too


async def test_distance_reveals_only_the_published_point(store: Store, api: Api) -> None:
    await seed(store)
    data = await api.data(LIST, filter={"near": {"latitude": 4.58, "longitude": -74.22, "radiusKm": 50}},
                          sort="DISTANCE", first=100)
    soacha = next(e for e in data["organisations"]["edges"] if e["node"]["recordId"] == "test:soacha")
    assert soacha["distanceKm"] > 1.0  # measured from the 0.1 degree cell's centre, not the recorded point


async def test_bad_arguments_name_the_argument(store: Store, api: Api) -> None:
    for filter, words in [({"country": "XX"}, "country: 'XX' is not an ISO 3166-1"),
                          ({"subdivision": "CO-ZZZ"}, "subdivision:"),
                          ({"region": "region:Atlantis"}, "region:"),
                          ({"updatedSince": "yesterday"}, "updatedSince:"),
                          ({"near": {"latitude": 95, "longitude": 0, "radiusKm": 5}}, "near.latitude"),
                          ({"near": {"latitude": 0, "longitude": 0, "radiusKm": 0}}, "near.radiusKm")]:
        body = await api.gql(LIST, filter=filter)
        assert words in body["errors"][0]["message"], (filter, body)
    body = await api.gql(LIST, sort="DISTANCE")
    assert "sorting by distance needs `near`" in body["errors"][0]["message"]


@pytest.mark.parametrize("sort", ["NAME", "UPDATED", "RESPONSE_TIME", "DISTANCE"])
async def test_pagination_visits_every_record_once_in_every_order(store: Store, api: Api, sort: str) -> None:
    await seed(store)
    await load(store, [org(f"extra{i:02}", f"Extra {i % 3}") for i in range(23)],
               [service(f"x{i:02}", f"extra{i:02}", **{"#country+code+present": "CO"}) for i in range(23)])
    filter = {"near": dict(BOGOTA, radiusKm=500)} if sort == "DISTANCE" else None
    full = await api.data(LIST, filter=filter, sort=sort, first=100)
    seen: list[str] = []
    after = None
    while True:
        page = (await api.data(LIST, filter=filter, sort=sort, first=4, after=after))["organisations"]
        seen += [e["node"]["recordId"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [e["node"]["recordId"] for e in full["organisations"]["edges"]]
    assert len(seen) == len(set(seen)) == full["organisations"]["totalCount"]
    assert "test:hidden-near" not in seen


async def test_a_cursor_from_another_order_is_refused(store: Store, api: Api) -> None:
    await seed(store)
    page = (await api.data(LIST, first=2))["organisations"]
    body = await api.gql(LIST, sort="UPDATED", first=2, after=page["pageInfo"]["endCursor"])
    assert "different sort order" in body["errors"][0]["message"]


async def test_response_time_sorting_uses_visible_services_only(store: Store, api: Api) -> None:
    await load(store, [org("slow", "Slow"), org("secret-fast", "Secret Fast")], [
        service("slow-s", "slow", **{"#meta+visibility": "public"}),
        service("fast-hidden", "secret-fast", **{"#meta+visibility": "restricted"}),
        service("slow-visible", "secret-fast"),
    ])
    from directory.store.engine.cypher import cypher

    await store.graph.write(cypher("tests.set_hours", """
        UNWIND $rows AS r MATCH (s:Service {id: r.id}) SET s.response_hours = r.h"""),
        rows=[{"id": "test:slow-s", "h": 24.0}, {"id": "test:fast-hidden", "h": 1.0},
              {"id": "test:slow-visible", "h": 48.0}])
    assert await _ids(api, sort="RESPONSE_TIME", first=10) == ["slow", "secret-fast"]
    services = await api.data(SERVICES, sort="RESPONSE_TIME", first=10)
    assert [e["node"]["recordId"] for e in services["services"]["edges"]] == ["test:slow-s", "test:slow-visible"]


async def test_services_listing_filters_and_counts(store: Store, api: Api) -> None:
    await seed(store)
    data = await api.data(SERVICES, filter={"serviceType": "legal-aid"}, first=10)
    assert sorted(e["node"]["recordId"] for e in data["services"]["edges"]) == ["test:s-bogota", "test:s-lima"]
    assert data["services"]["totalCount"] == 2
    mine = await api.data(SERVICES, filter={"organisation": "test:nairobi"}, first=10)
    assert [e["node"]["organisation"]["recordId"] for e in mine["services"]["edges"]] == ["test:nairobi"]


async def test_counts_do_not_include_hidden_records(store: Store, api: Api) -> None:
    await seed(store)
    anonymous = (await api.data(LIST, first=0))["organisations"]["totalCount"]
    _, steward = await store.tokens.create("steward", None)
    everything = await api.data(LIST, steward, first=0)
    assert anonymous == 7 and everything["organisations"]["totalCount"] == 8


async def test_cursors_hold_only_what_the_page_showed(store: Store, api: Api) -> None:
    import base64
    import json

    await seed(store)
    data = await api.data("""{ organisations(first: 100) { edges { cursor node { recordId name } } } }""")
    for edge in data["organisations"]["edges"]:
        decoded = json.loads(base64.urlsafe_b64decode(edge["cursor"]))
        assert decoded == ["name", edge["node"]["name"], edge["node"]["recordId"]]
