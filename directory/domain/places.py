"""Countries (ISO 3166-1), subdivisions (ISO 3166-2), areas and languages (ISO 639), offline.

Countries and their UN M49 regions come from `data/countries.csv`, named regions (MENA, the OSCE,
Central America...: lists of countries organisations describe their own coverage with) from
`data/regions.csv` (attribution in each file); subdivisions and languages from pycountry, with
subdivisions' names in the pages' other languages from `data/subdivision_names.csv` (CLDR's).
Everything is loaded once and kept in memory.

An area is the world, an M49 region, sub-region or intermediate region (Eastern Africa, South America:
a tree, each with one parent), or a named region (a list of countries, beside the tree: a country may
be in several). `enclosing` gives both kinds.
"""

from __future__ import annotations

import csv
import difflib
import functools
import math
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from importlib import resources

import pycountry
from babel import Locale

from directory.domain import geometry
from directory.domain.errors import BadArgument, Plural

WORLD = "001"
# Territories with no permanent population: a gap matrix over "every country" leaves them out,
# or Antarctica shows as the world's largest unserved place.
UNPEOPLED = frozenset({"AQ", "BV", "GS", "HM", "TF", "UM"})


@dataclass(frozen=True)
class Place:
    """A country (ISO 3166-1 alpha-2 code), subdivision (ISO 3166-2) or UN M49 area (numeric code)."""

    code: str
    name: str
    kind: str  # world | region | subregion | intermediate | country | subdivision
    country: str | None
    region: str = ""
    subregion: str = ""
    latitude: float | None = None
    longitude: float | None = None
    parent: str | None = None


NAMED = "named"  # the kind of a named region


def _m49(code: str) -> str | None:
    return code.zfill(3) if code else None


@functools.cache
def _rows() -> tuple[dict[str, str], ...]:
    """The rows of data/countries.csv, read once (its comment lines carry the attribution)."""
    text = resources.files("directory.data").joinpath("countries.csv").read_text(encoding="utf-8")
    return tuple(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))


@functools.cache
def countries() -> dict[str, Place]:
    """ISO 3166-1 alpha-2 code to country."""
    return {
        r["iso2"]: Place(
            code=r["iso2"], name=r["name"], kind="country", country=r["iso2"],
            region=r["region"], subregion=r["subregion"],
            latitude=float(r["latitude"]) if r["latitude"] else None,
            longitude=float(r["longitude"]) if r["longitude"] else None,
            parent=_m49(r["intermediate_region_code"]) or _m49(r["subregion_code"]) or _m49(r["region_code"]),
        )
        for r in _rows()
    }


@functools.cache
def areas() -> dict[str, Place]:
    """UN M49 world, regions, sub-regions and intermediate regions, by their three-digit codes."""
    out = {WORLD: Place(code=WORLD, name="World", kind="world", country=None)}
    for r in _rows():
        if r["region_code"]:
            code = r["region_code"].zfill(3)
            out[code] = Place(code=code, name=r["region"], kind="region", country=None, region=r["region"],
                              parent=WORLD)
        if r["subregion_code"]:
            code = r["subregion_code"].zfill(3)
            out[code] = Place(code=code, name=r["subregion"], kind="subregion", country=None, region=r["region"],
                              subregion=r["subregion"], parent=r["region_code"].zfill(3))
        if r["intermediate_region_code"]:
            code = r["intermediate_region_code"]
            out[code] = Place(code=code, name=r["intermediate_region"], kind="intermediate", country=None,
                              region=r["region"], subregion=r["subregion"], parent=r["subregion_code"].zfill(3))
    return out


@functools.cache
def named_regions() -> dict[str, tuple[Place, frozenset[str]]]:
    """Named regions by their codes (lower-case slugs), each with its countries."""
    text = resources.files("directory.data").joinpath("regions.csv").read_text(encoding="utf-8")
    out = {}
    for r in csv.DictReader(line for line in text.splitlines() if not line.startswith("#")):
        members = frozenset(r["countries"].split()) & countries().keys()
        out[r["code"]] = (Place(code=r["code"], name=r["name"], kind=NAMED, country=None), members)
    return out


