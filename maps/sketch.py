"""A small outline map for an organisation's page: its country, with its place marked no more
precisely than the location it is given (already shown for the viewer by the store).

The page is for slow links and no JavaScript, so the sketch is a few KB of inline SVG: the
basemap's outlines (`directory.domain.geometry`) projected once per country onto a box of about
240 by 180 units, simplified (half a unit, more for a country of many islands, so it stays
under 4 KB) and rounded to whole units, then cached. What is
marked follows `location.precision` alone, never any other field the location might carry:

| precision          | marked                                                     |
|--------------------|------------------------------------------------------------|
| exact, locality    | a small circle at the location's point                     |
| admin_area         | the subdivision shaded (the country, when it has none)     |
| country            | the country shaded                                         |
| hidden, no country | no sketch at all                                           |

At country precision a location carries the country's representative point, and a steward's or
owner's view carries the recorded point: neither is drawn, since the precision says the place
is the country. Distant islands and overseas parts (Hawaii, French Guiana, Easter Island) are
left out of the frame unless the mark is there, so the country itself stays readable.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from directory.domain import geometry
from directory.domain.model import Location, Precision

__all__ = ["Sketch", "sketch"]

WIDTH, HEIGHT = 240, 180  # the largest the drawing gets, in SVG units (about CSS pixels)
PAD = 5  # units around the outline, so a stroke or a circle on the edge is not cut
TOLERANCES = (0.5, 0.75, 1.0, 1.5, 2.0)  # units a simplified outline may stray from the basemap's, finest first
BUDGET = 4000  # characters of path data a country's outline is simplified down to (Canada's islands need 1.5)
SPECK = 2  # units: a part of the land smaller than this across is left out
MIN_SPAN = 1.0  # degrees a frame spans at least, so a city-state is drawn small rather than blown up
NEAR = 0.75  # how far (in sizes of the largest part) other parts may lie and still frame the country

Point = tuple[float, float]  # (longitude, latitude)
Box = tuple[float, float, float, float]  # west, south, east, north


@dataclass(frozen=True)
class Sketch:
    """What the page draws: the SVG's size, the country's outline as path data, and one mark."""

    width: int
    height: int
    land: str  # path data of the country's outline
    marks: str  # what is marked: "country" (the land shaded), "subdivision" or "point"
    subdivision: str = ""  # path data of the subdivision shaded, when it is the mark
    point: tuple[int, int] | None = None  # the circle's centre, in the same units, when it is the mark


@dataclass(frozen=True)
class _Frame:
    """Where on the drawing a longitude and latitude fall."""

    shift: bool  # longitudes west of 0 are moved east by 360 (a country across the antimeridian)
    box: Box
    scale: float  # units per degree of latitude
    squeeze: float  # cosine of the middle latitude: how much narrower a degree of longitude is
    width: int
    height: int

    def lon(self, longitude: float) -> float:
        return longitude + 360 if self.shift and longitude < 0 else longitude

    def project(self, longitude: float, latitude: float) -> Point:
        west, _, _, north = self.box
        return (PAD + (self.lon(longitude) - west) * self.squeeze * self.scale, PAD + (north - latitude) * self.scale)


def sketch(location: Location | None) -> Sketch | None:
    """The sketch of a location as the viewer may see it, or None when there is nothing to draw."""
    if location is None or location.precision is Precision.HIDDEN or not location.country:
        return None
    country = location.country
    if geometry.shape(country) is None:
        return None
    if location.precision in (Precision.EXACT, Precision.LOCALITY):
        if location.latitude is None or location.longitude is None \
                or not (math.isfinite(location.latitude) and math.isfinite(location.longitude)):
            return None  # a point precision without a point: drawing the country would say more than is known
        whole = not _inside(_frame(country, False), (location.longitude, location.latitude))
        frame = _frame(country, whole)
        x, y = frame.project(location.longitude, location.latitude)
        centre = (min(max(round(x), PAD), frame.width - PAD), min(max(round(y), PAD), frame.height - PAD))
        return Sketch(frame.width, frame.height, _land(country, whole), "point", point=centre)
    subdivision = location.subdivision if location.precision is Precision.ADMIN_AREA else None
    if not subdivision or geometry.shape(subdivision) is None:  # country precision, or no outline of the subdivision
        frame = _frame(country, False)
        return Sketch(frame.width, frame.height, _land(country, False), "country")
    whole = not _meets(_frame(country, False), subdivision)
    frame = _frame(country, whole)
    return Sketch(frame.width, frame.height, _land(country, whole), "subdivision", _shade(subdivision, country, whole))


def _rings(code: str, shift: bool) -> list[tuple[Point, ...]]:
    """A place's rings, those wholly west of 0 moved east by 360 when the country crosses the antimeridian."""
    found = geometry.shape(code)
    if found is None:
        return []
    return [tuple((x + 360, y) for x, y in ring) if shift and max(x for x, _ in ring) <= 0 else ring
            for ring in found.rings]


