"""The pages as people use them: journeys in a real browser (Debian's Chromium), offline, with the
keyboard where a person would use it, no request leaving the service and no script error.

With PD_SCREENSHOTS=DIR set, each journey's last page is also written there as page-NAME.png; the
README's pictures in docs/images/ are made this way.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.async_api import Page

from directory.domain.viewer import STEWARD
from directory.exchange import demo
from directory.store import Asked, Edit, Store
from tests.browser import chromium, visit
from tests.conftest import LiveServer

pytestmark = pytest.mark.anyio


def _keep(page_name: str, shot: bytes) -> None:
    folder = os.environ.get("PD_SCREENSHOTS")
    if folder:
        (Path(folder) / f"page-{page_name}.png").write_bytes(shot)


async def _done(page: Page, name: str) -> None:
    _keep(name, await page.screenshot(full_page=False))


async def _sign_in(page: Page, url: str, token: str, role: str) -> None:
    """Sign in as a person does, with the keyboard: open the form, type the token, press Enter;
    the header then says who is signed in (in English: the form is asked for in English)."""
    await page.goto(url + "/sign-in?lang=en")
    await page.fill("#f-token", token)
    await page.keyboard.press("Enter")
    await page.wait_for_selector(f"text=Signed in as a {role}")


async def _fits(page: Page, label: str) -> None:
    """The page is no wider than a phone's 375 pixels; if not, what sticks out is named."""
    wide = await page.evaluate("document.documentElement.scrollWidth")
    wider = await page.evaluate("""[...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > 375).map(e => e.tagName + '#' + e.id)""")
    assert wide <= 375, (label, wide, wider[:10])