@functools.cache
def _named_of() -> dict[str, tuple[str, ...]]:
    """Country code to the named regions it is in."""
    out: dict[str, list[str]] = {}
    for code, (_, members) in named_regions().items():
        for country in members:
            out.setdefault(country, []).append(code)
    return {country: tuple(sorted(codes)) for country, codes in out.items()}


def countries_in(area: str) -> list[str]:
    """The countries of an area (an M49 area or a named region); a country is its own."""
    if area in countries():
        return [area]
    return within(area)[1] if area in areas() or area in named_regions() else []


@functools.cache
def _alpha3() -> dict[str, str]:
    return {r["iso3"]: r["iso2"] for r in _rows()}


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
                region=parent.region, subregion=parent.subregion, parent=sub.country_code,
            )
    return out


@functools.cache
def subdivisions_of(country: str) -> tuple[Place, ...]:
    """A country's subdivisions, by code."""
    return tuple(sorted((s for s in subdivisions().values() if s.country == country), key=lambda s: s.code))


def country_code(text: str) -> str | None:
    """The alpha-2 code for an alpha-2 or alpha-3 code, or None if it is not a known country."""
    code = text.strip().upper()
    if code in countries():
        return code
    return _alpha3().get(code)


@functools.cache
def _country_names() -> dict[str, str]:
    """Countries by their English names, then by CLDR's in the pages' other languages ("Irlanda",
    "Brasil": an operator's spreadsheet had them, and was told nothing of which code was meant)."""
    named = {_folded(getattr(c, attr)): c.alpha_2 for c in pycountry.countries
             for attr in ("official_name", "name", "common_name") if getattr(c, attr, None)}
    named.update({_folded(p.name): p.code for p in countries().values()})
    for language in LOCAL_NAMES:
        for code, name in Locale(language).territories.items():
            if code in countries():
                named.setdefault(_folded(name), code)
    return named


def _folded(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c)).strip()


def country_named(text: str) -> str | None:
    """The code of the country whose name this is, in English or in CLDR's Arabic, Spanish, French or
    Russian (accents and case aside), to say which code was meant when a name was written where a
    code goes."""
    return _country_names().get(_folded(text))


LOCAL_NAMES = ("ar", "es", "fr", "ru")  # the languages data/subdivision_names.csv names subdivisions in


@functools.cache
def subdivision_names(language: str) -> dict[str, str]:
    """Subdivisions' names in `language` by code, where the Unicode CLDR has one
    (`data/subdivision_names.csv`, its attribution in the file): pycountry names none in Arabic."""
    if language not in LOCAL_NAMES:
        return {}
    text = resources.files("directory.data").joinpath("subdivision_names.csv").read_text(encoding="utf-8")
    return {r["code"]: r[language] for r in csv.DictReader(line for line in text.splitlines()
                                                           if not line.startswith("#")) if r[language]}


def subdivisions_named(text: str, bare: bool = True) -> tuple[str, ...]:
    """The codes of the subdivisions called `text` in English or in any language the file names
    them in (accents and case aside): one name may be a subdivision of several countries. `bare`:
    also those so called once their title is left out ("عدن" for "محافظة عدن"), which a city's name
    may be too ("صنعاء": the governorate around the capital, not the capital's own subdivision)."""
    return _subdivision_names(bare).get(_folded(text), ())


def subdivision_code(text: str) -> str | None:
    code = text.strip().upper()
    return code if code in subdivisions() else None


