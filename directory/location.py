"""Publishing a location no more precisely than its owner allowed.

`published()` is the only way a stored location leaves the store for a viewer who may not see it
exactly. Coarsening snaps a point to the centre of a grid cell, so the same record always shows
at the same point: repeating a request and averaging reveals nothing.

| precision  | what is shown                                                        |
|------------|----------------------------------------------------------------------|
| exact      | the point, rounded to 5 decimals (about 1 m)                         |
| locality   | centre of the 0.1 degree cell holding the point (about 11 km)        |
| admin_area | centre of the 1 degree cell holding the point, and the subdivision   |
| country    | the country's representative point, and the country                  |
| hidden     | no point, no subdivision (the country of the organisation stays)     |
"""

from __future__ import annotations

import math

from directory import places
from directory.model import Location, Precision

_CELL = {Precision.LOCALITY: 0.1, Precision.ADMIN_AREA: 1.0}


def _snap(value: float, cell: float) -> float:
    return round((math.floor(value / cell) + 0.5) * cell, 6)


def published(location: Location) -> Location:
    """The location as its published precision allows anyone to see it."""
    p = location.precision
    if p is Precision.HIDDEN:
        return Location(None, None, p, location.country, None)
    if p is Precision.COUNTRY:
        country = places.countries().get(location.country or "")
        lat = country.latitude if country else None
        lon = country.longitude if country else None
        return Location(lat, lon, p, location.country, None)
    if location.latitude is None or location.longitude is None:
        return Location(None, None, p, location.country, location.subdivision)
    if p is Precision.EXACT:
        return Location(round(location.latitude, 5), round(location.longitude, 5), p,
                        location.country, location.subdivision)
    cell = _CELL[p]
    return Location(_snap(location.latitude, cell), _snap(location.longitude, cell), p,
                    location.country, location.subdivision)
