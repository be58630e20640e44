"""Coverage gaps on a hand-built directory: every number worked out by hand, for each role."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from directory.domain.errors import BadArgument, NotFound, ValidationFailed
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from directory.formats import hxl, indicators
from directory.jobs.gaps import Flag, GapMatrix, GapQuestion, coverage_gaps
from directory.store import Store
from directory.store.engine.cypher import cypher
from directory.store.records import needs
from tests.helpers import Api, csv_bytes, load, org, service

pytestmark = pytest.mark.anyio

RECENT = (date.today() - timedelta(days=10)).isoformat()
OLD = (date.today() - timedelta(days=200)).isoformat()
YEAR = date.today().year
MEMBER_B = Viewer("member", "test:b", "t")
AGE_SERVICE = cypher("tests.age_service", "MATCH (s:Service {id: $id}) SET s.updated_at = $stamp")
INDICATOR_TAGS = ["#country+code", "#adm1+code", "#indicator+name", "#indicator+value", "#date+year", "#meta+source",
                  "#meta+visibility"]


def need(country: str, name: str, value: object, year: object = 2026, **more: object) -> dict[str, object]:
    row: dict[str, object] = {"#country+code": country, "#indicator+name": name, "#indicator+value": value,
                              "#date+year": year, "#meta+source": "made up for a test"}
    row.update(more)
    return row


async def seed(store: Store) -> None:
    await load(store, [
        org("a"), org("b"), org("c", **{"#meta+visibility": "network"}),
        org("s", **{"#org+type": "shelter", "#meta+visibility": "restricted", "#geo+precision": "hidden"}),
        org("w", **{"#org+type": "international-ngo", "#country+code": "CH"}),
        org("d", **{"#org+type": "donor", "#country+code": "NO"}),
        org("q", **{"#org+type": "donor", "#country+code": "NO", "#meta+visibility": "network"}),
    ], [
        service("a-legal", "a", **{"#service+response_hours": "24", "#capacity": "5", "#capacity+unit": "cases",
                                   "#capacity+date": RECENT, "#group+code": "journalists"}),
        service("b-legal", "b", **{"#country+code+present": "VE", "#country+code+remote": "CO",
                                   "#service+response_hours": "48"}),
        service("c-legal", "c", **{"#country+code+present": "CO-ANT", "#service+response_hours": "12",
                                   "#group+code": "women"}),
        service("s-house", "s", "safe-house", **{"#meta+visibility": "restricted"}),
        service("a-psy", "a", "psychosocial-support", **{"#country+code+present": "MX", "#capacity": "3",
                                                         "#capacity+unit": "places", "#capacity+date": OLD}),
        service("w-grant", "w", "emergency-grant", **{"#country+code+present": "CH", "#country+code+remote": "world",
                                                      "#service+response_hours": "72"}),
    ], [
        {"#rel+type": "FUNDS", "#org+id+source": "d", "#org+id+target": "a", "#meta+id": "one",
         "#meta+visibility": "public", "#value": "1000", "#currency": "EUR", "#date+year": str(YEAR)},
        {"#rel+type": "FUNDS", "#org+id+source": "q", "#org+id+target": "a", "#meta+id": "two",
         "#value": "3000", "#currency": "EUR", "#date+year": str(YEAR)},  # restricted by default
        {"#rel+type": "FUNDS", "#org+id+source": "d", "#org+id+target": "b", "#meta+id": "old",
         "#meta+visibility": "public", "#value": "1000", "#currency": "EUR", "#date+year": "2015"},
    ])
    await store.graph.write(AGE_SERVICE, id="test:w-grant", stamp="2024-01-01T00:00:00.000000Z")
    _, rows = hxl.read(csv_bytes(INDICATOR_TAGS, [
        need("CO", "risk", 80), need("MX", "risk", 40), need("CO", "risk", 20, 2020),
        need("CO", "other", 1), need("MX", "other", 4),
        need("MX", "secret", 100, **{"#meta+visibility": "restricted"}),
    ]), "needs.csv")
    await needs.write(store.graph, indicators.validate(rows, "needs.csv"))


TYPES = ["legal-aid", "safe-house", "psychosocial-support", "emergency-grant"]


def ask(**kwargs: object) -> GapQuestion:
    fields: dict[str, object] = {"codes": ["CO", "MX"], "service_types": TYPES, "indicators": ["risk", "other"]}
    fields.update(kwargs)
    return GapQuestion(**fields)  # type: ignore[arg-type]


def cell(matrix: GapMatrix, place: str, service_type: str):  # type: ignore[no-untyped-def]
    return next(c for c in matrix.cells if (c.place, c.service_type) == (place, service_type))


def score(supply: float, need: float) -> float:
    return round(100 * (1 / (1 + supply)) * (0.25 + 0.75 * need), 1)


NEED_CO = (80 / 80 + 1 / 4) / 2  # the 2020 value is older, so ignored; 'other' is scaled by MX's 4
NEED_MX = (40 / 80 + 4 / 4) / 2


async def test_the_steward_matrix_worked_by_hand(store: Store) -> None:
    await seed(store)
    m = await coverage_gaps(store, STEWARD, ask())
    assert len(m.cells) == 8 and m.indicators == ["other", "risk"]
    legal = cell(m, "CO", "legal-aid")
    # a delivers in CO, c in its subdivision CO-ANT (so in CO), b reaches CO remotely: supply 1 + 1 + 0.5
    assert (legal.present, legal.remote) == (["test:a", "test:c"], ["test:b"])
    assert legal.need == NEED_CO and legal.score == score(2.5, NEED_CO)
    assert legal.median_response_hours == 24 and legal.flags == []
    assert [(a.currency, a.amount) for a in legal.capacity or []] == [("cases", 5)]
    (eur,) = legal.funding  # d 1000 and q 3000 to a; d's 2015 grant to b is too old
    assert (eur.currency, eur.amount, eur.grants, eur.donors) == ("EUR", 4000, 2, 2)
    assert eur.top_donor_share == 0.75 and eur.concentration == 0.625  # 0.75² + 0.25²
    house = cell(m, "CO", "safe-house")
    assert house.present == ["test:s"] and house.flags == [Flag.SINGLE_PROVIDER, Flag.UNFUNDED]
    psy = cell(m, "MX", "psychosocial-support")
    assert psy.flags == [Flag.SINGLE_PROVIDER, Flag.CAPACITY_EXPIRED] and psy.capacity == []
    assert psy.score == score(1, NEED_MX)
    grant = cell(m, "CO", "emergency-grant")  # w reaches the world remotely, last confirmed in 2024
    assert grant.remote == ["test:w"] and grant.stale_providers == 1
    assert grant.flags == [Flag.SINGLE_PROVIDER, Flag.STALE, Flag.UNFUNDED]
    assert grant.score == score(0.5 * 0.5, NEED_CO)
    assert cell(m, "MX", "legal-aid").flags == [Flag.NO_PROVIDER]
    assert cell(m, "MX", "legal-aid").score == score(0, NEED_MX)
    assert [c.score for c in m.cells] == sorted((c.score for c in m.cells), reverse=True)


async def test_each_role_sees_only_its_part(store: Store) -> None:
    await seed(store)
    member = await coverage_gaps(store, MEMBER_B, ask())
    legal = cell(member, "CO", "legal-aid")
    assert legal.providers == 3 and [(f.amount, f.donors) for f in legal.funding] == [(1000, 1)]
    assert cell(member, "CO", "safe-house").flags == [Flag.NO_PROVIDER]  # the shelter is restricted
    anonymous = await coverage_gaps(store, ANONYMOUS, ask())
    legal = cell(anonymous, "CO", "legal-aid")
    assert (legal.present, legal.remote) == (["test:a"], ["test:b"]) and legal.capacity is None
    assert legal.score == score(1.5, NEED_CO)
    psy = cell(anonymous, "MX", "psychosocial-support")
    assert Flag.CAPACITY_EXPIRED not in psy.flags  # capacity is not shown to the public, nor hinted at
    with pytest.raises(BadArgument, match="secret"):  # a restricted indicator is as unknown as a missing one
        await coverage_gaps(store, ANONYMOUS, ask(indicators=["secret"]))


async def test_group_region_subdivisions_and_donor(store: Store) -> None:
    await seed(store)
    women = await coverage_gaps(store, STEWARD, ask(group="women", service_types=["legal-aid"]))
    assert cell(women, "CO", "legal-aid").providers == 2  # a serves journalists only; b names no group
    region = await coverage_gaps(store, STEWARD, GapQuestion(region="region:Americas", service_types=["legal-aid"]))
    assert {"CO", "MX"} <= {c.place for c in region.cells} and "KE" not in {c.place for c in region.cells}
    subdivisions = await coverage_gaps(store, STEWARD, GapQuestion(country="CO", service_types=["legal-aid"]))
    antioquia = cell(subdivisions, "CO-ANT", "legal-aid")
    assert antioquia.present == ["test:a", "test:c"] and antioquia.remote == ["test:b"]
    assert cell(subdivisions, "CO-DC", "legal-aid").present == ["test:a"]
    donor = await coverage_gaps(store, STEWARD, ask(donor="test:q"))
    assert [(a.currency, a.amount) for a in cell(donor, "CO", "legal-aid").donor_funding] == [("EUR", 3000)]
    (total,) = donor.donor_totals
    assert (total.amount, total.grants, total.cells) == (3000, 1, 2)  # a is in CO legal-aid and MX psychosocial
    with pytest.raises(NotFound):
        await coverage_gaps(store, ANONYMOUS, ask(donor="test:q"))  # network donor: hidden reads as missing


async def test_bad_questions_name_the_argument(store: Store) -> None:
    await seed(store)
    for bad, argument in ((ask(service_types=["cooking"]), "serviceTypes"), (ask(group="cats"), "group"),
                          (ask(codes=["XX"]), "codes"), (GapQuestion(region="region:Atlantis"), "region"),
                          (GapQuestion(region="world", country="CO"), "region"),
                          (ask(indicators=["nothing"]), "indicators")):
        with pytest.raises(BadArgument) as error:
            await coverage_gaps(store, STEWARD, bad)
        assert error.value.argument == argument


def test_indicator_files_report_every_problem_by_line_and_column() -> None:
    _, rows = hxl.read(csv_bytes(INDICATOR_TAGS, [
        need("CO", "risk", 1), need("XX", "risk", 1), need("CO", "risk", -3), need("CO", "", 1),
        need("CO", "risk", 1, "soon"), need("CO", "risk", 2), need("CO", "risk", 1, **{"#adm1+code": "MX-CMX"}),
        need("CO", "risk", 1, 2025, **{"#meta+source": ""}),
    ]), "needs.csv")
    with pytest.raises(ValidationFailed) as error:
        indicators.validate(rows, "needs.csv")
    found = [(p.line, p.column, p.reason) for p in error.value.problems]
    assert found == [
        (4, "#country+code", "'XX' is not an ISO 3166-1 country code"),
        (5, "#indicator+value", "'-3' is outside 0 to 1e+15"),
        (6, "#indicator+name", "is required"),
        (7, "#date+year", "'soon' is not a number"),
        (8, "row", "repeats 'risk' for CO in 2026 (first on line 3)"),
        (9, "#adm1+code", "'MX-CMX' is not an ISO 3166-2 subdivision of 'CO'"),
        (10, "#meta+source", "is required"),
    ]


QUERY = """query($donor: ID) { coverageGaps(codes: ["CO", "MX"], serviceTypes: ["legal-aid", "safe-house"],
  donor: $donor, first: 2, offset: 2) {
  totalCells indicators donorTotals { currency amount cells }
  cells { place serviceType score flags providersPresent providersRemote providerIds capacity { currency amount }
          funding { currency amount donors concentration } donorFunding { amount } need } } }"""


async def test_through_graphql(store: Store, api: Api) -> None:
    await seed(store)
    _, token = await store.tokens.create("member", "test:q")
    data = (await api.data(QUERY, token, donor="test:q"))["coverageGaps"]
    assert data["totalCells"] == 4 and [(c["place"], c["serviceType"]) for c in data["cells"]] == [
        ("CO", "safe-house"), ("CO", "legal-aid")]  # after the two in Mexico, where need is higher
    assert data["cells"][0]["flags"] == ["NO_PROVIDER"]  # the shelter is restricted even to a member
    legal = next(c for c in data["cells"] if (c["place"], c["serviceType"]) == ("CO", "legal-aid"))
    # q's own restricted grant is visible to q's member
    assert legal["funding"] == [{"currency": "EUR", "amount": 4000.0, "donors": 2, "concentration": 0.625}]
    assert legal["donorFunding"] == [{"amount": 3000.0}] and data["donorTotals"][0]["cells"] == 1
    anonymous = (await api.data(QUERY))["coverageGaps"]
    legal = next(c for c in anonymous["cells"] if (c["place"], c["serviceType"]) == ("CO", "legal-aid"))
    assert legal["capacity"] is None and legal["providerIds"] == ["test:a", "test:b"]
