"""The coverage gap map and the funding map: one service type's gap matrix drawn as a choropleth.

Countries (or one country's subdivisions) are coloured by a metric of their cell, with tooltips
giving the cell's figures and flags, and places with no provider or a single one marked "0" and
"1". The funding map adds, for a viewer who may see funding, a circle per place sized by the
money its providers receive, so money can be read against the gaps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import folium
from branca.colormap import LinearColormap

from directory.base import budget
from directory.domain import geometry, places
from directory.domain.errors import BadArgument
from directory.domain.taxonomy import DEFENDER_GROUP, SERVICE_TYPE
from directory.domain.viewer import Viewer
from directory.jobs.gaps import Cell, Flag, GapMatrix, GapQuestion, coverage_gaps, hide_unseen_funding
from directory.store import Store
from maps.directory_map import labels
from maps.page import LAND, NO_DATA, Call, Options, Words, base_map, basemap, outlines, render


@dataclass(frozen=True)
class Metric:
    label: str
    value: Callable[[Cell], float | None]
    worse_when_high: bool


METRICS = {
    "score": Metric("Gap score (0-100)", lambda c: c.score, True),
    "providers": Metric("Providers delivering there", lambda c: float(len(c.present)), False),
    "remote": Metric("Providers reaching it remotely", lambda c: float(len(c.remote)), False),
    "stale": Metric("Providers not confirmed for a year", lambda c: float(c.stale_providers), True),
    "need": Metric("Need weight (0-1)", lambda c: c.need, True),
    "response": Metric("Median response time (hours)", lambda c: c.median_response_hours, True),
}
WORSE = ["#fff7bc", "#fec44f", "#f03b20", "#99000d"]  # low to high when high is bad
# A map is drawn for its viewer: what it says is absent is absent from what they may see.
MARKS = {Flag.NO_PROVIDER: ("0", "none", "no provider you may see"),
         Flag.SINGLE_PROVIDER: ("1", "single", "a single provider")}
FLAG_WORDS = {Flag.NO_PROVIDER: "no provider you may see", Flag.NO_LOCAL_PROVIDER: "no local provider",
              Flag.SINGLE_PROVIDER: "a single provider", Flag.STALE: "stale",
              Flag.UNFUNDED: "no funding you may see", Flag.CAPACITY_EXPIRED: "capacity expired",
              Flag.ONLY_PEERS: "only peer directories' records"}


def cell_lines(cell: Cell, name: str, words: Words) -> list[str]:
    """A cell's figures as short lines, for a tooltip."""
    figure = words.figure
    lines = [name, words.say("Gap score %(score)s", score=figure(cell.score)),
             words.say("Providers delivering there: %(present)s; reaching it remotely: %(remote)s",
                       present=figure(len(cell.present)), remote=figure(len(cell.remote))),
             words.say("Need weight: %(need)s", need=figure(cell.need)) if cell.need is not None
             else words.say("Need weight: unknown")]
    if cell.median_response_hours is not None:
        lines.append(words.say("Median response: %(hours)s h", hours=figure(cell.median_response_hours)))
    if cell.capacity:
        lines.append(words.say("Capacity now: %(amounts)s",
                               amounts=words.comma.join(f"{figure(a.amount)} {a.currency}" for a in cell.capacity)))
    if cell.newest_confirmation:
        lines.append(words.say("Confirmed: newest %(newest)s, oldest %(oldest)s",
                               newest=words.day(cell.newest_confirmation),  # as the page (a Spanish walk)
                               oldest=words.day(cell.oldest_confirmation or cell.newest_confirmation)))
    for f in cell.funding:
        lines.append(words.say("Funding: %(amount)s %(currency)s; grants: %(grants)s; donors: %(donors)s; the "
                               "largest donor's share: %(share)s%%", amount=figure(round(f.amount)),
                               currency=f.currency, grants=figure(f.grants), donors=figure(f.donors),
                               share=figure(round(f.top_donor_share * 100))))
    for a in cell.donor_funding:
        lines.append(words.say("Of which from the donor asked about: %(amount)s %(currency)s",
                               amount=figure(round(a.amount)), currency=a.currency))
    if cell.flags:
        lines.append(words.say("Flags: %(flags)s", flags=words.comma.join(words.translate(FLAG_WORDS.get(f, f))
                                                                  for f in cell.flags)))
    return lines


def _point(code: str) -> tuple[float, float] | None:
    shape = geometry.shape(code)
    if shape is not None and shape.label is not None:
        return shape.label
    place = places.place(code)
    if place is not None and place.latitude is not None and place.longitude is not None:
        return (place.latitude, place.longitude)
    return None


