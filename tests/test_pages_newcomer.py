"""What a newcomer's walk through the pages tripped on (issue 17): an organisation asked for by its
name, required choices that cannot be left on "Any", codes shown as names, a long answer that says
it is cut, a sign-in that lands where the work starts, a place shown no more precisely than it is known."""

from __future__ import annotations

import csv
import html
import io
import re
import unicodedata
from datetime import date, timedelta

import httpx
import pytest

from directory.domain.model import (
    Coverage,
    Location,
    Organisation,
    Precision,
    Presence,
    Service,
    Status,
    Visibility,
    Window,
)
from directory.domain.viewer import STEWARD
from directory.exchange import demo
from directory.jobs.gap_cells import Cell, Flag
from directory.jobs.gaps import GapMatrix, hide_unseen_funding
from directory.store import Store, named_as_written
from directory.web.pages.jobs import GAP_ROWS
from directory.web.pages.typed_names import place_codes
from tests.conftest import LiveServer
from tests.helpers import load, org, service

pytestmark = pytest.mark.anyio


async def test_an_organisation_is_asked_for_by_its_name_and_a_name_of_several_asks_which(
        store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        by_name = await client.post("/referrals", data={"from": "front line defenders",
                                                        "serviceType": "safe-house", "country": "TZ"})
        assert by_name.status_code == 200 and 'name="from" value="Front Line Defenders"' in by_name.text
        assert "Which organisation did you mean" not in by_name.text
        # or by its id without the directory's prefix, as the CLI takes it; a hidden one's reads as missing
        bare = await client.post("/referrals", data={"from": "iba-hri", "serviceType": "safe-house", "country": "TZ"})
        assert bare.status_code == 200
        assert 'name="from" value="International Bar Association&#39;s Human Rights Institute"' in bare.text
        hidden_id = await client.post("/referrals", data={"from": "fict-kampala-legal", "serviceType": "safe-house",
                                                          "country": "TZ"})
        nobody = await client.post("/referrals", data={"from": "fict-nobody-here", "serviceType": "safe-house",
                                                       "country": "TZ"})
        assert hidden_id.status_code == nobody.status_code == 400
        assert hidden_id.text.replace("fict-kampala-legal", "X") == nobody.text.replace("fict-nobody-here", "X")
        # a network-only organisation's name finds nothing for the public: no answer, no list, no id
        hidden = await client.post("/referrals", data={"from": "Kampala Justice Clinic (fictional)",
                                                       "serviceType": "safe-house", "country": "TZ"})
        assert hidden.status_code == 400 and "fict-kampala-legal" not in hidden.text
        several = await client.post("/referrals", data={"from": "fictional", "serviceType": "safe-house",
                                                        "country": "TZ"})
        assert "Which organisation did you mean" in several.text
        # each choice posts the question again with it chosen: nothing of the question in an address
        choices = re.findall(r'<li><form method="post" action="/referrals#answer">(.*?)<bdi>([^<]+)</bdi></button>'
                             r'</form></li>', several.text)
        assert len(choices) >= 2 and all("(fictional)" in name for _, name in choices)
        assert "/referrals?" not in several.text
        fields = [(k, html.unescape(v)) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', choices[0][0])]
        assert ("serviceType", "safe-house") in fields and ("country", "TZ") in fields
        chosen = await client.post("/referrals", data=dict(fields))
        assert chosen.status_code == 200 and 'id="answer"' in chosen.text and "(fictional)" in chosen.text
        # choosing keeps the rest of the question: the service and the country stay chosen
        assert re.search(r'<option value="safe-house" selected>', chosen.text)
        assert re.search(r'<option value="TZ" selected>', chosen.text)
        # an id still works
        by_id = await client.post("/referrals", data={"from": "test:front-line-defenders", "serviceType": "safe-house",
                                                      "country": "TZ"})
        assert by_id.status_code == 200 and "Which organisation" not in by_id.text


async def test_a_name_that_only_resembles_one_organisation_is_offered_never_answered_for(
        store: Store, live_server: LiveServer) -> None:
    """A Spanish walk typed "Fundación Ford" and got partners, chains and a donor's gaps for Front Line
    Defenders (found by a typo of "foundation" and "for" in its formal name), said only by the form's
    value, off the phone's screen. A name that finds one organisation only through typos or its
    description is offered to be chosen; one whose words are the name's, whole or by their start, is taken."""
    await demo.load(store)
    questions = {"/partners": {"organisation": "Fundación Ford", "serviceTypes": "legal-aid"},
                 "/referrals": {"from": "Fundación Ford", "serviceType": "legal-aid", "country": "HN"},
                 "/gaps": {"donor": "Fundación Ford", "region": "013"}}
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
        for path, asked in questions.items():
            offered = await client.post(path, data=asked, headers={"Accept-Language": "es"})
            assert "¿Se refiere a esta organización? Elíjala y vuelva a preguntar." in offered.text, path
            assert 'id="answer"' not in offered.text, path
            assert re.findall(r"<bdi>([^<]+)</bdi></button>", offered.text) == ["Front Line Defenders"], path
        maps = await client.get("/maps/referrals", params={"from": "Fundación Ford", "serviceType": "legal-aid",
                                                           "country": "HN"})
        assert maps.status_code == 400 and "Did you mean this organisation?" in maps.text
        typo = await client.post("/referrals", data={"from": "Front Lien Defenders", "serviceType": "legal-aid",
                                                     "country": "HN"})
        assert "Did you mean this organisation?" in typo.text and 'id="answer"' not in typo.text
        started = await client.post("/referrals", data={"from": "front line defend", "serviceType": "legal-aid",
                                                       "country": "HN"})
        assert 'id="answer"' in started.text and 'name="from" value="Front Line Defenders"' in started.text


@pytest.mark.pure
def test_a_name_is_as_written_when_each_word_is_a_word_of_it_or_of_an_alias_whole_or_by_its_start() -> None:
    formal = ["The International Foundation for the Protection of Human Rights Defenders"]
    assert named_as_written("front line", "Front Line Defenders", formal)
    assert named_as_written("Frontline", "Front Line Defenders", [])  # two words joined, as search takes them
    assert named_as_written("international foundation", "Front Line Defenders", formal)
    assert named_as_written("Défenseurs", "Défenseurs du Sud", [])
    assert not named_as_written("Fundación Ford", "Front Line Defenders", formal)  # typos, and "for" for "ford"
    assert not named_as_written("Front Lien", "Front Line Defenders", [])
    assert not named_as_written("de", "Defenders of the South", [])  # a short word is a word, not a start
    assert not named_as_written("lawyers", "Front Line Defenders", [])  # a description's word names nobody
    assert not named_as_written("", "Front Line Defenders", [])


async def test_a_partner_serving_named_defenders_only_says_whom_by_their_names(store: Store,
                                                                               live_server: LiveServer) -> None:
    """A Spanish walk asked for psychosocial care and legal aid in Honduras and got two partners, one
    for women defenders only and one for journalists only, said nowhere but on their own pages."""
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
        asked = {"serviceTypes": ["psychosocial-support", "legal-aid"], "country": "HN"}
        english = (await client.post("/partners", data=asked)).text
        spanish = (await client.post("/partners", data=asked, headers={"Accept-Language": "es"})).text
    assert "only for Women defenders" in english and "only for Journalists and media workers" in english
    assert "solo para " in spanish and "only for" not in spanish and "only for women" not in english


async def test_a_service_no_partner_offers_leads_to_its_gap(store: Store, live_server: LiveServer) -> None:
    """The partners' note said the coverage gaps tell where a service is missing, with no way there
    (Spanish and Arabic walks): the gaps question for those services in the country asked."""
    await load(store, [org("a", **{"#country+code": "HN"})],
               [service("a-legal", "a", **{"#country+code+present": "HN"})])
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        answer = (await client.post("/partners", data={"serviceTypes": ["legal-aid", "medical-care"],
                                                        "country": "HN"})).text
    assert "None of these partners offers Medical care" in answer
    [(fields, words)] = _next_questions(answer, "/gaps#answer")
    assert fields == {"country": "HN", "serviceTypes": "medical-care"}
    assert words.startswith("How the gap scores in Honduras")


async def test_a_group_not_listed_asking_for_chains_is_offered_to_ask_to_be_listed(
        store: Store, live_server: LiveServer) -> None:
    """An Arabic walk typed its own group, not listed, as where chains start from: told chains start
    from a listed organisation, with no way to be listed (partners offered one)."""
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        answer = await client.post("/referrals", data={"from": "مجموعة نساء بيروت", "serviceType": "legal-aid",
                                                       "country": "LB"}, headers={"Accept-Language": "ar"})
    assert answer.status_code == 400
    problem = answer.text.split('role="alert"', 1)[1].split("</div>", 1)[0]
    assert '<a href="/join">' in problem


async def test_an_organisations_page_is_found_by_its_id_without_the_directorys_part(
        store: Store, live_server: LiveServer) -> None:
    """/organisations/defenddefenders was a bare 404 where the job pages and the CLI take that id."""
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        bare = await client.get("/organisations/defenddefenders")
        assert bare.status_code == 303
        assert bare.headers["location"] == f"/organisations/{store.directory_id}:defenddefenders"
        assert (await client.get(bare.headers["location"])).status_code == 200
        hidden, missing = (await client.get("/organisations/fict-kampala-legal"),
                           await client.get("/organisations/fict-nobody-here"))
        assert hidden.status_code == missing.status_code == 404 and hidden.content == missing.content


async def test_a_service_with_no_way_to_ask_points_only_to_what_the_viewer_may_see(
        store: Store, live_server: LiveServer) -> None:
    """The public was told to try an organisation's secure contact, which only members see."""
    await store.upsert([Organisation("test:fund", "Open Fund", "international-ngo", website="https://fund.example.org",
                                     contact_channels=["signal:+504 9999 0000"])],
                       [Service("test:grant", "test:fund", "Emergency grants", "emergency-grant")], [])
    _, member = await store.tokens.create("member", "test:fund", "desk")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        public = (await client.get("/organisations/test:fund")).text
        assert "try the organisation's website, or ask" in public and "secure contact" not in public
        signed = (await client.get("/organisations/test:fund", headers={"Authorization": f"Bearer {member}"})).text
        assert "try the organisation's secure contact or website" in signed


async def test_results_say_which_page_they_are_lead_back_and_are_offered_in_each_language(
        store: Store, live_server: LiveServer) -> None:
    """The second page of results did not say which it was nor lead back; switching the language lost them."""
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        first = (await client.post("/", data={"kind": ""})).text
        total = int(re.search(r"Organisations found: (\d+)", first).group(1))
        pages = -(-total // 20)
        assert pages > 1 and f"Page 1 of {pages}" in first and "Back to the first page" not in first
        nexts = [f for f in re.findall(r'<form method="post" action="/#found">(.*?)</form>', first, re.S)
                 if "Next page" in f]
        carried = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', nexts[0]))
        assert carried["page"] == "2" and carried["after"]
        second = (await client.post("/", data=carried)).text
        assert f"Page 2 of {pages}" in second and "Back to the first page" in second
        # the same page in another language: a form posting what was asked, never an address holding it
        again = re.search(r'<form method="post" action="/#found" class="languages-again">(.*?)</form>', second, re.S)
        assert again is not None and 'formaction="/?lang=es#found"' in again.group(1)
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', again.group(1)))
        assert fields["after"] == carried["after"] and fields["page"] == "2"
        spanish = (await client.post("/?lang=es", data=fields)).text
        assert f"Página 2 de {pages}" in spanish


async def test_the_taxonomy_leads_to_who_offers_each_term_and_a_donors_gaps_start_from_its_funding(
        store: Store, live_server: LiveServer) -> None:
    await store.upsert([Organisation("test:fund", "Open Fund", "donor"), Organisation("test:group", "A Group",
                                                                                        "local-group")], [], [])
    _, donor = await store.tokens.create("member", "test:fund", "desk")
    _, group = await store.tokens.create("member", "test:group", "desk")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        terms = (await client.get("/taxonomy")).text
        # each link named with its term for a screen reader's list of links (a walk heard 29 alike)
        assert ('<a href="/?serviceType=legal-aid#browse" aria-label="Find who offers it: Legal aid">'
                'Find who offers it</a>') in terms
        assert '<a href="/?group=journalists#browse" aria-label="Find who serves them: Journalists' in terms
        filled = (await client.get("/?serviceType=legal-aid")).text
        assert '<option value="legal-aid" selected>' in filled
        # a donor's member opens the gaps set against its own funding; any other member's, not
        as_donor = (await client.get("/gaps", headers={"Authorization": f"Bearer {donor}"})).text
        assert re.search(r'name="donor"[^>]*value="Open Fund"', as_donor), as_donor[-3000:]
        as_group = (await client.get("/gaps", headers={"Authorization": f"Bearer {group}"})).text
        assert "A Group" not in as_group


async def test_a_label_a_steward_gave_a_term_is_text_on_every_page(store: Store, live_server: LiveServer) -> None:
    """An attacker's read: a term's label went through `_()` as the built-in ones do, which takes
    its text as markup and formats it with `%`: "<b>" was drawn bold, "100%" failed the page."""
    await store.add_term("organisation-kind", "atk-kind", "<b>Bold</b> 100% kind")
    await store.upsert([Organisation("test:x", "X Group", "atk-kind")], [], [])
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        for page in (await client.get("/taxonomy"), await client.get("/organisations/test:x"),
                     await client.post("/", data={"kind": "atk-kind"}),
                     await client.post("/", data={"kind": "atk-kind", "country": "CO"})):
            assert page.status_code == 200, page.text[-500:]
            assert "<b>Bold</b>" not in page.text and "&lt;b&gt;Bold&lt;/b&gt; 100% kind" in page.text


async def test_a_name_search_that_finds_nobody_offers_its_words_less_one_that_find_someone(
        store: Store, live_server: LiveServer) -> None:
    """"DefendDefenders Kenya" found nobody (a newcomer's walk): every word must match a name."""
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        empty = (await client.post("/", data={"text": "DefendDefenders Kenya"})).text
        # not "goes by that name" over what some of its words find (a walk read that it did not exist)
        assert "None that you may see goes by all of these words; some of them find organisations, below." in empty
        offered = [(fields, words) for fields, words in _forms(empty) if words.startswith("Organisations named")]
        assert [fields for fields, _ in offered] == [{"text": "DefendDefenders"}]  # not "Kenya": no name holds it
        assert re.fullmatch(r"Organisations named “DefendDefenders”: \d+", offered[0][1])
        assert "DefendDefenders" in (await client.post("/", data=offered[0][0])).text.split('id="found"')[1]
        # a hidden organisation's name finds nothing, with a word or without
        # a country's name finds no organisation: what it names is offered, never "some words find ... below"
        place = (await client.post("/", data={"text": "honduras"}, headers={"Accept-Language": "es"})).text
        assert "sus palabras nombran opciones que se ofrecen abajo" in place and "algunas de ellas" not in place
        assert 'class="suggested"' in place and '<ol class="results">' not in place  # no empty list read out
        hidden = (await client.post("/", data={"text": "Kampala Justice Clinic zzzz"})).text
        assert not [w for _, w in _forms(hidden) if w.startswith("Organisations named")]


async def test_required_choices_cannot_be_left_on_any_and_codes_read_as_names(store: Store,
                                                                             live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        form = (await client.get("/referrals")).text
        for name in ("serviceType", "country"):
            select = re.search(rf'<select id="f-{name}" name="{name}"([^>]*)>\s*<option value="">([^<]+)<', form)
            assert select is not None and "required" in select.group(1) and select.group(2) == "Choose one"
        optional = (await client.get("/gaps")).text
        assert re.search(r'<select id="f-group" name="group">\s*<option value="">Any<', optional)
        gaps = await client.post("/gaps", data={"region": "region:Americas"})
        assert gaps.status_code == 200 and re.search(r"The worst 200 of [\d,]+ are shown here", gaps.text)
        cells = re.findall(r"<tr[^>]*><td[^>]*><bdi>([^<]+)</bdi></td><td[^>]*><bdi>([^<]+)</bdi></td>", gaps.text)
        assert cells and all(len(place) > 2 for place, _ in cells)  # names, not "HN"
        assert all(" " in service or service.istitle() for _, service in cells), cells[:20]  # labels, not codes
        # each flag is said as the cell says it, with what it rests on; none claims more than the viewer sees
        legend = gaps.text[gaps.text.index("What the flags mean"):]
        assert "<dt>No provider you may see</dt><dd>none of the organisations you may see" in legend
        assert "funders often keep their grants hidden" in legend and "No provider at all" not in gaps.text


async def test_signing_in_lands_where_the_work_starts(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    _, member = await store.tokens.create("member", "test:fict-kampala-legal", "clinic")
    _, steward = await store.tokens.create("steward", None, "desk")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        signed = await client.post("/sign-in", data={"token": member})
        assert signed.status_code == 303 and signed.headers["location"] == "/organisations/test:fict-kampala-legal"
        client.cookies.clear()
        signed = await client.post("/sign-in", data={"token": steward})
        assert signed.status_code == 303 and signed.headers["location"] == "/stewards"


async def test_a_place_known_only_by_its_country_is_shown_as_a_country(store: Store,
                                                                       live_server: LiveServer) -> None:
    await store.upsert([Organisation("test:only-country", "Only Country", "local-group",
                                     location=Location(None, None, Precision.LOCALITY, "HN", None))], [], [])
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        shown = (await client.get("/organisations/test:only-country")).text
        listed = (await client.post("/", data={"country": "HN"})).text.split('id="found"', 1)[1]
    assert "on the map: country" in shown and "town or city" not in shown
    assert "Only Country" in listed and "on the map: country" in listed and "town or city" not in listed


async def test_choices_are_in_the_order_of_the_names_the_page_shows(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        home = (await client.get("/?lang=es")).text
    for select in ("f-country", "f-serviceType", "f-language"):
        block = re.search(rf'<select id="{select}".*?</select>', home, re.S)
        assert block is not None
        listed = block.group(0).split("</optgroup>")[-1]  # a place list's world regions first, as a group
        shown = [html.unescape(t) for t in re.findall(r'<option value="[^"]+"[^>]*>([^<]+)</option>', listed)]
        assert len(shown) > 5 and shown == sorted(shown, key=_plain), (select, shown[:10])
    assert "Alemania" in home and "Germany" not in home


def _plain(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c))


async def test_world_regions_are_named_in_the_pages_language(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        spanish = (await client.get("/organisations/test:front-line-defenders?lang=es")).text
    assert "Mundo" in spanish and ">World<" not in spanish and "World," not in spanish


async def test_saved_is_said_only_to_whoever_may_have_saved(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        page = (await client.get("/organisations/test:front-line-defenders?saved=1")).text
    assert "Saved." not in page  # a link cannot make the public page claim a change


async def test_a_region_is_chosen_by_name_or_typed_as_people_say_it(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        form = (await client.get("/gaps?lang=es")).text
        assert '<option value="019">América</option>' in form and '<option value="central-america">' in form
        for said in ("Americas", "central america", "019"):
            answer = await client.post("/gaps", data={"region": said, "serviceTypes": "emergency-grant"})
            assert answer.status_code == 200 and "Honduras" in answer.text, said


def _suggested(text: str) -> list[tuple[dict[str, str], str]]:
    """Each filter form the home page offers for the words typed: its hidden fields and its button's words."""
    block = re.search(r'<div class="suggested">(.*?)</div>', text, re.S)
    return _forms(block.group(1)) if block else []


def _next_questions(text: str, action: str) -> list[tuple[dict[str, str], str]]:
    """Each form posting to `action` on an answer: its hidden fields and its button's words."""
    forms = re.findall(rf'<form method="post" action="{re.escape(action)}">(.*?)</form>', text, re.S)
    return [(dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', f)),
             html.unescape(re.sub(r"<[^>]+>", "", re.search(r"<button[^>]*>(.*?)</button>", f, re.S).group(1))))
            for f in forms]


def _forms(text: str) -> list[tuple[dict[str, str], str]]:
    """Each form posting to the home page's results: its hidden fields and its button's words."""
    return _next_questions(text, "/#found")


async def test_words_typed_into_the_name_box_that_name_filters_are_offered_as_them(
        store: Store, live_server: LiveServer) -> None:
    """A newcomer types what they need into the first box: "legal aid kenya" names no organisation,
    but a service and a country the browse form offers; the page offers them, one click away."""
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        typed = await client.post("/", data={"text": "legal aid kenya"})
        assert typed.status_code == 200
        [(fields, words)] = [s for s in _suggested(typed.text) if s[0].get("country")]
        assert fields == {"serviceType": "legal-aid", "country": "KE"}
        assert words == "Service: Legal aid; Country: Kenya"
        browsed = await client.post("/", data={"csrf": "", **fields})
        found = re.search(r"Organisations found: (\d+)", browsed.text)
        assert found is not None and int(found.group(1)) > 0 and "Legal aid" in browsed.text

        several = _suggested((await client.post("/", data={"text": "relocation kenya"})).text)
        assert sorted(f["serviceType"] for f, _ in several) == [
            "relocation-abroad", "relocation-in-country", "relocation-regional"]  # each, in Kenya
        assert all(f["country"] == "KE" and set(f) == {"serviceType", "country"} for f, _ in several)
        plural = _suggested((await client.post("/", data={"text": "Colombian lawyers"})).text)
        assert plural[0][0] == {"country": "CO", "group": "lawyers-judges"}
        for name in ("Front Line Defenders", "human rights defenders", "zzzz"):  # a name, or words every choice shares
            assert _suggested((await client.post("/", data={"text": name})).text) == [], name

        spanish = await client.post("/", data={"text": "asistencia jurídica"}, headers={"Accept-Language": "es"})
        assert _suggested(spanish.text)[0] == ({"serviceType": "legal-aid"}, "Servicio: Asistencia jurídica")
        arabic = await client.post("/", data={"text": "مساعدة قانونية كينيا"}, headers={"Accept-Language": "ar"})
        # Kenya, not Kinyarwanda by its start
        assert [f for f, _ in _suggested(arabic.text)] == [{"serviceType": "legal-aid", "country": "KE"}]
        language = await client.post("/", data={"text": "español"}, headers={"Accept-Language": "es"})
        assert [f for f, _ in _suggested(language.text)] == [{"language": "es"}]  # not Spain as well
        assert "None that you may see goes by that name" in (await client.post("/", data={"text": "zzzz"})).text
        # a country by another name than the form shows (its official or ISO name, in the page's language)
        congo = await client.post("/", data={"text": "aide juridique République démocratique du Congo"},
                                  headers={"Accept-Language": "fr"})
        assert [f for f, _ in _suggested(congo.text)] == [{"serviceType": "legal-aid", "country": "CD"}]
        kyrgyz = await client.post("/", data={"text": "юридическая помощь кыргызстан"},
                                   headers={"Accept-Language": "ru"})
        assert [f for f, _ in _suggested(kyrgyz.text)] == [{"serviceType": "legal-aid", "country": "KG"}]
        # ... less closely than the words the form shows: a kind of organisation, not the Russian Federation
        assert [f for f, _ in _suggested((await client.post("/", data={"text": "federation"})).text)] == [
            {"kind": "international-federation"}]


async def test_a_referral_or_partner_question_nothing_answers_offers_who_provides_it_there(
        store: Store, live_server: LiveServer) -> None:
    """No chain of referrals from Front Line Defenders reaches a safe house in Tanzania that the
    public may see: the empty answer offers the next question, who offers one there at all."""
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        empty = await client.post("/referrals", data={"from": "front line defenders", "serviceType": "legal-aid",
                                                      "country": "TZ"})
        assert "Nothing that you may see answers this" in empty.text, empty.text
        assert "What the columns count" not in empty.text  # no column to explain
        [(fields, words)] = _forms(empty.text)
        assert fields == {"serviceType": "legal-aid", "country": "TZ"}
        assert words == "Every organisation you may see that offers Legal aid in Tanzania"
        browsed = await client.post("/", data=fields)
        assert re.search(r"Organisations found: \d+", browsed.text)



async def test_an_empty_chain_answer_offers_longer_chains_and_where_nobody_offers_it_the_gap(
        store: Store, live_server: LiveServer) -> None:
    """A member's empty answer had no next step where nobody it may see offers the service there (a
    newcomer's walk): it offers chains as long as they may be, unless those were asked, and the gap
    question for that place and service, which answers."""
    await demo.load(store)
    _, member = await store.tokens.create("member", "test:fict-lakeside-rights", "desk")
    asked = {"serviceType": "safe-house", "country": "AQ"}
    async with httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {member}"}) as client:
        empty = await client.post("/referrals", data=asked)
        assert "Nothing that you may see answers this" in empty.text and not _forms(empty.text)
        [(longer, words)] = _next_questions(empty.text, "/referrals#answer")
        assert longer["maxHops"] == "6" and longer["serviceType"] == "safe-house" and "up to 6 referrals" in words
        [(gap, words)] = _next_questions(empty.text, "/gaps#answer")
        assert {k: gap[k] for k in ("country", "serviceTypes")} == {"country": "AQ", "serviceTypes": "safe-house"}
        assert words.startswith("Nobody you may see offers this in Antarctica")
        answered = await client.post("/gaps", data=gap)
        assert answered.status_code == 200 and "<tbody " in answered.text and "Antarctica" in answered.text
        longest = await client.post("/referrals", data={**asked, "maxHops": "6"})
        assert not _next_questions(longest.text, "/referrals#answer")
        # where someone offers it, the browse form is the next question, not the gap
        offered = await client.post("/referrals", data={"serviceType": "legal-aid", "country": "TZ"})
        if "Nothing that you may see answers this" in offered.text:
            assert _forms(offered.text) and not _next_questions(offered.text, "/gaps#answer")


async def test_referral_chains_say_what_their_columns_count_and_what_an_unknown_counted_as(
        store: Store, live_server: LiveServer) -> None:
    """"Response h 72" read as a fact where a referral's time was not recorded: the columns are
    explained under the chains, as partners' and gaps' are, with what an unknown counts as."""
    await demo.load(store)
    _, steward = await store.tokens.create("steward", None, "desk")
    async with httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {steward}"}) as client:
        chains = await client.post("/referrals", data={"from": "test:fict-lakeside-rights",
                                                       "serviceType": "safe-house", "country": "TZ"})
        spanish = await client.post("/referrals", data={"from": "test:fict-lakeside-rights",
                                                        "serviceType": "safe-house", "country": "TZ"},
                                    headers={"Accept-Language": "es"})
    assert "<tbody " in chains.text and "What the columns count" in chains.text
    assert "one not recorded counts as 72 (the reasons say which)" in html.unescape(chains.text)
    assert "uno no registrado cuenta como 72" in html.unescape(spanish.text)
    assert "una no registrada cuenta como 0,5" in html.unescape(spanish.text)  # as Spanish writes it


async def test_where_chains_start_is_required_of_anyone_without_an_organisation(store: Store,
                                                                                live_server: LiveServer) -> None:
    """Chains start from a member's own organisation when none is named: for the public the field is
    required, as the refusal says; a member may leave it empty."""
    await demo.load(store)
    _, member = await store.tokens.create("member", "test:fict-lakeside-rights", "desk")
    box = re.compile(r'<input id="f-from" name="from"[^>]*>')
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        public = box.search((await client.get("/referrals")).text)
        signed = box.search((await client.get("/referrals", headers={"Authorization": f"Bearer {member}"})).text)
    assert public is not None and " required" in public.group(0)
    assert signed is not None and " required" not in signed.group(0)
    # left empty by someone not signed in: what to do, not "is required" alone (an Arabic walk)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        refused = html.unescape((await client.post("/referrals", data={"serviceType": "legal-aid"})).text)
    assert "is required" in refused and "Chains start from an organisation listed here" in refused
    assert '<a href="/join">Ask to be listed</a>' in refused


async def test_an_empty_answer_offers_browsing_each_service_asked_only_where_some_organisation_offers_it(
        store: Store, live_server: LiveServer) -> None:
    """Partners for a safe house and legal aid in Tanzania who speak Georgian: none. The way out is the
    browse form for each service asked, not the first only, and only where the viewer may see someone
    offering it: the public sees no safe house there (Harbour House is restricted), so none is offered."""
    await demo.load(store)
    _, steward = await store.tokens.create("steward", None, "desk")
    asked = {"serviceTypes": ["safe-house", "legal-aid"], "country": "TZ", "language": "ka"}
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        public = await client.post("/partners", data=asked)
        assert "Nothing that you may see answers this" in public.text
        assert _forms(public.text) == [({"serviceType": "legal-aid", "country": "TZ"},
                                        "Every organisation you may see that offers Legal aid in Tanzania")]
        signed = await client.post("/partners", data=asked, headers={"Authorization": f"Bearer {steward}"})
        assert [fields for fields, _ in _forms(signed.text)] == [{"serviceType": "safe-house", "country": "TZ"},
                                                               {"serviceType": "legal-aid", "country": "TZ"}]
        hint = "shown only to members of the network"  # said to every anonymous empty answer, hidden or not
        assert hint in public.text and 'action="/sign-in"' in public.text.split(hint)[1][:300]  # the question kept
        assert hint not in signed.text


async def test_funding_no_row_may_see_is_said_once_not_on_every_row(store: Store, live_server: LiveServer) -> None:
    """Anonymous sees no grant reaching a provider in East Africa: every row with a provider would say
    so, which tells nothing row by row; the page says it once. A steward, who sees funding, keeps
    the flag on the rows it marks out."""
    await demo.load(store)
    _, steward = await store.tokens.create("steward", None, "desk")
    flagged = "<bdi>No funding you may see reaches a provider</bdi>"
    once = "No funding you may see reaches any provider in this answer"
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        public = (await client.post("/gaps", data={"region": "014"})).text
        assert once in public and flagged not in public
        # what the need column rests on, under the answer
        assert re.search(r"Need from defender-risk: \d+ places, 2026; source of the figures: Illustrative demo value, "
                         r"not a measurement\.", public), public
        assert "<bdi>No provider you may see</bdi>" in public  # the other flags stay on their rows
        signed = await client.post("/sign-in", data={"token": steward})
        assert signed.status_code == 303
        csrf = re.search(r'name="csrf" value="([0-9a-f]{32})"', (await client.get("/gaps")).text)
        assert csrf is not None
        seen = (await client.post("/gaps", data={"region": "014", "serviceTypes": "legal-aid",
                                                 "csrf": csrf.group(1)})).text
        assert "Sign out" in seen and once not in seen and flagged in seen  # some providers are funded
        assert "members of the network may see more providers" not in seen  # the public's caveat, not a steward's
        # the download as the page: a spreadsheet passed around read "unfunded" on every row as a fact
        steward_csv = (await client.post("/gaps.csv", data={"region": "014", "serviceTypes": "legal-aid",
                                                            "csrf": csrf.group(1)})).text
        assert "unfunded" in steward_csv
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        download = await client.post("/gaps.csv", data={"region": "014"})
        # a byte order mark, so a spreadsheet reads the names in the page's language as UTF-8
        assert download.content.startswith("\ufeffPlace,".encode())
        rows = download.text.splitlines()[2:]
        assert rows and not [r for r in rows if "unfunded" in r] and [r for r in rows if "no_provider" in r]


async def test_a_browse_that_finds_nobody_offers_each_filter_let_go_the_gap_and_signing_in(
        store: Store, live_server: LiveServer) -> None:
    """Safe house and Kenya found nobody for the public, and the page said only "try fewer filters"
    (a newcomer's walk): a local group read that no safe house exists. It offers the same browse
    without each filter that then finds someone, the gap question for that place and service, and,
    to the public, that many organisations are shown only to members, with a way to sign in."""
    await demo.load(store)
    asked = {"serviceType": "safe-house", "country": "KE"}
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        empty = (await client.post("/", data=asked)).text
        assert "None that you may see. Try fewer filters." in empty
        offered = [(rest, words) for rest, words in _forms(empty) if words != "Search"]  # not the name's form
        assert offered and all(words.startswith("Ask again without") for _, words in offered)
        assert ({"country": "KE"}, "Ask again without “Service: Safe house”") in offered
        for rest, _ in offered:  # each leads somewhere
            assert "Try fewer filters" not in (await client.post("/", data=rest)).text
        [(gap, words)] = _next_questions(empty, "/gaps#answer")
        assert {k: gap[k] for k in ("country", "serviceTypes")} == {"country": "KE", "serviceTypes": "safe-house"}
        assert words.startswith("Nobody you may see offers this in Kenya")
        assert "shown only to members of the network" in empty
        [(carried, words)] = _next_questions(empty, "/sign-in")
        assert words == "Sign in, then ask this again" and carried["then"] == "/"
        assert '<input type="hidden" name="carried:serviceType" value="safe-house">' in empty
        found = (await client.post("/", data={"country": "KE"})).text
        assert not [w for _, w in _forms(found) if w.startswith("Ask again")] and "shown only to members" not in found
    _, member = await store.tokens.create("member", "test:fict-lakeside-rights", "desk")
    async with httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {member}"}) as client:
        assert "shown only to members" not in (await client.post("/", data=asked)).text


def test_funding_unseen_is_decided_over_every_cell_not_the_worst_the_page_shows() -> None:
    # an attacker's read: the page decided from its worst 200 rows, the CSV from all of them, so the
    # page said "here or in the CSV" where the CSV kept the flag
    unfunded, no_provider = [Flag.SINGLE_PROVIDER, Flag.UNFUNDED], [Flag.NO_PROVIDER, Flag.UNFUNDED]
    cells = [Cell(f"C{i}", "legal-aid", flags=list(unfunded)) for i in range(GAP_ROWS)]
    funded_below = GapMatrix([*cells, Cell("Z", "legal-aid", flags=[Flag.SINGLE_PROVIDER])], [])
    assert not hide_unseen_funding(funded_below) and all(Flag.UNFUNDED in c.flags for c in cells)
    nowhere = GapMatrix([Cell("A", "legal-aid", flags=list(unfunded)), Cell("B", "legal-aid", flags=no_provider)], [])
    assert hide_unseen_funding(nowhere) and [c.flags for c in nowhere.cells] == [[Flag.SINGLE_PROVIDER],
                                                                                   [Flag.NO_PROVIDER]]


async def test_the_maps_form_asks_a_language_by_its_name(store: Store, live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        form = (await client.get("/maps")).text
        spanish = (await client.get("/maps", headers={"Accept-Language": "es"})).text
    chosen = re.search(r'<select id="referrals-language" name="language">(.*?)</select>', form, re.S)
    assert chosen is not None and '<option value="sw">Swahili</option>' in chosen.group(1)
    assert "Language (code)" not in form and '<option value="sw">suajili</option>' in spanish
    # and a currency by its name, not typed as an ISO code (a walk typed one the map did not know)
    currency = re.search(r'<select id="funding-currency" name="currency">(.*?)</select>', spanish, re.S)
    assert currency is not None and '<option value="COP">peso colombiano (COP)</option>' in currency.group(1)
    assert "Currency (ISO code)" not in form and '<label for="funding-currency">Currency</label>' in form


async def test_the_maps_take_countries_by_their_names_in_the_pages_languages(store: Store,
                                                                           live_server: LiveServer) -> None:
    """A walk typed "Kenia" where the gap map asks for places and was refused, with no code to
    try: a country typed by its name, in any of the pages' languages, is its code."""
    assert place_codes("Kenia, CO-ANT, Ouganda") == "KE, CO-ANT, UG"
    assert place_codes("Кения,كينيا") == "KE, KE" and place_codes("co") == "co"  # a code as typed
    assert place_codes("Atlantis") == "Atlantis"  # for the question to refuse, naming it
    # the comma an Arabic keyboard types, as the form's own hint writes it (an Arabic walk was refused)
    assert place_codes("بيرو، CO، CO-ANT") == "PE, CO, CO-ANT" and place_codes("Кения\uff0cCO\u3001UG") == "KE, CO, UG"
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        drawn = await client.post("/maps/gaps", data={"serviceTypes": "legal-aid", "codes": "Kenia, Ouganda"})
        assert drawn.status_code == 200 and "Kenya" in drawn.text and "Uganda" in drawn.text
        arabic = await client.post("/maps/gaps", data={"serviceTypes": "legal-aid", "codes": "كينيا، أوغندا"})
        assert arabic.status_code == 200 and "Kenya" in arabic.text and "Uganda" in arabic.text
        refused = await client.post("/maps/gaps", data={"serviceTypes": "legal-aid", "codes": "Kenia, Atlantis"})
        assert refused.status_code == 400 and "&#39;Atlantis&#39; is not an ISO 3166-1 country" in refused.text
        assert 'name="codes" value="Kenia, Atlantis"' in refused.text  # the form again, as it was typed


def _asked_again(text: str, path: str) -> list[tuple[dict[str, list[str]], str]]:
    """Each form asking `path`'s question again (not the question's own form): its fields and words."""
    forms = re.findall(rf'<form method="post" action="{path}#answer">(.*?)</form>', text, re.S)
    out = []
    for f in forms:
        fields: dict[str, list[str]] = {}
        for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', f):
            fields.setdefault(name, []).append(html.unescape(value))
        words = re.search(r"<button[^>]*>(.*?)</button>", f, re.S)
        assert words is not None
        out.append((fields, html.unescape(re.sub(r"<[^>]+>", "", words.group(1)))))
    return out


async def test_an_empty_answer_offers_the_question_again_without_each_narrowing_given(
        store: Store, live_server: LiveServer) -> None:
    """Partners for legal aid in Kenya who speak Russian and serve trade unionists: none. The page
    names what narrowed the answer, one click each to let it go, the rest of the question kept."""
    await demo.load(store)
    asked = {"serviceTypes": ["legal-aid", "medical-care"], "country": "KE", "group": "trade-unionists",
             "language": "ru"}
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        empty = await client.post("/partners", data=asked)
        assert "Nothing that you may see answers this" in empty.text
        again = _asked_again(empty.text, "/partners")
        assert again == [
            ({"serviceTypes": ["legal-aid", "medical-care"], "country": ["KE"], "language": ["ru"]},
             "Ask again without “Defenders served: Trade unionists”"),
            ({"serviceTypes": ["legal-aid", "medical-care"], "country": ["KE"], "group": ["trade-unionists"]},
             "Ask again without “Language: Russian”")]
        wider = await client.post("/partners", data=again[1][0])
        assert "Nothing that you may see answers this" not in wider.text and "<tbody " in wider.text
        spanish = await client.post("/partners", data=asked, headers={"Accept-Language": "es"})
        assert "Preguntar de nuevo sin «Idioma: ruso»" in html.unescape(spanish.text)
        assert _asked_again(wider.text, "/partners") == []  # only an empty answer offers them


def test_an_area_cldr_does_not_name_is_named_in_the_pages_language() -> None:
    """CLDR names every country and UN M49 area but the Channel Islands: the region lists said it in
    English on French and Russian pages."""
    from directory.web.pages.render import place_name

    assert [place_name("830", language) for language in ("en", "fr", "ru")] == [
        "Channel Islands", "Îles Anglo-Normandes", "Нормандские острова"]


async def test_a_members_partners_form_shows_it_asks_as_its_organisation_and_offers_asking_as_a_group(
        store: Store, live_server: LiveServer) -> None:
    """A member's partners form opens with its organisation filled in: its defenders and languages
    narrow the answer, and the form shows so. Left empty, as the field's label says, the question is
    a group's saying only where and what it needs; and an empty answer as the organisation offers
    that question in one click (a walk found a member's answer empty where the public's was not)."""
    await demo.load(store)
    me = await store.organisation(STEWARD, "test:fict-rio-claro-collective")
    _, token = await store.tokens.create("member", me.id, "the collective")
    asked = {"serviceTypes": ["legal-aid"], "country": "CO"}
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        public = await client.post("/partners", data=asked)
        assert "Nothing that you may see answers this" not in public.text
        assert (await client.post("/sign-in", data={"token": token})).status_code == 303
        form = (await client.get("/partners")).text
        assert f'name="organisation" value="{html.escape(me.name)}"' in form
        csrf = re.search(r'name="csrf" value="([0-9a-f]{32})"', form)
        assert csrf is not None
        left_empty = await client.post("/partners", data={**asked, "organisation": "", "csrf": csrf.group(1)})
        # as nobody, the member sees what the public does (and the network's records it may see)
        assert "test:media-defence" in _names(public.text) and set(_names(public.text)) <= set(_names(left_empty.text))
        as_it = await client.post("/partners", data={**asked, "organisation": me.name, "csrf": csrf.group(1)})
        assert "Nothing that you may see answers this" in as_it.text
        [(fields, words)] = [a for a in _asked_again(as_it.text, "/partners") if "as a group" in a[1]]
        assert {k: v for k, v in fields.items() if k != "csrf"} == {"serviceTypes": ["legal-aid"], "country": ["CO"]}
        assert f"not as {me.name}" in words and "the defenders its services serve" in words
        wider = await client.post("/partners", data=fields)
        assert _names(wider.text) == _names(left_empty.text)
        french = await client.post("/partners?lang=fr", data={**asked, "organisation": me.name,
                                                              "csrf": csrf.group(1)})
        assert "en tant que groupe" in html.unescape(french.text)


def _names(text: str) -> list[str]:
    """The organisations an answer names, in its order."""
    body = re.search(r"<tbody[^>]*>(.*?)</tbody>", text, re.S)
    return re.findall(r'<a href="/organisations/([^"]+)"', body.group(1)) if body else []


async def test_words_with_a_typo_or_written_short_still_name_their_filters(
        store: Store, live_server: LiveServer) -> None:
    """A walk found no suggestion for "reubicasion", "sicosocial", "Colonbia", "перемешение", "RDC",
    and Hong Kong offered beside the Congos for "الكونغو"."""
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        async def offered(text: str, language: str) -> list[dict[str, str]]:
            page = await client.post("/", data={"text": text}, headers={"Accept-Language": language})
            return [f for f, _ in _suggested(page.text)]

        typo = await offered("reubicasion colonbia", "es")
        assert sorted(f["serviceType"] for f in typo) == [
            "relocation-abroad", "relocation-in-country", "relocation-regional"]
        assert all(f["country"] == "CO" for f in typo)
        assert await offered("sicosocial", "es") == [{"serviceType": "psychosocial-support"}]
        assert {f["serviceType"] for f in await offered("перемешение", "ru")} >= {"relocation-in-country"}
        assert await offered("aide juridique RDC", "fr") == [{"serviceType": "legal-aid", "country": "CD"}]
        assert await offered("DRC", "en") == [{"country": "CD"}]
        assert sorted(f["country"] for f in await offered("الكونغو", "ar")) == ["CD", "CG"]  # not Hong Kong
        # in another of the pages' languages than the page's (a browser asking for English): named too
        assert await offered("asistencia jurídica Kenia", "en") == [{"serviceType": "legal-aid", "country": "KE"}]
        assert sorted(f["serviceType"] for f in await offered("reubicacion Colombia", "en")) == [
            "relocation-abroad", "relocation-in-country", "relocation-regional"]
        assert await offered("юридическая помощь", "fr") == [{"serviceType": "legal-aid"}]


async def test_a_members_referral_form_starts_from_its_organisation_and_an_answer_names_whom_it_is_about(
        store: Store, live_server: LiveServer) -> None:
    """Walk: chains opened with "from" empty for a member (partners' form had its organisation), and
    an answer showed the organisation asked about by its id, however it had been typed."""
    await demo.load(store)
    me = await store.organisation(STEWARD, "test:fict-rio-claro-collective")
    _, token = await store.tokens.create("member", me.id, "the collective")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        assert (await client.post("/sign-in", data={"token": token})).status_code == 303
        form = (await client.get("/referrals")).text
        assert f'name="from" value="{html.escape(me.name)}"' in form
        csrf = re.search(r'name="csrf" value="([0-9a-f]{32})"', form)
        assert csrf is not None
        for typed in (me.id, me.name.upper()):  # by its id, or its name written otherwise: shown by name
            answer = await client.post("/referrals", data={"from": typed, "serviceType": "legal-aid",
                                                           "country": "CO", "csrf": csrf.group(1)})
            assert answer.status_code == 200
            assert f'<input id="f-from" name="from" value="{html.escape(me.name)}"' in answer.text  # the field


async def test_a_question_the_store_refuses_is_said_on_a_page_not_a_bare_500(
        store: Store, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name search over a peer's largest records was refused by the store ("Query heap budget
    exceeded") and the home page answered a bare "Internal Server Error" (a measurement found it):
    any refusal of the store reads as the page saying it had no answer, with the question kept."""
    from directory.domain.errors import StoreError

    async def refused(*_: object, **__: object) -> None:
        raise StoreError("the graph store refused a statement (Neo.DatabaseError.General.UnknownError)")

    monkeypatch.setattr(Store, "search_projected", refused)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        answer = await client.post("/", data={"text": "Org"}, headers={"Accept-Language": "es"})
    assert answer.status_code == 503 and "Sin respuesta a tiempo" in answer.text, answer.text[:300]
    assert "Neo." not in answer.text and "statement" not in answer.text


def _chosen_place(text: str, field: str = "country") -> tuple[str | None, list[str]]:
    """The place a form's select shows chosen, and the codes of the subdivisions it offers."""
    select = re.search(rf'<select id="f-{field}" name="{field}"[^>]*>(.*?)</select>', text, re.S)
    assert select is not None
    chosen = re.search(r'<option value="([^"]*)" selected>', select.group(1))
    parts = [g for label, g in re.findall(r'<optgroup label="([^"]*)">(.*?)</optgroup>', select.group(1), re.S)
             if label != "World regions"]
    return chosen and chosen.group(1), re.findall(r'value="([^"]+)"', parts[0]) if parts else []


async def test_a_chosen_countrys_subdivisions_are_offered_to_narrow_the_place_asked(
        store: Store, live_server: LiveServer) -> None:
    """The pages took countries only, where the CLI and GraphQL take subdivisions (a hand-worked
    scenario): a group in Kisumu could not ask who works in Kisumu. Once a country is chosen its
    subdivisions are offered beside it, with no script, and the answer is the subdivision's."""
    await load(store, [org("kisumu", **{"#country+code": "KE"}), org("mombasa", **{"#country+code": "KE"}),
                       org("national", **{"#country+code": "KE"})],
               [service("kisumu-s", "kisumu", **{"#country+code+present": "KE-17"}),
                service("mombasa-s", "mombasa", **{"#country+code+present": "KE-28"}),
                service("national-s", "national", **{"#country+code+present": "KE"})])
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        home = (await client.get("/")).text
        assert _chosen_place(home) == (None, [])  # nothing chosen: countries only, a light form
        kenya = (await client.post("/", data={"serviceType": "legal-aid", "country": "KE"})).text
        chosen, offered = _chosen_place(kenya)
        assert chosen == "KE" and "KE-17" in offered and "KE-28" in offered
        assert 'label="In Kenya"' in kenya and "Kisumu" in kenya
        kisumu = (await client.post("/", data={"serviceType": "legal-aid", "country": "KE-17"})).text
        assert _chosen_place(kisumu)[0] == "KE-17"
        assert "Organisations found: 2" in kisumu and "Mombasa" not in kisumu.split('id="found"')[1]
        for path in ("/referrals", "/partners"):
            asked = (await client.get(path, params={"country": "KE-17"})).text
            assert _chosen_place(asked) == ("KE-17", _chosen_place(kenya)[1]), path
        chains = (await client.post("/referrals", data={"from": "national", "serviceType": "legal-aid",
                                                        "country": "KE-17"})).text
        answer = chains.split('id="answer"')[1]
        assert _chosen_place(chains)[0] == "KE-17"
        assert "/organisations/test:national" in answer and "Mombasa" not in answer
        gaps = (await client.get("/gaps", params={"country": "KE"})).text
        assert _chosen_place(gaps) == ("KE", [])  # the gaps are asked by a country's subdivisions already


async def test_the_browse_form_asks_who_takes_requests_now(store: Store, live_server: LiveServer) -> None:
    """A walk in Spanish: "who can help this week" had no page; the browse form listed paused
    programmes and closed calls beside open ones. Asked, it keeps the organisations with a service
    taking requests today, and an empty answer offers the question without it."""
    today = date.today()
    open_call = Window((today - timedelta(days=3)).isoformat(), (today + timedelta(days=10)).isoformat())
    later = Window((today + timedelta(days=60)).isoformat(), (today + timedelta(days=90)).isoformat())
    await store.upsert([Organisation(f"test:{o}", o.title(), "host-programme") for o in ("open", "later", "paused")],
                       [Service("test:open-s", "test:open", "Open", "relocation-regional", windows=[open_call],
                                coverage=[Coverage("CR", Presence.PRESENT)]),
                        Service("test:later-s", "test:later", "Later", "relocation-regional", windows=[later],
                                coverage=[Coverage("CR", Presence.PRESENT)]),
                        Service("test:paused-s", "test:paused", "Paused", "relocation-regional",
                                status=Status.PAUSED, coverage=[Coverage("CR", Presence.PRESENT)])], [])
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        every = (await client.post("/", data={"serviceType": "relocation-regional", "country": "CR"})).text
        assert "Organisations found: 3" in every and 'name="takingRequests" value="yes">' in every
        now = (await client.post("/", data={"serviceType": "relocation-regional", "country": "CR",
                                            "takingRequests": "yes"})).text
        found = now.split('id="found"')[1]
        assert "Organisations found: 1" in now and ">Open<" in found and ">Later<" not in found
        assert 'name="takingRequests" value="yes" checked>' in now
        nobody = (await client.post("/", data={"serviceType": "relocation-regional", "country": "PA",
                                               "takingRequests": "yes"})).text
        assert "Organisations found" not in nobody or "Organisations found: 0" in nobody


async def test_an_organisations_page_says_a_service_between_calls_waits_and_who_sees_what_is_not_public(
        store: Store, live_server: LiveServer) -> None:
    """A walk: a service whose open call starts next month read as open (only its status was said),
    and after a steward made a record restricted no page said so: "Saved." over the same page."""
    today = date.today()
    later = Window((today + timedelta(days=40)).isoformat(), (today + timedelta(days=70)).isoformat())
    past = Window((today - timedelta(days=70)).isoformat(), (today - timedelta(days=40)).isoformat())
    await store.upsert(
        [Organisation("test:host", "Host", "host-programme", visibility=Visibility.NETWORK)],
        [Service("test:later", "test:host", "Spring call", "relocation-regional", windows=[past, later]),
         Service("test:over", "test:host", "Last call", "relocation-regional", windows=[past],
                 visibility=Visibility.RESTRICTED),
         Service("test:open", "test:host", "Always open", "legal-aid")], [])
    _, steward = await store.tokens.create("steward", None, "a steward")
    async with httpx.AsyncClient(base_url=live_server.url, headers={"authorization": f"Bearer {steward}"}) as client:
        text = html.unescape((await client.get("/organisations/test:host")).text)
    sections = {s.split("</h3>")[0]: s for s in text.split('<section class="service"')[1:]}
    spring, last, always = (next(v for k, v in sections.items() if name in k)
                            for name in ("Spring call", "Last call", "Always open"))
    assert f"Not taking requests today: the next call opens {later.opens}" in spring
    assert "Not taking requests today: no call is open and none is planned" in last
    assert "Not taking requests" not in always
    facts = text.split('<dl class="facts">')[1].split("</dl>")[0]
    assert "Not the public: members and stewards of this directory and its trusted peers" in facts
    assert "Only stewards and the organisation's own members" in last
    # public itself, but seen by no more than its organisation is (an Arabic walk read it as public)
    assert ("<dt>Who may see it</dt><dd>Not the public: members and stewards of this directory and its trusted "
            "peers (as its organisation is)</dd>") in always


async def test_a_browse_that_finds_nobody_in_a_country_offers_the_region_around_it(
        store: Store, live_server: LiveServer) -> None:
    """A walk: psychosocial support in Uganda found nobody, and the one way on for a group under
    threat was a donor's gap table. Where someone offers it around the place asked (a subdivision's
    country, a country's UN sub-region), the same browse there is offered, and the place list holds
    the world regions, so the answer's form says where it looked."""
    await store.upsert(
        [Organisation("test:nairobi", "Nairobi Counsellors", "local-ngo",
                      location=Location(None, None, Precision.COUNTRY, "KE")),
         Organisation("test:lima", "Lima Counsellors", "local-ngo",
                      location=Location(None, None, Precision.COUNTRY, "PE"))],
        [Service("test:nairobi-care", "test:nairobi", "Care", "psychosocial-support",
                 coverage=[Coverage("KE-30", Presence.PRESENT)]),  # Nairobi
         Service("test:lima-care", "test:lima", "Care", "psychosocial-support",
                 coverage=[Coverage("PE", Presence.PRESENT)])], [])
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        empty = (await client.post("/", data={"serviceType": "psychosocial-support", "country": "UG"})).text
        [(rest, words)] = [(r, w) for r, w in _forms(empty) if w.startswith("Ask again in all of")]
        assert rest == {"serviceType": "psychosocial-support", "country": "014"}
        assert words == "Ask again in all of Eastern Africa: 1 found"
        around = (await client.post("/", data=rest)).text
        found = around.split('id="found"')[1]
        assert "Organisations found: 1" in around and "Nairobi Counsellors" in found and "Lima" not in found
        assert _chosen_place(around) == ("014", [])  # the form shows where it looked
        # a subdivision's country: Kisumu finds nobody, Kenya does
        kisumu = (await client.post("/", data={"serviceType": "psychosocial-support", "country": "KE-17"})).text
        assert [w for _, w in _forms(kisumu) if w.startswith("Ask again in all of")] == [
            "Ask again in all of Kenya: 1 found"]
        # nobody around: nothing offered that leads nowhere
        alone = (await client.post("/", data={"serviceType": "legal-aid", "country": "UG"})).text
        assert not [w for _, w in _forms(alone) if w.startswith("Ask again in all of")]


async def test_a_donors_download_says_its_columns_and_flags_in_words_and_whose_funding_it_weighed(
        store: Store, live_server: LiveServer) -> None:
    """A donor's walk: the CSV held columns the page never explained (Named, Top donor share,
    Concentration, Providers) and flags only as codes, and the answer never said which donor the
    name typed was read as."""
    await demo.load(store)
    asked = {"region": "014", "serviceTypes": "emergency-grant,psychosocial-support", "donor": "Northwind"}
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        answer = html.unescape((await client.post("/gaps", data=asked)).text)
        form = answer.split('<form method="post" action="/gaps.csv">')[1].split("</form>")[0]
        fields: dict[str, list[str]] = {}
        for name, value in re.findall(r'name="(\w+)" value="([^"]*)"', form):
            fields.setdefault(name, []).append(value)
        download = await client.post("/gaps.csv", data=fields)
    assert "The donor asked: Northwind Solidarity Fund (fictional) (test:fict-solidarity-fund)." in answer
    # a keyboard need not go through every provider's link to reach the download
    skip, table, landing = (answer.index(s) for s in ('href="#after-answer"', "<table", 'id="after-answer"'))
    assert skip < table < landing < answer.index('action="/gaps.csv"')
    counted = answer.split("What the columns count")[1].split("</dl>")[0]
    assert download.headers["content-type"].startswith("text/csv"), download.status_code
    headers = download.text.lstrip("\ufeff").splitlines()[0].split(",")
    for heading in headers:
        if heading not in ("Place", "Service", "Place name", "Service name"):
            assert f"<dt>{heading}</dt>" in counted, heading  # every column the download holds is said
    rows = list(csv.reader(io.StringIO(download.text.lstrip("\ufeff"))))
    codes, words = rows[0].index("Flags"), rows[0].index("Flags in words")
    flagged = [r for r in rows[2:] if r[codes]]
    assert flagged and all(r[words] for r in flagged)
    assert any("no_provider" in r[codes] and "No provider you may see" in r[words] for r in flagged)


async def test_partners_found_for_some_of_the_services_asked_say_which_none_of_them_offers(
        store: Store, live_server: LiveServer) -> None:
    """A walk: relocation and psychosocial support in Uganda found one partner for relocation, and
    nothing said that none offers psychosocial support there."""
    await store.upsert([Organisation("test:mover", "Mover", "international-ngo")],
                       [Service("test:move", "test:mover", "Moves", "relocation-in-country",
                                coverage=[Coverage("UG", Presence.PRESENT)])], [])
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        answer = html.unescape((await client.post("/partners", data={
            "serviceTypes": ["relocation-in-country", "psychosocial-support"], "country": "UG"})).text)
        both = html.unescape((await client.post("/partners", data={
            "serviceTypes": ["relocation-in-country"], "country": "UG"})).text)
    assert "Mover" in answer
    assert "None of these partners offers Psychosocial support, which you asked for" in answer
    assert "None of these partners offers" not in both
