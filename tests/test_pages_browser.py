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

from directory.exchange import demo
from directory.store import Store
from tests.browser import chromium, visit
from tests.conftest import LiveServer

pytestmark = pytest.mark.anyio


def _keep(page_name: str, shot: bytes) -> None:
    folder = os.environ.get("PD_SCREENSHOTS")
    if folder:
        (Path(folder) / f"page-{page_name}.png").write_bytes(shot)


async def _done(page: Page, name: str) -> None:
    _keep(name, await page.screenshot(full_page=False))


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
            # a donor: the gaps of a region, then the CSV
            await page.goto(live_server.url + "/gaps")
            await page.fill("#f-region", "region:Americas")
            await page.select_option("#f-serviceTypes", ["emergency-grant"])
            await page.click("form.filters button[type=submit]")
            await page.wait_for_selector("table")
            assert await page.locator("text=Only providers from elsewhere reach it").count() > 0
            await _done(page, "gaps")
            async with page.expect_download() as download:
                await page.click("text=Download as CSV")
            assert (await download.value).suggested_filename == "gaps.csv"
            # an INGO desk signs in and asks for a chain
            await page.goto(live_server.url + "/sign-in")
            await page.fill("#f-token", steward)
            await page.keyboard.press("Enter")
            await page.wait_for_selector("text=Signed in as a steward")
            await page.goto(live_server.url + "/referrals")
            await page.fill("#f-from", "test:fict-lakeside-rights")
            await page.select_option("#f-serviceType", "safe-house")
            await page.select_option("#f-country", "TZ")
            await page.click("form.filters button[type=submit]")
            await page.wait_for_selector("table")
            assert " > " in await page.inner_text("table")
            await _done(page, "referrals")
            assert not seen.outside and not seen.errors, (seen.outside, seen.errors)
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
            assert {"f-text", "f-service_type", "f-country"} <= reached
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
                         "/gaps", "/referrals", "/maps", "/sign-in", "/organisations/test:nothing"):
                await page.goto(live_server.url + path)
                await check(path)
            await page.goto(live_server.url + "/")
            await page.select_option("#f-country", "CO")
            await page.click("form.filters button[type=submit]")
            await page.wait_for_selector("ol.results")
            await check("search results")
            await page.goto(live_server.url + "/gaps")
            await page.fill("#f-region", "region:Americas")
            await page.select_option("#f-serviceTypes", ["emergency-grant"])
            await page.click("form.filters button[type=submit]")
            await page.wait_for_selector("table")
            await check("gap matrix")
        finally:
            await context.close()
