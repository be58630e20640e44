"""The small map on an organisation's page (maps/sketch.py): the place at its published precision
and never closer, named in words, light enough for a slow link."""

from __future__ import annotations

import gzip
import re

import httpx
import pytest

from directory.domain import places
from directory.domain.location import published
from directory.domain.model import Location, Organisation, Precision, Visibility
from directory.store import Store
from maps.sketch import BUDGET, sketch
from tests.conftest import LiveServer

pytestmark = pytest.mark.anyio

# Guatemala City, as its owner recorded it; the public may see it only as precisely as published.
LAT, LON = 14.63411, -90.51327
RECORDED = Location(LAT, LON, Precision.COUNTRY, "GT", "GT-01")
CIRCLE = re.compile(r'<circle cx="(\d+)" cy="(\d+)"')


def _at(precision: Precision, country: str = "GT", subdivision: str | None = "GT-01") -> Location:
    return Location(LAT, LON, precision, country, subdivision)


def _svg(html: str) -> str:
    found = re.search(r"<svg.*?</svg>", html, re.S)
    assert found, "the page has no sketch"
    return found.group(0)


async def _page(live_server: LiveServer, record: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        return await client.get(f"/organisations/{record}", headers=headers)


@pytest.mark.pure
def test_a_sketch_marks_the_place_only_as_precisely_as_the_location_says() -> None:
    country, area = sketch(_at(Precision.COUNTRY)), sketch(Location(6.2442, -75.5812, Precision.ADMIN_AREA, "CO",
                                                                       "CO-ANT"))
    assert country is not None and country.marks == "country" and country.point is None
    assert area is not None and area.marks == "subdivision" and area.subdivision and area.point is None
    unoutlined = sketch(_at(Precision.ADMIN_AREA))  # the basemap has no outline of GT-01: its country, shaded
    assert unoutlined is not None and unoutlined.marks == "country" and unoutlined.point is None
    for precision in (Precision.EXACT, Precision.LOCALITY):
        drawn = sketch(_at(precision))
        assert drawn is not None and drawn.marks == "point" and drawn.point is not None
    here, moved = sketch(_at(Precision.EXACT)), sketch(Location(15.5, -90.3, Precision.EXACT, "GT"))
    assert here is not None and moved is not None and here.point != moved.point


@pytest.mark.pure
def test_a_withheld_location_has_no_sketch() -> None:
    assert sketch(None) is None
    assert sketch(Location(None, None, Precision.HIDDEN, "GT", None)) is None  # the country alone stays in words
    assert sketch(Location(None, None, Precision.HIDDEN, None, None)) is None  # a shelter the public may not place
    assert sketch(Location(None, None, Precision.EXACT, "GT", None)) is None  # a point precision without a point


@pytest.mark.pure
def test_every_countrys_sketch_stays_within_a_few_kilobytes() -> None:
    drawn = [s for c in places.countries() if (s := sketch(Location(None, None, Precision.COUNTRY, c)))]
    assert len(drawn) > 200
    assert max(len(s.land) for s in drawn) <= BUDGET
    assert all(s.width <= 240 and s.height <= 180 for s in drawn)
    nunavut = sketch(Location(None, None, Precision.ADMIN_AREA, "CA", "CA-NU"))  # many islands, twice drawn
    assert nunavut is not None and len(nunavut.land) + len(nunavut.subdivision) <= 2 * BUDGET


@pytest.mark.pure
def test_a_country_across_the_antimeridian_is_drawn_in_one_piece() -> None:
    west, east = (sketch(Location(66.0, lon, Precision.EXACT, "RU")) for lon in (179.0, -175.0))  # Chukotka
    assert west is not None and east is not None and west.point and east.point
    assert west.width == east.width and 0 < east.point[0] - west.point[0] < 10  # not 360 degrees apart


async def test_the_public_sees_the_country_shaded_and_no_trace_of_the_recorded_point(
        store: Store, live_server: LiveServer) -> None:
    await store.upsert([Organisation("test:quetzal", "Quetzal Defensoras", "local-group", location=RECORDED)], [], [])
    public = await _page(live_server, "test:quetzal")
    svg = _svg(public.text)
    assert 'role="img"' in svg and "<circle" not in svg
    assert 'fill="#8fb8e6"' in svg.split("<path", 2)[1]  # the land itself is the mark
    for digits in (str(LAT), str(LON), "14.634", "90.513", "14.63", "90.51"):
        assert digits not in public.text
    assert 'href="/maps/directory?country=GT"' in public.text
    async with httpx.AsyncClient(base_url=live_server.url) as client:  # the full map takes that filter
        assert (await client.get("/maps/directory?country=GT")).status_code == 200


async def test_a_point_is_drawn_for_the_public_where_it_is_published_and_for_a_steward_where_it_is(
        store: Store, live_server: LiveServer) -> None:
    recorded = _at(Precision.LOCALITY)
    await store.upsert([Organisation("test:locality", "Town Group", "local-group", location=recorded)], [], [])
    _, steward = await store.tokens.create("steward", None, "a steward")
    shown, real = sketch(published(recorded, "test:locality")), sketch(recorded)
    assert shown is not None and real is not None and shown.point != real.point
    public = CIRCLE.search(_svg((await _page(live_server, "test:locality")).text))
    allowed = CIRCLE.search(_svg((await _page(live_server, "test:locality", steward)).text))
    assert public and tuple(map(int, public.groups())) == shown.point
    assert allowed and tuple(map(int, allowed.groups())) == real.point


async def test_a_hidden_or_withheld_location_gives_no_sketch(store: Store, live_server: LiveServer) -> None:
    hidden = Location(LAT, LON, Precision.HIDDEN, "GT", "GT-01")
    await store.upsert([Organisation("test:hidden-place", "Quiet Group", "local-group", location=hidden),
                        Organisation("test:lone-shelter", "Lone Shelter", "shelter", location=_at(Precision.EXACT))],
                       [], [])
    _, steward = await store.tokens.create("steward", None, "a steward")
    for record, token in (("test:hidden-place", None), ("test:hidden-place", steward), ("test:lone-shelter", None)):
        page = await _page(live_server, record, token)
        assert page.status_code == 200 and "<svg" not in page.text and "/maps/directory?country" not in page.text
    assert "<circle" in _svg((await _page(live_server, "test:lone-shelter", steward)).text)  # stewards place it


async def test_the_sketch_has_an_accessible_name_in_the_pages_language(store: Store, live_server: LiveServer) -> None:
    await store.upsert([Organisation("test:quetzal", "Quetzal Defensoras", "local-group", location=RECORDED)], [], [])
    svg = _svg((await _page(live_server, "test:quetzal")).text)
    name = "Map: Guatemala, shown at country precision"
    assert f'aria-label="{name}"' in svg and f"<title>{name}</title>" in svg


@pytest.mark.parametrize(("country", "subdivision"), [("RU", None), ("BR", None), ("ID", None), ("CA", "CA-NU")])
async def test_a_page_with_a_large_countrys_sketch_stays_light(store: Store, live_server: LiveServer,
                                                                 country: str, subdivision: str | None) -> None:
    precision = Precision.ADMIN_AREA if subdivision else Precision.COUNTRY
    where = Location(None, None, precision, country, subdivision)
    await store.upsert([Organisation("test:big", "Wide Network", "local-group", location=where,
                                     visibility=Visibility.PUBLIC, description="Across the country. " * 40)],
                       [], [])
    page = await _page(live_server, "test:big")
    assert page.status_code == 200 and len(_svg(page.text)) < 12 * 1024
    assert len(gzip.compress(page.content)) < 60 * 1024
