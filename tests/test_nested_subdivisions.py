"""Subdivisions within subdivisions (ISO 3166-2's parents: Uganda's districts in its regions, France's
departments in its regions): a service in a region works in its districts, and one in a district in
its region, for every reading of a place (a hand-worked scenario found a service present in Uganda's
Northern region missing from its district of Amuru in the gap matrix)."""

from __future__ import annotations

import pytest

from directory.domain import places
from directory.domain.viewer import ANONYMOUS
from directory.jobs.gaps import GapQuestion, coverage_gaps
from directory.jobs.referrals import Question, referral_paths
from directory.store import Filter, Store
from tests.helpers import load, org, refers, service


@pytest.mark.pure
def test_a_district_lies_in_its_region_and_its_region_in_its_country() -> None:
    assert places.enclosing("UG-316")[:3] == ["UG-316", "UG-N", "UG"]
    assert "UG-316" in places.inside("UG-N") and "UG-316" in places.covering("UG-N")
    assert "UG-N" in places.covering("UG-316") and "UG-N" not in places.inside("UG-316")
    assert places.inside("KE-30") == () and places.enclosing("KE-30")[:2] == ["KE-30", "KE"]  # one level only
    assert places.part_of("UG-316") == "UG"  # still a part of its country, as the precision rules read it


@pytest.mark.anyio
async def test_a_service_in_a_region_works_in_its_districts_and_one_in_a_district_in_its_region(
        store: Store) -> None:
    at = {"#country+code": "UG", "#geo+precision": "admin_area"}
    await load(store, [org("north", "Northern Legal Aid", **at, **{"#adm1+code": "UG-N"}),
                       org("amuru", "Amuru Health Group", **at, **{"#adm1+code": "UG-316"}),
                       org("desk", "A Desk", **{"#country+code": "KE"})],
               [service("north-legal", "north", "legal-aid", **{"#country+code+present": "UG-N"}),
                service("amuru-care", "amuru", "medical-care", **{"#country+code+present": "UG-316"})],
               [refers("desk", "north", 24, 0.9, visibility="public")])

    async def listed(subdivision: str, service_type: str | None = None) -> set[str]:
        found = await store.list_organisations(ANONYMOUS, Filter(subdivision=subdivision, service_type=service_type))
        return {o.id for o in found.items}

    assert await listed("UG-316", "legal-aid") == {"test:north"}  # the region's service, in its district
    assert await listed("UG-N", "medical-care") == {"test:amuru"}  # the district's, in its region
    assert "test:amuru" in await listed("UG-N")  # based in a district of the region
    assert await listed("UG-C", "legal-aid") == set()  # another region: neither
    district = await coverage_gaps(store, ANONYMOUS, GapQuestion(codes=["UG-316"], service_types=["legal-aid"]))
    assert list(district.cells[0].present) == ["test:north"]
    region = await coverage_gaps(store, ANONYMOUS, GapQuestion(codes=["UG-N"], service_types=["medical-care"]))
    assert list(region.cells[0].present) == ["test:amuru"]
    chains = await referral_paths(store, ANONYMOUS, Question("legal-aid", "UG-316", "test:desk", k=3, max_hops=2))
    assert [p.organisations for p in chains] == [("test:desk", "test:north")]
