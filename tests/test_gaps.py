"""Coverage gaps on a hand-built directory: every number worked out by hand, for each role.

Every record here carries a verification date (`#date+verified`): freshness is the verification,
not the last write, so a record never verified is stale."""

from __future__ import annotations

import gc
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import httpx
import pytest

from directory.domain import places
from directory.domain.errors import BadArgument, NotFound, ValidationFailed
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from directory.formats import hxl, indicators
from directory.jobs import gaps
from directory.jobs.gaps import HIGH_GAP, WIDE_DEFAULT_CAPACITY, Flag, GapMatrix, GapQuestion, coverage_gaps
from directory.store import Store
from directory.store.engine.cypher import cypher
from directory.store.records import needs
from tests.conftest import LiveServer
from tests.helpers import Api, csv_bytes, load, org, service

pytestmark = pytest.mark.anyio

RECENT = (date.today() - timedelta(days=10)).isoformat()
OLD = (date.today() - timedelta(days=200)).isoformat()
LONG_AGO = (date.today() - timedelta(days=400)).isoformat()  # past STALE_AFTER_DAYS
YEAR = date.today().year
MEMBER_B = Viewer("member", "test:b", "t")
WRITTEN = cypher("tests.written", "MATCH (s:Service {id: $id}) RETURN s.updated_at AS at")
INDICATOR_TAGS = ["#country+code", "#adm1+code", "#indicator+name", "#indicator+value", "#date+year", "#meta+source",
                  "#meta+visibility"]
VERIFIED = "#date+verified"
WORLD = len([c for c in places.countries() if c not in places.UNPEOPLED])  # the countries a worldwide offer shares
WORLDWIDE = {"#country+code+present": "", "#country+code+remote": "world"}


def checked(oid: str, verified: str = RECENT, **fields: object) -> dict[str, object]:
    """An organisation verified on `verified` (its services without a date of their own take it)."""
    return org(oid, **{VERIFIED: verified, **fields})


async def load_needs(store: Store, rows: list[dict[str, object]]) -> None:
    _, read = hxl.read(csv_bytes(INDICATOR_TAGS, rows), "needs.csv")
    await needs.write(store.graph, indicators.validate(read, "needs.csv"))


def need(country: str, name: str, value: object, year: object = 2026, **more: object) -> dict[str, object]:
    row: dict[str, object] = {"#country+code": country, "#indicator+name": name, "#indicator+value": value,
                              "#date+year": year, "#meta+source": "made up for a test"}
    row.update(more)
    return row


async def seed(store: Store) -> None:
    await load(store, [
        checked("a"), checked("b"), checked("c", **{"#meta+visibility": "network"}),
        checked("s", **{"#org+type": "shelter", "#meta+visibility": "restricted", "#geo+precision": "hidden"}),
        checked("w", **{"#org+type": "international-ngo", "#country+code": "CH"}),
        checked("d", **{"#org+type": "donor", "#country+code": "NO"}),
        checked("q", **{"#org+type": "donor", "#country+code": "NO", "#meta+visibility": "network"}),
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
        # w itself was verified recently, this service of its own last in 2024: the service's date counts
        service("w-grant", "w", "emergency-grant", **{"#country+code+present": "CH", "#country+code+remote": "world",
                                                      "#service+response_hours": "72", VERIFIED: "2024-01-01"}),
    ], [
        {"#rel+type": "FUNDS", "#org+id+source": "d", "#org+id+target": "a", "#meta+id": "one",
         "#meta+visibility": "public", "#value": "1000", "#currency": "EUR", "#date+year": str(YEAR)},
        {"#rel+type": "FUNDS", "#org+id+source": "q", "#org+id+target": "a", "#meta+id": "two",
         "#value": "3000", "#currency": "EUR", "#date+year": str(YEAR)},  # restricted by default
        {"#rel+type": "FUNDS", "#org+id+source": "d", "#org+id+target": "b", "#meta+id": "old",
         "#meta+visibility": "public", "#value": "1000", "#currency": "EUR", "#date+year": "2015"},
    ])
    await load_needs(store, [
        need("CO", "risk", 80), need("MX", "risk", 40), need("CO", "risk", 20, 2020),
        need("CO", "other", 1), need("MX", "other", 4),
        need("MX", "secret", 100, **{"#meta+visibility": "restricted"}),
    ])


