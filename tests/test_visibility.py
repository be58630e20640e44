"""Who sees what: visibility and location precision are applied by the store, for every caller."""

from __future__ import annotations

import pytest

from directory.domain.errors import NotFound
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from directory.store import Filter as OrganisationFilter
from directory.store import Store
from tests.helpers import load, org, service, shown_in_cell

pytestmark = pytest.mark.anyio

MEMBER_OF_A = Viewer("member", "test:a")


async def seed(store: Store) -> None:
    await load(store, [
        org("a", **{"#meta+visibility": "public", "#geo+lat": "6.251234", "#geo+lon": "-75.563456",
                    "#geo+precision": "locality", "#adm1+code": "CO-ANT", "#channel+contact": "signal:+00 1"}),
        org("b", **{"#meta+visibility": "network"}),
        org("c", **{"#meta+visibility": "restricted"}),
        org("d", **{"#org+type": "shelter", "#geo+lat": "4.1", "#geo+lon": "-74.2", "#meta+visibility": "public"}),
    ], [
        service("a-public", "a", **{"#capacity": "5", "#capacity+unit": "cases per month",
                                    "#capacity+date": "2026-10-01"}),
        service("a-restricted", "a", **{"#meta+visibility": "restricted"}),
        service("c-public", "c"),
    ])


async def ids(store: Store, viewer: Viewer) -> list[str]:
    page = await store.list_organisations(viewer, OrganisationFilter(), first=100)
    assert page.total == len(page.items)
    return [o.id for o in page.items]


async def test_each_viewer_sees_exactly_its_records(store: Store) -> None:
    await seed(store)
    assert await ids(store, ANONYMOUS) == ["test:a", "test:d"]
    assert await ids(store, Viewer("member", "test:b")) == ["test:a", "test:b", "test:d"]
    assert await ids(store, Viewer("member", "test:c")) == ["test:a", "test:b", "test:c", "test:d"]
    assert await ids(store, STEWARD) == ["test:a", "test:b", "test:c", "test:d"]


async def test_hidden_and_missing_records_raise_the_same_error(store: Store) -> None:
    await seed(store)
    with pytest.raises(NotFound) as hidden:
        await store.organisation(ANONYMOUS, "test:c")
    with pytest.raises(NotFound) as missing:
        await store.organisation(ANONYMOUS, "test:zz")
    assert str(hidden.value).replace("test:c", "X") == str(missing.value).replace("test:zz", "X")


async def test_services_follow_their_own_and_their_organisations_visibility(store: Store) -> None:
    await seed(store)
    anon = await store.services_of(ANONYMOUS, ["test:a", "test:c"])
    assert [s.id for s in anon["test:a"]] == ["test:a-public"] and anon["test:c"] == []
    own = await store.services_of(MEMBER_OF_A, ["test:a"])
    assert [s.id for s in own["test:a"]] == ["test:a-public", "test:a-restricted"]


async def test_anonymous_viewers_get_no_contact_channels_or_capacity(store: Store) -> None:
    await seed(store)
    assert (await store.organisation(ANONYMOUS, "test:a")).contact_channels == []
    assert (await store.organisation(Viewer("member", "test:b"), "test:a")).contact_channels == ["signal:+00 1"]
    anon_service = (await store.services_of(ANONYMOUS, ["test:a"]))["test:a"][0]
    member_service = (await store.services_of(Viewer("member", "test:b"), ["test:a"]))["test:a"][0]
    assert anon_service.capacity is None and anon_service.capacity_confirmed == ""
    assert member_service.capacity == 5 and member_service.capacity_confirmed == "2026-10-01"


async def test_locations_are_shown_at_their_published_precision(store: Store) -> None:
    await seed(store)
    public = (await store.organisation(ANONYMOUS, "test:a")).location
    assert public and public.latitude is not None and public.longitude is not None
    assert shown_in_cell(public.latitude, public.longitude, 6.251234, -75.563456, 0.1, "CO")
    again = (await store.organisation(ANONYMOUS, "test:a")).location
    assert again == public  # the same point every time: nothing to average
    exact_for_owner = (await store.organisation(MEMBER_OF_A, "test:a")).location
    assert exact_for_owner and (exact_for_owner.latitude, exact_for_owner.longitude) == (6.251234, -75.563456)
    exact_for_steward = (await store.organisation(STEWARD, "test:a")).location
    assert exact_for_steward and exact_for_steward.latitude == 6.251234


async def test_shelters_default_to_country_precision_and_never_show_their_point(store: Store) -> None:
    await seed(store)
    shelter = await store.organisation(Viewer("member", "test:b"), "test:d")
    assert shelter.location and shelter.location.precision.value == "country"
    assert (shelter.location.latitude, shelter.location.longitude) != (4.1, -74.2)
    assert shelter.visibility.value == "public"  # the file said so explicitly


async def test_filters_do_not_count_hidden_records(store: Store) -> None:
    await seed(store)
    # test:c is restricted and offers a public service in CO: anonymous counts must not include it.
    page = await store.list_organisations(ANONYMOUS, OrganisationFilter(service_type="legal-aid"))
    assert [o.id for o in page.items] == ["test:a"] and page.total == 1


async def test_service_conditions_hold_for_one_and_the_same_service(store: Store) -> None:
    await load(store, [org("x"), org("y")], [
        service("x-legal", "x", kind="legal-aid", **{"#country+code+present": "PE"}),
        service("x-medical", "x", kind="medical-care", **{"#country+code+present": "CO"}),
        service("y-legal", "y", kind="legal-aid", **{"#country+code+present": "CO"}),
    ])
    page = await store.list_organisations(STEWARD, OrganisationFilter(service_type="legal-aid", country="CO"))
    assert [o.id for o in page.items] == ["test:y"]  # x offers legal aid, but in Peru
