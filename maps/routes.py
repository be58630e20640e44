"""What the map pages load, and what they may load: the assets under /maps/assets and the pages'
Content-Security-Policy. The pages themselves, drawn in the page's language, are
`directory.web.pages.map_pages`.

A map page is drawn for the viewer its request authenticates as (`Authorization: Bearer`, as
for GraphQL; a browser without one gets the public map). Its Content-Security-Policy lets the
page load nothing but this service's own assets (and the tile server, when one is configured),
so even a mistake in a template could not make a browser reach out.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from directory.base.config import Settings
from maps import assets


def policy(settings: Settings) -> str:
    images = "'self' data:"
    if settings.map_tiles:  # {s} is Leaflet's subdomain placeholder: a.tile..., b.tile...
        parts = urlsplit(settings.map_tiles)
        images += f" {parts.scheme}://{parts.netloc.replace('{s}', '*')}"
    return ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            f"img-src {images}; connect-src 'none'; font-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'self'")


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    if not assets.known(name):
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(assets.read(name), media_type=assets.media_type(name),
                    headers={"Cache-Control": "public, max-age=86400"})