TYPES = ["legal-aid", "safe-house", "psychosocial-support", "emergency-grant"]


def ask(**kwargs: object) -> GapQuestion:
    fields: dict[str, object] = {"codes": ["CO", "MX"], "service_types": TYPES, "indicators": ["risk", "other"]}
    fields.update(kwargs)
    return GapQuestion(**fields)  # type: ignore[arg-type]


def cell(matrix: GapMatrix, place: str, service_type: str):  # type: ignore[no-untyped-def]
    return next(c for c in matrix.cells if (c.place, c.service_type) == (place, service_type))


def score(supply: float, need: float) -> float:
    """The README's score, to one decimal, halves to even, in decimal arithmetic."""
    exact = Decimal(100) / (1 + Decimal(str(supply))) * (Decimal("0.25") + Decimal("0.75") * Decimal(str(need)))
    return float(exact.quantize(Decimal("0.1"), ROUND_HALF_EVEN))


@pytest.mark.pure
def test_a_score_of_a_half_rounds_to_even_whatever_floating_point_makes_of_it() -> None:
    """A hand-worked scenario: 100 * 1/2 * (0.25 + 0.75 * 0.7) is 38.75, which the README rounds to
    38.8; floating point made it 38.74999... and the matrix said 38.7."""
    assert gaps._score(gaps.Cell("UG", "relocation-regional", supply=1, need=0.7)) == 38.8 == score(1, 0.7)
    assert gaps._score(gaps.Cell("UG", "safe-house", supply=1, need=0.5)) == 31.2 == score(1, 0.5)  # as README
    assert gaps._score(gaps.Cell("KE", "legal-aid", supply=0, need=0.75)) == 81.2 == score(0, 0.75)


NEED_CO = (80 / 80 + 1 / 4) / 2  # the 2020 value is older, so ignored; 'other' is scaled by MX's 4
NEED_MX = (40 / 80 + 4 / 4) / 2


