"""The pages people use without writing GraphQL: find organisations, open one, read the taxonomy.

Every page reads through the store's door with the request's viewer (`base.scope.viewer_in`),
exactly as GraphQL does: no query of its own, no rule of its own. What someone types travels in a
POST body, never in a URL (where browsers, proxies and logs keep it). A hidden organisation's page
is the missing one's page, byte for byte.
"""

from __future__ import annotations

from collections import defaultdict
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from directory.base.clock import now
from directory.base.scope import viewer_in
from directory.domain import places
from directory.domain.errors import BadArgument, NotFound
from directory.domain.ids import own_id
from directory.domain.model import Location, Precision, Service
from directory.domain.taxonomy import DEFENDER_GROUP, ORGANISATION_KIND, SERVICE_TYPE, Term
from directory.domain.viewer import Viewer
from directory.store import PREFIX_FROM, Covered, Filter, Follow, Located, Pick, Shape, Store
from directory.web.pages import forms, i18n, suggest, words
from directory.web.pages.problems import said
from directory.web.pages.render import language_of, page, sortable
from maps.sketch import sketch

PAGE_SIZE = 20
# What a page of results shows of each organisation, read as plain values in one statement
# (`store.project_page`): no record is built or redacted for fields the page never shows.
FOUND = Shape("organisation", (
    Pick("id", "id"), Pick("name", "name"), Pick("kind", "kind"),
    Located("location", (("country", "country"), ("precision", "precision"), ("subdivision", "subdivision"),
                         ("latitude", "latitude"))),
    Follow("services", "services", Shape("service", (
        Pick("type", "type"), Pick("status", "status"), Pick("purposes", "purposes"),
        Covered("coverage", (("place", "place"),)))))))


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def choices(store: Store) -> dict[str, list[tuple[str, str]]]:
    return _choices(await store.terms())


def _choices(found: list[Term]) -> dict[str, list[tuple[str, str]]]:
    """Each filter's choices, as code and (English) label; the template translates the labels."""
    terms: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for t in found:
        terms[t.scheme].append((t.code, t.label))
    return {"service_type": sorted(terms[SERVICE_TYPE], key=lambda x: x[1]),
            "group": sorted(terms[DEFENDER_GROUP], key=lambda x: x[1]),
            "kind": sorted(terms[ORGANISATION_KIND], key=lambda x: x[1]),
            "country": sorted(((c, p.name) for c, p in places.countries().items() if c not in places.UNPEOPLED),
                              key=lambda x: x[1]),
            "language": sorted(((c, places.language_names()[c]) for c in _COMMON_LANGUAGES), key=lambda x: x[1]),
            "region": [(c, a.name) for c, a in places.areas().items()] +
                      [(c, p.name) for c, (p, _) in places.named_regions().items()]}


# The languages offered in the browse form: those of the organisations' and services' records are
# many more (ISO 639-3), but a form of 7,000 choices helps nobody; the API takes any code.
_COMMON_LANGUAGES = ("ar", "en", "es", "fr", "ru", "pt", "fa", "zh", "tr", "sw", "am", "ur", "hi", "bn", "id", "my",
                     "th", "vi", "ne", "ps", "ku", "uk", "ka", "hy", "az", "kk", "ky", "uz", "tg", "tk", "so", "ha",
                     "yo", "ig", "ln", "rw", "lg", "ach", "quc", "mam", "kek", "cab", "qu", "ay", "gn", "ht")


def _labels(found: list[Term]) -> dict[str, dict[str, str]]:
    """Each scheme's codes and their (English) labels, for naming what a record holds."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for t in found:
        out[t.scheme][t.code] = t.label
    return out


BROWSE_FIELDS = ("serviceType", "country", "group", "language", "kind", "takingRequests")


async def home(request: Request) -> Response:
    """The search and browse forms; a link fills the browse form in (a map's question, for a browser
    running no JavaScript), and nothing is asked until the person presses the button."""
    store = _store(request)
    given = {k: v[:forms.FIELD_LENGTH] for k in BROWSE_FIELDS if (v := request.query_params.get(k))}
    return page(request, "home.html", choices=await choices(store), asked=given, results=None)


_SCHEMES = {"serviceType": SERVICE_TYPE, "group": DEFENDER_GROUP, "kind": ORGANISATION_KIND}


def _browsed(given: dict[str, str]) -> Filter:
    """The browse form's filter. Its place is a country or, once the country was chosen, one of
    its subdivisions (`render.place_options`): one field, as a person picks one place. Taking
    requests now: who can help this week, the first question of a defender (a walk). A world
    region (UN M49) is offered too: who works around a country where nobody offers what is needed."""
    place = given.get("country")
    part = places.subdivision_code(place) if place else None
    region = place if place in places.areas() else None
    return Filter(service_type=given.get("serviceType"), country=None if part or region else place,
                  subdivision=part, region=region, group=given.get("group"),
                  language=given.get("language"), kind=given.get("kind"),
                  taking_requests=True if given.get("takingRequests") else None)


async def _next_questions(store: Store, viewer: Viewer, asked: dict[str, str],
                          labels: dict[str, dict[str, str]]) -> dict[str, Any]:
    """For a browse that found nobody, where to go next rather than "try fewer filters": the same
    browse without each filter given, where that finds someone the viewer may see (`without`: the
    field, its code, its English label and what is left), the same browse in the place around the
    one asked (`wider`: the place, the question and how many it finds), and where nobody the viewer
    may see offers the service in the country at all, that gap's question (`gap_question`)."""
    given = {k: asked[k] for k in BROWSE_FIELDS if asked.get(k)}
    without = []
    for name, value in given.items():
        rest = {k: v for k, v in given.items() if k != name}
        if rest and (await store.list_organisations(viewer, _browsed(rest), 1)).total:
            said = "Yes" if name == "takingRequests" else labels.get(_SCHEMES.get(name, ""), {}).get(value, value)
            without.append((name, value, said, rest))
    wider = None
    if (around := _around(given.get("country", ""))) is not None:
        rest = {**given, "country": around}
        if found := (await store.list_organisations(viewer, _browsed(rest), 1)).total:
            wider = (around, rest, found)
    service, country = given.get("serviceType"), given.get("country", "")
    gap = None
    if service and len(country) == 2:
        alone = {"serviceType": service, "country": country}
        if alone == given or not (await store.list_organisations(viewer, _browsed(alone), 1)).total:
            gap = {"country": country, "serviceTypes": service}
    return {"without": without, "wider": wider, "gap_question": gap}


