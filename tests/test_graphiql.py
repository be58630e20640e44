"""GraphiQL at GET /graphql: a strict page, its files from this machine only, queries by POST only,
and a real run in Debian's Chromium with the network cut off."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Literal

import httpx
import pytest
from playwright.async_api import Page, Request

from directory.store import Store
from directory.web import graphiql
from tests.browser import VIEWPORT, chromium, visit
from tests.conftest import LiveServer

pytestmark = pytest.mark.anyio

TAXONOMY = "{ taxonomy { code } }"
RESPONSE = "document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
QUERY_EDITOR = "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror"
AXE = Path(__file__).resolve().parent.parent / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"


def _directives(policy: str) -> dict[str, str]:
    return {part.split()[0]: part.partition(" ")[2] for part in (p.strip() for p in policy.split(";")) if part}


def _assets(page: str) -> list[str]:
    """What the page loads: its scripts and stylesheets (a link to follow is not loaded)."""
    return re.findall(r"<(?:script|link)\b[^>]*?(?:src|href)='([^']*)'", page)


async def test_the_page_is_strict_and_loads_only_local_assets(store: Store, live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    policy = _directives(response.headers["content-security-policy"])
    assert policy["default-src"] == "'none'" and policy["script-src"] == "'self'"
    nonce = re.fullmatch(r"'self' 'nonce-([0-9a-f]{32})'", policy["style-src"])  # GraphiQL's dialogs' one style
    assert nonce and f"content='{nonce[1]}'" in response.text and policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert not re.search(r"https?:|\*|unsafe", response.headers["content-security-policy"])
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    found = _assets(response.text)
    assert found == [graphiql.PREFIX + name for name in (*graphiql.STYLES, *graphiql.SCRIPTS)]
    assert re.findall(r"<a href='([^']*)'", response.text) == ["/"]  # and a way back to the pages
    assert "<script>" not in response.text and "<style" not in response.text and "style=" not in response.text
    assert "Authorization" in response.text and "Bearer" in response.text  # how to ask with a token


async def test_every_file_the_page_loads_is_served_with_its_type(store: Store, live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        page = (await client.get("/graphql")).text
        for path in _assets(page):
            response = await client.get(path)
            kind = "text/javascript" if path.endswith(".js") else "text/css"
            assert response.status_code == 200 and response.headers["content-type"].startswith(kind), path
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.content == graphiql.FILES[path.removeprefix(graphiql.PREFIX)].read_bytes()
        async with client.stream("GET", graphiql.PREFIX + "graphiql.js", headers={"Accept-Encoding": "gzip"}) as raw:
            packed = b"".join([chunk async for chunk in raw.aiter_raw()])
    plain = graphiql.FILES["graphiql.js"].read_bytes()
    assert raw.headers["content-encoding"] == "gzip" and gzip.decompress(packed) == plain
    assert len(packed) < len(plain) / 2 and "max-age" in raw.headers["cache-control"]  # cacheable, sent small


async def test_only_the_allowed_files_are_served(store: Store, live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        for path in ("package.json", "package-lock.json", "graphiql.min.js.map", "node_modules", "..%2Fapp.py",
                     "..%2F..%2F..%2Fpyproject.toml", "%2E%2E", "react.production.min.js", "graphiql.py"):
            response = await client.get(graphiql.PREFIX + path)
            assert response.status_code == 404, path
            assert b"GraphiQL" not in response.content and b"import" not in response.content, path


async def test_a_query_still_runs_by_post_and_never_from_the_address(store: Store, live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        posted = await client.post("/graphql", json={"query": TAXONOMY})
        got = await client.get("/graphql", params={"query": TAXONOMY}, headers={"Accept": "text/html"})
    assert posted.status_code == 200 and posted.json()["data"]["taxonomy"]
    assert "<html" not in got.text and '"code"' not in got.text  # the gate refuses it, as before
    assert got.status_code != 200 or "errors" in got.text


async def test_without_its_files_the_page_says_how_to_install_them(store: Store, live_server: LiveServer,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    monkeypatch.setitem(graphiql.FILES, "graphiql.js", tmp_path / "not-installed.js")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        page = await client.get("/graphql")
        script = await client.get(graphiql.PREFIX + "graphiql.js")
        posted = await client.post("/graphql", json={"query": TAXONOMY})
    assert page.status_code == 503 and "make setup" in page.text and "<script" not in page.text
    assert page.headers["content-security-policy"] == graphiql.policy()
    assert script.status_code == 404 and posted.json()["data"]["taxonomy"]


async def _response_with(page: Page, text: str) -> str:
    """The response pane once it shows `text` (or after 30 s), polled from here: the page's CSP
    forbids the eval that `wait_for_function` needs."""
    answer = ""
    for _ in range(300):
        answer = str(await page.evaluate(RESPONSE))
        if text in answer:
            break
        await page.wait_for_timeout(100)
    return answer


async def test_graphiql_runs_a_query_offline_in_a_real_browser(store: Store, live_server: LiveServer) -> None:
    """The page loads, a query typed in the editor runs by POST and its answer shows in the response
    pane; no request leaves the service, no script error and no CSP violation, dialogs included; the
    query's POST carries no cookie, even with the pages' session cookie set; a token typed in the
    headers pane is what the API reads."""
    async with chromium() as browser:
        seen = await visit(browser, live_server.url + "/graphql", wait_for=".graphiql-query-editor .CodeMirror")
        page = seen.page
        try:
            await page.context.add_cookies([{"name": "pd_session", "value": "1.not-a-token",
                                             "url": live_server.url}])
            await page.context.add_init_script(
                "window.pdViolations = []; document.addEventListener('securitypolicyviolation', "
                "e => window.pdViolations.push(e.violatedDirective + ' ' + e.blockedURI));")
            posts: list[dict[str, str]] = []

            async def record(request: Request) -> None:
                if request.method == "POST" and request.url.endswith("/graphql"):
                    posts.append(await request.all_headers())

            page.on("request", record)
            await page.reload(wait_until="load")
            await page.wait_for_selector(".graphiql-query-editor .CodeMirror")
            await page.evaluate(f"document.querySelector('.graphiql-query-editor .CodeMirror')"
                                f".CodeMirror.setValue({TAXONOMY!r})")
            await page.click(".graphiql-execute-button")
            answer = await _response_with(page, '"taxonomy"')
            assert '"code"' in answer and '"errors"' not in answer
            for dialog in ("Open settings dialog", "Open short keys dialog"):  # each adds a nonced <style>
                await page.click(f"button[aria-label='{dialog}']")
                await page.wait_for_selector("[role=dialog]")
                await page.keyboard.press("Escape")
            assert await page.evaluate("window.pdViolations") == []
            assert posts and all("cookie" not in headers for headers in posts), posts
            assert not seen.outside and not seen.errors, (seen.outside, seen.errors)
            # the headers pane is how a token travels: a bad one is refused by the API, not ignored
            await page.evaluate("document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) "
                                ".CodeMirror').CodeMirror.setValue('{\"Authorization\": \"Bearer nope\"}')")
            await page.click(".graphiql-execute-button")
            assert "UNAUTHENTICATED" in await _response_with(page, "UNAUTHENTICATED")
            assert posts[-1].get("authorization") == "Bearer nope" and "cookie" not in posts[-1]
            assert seen.errors == ["Failed to load resource: the server responded with a status of 401 (Unauthorized)"]
        finally:
            await page.context.close()


async def _serious_violations(page: Page) -> list[tuple[str, str, list[str]]]:
    """axe-core's serious and critical findings on the page as it stands (npm, `make setup`)."""
    await page.add_script_tag(path=str(AXE))
    found = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in found["violations"]
            if v["impact"] in ("serious", "critical")]


