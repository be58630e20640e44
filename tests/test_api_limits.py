"""Every cap rejects an abusive query with a clear GraphQL error, before any of it runs."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from directory.base.config import Settings
from directory.store import Store
from directory.web.app import GraphQLGate
from schema.limits import MAX_ALIASES, MAX_COST, MAX_DEPTH, MAX_TOKENS
from tests.conftest import LiveServer
from tests.helpers import Api, load, org, service

pytestmark = pytest.mark.anyio


def _message(body: dict[str, object]) -> str:
    errors = body["errors"]
    assert isinstance(errors, list) and errors
    return str(errors[0]["message"])


async def test_depth_is_capped(store: Store, api: Api) -> None:
    nested = "recordId"
    for _ in range(MAX_DEPTH):
        nested = f"links {{ source {{ {nested} }} }}"
    body = await api.gql(f'{{ organisation(id: "test:a") {{ {nested} }} }}')
    assert "exceeds maximum operation depth" in _message(body) and body.get("data") is None
    assert body["errors"][0]["extensions"] == {"code": "QUERY_TOO_LARGE"}  # a code to act on, not English


async def test_aliases_are_capped(store: Store, api: Api) -> None:
    many = " ".join(f'a{i}: organisation(id: "test:{i}") {{ name }}' for i in range(MAX_ALIASES + 1))
    body = await api.gql(f"{{ {many} }}")
    assert "aliases" in _message(body).lower()


async def test_tokens_are_capped(store: Store, api: Api) -> None:
    fields = " ".join(["name"] * (MAX_TOKENS + 10))
    body = await api.gql(f'{{ organisation(id: "x") {{ {fields} }} }}')
    assert "token" in _message(body).lower()
    assert body["errors"][0]["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}


async def test_a_documents_own_faults_carry_a_code(store: Store, api: Api) -> None:
    """An integrator's walk: depth, aliases, cost, tokens and syntax errors had no code, only English."""
    for document, code in (("{ taxonomy { code ", "GRAPHQL_PARSE_FAILED"), ("{ nope }", "GRAPHQL_VALIDATION_FAILED"),
                           ('{ organisation(id: true) { name } }', "GRAPHQL_VALIDATION_FAILED")):
        body = await api.gql(document)
        assert body["errors"][0]["extensions"]["code"] == code, document


async def test_estimated_cost_is_capped(store: Store, api: Api) -> None:
    query = """{ organisations(first: 100) { edges { node { services { organisation {
      links { source { services { name } } } } } } } } }"""
    body = await api.gql(query)
    assert "estimated cost" in _message(body) and str(MAX_COST) in _message(body)
    cheap = "{ organisations(first: 10) { edges { node { name services { name } } } } }"
    assert "errors" not in await api.gql(cheap)


async def test_a_gap_matrix_listing_its_places_and_types_costs_its_cells_not_the_default_page(
        store: Store, api: Api) -> None:
    """Six cells with ordinary fields were refused as costing 500 pages of them; a matrix whose
    places or types are not listed (an empty list asks for all) is still counted by its page."""
    cells = """cells { place serviceType score flags providersPresent providersRemote providersLocal providersWide
               providerIds medianResponseHours newestConfirmation oldestConfirmation staleProviders need
               capacity { currency amount } funding { currency amount grants donors topDonorShare concentration }
               donorFunding { currency amount } }"""
    listed = f'{{ coverageGaps(codes: ["CO", "PE", "EC"], serviceTypes: ["legal-aid", "safe-house"]) {{ {cells} }} }}'
    assert "errors" not in await api.gql(listed)
    for unlisted in ('codes: ["CO", "PE", "EC"]', 'codes: [], serviceTypes: ["legal-aid"]', 'region: "005"'):
        body = await api.gql(f"{{ coverageGaps({unlisted}) {{ {cells} }} }}")
        assert "estimated cost" in _message(body), unlisted


async def test_cost_counts_pages_given_as_variables_at_the_cap(store: Store, api: Api) -> None:
    query = """query($n: Int) { organisations(first: $n) { edges { node { services { organisation {
      links { target { name } } } } } } } }"""
    assert "estimated cost" in _message(await api.gql(query, n=1))


@pytest.mark.parametrize("field", ["organisations", "services"])
async def test_page_sizes_are_capped(store: Store, api: Api, field: str) -> None:
    body = await api.gql(f"{{ {field}(first: 101) {{ totalCount }} }}")
    assert "first: must be between 0 and 100" in _message(body)
    body = await api.gql('{ search(text: "x", first: 500) { totalCount } }')
    assert "first: must be between 0 and 100" in _message(body)


async def test_a_body_over_the_cap_is_refused(store: Store, api: Api) -> None:
    response = await api.post("{ taxonomy { code } }" + " " * 70_000)
    assert response.status_code == 413 and "over 64 KiB" in response.text


async def test_a_body_that_is_no_request_object_is_a_clear_400_never_a_server_error(
        store: Store, api: Api, caplog: pytest.LogCaptureFixture) -> None:
    """An integrator's walk: a JSON number, string or null as the body got a 500 and four tracebacks
    in the log; a list said batching in plain text."""
    async with httpx.AsyncClient(base_url=api.url) as client:
        for body, said in ((b"5", "must be a JSON object"), (b"null", "must be a JSON object"),
                           (b'"hello"', "must be a JSON object"), (b"true", "must be a JSON object"),
                           (b"[]", "not a batch"), (b"{", "not valid JSON")):
            response = await client.post("/graphql", content=body, headers={"content-type": "application/json"})
            assert response.status_code == 400, (body, response.text)
            assert response.headers["content-type"] == "application/json"
            [error] = response.json()["errors"]
            assert said in error["message"] and error["extensions"]["code"] == "BAD_REQUEST", body
        for kind in ("application/jsonx", "x/application/json, text/plain"):  # as strawberry reads them: JSON
            response = await client.post("/graphql", content=b"7", headers={"content-type": kind})
            assert response.status_code == 400 and "must be a JSON object" in response.text, kind
    assert "Traceback" not in caplog.text and "AttributeError" not in caplog.text


