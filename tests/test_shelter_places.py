"""A shelter's services record no place finer than the shelter publishes its own (R16).

Where a shelter hosts defenders is where it is: a shelter at country precision whose service
records a subdivision would show that subdivision on the service, in listings by place, the gap
matrix and the jobs' reasons. Every way in is held to the one rule: an import or an edit is refused
whole, naming the record, field and place; a change of the shelter's own precision or kind that
would make its stored services finer is refused naming them; a peer's such service is not kept.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from directory.domain import places
from directory.domain.errors import Problem, ValidationFailed
from directory.domain.location import ANY_PLACE, held_to, level_shown, shows_inside, tells_more
from directory.domain.model import (
    Coverage,
    Intake,
    Location,
    Organisation,
    Precision,
    Presence,
    Service,
    Visibility,
)
from directory.domain.viewer import STEWARD
from directory.exchange import importer
from directory.formats import hxl
from directory.store import Edit, EditRefused, Store
from directory.store.records.writes import write_records
from tests.conftest import LiveServer
from tests.feeds import Publisher
from tests.helpers import ORG_TAGS, SERVICE_TAGS, csv_bytes, load, org, service
from tests.peer_server import Peer
from tests.test_federation_received import P, organisation, pull
from tests.test_federation_received import service as peer_service

pytestmark = pytest.mark.anyio


async def one_service(store: Store, record: str) -> Service | None:
    return (await store.services_by_id(STEWARD, [record])).get(record)


async def refused_organisation_edit(store: Store, record: str, **change: str) -> Problem:
    """A steward's edit of an organisation that must be refused with one problem: that problem."""
    current = await store.organisation(STEWARD, record)
    with pytest.raises(EditRefused) as refused:
        await store.save_organisation(STEWARD, Edit({"id": record, **change}), current.provenance.revision)
    [problem] = refused.value.problems
    return problem

SHELTER = {"#org+type": "shelter", "#geo+precision": "country", "#meta+visibility": "network"}


@pytest.mark.parametrize("place, part_of", [
    ("CO-ANT", "CO"), ("CO", None), ("419", None), ("central-america", None),
    ("CN-TW", None), ("US-PR", None), ("FR-971", None),  # ISO 3166-2 codes of countries of ISO 3166-1
    ("NL-BQ1", "BQ"), ("NO-21", "SJ"),  # parts of one country of ISO 3166-1
    ("XK-ZZ9", "XK"),  # the shape of a subdivision ISO 3166-2 no longer lists
])
def test_a_place_tells_more_than_a_country_when_it_is_part_of_one(place: str, part_of: str | None) -> None:
    assert places.part_of(place) == part_of
    assert tells_more(place, 0) is (part_of is not None)
    assert not tells_more(place, ANY_PLACE)


@pytest.mark.parametrize("place, shown, more", [
    ("UG-102", 1, True), ("UG-102", 2, False), ("UG-C", 1, False), ("UG-C", 0, True),  # Kampala, in Central
    ("FR-75C", 1, True), ("FR-IDF", 1, False), ("CO-ANT", 1, False), ("UG", 0, False),
])
def test_a_district_tells_more_than_a_region_a_region_no_more_than_another(place: str, shown: int, more: bool) -> None:
    """Threat model R21: a shelter publishing its region was held only at the country's level."""
    assert tells_more(place, shown) is more


@pytest.mark.parametrize("location, inside, shown", [
    (Location(None, None, Precision.ADMIN_AREA, "CO", "CO-ANT"), True, 1),
    (Location(None, None, Precision.ADMIN_AREA, "UG", "UG-C"), True, 1),
    (Location(None, None, Precision.ADMIN_AREA, "UG", "UG-102"), True, 2),
    (Location(0.3, 32.6, Precision.ADMIN_AREA, "UG", None), True, 1),  # a 1-degree cell says a region's worth
    (Location(6.2, -75.6, Precision.LOCALITY, "CO", None), True, ANY_PLACE),
    (Location(6.2, -75.6, Precision.EXACT, "CO", "CO-ANT"), True, ANY_PLACE),
    (Location(None, None, Precision.ADMIN_AREA, "CO", None), False, 0),  # nothing inside the country to show
    (Location(6.2, -75.6, Precision.COUNTRY, "CO", "CO-ANT"), False, 0),
    (Location(6.2, -75.6, Precision.HIDDEN, "CO", "CO-ANT"), False, 0),
    (None, False, 0),
])
def test_a_shelter_shows_where_in_its_country_it_is_by_a_published_subdivision_or_point(
        location: Location | None, inside: bool, shown: int) -> None:
    assert shows_inside(location) is inside and level_shown(location) == shown


