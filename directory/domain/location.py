"""Publishing a location no more precisely than its owner allowed.

`published()` is the only way a stored location leaves the store for a viewer who may not see it
exactly. Coarsening keeps only the grid cell that holds the point, then shows the record at a
point of that cell chosen by a hash of the record's id, its precision and the cell, never of the
point itself: the same record always shows at the same point, so repeating a request and
averaging reveals nothing, and where in its cell the record really is cannot be learnt at all.
The shown point stays inside the record's subdivision (or country) as the basemap draws it; when
no point of the cell is, it falls back to the cell's centre and then to the place's own label point.

| precision  | what is shown                                                           |
|------------|-------------------------------------------------------------------------|
| exact      | the point, rounded to 5 decimals (about 1 m)                            |
| locality   | a fixed point of the 0.1 degree cell holding the point (about 11 km), on a 0.001 degree grid |
| admin_area | a fixed point of the 1 degree cell holding the point, on a 0.01 degree grid, and the subdivision |
| country    | the country's representative point, and the country                     |
| hidden     | no point, no subdivision (the country of the organisation stays)        |
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import replace

from directory.domain import channels, geometry, places
from directory.domain.model import Coverage, Intake, Location, Precision, Presence, Service, Visibility

SHOWS_SUBDIVISION = frozenset({Precision.EXACT, Precision.LOCALITY, Precision.ADMIN_AREA})
"""The precisions at which a location's subdivision is published (the table above)."""
_CELL = {Precision.LOCALITY: 0.1, Precision.ADMIN_AREA: 1.0}
_DIGITS = {Precision.LOCALITY: 3, Precision.ADMIN_AREA: 2}  # a shown point lies on a grid of cell / 100
STEPS = 100
TRIES = 64  # points of the cell tried before falling back; misses only where the place is a sliver of it
CACHED_POINTS = 1 << 15
"""Shown points kept (15 to 20 MB at most), each worked out once: it depends only on the record, its
precision, its cell and place, and finding it (hashes, point-in-polygon tests over a country's
outline) took 0.6 ms for a point in Colombia. A write works it out three times (a received record
is coarsened on reading, then for its views' hashes and its stored published point), and each page
or GraphQL answer showing a point coarsens its records again. The key holds the record's cell at
the precision its owner lets anyone see, never finer; where no point of the cell lies in its place
the shown point falls back to the place's label and tells less than that, but the key stays in this
process's memory until newer points push it out (never written, logged or shown)."""


def _candidates(record: str, precision: Precision, row: int, col: int, steps: tuple[int, int, int, int],
                salt: str) -> Iterator[tuple[float, float]]:
    """Grid points of the cell, within steps (south, west, north, east) in 1..99, chosen by a hash of
    the record and its cell only. Never step 0 or 100: a point on the cell's edge could belong to
    the next cell after rounding."""
    south, west, north, east = steps
    cell, digits = _CELL[precision], _DIGITS[precision]
    for attempt in range(TRIES):
        digest = hashlib.sha256(f"{record}|{precision.value}|{row}|{col}|{salt}{attempt}".encode()).digest()
        i = south + int.from_bytes(digest[:8], "big") % (north - south + 1)
        j = west + int.from_bytes(digest[8:16], "big") % (east - west + 1)
        yield (round((row + i / STEPS) * cell, digits), round((col + j / STEPS) * cell, digits))


def _steps(edge: float, origin: int, cell: float, up: bool) -> int:
    """The grid step of the cell nearest inside `edge`, kept within 1..99."""
    position = (edge / cell - origin) * STEPS
    step = math.ceil(position) if up else math.floor(position)
    return min(STEPS - 1, max(1, step))


def _shown_point(record: str, precision: Precision, lat: float, lon: float, country: str | None,
                 subdivision: str | None) -> tuple[float, float]:
    cell = _CELL[precision]
    return _cell_point(record, precision, math.floor(lat / cell), math.floor(lon / cell), country, subdivision)


@functools.lru_cache(maxsize=CACHED_POINTS)
def _cell_point(record: str, precision: Precision, row: int, col: int, country: str | None,
                subdivision: str | None) -> tuple[float, float]:
    cell = _CELL[precision]
    whole = (1, 1, STEPS - 1, STEPS - 1)
    where = (geometry.shape(subdivision) if subdivision else None) or geometry.shape(country or "")
    if where is None:
        return next(_candidates(record, precision, row, col, whole, ""))
    for point in _candidates(record, precision, row, col, whole, ""):
        if where.contains(*point):
            return point
    # The place is a sliver of the cell (a small island, a thin coast): try the part of the cell its outline spans.
    west, south, east, north = where.bbox
    clipped = (_steps(south, row, cell, True), _steps(west, col, cell, True),
               _steps(north, row, cell, False), _steps(east, col, cell, False))
    if clipped[0] <= clipped[2] and clipped[1] <= clipped[3]:
        for point in _candidates(record, precision, row, col, clipped, "clipped"):
            if where.contains(*point):
                return point
    centre = (round((row + 0.5) * cell, 4), round((col + 0.5) * cell, 4))
    if where.contains(*centre):
        return centre
    if where.label is not None:
        return where.label
    rep = places.countries().get(country or "")
    return (rep.latitude, rep.longitude) if rep and rep.latitude is not None and rep.longitude is not None \
        else centre


