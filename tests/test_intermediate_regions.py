"""UN M49's intermediate regions (Eastern Africa, South America, the Caribbean...): places a service can
reach and a question can ask about, between a country and its sub-region, in every job."""

from __future__ import annotations

import pytest

from directory.domain import places
from directory.domain.viewer import STEWARD
from directory.jobs.gaps import GapQuestion, coverage_gaps
from directory.store import Filter, Store
from tests.helpers import load, org, service

pytestmark = pytest.mark.anyio

EASTERN_AFRICA = sorted(c for c in places.countries_in("014") if c not in places.UNPEOPLED)


@pytest.mark.pure
def test_each_country_with_an_intermediate_region_lies_in_it_then_its_sub_region() -> None:
    assert places.enclosing("KE")[:5] == ["KE", "014", "202", "002", "001"]
    assert places.enclosing("AR")[:5] == ["AR", "005", "419", "019", "001"]
    assert places.enclosing("FR")[:4] == ["FR", "155", "150", "001"]  # none: straight to its sub-region
    intermediate = {a.code for a in places.areas().values() if a.kind == "intermediate"}
    assert intermediate == {"005", "011", "013", "014", "017", "018", "029", "830"}
    for code in intermediate:
        area = places.areas()[code]
        assert places.areas()[area.parent].kind == "subregion", code
        inside = set(places.countries_in(code))
        assert inside and inside <= set(places.countries_in(area.parent)), code
    parts = ("011", "014", "017", "018")
    assert set(places.countries_in("202")) == set().union(*(places.countries_in(c) for c in parts))


@pytest.mark.pure
def test_a_name_alone_is_the_m49_area_where_one_has_it_else_the_named_region() -> None:
    assert places.area_code("Eastern Africa") == places.area_code("intermediate:eastern africa") == "014"
    assert places.area_code("014") == "014"
    assert places.area_code("Central America") == "013" and "MX" in places.countries_in("013")
    assert places.area_code("central-america") == "central-america"
    assert "MX" not in places.countries_in("central-america")
    assert places.area_code("East African Community") == "east-african-community"
    # a named region whose countries all lie in one is found by a service reaching it
    assert "013" in places.enclosing("central-america") and "011" in places.enclosing("ecowas")


async def _seed(store: Store) -> None:
    await load(store, [org("nairobi", **{"#country+code": "KE"}), org("east", **{"#country+code": "UG"}),
                       org("lagos", **{"#country+code": "NG"}), org("sahel", **{"#country+code": "NE"})],
               [service("ke", "nairobi", **{"#country+code+present": "KE"}),
                service("eastern", "east", **{"#country+code+present": "UG", "#country+code+remote": "014"}),
                service("west", "lagos", **{"#country+code+present": "NG", "#country+code+remote": "Western Africa"}),
                service("subsaharan", "sahel", **{"#country+code+present": "NE", "#country+code+remote": "202"})])


async def test_listings_by_an_intermediate_region_find_what_lies_in_it_and_what_reaches_it(store: Store) -> None:
    await _seed(store)
    by_name = await store.list_services(STEWARD, Filter(region="Eastern Africa", service_type="legal-aid"))
    by_code = await store.list_services(STEWARD, Filter(region="014", service_type="legal-aid"))
    assert sorted(s.id for s in by_name.items) == sorted(s.id for s in by_code.items) == [
        "test:eastern", "test:ke", "test:subsaharan"]
    in_kenya = await store.list_services(STEWARD, Filter(country="KE", service_type="legal-aid"))
    assert sorted(s.id for s in in_kenya.items) == ["test:eastern", "test:ke", "test:subsaharan"]
    in_niger = await store.list_services(STEWARD, Filter(country="NE", service_type="legal-aid"))
    assert sorted(s.id for s in in_niger.items) == ["test:subsaharan", "test:west"]
    services = (await store.services_of(STEWARD, ["test:lagos"]))["test:lagos"]
    assert sorted(c.place for c in services[0].coverage) == ["011", "NG"]


async def test_the_gap_matrix_of_an_intermediate_region_is_its_countries_each_counting_what_reaches_it(
        store: Store) -> None:
    await _seed(store)
    matrix = await coverage_gaps(store, STEWARD, GapQuestion(region="Eastern Africa", service_types=["legal-aid"]))
    reaching = {c.place: sorted(c.present + c.remote) for c in matrix.cells}
    assert sorted(reaching) == EASTERN_AFRICA
    assert reaching["KE"] == ["test:east", "test:nairobi", "test:sahel"]
    assert reaching["TZ"] == ["test:east", "test:sahel"]