def _around(place: str) -> str | None:
    """The place around one asked: a subdivision's country; a country's UN sub-region (Eastern
    Africa around Uganda: a regional relocation or a neighbour's lawyers may help where nobody
    in the country can); none around a region."""
    if (country := places.part_of(place)) is not None:
        return country
    if place in places.countries():
        return next((a for a in places.enclosing(place)[1:] if a in places.areas()), None)
    return None


def _page_number(asked: dict[str, str]) -> int:
    """Which page of the results this is, as the next page's form carried it (1 without a cursor)."""
    return (forms.digits(asked.get("page", ""), 6) or 1) if asked.get("after") else 1


FEWER_WORDS = 4  # a name search of at most this many words that finds nobody tries each without one


async def _fewer_words(store: Store, viewer: Viewer, text: str) -> list[tuple[str, int]]:
    """For a name search that found nobody, the same words less one that find someone the viewer
    may see, and how many: "amnesty kenya" names nobody, "amnesty" does (a newcomer's walk; the
    place is offered as a filter beside it)."""
    words = text.split()
    if not 2 <= len(words) <= FEWER_WORDS:
        return []
    out = []
    for left_out in range(len(words)):
        fewer = " ".join(words[:left_out] + words[left_out + 1:])
        try:
            found = await store.search(viewer, fewer, ("organisation",), 1)
        except BadArgument:  # only words too short or too long to search for
            continue
        if found.total:
            out.append((fewer, found.total))
    return out


# the search and browse forms' labels, by field: a refusal names the field as the form does
SEARCH_LABELS = {"text": "Name, or part of it (spelling mistakes are fine)", "serviceType": "Service",
                 "country": "Country", "group": "Defenders served", "language": "Language",
                 "kind": "Kind of organisation", "takingRequests": "Taking requests now", "after": "Next page",
                 "subdivision": "Country"}  # the one place field: a subdivision is chosen in it too


async def results(request: Request) -> Response:
    """Search by name (typo tolerant, as the API) or browse by filters; a page at a time."""
    store = _store(request)
    viewer = viewer_in(request.scope)
    terms = await store.terms()  # once, for the form's choices and the results' labels
    offered = _choices(terms)
    asked: dict[str, str] = {}
    try:
        asked = forms.first(await forms.read(request, writes=False))
        text = asked.get("text", "")
        total: int | None
        if text:
            found = await store.search_projected(viewer, text, {"organisation": FOUND}, PAGE_SIZE, asked.get("after"))
            organisations = [found.records[(h.kind, h.id)] for h in found.hits]
            total, has_next, cursors = found.total, found.has_next, found.cursors
        else:
            listed = await store.project_page(viewer, FOUND, _browsed(asked), PAGE_SIZE, asked.get("after"), count=True)
            organisations, total, has_next, cursors = listed.items, listed.total, listed.has_next, listed.cursors
    except BadArgument as exc:
        return page(request, "home.html", status=400, choices=offered, asked=asked, results=None,
                    problem=said(exc, language_of(request), SEARCH_LABELS))
    # a word of one or two letters is matched whole, never as a start: say so when nothing was found
    # for words that are all that short ("op"; not "legal aid in kenya", whose "in" is no name's start)
    short = bool(text.split()) and all(len(word) < PREFIX_FROM for word in text.split())
    nothing = {} if organisations or text else await _next_questions(store, viewer, asked, _labels(terms))
    if text and not organisations:
        nothing = {"fewer": await _fewer_words(store, viewer, text)}
    return page(request, "home.html", choices=offered, asked=asked, labels=_labels(terms), short=short, **nothing,
                results=[_found(o) for o in organisations], total=total,
                after=cursors[-1] if has_next and cursors else None,
                suggested=suggest.suggest(text, offered, language_of(request)), field_labels=SEARCH_LABELS,
                page_size=PAGE_SIZE, page_number=_page_number(asked),
                ours=store.directory_id)


