"""Move the representative points of directory/data/countries.csv that lie outside their country's
outline box into the country: the taxonomy's points are averages over every island a country has,
which put Malaysia's off New Guinea, the Philippines' below the equator and New Zealand's in the
Southern Ocean, and a record published at country precision is shown at that point.

The new point is the centroid of the country's largest outline ring (Natural Earth, public domain,
`data/countries.geojson`) when the outline holds it, else the outline's point nearest to it on a
0.05-degree grid. A point inside the box but outside the simplified outline (a small island the
simplification dropped, a coast) is left as it is. Run by hand after tools/make_countries.py:
`python tools/country_points.py`.
"""

from __future__ import annotations

import csv
import io
import math
import sys
from itertools import pairwise
from pathlib import Path

from directory.domain import geometry

PATH = Path(__file__).resolve().parent.parent / "directory" / "data" / "countries.csv"
STEP = 0.05


def _area_and_centroid(ring: geometry.Ring) -> tuple[float, float, float]:
    """The ring's area (in square degrees, unsigned) and centroid (latitude, longitude)."""
    a = cx = cy = 0.0
    for (x0, y0), (x1, y1) in pairwise(ring):
        cross = x0 * y1 - x1 * y0
        a, cx, cy = a + cross, cx + (x0 + x1) * cross, cy + (y0 + y1) * cross
    if a == 0:
        return 0.0, ring[0][1], ring[0][0]
    return abs(a / 2), cy / (3 * a), cx / (3 * a)


def inside_point(shape: geometry.Shape) -> tuple[float, float] | None:
    """A point of the outline: its largest ring's centroid, or the grid point inside nearest to it;
    None for an outline too small for the grid (the Holy See), whose point is left as it is."""
    _, lat, lon = max(_area_and_centroid(ring) for ring in shape.rings)
    if shape.contains(lat, lon):
        return round(lat, 4), round(lon, 4)
    west, south, east, north = shape.bbox
    found = [(math.hypot(y - lat, x - lon), y, x)
             for i in range(int((north - south) / STEP) + 1) for j in range(int((east - west) / STEP) + 1)
             for y, x in [(south + i * STEP, west + j * STEP)] if shape.contains(y, x)]
    if not found:
        return None
    _, y, x = min(found)
    return round(y, 4), round(x, 4)


def main(path: Path = PATH) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    comments = [line for line in lines if line.startswith("#")]
    rows = list(csv.reader(line for line in lines if not line.startswith("#")))
    header, body = rows[0], rows[1:]
    at_lat, at_lon = header.index("latitude"), header.index("longitude")
    for row in body:
        shape = geometry.shape(row[0])
        if shape is None or not row[at_lat]:
            continue
        lat, lon = float(row[at_lat]), float(row[at_lon])
        west, south, east, north = shape.bbox
        if not (south <= lat <= north and west <= lon <= east):
            new = inside_point(shape)
            if new is not None:
                print(f"{row[0]}: {lat}, {lon} -> {new[0]}, {new[1]}")
                row[at_lat], row[at_lon] = str(new[0]), str(new[1])
    out = io.StringIO()
    out.writelines(comments)
    csv.writer(out).writerows([header, *body])
    path.write_text(out.getvalue(), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else PATH)
