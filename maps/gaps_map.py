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
from directory.domain.taxonomy import SERVICE_TYPE
from directory.domain.viewer import Viewer
from directory.jobs.gaps import Cell, Flag, GapMatrix, GapQuestion, coverage_gaps
from directory.store import Store
from maps.directory_map import labels
from maps.page import LAND, NO_DATA, Call, Options, base_map, basemap, outlines, render


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
MARKS = {Flag.NO_PROVIDER: ("0", "none", "no provider"), Flag.SINGLE_PROVIDER: ("1", "single", "a single provider")}


def _money(amount: float) -> str:
    return f"{amount:,.0f}"


def cell_lines(cell: Cell, name: str) -> list[str]:
    """A cell's figures as short lines, for a tooltip."""
    lines = [name, f"Gap score {cell.score:g}",
             f"Providers: {len(cell.present)} delivering there, {len(cell.remote)} reaching it remotely",
             "Need weight: " + (f"{cell.need:g}" if cell.need is not None else "unknown")]
    if cell.median_response_hours is not None:
        lines.append(f"Median response: {cell.median_response_hours:g} h")
    if cell.capacity:
        lines.append("Capacity now: " + ", ".join(f"{a.amount:g} {a.currency}" for a in cell.capacity))
    if cell.newest_confirmation:
        lines.append(f"Confirmed: newest {cell.newest_confirmation}, oldest {cell.oldest_confirmation}")
    for f in cell.funding:
        lines.append(f"Funding: {_money(f.amount)} {f.currency} in {f.grants} grants from {f.donors} donors "
                     f"(top donor {f.top_donor_share:.0%})")
    for a in cell.donor_funding:
        lines.append(f"Of which from the donor asked about: {_money(a.amount)} {a.currency}")
    if cell.flags:
        lines.append("Flags: " + ", ".join(str(f).replace("_", " ") for f in cell.flags))
    return lines


def _point(code: str) -> tuple[float, float] | None:
    shape = geometry.shape(code)
    if shape is not None and shape.label is not None:
        return shape.label
    place = places.place(code)
    if place is not None and place.latitude is not None and place.longitude is not None:
        return (place.latitude, place.longitude)
    return None


def _name(code: str) -> str:
    place = places.place(code)
    return place.name if place else code


async def _matrix(store: Store, viewer: Viewer, q: GapQuestion) -> tuple[GapMatrix, dict[str, Cell], str]:
    if not q.service_types or len(q.service_types) != 1:
        raise BadArgument("serviceTypes", "is required, with one service type: a map shows one")
    service = q.service_types[0]
    matrix = await coverage_gaps(store, viewer, q)
    service_label = (await labels(store, SERVICE_TYPE))[0].get(service, service)
    return matrix, {c.place: c for c in matrix.cells if c.service_type == service}, service_label


def _choropleth(m: folium.Map, q: GapQuestion, cells: dict[str, Cell], metric: Metric) -> list[dict[str, object]]:
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
    m.add_child(Call("pdFeatureTips", {code: cell_lines(c, _name(code)) for code, c in cells.items()},
                     target=layer))
    steps = 4
    items: list[dict[str, object]] = []
    for i in range(steps):
        a, b = low + (high - low) * i / steps, low + (high - low) * (i + 1) / steps
        items.append({"colour": scale((a + b) / 2)[:7], "label": f"{a:.3g} to {b:.3g}"})
    items.append({"colour": NO_DATA, "label": "no figure for this place"})
    return items


def _marks(m: folium.Map, cells: dict[str, Cell]) -> list[dict[str, object]]:
    marks = []
    for code, cell in sorted(cells.items()):
        for flag, (text, style, _) in MARKS.items():
            point = _point(code)
            if flag in cell.flags and point is not None:
                marks.append({"lat": point[0], "lon": point[1], "text": text, "style": style,
                              "lines": cell_lines(cell, _name(code))})
    m.add_child(Call("pdMarks", marks))
    return [{"colour": "#000000", "text": "0", "shape": "mark", "label": "no provider"},
            {"colour": "#e6550d", "text": "1", "shape": "mark", "label": "a single provider"}]