async def test_journeys_of_a_local_group_a_donor_and_an_ingo_desk(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    _, steward = await store.tokens.create("steward", None, "desk")
    async with chromium() as browser:
        seen = await visit(browser, live_server.url + "/", wait_for="form")
        page = seen.page
        try:
            # a local group: types a half-remembered name, presses Enter, opens the organisation
            await page.focus("#f-text")
            await page.keyboard.type("front line defendrs")
            await page.keyboard.press("Enter")
            await page.wait_for_selector("ol.results a")
            assert "defendrs" not in page.url.lower()  # what was typed is not in the address
            await page.click("ol.results a >> text=Front Line Defenders")
            await page.wait_for_selector("h1")
            assert await page.inner_text("h1") == "Front Line Defenders"
            assert await page.locator("text=How to ask").count() > 0
            await _done(page, "organisation")
            # a local group not yet listed: its country and what it needs, then a partner's page
            await page.goto(live_server.url + "/partners")
            await page.select_option("#f-country", "UG")
            await page.select_option("#f-serviceTypes", ["emergency-grant", "legal-aid"])
            await page.click("form.filters button[type=submit]")
            await page.wait_for_selector("table a")
            partner = await page.inner_text("table tbody tr:first-child a")
            await page.click("table tbody tr:first-child a")
            await page.wait_for_selector("h1")
            assert await page.inner_text("h1") == partner
            # a donor: the gaps of a region, then the CSV
            await page.goto(live_server.url + "/gaps")
            await page.select_option("#f-region", "019")  # the Americas, by name in the list
            await page.select_option("#f-serviceTypes", ["emergency-grant"])
            await page.click("form.filters button[type=submit]")
            await page.wait_for_selector("table")
            assert await page.locator("text=Only region- or world-wide providers reach it").count() > 0
            await _done(page, "gaps")
            async with page.expect_download() as download:
                await page.click("text=Download as CSV")
            assert (await download.value).suggested_filename == "gaps-019-emergency-grant.csv"  # its question
            # an INGO desk signs in and asks for a chain
            await _sign_in(page, live_server.url, steward, "steward")
            await page.goto(live_server.url + "/referrals")
            await page.fill("#f-from", "test:fict-lakeside-rights")
            await page.select_option("#f-serviceType", "safe-house")
            await page.select_option("#f-country", "TZ")
            await page.click("form.filters button[type=submit]")
            await page.wait_for_selector("table")
            assert " → " in await page.inner_text("table")  # a chain, its steps arrows
            await _done(page, "referrals")
            assert not seen.outside and not seen.errors, (seen.outside, seen.errors)
        finally:
            await page.context.close()


async def test_a_member_edits_a_service_through_a_conflict(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    _, member = await store.tokens.create("member", "test:front-line-defenders", "FLD desk")
    async with chromium() as browser:
        seen = await visit(browser, live_server.url + "/sign-in", wait_for="form")
        page = seen.page
        try:
            await page.fill("#f-token", member)
            await page.keyboard.press("Enter")
            await page.wait_for_selector("text=Signed in as a member")
            await page.goto(live_server.url + "/organisations/test:front-line-defenders")
            await page.click("a[href='/services/test:fld-emergency-line/edit']")
            await page.wait_for_selector("#e-hours")
            await page.fill("#e-hours", "24/7, also on holidays")
            # meanwhile a steward changes the same service
            found = (await store.services_by_id(STEWARD, ["test:fld-emergency-line"]))["test:fld-emergency-line"]
            assert found.provenance is not None
            await store.save_service(STEWARD, Edit({"id": found.id, "hours": "night shifts only"}),
                                     found.provenance.revision)
            await page.click("form button[type=submit] >> text=Save")
            await page.wait_for_selector("text=It says now")
            table = await page.inner_text("table")
            assert "night shifts only" in table and "24/7, also on holidays" in table
            assert await page.input_value("#e-hours") == "24/7, also on holidays"  # what they typed is kept
            await _done(page, "edit-conflict")
            await page.click("form button[type=submit] >> text=Save")
            await page.wait_for_selector("h1 >> text=Front Line Defenders")
            saved = (await store.services_by_id(STEWARD, [found.id]))[found.id]
            assert saved.hours == "24/7, also on holidays"
            # the conflict page's own status (409) is the only thing the browser reports
            assert not seen.outside and all("409" in e for e in seen.errors), (seen.outside, seen.errors)
        finally:
            await page.context.close()


async def test_the_edit_forms_fit_a_phone_375_pixels_wide(store: Store, live_server: LiveServer) -> None:
    """Long option labels, addresses and ids once pushed the edit pages sideways on a phone: each
    page (and a conflict's table) is no wider than the screen."""
    await demo.load(store)
    _, member = await store.tokens.create("member", "test:front-line-defenders", "FLD desk")
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 375, "height": 800})
        page = await context.new_page()
        try:
            await _sign_in(page, live_server.url, member, "member")
            for path in ("/services/test:fld-grants/edit", "/organisations/test:front-line-defenders/edit",
                         "/organisations/test:front-line-defenders/services/new"):
                await page.goto(live_server.url + path)
                await _fits(page, path)
            await page.goto(live_server.url + "/services/test:fld-grants/edit")
            await page.check("input[name=intake_languages][value=tr]")  # ticked by name
            await page.fill("#e-hours", "https://example.org/" + "b" * 120)
            found = (await store.services_by_id(STEWARD, ["test:fld-grants"]))["test:fld-grants"]
            assert found.provenance is not None
            # the same fields changed meanwhile: asked about (other fields' changes are saved over)
            await store.save_service(STEWARD, Edit({"id": found.id, "hours": "https://example.org/" + "a" * 120,
                                                    "intake_languages": ["es"]}), found.provenance.revision)
            await page.click("form button[type=submit] >> text=Save")
            await page.wait_for_selector("text=It says now")
            assert "Turkish" in await page.inner_text("table")  # languages by name, not codes
            await _fits(page, "a conflict")
        finally:
            await context.close()


async def test_an_answer_reads_whole_words_on_a_phone_and_on_a_wide_screen(store: Store,
                                                                           live_server: LiveServer) -> None:
    """Answer tables once broke words anywhere ("Tanza|nia") and pushed columns out of sight: on a
    phone each row is a card, each value beside its column's heading; on a wide screen the table
    takes the window's width; in both no word of a cell is broken."""
    await demo.load(store)
    async with chromium() as browser:
        for width in (375, 1280):
            context = await browser.new_context(viewport={"width": width, "height": 900})
            page = await context.new_page()
            try:
                await page.goto(live_server.url + "/gaps?lang=ar")
                await page.select_option("#f-region", "014")
                await page.click("form.filters button[type=submit]")
                await page.wait_for_selector("#answer")
                assert await page.evaluate("document.documentElement.scrollWidth") <= width
                broken = await page.evaluate("""[...document.querySelectorAll('.table td')].filter(td => {
                    const words = td.innerText.split(/\\s+/).filter(w => w.length > 3);
                    const range = document.createRange();
                    return [...td.querySelectorAll('bdi, a')].some(e => {
                        range.selectNodeContents(e);
                        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                        return e.innerText.trim().indexOf(' ') < 0 && lines.size > 1;  // one word on two lines
                    });
                }).length""")
                assert broken == 0, (width, broken)
                cell = page.locator(".table tbody tr").first.locator("td").first
                label = await cell.evaluate("td => getComputedStyle(td, '::before').content")
                if width == 375:
                    assert label.strip('"') == await page.locator(".table th").first.inner_text()
                    box = await cell.bounding_box()
                    assert box is not None and box["width"] > 300  # a card's full width, not a column
                else:
                    table = await page.locator(".table").bounding_box()
                    body = await page.locator("main").bounding_box()
                    assert table is not None and body is not None and table["width"] > body["width"]
                _keep(f"gaps-ar-{width}", await page.screenshot(full_page=False))
            finally:
                await context.close()