async def _label(page: Page, selector: str) -> str:
    return str(await page.get_attribute(selector, "aria-label"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_graphiql_passes_axe_core_with_no_serious_or_critical_violation(store: Store, live_server: LiveServer,
                                                                             scheme: Literal["light", "dark"]) -> None:
    """In either colour scheme, before and after a query (one that answers, one that fails), with
    each dialog and side pane open and each editor tab shown. GraphiQL's editors are named by
    start.js; the page's CSP forbids scripts, so this context alone bypasses it to let axe-core in."""
    async with chromium() as browser:
        context = await browser.new_context(bypass_csp=True, viewport=VIEWPORT,  # type: ignore[arg-type]
                                            color_scheme=scheme)
        page = await context.new_page()
        try:
            await page.goto(live_server.url + "/graphql")
            await page.wait_for_selector(".graphiql-response .CodeMirror textarea[aria-label]", state="attached")
            assert await _label(page, ".graphiql-query-editor textarea") == "GraphQL query"
            assert await _label(page, ".graphiql-response textarea") == "Response"
            assert await _label(page, ".graphiql-editor-tool .graphiql-editor:not(.hidden) textarea") == "Headers"
            assert await _serious_violations(page) == [], "before a query"
            for query, answer in ((TAXONOMY, '"code"'), ("{ nothingHere }", '"errors"')):
                await page.evaluate(f"{QUERY_EDITOR}.setValue({query!r})")
                await page.click(".graphiql-execute-button")
                assert answer in await _response_with(page, answer)
                assert await _serious_violations(page) == [], query
            for dialog in ("Open settings dialog", "Open short keys dialog"):
                await page.click(f"button[aria-label='{dialog}']")
                await page.wait_for_selector("[role=dialog]")
                assert await _serious_violations(page) == [], dialog
                await page.keyboard.press("Escape")
                await page.wait_for_selector("[role=dialog]", state="detached")
            for pane, content in (("Documentation Explorer", "a.graphiql-doc-explorer-type-name"),
                                  ("History", ".graphiql-history-item")):
                await page.click(f"button[aria-label='Show {pane}']")
                await page.wait_for_selector(content)
                assert await _serious_violations(page) == [], pane
                await page.click(f"button[aria-label='Hide {pane}']")
            await page.click(".graphiql-editor-tools button[data-name='variables']")
            assert await _label(page, ".graphiql-editor-tool .graphiql-editor:not(.hidden) textarea") == "Variables"
            assert await _serious_violations(page) == [], "the variables pane"
        finally:
            await context.close()
