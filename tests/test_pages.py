"""The pages people use without GraphQL (issue 17, first part): through the same door as GraphQL,
in five languages, with nothing loaded from elsewhere, and a hidden record's page a missing one's."""

from __future__ import annotations

import gzip
import re
from html import unescape

import httpx
import pytest
from markupsafe import escape

from directory.base.config import Settings
from directory.domain.model import Coverage, Intake, Organisation, Presence, Service, Status, Visibility
from directory.domain.viewer import STEWARD
from directory.exchange import demo
from directory.store import Edit, Store
from directory.web.pages import catalogue, i18n
from tests.conftest import LiveServer

pytestmark = pytest.mark.anyio
SIGNAL = "+00 000 000 111"
# a referral chain's step between two organisations, as a page draws it (a screen reader skips the arrow)
STEP = '<span class="step" aria-hidden="true"> → </span><span class="unseen"> refers people to </span>'  # heard too


async def _seed(store: Store) -> None:
    await store.upsert(
        [Organisation("test:fund", "Open Fund", "international-ngo", description="Grants for defenders."),
         Organisation("test:hidden", "Hidden Shelter", "shelter", visibility=Visibility.RESTRICTED)],
        [Service("test:grant", "test:fund", "Emergency grants", "emergency-grant",
                 coverage=[Coverage("HN", Presence.PRESENT)], application_process="Call the line.",
                 intake=[Intake("hotline", "+00 000 000 101", Visibility.PUBLIC),
                         Intake("signal", SIGNAL, Visibility.NETWORK)], intake_languages=["mul"],
                 purposes=["legal-aid"], capacity=4, capacity_unit="grants", capacity_confirmed="2026-12-01"),
         Service("test:paused", "test:fund", "Old grants", "emergency-grant", status=Status.PAUSED,
                 status_reason="funding halted")], [])


async def test_the_home_page_finds_by_name_and_by_labels_with_terms_in_the_post_body(
        store: Store, live_server: LiveServer) -> None:
    await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        home = await client.get("/")
        assert home.status_code == 200 and "Emergency grant" in home.text  # labels, not codes
        assert "<option value=\"HN\">Honduras</option>" in home.text
        found = await client.post("/", data={"text": "Opeen Fund"})  # a typo, as the API tolerates
        assert "Open Fund" in found.text and "Opeen" not in str(found.url)
        browsed = await client.post("/", data={"serviceType": "emergency-grant", "country": "HN"})
        assert "Open Fund" in browsed.text and "Hidden Shelter" not in browsed.text
        # what it offers, a paused service said so, and where its services work
        assert "Offers: Emergency grant, Emergency grant (paused)" in browsed.text
        assert "Works in: Honduras" in browsed.text and "Works in: Honduras" in found.text
        # found under a service it does not offer, but which its grants pay for: the row says why
        paying = await client.post("/", data={"serviceType": "legal-aid"})
        assert "Open Fund" in paying.text and "Its grants pay for: Legal aid" in paying.text
        bad = await client.post("/", data={"language": "klingon"})
        assert bad.status_code == 400 and "language" in bad.text
        # two letters are a whole word, not a name's start: a search that finds nothing says so
        short = await client.post("/", data={"text": "op"})
        assert "Open Fund" not in short.text and "type three letters or more" in short.text
        assert "type three letters or more" not in (await client.post("/", data={"text": "nothing here"})).text


async def test_an_organisation_page_says_how_to_ask_as_the_viewer_may_see_it(store: Store,
                                                                            live_server: LiveServer) -> None:
    await _seed(store)
    _, token = await store.tokens.create("member", "test:fund", "a member")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        public = await client.get("/organisations/test:fund")
        assert "Call the line." in public.text and "+00 000 000 101" in public.text and "any language" in public.text
        # a number to call is tapped, not copied by hand
        assert '<a href="tel:+00000000101" rel="noopener noreferrer"><bdi>+00 000 000 101</bdi></a>' in public.text
        assert SIGNAL not in public.text
        assert "Not taking requests:" in public.text and "funding halted" in public.text
        member = await client.get("/organisations/test:fund", headers={"Authorization": f"Bearer {token}"})
        assert SIGNAL in member.text
        # what it can take now, to members (a member typed it and never saw it again); never to the public
        assert "<dt>Capacity</dt><dd>4 <bdi>grants</bdi> · last confirmed 2026-12-01</dd>" in member.text
        assert "<dt>Capacity</dt>" not in public.text and "4 <bdi>grants</bdi>" not in public.text


def test_a_way_to_ask_leads_where_its_kind_and_shape_say_and_nowhere_else() -> None:
    from directory.web.pages.render import reach

    assert reach("hotline", "+353 1 210 0489") == "tel:+35312100489"
    assert reach("sms", "+57 300 000 0000") == "sms:+573000000000"
    assert reach("email", "desk@fund.example") == "mailto:desk@fund.example"
    assert reach("web-form", "https://fund.example/ask") == "https://fund.example/ask"
    for kind, value in (("phone", "javascript:alert(1)"), ("web-form", "javascript:alert(1)"),
                        ("web-form", "data:text/html,x"), ("email", 'a"@b.c'), ("signal", "+57 300"),
                        ("post", "Calle 1"), ("phone", "call the office"),
                        # a peer's channel copying every mail to a third address, unseen (a hostile read)
                        ("email", "help@x.org?bcc=spy%40evil.org"), ("email", "help@x.org,spy@evil.org"),
                        ("email", "help@x.org;spy@evil.org"), ("email", "help@x.org%3Fbcc=spy@evil.org")):
        assert reach(kind, value) is None, (kind, value)