def one_service_type(q: GapQuestion) -> str:
    """The one service type a gap or funding map draws; BadArgument saying so, and how many were
    given, otherwise (a list of two read as if none was given)."""
    if not q.service_types:
        raise BadArgument("serviceTypes", "is required, with one service type: a map shows one")
    if len(q.service_types) > 1:
        raise BadArgument("serviceTypes", "a map draws one service type; %(count)s were given (%(given)s)",
                          count=len(q.service_types), given=", ".join(q.service_types))
    return q.service_types[0]


async def _matrix(store: Store, viewer: Viewer, q: GapQuestion) -> tuple[GapMatrix, dict[str, Cell], str, str]:
    """The matrix, its cells for the one service asked for, and that service's and the group's labels."""
    service = one_service_type(q)
    matrix = await coverage_gaps(store, viewer, q)
    services, groups = await labels(store, SERVICE_TYPE, DEFENDER_GROUP)
    group = groups.get(q.group, q.group) if q.group else ""
    cells = {c.place: c for c in matrix.cells if c.service_type == service}
    return matrix, cells, services.get(service, service), group


def _choropleth(m: folium.Map, q: GapQuestion, cells: dict[str, Cell], metric: Metric,
                words: Words) -> list[dict[str, object]]:
    """Colour the places; returns the legend items."""
    values = {code: metric.value(c) for code, c in cells.items()}
    known = [v for v in values.values() if v is not None]
    low, high = (min(known), max(known)) if known else (0.0, 1.0)
    if high <= low:
        high = low + 1.0
    colours = WORSE if metric.worse_when_high else list(reversed(WORSE))
    scale = LinearColormap(colours, vmin=low, vmax=high)

    def style(code: str) -> dict[str, object]:
        if code not in values:
            return {"fillColor": LAND, "color": "#8c8c8c", "weight": 0.6, "fillOpacity": 1.0}
        value = values[code]
        fill = NO_DATA if value is None else scale(value)[:7]
        return {"fillColor": fill, "color": "#555555", "weight": 0.8, "fillOpacity": 0.9}

    # the other places come from the basemap, which every map page loads (a cached asset): only the
    # answer's outlines are in the page (a region's gap map was 731 KB with all 239 countries inline)
    basemap(m)
    if q.country:
        layer = outlines("subdivisions", set(cells), style, "Subdivisions")
    else:
        layer = outlines("countries", set(cells), style, "Countries")
    layer.add_to(m)
    m.add_child(Call("pdFeatureTips", {code: cell_lines(c, words.place(code), words) for code, c in cells.items()},
                     target=layer))
    steps = 4
    items: list[dict[str, object]] = []
    for i in range(steps):
        a, b = low + (high - low) * i / steps, low + (high - low) * (i + 1) / steps
        items.append({"colour": scale((a + b) / 2)[:7], "label": words.say(
            "%(low)s to %(high)s", low=words.figure(float(f"{a:.3g}")), high=words.figure(float(f"{b:.3g}")))})
    items.append({"colour": NO_DATA, "label": words.say("no figure for this place")})
    return items


def _marks(m: folium.Map, cells: dict[str, Cell], words: Words) -> list[dict[str, object]]:
    marks = []
    for code, cell in sorted(cells.items()):
        for flag, (text, style, _) in MARKS.items():
            point = _point(code)
            if flag in cell.flags and point is not None:
                marks.append({"lat": point[0], "lon": point[1], "text": text, "style": style,
                              "lines": cell_lines(cell, words.place(code), words)})
    m.add_child(Call("pdMarks", marks))
    return [{"colour": "#000000", "text": "0", "shape": "mark", "label": words.translate(MARKS[Flag.NO_PROVIDER][2])},
            {"colour": "#e6550d", "text": "1", "shape": "mark",
             "label": words.translate(MARKS[Flag.SINGLE_PROVIDER][2])}]


def _fit(m: folium.Map, q: GapQuestion, cells: dict[str, Cell]) -> None:
    if not (q.country or q.codes or q.region):
        return
    shapes = [s for s in (geometry.shape(code) for code in cells) if s is not None]
    if shapes:
        m.add_child(Call("pdFit", [[min(s.bbox[1] for s in shapes), min(s.bbox[0] for s in shapes)],
                                   [max(s.bbox[3] for s in shapes), max(s.bbox[2] for s in shapes)]]))


def _where(q: GapQuestion, words: Words) -> str:
    if q.country:
        return words.say("in %(place)s, by subdivision", place=words.place(q.country))
    if q.region:  # by the area's name, as the question's form offers it ("in Africa", not "in 002")
        return words.say("in %(place)s", place=words.place(places.area_code(q.region) or q.region))
    return words.say("by country")


