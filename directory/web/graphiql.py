"""GraphiQL for integrators at GET /graphql, from this machine only.

GraphiQL and React are installed from the npm registry at set-up (`make setup`, into
directory/web/graphiql/node_modules); our page, its script and its stylesheet are ours. Every file
the page loads is served under /graphql/assets/ from an allow-list, by name: nothing is read from a
path a request names, so no request can reach another file. Without the npm files the page says how
to install them; the app still starts.

What the page must not become:
- a way to run queries from a URL: a GET that carries `query` goes to the GraphQL gate, which
  refuses queries over GET exactly as before (queries never travel in URLs, logs or referrers);
- a way to spend the pages' session: its script sends no cookie (`credentials: "omit"`), and the
  API ignores the cookie anyway (`directory.web.auth`); a person pastes a bearer token instead;
- a way to load or send anything elsewhere: its Content-Security-Policy allows this origin only.
"""

from __future__ import annotations

import functools
import gzip
import secrets
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

HERE = Path(__file__).resolve().parent / "graphiql"
MODULES = HERE / "node_modules"
PREFIX = "/graphql/assets/"

# name served under /graphql/assets/ -> file on disk; nothing else is ever served there
FILES: dict[str, Path] = {
    "react.js": MODULES / "react" / "umd" / "react.production.min.js",
    "react-dom.js": MODULES / "react-dom" / "umd" / "react-dom.production.min.js",
    "graphiql.js": MODULES / "graphiql" / "graphiql.min.js",
    "graphiql.css": MODULES / "graphiql" / "graphiql.min.css",
    "start.js": HERE / "start.js",
    "page.css": HERE / "page.css",
}
SCRIPTS = ("react.js", "react-dom.js", "graphiql.js", "start.js")  # in this order: each needs the ones before
STYLES = ("graphiql.css", "page.css")
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

NONCE_META = "pd-style-nonce"
HEADERS = {"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def policy(style_nonce: str | None = None) -> str:
    """The page's Content-Security-Policy: this origin only, no inline script, no eval.

    GraphiQL's stylesheet carries its fonts and a few images as data: URIs, hence `data:` for those
    two. Styles need no 'unsafe-inline': React and CodeMirror set styles through the DOM, which CSP
    allows. GraphiQL's dialogs (settings, shortcuts, docs search) add one <style> element for their
    scroll lock (react-remove-scroll, which reads `__webpack_nonce__`): a nonce fresh for each response
    lets that one in, where 'unsafe-inline' would let in any injected style."""
    styles = "'self'" + (f" 'nonce-{style_nonce}'" if style_nonce else "")
    return (f"default-src 'none'; script-src 'self'; style-src {styles}; img-src 'self' data:; font-src data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


NOTE = ("<a href='/'>Back to the directory</a> · "
        "This explorer does not use your sign-in to the pages: to ask as a member or steward, paste "
        "<code>{\"Authorization\": \"Bearer pd_...\"}</code> in its Headers pane. Queries are sent by POST, "
        "never in the address.")
INSTALL = ("GraphiQL's files are not installed on this server. Run <code>make setup</code> (it runs "
           "<code>npm ci</code> in directory/web/graphiql), then reload. The API itself works: POST queries "
           "to /graphql.")


def missing() -> list[str]:
    """The allow-listed files not on disk; empty once `make setup` has run."""
    return [name for name, path in FILES.items() if not path.is_file()]


def _page(body: str, head: str = "") -> str:
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>GraphiQL: Protection Directory</title>{head}</head><body>{body}</body></html>")


def page() -> HTMLResponse:
    """The explorer, or how to install it when its files are missing (503: the server is not ready)."""
    if missing():
        own_style = f"<link rel='stylesheet' href='{PREFIX}page.css'>"  # ours: there without `make setup`
        body = f"<h1>GraphiQL</h1><p class='pd-note'>{INSTALL}</p>"
        headers = {**HEADERS, "Content-Security-Policy": policy()}
        return HTMLResponse(_page(body, own_style), status_code=503, headers=headers)
    nonce = secrets.token_hex(16)
    head = f"<meta name='{NONCE_META}' content='{nonce}'>"
    head += "".join(f"<link rel='stylesheet' href='{PREFIX}{name}'>" for name in STYLES)
    scripts = "".join(f"<script src='{PREFIX}{name}'></script>" for name in SCRIPTS)
    body = (f"<p class='pd-note'>{NOTE}</p><div id='graphiql'></div>"
            "<noscript><p>GraphiQL needs JavaScript. Without it, POST queries to /graphql as JSON.</p></noscript>"
            f"{scripts}")
    return HTMLResponse(_page(body, head), headers={**HEADERS, "Content-Security-Policy": policy(nonce)})


@functools.cache
def _read(name: str) -> tuple[bytes, bytes]:
    """An asset's bytes and their gzip form, read once: the files only change with `make setup`
    and a restart."""
    data = FILES[name].read_bytes()
    return data, gzip.compress(data, compresslevel=9, mtime=0)


async def asset(request: Request) -> Response:
    """One allow-listed file by its name; 404 for any other name. Cacheable: the page is not."""
    name = request.path_params["name"]
    if name not in FILES or not FILES[name].is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    plain, packed = _read(name)
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff",
               "Vary": "Accept-Encoding"}
    gzipped = "gzip" in request.headers.get("accept-encoding", "")
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return Response(packed if gzipped else plain, media_type=MEDIA_TYPES[FILES[name].suffix], headers=headers)


class Explorer:
    """GET /graphql: the explorer page; anything else, and any GET carrying a query, goes to `api`
    (the GraphQL gate) untouched."""

    def __init__(self, api: ASGIApp) -> None:
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        if scope["method"] == "GET" and "query" not in request.query_params:
            await page()(scope, receive, send)
            return
        await self.api(scope, receive, send)


def routes(api: ASGIApp) -> list[BaseRoute]:
    """/graphql (the explorer on GET, `api` for the rest) and the explorer's files."""
    return [Route("/graphql", Explorer(api), methods=["GET", "POST"]),
            Route(PREFIX + "{name}", asset, methods=["GET"])]