def test_every_field_a_person_types_in_takes_its_direction_from_what_is_typed() -> None:
    """An Arabic walk typed "+961 3 123 456" into the join form's contact field and saw
    "456 123 3 961+": a right-to-left page made every field right-to-left. Each field typed in
    (text, search, a description) says `dir`: `auto`, or `ltr` for numbers."""
    import re
    from pathlib import Path

    import directory.web

    untyped = ('type="hidden"', 'type="checkbox"', 'type="radio"', 'type="submit"', 'type="file"',
               'type="date"', 'type="password"')
    templates = sorted((Path(directory.web.__file__).parent / "templates").glob("*.html"))
    missing = [(path.name, tag[:60]) for path in templates
               for tag in re.findall(r"<(?:input|textarea)\b[^>]*>", path.read_text())
               if "dir=" not in tag and not any(t in tag for t in untyped)]
    assert missing == []


async def test_a_hidden_organisations_page_is_the_missing_ones(store: Store, live_server: LiveServer) -> None:
    await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        hidden = await client.get("/organisations/test:hidden")
        missing = await client.get("/organisations/test:nothing")
    # the same page but for the id asked for (the language links lead back to it)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text.replace("test:hidden", "test:nothing") == missing.text
    assert {k: v for k, v in hidden.headers.items() if k not in ("date", "content-length")} == {
        k: v for k, v in missing.headers.items() if k not in ("date", "content-length")}
    # and every other address, with a hidden record under it or not, is that same page
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        for path in ("/organisations/test:hidden/links/x", "/organisations/test:nothing/x", "/no/such/page"):
            other = await client.get(path)
            assert other.status_code == 404 and other.text.replace(path, "/organisations/test:nothing") == missing.text