async def test_the_steward_matrix_worked_by_hand(store: Store) -> None:
    await seed(store)
    m = await coverage_gaps(store, STEWARD, ask())
    assert len(m.cells) == 8 and m.indicators == ["other", "risk"]
    legal = cell(m, "CO", "legal-aid")
    # a delivers in CO, c in its subdivision CO-ANT (so in CO), b reaches CO remotely: supply 1 + 1 + 0.5
    assert (legal.present, legal.remote) == (["test:a", "test:c"], ["test:b"])
    assert (legal.local, legal.wide) == (["test:a", "test:b", "test:c"], [])  # each names CO or a part of it
    assert legal.need == NEED_CO and legal.score == score(2.5, NEED_CO)
    assert legal.median_response_hours == 24 and legal.flags == []
    assert [(a.currency, a.amount) for a in legal.capacity or []] == [("cases", 5)]
    (eur,) = legal.funding  # d 1000 and q 3000 to a; d's 2015 grant to b is too old
    assert (eur.currency, eur.amount, eur.grants, eur.donors) == ("EUR", 4000, 2, 2)
    assert eur.top_donor_share == 0.75 and eur.concentration == 0.625  # 0.75² + 0.25²
    # the table says whose share it is, not a sum of money ("EUR 0.75" read as 75 cents)
    row = dict(zip([c.header for c in gaps.table(m).columns],
                   next(r for r in gaps.table(m).rows if r[:2] == ["CO", "legal-aid"]), strict=True))
    assert (row["Top donor share"], row["Concentration"]) == (["EUR: 0.75"], ["EUR: 0.625"])
    house = cell(m, "CO", "safe-house")
    assert house.present == ["test:s"] and house.flags == [Flag.SINGLE_PROVIDER, Flag.UNFUNDED]
    psy = cell(m, "MX", "psychosocial-support")
    assert psy.flags == [Flag.SINGLE_PROVIDER, Flag.CAPACITY_EXPIRED] and psy.capacity == []
    assert psy.score == score(1, NEED_MX)
    grant = cell(m, "CO", "emergency-grant")  # w reaches the world remotely, its service verified in 2024
    assert grant.remote == ["test:w"] and grant.stale_providers == 1 and grant.newest_confirmation == "2024-01-01"
    assert (grant.local, grant.wide) == ([], ["test:w"])
    assert grant.flags == [Flag.SINGLE_PROVIDER, Flag.NO_LOCAL_PROVIDER, Flag.STALE, Flag.UNFUNDED]
    # remote x stale x its default capacity shared by every country of the world
    assert grant.score == score(0.5 * 0.5 * WIDE_DEFAULT_CAPACITY / WORLD, NEED_CO)
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
    with pytest.raises(BadArgument, match="secret") as refused:  # a restricted indicator is as unknown as a missing one
        await coverage_gaps(store, ANONYMOUS, ask(indicators=["secret"]))
    # the refusal names the indicators there are, as the viewer may see them: not the restricted one
    assert str(refused.value).endswith("the indicators are other, risk"), str(refused.value)
    with pytest.raises(BadArgument) as refused:
        await coverage_gaps(store, STEWARD, ask(indicators=["riesgo"]))
    assert str(refused.value).endswith("the indicators are other, risk, secret"), str(refused.value)


async def test_where_the_need_comes_from_is_said_for_the_places_asked_and_what_the_viewer_may_see(
        store: Store) -> None:
    """A score rests on need figures: the answer says which indicators gave the places asked a value,
    of which years and from where, and only of indicators the viewer may see."""
    await seed(store)
    survey = {"#adm1+code": "CO-ANT", "#meta+source": "a department's survey"}
    await load_needs(store, [need("CO", "risk", 9, 2025, **survey),
                             need("VE", "risk", 50, 2019, **{"#meta+source": "elsewhere"})])
    m = await coverage_gaps(store, STEWARD, ask(indicators=None, codes=["CO", "MX", "CO-ANT"]))
    assert [(n.indicator, n.places, n.first_year, n.last_year, n.sources) for n in m.need_sources] == [
        ("other", 3, 2026, 2026, ["made up for a test"]),  # CO-ANT weighed by its country's
        ("risk", 3, 2025, 2026, ["made up for a test", "a department's survey"]),  # not VE's: not asked
        ("secret", 1, 2026, 2026, ["made up for a test"])]
    notes = gaps.table(m).notes
    assert notes[1] == ("Need from risk: 3 places, 2025\u20132026; source of the figures: made up for a test; "
                        "a department's survey.")
    public = await coverage_gaps(store, ANONYMOUS, ask(indicators=None))
    assert [n.indicator for n in public.need_sources] == ["other", "risk"]  # the restricted one is not named
    mixed = gaps.table(await coverage_gaps(store, ANONYMOUS, ask(indicators=None, codes=["CO", "KE"]))).notes
    assert mixed[-1] == ("Places with no need figure count as 0.5, so they can rank above places whose known "
                         "need is lower.")  # Kenya, at 0.5, above a Colombia known to need less
    assert not any(n.startswith("Places with no need") for n in notes)  # every place asked has a figure
    nothing = await coverage_gaps(store, ANONYMOUS, ask(indicators=None, codes=["KE"]))
    assert nothing.need_sources == [] and gaps.table(nothing).notes == [
        "No need figures are recorded for these places: the need of each counts as 0.5."]