@functools.cache
def _subdivision_names(bare: bool = True) -> dict[str, tuple[str, ...]]:
    """A subdivision's folded name to its codes: one name may be a subdivision of several countries.
    `bare`: each name in the pages' other languages also less its title ("محافظة عدن" is written "عدن")."""
    out: dict[str, set[str]] = {}
    for sub in subdivisions().values():
        out.setdefault(_folded(sub.name), set()).add(sub.code)
    for language in LOCAL_NAMES:
        for code, name in subdivision_names(language).items():
            if code in subdivisions():
                folded = _folded(name)
                forms = {folded, " ".join(w for w in folded.split() if w not in _TITLES)} if bare else {folded}
                for form in forms - {""}:
                    out.setdefault(form, set()).add(code)
    return {name: tuple(sorted(codes)) for name, codes in out.items()}


# words a subdivision's name in CLDR puts before or after its name (governorate, state, province,
# region), left out to find the name people write
_TITLES = frozenset(_folded(w) for w in """محافظة ولاية إمارة امارة منطقة إقليم مقاطعة provincia departamento
    estado región region province département departement gouvernorat état etat région область край""".split())


def _meant(codes: Iterable[str]) -> str:
    """The codes meant by a name, each with the name it has here: `'HN' (Honduras)`."""
    return ", ".join(f"{code!r} ({found.name})" if (found := place(code)) else repr(code) for code in codes)


# A filter's place, checked where every channel's filters are (listing's `Filter`, the jobs' places,
# the maps): a name written where a code goes is answered with its code, never taken as one.

def require_country(value: str, argument: str = "country") -> str:
    """The alpha-2 code of the country a filter names (by alpha-2 or alpha-3 code); BadArgument
    naming the value otherwise, and the code meant when the country's name was written."""
    if (code := country_code(value)) is not None:
        return code
    if meant := country_named(value):
        raise BadArgument(argument, "%(code)r is not an ISO 3166-1 country code; did you mean %(near)s?",
                          code=value, near=_meant([meant]))
    raise BadArgument(argument, "%(code)r is not an ISO 3166-1 country code", code=value)


def require_subdivision(value: str, argument: str = "subdivision") -> str:
    """The ISO 3166-2 code a filter names; BadArgument naming the value otherwise, and the codes of
    the subdivisions of that name (at most three) when one was named."""
    if (code := subdivision_code(value)) is not None:
        return code
    if meant := subdivisions_named(value):
        raise BadArgument(argument, "%(code)r is not an ISO 3166-2 subdivision code; did you mean %(near)s?",
                          code=value, near=_meant(meant[:3]))
    raise BadArgument(argument, "%(code)r is not an ISO 3166-2 subdivision code", code=value)


def require_area(value: str, argument: str = "region") -> str:
    """The area a region filter names (`area_code`); BadArgument naming the value otherwise, with
    the nearest areas' names, which it takes as they are (`Western Asia`)."""
    if (code := area_code(value)) is not None:
        return code
    names = {a.name: None for a in (*areas().values(), *(p for p, _ in named_regions().values()))}
    near = difflib.get_close_matches(value.partition(":")[2] or value, list(names), n=3, cutoff=0.75)
    if near:
        raise BadArgument(argument, "%(value)r is not a region: give world, region:NAME, subregion:NAME, a UN M49 "
                                    "area code or a named region; did you mean %(near)s?", value=value,
                          near=", ".join(map(repr, near)))
    raise BadArgument(argument, "%(value)r is not a region: give world, region:NAME, subregion:NAME, a UN M49 "
                                "area code or a named region", value=value)


def place(code: str) -> Place | None:
    named = named_regions().get(code)
    return countries().get(code) or subdivisions().get(code) or areas().get(code) or (named and named[0])


