"""The maps as a person sees them: each opened from the running service in a real browser, offline.

With PD_SCREENSHOTS=DIR set, the demo maps' screenshots are also written there; the README's
pictures in docs/images/ are made this way.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlencode

import pytest

from directory.exchange import demo
from directory.store import Store
from maps.gaps_map import WORSE
from maps.page import LAND
from tests.browser import blend, chromium, close_to, visit
from tests.conftest import LiveServer
from tests.helpers import load, org, service
from tests.test_maps import XSS

pytestmark = pytest.mark.anyio

SEA = "#cfe3ef"
DEMO_MAPS = {
    "directory": ("directory", {}, False, ".pd-marker, .marker-cluster"),
    "gaps": ("gaps", {"serviceTypes": "legal-aid", "country": "CO"}, False, ".pd-mark"),
    "referrals": ("referrals", {"from": "test:fict-lakeside-rights", "serviceType": "safe-house", "country": "TZ"},
                  True, ".pd-path"),
    "funding": ("funding", {"serviceTypes": "legal-aid"}, True, ".pd-circle"),
}


@pytest.mark.parametrize("name", list(DEMO_MAPS))
async def test_each_map_draws_offline_with_no_error_and_no_request_out(store: Store, live_server: LiveServer,
                                                                       name: str) -> None:
    await demo.load(store)
    kind, params, as_steward, drawn = DEMO_MAPS[name]
    token = (await store.tokens.create("steward", None))[1] if as_steward else None
    async with chromium() as browser:
        seen = await visit(browser, f"{live_server.url}/maps/{kind}?{urlencode(params)}", token, wait_for=drawn)
        assert seen.errors == []
        assert seen.outside == []
        assert await seen.count(".leaflet-overlay-pane path") > 30  # the outlines are drawn
        assert await seen.count(drawn) >= 1
        assert seen.colours() > 40  # not a blank page
        if folder := os.environ.get("PD_SCREENSHOTS"):
            Path(folder).mkdir(parents=True, exist_ok=True)
            (Path(folder) / f"map-{name}.png").write_bytes(seen.screenshot)
        await seen.page.context.close()


async def test_on_a_phone_a_gap_map_opens_on_its_places_with_its_legend_beside_them(store: Store,
                                                                                   live_server: LiveServer) -> None:
    # it opened zoomed out to Europe and Asia, room kept for a legend that lies over the map on a phone
    await demo.load(store)
    params = urlencode({"serviceTypes": "legal-aid", "region": "014"})  # Eastern Africa
    async with chromium() as browser:
        seen = await visit(browser, f"{live_server.url}/maps/gaps?{params}", wait_for=".pd-mark",
                           viewport={"width": 375, "height": 700})
        assert seen.errors == [] and seen.outside == []
        view = await seen.page.evaluate("""() => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            const b = map.getBounds();
            return {zoom: map.getZoom(), nairobi: b.contains([-1.29, 36.82]), dar: b.contains([-6.8, 39.28]),
                    paris: b.contains([48.86, 2.35])};
        }""")
        assert view["nairobi"] and view["dar"] and not view["paris"] and view["zoom"] >= 3, view
        legend = await seen.page.locator(".pd-legend").first.bounding_box()
        assert legend is not None and legend["width"] <= 0.6 * 375 and legend["height"] <= 0.4 * 700, legend
        await seen.page.context.close()


async def test_a_directory_map_of_a_country_shows_the_whole_country(store: Store, live_server: LiveServer) -> None:
    # from an organisation's page, "open on the full map": two markers alone zoomed to a patch of
    # ground with no outline, nothing to say it was Colombia
    await demo.load(store)
    async with chromium() as browser:
        seen = await visit(browser, f"{live_server.url}/maps/directory?country=CO",
                           wait_for=".pd-marker, .marker-cluster", viewport={"width": 375, "height": 700})
        view = await seen.page.evaluate("""() => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            const b = map.getBounds();
            return {bogota: b.contains([4.71, -74.07]), leticia: b.contains([-4.2, -69.94]),
                    riohacha: b.contains([11.54, -72.91]), zoom: map.getZoom()};
        }""")
        assert view["bogota"] and view["leticia"] and view["riohacha"] and view["zoom"] >= 3, view
        await seen.page.context.close()


async def test_gap_colours_are_where_the_data_says(store: Store, live_server: LiveServer) -> None:
    # Legal aid: three providers in Brazil, none in Russia; China is not asked about.
    await load(store, [org(f"br{i}", **{"#country+code": "BR"}) for i in range(3)],
               [service(f"br{i}-legal", f"br{i}", **{"#country+code+present": "BR"}) for i in range(3)])
    params = urlencode({"serviceTypes": "legal-aid", "codes": "BR,RU"})
    async with chromium() as browser:
        seen = await visit(browser, f"{live_server.url}/maps/gaps?{params}")
        assert seen.errors == [] and seen.outside == []
        brazil = await seen.pixel_at(-5.0, -45.0)  # Maranhão, away from the marks
        russia = await seen.pixel_at(55.0, 60.0)  # Chelyabinsk
        china = await seen.pixel_at(32.0, 100.0)
        assert close_to(brazil, blend(WORSE[0], SEA, 0.9)), brazil  # smallest gap: the lightest colour
        assert close_to(russia, blend(WORSE[-1], SEA, 0.9)), russia  # largest gap: the darkest
        assert close_to(china, LAND), china
        await seen.page.context.close()


async def test_a_hostile_name_shows_as_text_and_runs_nothing(store: Store, live_server: LiveServer) -> None:
    await load(store, [org("xss", XSS, **{"#country+code": "KE", "#geo+lat": "-0.09", "#geo+lon": "34.77",
                                          "#geo+precision": "exact"})])
    async with chromium() as browser:
        seen = await visit(browser, f"{live_server.url}/maps/directory", wait_for=".pd-marker")
        await seen.page.locator(".pd-marker").first.click()
        popup = seen.page.locator(".pd-popup .pd-title")
        await popup.wait_for()
        assert await popup.inner_text() == XSS
        assert await seen.page.evaluate("window.pwned === undefined")
        assert seen.errors == [] and seen.outside == []
        await seen.page.context.close()


async def test_the_harness_notices_a_request_that_leaves() -> None:
    # The guard the tests above rely on: a page asking for an outside image is caught and recorded.
    page = ('data:text/html,<img src="https://tiles.example.org/1/1/1.png">'
            '<div class="leaflet-overlay-pane"><svg><path d="M0 0"/></svg></div>')
    async with chromium() as browser:
        seen = await visit(browser, page, settle_ms=300)
        assert seen.outside == ["https://tiles.example.org/1/1/1.png"]
        await seen.page.context.close()


async def test_a_map_in_spanish_titles_its_buttons_and_labels_its_popups_in_spanish(store: Store,
                                                                                     live_server: LiveServer) -> None:
    await load(store, [org("rio", "Colectivo Río Claro", **{"#country+code": "CO", "#geo+lat": "6.25",
                                                           "#geo+lon": "-75.56", "#geo+precision": "exact"})])
    async with chromium() as browser:
        seen = await visit(browser, f"{live_server.url}/maps/directory?lang=es", wait_for=".pd-marker")
        assert seen.errors == []
        assert await seen.page.get_attribute(".leaflet-control-zoom-in", "title") == "Acercar"
        assert await seen.page.get_attribute(".leaflet-control-zoom-out", "title") == "Alejar"
        scale = await seen.page.locator(".leaflet-control-scale").inner_text()
        assert "km" in scale and "mi" not in scale.split()  # kilometres only
        await seen.page.locator(".pd-marker").first.click()
        popup = seen.page.locator(".pd-popup")
        await popup.wait_for()
        text = await popup.inner_text()
        assert "Lugar: Colombia" in text and "Se muestra en su punto registrado." in text and "Place" not in text
        await seen.page.context.close()


async def test_a_keyboard_reaches_the_organisations_and_the_gap_shapes_each_named(store: Store,
                                                                                 live_server: LiveServer) -> None:
    """A walk with a keyboard and a screen reader reached no marker, and heard the gap map's places as "path"."""
    await demo.load(store)
    async with chromium() as browser:
        seen = await visit(browser, f"{live_server.url}/maps/directory?country=KE", wait_for=".pd-marker")
        assert seen.errors == [] and seen.outside == []
        markers = await seen.page.evaluate("""() => [...document.querySelectorAll('.pd-marker')].map(
            m => [m.getAttribute('tabindex'), m.getAttribute('role'), m.getAttribute('aria-label')])""")
        assert markers and all(t == "0" and r == "button" and name for t, r, name in markers), markers
        await seen.page.focus(".pd-marker")
        await seen.page.keyboard.press("Enter")  # its popup opens, as a click opens it
        await seen.page.wait_for_selector(".pd-popup")
        await seen.page.context.close()
        params = urlencode({"serviceTypes": "legal-aid", "country": "CO"})
        seen = await visit(browser, f"{live_server.url}/maps/gaps?{params}", wait_for=".pd-mark")
        shapes = await seen.page.evaluate("""() => [
            ...document.querySelectorAll('.leaflet-overlay-pane path[aria-label]')
        ].map(p => [p.getAttribute('tabindex'), p.getAttribute('aria-label')])""")
        assert len(shapes) > 20 and any(label.startswith("Antioquia") for _, label in shapes), shapes[:3]
        await seen.page.focus('.leaflet-overlay-pane path[aria-label^="Antioquia"]')
        await seen.page.wait_for_selector(".leaflet-tooltip .pd-tip")  # what a pointer would show
        await seen.page.context.close()
