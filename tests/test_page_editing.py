"""A member edits its own organisation, adds services and keeps its links in the pages' forms (issue
17), over HTTP against the live server: a stale revision writes nothing and shows what it says now
beside what was typed, a bad value names its field, another organisation's forms are missing ones,
and a form without its CSRF value does nothing."""

from __future__ import annotations

import gzip
import html
import re
from urllib.parse import urlencode

import httpx
import pytest
from markupsafe import escape

from directory.domain.model import Coverage, Link, Location, Organisation, Precision, Presence, Service, Visibility
from directory.domain.viewer import STEWARD
from directory.store import Edit, Store
from tests.conftest import LiveServer
from tests.helpers import browser_form

pytestmark = pytest.mark.anyio


async def _seed(store: Store) -> dict[str, str]:
    await store.upsert(
        [Organisation("test:fund", "Open Fund", "international-ngo", description="Grants for defenders.",
                      website="https://fund.example.org", languages=["en"],
                      location=Location(None, None, Precision.COUNTRY, "HN")),
         Organisation("test:other", "Other Group", "local-ngo"),
         Organisation("test:hidden", "Hidden Shelter", "shelter", visibility=Visibility.RESTRICTED)],
        [Service("test:grant", "test:fund", "Emergency grants", "emergency-grant",
                 coverage=[Coverage("HN", Presence.PRESENT)])], [])
    return {"fund": (await store.tokens.create("member", "test:fund", "the fund"))[1],
            "other": (await store.tokens.create("member", "test:other", "the other"))[1]}


async def test_a_decimal_comma_is_read_as_the_page_language_writes_decimals(store: Store,
                                                                             live_server: LiveServer) -> None:
    # the Russian and French pages write 0,4308: a latitude typed so was refused ("use a point")
    tokens = await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        await _signed_in(client, tokens["fund"])
        typed = _organisation_form((await client.get("/organisations/test:fund/edit?lang=ru")).text)
        typed.update(latitude="14,08", longitude="-87,21", precision="locality")
        saved = await client.post("/organisations/test:fund/edit?lang=ru", data=typed)
        assert saved.status_code == 303, saved.text[-800:]
        now = await store.organisation(STEWARD, "test:fund")
        assert now.location is not None and now.location.latitude is not None
        assert abs(now.location.latitude - 14.08) < 1e-9 and now.location.longitude is not None
        # in English a comma is no decimal point: refused, never guessed
        typed = _organisation_form((await client.get("/organisations/test:fund/edit?lang=en")).text)
        typed.update(latitude="14,09")
        refused = await client.post("/organisations/test:fund/edit?lang=en", data=typed)
        assert refused.status_code == 400 and "write it with a point for decimals" in refused.text


def _hidden(text: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', text)
    assert found is not None, name
    return found.group(1)


async def _signed_in(client: httpx.AsyncClient, token: str) -> str:
    """Sign in with the session cookie, as a browser does; the CSRF value its pages carry."""
    assert (await client.post("/sign-in", data={"token": token})).status_code == 303
    return _hidden((await client.get("/organisations/test:fund")).text, "csrf")


def _chosen(page: str, select_id: str) -> list[str]:
    """Every value a select shows chosen."""
    select = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert select is not None, select_id
    return re.findall(r'<option value="([^"]*)" selected>', select.group(1))


def _ticked(page: str, name: str) -> list[str]:
    """Every value of a list of checkboxes the page shows ticked, in its order."""
    return re.findall(rf'name="{name}" value="([^"]*)" checked>', page)


def _organisation_form(page: str) -> dict[str, str | list[str]]:
    """The organisation's form as the page filled it in."""
    typed: dict[str, str | list[str]] = {
        "csrf": _hidden(page, "csrf"), "revision": _hidden(page, "revision"), "name": _hidden(page, "name"),
        "website": _hidden(page, "website"), "languages": _ticked(page, "languages")}
    for name in ("kind", "visibility", "country", "subdivision", "precision"):
        typed[name] = next(iter(_chosen(page, f"o-{name}")), "")
    for name in ("description", "aliases", "contact_channels"):
        area = re.search(rf'<textarea id="o-{name}" name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
        assert area is not None, name
        typed[name] = area.group(1)
    return typed


async def test_a_member_edits_its_organisation_and_a_stale_revision_shows_what_it_says_now_and_what_they_typed(
        store: Store, live_server: LiveServer) -> None:
    tokens = await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        assert "/organisations/test:fund/edit" not in (await client.get("/organisations/test:fund")).text
        await _signed_in(client, tokens["fund"])
        page = (await client.get("/organisations/test:fund")).text
        assert "/organisations/test:fund/edit" in page and "/organisations/test:fund/services/new" in page
        form = await client.get("/organisations/test:fund/edit")
        assert form.status_code == 200 and len(gzip.compress(form.content)) < 60_000
        typed = _organisation_form(form.text)
        # each choice shows the current value: saving unchanged never widens who sees it
        assert (typed["visibility"], typed["precision"], typed["country"]) == ("public", "country", "HN")
        assert typed["languages"] == ["en"] and 'name="languages" value="es"> Spanish</label>' in form.text  # by name
        typed.update(description="Grants and advice.", languages=["en", "es"], visibility="network")
        saved = await client.post("/organisations/test:fund/edit", data=typed)
        assert saved.status_code == 303 and saved.headers["location"] == "/organisations/test:fund?saved=1"
        assert 'role="status">Saved.</p>' in (await client.get(saved.headers["location"])).text
        now = await store.organisation(STEWARD, "test:fund")
        assert (now.description, now.languages, now.visibility) == ("Grants and advice.", ["en", "es"],
                                                                     Visibility.NETWORK)
        assert now.location is not None and (now.location.country, now.location.precision) == ("HN", Precision.COUNTRY)
        assert now.website == "https://fund.example.org" and now.provenance is not None

        # someone else saves first, from the same revision
        opened = _organisation_form((await client.get("/organisations/test:fund/edit")).text)
        await store.save_organisation(STEWARD, Edit({"id": "test:fund", "description": "Steward's words."}),
                                      now.provenance.revision)
        stale = await client.post("/organisations/test:fund/edit", data={**opened, "description": "Mine."})
        assert stale.status_code == 409 and "It says now" in stale.text
        assert str(escape("Steward's words.")) in stale.text and "Mine." in stale.text
        assert (await store.organisation(STEWARD, "test:fund")).description == "Steward's words."
        again = await client.post("/organisations/test:fund/edit",
                                  data={**opened, "description": "Mine.", "revision": _hidden(stale.text, "revision")})
        assert again.status_code == 303
        assert (await store.organisation(STEWARD, "test:fund")).description == "Mine."

        # in French, a kind of organisation and a day changed meanwhile read by their names, not as codes
        opened = _organisation_form((await client.get("/organisations/test:fund/edit?lang=fr")).text)
        current = await store.organisation(STEWARD, "test:fund")
        assert current.provenance is not None
        await store.save_organisation(STEWARD, Edit({"id": "test:fund", "kind": "donor", "verified_on": "2026-03-01"}),
                                      current.provenance.revision)
        french = await client.post("/organisations/test:fund/edit", data={**opened, "kind": "local-group"})
        assert french.status_code == 409 and "1 mars 2026" in french.text
        table = re.search(r"<table>(.*?)</table>", french.text, re.S)
        assert table is not None and "local-group" not in table.group(1) and "donor" not in table.group(1)
        # the member's form types no verification: the steward's new one is not shown as about to be lost
        assert "1 mars 2026" not in table.group(1) and "Date de vérification" not in table.group(1)

        # the verification a steward recorded is read, not typed, by a member; saving keeps it
        form = (await client.get("/organisations/test:fund/edit?lang=en")).text
        assert 'name="verified_on"' not in form and "recorded by a steward of this directory" in form
        assert "Verified: 2026-03-01" in form
        kept = await client.post("/organisations/test:fund/edit", data={
            **_organisation_form(form), "description": "Kept.", "verified_on": "2031-01-01", "verified_by": "Us"})
        assert kept.status_code == 303
        after = await store.organisation(STEWARD, "test:fund")
        assert after.description == "Kept." and (after.verified.on, after.verified.by) == ("2026-03-01", "")


async def test_a_bad_value_names_its_field_and_reason_and_writes_nothing(store: Store,
                                                                        live_server: LiveServer) -> None:
    tokens = await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        await _signed_in(client, tokens["fund"])
        typed = _organisation_form((await client.get("/organisations/test:fund/edit")).text)
        bad = await client.post("/organisations/test:fund/edit", data={
            **typed, "website": "fund dot org", "languages": ["en", "zz9"], "description": "Not saved."})
        assert bad.status_code == 400 and "Nothing was changed" in bad.text
        assert "Website (https://...)" in bad.text and "is not a web address: write it whole" in bad.text
        assert "Languages it works in" in bad.text and str(escape("'zz9' is not an ISO 639-1")) in bad.text
        assert "Not saved." in bad.text  # what they typed stays in the form
        # a field whose label says how to fill it in is named by its name alone
        long_alias = await client.post("/organisations/test:fund/edit", data={**typed, "aliases": "x" * 400})
        assert ('<li><a href="#o-aliases">Other names</a>: an alias is 400 characters long, at most 300 are '
                "allowed</li>") in long_alias.text
        assert (await store.organisation(STEWARD, "test:fund")).description == "Grants for defenders."


async def test_a_website_without_its_scheme_and_a_bare_address_or_number_as_secure_contact_are_taken(
        store: Store, live_server: LiveServer) -> None:
    """A newcomer typed "fund.example.org" and "desk@example.org" and was refused "not an http(s)
    address" and "not KIND:VALUE": they are taken as the hint's examples write them."""
    tokens = await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        await _signed_in(client, tokens["fund"])
        typed = _organisation_form((await client.get("/organisations/test:fund/edit")).text)
        saved = await client.post("/organisations/test:fund/edit", data={
            **typed, "website": "fund.example.org/about", "contact_channels": "desk@example.org\n+504 2222 0000\n"
                                                                               "signal:+504 9999 0000"})
        assert saved.status_code == 303, saved.text[-800:]
        now = await store.organisation(STEWARD, "test:fund")
        assert now.website == "https://fund.example.org/about"
        assert now.contact_channels == ["email:desk@example.org", "phone:+504 2222 0000", "signal:+504 9999 0000"]
        typed = _organisation_form((await client.get("/organisations/test:fund/edit")).text)
        refused = await client.post("/organisations/test:fund/edit", data={**typed, "contact_channels": "ask Ana"})
        assert refused.status_code == 400 and "is not KIND:VALUE" in refused.text  # anything else: named


def _offered(page: str, select_id: str) -> list[tuple[str, str]]:
    """Every (value, label) a select offers, in its order."""
    select = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert select is not None, select_id
    return [(value, html.unescape(label))
            for value, label in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1))]