async def test_pages_load_nothing_from_elsewhere_and_are_never_kept(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        for response in (await client.get("/"), await client.get("/organisations/test:front-line-defenders"),
                         await client.get("/taxonomy"), await client.post("/", data={"country": "CO"})):
            assert response.status_code == 200
            policy = response.headers["content-security-policy"]
            assert "default-src 'none'" in policy and "script-src" not in policy
            assert response.headers["cache-control"] == "no-store"
            assert not re.search(r"(src|href)=\"https?://(?!www\.frontlinedefenders)", response.text)
            assert len(gzip.compress(response.content)) < 60 * 1024  # a page for a slow connection
            assert '<link rel="icon" href="/icon.svg"' in response.text
        for path in ("/icon.svg", "/favicon.ico"):  # where browsers and the maps' pages look: never a 404
            icon = await client.get(path)
            assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
            assert len(icon.content) < 1024


@pytest.mark.parametrize(("language", "words"), [("es", "Buscar"), ("fr", "Rechercher"), ("ar", "بحث"),
                                                 ("ru", "Найти")])
async def test_each_page_speaks_the_browsers_language_or_the_one_chosen(store: Store, live_server: LiveServer,
                                                                        language: str, words: str) -> None:
    await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        by_browser = await client.get("/", headers={"Accept-Language": f"{language}-XX, en;q=0.5"})
        assert f'lang="{language}"' in by_browser.text and words in by_browser.text
        assert ('dir="rtl"' in by_browser.text) == (language in i18n.RIGHT_TO_LEFT)
        chosen = await client.get("/taxonomy?lang=" + language)
        assert chosen.cookies.get(i18n.COOKIE) == language
        again = await client.get("/organisations/test:fund")  # the choice is remembered
        assert f'lang="{language}"' in again.text and "Open Fund" in again.text  # record text as written


def test_every_word_of_the_pages_is_translated_in_every_language() -> None:
    """Each msgid the templates and `words.py` use has a translation in each catalogue."""
    wanted = catalogue.msgids()
    assert len(wanted["pages"]) > 80 and len(wanted["taxonomy"]) > 100
    for language in i18n.LANGUAGES[1:]:
        for domain, ids in wanted.items():
            have = catalogue.translated(language, domain)
            missing = sorted(ids - have)
            assert not missing, (language, domain, missing[:10])


@pytest.mark.pure
@pytest.mark.parametrize(("language", "counts"), [
    ("en", {1: "1 problem,", 2: "2 problems,", 21: "21 problems,"}),
    ("ru", {1: "1 проблема;", 3: "3 проблемы;", 5: "5 проблем;", 11: "11 проблем;", 21: "21 проблема;",
            22: "22 проблемы;"}),
    ("ar", {0: "0 مشكلة؛", 1: "مشكلة واحدة؛", 2: "مشكلتان؛", 3: "3 مشكلات؛", 11: "11 مشكلةً؛", 100: "100 مشكلة؛"}),
    ("fr", {0: "0 problème ;", 1: "1 problème ;", 2: "2 problèmes ;"}),
    ("es", {1: "1 problema;", 2: "2 problemas;"}),
])
def test_a_count_reads_in_the_form_its_language_gives_that_number(language: str, counts: dict[int, str]) -> None:
    """A refusal counting something takes the plural form the page's language gives its number: Russian
    has three, Arabic six (a catalogue's plural lacking one of its language's forms is untranslated)."""
    from directory.domain.errors import Plural, worded
    from directory.web.pages.problems import in_language

    counted = Plural("%(count)s problem, nothing was changed", "%(count)s problems, nothing was changed", "count")
    for count, start in counts.items():
        assert in_language(counted, {"count": count}, language).startswith(start), (language, count)
    assert worded(counted, {"count": 1}) == "1 problem, nothing was changed"
    # a number already written for the page (a decimal comma, a thousands space) still picks the form
    assert i18n.filled(counted, {"count": "1 001"}, "ru", {"count": 1001}).startswith("1 001 проблема;")
    # what is not a whole number reads in English rather than in a wrong form
    assert i18n.filled(counted, {"count": 1.5}, "ru") == "1.5 problems, nothing was changed"
    # in a right-to-left page a code or a Latin name keeps its own direction inside the sentence
    need = Plural("Need from %(indicator)s: %(n)s place, %(years)s; no source recorded.",
                  "Need from %(indicator)s: %(n)s places, %(years)s; no source recorded.", "n")
    arabic = i18n.filled(need, {"indicator": "civic-space-restriction", "n": 2, "years": "2025"}, "ar")
    assert "\u2068civic-space-restriction\u2069" in arabic and arabic.startswith("الحاجة")
    assert "\u2068" not in i18n.filled(need, {"indicator": "civic-space-restriction", "n": 2, "years": "2025"}, "es")
    quoted = i18n.filled("%(code)r is not an ISO 3166-1 country code", {"code": "COLOMBIA"}, "ar")
    assert quoted.startswith("\u2068'COLOMBIA'\u2069 ") and "\\u2068" not in quoted  # around the quotes, not escaped


async def test_record_text_is_shown_as_text_never_run(store: Store, live_server: LiveServer) -> None:
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    await store.upsert([Organisation("test:evil", evil, "local-group", description=evil)], [], [])
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        for response in (await client.get("/organisations/test:evil"), await client.post("/", data={"text": "script"})):
            assert "<script>" not in response.text and "<img" not in response.text
            assert "&lt;script&gt;" in response.text


async def test_a_local_group_finds_partners_and_opens_one(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    _, token = await store.tokens.create("member", "test:fict-kampala-legal", "the clinic")  # network-only
    async with httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        mine = await client.get("/organisations/test:fict-kampala-legal")
        assert "/partners?organisation=test%3Afict-kampala-legal" in mine.text
        form = await client.get("/partners?organisation=test:fict-kampala-legal")
        assert 'value="Kampala Justice Clinic (fictional)"' in form.text  # its name, not its id
        hidden = await client.get("/partners?organisation=test:fict-quiet-donor")  # not shown to this member
        assert 'value="test:fict-quiet-donor"' in hidden.text and "Quiet" not in hidden.text
        answer = await client.post("/partners", data={"organisation": "test:fict-kampala-legal",
                                                      "serviceTypes": ["medical-care", "psychosocial-support"]})
        assert answer.status_code == 200 and "<table " in answer.text
        assert re.search(r"<td[^>]*><bdi>\d", answer.text)  # a rank, then the partner and its reasons
        partner = re.search(r'<td[^>]*><a href="(/organisations/test:[^"]+)"><bdi>([^<]+)</bdi></a></td>', answer.text)
        assert partner is not None  # the partner opens its page
        opened = await client.get(partner.group(1))
        assert opened.status_code == 200 and f"<h1><bdi>{partner.group(2)}</bdi></h1>" in opened.text


def _selected(html: str, name: str) -> list[str]:
    """The values selected in the form's select named `name`."""
    found = re.search(rf'<select id="[^"]*" name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert found is not None, name
    return re.findall(r'<option value="([^"]*)" selected>', found.group(1))


async def test_each_form_keeps_exactly_what_was_asked_selected(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        browsed = await client.post("/", data={"serviceType": "legal-aid", "country": "NE", "language": "es"})
        assert [_selected(browsed.text, n) for n in ("serviceType", "country", "language", "group", "kind")] == [
            ["legal-aid"], ["NE"], ["es"], [], []]
        assert "<option value=\"NG\">Nigeria</option>" in browsed.text
        gaps = await client.post("/gaps", data={"region": "019",
                                                "serviceTypes": ["emergency-grant", "legal-aid"]})
        assert _selected(gaps.text, "serviceTypes") == ["emergency-grant", "legal-aid"]
        assert _selected(gaps.text, "region") == ["019"]  # the Americas
        joining = await client.post("/join", data={"name": "", "kind": "shelter", "country": "CO",
                                                   "languages": ["es", "en"]})
        assert [_selected(joining.text, n) for n in ("kind", "country", "languages")] == [
            ["shelter"], ["CO"], ["en", "es"]]  # in the order the form lists them


async def test_a_donor_reads_the_gaps_of_a_region_downloads_them_and_finds_the_map(store: Store,
                                                                                  live_server: LiveServer) -> None:
    await demo.load(store)
    asked = {"region": "region:Americas", "serviceTypes": ["emergency-grant"]}
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        answer = await client.post("/gaps", data=asked)
        assert answer.status_code == 200 and "Only region- or world-wide providers reach it" in answer.text
        assert '/maps/gaps?region=region%3AAmericas&amp;serviceTypes=emergency-grant' in answer.text
        # each heading said in words, and a need no indicator gives is said, not left blank
        assert ("<dt>Wide</dt><dd>of the providers present or remote, those reaching it only through a region or the "
                "whole world</dd>") in answer.text
        assert "<bdi>not known (counted as 0.5)</bdi>" in answer.text
        # a donor's walk read "Local" as a group based there, and the public scores as facts for all
        assert '<th scope="col" role="columnheader">Country-specific</th>' in answer.text
        assert "<dt>Country-specific</dt><dd>of the providers present or remote" in answer.text
        assert "members of the network may see more providers, so a gap shown here may be covered" in answer.text
        assert "Counted for defenders of every group" in answer.text
        for_a_group = (await client.post("/gaps", data={**asked, "group": "journalists"})).text
        assert "Counted for defenders of every group" not in for_a_group and "Country-specific" in for_a_group
        # switching language never puts the question asked in a form into an address (histories, logs)
        switch = re.search(r'href="(\?[^"]*lang=fr)"', answer.text)
        assert switch is not None and "region" not in switch.group(1) and "emergency" not in switch.group(1)
        csv = await client.post("/gaps.csv", data=asked)
        assert csv.headers["content-disposition"] == 'attachment; filename="gaps-region-Americas-emergency-grant.csv"'
        # the download's address opened again (a bookmark) is the form, filled in, not a missing page
        again = await client.get("/gaps.csv", params={"region": "region:Americas", "serviceTypes": "emergency-grant"})
        assert again.status_code == 303 and again.headers["location"].startswith("/gaps?region=region")
        lines = csv.text.splitlines()
        assert lines[1].startswith("#country+code,#sector,#indicator+gap") and len(lines) > 20
        bad = await client.post("/gaps", data={"region": "region:Atlantis"})
        assert bad.status_code == 400 and "region" in bad.text


async def test_an_ingo_desk_finds_a_chain(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    _, token = await store.tokens.create("steward", None, "desk")
    async with httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        answer = await client.post("/referrals", data={"from": "test:fict-lakeside-rights", "serviceType": "safe-house",
                                                      "country": "TZ", "order": "FASTEST_RESPONSE"})
        assert answer.status_code == 200 and STEP in answer.text  # a chain, organisation -> organisation
        # each organisation of the chain opens its page
        first = r'<a href="/organisations/test:fict-lakeside-rights"><bdi>[^<]+</bdi></a>'
        assert re.search(first + re.escape(STEP) + '<a href="/organisations/', answer.text)
        # a shelter for a defender from Kenya: Harbour House, in Tanzania, takes defenders from Kenya
        from_kenya = await client.post("/referrals", data={"from": "test:fict-lakeside-rights",
                                                          "serviceType": "safe-house", "country": "KE"})
        assert from_kenya.status_code == 200 and "Harbour House (fictional)" in from_kenya.text
        assert "takes defenders from" in from_kenya.text
        # an organisation not found: the field is marked and linked to, and the page says what to do
        unknown = await client.post("/referrals", data={"from": "Nobody Of That Name", "serviceType": "safe-house",
                                                       "country": "KE"})
        assert unknown.status_code == 400 and '<a href="#f-from">' in unknown.text
        assert ('id="f-from" name="from" value="Nobody Of That Name" maxlength="200" required aria-invalid="true"'
                in unknown.text)  # a steward has no organisation of its own to start from
        assert "type its name as the directory writes it" in unknown.text
        bad = await client.post("/referrals", data={"from": "test:fict-lakeside-rights", "serviceType": "safe-house",
                                                   "country": "KE", "language": "xx"})
        assert bad.status_code == 400 and '<a href="#f-language">' in bad.text
        # a form sent empty names every field it needs at once, each marked and linked to, in the page's
        # language: one round trip, not one per field on a slow line
        empty = await client.post("/referrals?lang=fr", data={"group": ""})
        assert empty.status_code == 400
        for field in ("from", "serviceType", "country"):
            assert f'<a href="#f-{field}">' in empty.text, field
            assert re.search(f'id="f-{field}" name="{field}"[^>]* aria-invalid="true"', empty.text), field
        assert empty.text.count('aria-invalid="true"') == 3 and "Service nécessaire" in empty.text


def _hidden(html: str, action: str) -> tuple[str, dict[str, list[str]]]:
    """The form posting to `action` on a page: its hidden fields, as a browser would send them."""
    form = re.search(f'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
    assert form is not None, action
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(1)):
        fields.setdefault(name, []).append(unescape(value))
    return form.group(0), fields


async def test_a_question_asked_before_signing_in_is_offered_again_once_signed_in(
        store: Store, live_server: LiveServer) -> None:
    """A desk asked as the public, found nothing, and signed in: it lands back on its question, as it
    typed it, and asking it again answers as the signed-in steward; a question form opened before
    signing in and sent after is not asked as the steward, but offered again with this sign-in's
    CSRF value (it was refused as "not from a page of this directory")."""
    await demo.load(store)
    _, token = await store.tokens.create("steward", None, "desk")
    question = {"from": "test:fict-lakeside-rights", "serviceType": "safe-house", "country": "TZ"}
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        public = await client.post("/referrals", data=question)
        assert public.status_code == 200 and STEP not in public.text  # nothing the public may see
        _, carry = _hidden(public.text, "/sign-in")
        assert carry["then"] == ["/referrals"] and carry["carried:serviceType"] == ["safe-house"]
        sign_in = await client.post("/sign-in", data=carry)
        assert sign_in.status_code == 200 and "problem" not in sign_in.text  # not "type your token"
        _, carried = _hidden(sign_in.text, "/sign-in")
        offered = await client.post("/sign-in", data={**carried, "token": token})
        assert offered.status_code == 200 and "pd_session" in offered.headers["set-cookie"]
        _, again = _hidden(offered.text, "/referrals#answer")
        assert "<dt>Where help is needed" in offered.text and "<dt>Service needed</dt>" in offered.text  # its labels
        # and what was chosen as the form showed it, not its codes ("safe-house", "TZ")
        assert "<dd>Safe house</dd>" in offered.text and "<dd>Tanzania</dd>" in offered.text
        assert "<dd>test:fict-lakeside-rights</dd>" in offered.text  # an organisation as it was typed
        assert again["serviceType"] == ["safe-house"] and again["country"] == ["TZ"] and again["csrf"]
        answer = await client.post("/referrals", data=again)
        assert answer.status_code == 200 and STEP in answer.text  # a chain, as the steward
        # the public's form, sent once signed in: not asked as the steward, offered to be asked again
        stale = await client.post("/referrals", data=question)
        assert stale.status_code == 403 and STEP not in stale.text and "not asked as you" in stale.text
        _, offered_again = _hidden(stale.text, "/referrals#answer")
        assert offered_again == again
        assert STEP in (await client.post("/referrals", data=offered_again)).text
        # a form that writes is still refused, never offered
        assert (await client.post("/join", data={"name": "X"})).status_code == 403


async def test_a_group_not_listed_is_told_how_to_find_partners_without_its_name(store: Store,
                                                                             live_server: LiveServer) -> None:
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        asked = {"organisation": "Red Nacional de Defensoras de Honduras", "serviceTypes": ["relocation-in-country"],
                 "country": "HN"}
        answer = await client.post("/partners?lang=es", data=asked)
        assert answer.status_code == 400 and "Deje este campo vacío" in answer.text
        assert '<a href="/join">' in answer.text and "aria-invalid" in answer.text


ALL = """{ organisations(first: 100) { edges { node { recordId name contactChannels
  services { name intake { value } } } } } }"""


@pytest.mark.parametrize("who", ["anonymous", "member"])
async def test_each_viewers_pages_show_what_graphql_shows_that_viewer_and_nothing_more(
        store: Store, live_server: LiveServer, who: str) -> None:
    await demo.load(store)
    _, steward = await store.tokens.create("steward", None, "s")
    _, member = await store.tokens.create("member", "test:fict-kampala-legal", "m")
    viewer = {"Authorization": f"Bearer {member}"} if who == "member" else {}
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        def nodes(body: dict[str, object]) -> dict[str, dict[str, object]]:
            return {e["node"]["recordId"]: e["node"] for e in body["data"]["organisations"]["edges"]}  # type: ignore[index]
        everything = nodes((await client.post("/graphql", json={"query": ALL},
                                              headers={"Authorization": f"Bearer {steward}"})).json())
        seen = nodes((await client.post("/graphql", json={"query": ALL}, headers=viewer)).json())
        assert seen and len(seen) < len(everything)
        for record_id, whole in everything.items():
            page = await client.get(f"/organisations/{record_id}", headers=viewer)
            if record_id not in seen:
                assert page.status_code == 404 and str(whole["name"]) not in page.text
                continue
            shown = seen[record_id]
            assert page.status_code == 200
            secrets = {c for c in whole["contactChannels"]} - set(shown["contactChannels"])  # type: ignore[arg-type]
            secrets |= {i["value"] for s in whole["services"] for i in s["intake"]} - {  # type: ignore[attr-defined]
                i["value"] for s in shown["services"] for i in s["intake"]}  # type: ignore[attr-defined]
            assert not [x for x in secrets if str(escape(x)) in page.text or x in page.text], record_id
            for s in shown["services"]:  # type: ignore[attr-defined]
                assert all(str(escape(i["value"])) in page.text for i in s["intake"]), record_id


async def test_a_member_signs_in_with_a_token_and_a_strict_cookie_and_signs_out(
        store: Store, live_server: LiveServer) -> None:
    await _seed(store)
    _, token = await store.tokens.create("member", "test:fund", "the fund")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        wrong = await client.post("/sign-in", data={"token": "pd_not_a_token"})
        assert wrong.status_code == 400 and "not valid" in wrong.text and "pd_session" not in wrong.headers.get(
            "set-cookie", "")
        signed = await client.post("/sign-in", data={"token": token})
        cookie = signed.headers["set-cookie"].lower()
        assert signed.status_code == 303 and "httponly" in cookie and "samesite=strict" in cookie
        assert "max-age=28800" in cookie and token.lower() not in cookie  # a session value, not the token
        page = await client.get("/organisations/test:fund")
        assert SIGNAL in page.text and "Signed in as a member</span>" in page.text
        assert '<a href="/organisations/test:fund">Your organisation</a>' in page.text  # its page, not its id
        assert 'href="/join"' not in page.text.split("</nav>")[0]  # listed already: no "Ask to be listed"
        async with httpx.AsyncClient(base_url=live_server.url) as public:
            assert 'href="/join"' in (await public.get("/")).text.split("</nav>")[0]
        csrf = re.search(r'name="csrf" value="([0-9a-f]{32})"', page.text)
        assert csrf is not None
        # a form that did not come from our page (no CSRF value, or another) does nothing
        forged = await client.post("/", data={"text": "Open Fund"})  # a search, offered again, not run
        assert forged.status_code == 403 and 'id="found"' not in forged.text and "not asked as you" in forged.text
        assert (await client.post("/sign-out", data={"csrf": "0" * 32})).status_code == 403
        found = await client.post("/", data={"text": "Open Fund", "csrf": csrf.group(1)})
        assert found.status_code == 200 and "Open Fund" in found.text
        out = await client.post("/sign-out", data={"csrf": csrf.group(1)})
        assert out.status_code == 303 and 'pd_session=""' in out.headers["set-cookie"]
        client.cookies.clear()
        said = await client.get(out.headers["location"])  # where signing out lands says it worked
        assert "You are signed out" in said.text and 'href="/join"' in said.text
        assert SIGNAL not in (await client.get("/organisations/test:fund")).text


async def _session_of(store: Store, token: str) -> str:
    signed_in = await store.tokens.sign_in(token)
    assert signed_in is not None
    return signed_in[1]


async def test_a_session_is_not_the_token_and_its_end_cannot_be_moved(store: Store, live_server: LiveServer) -> None:
    """Was a hole: the cookie held the API token itself after an expiry the server took on trust, so
    a copied cookie was a lasting API token, and editing its expiry kept a session open for ever."""
    import time

    from directory.store.records import tokens

    await _seed(store)
    token_id, token = await store.tokens.create("member", "test:fund", "the fund")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        signed = await client.post("/sign-in", data={"token": token})
        value = client.cookies["pd_session"]
        assert signed.status_code == 303 and token not in signed.headers["set-cookie"]
        secret = token.removeprefix(f"pd_{token_id}_")  # base64url: it may hold "_" itself
        assert len(secret) == 43 and secret not in value and token_id in value  # names the token; never holds it
        assert SIGNAL in (await client.get("/organisations/test:fund")).text
        began, _, mac = value.split(".")
        now = int(time.time() * 1000)
        assert now - 60_000 < int(began) <= now  # when it began, in ms
        key = store.tokens._key
        stored = (await store.graph.read(tokens.FIND, id=token_id))[0]["hash"]
        _, other = await store.tokens.create("member", "test:fund", "another")
        other_mac = (await _session_of(store, other)).split(".")[2]

        def made(at: int) -> str:  # a session value made with the key itself
            return f"{at}.{token_id}." + tokens._mac(key, "session", token_id, str(at), stored)

        forged = [f"9999999999999.{token_id}.{mac}", f"{int(began) + 3_600_000}.{token_id}.{mac}",  # moved on
                  f"{began}.{token_id}.{other_mac}",  # another token's MAC
                  made(now + 10 * 60_000),  # well made, begun in the future
                  made(now - tokens.SESSION_SECONDS * 1000 - 1000),  # well made, ended
                  token, f"{began}.{token}"]  # the token itself, as the old cookie held it
        for cookie in forged:
            client.cookies.set("pd_session", cookie)
            page = await client.get("/organisations/test:fund")
            assert page.status_code == 200 and SIGNAL not in page.text and "Sign in" in page.text, cookie
            # said once, so a record no longer shown is not taken for one that vanished; the cookie dropped
            assert "Your sign-in has ended" in page.text, cookie
            assert page.headers["set-cookie"].startswith('pd_session=""; Max-Age=0; Path=/'), cookie
        client.cookies.clear()
        assert "Your sign-in has ended" not in (await client.get("/organisations/test:fund")).text  # no cookie
        anyone = httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {value}"})
        async with anyone:  # a copied cookie is no API token
            assert (await anyone.post("/graphql", json={"query": "{ organisation(id: \"test:fund\") { id } }"})
                    ).status_code == 401


async def test_signing_out_ends_the_session_in_the_store_and_its_key_is_not_in_the_graph(
        store: Store, live_server: LiveServer, settings: Settings) -> None:
    """An attacker's read: the key was kept in the graph beside the tokens' hashes, so reading the
    store made a steward's session; signing out only dropped the browser's cookie, so a copy made
    before stayed signed in; a sign-in sent with an ended cookie in the browser lost the new one."""
    import stat

    await _seed(store)
    _, token = await store.tokens.create("member", "test:fund", "the fund")
    key_file = settings.session_key_path
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and bytes.fromhex(key_file.read_text()) == store.tokens._key
    hexed = store.tokens._key.hex()
    assert not await store.graph.read("MATCH (n) WHERE any(k IN keys(n) WHERE n[k] = $v) RETURN n LIMIT 1",
                                      v=hexed)  # nowhere in the graph
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        assert (await client.post("/sign-in", data={"token": token})).status_code == 303
        copied = client.cookies["pd_session"]
        page = (await client.get("/organisations/test:fund")).text
        csrf = re.search(r'name="csrf" value="([0-9a-f]{32})"', page)
        assert csrf is not None and SIGNAL in page
        assert (await client.post("/sign-out", data={"csrf": csrf.group(1)})).status_code == 303
    async with httpx.AsyncClient(base_url=live_server.url, cookies={"pd_session": copied}) as thief:
        after = (await thief.get("/organisations/test:fund")).text
        assert SIGNAL not in after and "Your sign-in has ended" in after  # the copy is over too
        # signing in again with the ended cookie still in the browser keeps the new session
        again = await thief.post("/sign-in", data={"token": token})
        assert again.status_code == 303 and 'pd_session=""' not in again.headers["set-cookie"]
        assert SIGNAL in (await thief.get("/organisations/test:fund")).text


async def test_an_expired_or_revoked_session_is_the_public_view_not_a_lockout(store: Store,
                                                                              live_server: LiveServer) -> None:
    await _seed(store)
    token_id, token = await store.tokens.create("member", "test:fund", "the fund")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        client.cookies.set("pd_session", f"1000.{token}")  # ended in 1970
        expired = await client.get("/organisations/test:fund")
        assert expired.status_code == 200 and SIGNAL not in expired.text and "Sign in" in expired.text
        client.cookies.set("pd_session", await _session_of(store, token))
        assert SIGNAL in (await client.get("/organisations/test:fund")).text
        await store.tokens.revoke(token_id)
        assert SIGNAL not in (await client.get("/organisations/test:fund")).text


async def test_the_maps_index_offers_choices_and_every_served_map_links_back(store: Store,
                                                                            live_server: LiveServer) -> None:
    await _seed(store)
    await store.graph.write("MATCH (o:Organisation {id: 'test:fund'}) SET o.country = 'HN', o.precision = 'country'")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        index = await client.get("/maps?lang=es")
        assert '<option value="emergency-grant">' in index.text and "Honduras" in index.text
        assert all(f'action="/maps/{k}"' in index.text for k in ("directory", "gaps", "referrals", "funding"))
        drawn = await client.get("/maps/directory")
        assert "pdBack" in drawn.text
        assert re.search(r'"link": ?"/organisations/"', drawn.text) and '"test:fund"' in drawn.text


async def test_a_service_naming_no_place_tells_who_may_edit_it_that_place_searches_miss_it(
        store: Store, live_server: LiveServer) -> None:
    await _seed(store)  # "Old grants" names no place; "Emergency grants" is delivered in Honduras
    _, token = await store.tokens.create("member", "test:fund", "the fund")
    hint = "No place yet: searches by country or region and the coverage gaps do not find it."
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        assert hint not in (await client.get("/organisations/test:fund")).text  # the public reads no advice
        await client.post("/sign-in", data={"token": token})
        page = (await client.get("/organisations/test:fund")).text
        sections = {s.split("<bdi>")[1].split("</bdi>")[0]: s for s in page.split('<section class="service"')[1:]}
        assert hint in sections["Old grants"] and hint not in sections["Emergency grants"]


async def test_a_member_edits_a_service_and_a_stale_revision_shows_what_changed_and_what_they_typed(
        store: Store, live_server: LiveServer) -> None:
    await _seed(store)
    _, token = await store.tokens.create("member", "test:fund", "the fund")
    _, other = await store.tokens.create("member", "test:hidden", "someone else")

    def hidden(text: str, name: str) -> str:
        found = re.search(rf'name="{name}" value="([^"]*)"', text)
        assert found is not None, name
        return found.group(1)

    async with httpx.AsyncClient(base_url=live_server.url) as client:
        await client.post("/sign-in", data={"token": token})
        assert "/services/test:grant/edit" in (await client.get("/organisations/test:fund")).text
        form = await client.get("/services/test:grant/edit")
        assert f'name="intake_value_2" value="{SIGNAL}"' in form.text  # the owner edits every channel
        # languages chosen by name, never typed as codes; any language first, as the record holds it
        assert 'name="intake_languages" value="mul" checked> Any language</label>' in form.text
        assert 'name="intake_languages" value="es"> Spanish</label>' in form.text
        assert "codes, one per line" not in form.text
        typed = {"csrf": hidden(form.text, "csrf"), "revision": hidden(form.text, "revision"),
                 "name": "Emergency grants", "status": "active", "hours": "24/7",
                 "application_process": "Call the line, day or night.",
                 "intake_kind_1": "hotline", "intake_value_1": "+00 000 000 101", "intake_visibility_1": "public",
                 "intake_kind_2": "signal", "intake_value_2": SIGNAL, "intake_visibility_2": "network",
                 "intake_kind_3": "email", "intake_value_3": "desk@fund.example", "intake_visibility_3": "network",
                 "intake_languages": ["es", "mul"]}
        # someone else saves first, from the same revision
        await store.save_service(STEWARD, Edit({"id": "test:grant", "hours": "by appointment"}),
                                 int(typed["revision"]))
        stale = await client.post("/services/test:grant/edit", data=typed)
        assert stale.status_code == 409 and "It says now" in stale.text
        assert "by appointment" in stale.text and "24/7" in stale.text  # what it says now, and what they typed
        assert "<td>Any language</td><td>Spanish, Any language</td>" in stale.text  # languages by name
        # the channels as lines to read, not as a syntax; the rows keep what was typed
        assert "Hotline: +00 000 000 101 (public)" in stale.text and "E-mail: desk@fund.example (network)" in stale.text
        assert 'name="intake_value_3" value="desk@fund.example"' in stale.text
        newer = hidden(stale.text, "revision")
        again = await client.post("/services/test:grant/edit", data={**typed, "revision": newer})
        assert again.status_code == 303
        saved = (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"]
        assert saved.hours == "24/7" and saved.application_process == "Call the line, day or night."
        assert sorted((i.kind, i.value, i.visibility.value) for i in saved.intake) == [
            ("email", "desk@fund.example", "network"), ("hotline", "+00 000 000 101", "public"),
            ("signal", SIGNAL, "network")] and saved.intake_languages == ["es", "mul"]
        bad = await client.post("/services/test:grant/edit", data={
            **typed, "revision": str(saved.provenance.revision if saved.provenance else 0),
            "intake_kind_1": "pigeon", "windows_opens_1": "2027-02-01", "windows_closes_1": "2027-01-01"})
        assert bad.status_code == 400 and "Nothing was changed" in bad.text
        assert "Where to ask, row 1</a>:" in bad.text and "Open calls, row 1</a>: closes before it opens" in bad.text
        assert (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"].hours == "24/7"
    async with httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {other}"}) as client:
        assert (await client.get("/services/test:grant/edit")).status_code == 404  # not theirs: as if missing


async def test_the_api_ignores_the_pages_session_so_no_form_elsewhere_can_spend_it(store: Store,
                                                                                  live_server: LiveServer) -> None:
    await _seed(store)
    _, token = await store.tokens.create("member", "test:fund", "the fund")
    mutation = ('mutation { updateService(id: "Service:test:grant", revision: 1, input: {hours: "never"}) '
                '{ errors { code } } }')
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        client.cookies.set("pd_session", await _session_of(store, token))
        assert SIGNAL in (await client.get("/organisations/test:fund")).text  # the pages take the session
        answer = (await client.post("/graphql", json={"query": mutation})).json()
        assert "errors" in answer or answer["data"]["updateService"]["errors"]  # as anonymous: refused
    assert (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"].hours == ""


async def test_a_partners_answer_says_what_its_columns_count_with_the_weights_it_uses(
        store: Store, live_server: LiveServer) -> None:
    from directory.jobs.partners import WEIGHTS
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        answer = await client.post("/partners", data={"serviceTypes": ["legal-aid"], "country": "CO"})
        spanish = await client.post("/partners?lang=es", data={"serviceTypes": ["legal-aid"], "country": "CO"})
    assert answer.status_code == 200 and "What the columns count" in answer.text
    assert f"what it offers of what you asked (weighed {WEIGHTS['complementarity']:g})" in answer.text
    assert "<dt>Complementarity</dt>" in answer.text
    assert f"con un peso de {WEIGHTS['complementarity']:g}".replace(".", ",") in spanish.text  # the language's digits


async def test_a_service_with_no_way_to_ask_says_what_to_try_and_contacts_read_as_labels(
        store: Store, live_server: LiveServer) -> None:
    """Was a walk's finding: a provider's page without intake said nothing of how to ask (the
    headings were simply missing), and its secure contact read as raw `signal:+00...`."""
    await _seed(store)
    await store.upsert([Organisation("test:fund", "Open Fund", "international-ngo",
                                     contact_channels=["signal:+00 000 000 222", "email:fund@example.org"])], [], [])
    _, steward = await store.tokens.create("steward", None, "s")
    async with httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {steward}"}) as client:
        page = (await client.get("/organisations/test:fund")).text  # contacts are shown to members and stewards
    grant, paused = page.split('<section class="service"')[1:3]
    assert "Nothing recorded that you may see" not in grant  # it says how, and where
    assert "How to ask</dt><dd class=\"hint\">Nothing recorded that you may see" in paused
    assert "<li>Signal: <bdi>+00 000 000 222</bdi></li>" in page
    assert ('<li>E-mail: <a href="mailto:fund@example.org" rel="noopener noreferrer">'
            '<bdi>fund@example.org</bdi></a></li>') in page
    assert "signal:+00" not in page


@pytest.mark.pure
def test_a_gap_downloads_name_is_cut_between_words() -> None:
    from directory.web.pages.jobs import _csv_name

    many = {"region": ["central-america"], "group": ["women"],
            "serviceTypes": ["psychosocial-support", "safe-house", "relocation-in-country", "relocation-regional"]}
    name = _csv_name(many)
    assert name == "gaps-central-america-women-psychosocial-support-safe-house-relocation-in-country-and-more.csv"
    assert _csv_name({"country": ["CO"]}) == "gaps-CO.csv" and _csv_name({}) == "gaps.csv"


async def test_every_page_a_newcomer_opens_is_sent_compressed_and_light(store: Store, live_server: LiveServer) -> None:
    """README: pages stay under 60 KB compressed. The maps' index (its forms' country lists, 76 kB)
    was the one page sent whole to a browser that asked for gzip (a walk on a slow line)."""
    await demo.load(store)
    async with httpx.AsyncClient(base_url=live_server.url, headers={"accept-encoding": "gzip"}) as client:
        for path in ("/", "/taxonomy", "/partners", "/gaps", "/referrals", "/maps", "/join", "/sign-in",
                     "/organisations/test:front-line-defenders", "/?lang=ar", "/maps?lang=es"):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert response.headers.get("content-encoding") == "gzip", path
            assert int(response.headers["content-length"]) < 60_000, path


async def test_the_browse_forms_place_is_refused_as_the_form_names_it_and_the_maps_index_only_reads(
        store: Store, live_server: LiveServer) -> None:
    """An attacker's read of the subdivisions in the place list: a code shaped as a subdivision
    but none was refused as "subdivision", a field the form does not have; Hong Kong's code in
    ISO 3166-2 was refused as not a country; and the maps' index answered any method."""
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        wrong = await client.post("/", data={"country": "KE-030"})
        assert wrong.status_code == 400 and "Country: " in wrong.text and "subdivision:" not in wrong.text
        assert (await client.post("/", data={"country": "CN-HK"})).status_code == 200
        assert (await client.request("DELETE", "/maps")).status_code == 405
        assert (await client.head("/maps")).status_code == 200


async def test_a_member_reads_on_its_own_page_who_may_see_each_service_and_channel(store: Store,
                                                                                 live_server: LiveServer) -> None:
    """An Arabic walk: a restricted organisation's public service showed no "who may see it" line, so
    its member read it as public (the public sees none of it), and a restricted channel of a public
    service read as plainly as the public hotline beside it."""
    await _seed(store)
    await store.upsert([Organisation("test:quiet", "Quiet Group", "local-group", visibility=Visibility.RESTRICTED)],
                       [Service("test:quiet-care", "test:quiet", "Care", "psychosocial-support")], [])
    _, fund = await store.tokens.create("member", "test:fund", "fund")
    _, quiet = await store.tokens.create("member", "test:quiet", "quiet")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        anyone = unescape((await client.get("/organisations/test:fund")).text)
        own = unescape((await client.get("/organisations/test:fund", headers={"Authorization": f"Bearer {fund}"})).text)
        restricted = unescape((await client.get("/organisations/test:quiet",
                                                headers={"Authorization": f"Bearer {quiet}"})).text)
    assert "Anyone, also without signing in" not in anyone and "(not the public)" not in anyone
    assert own.count("<dt>Who may see it</dt><dd>Anyone, also without signing in</dd>") == 3  # it and its 2 services
    assert re.search(re.escape(SIGNAL) + r'</bdi>(</a>)? <span class="hint">\(not the public\)</span>', own)
    # to those who may edit it, every channel says who sees it (a Spanish walk: the public line said nothing)
    assert re.search(r'\+00 000 000 101</bdi>(</a>)? <span class="hint">\(anyone\)</span>', own)
    assert "(anyone)" not in anyone
    care = restricted.split('id="s-1"')[1]
    assert ("<dt>Who may see it</dt><dd>Only stewards and the organisation's own members (as its organisation is)"
            "</dd>") in care


async def test_the_pages_carry_the_directorys_own_name(store: Store, settings: Settings) -> None:
    """An operator's walk: `DIRECTORY_NAME` was shown only in the discovery document; the pages still
    said "Protection Directory". The default name is translated; one of the operator's is as written."""
    from dataclasses import replace

    with LiveServer(replace(settings, directory_name="Red Andina de Protección")) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            home = unescape((await client.get("/?lang=fr")).text)
            missing = unescape((await client.get("/organisations/test:nobody")).text)
    assert '<a class="site" href="/">Red Andina de Protección</a>' in home
    assert '<a class="site" href="/">Red Andina de Protección</a>' in missing and "Protection Directory" not in home
    assert "<title>Red Andina de Protección</title>" in home or "· Red Andina de Protección</title>" in home
