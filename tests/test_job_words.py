"""The jobs' reasons and table headings in the page's language: each reason keeps its template and
values, the catalogue extracts every template and heading, the pages pass them through gettext,
and the CLI, the CSV and GraphQL keep the English text they always printed."""

from __future__ import annotations

import ast
import copy
import csv
import gettext
import pickle
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from directory.domain.errors import Plural
from directory.domain.viewer import STEWARD, Viewer
from directory.exchange import demo
from directory.jobs import gaps, partners, reasons
from directory.jobs.gap_cells import Funding
from directory.jobs.paths import PathOrder
from directory.jobs.reasons import Joined, Money, Reason
from directory.jobs.referrals import Question, ReferralPath, referral_paths
from directory.jobs.referrals import table as referral_table
from directory.jobs.tables import Table, organisation_names
from directory.store import Store
from directory.web.pages import catalogue, i18n, render, suggest
from directory.web.pages.reading import Reading
from tests.conftest import LiveServer
from tests.helpers import Api

pytestmark = pytest.mark.anyio
JOBS = Path(reasons.__file__).parent
CLINIC = Viewer("member", "test:fict-kampala-legal", "the clinic")


def _made_reasons() -> list[ast.Call]:
    """Every `Reason(...)` call written in the jobs' modules (but the one that defines it)."""
    calls = []
    for source in sorted(set(JOBS.glob("*.py")) - {Path(reasons.__file__)}):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Reason":
                calls.append(node)
    return calls


@pytest.mark.pure
def test_every_reason_the_jobs_make_is_a_literal_template_the_catalogue_extracts() -> None:
    calls = _made_reasons()
    assert len(calls) > 20
    written = set()
    for call in calls:
        first = call.args[0] if call.args else None
        if isinstance(first, ast.Call) and isinstance(first.func, ast.Name) and first.func.id == "Plural":
            forms = [a.value for a in first.args[:2] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            assert len(forms) == 2, f"line {call.lineno}: a Plural's forms must be literals"
            written.add((forms[0], forms[1]))
            continue
        assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
            f"line {call.lineno}: a Reason's template must be a literal, or the catalogue cannot find it")
        assert "{" not in first.value, f"line {call.lineno}: an f-string's braces in a template"
        written.add(first.value)
    assert written == catalogue.reason_templates()
    assert written <= catalogue.msgids()["pages"]


@pytest.mark.pure
@pytest.mark.parametrize(("made", "old"), [
    (Reason("offers %(types)s", types=["legal-aid", "medical-care"]),
     f"offers {', '.join(['legal-aid', 'medical-care'])}"),
    (Reason("%(km)s km between where the two are based (the points you may see)", km=12.0),
     f"{12.0:g} km between where the two are based (the points you may see)"),
    (Reason("%(km)s km between where the two are based (the points you may see)", km=1234567.8),
     f"{1234567.8:g} km between where the two are based (the points you may see)"),
    (Reason("responds within %(hours)s h", hours=float(24)), f"responds within {24:g} h"),
    (Reason("responds within %(hours)s h", hours=0.5), f"responds within {0.5:g} h"),
    (Reason("trust not recorded (counted as %(trust)s)", trust=0.5), f"trust not recorded (counted as {0.5:g})"),
    (Reason("capacity %(capacity)s confirmed %(date)s", capacity=1000000, date="2026-03-01"),
     f"capacity {1000000} confirmed 2026-03-01"),
    (Reason("%(currency)s %(amount)s (%(donors)s donors)", currency="USD", amount=Money(12000), donors=3),
     f"USD {12000.0:,.0f} (3 donors)"),
    (Joined([Reason("service %(service)s delivered in %(places)s", service="test:s", places=["CO-ANT", "CO-DC"]),
             Reason("response time not recorded (counted as %(hours)s h)", hours=72.0)], ", "),
     f"service test:s delivered in CO-ANT, CO-DC, response time not recorded (counted as {72.0:g} h)"),
    (Reason("%(source)s > %(target)s: %(why)s", source="A", target="B",
            why=Joined([Reason("informal referral"), Reason("trust %(trust)s", trust=0.9)], ", ")),
     "A > B: informal referral, trust 0.9"),
])
def test_a_reason_reads_exactly_as_the_old_english_text(made: str, old: str) -> None:
    assert str(made) == made == old and type(str(made)) is str
    assert copy.deepcopy(made) == old and pickle.loads(pickle.dumps(made)) == old
    assert reasons.templates(pickle.loads(pickle.dumps(made))) == reasons.templates(made)