def _box(points: Iterable[Point]) -> Box:
    xs, ys = zip(*points, strict=True)
    return (min(xs), min(ys), max(xs), max(ys))


def _union(boxes: Sequence[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _meet(a: Box, b: Box) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _area(ring: Iterable[Point]) -> float:
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring))) / 2


@functools.cache
def _frame(country: str, whole: bool) -> _Frame:
    """The country's frame: all of it (`whole`), or its largest part and the parts near it."""
    plain = _box(p for ring in _rings(country, False) for p in ring)
    moved = _box(p for ring in _rings(country, True) for p in ring)
    shift = moved[2] - moved[0] < plain[2] - plain[0]
    boxes = [_box(ring) for ring in _rings(country, shift)]
    if not whole:
        w, s, e, n = _box(max(_rings(country, shift), key=_area))
        reach = NEAR * max(e - w, n - s)
        near = (w - reach, s - reach, e + reach, n + reach)
        boxes = [b for b in boxes if _meet(b, near)]
    box = _widened(_union(boxes))
    squeeze = max(0.2, math.cos(math.radians((box[1] + box[3]) / 2)))
    wide, tall = max((box[2] - box[0]) * squeeze, 1e-6), max(box[3] - box[1], 1e-6)
    scale = min((WIDTH - 2 * PAD) / wide, (HEIGHT - 2 * PAD) / tall)
    return _Frame(shift, box, scale, squeeze, round(wide * scale) + 2 * PAD, round(tall * scale) + 2 * PAD)


def _widened(box: Box) -> Box:
    w, s, e, n = box
    x, y = max(0.0, MIN_SPAN - (e - w)) / 2, max(0.0, MIN_SPAN - (n - s)) / 2
    return (w - x, s - y, e + x, n + y)


def _inside(frame: _Frame, point: Point) -> bool:
    w, s, e, n = frame.box
    return w <= frame.lon(point[0]) <= e and s <= point[1] <= n


def _meets(frame: _Frame, place: str) -> bool:
    return any(_meet(_box(ring), frame.box) for ring in _rings(place, frame.shift))


@functools.cache
def _land(country: str, whole: bool) -> str:
    """The country's outline, simplified until it fits the budget; its specks left out unless
    they are all there is (Tuvalu, Vatican City)."""
    frame = _frame(country, whole)
    for tolerance in TOLERANCES:
        path = _path(frame, country, tolerance, SPECK) or _path(frame, country, tolerance, 0)
        if len(path) <= BUDGET:
            break
    return path


@functools.cache
def _shade(place: str, country: str, whole: bool) -> str:
    """A subdivision's outline, every part kept if the budget allows (a small island's shows as a
    dot, the stroke's), else simplified as the land is."""
    frame = _frame(country, whole)
    for tolerance in TOLERANCES:
        path = _path(frame, place, tolerance, 0)
        if len(path) <= BUDGET:
            return path
        path = _path(frame, place, tolerance, SPECK) or path
        if len(path) <= BUDGET:
            return path
    return path


def _path(frame: _Frame, code: str, tolerance: float, speck: float) -> str:
    """SVG path data for a place's rings inside the frame, `speck` units across or more:
    absolute start, relative steps, whole units."""
    out = []
    for ring in _rings(code, frame.shift):
        if not _meet(_box(ring), frame.box):
            continue
        projected = [frame.project(x, y) for x, y in ring]
        w, s, e, n = _box(projected)
        if max(e - w, n - s) < speck:
            continue
        rounded = [(round(x), round(y)) for x, y in geometry.simplify(projected, tolerance)]
        steps = [(x1 - x0, y1 - y0) for (x0, y0), (x1, y1) in itertools.pairwise(rounded)
                 if (x1, y1) != (x0, y0)]
        moves = " ".join(f"{dx} {dy}" for dx, dy in steps[:-1]).replace(" -", "-") or "0 0"
        out.append(f"M{rounded[0][0]} {rounded[0][1]}l{moves}z")
    return "".join(out)