def test_a_cell_names_its_first_providers_those_local_to_it_first_and_counts_the_rest() -> None:
    found = gaps.Cell("CO", "legal-aid", present=["x:wide-1", "x:local-2"],
                      remote=["x:wide-2", "x:local-1", "x:wide-3"], local=["x:local-1", "x:local-2"])
    assert gaps.named_ids([found]) == {"x:local-1", "x:local-2", "x:wide-1", "x:wide-2"}
    names = {"x:local-1": "Local One", "x:local-2": "Local Two", "x:wide-1": "Wide One", "x:wide-2": "Wide Two"}
    row = dict(zip((c.tag for c in gaps.table(GapMatrix([found], []), names=names).columns),
                   gaps.table(GapMatrix([found], []), names=names).rows[0], strict=True))
    assert row["#org+name+providers"] == ["Local One", "Local Two", "Wide One", "and 2 more"]
    assert row["#org+id+named"] == ["x:local-1", "x:local-2", "x:wide-1"]
    # a provider whose organisation the viewer may not see is never named, only counted
    hidden = {k: v for k, v in names.items() if k != "x:local-2"}
    row = gaps.table(GapMatrix([found], []), names=hidden).rows[0]
    assert ["Local One", "Wide One", "Wide Two", "and 2 more"] in row and "Local Two" not in str(row[:-1])


async def test_the_gaps_page_links_the_providers_each_viewer_may_see(store: Store, live_server: LiveServer) -> None:
    await seed(store)
    asked = {"country": "CO", "serviceTypes": ["legal-aid"]}  # by its subdivisions
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        answer = (await client.post("/gaps", data=asked)).text
        # the public sees a and b (c is the network's): each linked, a and b local to Colombia
        named = '<a href="/organisations/test:a"><bdi>A</bdi></a>; <a href="/organisations/test:b"><bdi>B</bdi></a>'
        assert named in answer
        assert "/organisations/test:c" not in answer and " more<" not in answer and "and 1 more" not in answer
        csv = (await client.post("/gaps.csv", data=asked)).text.splitlines()
        assert "#org+name+providers" in csv[1] and "A; B" in csv[2]
        # each place and service also by its name, in the page's language, as the last columns
        assert csv[0].endswith(",Place name,Service name,Flags in words")
        assert csv[1].endswith(",#country+name,#sector+name,#meta+flags+name")
        assert csv[2].startswith("CO-AMA,legal-aid,") and csv[2].endswith(",Amazonas,Legal aid,")  # no flag
        spanish = (await client.post("/gaps.csv", data=asked, headers={"Accept-Language": "es"})).text.splitlines()
        assert spanish[2].endswith(",Amazonas,Asistencia jurídica,"), spanish[2]


async def test_group_region_subdivisions_and_donor(store: Store) -> None:
    await seed(store)
    women = await coverage_gaps(store, STEWARD, ask(group="women", service_types=["legal-aid"]))
    assert cell(women, "CO", "legal-aid").providers == 2  # a serves journalists only; b names no group
    region = await coverage_gaps(store, STEWARD, GapQuestion(region="region:Americas", service_types=["legal-aid"]))
    assert {"CO", "MX"} <= {c.place for c in region.cells} and "KE" not in {c.place for c in region.cells}
    subdivisions = await coverage_gaps(store, STEWARD, GapQuestion(country="CO", service_types=["legal-aid"]))
    antioquia = cell(subdivisions, "CO-ANT", "legal-aid")
    assert antioquia.present == ["test:a", "test:c"] and antioquia.remote == ["test:b"]
    assert antioquia.local == ["test:a", "test:b", "test:c"]  # the country counts as local for its subdivisions
    assert cell(subdivisions, "CO-DC", "legal-aid").present == ["test:a"]
    donor = await coverage_gaps(store, STEWARD, ask(donor="test:q"))
    assert [(a.currency, a.amount) for a in cell(donor, "CO", "legal-aid").donor_funding] == [("EUR", 3000)]
    (total,) = donor.donor_totals
    assert (total.amount, total.grants, total.cells) == (3000, 1, 2)  # a is in CO legal-aid and MX psychosocial
    with pytest.raises(NotFound):
        await coverage_gaps(store, ANONYMOUS, ask(donor="test:q"))  # network donor: hidden reads as missing
    # a country without subdivisions is its own one place, not an empty answer that reads as hidden
    holy_see = await coverage_gaps(store, STEWARD, GapQuestion(country="VA", service_types=["legal-aid"]))
    assert [(c.place, c.flags) for c in holy_see.cells] == [("VA", [Flag.NO_PROVIDER])]
    # a country's alpha-3 code, as imports take it, in every argument naming places
    by_alpha3 = await coverage_gaps(store, STEWARD, GapQuestion(codes=["COL", "mex"], service_types=["legal-aid"]))
    assert {c.place for c in by_alpha3.cells} == {"CO", "MX"}
    assert places.one_place(" ken ", "country").code == "KE"