async def gap_map(store: Store, viewer: Viewer, q: GapQuestion, metric: str, options: Options) -> str:
    if metric not in METRICS:
        raise BadArgument("metric", "%(value)r is not one of %(options)s", value=metric, options=", ".join(METRICS))
    chosen = METRICS[metric]
    matrix, cells, service, group = await _matrix(store, viewer, q)
    return await budget.in_thread(_gap_page, q, matrix, cells, service, group, chosen, options)


def _gap_page(q: GapQuestion, matrix: GapMatrix, cells: dict[str, Cell], service: str, group: str, chosen: Metric,
              options: Options) -> str:
    words = options.words
    unseen = hide_unseen_funding(matrix)  # said once in the legend, as the page says it once
    m = base_map(words.say("Protection Directory: coverage gaps"), options)
    items = _choropleth(m, q, cells, chosen, words)
    items += _marks(m, cells, words)
    notes = [words.say("%(metric)s. Places: %(count)s.", metric=words.translate(chosen.label),
                       count=words.figure(len(cells))), words.say("Point at or tap a place for its figures and flags.")]
    if sum(1 for c in cells.values() if set(c.flags) & set(MARKS)) > 60:
        notes.append(words.say("Zoom in to see which places have no provider or a single one."))
    if matrix.indicators:
        notes.append(words.say("Need weighed by: %(indicators)s", indicators=words.comma.join(matrix.indicators)))
    if unseen:
        notes.append(words.say("No funding you may see reaches any provider here (funders often keep their grants "
                               "hidden), so no place is flagged for it."))
    title = (words.say("Gaps: %(service)s for %(group)s, %(where)s", service=words.translate(service),
                       group=words.translate(group), where=_where(q, words))
             if group else
             words.say("Gaps: %(service)s, %(where)s", service=words.translate(service), where=_where(q, words)))
    m.add_child(Call("pdLegend", {"title": title, "items": items, "notes": notes}))
    _fit(m, q, cells)
    budget.check()  # the request may have given up while the page was being built
    return render(m, options)


async def funding_map(store: Store, viewer: Viewer, q: GapQuestion, currency: str | None, options: Options) -> str:
    matrix, cells, service, _group = await _matrix(store, viewer, q)
    return await budget.in_thread(_funding_page, q, matrix, cells, service, currency, options)


def _funding_page(q: GapQuestion, matrix: GapMatrix, cells: dict[str, Cell], service: str, currency: str | None,
                  options: Options) -> str:
    currencies = sorted({f.currency for c in cells.values() for f in c.funding})
    if currency is not None and currency not in currencies:
        if not currencies:
            raise BadArgument("currency", "no funding in %(value)r is visible for this question; visible: none",
                              value=currency)
        raise BadArgument("currency", "no funding in %(value)r is visible for this question; visible: %(options)s",
                          value=currency, options=", ".join(currencies))
    totals = {cur: sum(f.amount for c in cells.values() for f in c.funding if f.currency == cur) for cur in currencies}
    chosen = currency or (max(currencies, key=lambda cur: totals[cur]) if currencies else None)
    words = options.words
    banner = "" if chosen else words.say("No funding for this service is visible to you.")
    m = base_map(words.say("Protection Directory: funding against gaps"), options, subtitle=banner)
    items = _choropleth(m, q, cells, METRICS["score"], words)
    amounts = {code: sum(f.amount for f in c.funding if f.currency == chosen) for code, c in cells.items()}
    largest = max(amounts.values(), default=0.0)
    circles = []
    for code, amount in sorted(amounts.items()):
        point = _point(code)
        if amount > 0 and point is not None and largest > 0:
            circles.append({"lat": point[0], "lon": point[1], "radius": round(4 + 26 * math.sqrt(amount / largest), 1),
                            "lines": cell_lines(cells[code], words.place(code), words)})
    m.add_child(Call("pdCircles", circles))
    items.append({"colour": "#2e86c1", "shape": "dot",
                  "label": words.say("funding received (%(currency)s), area by amount", currency=chosen)
                  if chosen else words.say("funding received (none visible)")})
    notes = [words.say("Colour: gap score (0-100). Circles: money received by the providers working there."),
             words.say("A grant counts in every place its recipient works in: the directory does not know how it "
                       "splits.")]
    if matrix.donor:
        notes.append(words.say("Tooltips give the part from %(donor)s.", donor=matrix.donor))
    m.add_child(Call("pdLegend", {"title": words.say("Funding and gaps: %(service)s, %(where)s",
                                                     service=words.translate(service), where=_where(q, words)),
                                  "items": items, "notes": notes}))
    _fit(m, q, cells)
    budget.check()  # the request may have given up while the page was being built
    return render(m, options)