async def test_the_stewards_pages_fit_a_phone_375_pixels_wide(store: Store, live_server: LiveServer,
                                                             tmp_path: Path) -> None:
    """The desk's tables pushed it to 511 pixels, the Revoke button out of sight, and a new token ran
    off the screen: each page is no wider than the screen, its tables as cards."""
    await demo.load(store)
    _, steward = await store.tokens.create("steward", None, "desk of the stewards of this directory")
    bad = tmp_path / "organisations.csv"
    bad.write_text("Id,Name,Kind\n#org+id,#org+name,#org+type\ntest:new-one,,local-group\n", encoding="utf-8")
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 375, "height": 800})
        page = await context.new_page()
        try:
            await _sign_in(page, live_server.url, steward, "steward")
            await page.goto(live_server.url + "/stewards?lang=fr")
            await _fits(page, "desk")
            await page.fill("#t-organisation", "test:front-line-defenders")
            await page.fill("#t-label", "Bureau de la permanence d'urgence")
            await page.click("form[action='/stewards/tokens'] button[type=submit]")
            await page.wait_for_selector(".token code")
            await _fits(page, "token")
            await page.goto(live_server.url + "/stewards/import?lang=fr")
            await page.set_input_files("#i-files", str(bad))
            await page.click("form[action='/stewards/import'] button[type=submit]")
            await page.wait_for_selector(".problem table")
            await _fits(page, "import errors")
        finally:
            await context.close()


async def test_a_steward_approves_a_request_and_uploads_a_bad_file(store: Store, live_server: LiveServer,
                                                                   tmp_path: Path) -> None:
    await demo.load(store)
    _, steward = await store.tokens.create("steward", None, "desk")
    bad = tmp_path / "organisations.csv"
    bad.write_text("Id,Name,Kind\n#org+id,#org+name,#org+type\ntest:new-one,,local-group\n", encoding="utf-8")
    async with chromium() as browser:
        seen = await visit(browser, live_server.url + "/join", wait_for="form")
        page = seen.page
        try:
            # an organisation asks to be listed, without signing in
            await page.fill("#j-name", "Colectivo Luna")
            await page.select_option("#j-kind", "local-group")
            await page.select_option("#j-country", "HN")
            await page.fill("#j-contact", "signal +00 111 222 333")
            await page.click("form button[type=submit]")
            await page.wait_for_selector("h1 >> text=Request sent")
            # a steward signs in, finds it on the desk and approves it
            await _sign_in(page, live_server.url, steward, "steward")
            await page.goto(live_server.url + "/stewards")
            await page.click("text=Colectivo Luna")
            await page.wait_for_selector("text=signal +00 111 222 333")
            await page.click("button >> text=Approve and list it")
            await page.wait_for_selector("h1 >> text=Listed")
            assert await page.locator("code").count() == 1  # the member token, shown once
            await page.click("text=Open its page")
            await page.wait_for_selector("h1 >> text=Colectivo Luna")
            # then uploads a file with a mistake, and reads where it is
            await page.goto(live_server.url + "/stewards/import")
            await page.set_input_files("#i-files", str(bad))
            await page.click("form button[type=submit] >> text=Import")
            await page.wait_for_selector("text=Nothing was written")
            report = await page.inner_text("table")
            assert "organisations.csv" in report and "3" in report and "name" in report
            await _done(page, "import-errors")
            assert not await store.organisations_by_id(STEWARD, ["test:new-one"])
            # the report page's own status (400) is the only thing the browser reports
            assert not seen.outside and all("400" in e for e in seen.errors), (seen.outside, seen.errors)
        finally:
            await page.context.close()