async def test_bad_questions_name_the_argument(store: Store) -> None:
    await seed(store)
    for bad, argument in ((ask(service_types=["cooking"]), "serviceTypes"), (ask(group="cats"), "group"),
                          (ask(codes=["XX"]), "codes"), (GapQuestion(region="region:Atlantis"), "region"),
                          (GapQuestion(region="world", country="CO"), "region"),
                          (ask(indicators=["nothing"]), "indicators")):
        with pytest.raises(BadArgument) as error:
            await coverage_gaps(store, STEWARD, bad)
        assert error.value.argument == argument
        assert gc.isenabled()  # the matrix pauses the collector (`paused_gc`): a refused one gives it back too
    await coverage_gaps(store, STEWARD, ask())
    assert gc.isenabled()


def test_indicator_files_report_every_problem_by_line_and_column() -> None:
    _, rows = hxl.read(csv_bytes(INDICATOR_TAGS, [
        need("CO", "risk", 1), need("XX", "risk", 1), need("CO", "risk", -3), need("CO", "", 1),
        need("CO", "risk", 1, "soon"), need("CO", "risk", 2), need("CO", "risk", 1, **{"#adm1+code": "MX-CMX"}),
        need("CO", "risk", 1, 2025, **{"#meta+source": ""}), need("CO", "risk", 1, date.today().year + 1),
    ]), "needs.csv")
    with pytest.raises(ValidationFailed) as error:
        indicators.validate(rows, "needs.csv")
    found = [(p.line, p.column, p.reason) for p in error.value.problems]
    assert found == [
        (4, "#country+code", "'XX' is not an ISO 3166-1 country code"),
        (5, "#indicator+value", "'-3' is outside 0 to 1000000000000000"),
        (6, "#indicator+name", "is required"),
        (7, "#date+year", "'soon' is not a number"),
        (8, "row", "repeats 'risk' for CO in 2026 (first on line 3)"),
        (9, "#adm1+code", "'MX-CMX' is not an ISO 3166-2 subdivision of 'CO'"),
        (10, "#meta+source", "is required"),
        (11, "#date+year", f"{date.today().year + 1} has not begun: a need figure is one measured, of this year or "
                           "before"),
    ]


QUERY = """query($donor: ID) { coverageGaps(codes: ["CO", "MX"], serviceTypes: ["legal-aid", "safe-house"],
  donor: $donor, first: 2, offset: 2) {
  totalCells indicators donorTotals { currency amount cells }
  cells { place serviceType score flags providersPresent providersRemote providersLocal providersWide providerIds
          capacity { currency amount }
          funding { currency amount donors concentration } donorFunding { amount } need } } }"""


