"""A point must be in the place it is said to be in (a walk found an organisation moved to DR Congo
keep its Colombian point, published in Sud-Kivu as "within about 11 km of where it is"). One rule
(`places.misplaced`) in the one validator every write passes: imports, edits on the pages and in
GraphQL, and peers' records. Lenient where the simplified outlines cannot tell: islands they leave
out, borders, territories, the 180th meridian."""

from __future__ import annotations

import re

import httpx
import pytest

from directory.domain import places, validation
from directory.domain.model import Location, Organisation, Precision
from directory.domain.validation import Row
from directory.domain.viewer import STEWARD
from directory.store import Store
from tests.conftest import LiveServer

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(("country", "subdivision", "latitude", "longitude", "found"), [
    ("CD", None, 6.98, -75.2, "CO"),  # the walk's: a Colombian point left behind
    ("KE", None, -6.8, 39.28, "TZ"),  # Dar es Salaam said to be in Kenya
    ("CO", "CO-ANT", 3.45, -76.53, "CO-VAC"),  # Cali said to be in Antioquia
    ("CO", None, 12.58, -81.70, None),  # San Andrés: an island the outline leaves out
    ("EC", None, -0.9, -89.6, None),  # the Galápagos
    ("VE", None, 7.89, -72.5, None),  # Cúcuta, a step over the border: outlines are not borders
    ("CO", "CO-ANT", 4.6, -74.08, None),  # Bogotá, within a degree of Antioquia's box
    ("US", None, 13.44, 144.79, None),  # Guam: a territory, in GU's outline
    ("GU", None, 13.44, 144.79, None),
    ("FR", None, 16.25, -61.55, None),  # Guadeloupe
    ("NL", None, 12.15, -68.27, None),  # Bonaire
    ("FJ", None, -17.5, -179.9, None),  # across the 180th meridian
    ("RU", None, 64.5, -170.0, None),
    ("AU", None, -29.03, 167.95, None),  # Norfolk Island, an external territory with a code of its own
    ("GB", "GB-IOS", 50.441, -4.753, None),  # where the Isles of Scilly's point is published: its outline's label
])
def test_a_point_clearly_in_another_place_is_found_and_one_that_may_be_there_is_not(
        country: str, subdivision: str | None, latitude: float, longitude: float, found: str | None) -> None:
    assert places.misplaced(country, subdivision, latitude, longitude) == found


def _row(**cells: str) -> Row:
    return Row(1, {name: (f"#{name}", value) for name, value in
                   {"id": "peer.example:x", "name": "X", "kind": "local-group", **cells}.items()})


async def test_every_write_refuses_it_naming_both_places_and_a_subdivision_of_another_country_by_name(
        store: Store) -> None:
    """The validator imports, edits and peers' records all pass: the point's field, where it is and
    where it is said to be, by name."""
    vocab = await store.vocabulary()
    _, _, problems = validation.organisation(_row(country="CD", subdivision="CD-SK", latitude="6.98",
                                                  longitude="-75.2", precision="locality"), "peer.example", vocab)
    # said without the point or where it is: a peer's point is checked before it is coarsened, and a
    # sync's refusals go to its log
    assert [(p.column, p.reason) for p in problems] == [
        ("#latitude", "the point is not in Sud-Kivu (CD-SK): correct the point or the place, or leave the point "
                      "out")]
    _, _, problems = validation.organisation(_row(country="GT", subdivision="HN-FM"), "peer.example", vocab)
    assert [(p.column, p.reason) for p in problems] == [
        ("#subdivision", "Francisco Morazán (HN-FM) is not in Guatemala (GT)")]
    fine, _, problems = validation.organisation(_row(country="CO", latitude="12.58", longitude="-81.7"),
                                                "peer.example", vocab)
    assert problems == [] and fine is not None and fine.location is not None


async def test_an_organisation_moved_to_another_country_on_its_page_is_told_to_move_its_point_too(
        store: Store, live_server: LiveServer) -> None:
    await store.upsert([Organisation("test:group", "Río Claro Group", "local-group", languages=["es"],
                                     location=Location(6.98, -75.2, Precision.LOCALITY, "CO", "CO-ANT"))], [], [])
    _, token = await store.tokens.create("member", "test:group", "the group")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        assert (await client.post("/sign-in", data={"token": token})).status_code == 303
        form = (await client.get("/organisations/test:group/edit")).text
        fields = dict(re.findall(r'<input[^>]*name="(\w+)" value="([^"]*)"', form))
        typed = {name: fields[name] for name in ("csrf", "revision", "name", "latitude", "longitude")}
        moved = await client.post("/organisations/test:group/edit", data={
            **typed, "kind": "local-group", "visibility": "public", "precision": "locality", "languages": "es",
            "country": "CD", "subdivision": "CD-SK"})
        assert moved.status_code == 400 and '<a href="#o-latitude">' in moved.text
        assert "the point is not in Sud-Kivu (CD-SK): correct the point or the place" in moved.text
        spanish = await client.post("/organisations/test:group/edit?lang=es", data={
            **typed, "kind": "local-group", "visibility": "public", "precision": "locality", "languages": "es",
            "country": "CD", "subdivision": "CD-SK"})
        assert "el punto no está en Sud-Kivu (CD-SK)" in spanish.text
        saved = await store.organisation(STEWARD, "test:group")
        assert saved.location is not None and saved.location.country == "CO"  # nothing written
        cleared = await client.post("/organisations/test:group/edit", data={
            **typed, "latitude": "", "longitude": "", "kind": "local-group", "visibility": "public",
            "precision": "admin_area", "languages": "es", "country": "CD", "subdivision": "CD-SK"})
        assert cleared.status_code == 303
    now = await store.organisation(STEWARD, "test:group")
    assert now.location is not None and (now.location.country, now.location.subdivision) == ("CD", "CD-SK")
    assert now.location.latitude is None


def test_every_published_point_is_a_point_on_earth_across_the_180th_meridian_too() -> None:
    """Fiji's point in the country taxonomy was an average of longitudes never wrapped (195.3 E), and
    a record in Fiji whose cell held none of its simplified outline was published there: peers
    refused it. Every country's point is on earth, inside its outline's box where it has one, and
    so is every point published near the meridian, on either side."""
    from directory.domain import geometry
    from directory.domain.location import published

    for c in places.countries().values():  # Malaysia's was off New Guinea, New Zealand's in the Southern Ocean
        if c.latitude is None or c.longitude is None:
            continue
        assert -90 <= c.latitude <= 90 and -180 <= c.longitude <= 180, c.code
        shape = geometry.shape(c.code)
        if shape is not None:
            west, south, east, north = shape.bbox
            near = 0.1  # the simplified outline of the Holy See is a few hundred metres short of its point
            assert south - near <= c.latitude <= north + near and west - near <= c.longitude <= east + near, c.code
    for country, lat, lon in (("FJ", -17.8, 179.0), ("FJ", -16.0, -179.9), ("TV", -8.5, 179.2), ("KI", 1.9, -157.4)):
        for precision in (Precision.EXACT, Precision.LOCALITY, Precision.ADMIN_AREA, Precision.COUNTRY):
            shown = published(Location(lat, lon, precision, country, None), f"test:{country}")
            assert shown.latitude is not None and shown.longitude is not None
            assert -90 <= shown.latitude <= 90 and -180 <= shown.longitude <= 180, (country, precision, shown)