async def test_the_arabic_pages_read_right_to_left(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    async with chromium() as browser:
        seen = await visit(browser, live_server.url + "/?lang=ar", wait_for="form")
        try:
            direction = await seen.page.evaluate("getComputedStyle(document.body).direction")
            assert direction == "rtl" and await seen.page.evaluate("document.documentElement.lang") == "ar"
            _keep("home-ar", seen.screenshot)
            await seen.page.goto(live_server.url + "/organisations/test:front-line-defenders")
            assert await seen.page.evaluate("getComputedStyle(document.body).direction") == "rtl"
            assert await seen.page.inner_text("h1") == "Front Line Defenders"  # record text as written
            assert not seen.outside and not seen.errors
        finally:
            await seen.page.context.close()


async def test_every_page_can_be_used_with_the_keyboard_alone(store: Store, live_server: LiveServer) -> None:
    """Tab reaches the skip link first, then every link and field in order, each visibly focused."""
    await demo.load(store)
    async with chromium() as browser:
        seen = await visit(browser, live_server.url + "/", wait_for="form")
        try:
            await seen.page.keyboard.press("Tab")
            first = await seen.page.evaluate("document.activeElement.className")
            assert first == "skip"
            reached = set()
            for _ in range(40):
                await seen.page.keyboard.press("Tab")
                reached.add(await seen.page.evaluate("document.activeElement.id || document.activeElement.textContent"))
            assert {"f-text", "f-serviceType", "f-country"} <= reached
            outline = await seen.page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none"
        finally:
            await seen.page.context.close()


AXE = Path(__file__).resolve().parent.parent / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"


async def test_every_page_passes_axe_core_with_no_serious_or_critical_violation(store: Store,
                                                                              live_server: LiveServer) -> None:
    """axe-core (npm, `make setup`) runs inside the page; the pages' CSP forbids scripts, so this one
    browser context alone is told to bypass it, to let the checker in."""
    await demo.load(store)
    async with chromium() as browser:
        context = await browser.new_context(bypass_csp=True)
        page = await context.new_page()
        try:
            async def check(label: str) -> None:
                await page.add_script_tag(path=str(AXE))
                found = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
                bad = [(v["id"], v["impact"], v["nodes"][0]["target"]) for v in found["violations"]
                       if v["impact"] in ("serious", "critical")]
                assert not bad, (label, bad)

            for path in ("/", "/?lang=ar", "/organisations/test:front-line-defenders", "/taxonomy", "/partners",
                         "/gaps", "/referrals", "/maps", "/sign-in", "/join", "/organisations/test:nothing"):
                await page.goto(live_server.url + path)
                await check(path)
            await page.goto(live_server.url + "/")
            await page.select_option("#f-country", "CO")
            await page.click("form.filters button[type=submit]")
            await page.wait_for_selector("ol.results")
            await check("search results")
            await page.goto(live_server.url + "/gaps")
            await page.select_option("#f-region", "019")  # the Americas, by name in the list
            await page.select_option("#f-serviceTypes", ["emergency-grant"])
            await page.click("form.filters button[type=submit]")
            await page.wait_for_selector("table")
            await check("gap matrix")
            await page.goto(live_server.url + "/join")
            await page.click("form button[type=submit]")  # the browser's own checks stop it: still the form
            await page.evaluate("document.querySelector('form').noValidate = true")
            await page.click("form button[type=submit]")
            await page.wait_for_selector(".problem")
            await check("join problems")
            _, steward = await store.tokens.create("steward", None, "axe")
            await _sign_in(page, live_server.url, steward, "steward")
            vocab = await store.vocabulary()
            asked = await store.join_requests.ask(Asked({"name": "Colectivo Luna", "kind": "local-group",
                                                         "country": "HN"}, "signal +00 1"), "10.9.9.9", vocab)
            for path in ("/stewards", "/stewards/import", f"/stewards/requests/{asked}",
                         "/services/test:fld-grants/edit", "/organisations/test:front-line-defenders/edit",
                         "/organisations/test:front-line-defenders/services/new"):
                await page.goto(live_server.url + path)
                await check(path)
        finally:
            await context.close()
