"""The scripts and styles a map needs, from this machine only.

Leaflet and Leaflet.markercluster are installed from the npm registry at set-up (`make setup`,
into maps/assets/node_modules); our own marker and legend code is in maps/static. A map page
served by the service links them under /maps/assets/; a map written to a file carries them
inline, images as data: URIs, so it opens anywhere with no network at all.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from pathlib import Path

from directory.domain import geometry
from directory.domain.errors import DirectoryError

HERE = Path(__file__).resolve().parent
MODULES = HERE / "assets" / "node_modules"

# name served under /maps/assets/ -> file on disk
FILES: dict[str, Path] = {
    "leaflet.js": MODULES / "leaflet" / "dist" / "leaflet.js",
    "leaflet.css": MODULES / "leaflet" / "dist" / "leaflet.css",
    "markercluster.js": MODULES / "leaflet.markercluster" / "dist" / "leaflet.markercluster.js",
    "markercluster.css": MODULES / "leaflet.markercluster" / "dist" / "MarkerCluster.css",
    "markercluster-default.css": MODULES / "leaflet.markercluster" / "dist" / "MarkerCluster.Default.css",
    "pd-maps.js": HERE / "static" / "pd-maps.js",
    "pd-maps.css": HERE / "static" / "pd-maps.css",
}
for _image in ("layers.png", "layers-2x.png", "marker-icon.png", "marker-icon-2x.png", "marker-shadow.png"):
    FILES[f"images/{_image}"] = MODULES / "leaflet" / "dist" / "images" / _image

COUNTRIES = "countries.js"  # the basemap's outlines as a script, made from directory/data/countries.geojson
SCRIPTS = ("leaflet.js", "markercluster.js", "pd-maps.js", COUNTRIES)
STYLES = ("leaflet.css", "markercluster.css", "markercluster-default.css", "pd-maps.css")
PREFIX = "/maps/assets/"

MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png"}


class MissingAssets(DirectoryError):
    """The npm packages were not installed: run `make setup`. Said in one line by the CLI, as any
    of the directory's errors is (it printed a traceback)."""


def _countries_script() -> bytes:
    text = json.dumps(geometry.collection("countries"), ensure_ascii=False, separators=(",", ":"))
    return f"window.pdCountries = {text.replace('<', chr(92) + 'u003c')};\n".encode()


def known(name: str) -> bool:
    return name in FILES or name == COUNTRIES


def check() -> None:
    missing = [str(path) for path in FILES.values() if not path.is_file()]
    if missing:
        raise MissingAssets(f"map assets are missing ({', '.join(missing[:3])}); run `make setup`")


def media_type(name: str) -> str:
    return MEDIA_TYPES[Path(name).suffix]


@functools.cache
def read(name: str) -> bytes:
    """An asset's bytes, by the name it is served under; KeyError for anything else."""
    if name == COUNTRIES:
        return _countries_script()
    return FILES[name].read_bytes()


def _data_uri(match: re.Match[str]) -> str:
    name = "images/" + match.group(1)
    if name not in FILES:
        return match.group(0)
    return f"url(data:image/png;base64,{base64.b64encode(read(name)).decode()})"


@functools.cache
def inline_style(name: str) -> str:
    """A stylesheet with its images as data: URIs, ready to sit in a <style> element."""
    text = read(name).decode("utf-8")
    return re.sub(r"url\(\s*['\"]?images/([a-z0-9-]+\.png)['\"]?\s*\)", _data_uri, text)


def inline_script(name: str) -> str:
    # A script inside <script> must not contain the end tag; Leaflet's files do not, and we check.
    text = read(name).decode("utf-8")
    if "</script" in text.lower():
        raise ValueError(f"{name} contains a script end tag and cannot be inlined")
    return text