# ISO 3166-2 lists some countries of ISO 3166-1 as subdivisions of another (CN-TW is Taiwan, TW):
# such a code says no more than a country. Bonaire, Saba and Sint Eustatius are parts of one
# country (BQ), as Svalbard and Jan Mayen are of SJ.
WHOLE_COUNTRIES = frozenset({
    "CN-HK", "CN-MO", "CN-TW", "FI-01", "FR-971", "FR-972", "FR-973", "FR-974", "FR-976", "FR-BL", "FR-MF",
    "FR-NC", "FR-PF", "FR-PM", "FR-TF", "FR-WF", "NL-AW", "NL-CW", "NL-SX", "US-AS", "US-GU", "US-MP", "US-PR",
    "US-UM", "US-VI"})
PARTS_OF_COUNTRIES = {"NL-BQ1": "BQ", "NL-BQ2": "BQ", "NL-BQ3": "BQ", "NO-21": "SJ", "NO-22": "SJ"}
_SUBDIVISION_SHAPE = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")


def part_of(code: str) -> str | None:
    """The country whose part a code names: a subdivision's country, also for a code in the shape
    of one that the current ISO 3166-2 no longer lists; None for a country, an area, or a
    subdivision that is a country itself."""
    if code in WHOLE_COUNTRIES:
        return None
    if code in PARTS_OF_COUNTRIES:
        return PARTS_OF_COUNTRIES[code]
    found = place(code)
    if found is not None:
        return found.country if found.kind == "subdivision" else None
    return code[:2] if _SUBDIVISION_SHAPE.match(code) else None


@functools.cache
def _upper() -> dict[str, str]:
    """A subdivision inside another (ISO 3166-2's parent: Uganda's district UG-316 in its Northern
    region UG-N, a French department in its region) to that one; 29 countries have such levels."""
    known = subdivisions()
    return {s.code: s.parent_code for s in pycountry.subdivisions
            if getattr(s, "parent_code", None) and s.code in known and s.parent_code in known}


@functools.cache
def _lower() -> dict[str, tuple[str, ...]]:
    """A subdivision's subdivisions, at every level below it."""
    out: dict[str, list[str]] = {}
    for code in sorted(_upper()):
        up = _upper().get(code)
        while up is not None:
            out.setdefault(up, []).append(code)
            up = _upper().get(up)
    return {code: tuple(inside) for code, inside in out.items()}


def level(code: str) -> int:
    """How far inside its country a place is: 0 a country (or wider), 1 a subdivision, 2 a
    subdivision within another (a Ugandan district in its region), and so on."""
    if part_of(code) is None:
        return 0
    depth, up = 1, _upper().get(code)
    while up is not None:
        depth, up = depth + 1, _upper().get(up)
    return depth


def no_finer_than(code: str, depth: int) -> str:
    """The place, or the one holding it at `depth` (`level`): a district at 1 is its region, at 0
    its country."""
    if depth <= 0:
        return part_of(code) or code
    while level(code) > depth and (up := _upper().get(code)) is not None:
        code = up
    return code


def inside(code: str) -> tuple[str, ...]:
    """The subdivisions within a subdivision (a region's districts); none for most."""
    return _lower().get(code, ())


def enclosing(code: str) -> list[str]:
    """The place and every area that contains it: CO-ANT, CO, 419, 019, 001, and the named regions
    its country is in (central-america, organization-of-american-states)."""
    out = []
    current = place(code)
    while current is not None:
        out.append(current.code)
        up = _upper().get(current.code) or current.parent  # a district's region before its country
        current = place(up) if up else None
    found = place(code)
    if found is not None and found.country:
        out += _named_of().get(found.country, ())
    elif found is not None and found.kind == NAMED:
        out += _m49_around(code)
    return out


@functools.cache
def _m49_around(named: str) -> tuple[str, ...]:
    """The M49 areas holding every country of a named region (Central America: 419, 019, 001),
    so a service reaching one of them is found in the named region too."""
    chains = [set(enclosing(c)[1:]) & areas().keys() for c in named_regions()[named][1]]
    common = set.intersection(*chains) if chains else {WORLD}
    return tuple(sorted(common, key=lambda a: len(within(a)[1])))  # narrowest first, as `enclosing` goes