class _Marked(gettext.NullTranslations):  # the standard library's: no ugettext of Babel's
    """A translation that marks every word it was asked for: «word»."""

    def gettext(self, message: str) -> str:
        return f"«{message}»"


def _forget_translated() -> None:
    """What the pages keep per language (environments, the forms' named choices, the name box's
    index of them) is built again from the translations in force."""
    for cached in (render.environment, render._named, render._option_tags, suggest._index):
        cached.cache_clear()


@pytest.fixture
def marked_spanish(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real = i18n.translations
    monkeypatch.setattr(i18n, "translations", lambda language: _Marked() if language == "es" else real(language))
    _forget_translated()
    yield
    _forget_translated()


@pytest.mark.pure
def test_a_page_reads_a_reasons_template_through_gettext_and_its_codes_by_name(marked_spanish: None) -> None:
    reading = Reading("es", {"medical-care": "Medical care"})
    said = Joined([Reason("offers %(types)s", types=["medical-care"]), Reason("delivers in %(place)s", place="TZ"),
                   Reason("speaks %(languages)s", languages=["sw", "en"]), Reason("trust %(trust)s", trust=0.9)], "; ")
    assert reading.text(said) == ("«offers «Medical care»»; «delivers in Tanzania»; «speaks suajili, inglés»; "
                                  "«trust 0,9»")  # a number as the page's language writes it
    # flags and numbers as they are (the template names the flags)
    assert reading.cell([said, "no_provider", 3]) == [reading.text(said), "no_provider", 3]


@pytest.mark.pure
def test_a_translation_that_misspells_a_placeholder_falls_back_to_english(monkeypatch: pytest.MonkeyPatch) -> None:
    class Misspelt(gettext.NullTranslations):
        def gettext(self, message: str) -> str:
            return "ofrece %(tipos)s" if message == "offers %(types)s" else message

    monkeypatch.setattr(i18n, "translations", lambda language: Misspelt())
    assert Reading("es", {}).text(Reason("offers %(types)s", types=["legal-aid"])) == "offers legal-aid"


def test_a_number_reads_as_the_page_language_writes_it_without_float_noise_at_any_size() -> None:
    from directory.web.pages.reading import Reading

    spanish, arabic = Reading("es", {}), Reading("ar", {})
    assert spanish.named("#x", 0.1 + 0.2) == "0,3" and spanish.named("#x", 0.4246) == "0,4246"
    assert spanish.named("#x", 1234567.25) == "1.234.567,25" and arabic.named("#x", 1234567.25) == "1,234,567.25"
    assert spanish.named("#x", 2.5e21) == "2,5E21" and spanish.named("#x", -1e300) == "-1E300"  # no crash
    assert spanish.named("#x", float("nan")) == "nan" and spanish.named("#x", 7) == 7  # counts stay numbers
    # and inside a reason, as the table's columns write them
    far = Reason("%(km)s km away", km=8059.6)
    assert str(far) == "8059.6 km away" and spanish.text(far) == "8.059,6 km away"
    confirmed = Reason("link confirmed %(date)s", date="2026-03-01")  # and a day as the language writes it
    assert "1 de marzo de 2026" in spanish.text(confirmed) and str(confirmed) == "link confirmed 2026-03-01"
    assert spanish.named("#date+confirmed", "2026-03-01") == "1 de marzo de 2026"  # a table's column of days
    assert Reading("en", {}).named("#date+confirmed", "2026-03-01") == "2026-03-01"
    assert spanish.named("#indicator+need", None) == "no se conoce (cuenta como 0,5)"  # counted, so said
    from directory.web.pages.render import number  # a page's counts grouped as its language groups them
    assert (number(7047, "fr"), number(7047, "es"), number(7047, "en"), number(True, "fr")) == (
        "7\u202f047", "7.047", "7,047", True)


@pytest.mark.pure
def test_a_sum_of_money_is_grouped_as_the_page_language_groups_it_and_a_year_or_count_is_not() -> None:
    """A donor read "USD 40,000" on a French page as forty: a comma is the French decimal mark."""
    totals = [gaps.DonorTotal("EUR", 40000.4, 3, 2, 2500.0)]
    which, note = gaps._donor_notes(gaps.GapMatrix([], [], donor="test:donor", donor_totals=totals),
                                    {"test:donor": "A Fund"})
    assert str(which) == "The donor asked: A Fund (test:donor)."
    assert "EUR: 40,000 (grants: 3, cells: 2), of which 2,500 to" in str(note)  # the CLI's and CSV's English
    french, spanish, russian = Reading("fr", {}), Reading("es", {}), Reading("ru", {})
    assert "40\u202f000" in french.text(note) and "2\u202f500" in french.text(note)
    assert "40.000" in spanish.text(note) and "40\xa0000" in russian.text(note)
    funded = gaps._funding_text(Funding("USD", 1234567.0, 4, 2, 0.5, 0.5))
    assert str(funded) == "USD 1,234,567 (2 donors)" and french.text(funded).startswith("USD 1\u202f234\u202f567")
    year = Reason(Plural("Need from %(indicator)s: %(n)s place, %(years)s; no source recorded.",
                         "Need from %(indicator)s: %(n)s places, %(years)s; no source recorded.", "n"),
                  indicator="x", n=1200, years="2024")
    assert "1200" in french.text(year) and "2024" in french.text(year)  # counts and years bare, as before


def test_arabic_answers_and_pages_separate_list_items_with_arabic_punctuation() -> None:
    from directory.web.pages.reading import Reading
    from directory.web.pages.render import environment

    arabic = Reading("ar", {"legal-aid": "Legal aid", "medical-care": "Medical care"})
    said = arabic.text(Joined([Reason("offers %(types)s", types=["legal-aid", "medical-care"]),
                               Reason("speaks %(languages)s", languages=["ar", "fr"])], "; "))
    assert "\u061b " in said and said.count("\u060c ") == 2 and "; " not in said and ", " not in said, said
    assert environment("ar").globals["comma"] == "\u060c " and environment("es").globals["comma"] == ", "
    # a map's sentence sets a Latin name apart in an Arabic page, so it keeps its own direction
    from maps.page import Words
    title = "Referral chains from %(source)s to %(service)s in %(place)s"
    isolated = Words(isolated=True).say(title, source="Río Claro (fictional)", service="Safe house", place="CO")
    assert "from \u2068Río Claro (fictional)\u2069 to" in isolated
    assert Words().say(title, source="Río", service="x", place="CO") == "Referral chains from Río to x in CO"


async def _answers(store: Store) -> tuple[list[partners.Partner], list[ReferralPath], list[Table]]:
    await demo.load(store)
    found = await partners.find_partners(store, CLINIC, partners.PartnerQuestion(
        "test:fict-kampala-legal", ["medical-care", "psychosocial-support"]))
    chains = await referral_paths(store, STEWARD, Question("safe-house", "TZ", "test:fict-lakeside-rights",
                                                           order=PathOrder.FASTEST_RESPONSE))
    tables = [partners.table(found, await organisation_names(store, CLINIC, {p.organisation for p in found})),
              referral_table(chains, {}),
              gaps.table(await gaps.coverage_gaps(store, STEWARD, gaps.GapQuestion(region="region:Americas")))]
    return found, chains, tables


async def test_the_reasons_and_headings_of_real_answers_are_msgids(store: Store) -> None:
    found, chains, tables = await _answers(store)
    assert found and chains
    made = reasons.templates([r for p in found for r in p.reasons])
    made |= reasons.templates([[*(r for s in p.steps for r in s.reasons), *p.reasons] for p in chains])
    made |= reasons.templates([cell for t in tables for row in t.rows for cell in row])
    assert {"offers %(types)s", "formal referral agreement", "%(source)s > %(target)s: %(why)s"} <= made
    assert ("%(currency)s %(amount)s (%(donors)s donor)", "%(currency)s %(amount)s (%(donors)s donors)",
            "donors") in made  # the gaps' funding, a plural
    headings = {c.header for t in tables for c in t.columns if c.printed}
    ids = catalogue.msgids()["pages"]
    assert {t if isinstance(t, str) else t[:2] for t in made} <= ids
    assert headings <= ids and {"Why", "Chain", "Place"} <= headings


CHAINS = """{ referralPaths(serviceType: "safe-house", country: "TZ", from: "test:fict-lakeside-rights",
  order: FASTEST_RESPONSE) { providerReasons steps { reasons } } }"""


async def test_the_cli_csv_and_graphql_keep_the_english_text(store: Store, api: Api) -> None:
    found, chains, tables = await _answers(store)
    partner_rows = list(csv.reader(tables[0].csv().splitlines()))
    why = partner_rows[0].index("Why")
    assert partner_rows[2][why] == "; ".join(found[0].reasons) and partner_rows[2][why].startswith("offers ")
    assert "offers " in tables[0].render(width=1000)
    chain_rows = list(csv.reader(tables[1].csv().splitlines()))
    step = chains[0].steps[0]
    assert chain_rows[2][-1].startswith(f"{step.referral.source} > {step.referral.target}: {', '.join(step.reasons)}")
    assert chain_rows[2][-1].endswith(" | ".join(chains[0].reasons))
    _, steward = await store.tokens.create("steward", None, "desk")
    shown = (await api.data(CHAINS, steward))["referralPaths"]
    assert shown[0]["providerReasons"] == chains[0].reasons and shown[0]["steps"][0]["reasons"] == step.reasons
    assert shown[0]["providerReasons"][0].startswith("service ")


async def test_the_pages_show_headings_and_reasons_through_gettext(store: Store, live_server: LiveServer,
                                                                   marked_spanish: None) -> None:
    await demo.load(store)
    _, member = await store.tokens.create("member", "test:fict-kampala-legal", "the clinic")
    _, steward = await store.tokens.create("steward", None, "desk")
    async with httpx.AsyncClient(base_url=live_server.url, params={"lang": "es"}) as client:
        found = await client.post("/partners", headers={"Authorization": f"Bearer {member}"},
                                  data={"organisation": "test:fict-kampala-legal",
                                        "serviceTypes": ["medical-care", "psychosocial-support"]})
        chains = await client.post("/referrals", headers={"Authorization": f"Bearer {steward}"},
                                   data={"from": "test:fict-lakeside-rights", "serviceType": "safe-house",
                                         "country": "TZ", "order": "FASTEST_RESPONSE"})
    assert found.status_code == chains.status_code == 200
    assert '<th scope="col" role="columnheader">«Why»</th>' in found.text \
        and '<th scope="col" role="columnheader">«Chain»</th>' in chains.text
    assert "«offers «" in found.text  # the template, then the service type's label, each through gettext
    assert "«service " in chains.text and " takes defenders from Tanzania»" in chains.text  # TZ by its Spanish name
    for text in (found.text, chains.text):
        cells = re.findall(r"<td[^>]*><bdi>(.*?)</bdi></td>", text, re.S)
        for english in ("offers ", "delivers in ", "reaches ", "responds within ", "trust ", "referral"):
            assert not any(re.search(f"(^|[;,|] )(?!«){english}", cell) for cell in cells), english


@pytest.mark.pure
def test_a_csv_keeps_a_number_as_the_answer_holds_it_where_a_terminal_shows_four_figures() -> None:
    """A hand-worked scenario: the CLI's CSV said 6633 km where GraphQL and the pages said 6632.6."""
    from directory.jobs.tables import Column, Table

    table = Table([Column("Km", "#geo+distance"), Column("Trust", "#indicator+trust")])
    table.add(6632.6, 0.59854)
    assert list(csv.reader(table.csv().splitlines()))[2] == ["6632.6", "0.59854"]
    assert table.render(80).splitlines()[2].split() == ["6633", "0.5985"]