async def test_a_province_is_chosen_by_name_among_its_countrys_and_a_new_country_offers_its_own(
        store: Store, live_server: LiveServer) -> None:
    """A local group says which province it works from without knowing ISO 3166-2 codes: the form
    offers its country's provinces by name; one of another country is refused, named, and the form
    then offers the new country's, nothing saved meanwhile."""
    tokens = await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        await _signed_in(client, tokens["fund"])
        page = (await client.get("/organisations/test:fund/edit")).text
        offered = _offered(page, "o-subdivision")
        assert offered[0] == ("", "Not said") and ("HN-FM", "Francisco Morazán") in offered
        assert {code[:3] for code, _ in offered[1:]} == {"HN-"} and _chosen(page, "o-subdivision") == []
        saved = await client.post("/organisations/test:fund/edit",
                                  data={**_organisation_form(page), "subdivision": "HN-FM"})
        assert saved.status_code == 303
        fund = await store.organisation(STEWARD, "test:fund")
        assert fund.location is not None and fund.location.subdivision == "HN-FM"
        page = (await client.get("/organisations/test:fund/edit?lang=es")).text
        assert _chosen(page, "o-subdivision") == ["HN-FM"] and "Guardar" in page

        moved = await client.post("/organisations/test:fund/edit?lang=en",
                                  data={**_organisation_form(page), "country": "GT"})
        assert moved.status_code == 400 and '<a href="#o-subdivision">Province or region</a>' in moved.text
        assert "Francisco Morazán (HN-FM) is not in Guatemala (GT)" in moved.text
        offered = _offered(moved.text, "o-subdivision")
        assert ("GT-GU", "Guatemala") in offered or any(code.startswith("GT-") for code, _ in offered)
        assert _chosen(moved.text, "o-subdivision") == ["HN-FM"]  # kept as sent, to be changed
        fund = await store.organisation(STEWARD, "test:fund")
        assert fund.location is not None and (fund.location.country, fund.location.subdivision) == ("HN", "HN-FM")
        again = await client.post("/organisations/test:fund/edit",
                                  data={**_organisation_form(moved.text), "subdivision": ""})
        assert again.status_code == 303
        fund = await store.organisation(STEWARD, "test:fund")
        assert fund.location is not None and (fund.location.country, fund.location.subdivision) == ("GT", None)


