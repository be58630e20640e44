"""Countries (ISO 3166-1), subdivisions (ISO 3166-2) and languages (ISO 639-1), offline.

Countries and their UN M49 regions come from `data/countries.csv` (attribution in the file);
subdivisions and languages from pycountry. Everything is loaded once and kept in memory.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources

import pycountry


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    kind: str  # "country" or "subdivision"
    country: str
    region: str = ""
    subregion: str = ""
    latitude: float | None = None
    longitude: float | None = None


@functools.cache
def countries() -> dict[str, Place]:
    """ISO 3166-1 alpha-2 code to country."""
    text = resources.files("directory.data").joinpath("countries.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {
        r["iso2"]: Place(
            code=r["iso2"], name=r["name"], kind="country", country=r["iso2"],
            region=r["region"], subregion=r["subregion"],
            latitude=float(r["latitude"]) if r["latitude"] else None,
            longitude=float(r["longitude"]) if r["longitude"] else None,
        )
        for r in rows
    }


@functools.cache
def _alpha3() -> dict[str, str]:
    text = resources.files("directory.data").joinpath("countries.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {r["iso3"]: r["iso2"] for r in rows}


@functools.cache
def subdivisions() -> dict[str, Place]:
    """ISO 3166-2 code to subdivision, for the countries we know."""
    known = countries()
    out = {}
    for sub in pycountry.subdivisions:
        if sub.country_code in known:
            parent = known[sub.country_code]
            out[sub.code] = Place(
                code=sub.code, name=sub.name, kind="subdivision", country=sub.country_code,
                region=parent.region, subregion=parent.subregion,
            )
    return out


def country_code(text: str) -> str | None:
    """The alpha-2 code for an alpha-2 or alpha-3 code, or None if it is not a known country."""
    code = text.strip().upper()
    if code in countries():
        return code
    return _alpha3().get(code)


def subdivision_code(text: str) -> str | None:
    code = text.strip().upper()
    return code if code in subdivisions() else None


def place(code: str) -> Place | None:
    return countries().get(code) or subdivisions().get(code)


@functools.cache
def languages() -> frozenset[str]:
    """ISO 639-1 two-letter codes."""
    return frozenset(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))


def all_places() -> list[Place]:
    return list(countries().values()) + list(subdivisions().values())


def expand_area(token: str) -> list[str]:
    """The country codes of `world`, `region:Africa` or `subregion:Western Asia` (UN M49 names)."""
    kind, _, name = token.partition(":")
    kind, name = kind.strip().lower(), name.strip().lower()
    if kind == "world" and not name:
        return sorted(c.code for c in countries().values() if c.region)
    if kind == "region":
        return sorted(c.code for c in countries().values() if c.region.lower() == name)
    if kind == "subregion":
        return sorted(c.code for c in countries().values() if c.subregion.lower() == name)
    return []
