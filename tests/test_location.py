"""Published points: fixed per record and precision, inside the right place, telling nothing finer than the cell."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from directory.domain import geometry, places
from directory.domain.location import published
from directory.domain.model import Location, Precision

pytestmark = pytest.mark.pure

# Points inside their subdivisions, from Natural Earth's label points, plus coastal and border cities.
CITIES = [
    (-1.2921, 36.8219, "KE", None),  # Nairobi
    (-4.0435, 39.6682, "KE", None),  # Mombasa, on the coast
    (-12.0464, -77.0428, "PE", None),  # Lima, on the coast
    (6.2442, -75.5812, "CO", "CO-ANT"),  # Medellín
    (14.0723, -87.1921, "HN", None),  # Tegucigalpa
    (4.8156, 7.0498, "NG", None),  # Port Harcourt, in the delta
    (-6.7924, 39.2083, "TZ", None),  # Dar es Salaam, on the coast
    (13.7563, 100.5018, "TH", None),  # Bangkok
    (32.5149, -117.0382, "MX", None),  # Tijuana, on the US border
]


def _cell(lat: float, lon: float, size: float) -> tuple[int, int]:
    return (math.floor(lat / size), math.floor(lon / size))


def test_the_same_record_always_shows_at_the_same_point() -> None:
    loc = Location(6.2442, -75.5812, Precision.LOCALITY, "CO", "CO-ANT")
    shown = {(p.latitude, p.longitude) for p in (published(loc, "test:a") for _ in range(50))}
    assert len(shown) == 1


def test_where_in_its_cell_a_record_is_cannot_be_learnt() -> None:
    # Two true points in the same cell show at the same point: the shown point depends on the cell only.
    a = published(Location(6.2012, -75.5987, Precision.LOCALITY, "CO", "CO-ANT"), "test:a")
    b = published(Location(6.2988, -75.5013, Precision.LOCALITY, "CO", "CO-ANT"), "test:a")
    assert (a.latitude, a.longitude) == (b.latitude, b.longitude)


def test_records_sharing_a_cell_do_not_stack() -> None:
    points = {(published(Location(-1.2921, 36.8219, Precision.LOCALITY, "KE"), f"test:{i}").latitude,
               published(Location(-1.2921, 36.8219, Precision.LOCALITY, "KE"), f"test:{i}").longitude)
              for i in range(20)}
    assert len(points) == 20


def test_precision_changes_the_point_and_coarser_stays_coarse() -> None:
    lat, lon = -1.2921, 36.8219
    locality = published(Location(lat, lon, Precision.LOCALITY, "KE"), "test:a")
    admin = published(Location(lat, lon, Precision.ADMIN_AREA, "KE"), "test:a")
    assert locality.latitude is not None and admin.latitude is not None
    assert _cell(locality.latitude, locality.longitude or 0, 0.1) == _cell(lat, lon, 0.1)
    assert _cell(admin.latitude, admin.longitude or 0, 1.0) == _cell(lat, lon, 1.0)
    assert (locality.latitude, locality.longitude) != (admin.latitude, admin.longitude)


def test_coastal_and_border_cities_show_on_their_own_land() -> None:
    for lat, lon, country, sub in CITIES:
        for precision, size in ((Precision.LOCALITY, 0.1), (Precision.ADMIN_AREA, 1.0)):
            for record in ("test:a", "test:b", "test:c"):
                shown = published(Location(lat, lon, precision, country, sub), record)
                assert shown.latitude is not None and shown.longitude is not None
                place = geometry.shape(sub or country)
                assert place is not None and place.contains(shown.latitude, shown.longitude), (country, precision)


def test_country_and_hidden_precision_show_nothing_of_the_point() -> None:
    country = published(Location(-1.2921, 36.8219, Precision.COUNTRY, "KE"), "test:a")
    kenya = places.countries()["KE"]
    assert (country.latitude, country.longitude) == (kenya.latitude, kenya.longitude)
    hidden = published(Location(-1.2921, 36.8219, Precision.HIDDEN, "KE", "KE-30"), "test:a")
    assert (hidden.latitude, hidden.longitude, hidden.subdivision) == (None, None, None)


@settings(max_examples=300, deadline=None)
@given(index=st.integers(0, 10_000), record=st.text(min_size=1, max_size=12),
       precision=st.sampled_from([Precision.LOCALITY, Precision.ADMIN_AREA]))
def test_any_point_inside_a_country_shows_inside_it_and_its_cell(index: int, record: str,
                                                                  precision: Precision) -> None:
    # A true point: a vertex-free interior point found by walking a grid inside a real country's outline.
    codes = sorted(c for c in places.countries() if geometry.shape(c) is not None)
    shape = geometry.shape(codes[index % len(codes)])
    assert shape is not None
    west, south, east, north = shape.bbox
    step = index // len(codes) + 7
    inside = [(south + (north - south) * i / step, west + (east - west) * j / step)
              for i in range(1, step) for j in range(1, step)
              if shape.contains(south + (north - south) * i / step, west + (east - west) * j / step)]
    if not inside:
        return  # a speck of an island smaller than the walk's grid
    lat, lon = inside[index % len(inside)]
    shown = published(Location(lat, lon, precision, shape.code), record)
    assert shown.latitude is not None and shown.longitude is not None
    size = 0.1 if precision is Precision.LOCALITY else 1.0
    in_cell = _cell(shown.latitude, shown.longitude, size) == _cell(lat, lon, size)
    fallback = (shown.latitude, shown.longitude) == (places.countries()[shape.code].latitude,
                                                     places.countries()[shape.code].longitude)
    assert in_cell or fallback
    assert shape.contains(shown.latitude, shown.longitude) or fallback


@pytest.mark.parametrize("precision", [Precision.EXACT, Precision.LOCALITY, Precision.ADMIN_AREA])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_point_that_is_not_a_number_shows_no_point_and_raises_nothing(precision: Precision, bad: float) -> None:
    shown = published(Location(bad, -74.08, precision, "CO", "CO-DC"), "x:nan")
    assert (shown.latitude, shown.longitude, shown.country) == (None, None, "CO")


@settings(max_examples=200, deadline=None)
@given(lat=st.one_of(st.none(), st.floats(-89, 89)), lon=st.one_of(st.none(), st.floats(-179, 179)),
       precision=st.sampled_from(list(Precision)), country=st.sampled_from(["CO", "KE", "TH", None]),
       subdivision=st.sampled_from(["CO-ANT", "CO-DC", None]), record=st.text(min_size=1, max_size=12))
def test_leaving_the_point_out_changes_nothing_else(lat: float | None, lon: float | None, precision: Precision,
                                                    country: str | None, subdivision: str | None,
                                                    record: str) -> None:
    """A listing asking only the country skips working the coarsened point out: the country, the
    subdivision and the precision it shows are those of the whole published location."""
    location = Location(lat, lon, precision, country, subdivision)
    whole, without = published(location, record), published(location, record, point=False)
    assert (without.country, without.subdivision, without.precision) == (whole.country, whole.subdivision,
                                                                       whole.precision)
    assert without.latitude is None or without.latitude == whole.latitude
    assert without.longitude is None or without.longitude == whole.longitude