async def test_languages_and_what_a_grant_pays_for_are_chosen_by_name_and_an_uncommon_language_is_kept(
        store: Store, live_server: LiveServer) -> None:
    tokens = await _seed(store)
    fund = await store.organisation(STEWARD, "test:fund")
    grant = (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"]
    assert fund.provenance is not None and grant.provenance is not None
    # languages beyond the common ones offered: Scottish Gaelic and Welsh, as an import may bring them
    await store.save_organisation(STEWARD, Edit({"id": "test:fund", "languages": ["en", "gd"]}),
                                  fund.provenance.revision)
    await store.save_service(STEWARD, Edit({"id": "test:grant", "intake_languages": ["cy", "mul"],
                                            "purposes": ["legal-aid", "medical-care"]}), grant.provenance.revision)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        csrf = await _signed_in(client, tokens["fund"])
        page = (await client.get("/organisations/test:fund/edit")).text
        assert 'name="languages" value="gd" checked> Scottish Gaelic</label>' in page  # still offered and chosen
        assert 'value="en" checked> English</label>' in page and 'name="languages" value="fr"> French</label>' in page
        assert "codes, one per line" not in page and 'value="mul"' not in page
        assert 'aria-describedby="o-languages-hint"' in page
        assert "<code>signal:+00 000 000 000</code>" in page  # a channel's form, with an example
        assert '<option value="HN-AT">Atlántida</option>' in page  # a province by name, of its own country
        typed = _organisation_form(page)
        assert typed["languages"] == ["en", "gd"]
        saved = await client.post("/organisations/test:fund/edit", data={**typed, "description": "Saved as it was."})
        assert saved.status_code == 303
        fund = await store.organisation(STEWARD, "test:fund")
        assert fund.languages == ["en", "gd"] and fund.description == "Saved as it was."

        # a stale form's languages read as names beside the record's
        assert fund.provenance is not None
        await store.save_organisation(STEWARD, Edit({"id": "test:fund", "languages": ["en"]}),
                                      fund.provenance.revision)
        stale = await client.post("/organisations/test:fund/edit", data={**typed, "revision": str(
            fund.provenance.revision)})
        assert stale.status_code == 409
        assert "<td>English</td><td>English, Scottish Gaelic</td>" in stale.text

        form = (await client.get("/services/test:grant/edit")).text
        assert _ticked(form, "intake_languages") == ["mul", "cy"]  # any language first, then by name
        assert 'name="intake_languages" value="mul" checked> Any language</label>' in form
        assert 'value="cy" checked> Welsh</label>' in form
        assert 'name="intake_languages" value="ar"> Arabic</label>' in form
        assert _chosen(form, "e-purposes") == ["legal-aid", "medical-care"]
        assert '<option value="legal-aid" selected>Legal aid</option>' in form
        assert "service type codes" not in form
        service = {"csrf": csrf, "revision": _hidden(form, "revision"), "name": "Emergency grants",
                   "type": "emergency-grant", "visibility": "public", "status": "active", "present_in": ["HN"],
                   "intake_languages": _ticked(form, "intake_languages"), "purposes": ["legal-aid"]}
        assert (await client.post("/services/test:grant/edit", data=service)).status_code == 303
        grant = (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"]
        assert grant.intake_languages == ["cy", "mul"] and grant.purposes == ["legal-aid"]

        # a stale form's kinds of help and languages read as names beside the record's
        assert grant.provenance is not None
        await store.save_service(STEWARD, Edit({"id": "test:grant", "intake_languages": ["es"],
                                                "purposes": ["legal-aid", "medical-care"]}), grant.provenance.revision)
        stale = await client.post("/services/test:grant/edit", data={**service, "revision": str(
            grant.provenance.revision)})
        assert stale.status_code == 409
        assert "<td>Spanish</td><td>Welsh, Any language</td>" in stale.text
        assert "<td>Legal aid, Medical care</td><td>Legal aid</td>" in stale.text

        # named in the page's language (the language chosen last, as the cookie keeps it)
        spanish = (await client.get("/organisations/test:fund/edit?lang=es")).text
        assert 'value="en" checked> inglés</label>' in spanish and 'value="es"> español</label>' in spanish


async def test_a_member_adds_a_service_with_coverage_and_groups_seen_on_the_page_and_in_graphql(
        store: Store, live_server: LiveServer) -> None:
    tokens = await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        csrf = await _signed_in(client, tokens["fund"])
        form = await client.get("/organisations/test:fund/services/new")
        assert form.status_code == 200
        assert '<option value="GT">Guatemala</option>' in form.text and "Journalists and media workers" in form.text
        assert "Choose who may see it" in form.text  # chosen, never assumed
        assert len(gzip.compress(form.content)) < 60_000  # every country twice, still a small page
        typed = {"csrf": csrf, "name": "Safe travel", "type": "relocation-in-country",
                 "description": "Relocation for a few weeks.", "present_in": ["GT", "HN"], "reaches": ["SV"],
                 "groups": ["journalists", "women"], "status": "active"}
        unchosen = await client.post("/organisations/test:fund/services/new", data=typed)
        assert unchosen.status_code == 400 and "choose who may see it" in unchosen.text
        assert '<option value="SV" selected>El Salvador</option>' in unchosen.text  # what they chose stays chosen
        # every problem at once, not one round at a time: who may see it beside a bad open call
        both = await client.post("/organisations/test:fund/services/new", data={
            **typed, "windows_opens_1": "2027-03-01", "windows_closes_1": "2027-02-01"})
        assert both.status_code == 400 and "choose who may see it" in both.text
        assert "Open calls, row 1</a>: closes before it opens" in both.text
        assert len((await store.services_of(STEWARD, ["test:fund"]))["test:fund"]) == 1
        given = dict(re.findall(r'<input type="hidden" name="(once|once_seal)" value="([^"]+)">', both.text))
        assert set(given) == {"once", "once_seal"}  # the id the new service will have, given with the form
        for _ in range(2):  # a double click, or the form sent again from the back button: one service
            added = await client.post("/organisations/test:fund/services/new",
                                      data={**typed, **given, "visibility": "public"})
            assert added.status_code == 303 and added.headers["location"] == "/organisations/test:fund?saved=1"
        services = (await store.services_of(STEWARD, ["test:fund"]))["test:fund"]
        assert [s.id for s in services if s.name == "Safe travel"] == [given["once"]]
        # back, changed, sent again: an edit of the one it made, not "saved" over nothing
        changed = await client.post("/organisations/test:fund/services/new",
                                    data={**typed, **given, "visibility": "public", "description": "With family."})
        assert changed.status_code == 303
        [again] = [s for s in (await store.services_of(STEWARD, ["test:fund"]))["test:fund"] if s.id == given["once"]]
        assert again.description == "With family." and again.provenance is not None
        assert again.provenance.revision == 2
        # an id the service did not give (a seal that does not match) is not taken: a new one is made
        forged = await client.post("/organisations/test:fund/services/new", data={
            **typed, "once": "test:chosen", "once_seal": given["once_seal"], "visibility": "public"})
        assert forged.status_code == 303
        ids = {s.id for s in (await store.services_of(STEWARD, ["test:fund"]))["test:fund"] if s.name == "Safe travel"}
        assert len(ids) == 2 and "test:chosen" not in ids
        await store.delete(STEWARD, "service", next(iter(ids - {given["once"]})), 1)
        page = (await client.get("/organisations/test:fund")).text
        assert "Safe travel" in page and "Guatemala" in page and "El Salvador" in page
        assert "Journalists and media workers" in page and "Women defenders" in page

        query = """{ organisation(id: "test:fund") { services { recordId name type visibility groups
                     coverage { place presence } } } }"""
        answer = (await client.post("/graphql", json={"query": query},
                                    headers={"Authorization": f"Bearer {tokens['fund']}"})).json()
        made = next(s for s in answer["data"]["organisation"]["services"] if s["name"] == "Safe travel")
        assert made["type"] == "relocation-in-country" and made["visibility"] == "PUBLIC"
        assert sorted(made["groups"]) == ["journalists", "women"]
        assert sorted((c["place"], c["presence"]) for c in made["coverage"]) == [
            ("GT", "PRESENT"), ("HN", "PRESENT"), ("SV", "REMOTE")]

        # the service's own form shows its coverage and groups chosen, and saves a change to them
        edit = await client.get(f"/services/{made['recordId']}/edit")
        assert '<option value="SV" selected>El Salvador</option>' in edit.text
        assert 'value="journalists" checked' in edit.text and '<option value="public" selected>' in edit.text
        changed = await client.post(f"/services/{made['recordId']}/edit", data={
            **typed, "visibility": "public", "revision": _hidden(edit.text, "revision"), "present_in": ["HN"],
            "reaches": [], "groups": ["women"]})
        assert changed.status_code == 303
        saved = (await store.services_by_id(STEWARD, [made["recordId"]]))[made["recordId"]]
        assert [(c.place, c.presence) for c in saved.coverage] == [("HN", Presence.PRESENT)]
        assert saved.groups == ["women"]


def _selected(page: str, select_id: str) -> str:
    """The value a select shows chosen (a browser shows the first when none is marked)."""
    select = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert select is not None, select_id
    chosen = re.search(r'<option value="([^"]*)" selected>', select.group(1))
    return chosen.group(1) if chosen else "(first)"


async def test_a_member_adds_and_removes_ways_to_ask_and_open_calls_in_rows_and_a_bad_row_is_named(
        store: Store, live_server: LiveServer) -> None:
    tokens = await _seed(store)
    grant = (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"]
    assert grant.provenance is not None
    await store.save_service(STEWARD, Edit({"id": "test:grant", "intake": ["public hotline:+00 000 101"]}),
                             grant.provenance.revision)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        csrf = await _signed_in(client, tokens["fund"])
        form = (await client.get("/services/test:grant/edit")).text
        # a row per channel, as it is, then two empty ones, a new one seen by the network unless chosen
        assert 'name="intake_value_1" value="+00 000 101"' in form and _selected(form, "e-intake-1-kind") == "hotline"
        assert _selected(form, "e-intake-1-visibility") == "public"
        assert 'name="intake_value_3" value=""' in form and "intake_value_4" not in form
        assert _selected(form, "e-intake-3-visibility") == "network"
        assert '<select id="e-intake-3-kind" name="intake_kind_3"><option value="">Choose one</option>' in form
        assert '<legend>Channel 3</legend>' in form and '<label for="e-intake-3-value">Where</label>' in form
        assert 'type="date" id="e-windows-1-opens"' in form and "windows_opens_2" not in form
        assert "VISIBILITY KIND:VALUE" not in form and "OPENS/CLOSES" not in form
        service = {"csrf": csrf, "name": "Emergency grants", "type": "emergency-grant", "status": "active",
                   "present_in": ["HN"]}
        rows = {"intake_kind_1": "hotline", "intake_value_1": "+00 000 101", "intake_visibility_1": "public",
                "intake_visibility_2": "network", "intake_visibility_3": "network"}

        # a second channel typed in an empty row, and an open call with only its opening day
        added = await client.post("/services/test:grant/edit", data={
            **service, **rows, "revision": _hidden(form, "revision"), "intake_kind_3": "signal",
            "intake_value_3": "+00 000 333", "intake_visibility_3": "restricted", "windows_opens_1": "2027-01-15",
            "windows_note_1": "spring call"})
        assert added.status_code == 303
        saved = (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"]
        assert sorted(str(i) for i in saved.intake) == ["public hotline:+00 000 101", "restricted signal:+00 000 333"]
        assert [(w.opens, w.closes, w.note) for w in saved.windows] == [("2027-01-15", "", "spring call")]
        assert "open-ended" in (await client.get("/organisations/test:fund")).text

        # one removed by clearing its Where: its How and who may see it are sent still, and ignored
        form = (await client.get("/services/test:grant/edit")).text
        assert 'name="windows_opens_1" value="2027-01-15"' in form and 'name="windows_closes_1" value=""' in form
        assert "windows_opens_2" in form and "windows_opens_3" not in form
        hotline = next(n for n in (1, 2) if f'name="intake_value_{n}" value="+00 000 101"' in form)
        signal = 3 - hotline
        kept = {"windows_opens_1": "2027-01-15", "windows_note_1": "spring call",
                f"intake_kind_{signal}": "signal", f"intake_value_{signal}": "+00 000 333",
                f"intake_visibility_{signal}": "restricted"}
        removed = await client.post("/services/test:grant/edit", data={
            **service, **kept, "revision": _hidden(form, "revision"), f"intake_kind_{hotline}": "hotline",
            f"intake_visibility_{hotline}": "public", "intake_visibility_3": "network",
            "intake_visibility_4": "network"})
        assert removed.status_code == 303
        saved = (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"]
        assert [str(i) for i in saved.intake] == ["restricted signal:+00 000 333"] and len(saved.windows) == 1

        # rows sent back as they were are no change beside someone else's
        form = (await client.get("/services/test:grant/edit")).text
        assert saved.provenance is not None
        await store.save_service(STEWARD, Edit({"id": "test:grant", "hours": "mornings"}), saved.provenance.revision)
        same = {"intake_kind_1": "signal", "intake_value_1": "+00 000 333", "intake_visibility_1": "restricted",
                "windows_opens_1": "2027-01-15", "windows_note_1": "spring call"}
        stale = await client.post("/services/test:grant/edit", data={
            **service, **same, "revision": _hidden(form, "revision"), "hours": "evenings"})
        assert stale.status_code == 409 and '<th scope="row">Hours</th>' in stale.text
        assert "Where to ask</th>" not in stale.text and "Open calls</th>" not in stale.text
        saved = (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"]

        # bad rows, after an emptied one: a kind sent by hand, a Where without a How, an open call that
        # closes before it opens: each named by its row, and nothing written
        assert saved.provenance is not None
        bad = await client.post("/services/test:grant/edit", data={
            **service, "revision": str(saved.provenance.revision), "intake_visibility_1": "public",
            "intake_kind_2": "pigeon", "intake_value_2": "the roof", "intake_value_3": "+00 000 999",
            "intake_kind_4": "email", "intake_value_4": "not an email", "intake_visibility_4": "public",
            "windows_opens_2": "2027-03-01", "windows_closes_2": "2027-02-01", "windows_opens_3": "2027-13-01",
            "hours": "Not saved."})
        assert bad.status_code == 400 and "Nothing was changed" in bad.text
        assert "Where to ask, row 4</a>: is not an email address (name@domain)" in bad.text  # a way to reach, checked
        assert "Where to ask, row 2</a>: is not [public|network|restricted] KIND:VALUE" in bad.text
        assert "Where to ask, row 3</a>: choose how to ask" in bad.text
        assert "Open calls, row 2</a>: closes before it opens" in bad.text
        assert "Open calls, row 3</a>: opens on &#39;2027-13-01&#39;, which is not a day written YYYY-MM-DD" in bad.text
        # each leads to the cell it is about, marked (a Spanish walk: a bad address led to "How", unmarked)
        assert '<a href="#e-intake-4-value">Where to ask, row 4</a>' in bad.text
        assert '<a href="#e-intake-3-kind">Where to ask, row 3</a>' in bad.text
        assert 'id="e-intake-4-value" aria-invalid="true"' in bad.text
        assert 'id="e-intake-3-kind" aria-invalid="true"' in bad.text
        assert 'id="e-intake-1-value" aria-invalid' not in bad.text
        # the same refusal in Spanish: each row's reason in the page's language, never the English
        spanish = await client.post("/services/test:grant/edit?lang=es", data={
            **service, "revision": str(saved.provenance.revision), "intake_visibility_1": "public",
            "intake_kind_2": "pigeon", "intake_value_2": "the roof", "intake_value_3": "+00 000 999",
            "windows_opens_2": "2027-03-01", "windows_closes_2": "2027-02-01", "hours": "Not saved."})
        assert spanish.status_code == 400
        assert "Dónde solicitarlo, fila 2</a>: no es [public|network|restricted] TIPO:VALOR" in spanish.text
        assert "Dónde solicitarlo, fila 3</a>: elija cómo pedir ayuda" in spanish.text
        assert "Convocatorias, fila 2</a>: se cierra antes de abrirse" in spanish.text
        assert "closes before" not in spanish.text and "KIND:VALUE" not in spanish.text
        assert 'name="intake_value_3" value="+00 000 999"' in bad.text  # what they typed stays in its row
        assert 'name="windows_closes_2" value="2027-02-01"' in bad.text and "Not saved." in bad.text
        assert _selected(bad.text, "e-intake-2-visibility") == "network"  # none sent: never the first, public
        after = (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"]
        assert [str(i) for i in after.intake] == ["restricted signal:+00 000 333"] and after.hours == "mornings"
        assert [(w.opens, w.closes) for w in after.windows] == [("2027-01-15", "")]


async def _links(store: Store) -> list[Link]:
    return await store.links_of(STEWARD, ["test:fund"], "out")


def _link_revision(page: str) -> str:
    """The revision a page's (first) link form carries: the one its change and removal name."""
    form = re.search(r'action="/organisations/test:fund/links/edit">(.*?)</form>', page, re.S)
    assert form is not None
    return _hidden(form.group(1), "revision")


async def test_a_member_adds_changes_and_removes_a_link(store: Store, live_server: LiveServer) -> None:
    tokens = await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        csrf = await _signed_in(client, tokens["fund"])
        form = (await client.get("/organisations/test:fund/edit")).text
        assert "Refers people to" in form and "Vouches for" in form  # the kinds it may add, as people read them
        asked = {"csrf": csrf, "link_type": "REFERS_TO", "other": "test:other", "trust": "0.5", "formal": "yes"}
        unchosen = await client.post("/organisations/test:fund/links/new", data=asked)
        assert unchosen.status_code == 400 and "choose who may see it" in unchosen.text  # never public by default
        assert await _links(store) == []
        added = await client.post("/organisations/test:fund/links/new", data={**asked, "visibility": "network"})
        assert added.status_code == 303 and added.headers["location"] == "/organisations/test:fund?saved=1"
        [made] = await _links(store)
        assert (made.type, made.target, made.visibility) == ("REFERS_TO", "test:other", Visibility.NETWORK)
        assert made.properties == {"trust": 0.5, "formal": True}
        # the same link added again changes nothing of the one there: it is changed in its own form
        twice = await client.post("/organisations/test:fund/links/new", data={
            **asked, "visibility": "public", "trust": "0.1"})
        assert twice.status_code == 400 and "already exists" in twice.text
        [kept] = await _links(store)
        assert (kept.visibility, kept.properties) == (Visibility.NETWORK, {"trust": 0.5, "formal": True})

        form = (await client.get("/organisations/test:fund/edit")).text
        assert "Other Group" in form and '<option value="network" selected>' in form
        assert _link_revision(form) == str(made.revision) == "1"
        which = {"csrf": csrf, "link_type": "REFERS_TO", "other": "test:other", "revision": _link_revision(form)}
        typed = {**which, "visibility": "public", "trust": "0.9", "formal": "no", "response_hours": "48"}
        assert (await client.post("/organisations/test:fund/links/edit", data=typed)).status_code == 303
        [changed] = await _links(store)
        assert changed.visibility == Visibility.PUBLIC and changed.revision == 2
        assert changed.properties == {"trust": 0.9, "formal": False, "response_hours": 48.0}

        # someone else changes it after the page was opened: nothing is written, both are shown
        opened = (await client.get("/organisations/test:fund/edit")).text
        await store.save_link(STEWARD, Edit({"type": "REFERS_TO", "source": "test:fund", "target": "test:other",
                                             "key": "", "trust": 0.1}), 2)
        stale = await client.post("/organisations/test:fund/links/edit",
                                  data={**typed, "revision": _link_revision(opened), "trust": "0.7"})
        assert stale.status_code == 409 and "It says now" in stale.text
        assert '<td class="text" dir="auto">0.1</td>' in stale.text
        assert '<td class="text" dir="auto">0.7</td>' in stale.text
        assert (await _links(store))[0].properties["trust"] == 0.1 and _link_revision(stale.text) == "3"
        gone = await client.post("/organisations/test:fund/links/remove",
                                 data={**which, "revision": _link_revision(opened)})
        assert gone.status_code == 409 and "nothing was removed" in gone.text and len(await _links(store)) == 1
        # a bad value typed over the stale form: its field is named, and the form stays at the revision it
        # was opened at, so fixing the value cannot save over the change it has not seen
        bad = await client.post("/organisations/test:fund/links/edit",
                                data={**typed, "revision": _link_revision(opened), "trust": "7"})
        assert bad.status_code == 400 and _link_revision(bad.text) == "2"
        again = await client.post("/organisations/test:fund/links/edit",
                                  data={**typed, "revision": _link_revision(stale.text), "trust": "0.7"})
        assert again.status_code == 303 and (await _links(store))[0].properties["trust"] == 0.7
        # emptying a field clears it
        cleared = await client.post("/organisations/test:fund/links/edit", data={
            **typed, "revision": _link_revision((await client.get("/organisations/test:fund/edit")).text),
            "trust": "", "response_hours": ""})
        assert cleared.status_code == 303 and (await _links(store))[0].properties == {"formal": False}

        fresh = _link_revision((await client.get("/organisations/test:fund/edit")).text)
        removed = await client.post("/organisations/test:fund/links/remove", data={**which, "revision": fresh})
        assert removed.status_code == 303 and await _links(store) == []

        vouch = await client.post("/organisations/test:fund/links/new", data={
            "csrf": csrf, "link_type": "VETTED_BY", "other": "test:other", "visibility": "network"})
        assert vouch.status_code == 303  # it vouches for the other: the link points at the vetter
        assert [(x.type, x.source) for x in await store.links_of(STEWARD, ["test:fund"], "in")] == [
            ("VETTED_BY", "test:other")]

        unpaid = await client.post("/organisations/test:fund/links/new", data={
            "csrf": csrf, "link_type": "FUNDS", "other": "test:other", "amount": "5000", "year": "2027",
            "visibility": "restricted"})
        assert unpaid.status_code == 400 and "Currency (ISO code)" in unpaid.text
        assert "is required with an amount" in unpaid.text and await _links(store) == []
        to_hidden = await client.post("/organisations/test:fund/links/new", data={
            "csrf": csrf, "link_type": "PARTNERS_WITH", "other": "test:hidden", "visibility": "network"})
        to_missing = await client.post("/organisations/test:fund/links/new", data={
            "csrf": csrf, "link_type": "PARTNERS_WITH", "other": "test:nowhere", "visibility": "network"})
        assert to_hidden.status_code == to_missing.status_code == 400
        assert "The other organisation" in to_hidden.text and "Hidden Shelter" not in to_hidden.text
        assert to_hidden.text.replace("test:hidden", "test:X") == to_missing.text.replace("test:nowhere", "test:X")
        assert await _links(store) == []


async def test_another_organisations_forms_are_missing_exactly_like_a_missing_ids(store: Store,
                                                                                  live_server: LiveServer) -> None:
    tokens = await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        csrf = await _signed_in(client, tokens["fund"])
        assert "/organisations/test:other/edit" not in (await client.get("/organisations/test:other")).text
        for path in ("edit", "services/new"):
            missing = await client.get(f"/organisations/test:nowhere/{path}")
            assert missing.status_code == 404
            for other in ("other", "hidden"):
                theirs = await client.get(f"/organisations/test:{other}/{path}")
                assert theirs.status_code == 404
                assert theirs.text.replace(f"test:{other}", "test:X") == missing.text.replace("test:nowhere", "test:X")
        data = {"csrf": csrf, "name": "Taken over", "revision": "1", "visibility": "public",
                "type": "emergency-grant", "link_type": "REFERS_TO", "other": "test:fund"}
        for path in ("edit", "services/new", "links/new", "links/edit", "links/remove"):
            missing = await client.post(f"/organisations/test:nowhere/{path}", data=data)
            theirs = await client.post(f"/organisations/test:other/{path}", data=data)
            assert missing.status_code == theirs.status_code == 404, path
            assert theirs.text.replace("test:other", "test:X") == missing.text.replace("test:nowhere", "test:X")
        assert (await store.organisation(STEWARD, "test:other")).name == "Other Group"
        assert (await store.services_of(STEWARD, ["test:other"]))["test:other"] == []
        assert await store.links_of(STEWARD, ["test:other"], "out") == []
    async with httpx.AsyncClient(base_url=live_server.url) as anonymous:
        assert (await anonymous.get("/organisations/test:fund/edit")).status_code == 404


async def test_a_form_without_its_csrf_value_is_refused_and_writes_nothing(store: Store,
                                                                          live_server: LiveServer) -> None:
    tokens = await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        await _signed_in(client, tokens["fund"])
        typed = _organisation_form((await client.get("/organisations/test:fund/edit")).text)
        for value in (None, "0" * 32):
            forged = {k: v for k, v in typed.items() if k != "csrf"} | ({"csrf": value} if value else {})
            answer = await client.post("/organisations/test:fund/edit", data={**forged, "name": "Forged"})
            assert answer.status_code == 403 and "did not come from a page of this directory" in answer.text
            new = await client.post("/organisations/test:fund/services/new", data={
                **forged, "name": "Forged", "type": "emergency-grant", "visibility": "public"})
            link = await client.post("/organisations/test:fund/links/new", data={
                **forged, "link_type": "REFERS_TO", "other": "test:other"})
            assert new.status_code == link.status_code == 403
        assert (await store.organisation(STEWARD, "test:fund")).name == "Open Fund"
        assert [s.name for s in (await store.services_of(STEWARD, ["test:fund"]))["test:fund"]] == [
            "Emergency grants"]
        assert await _links(store) == []


def _form_fields(page: str, action: str) -> list[tuple[str, str]]:
    """The fields a browser sends with the form posting to `action`: its hidden inputs, in order."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}">(.*?)</form>', page, re.S)
    assert form is not None, action
    return [(html.unescape(n), html.unescape(v))
            for n, v in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', form.group(1))]


async def _send(client: httpx.AsyncClient, path: str, fields: list[tuple[str, str]]) -> httpx.Response:
    """A form's fields as a browser sends them, a name as often as it has values."""
    return await client.post(path, content=urlencode(fields),
                             headers={"content-type": "application/x-www-form-urlencoded"})


async def test_a_form_sent_once_signed_out_keeps_what_was_typed_through_signing_in_again(
        store: Store, live_server: LiveServer) -> None:
    """A sign-in ends (a working day, or signing out in another window) while a form is open: sending
    it saves nothing and asks to sign in again, carrying what was typed; once signed in, it is offered
    to be sent again, and sending it saves it, with the revision it was opened at."""
    tokens = await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        await _signed_in(client, tokens["fund"])
        typed = _organisation_form((await client.get("/organisations/test:fund/edit")).text)
        typed.update(description="Grants, advice <and> \"care\".", languages=["en", "es"])
        client.cookies.clear()  # the session is gone
        refused = await client.post("/organisations/test:fund/edit?lang=es", data=typed)
        assert refused.status_code == 401 and "Vuelva a iniciar sesión" in refused.text
        assert (await store.organisation(STEWARD, "test:fund")).description == "Grants for defenders."
        carried = _form_fields(refused.text, "/sign-in")
        assert ("then", "/organisations/test:fund/edit") in carried
        assert dict(carried)["was"] == typed["csrf"]  # only the sign-in it came from offers it again
        assert ("carried:description", "Grants, advice <and> \"care\".") in carried
        assert {v for n, v in carried if n == "carried:languages"} == {"en", "es"}
        assert not any(n == "carried:csrf" for n, _ in carried)  # the old session's value is not carried
        # what was typed, to read, by each field's label in the page's language, not its internal name
        assert "<dt>Descripción</dt>" in refused.text and "<code>description</code>" not in refused.text

        wrong = await _send(client, "/sign-in", [*carried, ("token", "not-a-token")])
        assert wrong.status_code == 400 and _form_fields(wrong.text, "/sign-in") == carried  # still kept
        empty = await _send(client, "/sign-in", carried)
        assert empty.status_code == 400 and "Escriba su token" in empty.text  # in the language chosen

        signed = await _send(client, "/sign-in", [*carried, ("token", tokens["fund"])])
        assert signed.status_code == 200 and "Enviarlo de nuevo" in signed.text
        assert "<code>/organisations/test:fund/edit</code>" in signed.text  # where it goes, said
        again = _form_fields(signed.text, "/organisations/test:fund/edit")
        assert dict(again)["csrf"] and dict(again)["description"] == "Grants, advice <and> \"care\"."
        saved = await _send(client, "/organisations/test:fund/edit", again)
        assert saved.status_code == 303
        now = await store.organisation(STEWARD, "test:fund")
        assert now.description == "Grants, advice <and> \"care\"." and now.languages == ["en", "es"]

        # signing out once signed out already just signs out
        client.cookies.clear()
        out = await client.post("/sign-out", data={"csrf": "0" * 32})
        assert out.status_code == 303 and out.headers["location"] == "/sign-in?signed-out"
        # fields another site put in a sign-in form (without the value only the person's own page held)
        # are never offered as theirs, whatever the address; nor is any address but a form's own
        staged = [("then", "/organisations/test:fund/edit"), ("carried:visibility", "public"),
                  ("carried:contact_channels", "signal:+00 666 0000"), ("token", tokens["fund"])]
        for was in ([], [("was", "0" * 32)]):
            answer = await _send(client, "/sign-in", [*staged, *was])
            assert answer.status_code == 303, was  # signed in, nothing offered
            client.cookies.clear()
        for then in ("//elsewhere.example/x", "/sign-in?again", "/x/../sign-in", "/%73ign-in", "/sign-out/"):
            answer = await _send(client, "/sign-in", [("then", then), ("carried:token", "someone-else"),
                                                      ("was", dict(carried).get("was", "")), ("token", tokens["fund"])])
            assert answer.status_code == 303, then
            client.cookies.clear()
        # a question asked once signed out is answered as the public's, not refused
        asked = await client.post("/", data={"csrf": "0" * 32, "text": "Open Fund"})
        assert asked.status_code == 200 and "Open Fund" in asked.text


async def test_a_caseworker_records_capacity_languages_and_origins_and_a_new_capacity_is_confirmed_today(
        store: Store, live_server: LiveServer) -> None:
    """What the service's page shows, its form edits: capacity (a new figure confirmed today unless a
    day is typed with it), its unit, usual response, cost, the languages it is given in, and where
    a relocation service takes defenders from."""
    from directory.jobs.rules import today
    tokens = await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        csrf = await _signed_in(client, tokens["fund"])
        form = (await client.get("/services/test:grant/edit")).text
        for name in ("capacity", "capacity_unit", "capacity_confirmed", "response_hours", "cost"):
            assert f'name="{name}"' in form, name
        assert 'id="e-origins"' in form and 'name="languages" value="es"' in form
        typed = {"csrf": csrf, "revision": _hidden(form, "revision"), "name": "Emergency grants",
                 "type": "emergency-grant", "status": "active", "present_in": ["HN"], "origins": ["HN", "GT"],
                 "languages": ["es"], "capacity": "0", "capacity_unit": "grants", "response_hours": "48",
                 "cost": "free"}
        assert (await client.post("/services/test:grant/edit", data=typed)).status_code == 303
        grant = (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"]
        assert (grant.capacity, grant.capacity_unit, grant.capacity_confirmed) == (0, "grants", today().isoformat())
        assert (grant.response_hours, grant.cost, grant.languages, grant.origins) == (48, "free", ["es"], ["GT", "HN"])
        # a day typed with a new figure is the day kept; the same figure saved again keeps its day
        form = (await client.get("/services/test:grant/edit")).text
        again = {**typed, "revision": _hidden(form, "revision"), "capacity": "2", "capacity_confirmed": "2026-11-02"}
        assert (await client.post("/services/test:grant/edit", data=again)).status_code == 303
        grant = (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"]
        assert (grant.capacity, grant.capacity_confirmed) == (2, "2026-11-02")
        form = (await client.get("/services/test:grant/edit")).text
        same = {**again, "revision": _hidden(form, "revision"), "cost": "free of charge"}
        assert (await client.post("/services/test:grant/edit", data=same)).status_code == 303
        grant = (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"]
        assert (grant.capacity, grant.capacity_confirmed, grant.cost) == (2, "2026-11-02", "free of charge")


async def test_each_field_a_refusal_names_links_to_that_field_on_the_form(store: Store,
                                                                           live_server: LiveServer) -> None:
    tokens = await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        csrf = await _signed_in(client, tokens["fund"])
        refused = await client.post("/organisations/test:fund/services/new", data={
            "csrf": csrf, "name": "Safe travel", "type": "relocation-in-country", "status": "active",
            "present_in": ["HN"], "origins": ["ZZ"], "intake_kind_1": "signal", "intake_value_1": "",
            "intake_visibility_1": "network", "windows_opens_1": "2027-03-01", "windows_closes_1": "2027-02-01"})
        typed = _organisation_form((await client.get("/organisations/test:fund/edit")).text)
        org_refused = await client.post("/organisations/test:fund/edit", data={**typed, "website": "fund dot org",
                                                                               "latitude": "95"})
    for page in (refused, org_refused):
        assert page.status_code == 400
        links = re.findall(r'<li><a href="#([^"]+)">', page.text)
        assert len(links) >= 2, page.text[:2000]
        for target in links:  # a link that goes nowhere would leave a keyboard user where they were
            # a field, or a row's cell (a Spanish walk: a row's was not marked), marked for those who
            # hear the form read
            assert f'id="{target}" aria-invalid="true"' in page.text, target
        assert page.text.count('aria-invalid="true"') == len(links)
    def linked(page: httpx.Response) -> set[str]:
        return set(re.findall(r'<li><a href="#([^"]+)">', page.text))

    assert {"e-visibility", "e-origins", "e-windows-1-opens"} <= linked(refused)
    assert {"o-website", "o-latitude"} <= linked(org_refused)


def test_a_refusal_names_service_types_by_their_labels_in_the_pages_language() -> None:
    """A walk read "un servicio de tipo psychosocial-support ... (tipos de subvención: emergency-grant,
    grant-making)": the codes a reason holds are named as the forms name them."""
    from directory.web.pages.problems import in_language

    reason = ("only a grant pays for other services: a service of type %(type)s has no purposes "
              "(grant types: %(grants)s)")
    values = {"type": "psychosocial-support", "grants": "emergency-grant, grant-making"}
    spanish = in_language(reason, values, "es")
    assert "de tipo Apoyo psicosocial" in spanish and "Subvención de emergencia, " in spanish
    assert "psychosocial-support" not in spanish and "emergency-grant" not in spanish
    assert "type Psychosocial support has" in in_language(reason, values, "en")
    assert "type made-up-type has" in in_language(reason, {**values, "type": "made-up-type"}, "en")


async def test_a_link_names_the_other_organisation_by_its_name_and_a_name_of_several_lists_them(
        store: Store, live_server: LiveServer) -> None:
    """A walk typed "Cedar Psychosocial Collective" and was told it was not a valid identifier: the
    other end is found by its exact name (never a hidden one); a name that only finds some (a part of
    one, a typo) lists them to choose from, as a link is written, not guessed."""
    tokens = await _seed(store)
    await store.upsert([Organisation("test:north", "Other Group North", "local-ngo"),
                        Organisation("test:long", "Fondo de Acción Urgente para América Latina y el Caribe Norte",
                                     "donor")], [], [])
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        csrf = await _signed_in(client, tokens["fund"])
        form = (await client.get("/organisations/test:fund/edit")).text
        assert "The other organisation (its name or id)" in form
        asked = {"csrf": csrf, "link_type": "PARTNERS_WITH", "visibility": "network"}
        several = await client.post("/organisations/test:fund/links/new", data={**asked, "other": "other"})
        assert several.status_code == 400 and await _links(store) == []
        said = ("other is the name of no organisation exactly; it finds Other Group (test:other); Other Group North "
                "(test:north). Type one of these names as it is written, or its id")
        assert str(escape(said)) in several.text
        typo = await client.post("/organisations/test:fund/links/new", data={**asked, "other": "Other Grop"})
        assert typo.status_code == 400 and "it finds Other Group (test:other)" in typo.text  # offered, not taken
        by_name = await client.post("/organisations/test:fund/links/new", data={**asked, "other": "other group"})
        assert by_name.status_code == 303
        long_name = await client.post("/organisations/test:fund/links/new", data={  # more words than a search takes
            **asked, "other": "Fondo de Acción Urgente para América Latina y el Caribe Norte"})
        assert long_name.status_code == 303
        assert sorted((x.type, x.target) for x in await _links(store)) == [
            ("PARTNERS_WITH", "test:long"), ("PARTNERS_WITH", "test:other")]
        hidden = await client.post("/organisations/test:fund/links/new", data={**asked, "other": "Hidden Shelter"})
        nowhere = await client.post("/organisations/test:fund/links/new", data={**asked, "other": "Nowhere Known"})
        assert hidden.status_code == nowhere.status_code == 400 and "test:hidden" not in hidden.text
        assert hidden.text.replace("Hidden Shelter", "X") == nowhere.text.replace("Nowhere Known", "X")
        assert "Nothing was found for Nowhere Known, or it is not shared with you." in nowhere.text


async def test_numbers_and_ways_to_ask_keep_their_own_direction_in_a_right_to_left_form(
        store: Store, live_server: LiveServer) -> None:
    """A walk in Arabic: a longitude of -75.2 read "75.2-" in the organisation's form. Coordinates and
    a service's figures are laid out left to right; a way to ask takes the direction of what is typed."""
    tokens = await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        await _signed_in(client, tokens["fund"])
        organisation = (await client.get("/organisations/test:fund/edit?lang=ar")).text
        for name in ("latitude", "longitude"):
            assert re.search(rf'<input id="o-{name}"[^>]* dir="ltr"', organisation), name
        # a Latin list or address inside an Arabic sentence keeps its commas and brackets with it
        assert "\u2066https://...\u2069" in organisation
        hint = re.search(r'<p class="hint" id="o-contact_channels-hint">(.*?)<br>', organisation, re.S)
        assert hint is not None and re.search(r"\u2066[a-z-]+(, [a-z-]+)+\u2069", hint.group(1))
        service = (await client.get("/organisations/test:fund/services/new?lang=ar")).text
        for name in ("response_hours", "capacity"):
            assert re.search(rf'<input id="e-{name}"[^>]* dir="ltr"', service), name
        assert re.search(r'<input id="e-intake-1-value"[^>]* dir="auto"', service)


async def test_a_carried_service_form_shows_what_was_typed_by_the_forms_own_labels(
        store: Store, live_server: LiveServer) -> None:
    """A walk in Arabic: a service form carried through signing in listed `intake_visibility_1`,
    `once` and `once_seal` with their raw values. Each way to ask is named as the form names it,
    its choices in words, and the form's own bookkeeping is not shown as typed."""
    tokens = await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        await _signed_in(client, tokens["fund"])
        form = (await client.get("/organisations/test:fund/services/new")).text
        typed = [*_form_fields(form, "/organisations/test:fund/services/new"), ("name", "Hotline"),
                 ("type", "legal-aid"), ("visibility", "public"), ("intake_kind_1", "phone"),
                 ("intake_value_1", "+00 000 1111"), ("intake_visibility_1", "network")]
        assert any(name == "once" for name, _ in typed)  # the form's own
        client.cookies.clear()
        refused = await _send(client, "/organisations/test:fund/services/new", typed)
        assert refused.status_code == 401
        said = refused.text.split("<dl>")[1].split("</dl>")[0]
        assert "<code>" not in said, said
        assert "<dt>Where to ask 1: How</dt><dd>Phone</dd>" in said
        assert "<dt>Where to ask 1: Who may see it</dt><dd>" in said and "network</dd>" not in said


async def test_a_save_over_someone_elses_changes_keeps_them_and_asks_only_about_a_field_both_changed(
        store: Store, live_server: LiveServer) -> None:
    """A steward's walk: the steward opened a safe house's form, its member then saved capacity 3 and
    new hours, the steward changed only a channel's visibility; the conflict page listed capacity and
    hours as "You typed" and "save again" put back 4 and no hours. A form sends the fields the person
    changed: a change to other fields meanwhile is kept and the save goes through; a field both
    changed is the one question asked, with everything else as the record says now."""
    tokens = await _seed(store)
    steward = (await store.tokens.create("steward", None, "desk"))[1]
    grant = (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"]
    assert grant.provenance is not None
    await store.save_service(STEWARD, Edit({"id": "test:grant", "capacity": "4", "capacity_unit": "grants",
                                            "intake": ["restricted signal:+00 000 333"]}), grant.provenance.revision)
    async with httpx.AsyncClient(base_url=live_server.url) as desk, httpx.AsyncClient(base_url=live_server.url) as fund:
        await _signed_in(desk, steward)
        await _signed_in(fund, tokens["fund"])
        opened = (await desk.get("/services/test:grant/edit")).text
        theirs = dict(browser_form((await fund.get("/services/test:grant/edit")).text, "/services/test:grant/edit"))
        assert (await fund.post("/services/test:grant/edit", data={**theirs, "capacity": "3",
                                                                   "hours": "Mon-Sat 8:00-18:00"})).status_code == 303
        mine = [(n, "network" if n == "intake_visibility_1" else v)
                for n, v in browser_form(opened, "/services/test:grant/edit")]
        saved = await _send(desk, "/services/test:grant/edit", mine)
        assert saved.status_code == 303, saved.text[-800:]
        now = (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"]
        assert (now.capacity, now.hours) == (3, "Mon-Sat 8:00-18:00")  # the member's work kept
        assert [str(i) for i in now.intake] == ["network signal:+00 000 333"]  # and the steward's change made
        # both change the hours: only the hours are asked about, the member's capacity shown as it is now
        opened = (await desk.get("/services/test:grant/edit")).text
        theirs = dict(browser_form((await fund.get("/services/test:grant/edit")).text, "/services/test:grant/edit"))
        assert (await fund.post("/services/test:grant/edit", data={**theirs, "capacity": "2",
                                                                   "hours": "mornings"})).status_code == 303
        mine = [(n, "evenings" if n == "hours" else v) for n, v in browser_form(opened, "/services/test:grant/edit")]
        stale = await _send(desk, "/services/test:grant/edit", mine)
        assert stale.status_code == 409 and '<th scope="row">Hours</th>' in stale.text
        assert "Capacity: how many it can take now</th>" not in stale.text
        again = browser_form(stale.text, "/services/test:grant/edit")
        assert ("capacity", "2") in again and ("hours", "evenings") in again
        assert (await _send(desk, "/services/test:grant/edit", again)).status_code == 303
        now = (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"]
        assert (now.capacity, now.hours) == (2, "evenings")


async def test_an_organisations_form_saved_over_another_change_keeps_it(store: Store,
                                                                        live_server: LiveServer) -> None:
    tokens = await _seed(store)
    steward = (await store.tokens.create("steward", None, "desk"))[1]
    async with httpx.AsyncClient(base_url=live_server.url) as desk, httpx.AsyncClient(base_url=live_server.url) as fund:
        await _signed_in(desk, steward)
        await _signed_in(fund, tokens["fund"])
        opened = (await desk.get("/organisations/test:fund/edit")).text
        theirs = browser_form((await fund.get("/organisations/test:fund/edit")).text, "/organisations/test:fund/edit")
        theirs = [(n, "Grants and advice." if n == "description" else v) for n, v in theirs]
        assert (await _send(fund, "/organisations/test:fund/edit", theirs)).status_code == 303
        changed = {"visibility": "network", "latitude": "14.07", "longitude": "-87.19", "precision": "locality"}
        mine = [(n, changed.get(n, v)) for n, v in browser_form(opened, "/organisations/test:fund/edit")]
        saved = await _send(desk, "/organisations/test:fund/edit", mine)
        assert saved.status_code == 303, saved.text[-800:]
        now = await store.organisation(STEWARD, "test:fund")
        assert now.description == "Grants and advice." and now.visibility is Visibility.NETWORK
        assert now.location is not None
        assert (now.location.latitude, now.location.precision) == (14.07, Precision.LOCALITY)


async def test_who_may_see_a_record_and_where_it_is_changed_by_two_people_at_once_are_asked_about(
        store: Store, live_server: LiveServer) -> None:
    """An attacker's read: a member types a point into a restricted record at country precision (safe
    alone), a steward meanwhile makes it public at exact precision (safe alone, with no point): saved
    over each other, a public exact point nobody chose. Asked about, nothing written."""
    tokens = await _seed(store)
    steward = (await store.tokens.create("steward", None, "desk"))[1]
    found = await store.organisation(STEWARD, "test:fund")
    assert found.provenance is not None
    await store.save_organisation(STEWARD, Edit({"id": "test:fund", "visibility": "restricted"}),
                                  found.provenance.revision)
    async with httpx.AsyncClient(base_url=live_server.url) as desk, httpx.AsyncClient(base_url=live_server.url) as fund:
        await _signed_in(desk, steward)
        await _signed_in(fund, tokens["fund"])
        opened = (await fund.get("/organisations/test:fund/edit")).text
        theirs = browser_form((await desk.get("/organisations/test:fund/edit")).text, "/organisations/test:fund/edit")
        made_public = {"visibility": "public", "precision": "exact"}
        assert (await _send(desk, "/organisations/test:fund/edit",
                            [(n, made_public.get(n, v)) for n, v in theirs])).status_code == 303
        point = {"latitude": "14.07", "longitude": "-87.19"}
        stale = await _send(fund, "/organisations/test:fund/edit",
                            [(n, point.get(n, v)) for n, v in browser_form(opened, "/organisations/test:fund/edit")])
    assert stale.status_code == 409
    for heading in ("Latitude", "Who may see it", "Shown on maps at this precision"):
        assert f'<th scope="row">{heading}</th>' in stale.text, heading
    now = await store.organisation(STEWARD, "test:fund")
    assert now.location is not None and now.location.latitude is None and now.visibility is Visibility.PUBLIC


async def test_pausing_a_service_from_its_form_says_since_today_unless_a_day_is_typed(
        store: Store, live_server: LiveServer) -> None:
    """A steward's walk paused a service from its form and its status said since nothing."""
    from directory.jobs.rules import today

    tokens = await _seed(store)
    async with httpx.AsyncClient(base_url=live_server.url) as fund:
        await _signed_in(fund, tokens["fund"])
        form = browser_form((await fund.get("/services/test:grant/edit")).text, "/services/test:grant/edit")
        paused = [(n, "paused" if n == "status" else v) for n, v in form]
        assert (await _send(fund, "/services/test:grant/edit", paused)).status_code == 303
        now = (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"]
        assert (now.status.value, now.status_since) == ("paused", today().isoformat())
        form = browser_form((await fund.get("/services/test:grant/edit")).text, "/services/test:grant/edit")
        again = [(n, "active" if n == "status" else "2026-11-30" if n == "status_since" else v) for n, v in form]
        assert (await _send(fund, "/services/test:grant/edit", again)).status_code == 303
        now = (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"]
        assert (now.status.value, now.status_since) == ("active", "2026-11-30")
