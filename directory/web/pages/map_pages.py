"""The map pages under /maps: each map kind drawn for the viewer, in the page's language, and its
refusals as pages in that language (`maps.routes` serves the assets and says the maps' policy).

A map needs JavaScript: its page says so to a browser that runs none, and points to the pages,
which give the same answers without it. A filter longer than `forms.FIELD_LENGTH` is refused before
anything is drawn, so no refusal repeats a long input back.
"""

from __future__ import annotations

import functools
import logging
from typing import Any
from urllib.parse import urlencode

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route, Router, request_response

from directory.base import budget
from directory.base.budget import Busy, OverBudget, Slots
from directory.base.config import Settings
from directory.base.scope import viewer_in
from directory.domain.errors import BadArgument, NotFound, Plural
from directory.jobs import questions
from directory.web.pages import forms, i18n, words
from directory.web.pages.jobs import ORDERS
from directory.web.pages.problems import said
from directory.web.pages.reading import Reading, written_number
from directory.web.pages.render import (
    HEADERS,
    currencies,
    day,
    environment,
    language_label,
    language_of,
    page,
    place_name,
)
from directory.web.pages.routes import BROWSE_FIELDS, choices
from directory.web.pages.typed_names import NAMED, by_name, places_read
from maps.gaps_map import METRICS
from maps.page import Options, Words
from maps.questions import KINDS, MapKind, chosen, draw
from maps.routes import asset, policy

log = logging.getLogger("directory.maps")


async def _words(request: Request, language: str) -> Words:
    """What a map says, as the pages say it in `language`: their catalogue, the jobs' reasons read as
    the job pages read them, places by their names in it, numbers as it writes them."""
    offered, translated = await choices(request.app.state.store), i18n.translations(language)
    return Words(translate=translated.gettext,
                 reason=Reading(language, dict(offered["service_type"]), dict(offered["group"])).text,
                 place=functools.partial(place_name, language=language),
                 number=functools.partial(written_number, language=language),
                 language=functools.partial(language_label, language=language), comma=i18n.comma(language),
                 colon=i18n.colon(language),
                 channel=lambda kind: translated.gettext(words.INTAKE.get(kind, kind)),
                 day=functools.partial(day, language=language), isolated=i18n.direction(language) == "rtl")


# the job page asking what a map draws, its form filled in by a link (`jobs._given`)
SAME_QUESTION = {"gaps": ("/gaps", questions.GAPS.names), "funding": ("/gaps", questions.GAPS.names),
                 "referrals": ("/referrals", questions.REFERRALS.names),
                 "directory": ("/", BROWSE_FIELDS)}


def _same_question(kind: str, args: dict[str, str]) -> str:
    """For a browser running no JavaScript, the map's question on the page that answers it without
    a map, filled in: nothing to type again. Empty for a map no page asks."""
    if kind not in SAME_QUESTION:
        return ""
    path, names = SAME_QUESTION[kind]
    return f"{path}?{urlencode([(k, v) for k, v in args.items() if k in names and v])}"


async def map_page(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    language = language_of(request)
    # the index's forms post what is typed (an organisation's name), so it stays out of addresses and
    # referrers; a link from a page (codes only) asks by GET; indicators chosen in a list come as
    # several values, and are given separated by commas, as a link gives them
    args = ({name: ",".join(values) if name == "indicators" else values[0]
             for name, values in (await forms.read(request, writes=False)).items() if values}
            if request.method == "POST" else dict(request.query_params))
    args.pop("lang", None)  # the language switch's, not a filter
    slots: Slots = request.app.state.slots
    kind = None
    try:
        for name, value in args.items():
            if len(value) > forms.FIELD_LENGTH:
                raise BadArgument(name, Plural("is longer than %(most)s character",
                                               "is longer than %(most)s characters", "most"), most=forms.FIELD_LENGTH)
        kind = chosen(request.path_params["kind"], args)  # a map that exists, asked what it takes, first
        asked = places_read({name: [value] for name, value in args.items()})
        async with budget.expensive(slots, settings.time_budget):
            # an organisation may be given by its name, as on the job pages; several found: the person chooses
            which = await by_name(request.app.state.store, viewer_in(request.scope),
                                  [f for f in kind.filters if f in questions.ORGANISATION_OPTIONS], asked)
            if which:
                return await _refused(request, 400, kind, args, which=which[:NAMED], more_named=len(which) > NAMED)
            resolved = {name: values[0] for name, values in asked.items()}
            # the no-script link asks by address: organisations by id, never a name as it was typed
            without_script = environment(language).get_template("_map-noscript.html").render(
                same=_same_question(kind.name, resolved))
            options = Options(inline=False, tiles=settings.map_tiles,
                              tiles_attribution=settings.map_tiles_attribution, language=language,
                              direction=i18n.direction(language), words=await _words(request, language),
                              without_script=without_script)
            drawn = await draw(kind.name, request.app.state.store, viewer_in(request.scope), resolved, settings,
                               options)
    except (BadArgument, NotFound) as exc:
        field = exc.argument if isinstance(exc, BadArgument) and kind and exc.argument in kind.filters else None
        return await _refused(request, 404 if isinstance(exc, NotFound) else 400, kind, args,
                              problem=said(exc, language, words.MAP_FILTERS), problem_field=field)
    except Busy as exc:
        refused = await _refused(request, 503, None, args, busy=exc.retry_after)
        refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    except (TimeoutError, OverBudget):
        log.warning("a map request ran out of its time budget")
        return await _refused(request, 503, None, args, too_slow=True)
    # the pages' headers (no referrer to a tile server, no sniffing, varying by language), with the
    # map's own policy: its script and inline styles, and the tiles when a tile server is configured
    return HTMLResponse(drawn, headers={**HEADERS, "Content-Security-Policy": policy(settings),
                                        "Content-Language": language})


async def _choosing(request: Request) -> dict[str, Any]:
    """What the maps' forms choose from, in the page's language."""
    store = request.app.state.store
    return {"metrics": {k: m.label for k, m in METRICS.items()}, "choices": await choices(store),
            "orders": ORDERS, "currencies": currencies(language_of(request)),
            "indicators": await store.jobs.indicator_names(viewer_in(request.scope))}


async def maps_index(request: Request) -> Response:
    """Each map's form, with choices instead of codes, posted so that what is typed (an organisation's
    name) stays out of addresses; a page's link to a map gives its codes in the address (shareable)."""
    return page(request, "maps.html", kinds=KINDS, **await _choosing(request))


async def _refused(request: Request, status: int, kind: MapKind | None, args: dict[str, str],
                   **said: Any) -> Response:
    """A map not drawn, and why, above its form filled in with what was asked (the field refused
    marked): nothing to choose or type again. Without a kind (not known, or a refusal for being busy,
    which must cost no read), no form."""
    choosing = await _choosing(request) if kind is not None else {}
    return page(request, "map-refused.html", status=status, kind=kind, given=args, **said, **choosing)


# Pages and assets are gzipped for browsers that accept it: a 100k-organisation map is a few MB of
# JSON that compresses about fourfold, which matters on the slow links many defenders work over.
# The index of maps, its forms' lists of countries 76 kB, is gzipped as every other page is.
routes = [
    Route("/maps", GZipMiddleware(request_response(maps_index), minimum_size=1024), methods=["GET", "HEAD"]),
    Mount("/maps", app=GZipMiddleware(Router(routes=[
        Route("/assets/{name:path}", asset),
        Route("/{kind}", map_page, methods=["GET", "POST"]),
    ]), minimum_size=1024)),
]