async def test_through_graphql(store: Store, api: Api) -> None:
    await seed(store)
    _, token = await store.tokens.create("member", "test:q")
    data = (await api.data(QUERY, token, donor="test:q"))["coverageGaps"]
    assert data["totalCells"] == 4 and [(c["place"], c["serviceType"]) for c in data["cells"]] == [
        ("CO", "safe-house"), ("CO", "legal-aid")]  # after the two in Mexico, where need is higher
    assert data["cells"][0]["flags"] == ["NO_PROVIDER"]  # the shelter is restricted even to a member
    legal = next(c for c in data["cells"] if (c["place"], c["serviceType"]) == ("CO", "legal-aid"))
    assert (legal["providersLocal"], legal["providersWide"]) == (3, 0)
    # q's own restricted grant is visible to q's member
    assert legal["funding"] == [{"currency": "EUR", "amount": 4000.0, "donors": 2, "concentration": 0.625}]
    assert legal["donorFunding"] == [{"amount": 3000.0}] and data["donorTotals"][0]["cells"] == 1
    anonymous = (await api.data(QUERY))["coverageGaps"]
    legal = next(c for c in anonymous["cells"] if (c["place"], c["serviceType"]) == ("CO", "legal-aid"))
    assert legal["capacity"] is None and legal["providerIds"] == ["test:a", "test:b"]
    # an organisation a question names and the viewer may not see is missing, and the error names the
    # argument that named it, the same for a hidden one as for one that is not there
    for query, hidden, argument in (
            ('{ coverageGaps(donor: "%s") { totalCells } }', "test:q", "donor"),
            ('{ findPartners(organisation: "%s") { score } }', "test:q", "organisation"),
            ('{ referralPaths(from: "%s", serviceType: "legal-aid", country: "CO") { rank } }', "test:q", "from")):
        said = [(await api.gql(query % who))["errors"][0] for who in (hidden, "test:nobody")]
        assert [e["extensions"] for e in said] == [{"code": "NOT_FOUND", "argument": argument}] * 2, said
        assert said[0]["message"].replace(hidden, "X") == said[1]["message"].replace("test:nobody", "X")


async def test_the_gaps_page_sets_the_gaps_against_a_donors_funding(store: Store, live_server: LiveServer) -> None:
    """A donor spotting gaps asks where its own money goes beside them: the page takes a donor by name
    or id, adds its funding to each row and says its totals; a donor the viewer may not see reads as
    one that is not there."""
    await seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        page = (await client.post("/gaps", data={"region": "419", "serviceTypes": "legal-aid", "donor": "test:d"})).text
        assert '<th scope="col" role="columnheader">Donor funding</th>' in page
        assert "This donor&#39;s funding reaching providers here, in EUR: 1,000 (grants: 1, cells: 1)" in page
        hidden = await client.post("/gaps", data={"region": "419", "serviceTypes": "legal-aid", "donor": "test:q"})
        missing = await client.post("/gaps", data={"region": "419", "serviceTypes": "legal-aid", "donor": "test:z"})
        assert hidden.status_code == missing.status_code == 400 and "Donor funding" not in hidden.text
        assert hidden.text.replace("test:q", "X") == missing.text.replace("test:z", "X")


async def test_a_place_only_worldwide_funds_reach_shows_its_gap(store: Store) -> None:
    """Ten worldwide emergency-grant funds once counted as ten providers in every country, capping
    every score far below a high gap: now each adds its default capacity shared by the world."""
    funds = range(10)
    await load(store, [*(checked(f"g{n}", **{"#org+type": "international-ngo", "#country+code": "CH"}) for n in funds),
                       checked("m", **{"#country+code": "MX"})],
               [*(service(f"g{n}-grant", f"g{n}", "emergency-grant", **WORLDWIDE) for n in funds),
                service("m-grant", "m", "emergency-grant", **{"#country+code+present": "MX"})])
    await load_needs(store, [need("CO", "risk", 90), need("MX", "risk", 90)])
    m = await coverage_gaps(store, STEWARD, GapQuestion(codes=["CO", "MX"], service_types=["emergency-grant"],
                                                        indicators=["risk"]))
    wide = 10 * 0.5 * WIDE_DEFAULT_CAPACITY / WORLD  # ten remote funds, each 10 / 243 of its default capacity
    colombia, mexico = cell(m, "CO", "emergency-grant"), cell(m, "MX", "emergency-grant")
    assert colombia.need == 1 and colombia.local == [] and len(colombia.wide) == 10 == len(colombia.remote)
    assert colombia.supply == pytest.approx(wide) and colombia.score == score(wide, 1) > HIGH_GAP
    assert colombia.flags == [Flag.NO_LOCAL_PROVIDER, Flag.UNFUNDED]
    assert score(10 * 0.5, 1) < HIGH_GAP / 2  # what ten worldwide funds used to make of it
    assert mexico.local == ["test:m"] and mexico.present == ["test:m"] and len(mexico.wide) == 10
    assert Flag.NO_LOCAL_PROVIDER not in mexico.flags and mexico.score == score(1 + wide, 1) < HIGH_GAP


