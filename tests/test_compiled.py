"""Compiled queries answer exactly as the resolvers do, for every kind of viewer, and note the same
restricted records in the audit log; what the compiler does not know goes to strawberry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from directory.base.audit import read_all
from directory.base.config import Settings
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from directory.store import Store
from schema import schema
from schema.compiled import Compiler
from schema.context import Context
from tests.helpers import Api, load, org, refers, service

pytestmark = pytest.mark.anyio

VIEWERS = [ANONYMOUS, Viewer("member", "test:a", who="token:a"), Viewer("member", "test:c", who="token:c"),
           Viewer("steward", who="token:s")]
ORGANISATION = """recordId id __typename name kind visibility description website languages identifiers aliases
  source location { latitude longitude precision country subdivision __typename }"""
SERVICE = """recordId id __typename name type visibility status responseHours purposes languages organisationId
  description eligibility cost hours applicationProcess exclusions statusReason statusSource intakeLanguages
  groups origins coverage { place presence __typename } reach: coverage { presence }"""
DOCUMENTS: list[tuple[str, dict[str, Any]]] = [
    (f"query($id: ID!) {{ organisation(id: $id) {{ {ORGANISATION}\n"
     f"  services {{ {SERVICE} organisation {{ name }} }} }} }}", {"id": "test:a"}),
    (f"{{ __typename organisation(id: \"Organisation:test:c\") {{ {ORGANISATION} }} }}", {}),
    ("{ other: organisation(id: \"test:zz\") { name } }", {}),
    ("""query($id: ID!, $types: [LinkType!]) { organisation(id: $id) { name
         refers: links(types: $types) { type sourceId targetId key visibility __typename
                                        target { recordId name services { recordId name type } } }
         all: links { type target { name } }
         back: links(direction: INCOMING) { type source { name kind } } } }""",
     {"id": "test:a", "types": ["REFERS_TO", "FUNDS"]}),
    ("""query($id: ID!) { organisation(id: $id) { name back: links(direction: INCOMING, types: [REFERS_TO]) {
         source { name } } } }""", {"id": "test:b"}),
    (f"{{ service(id: \"test:a-restricted\") {{ {SERVICE} organisation {{ {ORGANISATION} }} }} }}", {}),
    (f"{{ service(id: \"Service:test:c-public\") {{ {SERVICE} }} }}", {}),
    ("{ __typename search(text: \"legal\", first: 5) { __typename totalCount edges { __typename score cursor "
     "organisation { name recordId } service { name organisation { name } } } "
     "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }", {}),
    ("query($t: String!) { search(text: $t, kinds: [ORGANISATION]) { edges { organisation { name } } } }",
     {"t": "Rights"}),
    ("{ search(text: \"service\", kinds: [SERVICE, ORGANISATION, SERVICE]) { totalCount edges { score } } }", {}),
    # a location asked without its point: the compiled path does not work the coarsened point out
    ("{ organisation(id: \"test:a\") { name location { country subdivision precision } } }", {}),
    ("{ organisations(filter: {country: \"CO\"}) { edges { node { name location { precision country } } } } }", {}),
]
FILTERS: list[dict[str, Any]] = [
    {}, {"country": "CO"}, {"country": "CO", "serviceType": "legal-aid"}, {"serviceType": "relocation-regional"},
    {"kind": "shelter"}, {"group": "journalists"}, {"group": "journalists", "country": "CO"}, {"language": "es"},
    {"region": "Americas"}, {"region": "Americas", "serviceType": "legal-aid"}, {"subdivision": "CO-ANT"},
    {"verified": True}, {"verified": False}, {"updatedSince": "2020-01-01"}, {"country": "KE"},
    {"country": "CO", "kind": "local-group", "language": "es"},
    {"near": {"latitude": 6.2, "longitude": -75.5, "radiusKm": 200}},
    {"near": {"latitude": 0.0, "longitude": 37.0, "radiusKm": 2000}, "serviceType": "relocation-regional"},
]
SERVICE_FILTERS: list[dict[str, Any]] = [
    {}, {"organisation": "test:a"}, {"country": "CO", "serviceType": "legal-aid"}, {"status": "paused"},
    {"takingRequests": True}, {"language": "es"}, {"group": "journalists"}, {"kind": "shelter"},
]
LISTING = f"""query($filter: ListFilter, $sort: SortOrder, $after: String) {{
  organisations(filter: $filter, sort: $sort, first: 2, after: $after) {{ totalCount __typename
    edges {{ cursor distanceKm __typename node {{ {ORGANISATION} services {{ recordId name }} }} }}
    pageInfo {{ hasNextPage hasPreviousPage endCursor }} }} }}"""
SERVICE_LISTING = f"""query($filter: ListFilter, $after: String) {{
  services(filter: $filter, first: 2, after: $after) {{ totalCount
    edges {{ cursor node {{ {SERVICE} organisation {{ name }} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""


async def seed(store: Store) -> None:
    await load(store, [
        org("a", "Rights Lab", **{"#org+lang": "es", "#adm1+code": "CO-ANT", "#geo+lat": "6.25", "#geo+lon": "-75.56",
                                  "#geo+precision": "locality", "#description": "legal help"}),
        org("b", "Rights Net", **{"#meta+visibility": "network", "#org+type": "regional-network"}),
        org("c", "Hidden Rights", **{"#meta+visibility": "restricted"}),
        org("d", "Safe House", **{"#org+type": "shelter", "#country+code": "KE", "#geo+lat": "-1.29",
                                   "#geo+lon": "36.82", "#geo+precision": "exact"}),
        org("e", "Vetting Body", **{"#org+type": "international-ngo", "#country+code": "PH"}),
    ], [
        service("a-public", "a", **{"#group+code": "journalists", "#service+response_hours": "24",
                                    "#service+lang": "es"}),
        service("a-restricted", "a", "relocation-regional", **{"#meta+visibility": "restricted"}),
        service("a-paused", "a", "medical-care", **{"#status": "paused", "#country+code+present": "",
                                                     "#country+code+remote": "KE"}),
        service("b-net", "b", **{"#meta+visibility": "network"}),
        service("c-public", "c"),
        service("d-shelter", "d", "relocation-regional", **{"#country+code+present": "KE",
                                                              "#country+code+origin": "UG|CO"}),
    ], [
        refers("a", "b", 24, 0.9), refers("a", "c", visibility="public"), refers("b", "a", visibility="public"),
        refers("e", "a", visibility="restricted"),
        {"#rel+type": "FUNDS", "#org+id+source": "e", "#org+id+target": "a", "#meta+visibility": "restricted",
         "#value": "1000", "#currency": "EUR", "#date+year": "2026"},
        {"#rel+type": "VETTED_BY", "#org+id+source": "a", "#org+id+target": "e", "#meta+visibility": "public"},
    ])


def _audited(settings: Settings, start: int, stop: int | None = None) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for entry in read_all(settings.data_dir / "audit")[start:stop]:
        out.setdefault((entry["who"], entry["kind"]), set()).update(entry["ids"])
    return out


async def both_ways(store: Store, settings: Settings, compiler: Compiler, viewer: Viewer, query: str,
                    variables: dict[str, Any]) -> dict[str, Any]:
    """The resolvers' answer, checked equal to the compiled one (which must be given). The compiled
    read notes no restricted record the resolvers did not (they may note more: they read every
    link of an organisation and then keep the types asked for)."""
    before = len(read_all(settings.data_dir / "audit"))
    expected = await schema.execute(query, variable_values=variables, context_value=Context(store, viewer))
    assert expected.errors is None, expected.errors
    middle = len(read_all(settings.data_dir / "audit"))
    answered = compiler.answered
    body = await compiler.answer(store, viewer, json.dumps({"query": query, "variables": variables}).encode())
    assert body is not None and compiler.answered == answered + 1, f"not compiled: {query}"
    got = json.loads(body)["data"]
    assert got == expected.data, (viewer, query, variables)
    assert json.dumps(got) == json.dumps(expected.data), "the keys come in the order they were asked"
    by_resolvers = _audited(settings, before, middle)
    for key, ids in _audited(settings, middle).items():
        assert ids <= by_resolvers.get(key, set()), (key, ids)
    assert expected.data is not None
    return expected.data


@pytest.fixture
def compiler() -> Compiler:
    return Compiler(schema._schema)


@pytest.mark.parametrize("viewer", VIEWERS, ids=lambda v: v.role + (v.organisation or ""))
async def test_records_links_and_search_answer_as_the_resolvers_do(store: Store, settings: Settings,
                                                                   compiler: Compiler, viewer: Viewer) -> None:
    await seed(store)
    for query, variables in DOCUMENTS:
        await both_ways(store, settings, compiler, viewer, query, variables)


@pytest.mark.parametrize("viewer", VIEWERS, ids=lambda v: v.role + (v.organisation or ""))
async def test_every_filter_sort_and_page_answers_as_the_resolvers_do(store: Store, settings: Settings,
                                                                      compiler: Compiler, viewer: Viewer) -> None:
    await seed(store)
    for where in FILTERS:
        for sort in ("NAME", "UPDATED", "RESPONSE_TIME", *(("DISTANCE",) if "near" in where else ())):
            variables: dict[str, Any] = {"filter": where, "sort": sort, "after": None}
            while True:  # every page, through the cursors
                page = (await both_ways(store, settings, compiler, viewer, LISTING, variables))["organisations"]
                if not page["pageInfo"]["hasNextPage"]:
                    break
                variables["after"] = page["pageInfo"]["endCursor"]
    for where in SERVICE_FILTERS:
        variables = {"filter": where, "after": None}
        while True:
            page = (await both_ways(store, settings, compiler, viewer, SERVICE_LISTING, variables))["services"]
            if not page["pageInfo"]["hasNextPage"]:
                break
            variables["after"] = page["pageInfo"]["endCursor"]


async def test_the_compiled_answers_hold_what_each_viewer_may_see(store: Store, settings: Settings,
                                                                  compiler: Compiler) -> None:
    """Not only equal to the resolvers: right (were both wrong the same way)."""
    await seed(store)
    query, variables = DOCUMENTS[3]
    public = await both_ways(store, settings, compiler, ANONYMOUS, query, variables)
    assert public["organisation"]["refers"] == [] and [x["target"]["name"] for x in public["organisation"]["all"]] \
        == ["Vetting Body"]
    steward = await both_ways(store, settings, compiler, STEWARD, query, variables)
    assert {(x["type"], x["targetId"]) for x in steward["organisation"]["refers"]} == {
        ("REFERS_TO", "test:b"), ("REFERS_TO", "test:c")}
    hidden = await both_ways(store, settings, compiler, ANONYMOUS, *DOCUMENTS[1])
    missing = await both_ways(store, settings, compiler, ANONYMOUS, *DOCUMENTS[2])
    assert hidden == {"__typename": "Query", "organisation": None} and missing == {"other": None}
    mine = await both_ways(store, settings, compiler, VIEWERS[1], *DOCUMENTS[0])
    assert "test:a-restricted" in [s["recordId"] for s in mine["organisation"]["services"]]
    shelter = "{ service(id: \"test:d-shelter\") { origins coverage { place presence } } }"
    hosted = await both_ways(store, settings, compiler, STEWARD, shelter, {})
    assert hosted["service"] == {"origins": ["CO", "UG"], "coverage": [{"place": "KE", "presence": "PRESENT"}]}
    # where a shelter whose place too few others share works is not the public's to see
    assert (await both_ways(store, settings, compiler, ANONYMOUS, shelter, {}))["service"]["coverage"] == []
    grouped = await both_ways(store, settings, compiler, ANONYMOUS, "{ service(id: \"test:a-public\") { groups } }", {})
    assert grouped["service"]["groups"] == ["journalists"]
    before = len(read_all(settings.data_dir / "audit"))  # the compiled read alone notes what it gave
    for viewer, (query, variables) in ((VIEWERS[1], DOCUMENTS[0]), (VIEWERS[3], DOCUMENTS[3])):
        await compiler.answer(store, viewer, json.dumps({"query": query, "variables": variables}).encode())
    notes = _audited(settings, before)
    assert notes[("token:a", "service")] == {"test:a-restricted"}
    assert notes[("token:s", "link")] == {"test:e FUNDS test:a 2026", "test:e REFERS_TO test:a"}
    assert notes[("token:s", "organisation")] == {"test:c"}


@pytest.mark.parametrize("query", [
    "{ organisation(id: \"test:a\") { name provenance { revision } } }",  # kept per view
    "{ organisation(id: \"test:a\") { name contactChannels } }",  # network members only
    "{ organisation(id: \"test:a\") { ...F } } fragment F on Organisation { name }",
    "{ organisation(id: \"test:a\") { name @include(if: true) } }",
    "{ organisation(id: \"test:a\") { services { takingRequests } } }",
    "{ organisation(id: \"test:a\") { services { capacity intake { value } coverage { place } } } }",
    "query($d: Direction!) { organisation(id: \"test:a\") { links(direction: $d) { type } } }",
    "{ organisation(id: \"test:a\") { a: name a: name } }",
    "{ organisations(first: 500) { edges { node { name } } } }",  # an error: strawberry words it
    "{ organisations(filter: {country: \"XX\"}) { edges { node { name } } } }",
    "{ taxonomy { code } }",
    "{ a: organisation(id: \"test:a\") { name } b: organisation(id: \"test:b\") { name } }",  # one root only
    "{ organisations(first: 100) { edges { node { name services { name } links { type target { name } } } } } }",
    "mutation { deleteOrganisation(id: \"test:a\", revision: 1) }",
    "{ organisation(id: \"test:a\") { nope } }",
])
async def test_what_the_compiler_does_not_know_goes_to_strawberry(store: Store, compiler: Compiler,
                                                                  query: str) -> None:
    await seed(store)
    assert await compiler.answer(store, STEWARD, json.dumps({"query": query, "variables": {"d": "INCOMING"}})
                                 .encode()) is None
    assert compiler.answered == 0


async def test_the_service_answers_compiled_queries_over_http(store: Store, api: Api) -> None:
    await seed(store)
    for query, variables in DOCUMENTS[:2]:
        assert (await api.gql(query, **variables)).keys() == {"data"}
    body = await api.gql("{ organisations(filter: {country: \"XX\"}) { totalCount } }")
    assert "XX" in body["errors"][0]["message"]  # strawberry's error, after the compiler gave way

