"""Published points: fixed per record and precision, inside the right place, telling nothing finer than the cell."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from directory.domain import geometry, location, places
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


@settings(max_examples=200, deadline=None)
@given(st.floats(-4.2, 12.4), st.floats(-79.0, -67.0), st.sampled_from([Precision.LOCALITY, Precision.ADMIN_AREA]),
       st.sampled_from(["test:a", "test:b", "peer:x"]))
def test_a_kept_point_is_the_point_worked_out_afresh_and_publishing_it_again_moves_nothing(
        lat: float, lon: float, precision: Precision, record: str) -> None:
    # Shown points are kept per record, precision, cell and place (`CACHED_POINTS`): a write publishes a
    # received record's point again, and a kept point must be exactly what working it out gives.
    loc = Location(lat, lon, precision, "CO", None)
    shown = published(loc, record)
    assert shown.latitude is not None and shown.longitude is not None
    size = 0.1 if precision is Precision.LOCALITY else 1.0
    fresh = location._cell_point.__wrapped__(record, precision, *_cell(lat, lon, size), "CO", None)
    assert (shown.latitude, shown.longitude) == fresh
    if _cell(shown.latitude, shown.longitude, size) == _cell(lat, lon, size):  # not a fallback to the place's label
        again = published(shown, record)
        assert (again.latitude, again.longitude) == (shown.latitude, shown.longitude)


def test_kept_points_are_bounded() -> None:
    info = location._cell_point.cache_info()
    assert info.maxsize == location.CACHED_POINTS <= 1 << 16


def test_a_kept_point_is_kept_for_its_own_precision_and_place() -> None:
    # Cells on the border of Colombia (Norte de Santander) and Venezuela, each asked for several
    # places and precisions in turn: a key leaving out any of them would give one its neighbour's point.
    places_asked = [("CO", None), ("VE", None), ("CO", "CO-NSA"), ("CO", "CO-SAN")]
    differing = 0
    for i in range(40):
        lat, lon = 7.05 + 0.1 * (i % 20), -72.55 + 0.1 * (i // 20)
        for precision in (Precision.LOCALITY, Precision.ADMIN_AREA):
            size = 0.1 if precision is Precision.LOCALITY else 1.0
            shown = set()
            for country, subdivision in places_asked:
                got = published(Location(lat, lon, precision, country, subdivision), f"test:border{i}")
                fresh = location._cell_point.__wrapped__(f"test:border{i}", precision, *_cell(lat, lon, size),
                                                         country, subdivision)
                assert (got.latitude, got.longitude) == fresh
                shown.add(fresh)
            differing += len(shown) > 1
    assert differing >= 10  # the places do give different points here, so the check above has teeth
    # Within 0.1 degree of (0, 0) a locality cell and an admin-area cell have the same numbers.
    near_zero = [published(Location(0.05, 0.05, p, None, None), "test:zero") for p in (Precision.LOCALITY,
                                                                                        Precision.ADMIN_AREA)]
    assert [(p.latitude, p.longitude) for p in near_zero] == [
        location._cell_point.__wrapped__("test:zero", p, 0, 0, None, None) for p in (Precision.LOCALITY,
                                                                                   Precision.ADMIN_AREA)]
    assert near_zero[0].latitude != near_zero[1].latitude


def _walked(shape: geometry.Shape, latitude: float, longitude: float) -> bool:
    """Containment by walking every edge of every ring: what `Shape.contains` must answer."""
    west, south, east, north = shape.bbox
    if not (south <= latitude <= north and west <= longitude <= east):
        return False
    inside = False
    for ring in shape.rings:
        x0, y0 = ring[-1]
        for x1, y1 in ring:
            if (y1 > latitude) != (y0 > latitude) and longitude < (x0 - x1) * (latitude - y1) / (y0 - y1) + x1:
                inside = not inside
            x0, y0 = x1, y1
    return inside


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["CO", "KE", "ID", "NO", "CL", "PH", "CO-ANT", "ID-JK", "US-AK", "RU", "FJ"]),
       st.floats(0, 1), st.floats(0, 1), st.integers(-1, 40))
def test_an_outline_contains_a_point_exactly_as_walking_all_its_edges_says(
        code: str, down: float, across: float, vertex: int) -> None:
    shape = geometry.shape(code)
    assert shape is not None
    west, south, east, north = shape.bbox
    latitude, longitude = south + down * (north - south), west + across * (east - west)
    if vertex >= 0:  # on a vertex's latitude, or its very point: where a ray meets edge ends
        ring = shape.rings[vertex % len(shape.rings)]
        x, y = ring[vertex % len(ring)]
        latitude, longitude = y, (x if vertex % 2 else longitude)
    assert shape.contains(latitude, longitude) == _walked(shape, latitude, longitude)