def published(location: Location, record: str, point: bool = True) -> Location:
    """The location of `record` as its published precision allows anyone to see it. `point=False`
    leaves a coarsened point out (None) for a caller showing none of it (a listing asking only the
    country): the rest is the same, and working the point out is most of the cost."""
    p = location.precision
    if p is Precision.HIDDEN:
        return Location(None, None, p, location.country, None)
    if p is Precision.COUNTRY:
        country = places.countries().get(location.country or "")
        lat = country.latitude if country else None
        lon = country.longitude if country else None
        return Location(lat, lon, p, location.country, None)
    if location.latitude is None or location.longitude is None \
            or not (math.isfinite(location.latitude) and math.isfinite(location.longitude)):
        return Location(None, None, p, location.country, location.subdivision)  # no point, or none to place
    if p is Precision.EXACT:
        return Location(round(location.latitude, 5), round(location.longitude, 5), p,
                        location.country, location.subdivision)
    if not point:
        return Location(None, None, p, location.country, location.subdivision)
    lat, lon = _shown_point(record, p, location.latitude, location.longitude, location.country,
                            location.subdivision)
    return Location(lat, lon, p, location.country, location.subdivision)


def shows_inside(location: Location | None) -> bool:
    """Whether a location, as published, says where in its country it is: its subdivision or a point."""
    return (location is not None and location.precision in SHOWS_SUBDIVISION
            and (location.subdivision is not None or location.latitude is not None))


ANY_PLACE = 99
"""`shown_level` of a location published with its point to 11 km or finer: no place says more."""


def shown_level(precision: str | Precision | None, subdivision: str | None, point: bool) -> int:
    """How far inside its country a published location says a record is, as `places.level` counts:
    its subdivision's level (or a subdivision's, for a 1-degree cell alone) at admin_area, any place's
    with a point at locality or exact, its country's otherwise. Read from what is published: the
    precision, the published subdivision and whether a point is published."""
    p = Precision(precision) if precision else Precision.COUNTRY
    if p in (Precision.EXACT, Precision.LOCALITY) and point:
        return ANY_PLACE
    if p in SHOWS_SUBDIVISION and subdivision:
        return places.level(subdivision)
    return 1 if p in SHOWS_SUBDIVISION and point else 0


def level_shown(location: Location | None) -> int:
    """`shown_level` of a location as published (`published`)."""
    if location is None:
        return 0
    return shown_level(location.precision, location.subdivision, location.latitude is not None)


ADDRESS = "address"
"""What `tells_more` reads a service's intake channel as when anyone may see it and it can be an
address (to ask in person, by post, through a partner, or of a kind we cannot read, "other": every
kind whose value is free text): finer than any place,
and than a point at locality precision; and a shelter's place may be withheld from the public
whatever it publishes (`records.shelters`), so it always tells more. A steward's walk made a
shelter's "In person: Colonia Kennedy, Calle 5, casa 12" public, warned by a hint only; "other"
can say the same in other words."""
ADDRESSED = frozenset({"in-person", "post", "through-partner", "other"})  # the kinds whose value is any text


def public_address(intake: Iterable[Intake]) -> bool:
    """Whether anyone may see one of these channels that says, or may say, where to go or write to: of
    a kind that takes any text, or without its kind's shape (a peer's "email" holding a street: its
    records are not refused for their shape, `channels`)."""
    return any(i.visibility is Visibility.PUBLIC and (i.kind in ADDRESSED or not channels.shaped(i.kind, i.value))
               for i in intake)


def tells_more(place: str, shown: int) -> bool:
    """Whether a place a shelter's service records says more of where the shelter is than the
    shelter's published location, which says where it is down to `shown` (`shown_level`): a part of
    a country where the shelter publishes only its country, a district within a region where it
    publishes its region (threat model V17, R21), or an address anyone may see (`ADDRESS`), always.
    Where a shelter hosts defenders is where it is, so its services are held to what it publishes."""
    if place == ADDRESS:
        return True
    return places.level(place) > shown


def held_to(service: Service, shown: int) -> Service:
    """A shelter's service with every place that tells more than the shelter publishes
    (`tells_more`) replaced by the one holding it at the level published (a district by its region,
    a region by its country): how records written before the rule are held to it."""
    def country_of(code: str) -> str:
        return places.no_finer_than(code, shown) if tells_more(code, shown) else code

    present: dict[str, bool] = {}
    for c in service.coverage:
        code = country_of(c.place)
        present[code] = present.get(code, False) or c.presence is Presence.PRESENT
    coverage = [Coverage(code, Presence.PRESENT if here else Presence.REMOTE) for code, here in present.items()]
    origins = list(dict.fromkeys(country_of(code) for code in service.origins))
    intake = [replace(i, visibility=Visibility.NETWORK) if public_address([i]) else i
              for i in service.intake]  # an address anyone could see, shown to the network only
    return replace(service, coverage=coverage, origins=origins, intake=intake)