async def test_a_wide_providers_stated_capacity_counts_only_for_viewers_who_may_see_it(store: Store) -> None:
    async def scores(capacity: str, confirmed: str) -> list[float]:
        """The steward's, a member's and an anonymous viewer's score for Kenya, with this capacity."""
        await load(store, [checked("g", **{"#org+type": "international-ngo", "#country+code": "CH"})],
                   [service("g-grant", "g", "emergency-grant", **WORLDWIDE, **{
                       "#capacity": capacity, "#capacity+unit": "grants", "#capacity+date": confirmed})])
        question = GapQuestion(codes=["KE"], service_types=["emergency-grant"])  # no indicators: need 0.5
        return [cell(await coverage_gaps(store, viewer, question), "KE", "emergency-grant").score
                for viewer in (STEWARD, MEMBER_B, ANONYMOUS)]

    default = score(0.5 * WIDE_DEFAULT_CAPACITY / WORLD, 0.5)
    # twice the world's countries: all it can give reaches each one, as much as one remote local provider
    assert await scores(str(2 * WORLD), RECENT) == [score(0.5, 0.5), score(0.5, 0.5), default]
    # a stated figure counts even below the default; the anonymous score has not moved (nothing leaks)
    assert await scores("1", RECENT) == [score(0.5 / WORLD, 0.5), score(0.5 / WORLD, 0.5), default]
    assert await scores(str(2 * WORLD), OLD) == [default, default, default]  # expired: the default again


async def test_a_local_provider_that_said_it_is_full_adds_no_supply_for_viewers_who_may_see_it(store: Store) -> None:
    """Kenya's one legal aid group confirmed lately it can take no case: for those who may see capacity
    the cell is as uncovered as with no provider (it is still listed); the public's score never hints
    at the figure; an expired zero counts the provider again."""
    async def scores(capacity: str, confirmed: str) -> list[tuple[float, list[str]]]:
        await load(store, [checked("k", **{"#country+code": "KE"})],
                   [service("k-legal", "k", "legal-aid", **{"#country+code+present": "KE", "#capacity": capacity,
                                                            "#capacity+unit": "cases", "#capacity+date": confirmed})])
        question = GapQuestion(codes=["KE"], service_types=["legal-aid"])  # no indicators: need 0.5
        found = [cell(await coverage_gaps(store, viewer, question), "KE", "legal-aid")
                 for viewer in (STEWARD, MEMBER_B, ANONYMOUS)]
        return [(c.score, list(c.present)) for c in found]

    full, covered = score(0.0, 0.5), score(1.0, 0.5)
    assert await scores("0", RECENT) == [(full, ["test:k"]), (full, ["test:k"]), (covered, ["test:k"])]
    assert await scores("2", RECENT) == [(covered, ["test:k"])] * 3
    assert await scores("0", OLD) == [(covered, ["test:k"])] * 3


