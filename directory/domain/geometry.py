"""Country and subdivision outlines, offline: the basemap and the test of where a shown point may fall.

The polygons are Natural Earth's (public domain), simplified by tools/basemap.py into
`data/countries.geojson` (ISO 3166-1 alpha-2) and `data/subdivisions.geojson` (ISO 3166-2). At
about 5 km of simplification they are for drawing and for keeping a displayed point inside the
right place, not for deciding where a border runs.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, TypeVar

Ring = tuple[tuple[float, float], ...]  # (longitude, latitude) pairs, closed, as in GeoJSON
P = TypeVar("P", bound=Sequence[float])


Edge = tuple[float, float, float, float]  # x0, y0, x1, y1


@dataclass(frozen=True)
class Shape:
    """One place's outline: its rings (outer and holes alike, the even-odd rule tells them apart)."""

    code: str
    rings: tuple[Ring, ...]
    bbox: tuple[float, float, float, float]  # west, south, east, north
    label: tuple[float, float] | None = None  # (latitude, longitude) inside the place, if known

    def contains(self, latitude: float, longitude: float) -> bool:
        west, south, east, north = self.bbox
        if not (south <= latitude <= north and west <= longitude <= east):
            return False
        inside = False
        for x0, y0, x1, y1 in self._bands.get(math.floor(latitude), ()):
            if (y1 > latitude) != (y0 > latitude) and longitude < (x0 - x1) * (latitude - y1) / (y0 - y1) + x1:
                inside = not inside
        return inside

    @functools.cached_property
    def _bands(self) -> dict[int, list[Edge]]:
        """The rings' edges by the whole degrees of latitude they span. Only an edge spanning a point's
        latitude can cross the ray from it, so `contains` tests those (in Colombia at most 26 of
        its 211) and toggles exactly as walking every edge would; coarsening a point tries up to
        128 of them against one outline. Made for an outline when first tested: about 14 MB were
        every country and subdivision tested."""
        bands: dict[int, list[Edge]] = {}
        for ring in self.rings:
            x0, y0 = ring[-1]
            for x1, y1 in ring:
                if y0 != y1:  # a level edge never crosses the ray
                    edge = (x0, y0, x1, y1)
                    for band in range(math.floor(min(y0, y1)), math.floor(max(y0, y1)) + 1):
                        bands.setdefault(band, []).append(edge)
                x0, y0 = x1, y1
        return bands


def _shape(feature: dict[str, Any]) -> Shape:
    geometry = feature["geometry"]
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    rings = tuple(tuple((float(x), float(y)) for x, y in ring) for poly in polygons for ring in poly)
    xs = [x for ring in rings for x, _ in ring]
    ys = [y for ring in rings for _, y in ring]
    p = feature["properties"]
    label = (p["latitude"], p["longitude"]) if "latitude" in p else None
    return Shape(p["code"], rings, (min(xs), min(ys), max(xs), max(ys)), label)


def _read(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files("directory.data").joinpath(name).read_text(encoding="utf-8"))
    return data


@functools.cache
def collection(kind: str) -> dict[str, Any]:
    """The GeoJSON as stored: `countries` or `subdivisions` (with its `attribution` member)."""
    return _read(f"{kind}.geojson")


@functools.cache
def _shapes(kind: str) -> dict[str, Shape]:
    return {f["properties"]["code"]: _shape(f) for f in collection(kind)["features"]}


def shape(code: str) -> Shape | None:
    """The outline of a country (`KE`) or subdivision (`KE-30`), if the basemap has one."""
    return _shapes("subdivisions" if "-" in code else "countries").get(code)


def simplify(points: Sequence[P], tolerance: float) -> list[P]:
    """Douglas-Peucker, without recursion (rings run to tens of thousands of points): the points
    that keep the line within `tolerance` of the original, its ends always among them. The basemap
    (tools/basemap.py) and an organisation page's small map (maps/sketch.py) both draw with it."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x0, y0), (x1, y1) = points[first][:2], points[last][:2]
        length = math.hypot(x1 - x0, y1 - y0)
        far, index = 0.0, 0
        for i in range(first + 1, last):
            x, y = points[i][:2]
            d = abs((x1 - x0) * (y0 - y) - (x0 - x) * (y1 - y0)) / length if length else math.hypot(x - x0, y - y0)
            if d > far:
                far, index = d, i
        if far > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, kept in zip(points, keep, strict=True) if kept]
