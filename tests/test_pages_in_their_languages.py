"""What a walk in French and Russian found: the pages' words for places, contacts, orders and
currencies, as people write and read them in those languages."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from directory.domain.model import Location, Organisation, Precision
from directory.exchange import demo
from directory.jobs.paths import PathOrder
from directory.store import Store
from directory.web.pages import words
from directory.web.pages.editing_organisation import channel
from directory.web.pages.render import currencies, place_name, typed_value
from directory.web.pages.typed_names import place_codes
from tests.conftest import LiveServer

LOCALES = Path(__file__).parents[1] / "directory" / "web" / "locales"
# a preposition written before a place's name, which the name's gender, number or case must agree
# with ("en Liban" for "au Liban", "в Россия" for "в России"): the catalogues name the place apart
PREPOSITION_BEFORE_PLACE = {"fr": r"(?<!\w)(en|au|aux|de|du|d[\u2019'])\s?%\((place|country|places|countries|name)\)s",
                            "ru": r"(?<!\w)(в|во|из|на|по)\s%\((place|country|places|countries|name)\)s"}


@pytest.mark.pure
@pytest.mark.parametrize("language", sorted(PREPOSITION_BEFORE_PLACE))
def test_no_translation_puts_a_preposition_before_a_places_name(language: str) -> None:
    text = (LOCALES / language / "LC_MESSAGES" / "pages.po").read_text(encoding="utf-8")
    found = [m.group(1) for m in re.finditer(r'^msgstr(?:\[\d\])? "(.*)"$', text, re.M)
             if re.search(PREPOSITION_BEFORE_PLACE[language], m.group(1))]
    assert found == []


@pytest.mark.pure
def test_a_subdivision_is_named_in_the_pages_language_where_iso_codes_or_cldr_names_it() -> None:
    assert place_name("KZ-27", "ru") == "Западно-Казахстанская область"
    assert place_name("RU-BA", "ru") == "Республика Башкортостан"
    assert place_name("KZ-27", "en") == "Batys Qazaqstan oblysy"  # as its source names it
    # iso-codes translates none of Kyrgyzstan's, nor any in Arabic: CLDR's names (a Russian walk
    # read Bishkek in Latin letters, an Arabic one "Central Darfur" and "Khartoum")
    assert place_name("KG-GB", "ru") == "Бишкек"
    assert (place_name("SD-KH", "ar"), place_name("SD-DC", "ar"), place_name("SD-DC", "fr")) == (
        "الخرطوم", "وسط دار فور", "Darfour-Central")
    assert place_name("SD-KH", "en") == "Khartoum"
    # an attacker's read: CLDR keeps codes ISO gave other places since (Iran's provinces, Morocco's
    # regions), and some names are wrong or marked as one of two alike ("²"): none of them is taken
    assert (place_name("IR-07", "ar"), place_name("IR-23", "ar"), place_name("MA-04", "es")) == (
        "Fārs", "Tehrān", "Rabat-Salé-Kénitra")
    assert place_name("GN-FR", "es") == "Fria" and place_name("UG-116", "fr") == "Nakaseke"
    assert place_codes("طهران") != "IR-07"
    from directory.domain import places

    assert not any("²" in name for lang in places.LOCAL_NAMES for name in places.subdivision_names(lang).values())


@pytest.mark.pure
def test_a_subdivision_typed_by_its_name_in_any_language_is_its_code_when_one_is_so_called() -> None:
    """An Arabic walk: "الخرطوم" in a map's places was refused as no code, while "Khartoum" was
    offered as SD-KH. A governorate's title is left out ("عدن" is "محافظة عدن"); a name two
    subdivisions share is left for the question to refuse, naming both, as is one in Latin letters
    (an attacker's read: "Santiago" was taken, silently, as the Dominican province) or less its title."""
    assert place_codes("الخرطوم، محافظة عدن, Антьокия") == "SD-KH, YE-AD, CO-ANT"
    # a name less its title ("عدن" for "محافظة عدن") is often a city's too ("صنعاء": the governorate
    # around the capital, not the capital's own): the question names the codes to choose from
    assert place_codes("صنعاء, عدن") == "صنعاء, عدن"
    # in Latin letters a province's name is often a city's: the question names the codes to choose
    # from, unless the list names its country too (a Spanish walk had every Honduran department refused)
    assert place_codes("Khartoum, Santiago") == "Khartoum, Santiago"
    assert place_codes("Honduras, Francisco Morazán, Atlántida") == "HN, HN-FM, HN-AT"
    assert place_codes("Colombia, Atlántida") == "CO, Atlántida"
    # a list's last two joined by "and" (a Spanish walk: "'Guatemala y El Salvador' is not a code")
    assert place_codes("Honduras, Guatemala y El Salvador") == "HN, GT, SV"
    assert place_codes("Trinidad y Tobago, Bosnia and Herzegovina") == "TT, BA"  # one country's name, whole


@pytest.mark.pure
def test_a_country_typed_by_its_other_names_is_its_code() -> None:
    """A walk typed "Кыргызстан" in the gap map's places and was refused; the home page's search took it."""
    assert place_codes("Кыргызстан, RDC, Republic of Belarus, США, Kyrgyz Republic") == "KG, CD, BY, US, KG"
    assert place_codes("Tunis") == "Tunis"  # a city is no country: left for the question to name TN-11
    assert place_codes("Atlantis") == "Atlantis"  # no place: left for the question to refuse
    assert place_codes("Korea, Корея") == "Korea, Корея"  # both Koreas' names hold it: neither is guessed


@pytest.mark.pure
def test_a_contact_typed_with_its_kind_in_the_pages_languages_is_that_kind() -> None:
    assert channel("телефон: +996 555 123 456") == "phone:+996 555 123 456"
    assert channel("Téléphone : +33 1 23 45 67 89") == "phone:+33 1 23 45 67 89"
    assert channel("correo electrónico: caso@example.org") == "email:caso@example.org"
    assert channel("signal:+00 000") == "signal:+00 000"  # a code as it was
    assert channel("https://example.org/form") == "https://example.org/form"  # a scheme is no kind


@pytest.mark.pure
def test_a_carried_order_is_said_in_words_and_every_order_has_them() -> None:
    assert set(words.ORDERS) == {o.name for o in PathOrder}
    assert typed_value("order", "HIGHEST_TRUST", "en") == "most trusted"
    assert typed_value("order", "FEWEST_HOPS", "fr") not in ("FEWEST_HOPS", "fewest referrals")


@pytest.mark.pure
def test_no_currency_offered_is_a_metal_a_test_or_none() -> None:
    offered = {code for code, _ in currencies("fr")}
    assert not offered & {"XAU", "XPD", "XTS", "XXX", "XBC"}
    assert {"XOF", "XAF", "EUR", "KGS"} <= offered  # the CFA francs are money


@pytest.mark.anyio
async def test_the_gap_map_weighs_by_indicators_chosen_from_a_list(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        form = (await client.get("/maps")).text
        chosen = re.search(r'<select id="gaps-indicators" name="indicators" multiple[^>]*>(.*?)</select>', form, re.S)
        assert chosen is not None
        names = re.findall(r'<option value="([^"]+)">', chosen.group(1))
        assert len(names) >= 2, names
        drawn = await client.post("/maps/gaps", data={"serviceTypes": "legal-aid", "region": "region:Americas",
                                                      "indicators": names[:2]})
    assert drawn.status_code == 200, drawn.text[:500]
    assert all(name in drawn.text for name in names[:2])  # the map says it weighed need by both


@pytest.mark.anyio
async def test_a_service_form_of_a_provider_showing_only_its_country_warns_of_an_address_shown_to_anyone(
        store: Store, live_server: LiveServer) -> None:
    await store.upsert([Organisation("test:osh", "Centre Osh", "local-group",
                                     location=Location(None, None, Precision.COUNTRY, "KG")),
                        Organisation("test:city", "City Centre", "local-group",
                                     location=Location(42.87, 74.59, Precision.LOCALITY, "KG"))], [], [])
    pages = {}
    for record in ("test:osh", "test:city"):
        token = (await store.tokens.create("member", record, "a caseworker"))[1]
        async with httpx.AsyncClient(base_url=live_server.url) as client:
            assert (await client.post("/sign-in", data={"token": token})).status_code == 303
            pages[record] = (await client.get(f"/organisations/{record}/services/new")).text
    warned = "an address to ask in person or by post, shown to anyone, tells anyone where to find it"
    assert warned in pages["test:osh"] and warned not in pages["test:city"]
    # why a service has its status is asked beside its status, not among the texts before it
    form = pages["test:osh"]
    assert form.index('id="e-status"') < form.index('<label for="e-status_reason">Why this status</label>')


@pytest.mark.anyio
async def test_chains_from_an_organisation_that_refers_nobody_say_so_and_lead_its_member_to_add_one(
        store: Store, live_server: LiveServer) -> None:
    """A walk as Front Line Defenders' desk: every question answered "try a wider question", never
    that it records no referral to start a chain from."""
    await demo.load(store)
    _, token = await store.tokens.create("member", "test:front-line-defenders", "desk")
    asked = {"from": "test:front-line-defenders", "serviceType": "psychosocial-support", "country": "LB",
             "group": "journalists", "language": "ar"}
    said = "Front Line Defenders refers people to nobody that you may see"
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        public = (await client.post("/referrals", data=asked)).text
        started = (await client.post("/referrals", data={**asked, "from": "test:fict-andes-network"})).text
        partners = (await client.post("/partners", data={"serviceTypes": "safe-house", "country": "LB"})).text
        assert (await client.post("/sign-in", data={"token": token})).status_code == 303
        form = (await client.get("/referrals")).text
        csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        own = (await client.post("/referrals", data={**asked, "csrf": csrf})).text
        edit = (await client.get("/organisations/test:front-line-defenders/edit")).text
    assert said in public and "/organisations/test:front-line-defenders/edit#add-link" not in public
    assert said in own and 'href="/organisations/test:front-line-defenders/edit#add-link"' in own
    assert "Ask again allowing chains" not in public + own  # longer chains from nobody are none (a walk)
    assert "Ask again without" not in public + own  # nor chains without the group or the language (a walk)
    assert "refers people to nobody" not in started  # a public referral of its own: the answer is elsewhere
    assert "referral links" not in partners and "shown only to members of the network" in partners
    assert '<h3 id="add-link">' in edit  # where the link leads


@pytest.mark.anyio
async def test_a_members_own_organisation_without_services_leads_to_adding_the_first(
        store: Store, live_server: LiveServer) -> None:
    """A walk's new member read "no service that you may see" on its own page, as if hidden from it."""
    await store.upsert([Organisation("test:new", "Ош Group", "local-group",
                                     location=Location(None, None, Precision.COUNTRY, "KG"))], [], [])
    token = (await store.tokens.create("member", "test:new", "desk"))[1]
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        public = (await client.get("/organisations/test:new")).text
        assert (await client.post("/sign-in", data={"token": token})).status_code == 303
        own = (await client.get("/organisations/test:new")).text
    assert "No service that you may see." in public and "Add its first service" not in public
    assert '<a href="/organisations/test:new/services/new">Add its first service</a>' in own
    assert "No service that you may see." not in own


@pytest.mark.pure
@pytest.mark.parametrize(("typed", "language", "named"), [
    ("психологическая помощь", "ru", [["psychosocial-support"]]),  # it named medical care and legal aid
    ("soutien psychologique", "fr", [["psychosocial-support"]]),
    ("релокация", "ru", [["relocation-abroad"], ["relocation-in-country"], ["relocation-regional"]]),
    ("hébergement", "fr", [["safe-house"]]),
    ("Белоруссия", "ru", [["BY"]]),
    # "women defenders" in the feminine, which only women are (an Arabic walk: it named no group)
    ("المدافعات السودان", "ar", [["SD", "women"], ["SS", "women"]]),
])
def test_services_and_countries_are_named_by_the_words_people_also_write(typed: str, language: str,
                                                                          named: list[list[str]]) -> None:
    from directory.domain import places, taxonomy
    from directory.web.pages import suggest
    from directory.web.pages.routes import _choices

    offered = {**_choices(list(taxonomy.BUILT_IN)), "country": [(c, p.name) for c, p in places.countries().items()],
               "language": []}
    assert sorted([f.code for f in found] for found in suggest.suggest(typed, offered, language)) == named


@pytest.mark.pure
@pytest.mark.parametrize("language", ["en", "es", "fr", "ar", "ru"])
def test_every_service_group_and_kind_is_named_by_its_own_label_in_every_language(language: str) -> None:
    """An Arabic walk: the women defenders' label was made only of words every label shares ("women
    defenders of human rights", in the feminine), so typing it, or "women" in Arabic, named no
    group. Every built-in term's label, as each language shows it, names that term; but where its
    one word of its own is another field's word too, a word names the field it names most closely
    ("exile": the service of exile support, not defenders in exile)."""
    from directory.domain import places, taxonomy
    from directory.web.pages import i18n, suggest
    from directory.web.pages.routes import _choices

    offered = {**_choices(list(taxonomy.BUILT_IN)), "country": [(c, p.name) for c, p in places.countries().items()],
               "language": []}
    shown = i18n.translations(language).gettext
    unnamed = [(t.code, shown(t.label)) for t in taxonomy.BUILT_IN
               if not any(f.code == t.code for found in suggest.suggest(shown(t.label), offered, language)
                          for f in found)]
    assert [code for code, _ in unnamed if code != "in-exile"] == []
    assert all(suggest.suggest(label, offered, language) for _, label in unnamed)  # each names something


@pytest.mark.anyio
async def test_an_answers_reasons_are_laid_out_in_the_pages_direction(store: Store, live_server: LiveServer) -> None:
    """A walk in Arabic: a chain's reason ("Voces Libres > Committee to Protect Journalists: formal
    referral agreement...") was set apart as a `<bdi>`, whose direction comes from its first letter
    outside the isolated names: there was none, and the Arabic sentence was laid out left to right.
    A reason is a sentence of the page's language: it takes the page's direction."""
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        for path, asked in (("/referrals", {"from": "Voces Libres Press Association", "serviceType": "emergency-grant",
                                            "country": "HN"}),
                            ("/partners", {"serviceTypes": "legal-aid", "country": "KE"})):
            response = await client.post(f"{path}?lang=ar", data=asked)
            answer = response.text.split('id="answer"')[1]
            reasons = re.findall(r'<td role="cell" data-label="[^"]*">(.*?)</td>', answer)
            sentences = [r for r in reasons if "\u2068" in r]  # a reason: its names set apart
            assert sentences, path
            assert not [r for r in sentences if r.startswith("<bdi>")], path


@pytest.mark.anyio
async def test_a_russian_walk_reads_free_any_and_turkmen_in_its_words(store: Store, live_server: LiveServer) -> None:
    """A Russian walk read "Стоимость: free" on every organisation page, «Услуга: Любой» (a feminine
    noun), and found no Turkmen among the languages to ask in."""
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url, headers={"Accept-Language": "ru"}) as client:
        page = (await client.get("/organisations/test:front-line-defenders")).text
        assert "<dt>Стоимость</dt><dd>Бесплатно</dd>" in page and ">free<" not in page
        home = (await client.get("/")).text
        assert '<option value="">Не важно</option>' in home and "Любой" not in home  # noqa: RUF001
        joining = (await client.get("/join")).text
        assert 'value="tk"' in joining
