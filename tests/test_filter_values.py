"""An unknown filter value is an error naming the value and the nearest valid ones, on every channel.

Before, GraphQL answered such a filter with zero results, which reads as "nobody offers this".
"""

from __future__ import annotations

import re

import httpx
import pytest

from directory.domain.errors import BadArgument
from directory.domain.viewer import ANONYMOUS
from directory.store import Filter, Store
from tests.conftest import LiveServer
from tests.helpers import Api, load, org, service

pytestmark = pytest.mark.anyio


async def _seed(store: Store) -> None:
    await load(store, [org("a")], [service("a-legal", "a")])


@pytest.mark.parametrize(("argument", "value", "hint"), [
    ("serviceType", "legal aid", "'legal-aid'"),
    ("language", "Spanish", "'es' (Spanish)"),
    ("kind", "ngo", "ngo'"),
    ("group", "journalist", "'journalists'"),
])
async def test_graphql_names_the_unknown_value_and_the_nearest_valid_ones(store: Store, api: Api, argument: str,
                                                                         value: str, hint: str) -> None:
    await _seed(store)
    for field in ("organisations", "services"):
        body = await api.gql(f'{{ {field}(filter: {{{argument}: "{value}"}}) {{ totalCount }} }}')
        error = body["errors"][0]
        assert body.get("data") is None
        assert error["message"].startswith(f"{argument}: '{value}' is not a") and hint in error["message"], error
        assert error["extensions"] == {"code": "BAD_ARGUMENT", "argument": argument}


async def test_an_unknown_taxonomy_scheme_is_an_error_and_codes_read_in_english(store: Store, api: Api) -> None:
    """An integrator's walk: `taxonomy(scheme: "nope")` answered an empty list, read as no terms; and
    an unknown kind said "is not a organisation kind code"."""
    await _seed(store)
    body = await api.gql('{ taxonomy(scheme: "nope") { code } }')
    assert body["data"] is None and body["errors"][0]["extensions"] == {"code": "BAD_ARGUMENT", "argument": "scheme"}
    assert "'nope' is not a taxonomy scheme; valid: service-type, defender-group, organisation-kind" in \
        body["errors"][0]["message"]
    assert (await api.data('{ taxonomy(scheme: "organisation-kind") { code } }'))["taxonomy"]
    kind = await api.gql('{ organisations(filter: {kind: "warlord"}) { totalCount } }')
    assert "'warlord' is not a known organisation kind code" in kind["errors"][0]["message"]


async def test_a_valid_value_still_filters(store: Store, api: Api) -> None:
    await _seed(store)
    found = await api.data('{ organisations(filter: {serviceType: "legal-aid", language: "ES"}) { totalCount } }')
    assert found["organisations"]["totalCount"] == 0  # valid, and simply nobody: no error
    found = await api.data('{ organisations(filter: {serviceType: "legal-aid"}) { totalCount } }')
    assert found["organisations"]["totalCount"] == 1


async def test_the_store_checks_for_every_caller_and_sees_terms_added_since(store: Store) -> None:
    await _seed(store)
    with pytest.raises(BadArgument, match="'legal-aid'"):
        await store.list_services(ANONYMOUS, Filter(service_type="legal_aid"))
    await store.add_term("service-type", "legal-aid-plus", "Legal aid plus")
    page = await store.list_services(ANONYMOUS, Filter(service_type="legal-aid-plus"))
    assert page.items == []


async def test_maps_and_places_use_the_same_check(store: Store, live_server: LiveServer, api: Api) -> None:
    await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        page = await client.get("/maps/directory", params={"serviceType": "legal aid"})
    assert page.status_code == 400 and "legal-aid" in page.text
    body = await api.gql('{ places(codes: ["CO"], group: "journalist") { code } }')
    assert "'journalists'" in body["errors"][0]["message"]


@pytest.mark.parametrize(("argument", "value", "hint"), [
    ("country", "Honduras", "did you mean 'HN' (Honduras)?"),
    ("country", "côte d'ivoire", "did you mean 'CI' (Côte d'Ivoire)?"),
    ("subdivision", "Antioquia", "did you mean 'CO-ANT' (Antioquia)?"),
    ("region", "Afrika", "did you mean 'Africa'?"),
])
async def test_a_place_written_by_its_name_is_answered_with_its_code(store: Store, api: Api, argument: str,
                                                                     value: str, hint: str) -> None:
    """Was a walk's finding: `directory services --country Honduras` said only that 'Honduras' is not
    an ISO 3166-1 country code, where a language or service type says what was meant."""
    await _seed(store)
    with pytest.raises(BadArgument, match=re.escape(hint)):  # the listing's check: the CLI's, the pages'
        await store.list_services(ANONYMOUS, Filter(**{argument: value}))
    for field in ("organisations", "services"):
        body = await api.gql(f'{{ {field}(filter: {{{argument}: "{value}"}}) {{ totalCount }} }}')
        assert hint in body["errors"][0]["message"], body


async def test_the_jobs_and_maps_answer_a_country_name_with_its_code(store: Store, api: Api,
                                                                     live_server: LiveServer) -> None:
    await _seed(store)
    for query in ('{ coverageGaps(country: "Honduras") { totalCells } }',
                  '{ findPartners(serviceTypes: ["legal-aid"], country: "Honduras") { score } }',
                  '{ referralPaths(from: "test:a", serviceType: "legal-aid", country: "Honduras") { hops } }',
                  '{ coverageGaps(codes: ["Honduras"]) { totalCells } }'):
        body = await api.gql(query)
        assert "did you mean 'HN' (Honduras)?" in body["errors"][0]["message"], (query, body)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        page = await client.get("/maps/directory", params={"country": "Honduras"})
    assert page.status_code == 400 and "did you mean &#39;HN&#39; (Honduras)?" in page.text, page.text[-800:]