def test_holding_a_service_names_each_part_by_its_country_and_keeps_the_rest() -> None:
    before = Service(id="x:s", organisation="x:o", name="Stay", type="safe-house",
                     coverage=[Coverage("CO-ANT", Presence.REMOTE), Coverage("CO-DC", Presence.PRESENT),
                               Coverage("CN-TW", Presence.PRESENT), Coverage("419", Presence.REMOTE)],
                     origins=["VE-A", "VE", "NL-BQ2"])
    after = held_to(before, 0)
    assert [(c.place, c.presence) for c in after.coverage] == [
        ("CO", Presence.PRESENT), ("CN-TW", Presence.PRESENT), ("419", Presence.REMOTE)]
    assert after.origins == ["VE", "BQ"] and held_to(before, ANY_PLACE) == held_to(before, 1) == before
    districts = Service(id="x:s", organisation="x:o", name="Stay", type="safe-house",
                        coverage=[Coverage("UG-102", Presence.PRESENT), Coverage("UG-C", Presence.REMOTE)])
    assert [(c.place, c.presence) for c in held_to(districts, 1).coverage] == [("UG-C", Presence.PRESENT)]


async def test_an_import_recording_a_shelters_service_finer_than_it_publishes_writes_nothing(store: Store) -> None:
    with pytest.raises(ValidationFailed) as failed:
        await load(store, [org("casa", "Casa Refugio", **SHELTER), org("other", "Otra Casa")],
                   [service("stay", "test:casa", "relocation-in-country", **{"#country+code+present": "CO",
                                                                              "#country+code+origin": "CO-ANT"}),
                    service("aid", "test:other", **{"#country+code+present": "CO-ANT"})])
    [problem] = failed.value.problems  # another organisation's subdivision is its own to publish
    assert (problem.source, problem.record, problem.column) == ("services.csv", "test:stay", "#country+code+origin")
    assert problem.line > 0 and problem.reason == (
        "Antioquia (CO-ANT) would show where Casa Refugio shelters defenders, and it publishes only its country: "
        "where a shelter's services or a safe house work is where people at risk stay. Record Colombia (CO) instead")
    assert await store.existing_organisations(["test:casa", "test:other"]) == set()  # nothing half-written


@pytest.mark.parametrize("how", ["staged", "checked"])
async def test_a_staged_or_checked_import_finds_it_before_writing_anything(store: Store, how: str) -> None:
    orgs = [org("casa", "Casa Refugio", **SHELTER), org("other", "Otra Casa")]
    services = [service("stay", "test:casa", "safe-house", **{"#country+code+remote": "CO-DC"})]
    inputs = [importer.Parsed("orgs.csv", *hxl.read(csv_bytes(ORG_TAGS, orgs), "orgs.csv")),
              importer.Parsed("services.csv", *hxl.read(csv_bytes(SERVICE_TAGS, services), "services.csv"))]
    with pytest.raises(ValidationFailed) as failed:
        if how == "staged":  # in parts of one row: the organisations would be committed first
            await importer.run(store, inputs, atomic_rows=1)
        else:
            await importer.import_inputs(store, inputs, check=True)
    [problem] = failed.value.problems
    assert (problem.source, problem.record, problem.column) == ("services.csv", "test:stay", "#country+code+remote")
    assert await store.existing_organisations(["test:casa", "test:other"]) == set()


async def test_a_staged_import_may_make_a_shelter_coarser_in_one_part_and_its_services_in_a_later_one(
        store: Store) -> None:
    shelter = org("casa", "Casa Refugio", **{**SHELTER, "#geo+precision": "admin_area", "#adm1+code": "CO-ANT"})
    await load(store, [shelter], [service("stay", "test:casa", "safe-house", **{"#country+code+present": "CO-ANT"})])
    orgs = [{**shelter, "#geo+precision": "country"}, org("other", "Otra Casa")]
    services = [service("stay", "test:casa", "safe-house", **{"#country+code+present": "CO"})]
    inputs = [importer.Parsed("orgs.csv", *hxl.read(csv_bytes(ORG_TAGS, orgs), "orgs.csv")),
              importer.Parsed("services.csv", *hxl.read(csv_bytes(SERVICE_TAGS, services), "services.csv"))]
    await importer.run(store, inputs, atomic_rows=1)  # the shelter's part commits before its service's
    assert (await store.organisation(STEWARD, "test:casa")).location.precision is Precision.COUNTRY
    assert [c.place for c in (await one_service(store, "test:stay")).coverage] == ["CO"]