async def test_a_body_nested_too_deep_and_a_variable_outside_its_enum_are_the_clients_to_correct(
        store: Store, api: Api, caplog: pytest.LogCaptureFixture) -> None:
    """An injection read: JSON arrays 60,000 deep gave a 500 and a traceback; a variable's value that
    is not in its enum was answered "the request failed inside the service" and logged as ours."""
    async with httpx.AsyncClient(base_url=api.url) as client:
        deep = await client.post("/graphql", content=b"[" * 60_000, headers={"content-type": "application/json"})
    assert deep.status_code == 400 and "nested too deep" in deep.json()["errors"][0]["message"]
    body = await api.gql("query($s: SortOrder!) { organisations(sort: $s, first: 1) { totalCount } }", s="CITY")
    assert "Value 'CITY' does not exist in 'SortOrder' enum" in body["errors"][0]["message"]
    assert "Traceback" not in caplog.text and "inside the service" not in caplog.text


async def test_every_answer_is_kept_by_no_cache_nor_shared_between_tokens(store: Store, api: Api) -> None:
    """An integrator's walk: a member's answer, network contacts and capacity in it, came with no
    caching header at all."""
    for response in (await api.post("{ taxonomy { code } }"), await api.post("{ nope }"),
                     await api.post("{ taxonomy { code } }" + " " * 70_000)):
        assert response.headers["cache-control"] == "no-store", response.status_code
        assert response.headers["vary"] == "Authorization"


async def test_several_operations_run_only_the_one_named(store: Store, api: Api) -> None:
    """strawberry ran the first of several operations when none was named (an integrator's walk)."""
    document = 'query A { taxonomy(scheme: "defender-group") { code } } query B { __typename }'
    unnamed = await api.gql(document)
    assert unnamed["data"] is None
    assert unnamed["errors"][0]["message"] == "Must provide operation name if query contains multiple operations."
    async with httpx.AsyncClient(base_url=api.url) as client:
        named = (await client.post("/graphql", json={"query": document, "operationName": "B"})).json()
    assert named == {"data": {"__typename": "Query"}}


async def test_queries_cannot_be_sent_with_get(store: Store, live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        response = await client.get("/graphql", params={"query": "{ taxonomy { code } }"})
    assert response.status_code != 200 or "errors" in response.text


async def test_a_request_over_its_time_budget_gets_a_clear_error(store: Store, settings: Settings) -> None:
    await load(store, [org(f"o{i}") for i in range(50)], [service(f"s{i}", f"o{i}") for i in range(50)])
    with LiveServer(replace(settings, time_budget=0.001)) as server:
        body = await Api(server.url).gql("{ places { code providers { serviceType present } } }")
    assert "time budget" in _message(body) and body["errors"][0]["extensions"]["code"] == "TIME_BUDGET"


async def test_introspection_stays_on(store: Store, api: Api) -> None:
    body = await api.data("{ __schema { queryType { name } } }")
    assert body["__schema"]["queryType"]["name"] == "Query"


async def test_a_full_introspection_query_passes_every_cap(store: Store, api: Api) -> None:
    from graphql import get_introspection_query

    body = await api.data(get_introspection_query())
    assert any(t["name"] == "Organisation" for t in body["__schema"]["types"])


async def test_a_failure_inside_the_service_is_logged_for_an_operator_by_its_kind_only(
        store: Store, live_server: LiveServer, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Was invisible (a crash probe): a damaged index failed every search, logged at INFO, which the
    service does not show; what the client asked amiss stays at INFO, what failed inside is a warning."""
    import logging

    from tests.helpers import Api

    async def broken(*args: object, **kwargs: object) -> None:
        for part in args:  # the coroutine it was handed is never run
            getattr(part, "close", lambda: None)()
        raise RuntimeError("invalid content position for 'Casa Segura Tegucigalpa'")

    api = Api(live_server.url)
    monkeypatch.setattr(live_server.app.state.store.graph, "_attempts", broken)  # every read fails inside
    with caplog.at_level(logging.INFO, logger="directory.graphql"):
        failed = await api.gql('{ search(text: "casa") { totalCount } }')
        asked_amiss = await api.gql('{ organisations(first: 100000) { totalCount } }')
    assert "errors" in failed, failed
    assert "errors" in asked_amiss, asked_amiss
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warned] == ["GraphQL request failed inside the service: RuntimeError"]
    assert all(r.levelno == logging.INFO for r in caplog.records if r not in warned)
    assert "Casa Segura" not in caplog.text  # what the error said may name people at risk


async def test_a_client_gone_before_its_body_is_whole_gets_no_answer_about_size() -> None:
    """A client that went away is not told its body was too large (nor anything else)."""
    sent: list[dict[str, object]] = []
    parts = iter([{"type": "http.request", "body": b'{"query": "{ tax', "more_body": True},
                  {"type": "http.disconnect"}])

    async def receive() -> dict[str, object]:
        return next(parts)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    gate = GraphQLGate(app=None, budget=1.0)  # type: ignore[arg-type]
    scope = {"type": "http", "method": "POST", "headers": [(b"content-type", b"application/json")]}
    await gate(scope, receive, send)  # type: ignore[arg-type]
    assert sent == []
