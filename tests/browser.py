"""A real browser for the map tests: Debian's Chromium, driven by Playwright, with the network cut off.

Chromium is sent through a proxy that does not exist, so anything not on loopback fails to
connect; every request is also routed through `Visit`, which lets through only the service's
own origin and `data:` URIs and records the rest. Playwright downloads no browser here.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from PIL import Image
from playwright.async_api import Browser, Page, Route, async_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--proxy-server=http://127.0.0.1:9",
        "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1200, "height": 700}


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Visit:
    page: Page
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    outside: list[str] = field(default_factory=list)  # requests that tried to leave the service
    screenshot: bytes = b""

    def image(self) -> Image.Image:
        return Image.open(io.BytesIO(self.screenshot)).convert("RGB")

    def colours(self) -> int:
        """How many distinct colours the screenshot holds: a blank page has one or two."""
        return len(self.image().resize((300, 175)).getcolors(maxcolors=300 * 175) or [])

    async def count(self, selector: str) -> int:
        return int(await self.page.locator(selector).count())

    async def pixel_at(self, latitude: float, longitude: float) -> tuple[int, int, int]:
        """The screenshot's colour where the map draws this point."""
        x, y = await self.page.evaluate("""([lat, lon]) => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            const p = map.latLngToContainerPoint([lat, lon]);
            return [Math.round(p.x), Math.round(p.y)];
        }""", [latitude, longitude])
        pixel: tuple[int, int, int] = self.image().getpixel((x, y))
        return pixel


async def visit(browser: Browser, url: str, token: str | None = None, wait_for: str = ".leaflet-overlay-pane path",
                settle_ms: int = 800, viewport: dict[str, int] | None = None) -> Visit:
    """Open a map page and wait until it has drawn; the caller closes `visit.page.context`."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    context = await browser.new_context(viewport=viewport or VIEWPORT, extra_http_headers=headers)  # type: ignore[arg-type]
    page = await context.new_page()
    seen = Visit(page)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))

    async def guard(route: Route) -> None:
        target = route.request.url
        if target.startswith(origin + "/") or target.startswith("data:"):
            await route.continue_()
        else:
            seen.outside.append(target)
            await route.abort()

    await context.route("**/*", guard)
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    await page.goto(url, wait_until="load")
    await page.wait_for_selector(wait_for, state="attached", timeout=30_000)
    await page.wait_for_timeout(settle_ms)
    seen.screenshot = await page.screenshot()
    return seen


def close_to(actual: tuple[int, int, int], expected: str, tolerance: int = 14) -> bool:
    wanted = tuple(int(expected[i:i + 2], 16) for i in (1, 3, 5))
    return all(abs(a - b) <= tolerance for a, b in zip(actual, wanted, strict=True))


def blend(fill: str, under: str, opacity: float) -> str:
    """The colour a fill of this opacity shows over another."""
    f = [int(fill[i:i + 2], 16) for i in (1, 3, 5)]
    u = [int(under[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(a * opacity + b * (1 - opacity)):02x}" for a, b in zip(f, u, strict=True))