async def test_a_staged_import_failing_after_a_shelter_is_made_coarser_holds_its_stored_services(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    shelter = org("casa", "Casa Refugio", **{**SHELTER, "#geo+precision": "admin_area", "#adm1+code": "CO-ANT"})
    await load(store, [shelter], [service("stay", "test:casa", "safe-house", **{"#country+code+present": "CO-ANT"})])
    orgs = [{**shelter, "#geo+precision": "country"}]
    services = [service("stay", "test:casa", "safe-house", **{"#country+code+present": "CO"})]
    inputs = [importer.Parsed("orgs.csv", *hxl.read(csv_bytes(ORG_TAGS, orgs), "orgs.csv")),
              importer.Parsed("services.csv", *hxl.read(csv_bytes(SERVICE_TAGS, services), "services.csv"))]
    parts = []
    transaction = store.transaction

    async def failing_after_the_first(*args: Any, **kwargs: Any) -> Any:
        parts.append(1)
        if len(parts) == 2:  # the store fails as the service's part is written, and comes back
            raise ConnectionError("the store went away")
        return await transaction(*args, **kwargs)

    monkeypatch.setattr(store, "transaction", failing_after_the_first)
    with pytest.raises(ConnectionError):
        await importer.run(store, inputs, atomic_rows=1)
    monkeypatch.undo()
    assert (await store.organisation(STEWARD, "test:casa")).location.precision is Precision.COUNTRY
    assert [c.place for c in (await one_service(store, "test:stay")).coverage] == ["CO"]  # held, not left in CO-ANT


async def test_a_shelter_publishing_its_subdivision_may_record_its_services_there(store: Store) -> None:
    await load(store, [org("casa", "Casa Refugio", **{**SHELTER, "#geo+precision": "admin_area",
                                                       "#adm1+code": "CO-ANT"})],
               [service("stay", "test:casa", "safe-house", **{"#country+code+present": "CO-ANT"})])
    stay = await one_service(store, "test:stay")
    assert [c.place for c in stay.coverage] == ["CO-ANT"]


async def test_a_shelter_publishing_its_region_may_not_record_a_district_within_it(store: Store) -> None:
    """Threat model R21, found again by a leak hunt: a shelter publishing Uganda's Central region
    recorded a public safe house in Kampala, one of its districts, which anyone then saw."""
    central = {**SHELTER, "#geo+precision": "admin_area", "#country+code": "UG", "#adm1+code": "UG-C",
               "#meta+visibility": "public"}
    with pytest.raises(ValidationFailed) as failed:
        await load(store, [org("casa", "Casa Refugio", **central)],
                   [service("stay", "test:casa", "safe-house", **{"#country+code+present": "UG-102"})])
    [problem] = failed.value.problems
    assert (problem.record, problem.column) == ("test:stay", "#country+code+present")
    assert "more closely than it publishes its own place" in str(problem) and "Central (UG-C)" in str(problem)
    assert await one_service(store, "test:stay") is None
    await load(store, [org("casa", "Casa Refugio", **central)],
               [service("stay", "test:casa", "safe-house", **{"#country+code+present": "UG-C|UG-N"})])
    assert [c.place for c in (await one_service(store, "test:stay")).coverage] == ["UG-C", "UG-N"]
    # the shelter itself made coarser, to its region, while a service names its district: refused on its precision
    await load(store, [org("casa", "Casa Refugio", **{**central, "#adm1+code": "UG-102"})],
               [service("stay", "test:casa", "safe-house", **{"#country+code+present": "UG-102"})])
    problem = await refused_organisation_edit(store, "test:casa", subdivision="UG-C")
    assert problem.column == "precision" and "no finer than Central (UG-C) first" in str(problem)


async def test_a_shelter_at_admin_area_precision_with_no_subdivision_or_point_shows_only_its_country(
        store: Store) -> None:
    with pytest.raises(ValidationFailed) as failed:
        await load(store, [org("casa", "Casa Refugio", **{**SHELTER, "#geo+precision": "admin_area"})],
                   [service("stay", "test:casa", "safe-house", **{"#country+code+present": "CO-ANT"})])
    [problem] = failed.value.problems
    assert (problem.record, problem.column) == ("test:stay", "#country+code+present")


async def test_a_shelter_made_coarser_in_the_same_import_as_its_services_is_taken(store: Store) -> None:
    shelter = org("casa", "Casa Refugio", **{**SHELTER, "#geo+precision": "admin_area", "#adm1+code": "CO-ANT"})
    await load(store, [shelter], [service("stay", "test:casa", "safe-house", **{"#country+code+present": "CO-ANT",
                                                                                 "#country+code+origin": "CO-DC"})])
    # the shelter alone made coarser: its stored service would show the subdivisions it no longer does
    with pytest.raises(ValidationFailed) as failed:
        await load(store, [{**shelter, "#geo+precision": "country"}])
    [problem] = failed.value.problems  # one line for the service, naming both its places
    assert (problem.source, problem.record, problem.column) == ("orgs.csv", "test:casa", "#geo+precision")
    assert problem.reason.startswith("its service \u201cService stay\u201d (test:stay) records Antioquia (CO-ANT), "
                                     "Distrito Capital de Bogotá (CO-DC), which would show where this organisation "
                                     "shelters defenders")
    assert "admin_area" not in problem.reason and "publish" not in problem.reason.split(":")[-1]  # never: show more
    assert (await store.organisation(STEWARD, "test:casa")).location.precision is Precision.ADMIN_AREA
    # both in one import: checked once all of it is written
    await load(store, [{**shelter, "#geo+precision": "country"}],
               [service("stay", "test:casa", "safe-house", **{"#country+code+present": "CO"})])
    assert (await store.organisation(STEWARD, "test:casa")).location.precision is Precision.COUNTRY


async def test_an_edit_is_refused_naming_the_field_whether_it_is_the_services_or_the_shelters(store: Store) -> None:
    group = org("group", "Grupo Local", **{"#adm1+code": "CO-ANT", "#geo+precision": "country"})
    await load(store, [org("casa", "Casa Refugio", **SHELTER), group],
               [service("stay", "test:casa", "safe-house"),
                service("aid", "test:group", **{"#country+code+present": "CO-ANT"})])
    stay = await one_service(store, "test:stay")
    with pytest.raises(EditRefused) as refused:
        await store.save_service(STEWARD, Edit({"id": "test:stay", "present_in": ["CO", "CO-DC"]}),
                                 stay.provenance.revision)
    assert refused.value.code == "INVALID"
    [problem] = refused.value.problems
    assert (problem.record, problem.column) == ("test:stay", "present_in") and "Bogotá" in problem.reason
    assert [c.place for c in (await one_service(store, "test:stay")).coverage] == ["CO"]
    # a local group becoming a shelter would show where it is through its service in Antioquia
    problem = await refused_organisation_edit(store, "test:group", kind="shelter")
    assert (problem.record, problem.column) == ("test:group", "precision") and "test:aid" in problem.reason
    assert (await store.organisation(STEWARD, "test:group")).kind == "local-group"


async def test_a_peers_shelter_service_finer_than_it_publishes_is_not_kept(store: Store) -> None:
    p = Publisher(directory=P)
    p.add("refugio", body=organisation("refugio", kind="shelter", precision="country", latitude=None,
                                       longitude=None))
    p.add("stay", kind="service", body=peer_service("stay", "refugio", service_type="safe-house",
                                                     coverage=[{"place": "CO-ANT", "presence": "present"}]))
    p.add("open", kind="service", body=peer_service("open", "refugio", service_type="safe-house"))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        outcome = await pull(store, peer, server.url)
    [reason] = [r for r in outcome.reasons if f"{P}:stay" in r]
    assert outcome.dropped == 1 and "records a place in present_in finer than its provider publishes" in reason
    assert "CO-ANT" not in reason  # our log does not hold the place the peer should not have shown
    assert await one_service(store, f"{P}:open") is not None
    assert await one_service(store, f"{P}:stay") is None


async def test_a_peers_shelter_publishing_its_region_keeps_no_safe_house_in_a_district_of_it(store: Store) -> None:
    p = Publisher(directory=P)
    body = organisation("refugio", kind="shelter", precision="admin_area", latitude=None, longitude=None,
                        country="UG")
    body["location"]["subdivision"] = "UG-C"
    p.add("refugio", body=body)
    p.add("stay", kind="service", body=peer_service("stay", "refugio", service_type="safe-house",
                                                     coverage=[{"place": "UG-102", "presence": "present"}]))
    p.add("open", kind="service", body=peer_service("open", "refugio", service_type="safe-house",
                                                     coverage=[{"place": "UG-C", "presence": "present"}]))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        outcome = await pull(store, peer, server.url)
    [reason] = [r for r in outcome.reasons if f"{P}:stay" in r]
    assert outcome.dropped == 1 and "finer than its provider publishes" in reason and "UG-102" not in reason
    assert await one_service(store, f"{P}:stay") is None
    assert [c.place for c in (await one_service(store, f"{P}:open")).coverage] == ["UG-C"]


async def test_a_peers_shelter_made_coarser_takes_its_finer_services_with_it(store: Store) -> None:
    p = Publisher(directory=P)
    p.add("refugio", body=organisation("refugio", kind="shelter", precision="admin_area"))  # in CO-DC
    p.add("stay", kind="service", body=peer_service("stay", "refugio", service_type="safe-house",
                                                     coverage=[{"place": "CO-DC", "presence": "present"}]))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        first = await pull(store, peer, server.url)
        assert first.dropped == 0 and await one_service(store, f"{P}:stay") is not None
        p.add("refugio", revision=2, body=organisation("refugio", kind="shelter", precision="country"))
        second = await pull(store, peer, server.url)
    [reason] = [r for r in second.reasons if f"{P}:stay" in r]
    assert "its provider's new place, precision or kind made it so" in reason and "CO-DC" not in reason
    assert await one_service(store, f"{P}:stay") is None
    assert (await store.organisation(STEWARD, f"{P}:refugio")).location.precision is Precision.COUNTRY


async def test_services_written_before_the_rule_are_held_to_it_at_start(store: Store) -> None:
    await load(store, [org("casa", "Casa Refugio", **SHELTER), org("group", "Grupo Local")],
               [service("stay", "test:casa", "safe-house"), service("aid", "test:group")])
    p = Publisher(directory=P)
    p.add("refugio", body=organisation("refugio", kind="shelter", precision="country", latitude=None,
                                       longitude=None))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await pull(store, peer, server.url)
    before = (await one_service(store, "test:stay")).provenance.revision
    stay = Service(id="test:stay", organisation="test:casa", name="Stay", type="safe-house",
                   coverage=[Coverage("CO-ANT", Presence.PRESENT), Coverage("CO", Presence.REMOTE),
                             Coverage("PE-LIM", Presence.REMOTE)], origins=["CO-ANT", "CO-DC", "VE"])
    aid = Service(id="test:aid", organisation="test:group", name="Aid", type="legal-aid",
                  coverage=[Coverage("CO-ANT", Presence.PRESENT)])
    theirs = Service(id=f"{P}:stay", organisation=f"{P}:refugio", name="Stay", type="safe-house",
                     coverage=[Coverage("CO-DC", Presence.PRESENT)])

    async def as_an_older_version_wrote_them(tx: Any) -> None:
        await write_records(store.graph, tx, "test", [], [stay, aid], [], "2026-01-01T00:00:00Z", 3,
                            hold_shelters=False)
        await write_records(store.graph, tx, P, [], [theirs], [], "2026-01-01T00:00:00Z", 3, hold_shelters=False)

    await store.graph.write_tx(as_an_older_version_wrote_them)
    # and one of a shelter publishing its region, in a district of it, as written before R21 was held
    await load(store, [org("central", "Casa Central", **{**SHELTER, "#geo+precision": "admin_area",
                                                          "#country+code": "UG", "#adm1+code": "UG-C"})])
    kampala = Service(id="test:kampala", organisation="test:central", name="Stay", type="safe-house",
                      coverage=[Coverage("UG-102", Presence.PRESENT), Coverage("UG-N", Presence.REMOTE)])

    async def before_r21(tx: Any) -> None:
        await write_records(store.graph, tx, "test", [], [kampala], [], "2026-01-01T00:00:00Z", 3,
                            hold_shelters=False)

    await store.graph.write_tx(before_r21)
    assert sorted(await store.hold_shelters()) == [f"{P}:stay", "test:kampala", "test:stay"]
    assert [(c.place, c.presence) for c in (await one_service(store, "test:kampala")).coverage] == [
        ("UG-C", Presence.PRESENT), ("UG-N", Presence.REMOTE)]
    held = await one_service(store, "test:stay")
    assert [(c.place, c.presence) for c in held.coverage] == [("CO", Presence.PRESENT), ("PE", Presence.REMOTE)]
    assert held.origins == ["CO", "VE"] and held.provenance.revision > before
    assert [c.place for c in (await one_service(store, "test:aid")).coverage] == ["CO-ANT"]  # not a shelter's
    assert await one_service(store, f"{P}:stay") is None
    assert await store.hold_shelters() == []  # once held, nothing more to do


async def test_the_service_form_names_the_field_and_says_why_in_the_pages_language(store: Store,
                                                                                   live_server: LiveServer) -> None:
    await store.upsert([Organisation("test:casa", "Casa Refugio", "shelter", visibility=Visibility.NETWORK,
                                     location=Location(None, None, Precision.COUNTRY, "CO"))], [], [])
    token = (await store.tokens.create("member", "test:casa", "the house"))[1]
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        assert (await client.post("/sign-in", data={"token": token})).status_code == 303
        page = (await client.get("/organisations/test:casa/services/new")).text
        csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        typed = {"csrf": csrf, "name": "Safe stay", "type": "safe-house", "present_in": ["CO-ANT"],
                 "status": "active", "visibility": "network"}
        refused = await client.post("/organisations/test:casa/services/new?lang=es", data=typed)
    assert refused.status_code == 400
    assert "Antioquia (CO-ANT) mostraría dónde Casa Refugio acoge a defensores" in refused.text
    assert "Registre Colombia (CO) en su lugar" in refused.text
    assert (await store.services_of(STEWARD, ["test:casa"])).get("test:casa", []) == []


async def test_the_service_form_offers_regions_and_its_providers_provinces_but_not_to_a_shelter_showing_none(
        store: Store, live_server: LiveServer) -> None:
    await store.upsert([Organisation("test:casa", "Casa Refugio", "shelter", visibility=Visibility.NETWORK,
                                     location=Location(None, None, Precision.COUNTRY, "CO")),
                        Organisation("test:group", "Grupo Local", "local-group",
                                     location=Location(None, None, Precision.COUNTRY, "CO"))], [], [])
    pages = {}
    for record in ("test:casa", "test:group"):
        token = (await store.tokens.create("member", record, "a caseworker"))[1]
        async with httpx.AsyncClient(base_url=live_server.url) as client:
            assert (await client.post("/sign-in", data={"token": token})).status_code == 303
            pages[record] = (await client.get(f"/organisations/{record}/services/new")).text
            if record == "test:group":  # a province chosen on the form is saved
                csrf = pages[record].split('name="csrf" value="', 1)[1].split('"', 1)[0]
                added = await client.post(f"/organisations/{record}/services/new", data={
                    "csrf": csrf, "name": "Acompañamiento", "type": "protective-accompaniment", "status": "active",
                    "visibility": "public", "present_in": ["CO-ANT"], "reaches": ["419"]})
                assert added.status_code == 303, re.findall(r"<li>.*?</li>", added.text)
    assert '<optgroup label="In Colombia">' in pages["test:group"] and 'value="CO-ANT"' in pages["test:group"]
    assert '<optgroup label="Regions">' in pages["test:casa"] and 'value="central-america"' in pages["test:casa"]
    assert "In Colombia" not in pages["test:casa"] and 'value="CO-ANT"' not in pages["test:casa"]
    said = "No province is offered: this shelter publishes only its country"
    assert said in pages["test:casa"] and said not in pages["test:group"]
    assert "A safe house can name no province here" in pages["test:group"]  # it publishes only its country too
    [saved] = (await store.services_of(STEWARD, ["test:group"]))["test:group"]
    assert sorted((c.place, c.presence.value) for c in saved.coverage) == [("419", "remote"), ("CO-ANT", "present")]


async def test_a_safe_house_is_held_to_what_its_provider_publishes_whatever_the_providers_kind(store: Store) -> None:
    group = org("group", "Grupo Local")  # a local group at country precision (the test rows give no point)
    with pytest.raises(ValidationFailed) as failed:
        await load(store, [group], [service("house", "test:group", "safe-house", **{"#country+code+present": "CO-ANT"}),
                                    service("aid", "test:group", **{"#country+code+present": "CO-ANT"})])
    [problem] = failed.value.problems  # its legal aid in Antioquia shows an office, not where people stay
    assert (problem.record, problem.column) == ("test:house", "#country+code+present")
    # publishing where it is (its province), the group may say where its safe house is
    await load(store, [{**group, "#adm1+code": "CO-ANT", "#geo+precision": "admin_area"}],
               [service("house", "test:group", "safe-house", **{"#country+code+present": "CO-ANT"})])
    # and showing less of itself again, it must first take the safe house back to the country
    problem = await refused_organisation_edit(store, "test:group", precision="country")
    assert (problem.record, problem.column) == ("test:group", "precision") and "test:house" in problem.reason


ADDRESS = "public in-person:Colonia Kennedy, Calle 5, casa 12"


async def test_an_address_anyone_may_see_is_refused_on_a_shelters_service_and_a_safe_house(store: Store) -> None:
    """A steward's walk made a shelter's "In person: Colonia Kennedy, Calle 5, casa 12" public: the
    form's hint warned, and the public then read where the shelter is, which it publishes nowhere.
    An address to ask in person or by post that anyone may see tells more than any published place:
    refused on a shelter's services and on any safe house, by import, by edit, and by the shelter's
    own change, whatever the provider publishes of its place; shown to the network, or fewer."""
    with pytest.raises(ValidationFailed) as failed:
        await load(store, [org("casa", "Casa Refugio", **SHELTER)],
                   [service("care", "test:casa", "psychosocial-support", **{"#contact+intake": ADDRESS})])
    [problem] = failed.value.problems
    assert (problem.record, problem.column) == ("test:care", "#contact+intake")
    assert problem.reason.startswith("a way to ask in person, by post, through a partner or \u201cOther\u201d that "
                                     "anyone may see can give an address, which would show where Casa Refugio "
                                     "shelters defenders")
    assert "Calle 5" not in problem.reason and await store.existing_organisations(["test:casa"]) == set()
    # to the network, or a phone anyone may see: taken; a group's safe house likewise held to its place
    network = ADDRESS.replace("public ", "network ")
    group = org("group", "Grupo Local", **{"#geo+precision": "country"})
    await load(store, [org("casa", "Casa Refugio", **SHELTER), group],
               [service("care", "test:casa", "psychosocial-support",
                        **{"#contact+intake": f"{network}|public phone:+57 300 000 0000"}),
                service("house", "test:group", "safe-house", **{"#contact+intake": network}),
                service("aid", "test:group", "legal-aid", **{"#contact+intake": ADDRESS})])  # not a shelter's
    house = await one_service(store, "test:house")
    for address in (ADDRESS, "public post:Apartado 12, Tegucigalpa", "public other:ask at Calle 5, casa 12",
                    "public through-partner:Colonia Kennedy, Calle 5, casa 12"):  # every kind of any text
        with pytest.raises(EditRefused) as refused:  # "other" may say where as well as "in person" does
            await store.save_service(STEWARD, Edit({"id": "test:house", "intake": [address]}),
                                     house.provenance.revision)
        [problem] = refused.value.problems
        assert (problem.record, problem.column) == ("test:house", "intake")
    # the group becoming a shelter would show where it is through its legal aid's public address
    problem = await refused_organisation_edit(store, "test:group", kind="shelter")
    assert (problem.record, problem.column) == ("test:group", "precision") and "test:aid" in problem.reason
    # and so would a group publishing its point: the address says more than any point (a point is no
    # reason to skip the check: a later read found the kind's change taken)
    await load(store, [org("pointed", "Grupo Puntual", **{"#geo+precision": "exact", "#geo+lat": "4.61",
                                                           "#geo+lon": "-74.08"})],
               [service("help", "test:pointed", "legal-aid", **{"#contact+intake": ADDRESS})])
    problem = await refused_organisation_edit(store, "test:pointed", kind="shelter")
    assert (problem.record, problem.column) == ("test:pointed", "precision") and "test:help" in problem.reason
    assert (await store.organisation(STEWARD, "test:pointed")).kind == "local-group"
    # a shelter publishing its point refused too: a lone shelter's place is withheld from the public
    # whatever it publishes (an attacker's read), and a locality's point is a town, not a door
    with pytest.raises(ValidationFailed) as failed:
        await load(store, [org("open", "Casa Abierta", **{**SHELTER, "#geo+precision": "exact", "#meta+visibility":
                                                           "public", "#geo+lat": "4.61", "#geo+lon": "-74.08"})],
                   [service("door", "test:open", "safe-house", **{"#contact+intake": ADDRESS})])
    assert [(p.record, p.column) for p in failed.value.problems] == [("test:door", "#contact+intake")]


async def test_a_peers_safe_house_giving_its_address_to_anyone_is_not_kept(store: Store) -> None:
    p = Publisher(directory=P)
    p.add("refugio", body=organisation("refugio", kind="shelter", precision="country", latitude=None,
                                       longitude=None))
    p.add("stay", kind="service", body=peer_service("stay", "refugio", service_type="safe-house",
                                                     intake=[ADDRESS]))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        outcome = await pull(store, peer, server.url)
    [reason] = [r for r in outcome.reasons if f"{P}:stay" in r]
    assert "gives in intake a way to ask anyone may see that can give an address" in reason and "Calle" not in reason
    assert await one_service(store, f"{P}:stay") is None


async def test_a_peers_channel_without_its_kinds_shape_is_read_as_an_address(store: Store) -> None:
    """An attacker's read: a peer's records are not refused for a channel's shape, and the address
    rule read the kind alone, so a careless peer's shelter gave its street as an "email" anyone saw."""
    p = Publisher(directory=P)
    p.add("refugio", body=organisation("refugio", kind="shelter", precision="country", latitude=None,
                                       longitude=None))
    p.add("street", kind="service", body=peer_service("street", "refugio", service_type="safe-house",
                                                       intake=["public email:Colonia Kennedy, Calle 5, casa 12"]))
    p.add("mail", kind="service", body=peer_service("mail", "refugio", service_type="psychosocial-support",
                                                     intake=["public email:ayuda@refugio.example"]))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        outcome = await pull(store, peer, server.url)
    [reason] = [r for r in outcome.reasons if f"{P}:street" in r]
    assert "can give an address" in reason and "Calle" not in reason
    assert await one_service(store, f"{P}:street") is None and await one_service(store, f"{P}:mail") is not None


async def test_a_peers_group_publishing_its_point_becoming_a_shelter_takes_its_addressed_service_with_it(
        store: Store) -> None:
    p = Publisher(directory=P)
    p.add("grupo", body=organisation("grupo"))  # a local group publishing its point
    p.add("aid", kind="service", body=peer_service("aid", "grupo", intake=[ADDRESS]))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        first = await pull(store, peer, server.url)
        assert first.dropped == 0 and await one_service(store, f"{P}:aid") is not None
        p.add("grupo", revision=2, body=organisation("grupo", kind="shelter"))
        second = await pull(store, peer, server.url)
    [reason] = [r for r in second.reasons if f"{P}:aid" in r]
    assert "gives in intake a way to ask anyone may see that can give an address" in reason and "Calle" not in reason
    assert await one_service(store, f"{P}:aid") is None


async def test_an_address_written_before_the_rule_is_shown_to_the_network_only_at_start(store: Store) -> None:
    await load(store, [org("casa", "Casa Refugio", **SHELTER)], [service("care", "test:casa", "psychosocial-support")])
    care = Service(id="test:care", organisation="test:casa", name="Care", type="psychosocial-support",
                   coverage=[Coverage("CO", Presence.PRESENT)],
                   intake=[Intake.of(ADDRESS), Intake.of("public phone:+57 300 000 0000")])

    async def as_an_older_version_wrote_it(tx: Any) -> None:
        await write_records(store.graph, tx, "test", [], [care], [], "2026-01-01T00:00:00Z", 3, hold_shelters=False)

    await store.graph.write_tx(as_an_older_version_wrote_it)
    assert await store.hold_shelters() == ["test:care"]
    held = await one_service(store, "test:care")
    assert [str(i) for i in held.intake] == ["network in-person:Colonia Kennedy, Calle 5, casa 12",
                                             "public phone:+57 300 000 0000"]
    assert await store.hold_shelters() == []