def covering(code: str) -> list[str]:
    """The places whose services count for this one: itself, every place and area that contains it
    and, for a country, its subdivisions; for a subdivision, those within it (a region's districts)."""
    found = place(code)
    out = enclosing(code)
    if found is not None and found.kind == "country":
        out += [s.code for s in subdivisions_of(code)]
    elif found is not None and found.kind == "subdivision":
        out += inside(code)
    return out


def within(area: str) -> tuple[list[str], list[str]]:
    """The M49 areas inside an area (itself included) and the countries inside it; a named region
    holds no other area."""
    if area in named_regions():
        return [area], sorted(named_regions()[area][1])
    inner = {area}
    changed = True
    while changed:
        more = {a.code for a in areas().values() if a.parent in inner} - inner
        inner |= more
        changed = bool(more)
    countries_in = [c.code for c in countries().values() if c.parent in inner]
    return sorted(inner), sorted(countries_in)


def nearest_country(latitude: float, longitude: float) -> str | None:
    """The country this point is in by the basemap's outlines; at sea or in a gap of the
    simplified outlines, the country whose representative point is nearest."""
    for code in countries():
        shape = geometry.shape(code)
        if shape is not None and shape.contains(latitude, longitude):
            return code
    best, best_d = None, math.inf
    for c in countries().values():
        if c.latitude is None or c.longitude is None:
            continue
        d = distance_km(latitude, longitude, c.latitude, c.longitude)
        if d < best_d:
            best, best_d = c.code, d
    return best


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on a sphere of 6,371 km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def box(latitude: float, longitude: float, radius_km: float) -> tuple[float, float, float, float]:
    """The latitudes and longitudes (least, most) of a box holding every point within `radius_km`:
    the range indexes on published points make the first cut and `distance_km` the exact one. The
    longitudes widen with the latitude of the box's poleward edge; a circle crossing the
    antimeridian or holding a pole spans them all (one range cannot wrap)."""
    dlat = radius_km / 111.0
    edge = abs(latitude) + dlat
    if edge >= 90.0:
        return latitude - dlat, latitude + dlat, -180.0, 180.0
    dlon = radius_km / (111.0 * math.cos(math.radians(edge)))
    if longitude - dlon < -180.0 or longitude + dlon > 180.0:
        return latitude - dlat, latitude + dlat, -180.0, 180.0
    return latitude - dlat, latitude + dlat, longitude - dlon, longitude + dlon


ANY_LANGUAGE = "mul"  # ISO 639-3 "multiple languages": a record that works in any language


def in_common(ours: Collection[str], theirs: Collection[str]) -> set[str]:
    """The languages two sides share; `mul` (any language) on one side shares all of the other's."""
    if ANY_LANGUAGE in theirs:
        return set(ours)
    if ANY_LANGUAGE in ours:
        return set(theirs)
    return set(ours) & set(theirs)


def offered_in(language: str, service: Collection[str], organisation: Collection[str]) -> bool:
    """A service is offered in a language it lists (or in any, `mul`); one listing none, in those of
    its organisation. `service` holds its languages and those a request may be made in. The same
    rule in Cypher: `store.engine.cypher.offered_in`."""
    return bool(in_common([language], service or organisation))


def offered_in_any(languages: Collection[str], service: Collection[str], organisation: Collection[str]) -> bool:
    """A service is offered in one of `languages` (`offered_in`), or records none, nor does its
    organisation, so nothing says it is not. The same rule in Cypher: `cypher.offered_in_any`."""
    spoken = service or organisation
    return not spoken or bool(in_common(languages, spoken))


@functools.cache
def languages() -> frozenset[str]:
    """The language codes a record may hold: ISO 639-1 where a language has one (as BCP 47 does),
    ISO 639-3 for the others (Acholi `ach`, K'iche' `quc`, Garifuna `cab`), and `mul`."""
    return frozenset(language_names())