async def test_freshness_is_the_verification_not_the_last_write(store: Store) -> None:
    orgs = [checked("old", LONG_AGO), checked("new", LONG_AGO), org("never")]
    await load(store, orgs, [service("old-legal", "old"), service("old-ve", "old", **{"#country+code+present": "VE"}),
                             service("new-legal", "new", **{VERIFIED: RECENT}), service("never-legal", "never")])
    # old data imported again, one service edited: written today, still verified long ago
    await load(store, orgs, [service("old-legal", "old", **{"#service+name": "Renamed today"}),
                             service("old-ve", "old", **{"#country+code+present": "VE",
                                                         "#service+name": "Renamed too"})])
    for sid in ("test:old-legal", "test:old-ve"):
        (row,) = await store.graph.read(WRITTEN, id=sid)
        assert row["at"][:10] == date.today().isoformat()
    m = await coverage_gaps(store, STEWARD, GapQuestion(codes=["CO", "VE"], service_types=["legal-aid"]))
    colombia = cell(m, "CO", "legal-aid")
    # old-legal takes its organisation's date; new-legal its own, though its organisation's is old
    assert colombia.confirmed == {"test:old": LONG_AGO, "test:new": RECENT, "test:never": None}
    assert colombia.stale_providers == 2 and Flag.STALE not in colombia.flags
    assert (colombia.newest_confirmation, colombia.oldest_confirmation) == (RECENT, LONG_AGO)
    assert colombia.score == score(0.5 + 1 + 0.5, 0.5)
    venezuela = cell(m, "VE", "legal-aid")
    assert venezuela.stale_providers == 1 and Flag.STALE in venezuela.flags
    assert venezuela.score == score(0.5, 0.5)


async def test_relocation_counts_where_defenders_come_from_not_where_they_are_hosted(store: Store) -> None:
    await load(store, [checked("host", **{"#country+code": "CR"})],
               [service("host-relocation", "host", "relocation-regional",
                        **{"#country+code+present": "CR", "#country+code+origin": "HN"})])
    matrix = await coverage_gaps(store, ANONYMOUS, GapQuestion(codes=["HN", "CR"],
                                                               service_types=["relocation-regional"]))
    cells = {c.place: c for c in matrix.cells}
    assert cells["HN"].local == ["test:host"] and cells["CR"].providers == 0


async def test_a_place_or_a_type_named_twice_is_one_cell(store: Store) -> None:
    await seed(store)
    once = await coverage_gaps(store, STEWARD, ask())
    twice = await coverage_gaps(store, STEWARD, ask(codes=["CO", "MX", "co", "CO"], service_types=[*TYPES, *TYPES]))
    assert [(c.place, c.service_type, c.score) for c in twice.cells] == [
        (c.place, c.service_type, c.score) for c in once.cells]
    assert len(once.cells) == 2 * len(TYPES)


SPLITS = {"one part": lambda types: [types], "a type a part": lambda types: [[t] for t in types],
          "interleaved": lambda types: [p for p in (types[n::3] for n in range(3)) if p],
          "backwards": lambda types: [types[i:i + 4] for i in range(0, len(types), 4)][::-1]}


@pytest.mark.parametrize("split", SPLITS)
async def test_the_matrix_is_the_same_however_its_types_are_split_into_parts(
        store: Store, monkeypatch: pytest.MonkeyPatch, split: str) -> None:
    # the types are read and folded in parts, one folded while the next is read: the cells of a type
    # depend only on its offers, and the funding on every part's providers together
    await seed(store)
    viewers = [STEWARD, ANONYMOUS, MEMBER_B]
    questions = [ask(), ask(service_types=None, codes=None, region="419"), ask(donor="test:d", group="journalists")]
    whole = [await coverage_gaps(store, v, q) for v in viewers for q in questions]
    every = sorted({c.service_type for c in whole[1].cells})
    parts = gaps.in_parts(every)
    assert len(parts) > 3 and sorted(t for part in parts for t in part) == every  # split, each type once
    monkeypatch.setattr(gaps, "in_parts", SPLITS[split])
    assert [await coverage_gaps(store, v, q) for v in viewers for q in questions] == whole
    assert any(c.funding for m in whole for c in m.cells) and any(m.donor_totals for m in whole)