def _fit(m: folium.Map, q: GapQuestion, cells: dict[str, Cell]) -> None:
    if not (q.country or q.codes or q.region):
        return
    shapes = [s for s in (geometry.shape(code) for code in cells) if s is not None]
    if shapes:
        m.add_child(Call("pdFit", [[min(s.bbox[1] for s in shapes), min(s.bbox[0] for s in shapes)],
                                   [max(s.bbox[3] for s in shapes), max(s.bbox[2] for s in shapes)]]))


def _where(q: GapQuestion) -> str:
    if q.country:
        return f"in {_name(q.country)}, by subdivision"
    if q.region:  # by the area's name, as the question's form offers it ("in Africa", not "in 002")
        return f"in {_name(places.area_code(q.region) or q.region)}"
    return "by country"


async def gap_map(store: Store, viewer: Viewer, q: GapQuestion, metric: str, options: Options) -> str:
    if metric not in METRICS:
        raise BadArgument("metric", "%(value)r is not one of %(options)s", value=metric, options=", ".join(METRICS))
    chosen = METRICS[metric]
    matrix, cells, service = await _matrix(store, viewer, q)
    return await budget.in_thread(_gap_page, q, matrix, cells, service, chosen, options)


def _gap_page(q: GapQuestion, matrix: GapMatrix, cells: dict[str, Cell], service: str, chosen: Metric,
              options: Options) -> str:
    m = base_map("Protection Directory: coverage gaps", options)
    items = _choropleth(m, q, cells, chosen)
    items += _marks(m, cells)
    group = f" for {q.group}" if q.group else ""
    notes = [f"{chosen.label}. {len(cells)} places.", "Hover a place for its figures and flags."]
    if sum(1 for c in cells.values() if set(c.flags) & set(MARKS)) > 60:
        notes.append("Zoom in to see which places have no provider or a single one.")
    if matrix.indicators:
        notes.append("Need weighed by: " + ", ".join(matrix.indicators))
    m.add_child(Call("pdLegend", {"title": f"Gaps: {service}{group}, {_where(q)}", "items": items, "notes": notes}))
    _fit(m, q, cells)
    budget.check()  # the request may have given up while the page was being built
    return render(m, options)


async def funding_map(store: Store, viewer: Viewer, q: GapQuestion, currency: str | None, options: Options) -> str:
    matrix, cells, service = await _matrix(store, viewer, q)
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
    banner = "" if chosen else "No funding for this service is visible to you."
    m = base_map("Protection Directory: funding against gaps", options, subtitle=banner)
    items = _choropleth(m, q, cells, METRICS["score"])
    amounts = {code: sum(f.amount for f in c.funding if f.currency == chosen) for code, c in cells.items()}
    largest = max(amounts.values(), default=0.0)
    circles = []
    for code, amount in sorted(amounts.items()):
        point = _point(code)
        if amount > 0 and point is not None and largest > 0:
            circles.append({"lat": point[0], "lon": point[1], "radius": round(4 + 26 * math.sqrt(amount / largest), 1),
                            "lines": cell_lines(cells[code], _name(code))})
    m.add_child(Call("pdCircles", circles))
    items.append({"colour": "#2e86c1", "shape": "dot", "label": f"funding received ({chosen}), area by amount"
                  if chosen else "funding received (none visible)"})
    notes = ["Colour: gap score (0-100). Circles: money received by the providers working there.",
             "A grant counts in every place its recipient works in: the directory does not know how it splits."]
    if matrix.donor:
        notes.append(f"Tooltips give the part from {matrix.donor}.")
    m.add_child(Call("pdLegend", {"title": f"Funding and gaps: {service}, {_where(q)}", "items": items,
                                  "notes": notes}))
    _fit(m, q, cells)
    budget.check()  # the request may have given up while the page was being built
    return render(m, options)