def _found(o: dict[str, Any]) -> dict[str, Any]:
    """One result as the page shows it: the places its services work in, each once, in the order
    they first come."""
    reach = dict.fromkeys(c["place"] for s in o["services"] for c in s["coverage"])
    where = o["location"]
    # what its grants pay for: a filter on a service type finds them by it, so the row says it
    pays_for = dict.fromkeys(p for s in o["services"] for p in s["purposes"] or [])
    return {**o, "reach": list(reach), "pays_for": list(pays_for),
            "precision": shown_at(Precision[where["precision"]], where["latitude"], where["subdivision"])}


async def organisation(request: Request) -> Response:
    store = _store(request)
    viewer = viewer_in(request.scope)
    record_id = request.path_params["record_id"]
    try:
        found = await store.organisation(viewer, record_id)
    except NotFound:
        # an id without our directory's part, as the CLI and the job pages take it: its page, if the
        # viewer may see it; else the missing page, the same for a hidden one as for none
        own = own_id(record_id, store.directory_id)
        if own != record_id and await store.organisations_by_id(viewer, [own]):
            return RedirectResponse(f"/organisations/{own}", status_code=303)
        return page(request, "missing.html", status=404)
    services = (await store.services_of(viewer, [found.id])).get(found.id, [])
    out_links = await store.links_of(viewer, [found.id], "out")
    in_links = await store.links_of(viewer, [found.id], "in")
    ends = {x.target for x in out_links} | {x.source for x in in_links}
    others = await store.organisations_by_id(viewer, sorted(ends))
    links = [("out", x, others.get(x.target)) for x in out_links] + [("in", x, others.get(x.source)) for x in in_links]
    # the sketch is drawn from the location as the store showed it to this viewer
    return page(request, "organisation.html", o=found, services=services, labels=_labels(await store.terms()),
                links=[(words.LINKS[(way, x.type)], other) for way, x, other in links if other], where=_where,
                sketch=sketch(found.location), shown_at=_shown_at(found.location), today=now()[:10],
                saved=request.query_params.get("saved") == "1" and viewer.may_write(found.id),
                origin=found.id.rpartition(":")[0], ours=store.directory_id)


def _shown_at(loc: Location | None) -> str:
    return shown_at(loc.precision, loc.latitude, loc.subdivision) if loc else "country"


def shown_at(precision: Precision, latitude: float | None, subdivision: str | None) -> str:
    """How precisely a page places an organisation: its published precision, or coarser when the
    record holds no point (a country alone is shown as a country, whatever precision was allowed)."""
    if latitude is not None:
        return precision.value
    return "admin_area" if subdivision else "country"


def _where(service: Service) -> dict[str, list[str]]:
    """A service's places by how it works there: present, remote, and where defenders come from."""
    out: dict[str, list[str]] = {"present": [], "remote": [], "origins": list(service.origins)}
    for c in service.coverage:
        out[c.presence.value].append(c.place)
    return out


async def taxonomy(request: Request) -> Response:
    terms: dict[str, list[Any]] = defaultdict(list)
    for t in await _store(request).terms():
        terms[t.scheme].append(t)
    label = i18n.translations(language_of(request)).gettext
    for listed in terms.values():  # in the order of their labels as the page reads them, not of their codes
        listed.sort(key=lambda t: (sortable(label(t.label)), t.code))
    return page(request, "taxonomy.html", terms=terms)


async def stylesheet(request: Request) -> Response:
    css = resources.files("directory.web").joinpath("static", "pages.css").read_bytes()
    return Response(css, media_type="text/css", headers={"Cache-Control": "public, max-age=86400"})


async def icon(request: Request) -> Response:
    """The site's icon, also at /favicon.ico where browsers (and the maps' pages) look for it: a
    missing one is an error in every page's console."""
    svg = resources.files("directory.web").joinpath("static", "icon.svg").read_bytes()
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


async def missing(request: Request) -> Response:
    """Any other address: the page a missing record gets, so no address tells more than another."""
    return page(request, "missing.html", status=404)


# Last of all the pages' routes (app.py puts it there).
fallback = Route("/{anything:path}", missing, methods=["GET", "POST"])

routes = [
    Route("/", home, methods=["GET"]),
    Route("/", results, methods=["POST"]),
    Route("/organisations/{record_id}", organisation),  # ids hold no "/": under it are the edit forms
    Route("/taxonomy", taxonomy),
    Route("/pages.css", stylesheet),
    Route("/icon.svg", icon),
    Route("/favicon.ico", icon),
]
