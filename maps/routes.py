"""Map pages under /maps: one page per map kind, and the assets they load (the index is one of the
pages for people, `directory.web.pages`).

A map page is drawn for the viewer its request authenticates as (`Authorization: Bearer`, as
for GraphQL; a browser without one gets the public map). Its Content-Security-Policy lets the
page load nothing but this service's own assets (and the tile server, when one is configured),
so even a mistake in a template could not make a browser reach out.
"""

from __future__ import annotations

import html
import logging
from urllib.parse import urlsplit

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route, Router

from directory.base import budget
from directory.base.budget import Busy, OverBudget, Slots
from directory.base.config import Settings
from directory.base.scope import viewer_in
from directory.domain.errors import BadArgument, NotFound
from maps import assets
from maps.page import Options
from maps.questions import draw

log = logging.getLogger("directory.maps")


def policy(settings: Settings) -> str:
    images = "'self' data:"
    if settings.map_tiles:  # {s} is Leaflet's subdomain placeholder: a.tile..., b.tile...
        parts = urlsplit(settings.map_tiles)
        images += f" {parts.scheme}://{parts.netloc.replace('{s}', '*')}"
    return ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            f"img-src {images}; connect-src 'none'; font-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'self'")


def _page(title: str, body: str, settings: Settings, status: int = 200) -> HTMLResponse:
    text = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}"
            "input{margin:0 .5rem .3rem 0}</style></head><body>" + body + "</body></html>")
    headers = {"Content-Security-Policy": policy(settings), "Cache-Control": "no-store"}
    return HTMLResponse(text, status_code=status, headers=headers)


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    if not assets.known(name):
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(assets.read(name), media_type=assets.media_type(name),
                    headers={"Cache-Control": "public, max-age=86400"})


async def map_page(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    viewer = viewer_in(request.scope)
    options = Options(inline=False, tiles=settings.map_tiles, tiles_attribution=settings.map_tiles_attribution)
    slots: Slots = request.app.state.slots
    try:
        async with budget.expensive(slots, settings.time_budget):
            page = await draw(request.path_params["kind"], request.app.state.store, viewer,
                              dict(request.query_params), settings, options)
    except (BadArgument, NotFound) as exc:
        status = 404 if isinstance(exc, NotFound) else 400
        return _page("Cannot draw this map", f"<p>{html.escape(str(exc))}</p><p><a href='/maps'>Maps</a></p>",
                     settings, status)
    except Busy as exc:
        response = _page("Busy", f"<p>The service is drawing other large maps. Try again in {exc.retry_after} "
                                 "seconds.</p>", settings, 503)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except (TimeoutError, OverBudget):
        log.warning("a map request ran out of its time budget")
        return _page("Too slow", f"<p>This map took longer than {settings.time_budget:g} s. Narrow it down with "
                                 "filters.</p>", settings, 503)
    return HTMLResponse(page, headers={"Content-Security-Policy": policy(settings), "Cache-Control": "no-store"})


# Pages and assets are gzipped for browsers that accept it: a 100k-organisation map is a few MB of
# JSON that compresses about fourfold, which matters on the slow links many defenders work over.
# The index of maps, with its forms, is a page for people: `directory.web.pages`.
routes = [
    Mount("/maps", app=GZipMiddleware(Router(routes=[
        Route("/assets/{name:path}", asset),
        Route("/{kind}", map_page),
    ]), minimum_size=1024)),
]