@functools.cache
def language_names() -> dict[str, str]:
    """Each language code a record may hold and its English name, as people say it: Swahili (`sw`),
    not ISO 639-3's "Swahili (macrolanguage)", which no one types."""
    return {getattr(lang, "alpha_2", lang.alpha_3): lang.name.removesuffix(" (macrolanguage)")
            for lang in pycountry.languages}


@functools.cache
def _three_to_two() -> dict[str, str]:
    return {lang.alpha_3: lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2")}


def language_code(text: str) -> str | None:
    """The code a record holds for a language given as ISO 639-1 or 639-3 (`eng` is `en`); None if
    it is neither."""
    code = text.strip().lower()
    code = _three_to_two().get(code, code)
    return code if code in languages() else None


def all_places() -> list[Place]:
    named = [p for p, _ in named_regions().values()]
    return list(areas().values()) + named + list(countries().values()) + list(subdivisions().values())


def area_code(token: str) -> str | None:
    """The code of `world`, `region:Africa`, `subregion:Western Asia`, `intermediate:Eastern Africa`,
    a three-digit M49 code, a named region (`osce`, `named:osce`), or an area's or a named region's
    name alone (`Americas`). A name alone is an M49 area's where one has it ("Central America", with
    Mexico), else a named region's by its name or code (`central america`, the isthmus)."""
    kind, _, name = token.partition(":")
    kind, name = kind.strip().lower(), name.strip().lower()
    if kind == "world" and not name:
        return WORLD
    if kind == NAMED and name in named_regions():
        return name
    if not name and kind in named_regions():
        return kind
    if kind.isdigit() and not name:
        return kind.zfill(3) if kind.zfill(3) in areas() else None
    for area in areas().values():
        if area.kind == kind and area.name.lower() == name:
            return area.code
    if not name:  # a bare name, as people write it: "Americas", "Western Asia", "Central America"
        wanted = kind.casefold()
        found = [a.code for a in areas().values() if a.name.casefold() == wanted] or [
            code for code, (p, _) in named_regions().items() if wanted in (p.name.casefold(), code.replace("-", " "))]
        return found[0] if len(found) == 1 else None
    return None


MAX_PLACES = 300  # places in one coverage or gap question


def one_place(code: str, argument: str) -> Place:
    """A country (by its alpha-2 or alpha-3 code, as imports take it) or subdivision named by a query
    argument, or BadArgument naming it."""
    found = place(code.strip().upper())
    if found is None and (alpha2 := country_code(code)) is not None:
        found = countries()[alpha2]
    if found is None or found.kind not in ("country", "subdivision"):
        # a name written where a code goes: say which code, never guess
        if meant := [c for c in [country_named(code)] if c] or _subdivision_names().get(_folded(code), ())[:3]:
            raise BadArgument(argument, "%(code)r is not an ISO 3166-1 country or ISO 3166-2 subdivision code; "
                              "did you mean %(near)s?", code=code, near=_meant(meant))
        raise BadArgument(argument, "%(code)r is not an ISO 3166-1 country or ISO 3166-2 subdivision code", code=code)
    return found


def place_list(codes: list[str] | None, country: str | None) -> list[Place]:
    """The places asked for: these codes (each once, however often it is named), a country's
    subdivisions (a country without any, such as Hong Kong or the Holy See, is its own one place:
    an empty answer would read as if nothing there were shared with the viewer), or every peopled
    country."""
    if codes:
        found = list({p.code: p for p in (one_place(code, "codes") for code in codes)}.values())
    elif country:
        code = require_country(country, "country")
        found = list(subdivisions_of(code)) or [countries()[code]]
    else:
        found = sorted((c for c in countries().values() if c.code not in UNPEOPLED),
                       key=lambda c: c.code)
    if len(found) > MAX_PLACES:
        raise BadArgument("codes", Plural("at most %(most)s place at once", "at most %(most)s places at once", "most"),
                          most=MAX_PLACES)
    return found


# How far, in degrees, a point may lie beyond the box of the outline of the place it is said to be
# in: the outlines are simplified by about 5 km and leave out small islands (Colombia's San Andrés
# lies 2.7 degrees west of its outline's box), so a point is refused only when it lies inside the
# outline of another place and this far beyond the box of its own.
MISPLACED_MARGIN = 1.0
# Codes of ISO 3166-2 that are countries of ISO 3166-1 of their own (`WHOLE_COUNTRIES`), by the
# country each names: a point in Guam is in the United States' territory and in GU's outline.
_NUMBERED_TERRITORIES = {"FR-971": "GP", "FR-972": "MQ", "FR-973": "GF", "FR-974": "RE", "FR-976": "YT",
                         "FI-01": "AX"}
# Territories with codes of their own that ISO 3166-2 does not list as parts of the country they
# belong to: an organisation of that country may be based there.
_OTHER_TERRITORIES = {"AU": ("NF", "CX", "CC", "HM"), "NZ": ("CK", "NU", "TK"), "DK": ("GL", "FO"),
                      "NO": ("SJ", "BV"), "GB": ("GI", "FK", "BM", "KY", "VG", "MS", "TC", "AI", "SH", "PN", "IO",
                                             "GS", "GG", "JE", "IM")}


def labelled(code: str) -> str:
    """A place as a refusal names it: its name and its code ("Antioquia (CO-ANT)"), or the code alone."""
    found = place(code)
    return f"{found.name} ({code})" if found is not None else code


def misplaced(country: str | None, subdivision: str | None, latitude: float, longitude: float) -> str | None:
    """The country or subdivision a point lies in when it is clearly not in the place it is said to
    be in (inside another's outline and `MISPLACED_MARGIN` beyond the box of its own); None when
    it may be there, or when the basemap has no outline to tell by."""
    if country and (own := geometry.shape(country)) is not None and not _near(own, latitude, longitude):
        found = next((c for c in countries() if c != country and (s := geometry.shape(c)) is not None
                      and s.contains(latitude, longitude)), None)
        if found is not None and found not in _territories(country):
            return found
        return None
    if subdivision and (own := geometry.shape(subdivision)) is not None and not _near(own, latitude, longitude):
        return next((p.code for p in subdivisions_of(subdivision.split("-")[0]) if p.code != subdivision
                     and (s := geometry.shape(p.code)) is not None and s.contains(latitude, longitude)), None)
    return None


def _near(own: geometry.Shape, latitude: float, longitude: float) -> bool:
    """Within `MISPLACED_MARGIN` of the outline's box, or at its label: where a point published at
    the place's precision is shown, which for one outline (the Isles of Scilly) lies outside it."""
    if own.label is not None and (round(latitude, 3), round(longitude, 3)) == tuple(round(x, 3) for x in own.label):
        return True
    west, south, east, north = own.bbox
    if not south - MISPLACED_MARGIN <= latitude <= north + MISPLACED_MARGIN:
        return False
    if west <= longitude <= east:
        return True
    # the distance east of the box or west of it, across the 180th meridian where that is shorter
    return min((west - longitude) % 360, (longitude - east) % 360) <= MISPLACED_MARGIN


@functools.cache
def _territories(country: str) -> frozenset[str]:
    """The countries of ISO 3166-1 that ISO 3166-2 lists as parts of `country` (US: GU, PR...), and
    for such a one the country it is listed in: a point in either's outline may be either's."""
    pairs = [(code.split("-")[0], _NUMBERED_TERRITORIES.get(code, code.split("-")[1])) for code in WHOLE_COUNTRIES]
    pairs += [(code.split("-")[0], part) for code, part in PARTS_OF_COUNTRIES.items()]
    pairs += [(owner, part) for owner, parts in _OTHER_TERRITORIES.items() for part in parts]
    return frozenset({b for a, b in pairs if a == country} | {a for a, b in pairs if b == country})
