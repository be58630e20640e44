"""No leak by filter, ranking, place or revision: what a viewer gets depends only on what it may see.

Each test builds the situation a probe used: a filter on the recorded subdivision, a search whose
ranking counted hidden records, a lonely public shelter listed with its country, and a change
invisible at the published precision showing as a new revision.
"""

from __future__ import annotations

import asyncio
import csv
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from directory.base.clock import now
from directory.domain.model import Visibility
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from directory.exchange import exports, importer
from directory.formats import hxl
from directory.store import Edit, Filter, Near, PointFilter, Sort, Store
from directory.store.door import Transaction
from directory.store.engine.cypher import cypher
from directory.store.records.shelters import alone
from federation.publish import Publisher
from tests.helpers import ORG_TAGS, SERVICE_TAGS, Api, csv_bytes, load, org, service
from tests.test_federation_publish import ONLINE, latest, read_all

pytestmark = pytest.mark.anyio

MEMBER = Viewer("member", "test:someone-else")
KENYA = {"#country+code": "KE", "#adm1+code": "KE-30", "#geo+lat": "-1.272", "#geo+lon": "36.802",
         "#geo+precision": "locality"}
_WIPE = cypher("tests.wipe_records", "MATCH (n) WHERE n:Organisation OR n:Service OR n:Tombstone DETACH DELETE n")
ANTIOQUIA = {"#country+code": "CO", "#adm1+code": "CO-ANT", "#geo+lat": "6.2512", "#geo+lon": "-75.5634"}


async def _ids(store: Store, viewer: Viewer, where: Filter, kind: str = "organisation") -> list[str]:
    lister = store.list_organisations if kind == "organisation" else store.list_services
    page = await lister(viewer, where, first=100)
    assert page.total == len(page.items)
    return sorted(r.id for r in page.items)


# --- filters use only what the viewer may see --------------------------------------------------

async def test_a_subdivision_filter_never_finds_a_record_by_its_recorded_subdivision(store: Store) -> None:
    await load(store, [org("country-level", **ANTIOQUIA, **{"#geo+precision": "country"}),
                       org("hidden-level", **ANTIOQUIA, **{"#geo+precision": "hidden"}),
                       org("area-level", **ANTIOQUIA, **{"#geo+precision": "admin_area"}),
                       org("town-level", **ANTIOQUIA, **{"#geo+precision": "locality"})])
    in_antioquia = Filter(subdivision="CO-ANT")
    shown = ["test:area-level", "test:town-level"]
    assert await _ids(store, ANONYMOUS, in_antioquia) == shown
    assert await _ids(store, MEMBER, in_antioquia) == shown
    assert await _ids(store, Viewer("member", "test:country-level"), in_antioquia) == [
        "test:area-level", "test:country-level", "test:town-level"]  # its own members see what was recorded
    assert len(await _ids(store, STEWARD, in_antioquia)) == 4
    for other in ("CO-CUN", "CO-VAC"):  # nor by its absence from the other provinces
        assert await _ids(store, ANONYMOUS, Filter(subdivision=other)) == []
    assert len(await _ids(store, ANONYMOUS, Filter(country="CO"))) == 4


async def test_the_graphql_subdivision_filter_walks_no_province_to_a_hidden_one(store: Store, api: Api) -> None:
    await load(store, [org("quiet", **ANTIOQUIA, **{"#geo+precision": "country"})])
    aliases = " ".join(f'{code.replace("-", "_")}: organisations(filter: {{subdivision: "{code}"}}) {{ totalCount }}'
                       for code in ("CO-ANT", "CO-CUN", "CO-VAC", "CO-ATL"))
    found = await api.data(f"{{ {aliases} }}")
    assert {k: v["totalCount"] for k, v in found.items()} == {"CO_ANT": 0, "CO_CUN": 0, "CO_VAC": 0, "CO_ATL": 0}


# --- search ---------------------------------------------------------------------------------------

async def _search(store: Store, text: str) -> list[Any]:
    pages: list[Any] = []
    after = None
    while True:
        page = await store.search(ANONYMOUS, text, first=100, after=after)
        pages.append((page.total, [(h.kind, h.id, h.score) for h in page.hits]))
        if not page.has_next:
            return pages
        after = page.cursors[-1]


async def test_which_visible_records_a_search_returns_does_not_depend_on_hidden_records(store: Store) -> None:
    # more visible matches than are ranked, half matching one word by name and half the other
    await load(store, [org(f"a{i:03}", f"Alpha River Group {i}", **{"#description": "beta"}) for i in range(300)]
               + [org(f"b{i:03}", f"Beta Lake Group {i}", **{"#description": "alpha"}) for i in range(300)]
               + [org(f"c{i:03}", f"Gamma Group {i}", **{"#description": "alpha beta river"}) for i in range(100)])
    before = await _search(store, "alpha beta")
    assert before[0][0] == 700 and sum(len(hits) for _, hits in before) == 500

    # hidden records full of one of the words shift every statistic Lucene keeps
    await load(store, [org(f"h{i:03}", f"Alpha Alpha {i}", **{"#description": "alpha alpha alpha beta",
                                                               "#meta+visibility": "restricted"})
                       for i in range(400)]
               + [org(f"n{i:03}", f"Beta {i}", **{"#description": "beta beta", "#meta+visibility": "network"})
                  for i in range(200)])
    assert await _search(store, "alpha beta") == before


# --- lonely shelters ------------------------------------------------------------------------------

def _shelter(name: str, lat: str, lon: str, **more: object) -> dict[str, object]:
    return org(name, **{"#org+type": "shelter", "#country+code": "KE", "#geo+lat": lat, "#geo+lon": lon,
                        "#geo+precision": "locality", **more})


async def test_an_organisation_offering_the_public_its_only_safe_house_has_no_place_for_the_public(
        store: Store, api: Api) -> None:
    # a local group at locality precision in KE-30 offers the only safe house in Kenya: a shelter's
    # kind would have withheld its place; its safe house, where people at risk sleep, must too
    group = org("group", **{"#country+code": "KE", "#adm1+code": "KE-30", "#geo+lat": "-1.272",
                            "#geo+lon": "36.802", "#geo+precision": "locality"})
    house = service("group-house", "group", "safe-house", **{"#country+code+present": "KE-30"})
    await load(store, [group, org("other", **{"#country+code": "KE"})],
               [house, service("other-aid", "other", **{"#country+code+present": "KE"})])

    async def public_place() -> tuple[str | None, bool]:
        location = (await store.organisation(ANONYMOUS, "test:group")).location
        assert location is not None
        return location.country, location.latitude is not None

    assert await public_place() == (None, False)
    member = (await store.organisation(MEMBER, "test:group")).location
    assert member is not None and member.latitude is not None
    assert await _ids(store, ANONYMOUS, Filter(subdivision="KE-30", service_type="safe-house")) == []
    assert await _ids(store, ANONYMOUS, Filter(country="KE")) == ["test:other"]
    drawn = await store.map_points(ANONYMOUS, PointFilter(service_type="safe-house"))
    assert drawn.points == [] and drawn.withheld == 1
    gaps = await api.data('{ coverageGaps(codes: ["KE-30"], serviceTypes: ["safe-house"]) { cells { providerIds } } }')
    assert gaps["coverageGaps"]["cells"][0]["providerIds"] == []

    # the safe house shown to members only: the public learns nothing of it, so the group's place is theirs again
    await load(store, [group], [{**house, "#meta+visibility": "network"}])
    assert await public_place() == ("KE", True)
    await load(store, [group], [house])  # public again: withheld again
    assert await public_place() == (None, False)
    await load(store, [group], [{**house, "#sector": "legal-aid"}])  # another service now
    assert await public_place() == ("KE", True)
    await load(store, [group], [house])
    assert await public_place() == (None, False)
    revision = (await store.services_by_id(STEWARD, ["test:group-house"]))["test:group-house"].provenance.revision
    await store.delete(STEWARD, "service", "test:group-house", revision)
    assert await public_place() == ("KE", True)


async def test_a_safe_house_added_while_its_provider_is_made_public_or_moved_leaves_it_withheld(
        store: Store) -> None:
    # an attacker's read: the import adding the safe house refreshed the marks seeing the provider as
    # it was; the edit making it public (or moving it) did not look, not seeing the uncommitted safe
    # house; both committed, and the only safe house in Kenya was placed for the public
    for change in ({"visibility": "public"}, {"country": "KE", "subdivision": "KE-30", "latitude": -1.272,
                                                "longitude": 36.802, "precision": "locality"}):
        colombia = {"#country+code": "CO", "#geo+precision": "country"}
        start = {**KENYA, "#meta+visibility": "network"} if "visibility" in change else colombia
        await load(store, [org("n1", **start), org("c2", **colombia), org("c3", **colombia)],
                   [service("n1-aid", "n1"), service("c2-h", "c2", "safe-house"), service("c3-h", "c3", "safe-house")])
        aid = (await store.services_by_id(STEWARD, ["test:n1-aid"]))["test:n1-aid"]
        house = replace(aid, id="test:n1-house", type="safe-house", visibility=Visibility.PUBLIC, coverage=[])
        adding, edited, tries = asyncio.Event(), asyncio.Event(), []

        async def add(tx: Transaction) -> None:
            tries.append(1)
            await tx.write([], [house], [], now())
            if len(tries) == 1:  # the first attempt waits, uncommitted, while the edit commits
                adding.set()
                await edited.wait()

        async def edit() -> None:
            await adding.wait()
            try:
                revision = (await store.organisation(STEWARD, "test:n1")).provenance.revision
                await store.save_organisation(STEWARD, Edit({"id": "test:n1", **change}), revision)
            finally:
                edited.set()

        await asyncio.gather(store.transaction(add), edit())
        location = (await store.organisation(ANONYMOUS, "test:n1")).location
        assert location is not None and (location.country, location.latitude) == (None, None), change
        await store.graph.write(_WIPE)


async def test_a_staged_import_withholds_a_safe_houses_provider_from_its_first_part(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # its organisations commit before its services: the provider was placed for the public between
    seen: list[tuple[str | None, float | None]] = []
    transaction = store.transaction

    async def looked(*args: Any, **kwargs: Any) -> Any:
        done = await transaction(*args, **kwargs)
        location = (await store.organisation(ANONYMOUS, "test:g")).location
        seen.append((location.country, location.latitude) if location else (None, None))
        return done

    monkeypatch.setattr(store, "transaction", looked)
    inputs = [importer.Parsed("orgs.csv", *hxl.read(csv_bytes(ORG_TAGS, [org("g", **KENYA), org("o", **{
                  "#country+code": "KE"})]), "orgs.csv")),
              importer.Parsed("services.csv", *hxl.read(csv_bytes(SERVICE_TAGS, [service(
                  "g-house", "g", "safe-house", **{"#country+code+present": "KE-30"})]), "services.csv"))]
    await importer.run(store, inputs, atomic_rows=1)
    assert len(seen) == 2 and set(seen) == {(None, None)}  # organisations, then services


async def test_a_safe_house_moved_to_another_provider_no_longer_withholds_the_first(store: Store) -> None:
    await load(store, [org("g1", **KENYA), org("g2", **KENYA)],
               [service("h", "g1", "safe-house", **{"#country+code+present": "KE-30"})])
    assert (await store.organisation(ANONYMOUS, "test:g1")).location.country is None
    await load(store, [], [service("h", "g2", "safe-house", **{"#country+code+present": "KE-30"})])
    assert (await store.organisation(ANONYMOUS, "test:g1")).location.country == "KE"
    assert (await store.organisation(ANONYMOUS, "test:g2")).location.country is None


def test_a_withheld_shelter_counts_in_no_place_so_it_leaves_no_gap_that_says_where_it_is() -> None:
    # two in Colombia at country precision, a third in Bogotá alone in its district: were it still
    # counted in Colombia, two placed shelters (three needed) would say where the third one is
    shelters = [("a:one", "CO", None), ("a:two", "CO", None), ("a:three", "CO", "CO-DC")]
    assert alone(shelters, 3) == {"a:one", "a:two", "a:three"}
    assert alone([*shelters, ("a:four", "CO", "CO-DC"), ("a:five", "CO", "CO-DC")], 3) == set()
    assert alone([("a:x", "CO", "CO-DC"), ("b:y", "CO", "CO-DC"), ("b:z", "CO", "CO-DC")], 2) == {"a:x"}


async def test_the_store_places_no_shelter_where_a_withheld_one_would_have_made_the_count(store: Store) -> None:
    await load(store, [org("one", **{"#org+type": "shelter", "#geo+precision": "country"}),
                       org("two", **{"#org+type": "shelter", "#geo+precision": "country"}),
                       _shelter("three", "4.61", "-74.08", **{"#country+code": "CO", "#geo+precision": "admin_area",
                                                               "#adm1+code": "CO-DC"})])
    for record in ("one", "two", "three"):
        shown = await store.organisation(ANONYMOUS, f"test:{record}")
        assert shown.location is None or shown.location.country is None, record
    assert await _ids(store, ANONYMOUS, Filter(country="CO", kind="shelter")) == []
    assert len(await _ids(store, MEMBER, Filter(country="CO", kind="shelter"))) == 3


async def test_a_lonely_public_shelter_has_no_place_for_the_public_on_any_channel(store: Store, api: Api,
                                                                                  tmp_path: Path) -> None:
    await load(store, [_shelter("safe-house", "-1.29", "36.82"), org("group", **{"#country+code": "KE"})],
               [service("safe-house-stay", "safe-house", kind="relocation-in-country",
                        **{"#country+code+present": "KE-30", "#country+code+remote": "KE",
                           "#country+code+origin": "KE"}),
                service("group-aid", "group", **{"#country+code+present": "KE"})])
    anonymous = await store.organisation(ANONYMOUS, "test:safe-house")
    assert anonymous.location is not None and anonymous.location.country is None
    assert anonymous.location.latitude is None and anonymous.location.precision.value == "hidden"
    member = await store.organisation(MEMBER, "test:safe-house")
    assert member.location is not None and member.location.country == "KE" and member.location.latitude is not None

    in_kenya = Filter(country="KE")
    assert await _ids(store, ANONYMOUS, in_kenya) == ["test:group"]
    assert "test:safe-house" in await _ids(store, MEMBER, in_kenya)
    near = Filter(near=Near(-1.29, 36.82, 50))
    assert await _ids(store, ANONYMOUS, near) == ["test:group"]  # by its country; the shelter not at all
    assert [o.id for o in (await store.list_organisations(ANONYMOUS, near, sort=Sort.DISTANCE)).items] == [
        "test:group"]
    assert "test:safe-house" in await _ids(store, MEMBER, near)

    listed = await api.data('{ organisations(filter: {kind: "shelter"}) { edges { node { recordId '
                            'location { country latitude precision } services { coverage { place } origins } } } } }')
    assert listed["organisations"]["edges"] == [{"node": {"recordId": "test:safe-house", "location": {
        "country": None, "latitude": None, "precision": "HIDDEN"}, "services": [{"coverage": [], "origins": []}]}}]
    # where it takes defenders from is, for a shelter relocating them in their country, where it is
    alone = await api.data('{ service(id: "test:safe-house-stay") { origins organisationId } }')
    assert alone["service"] == {"origins": [], "organisationId": "test:safe-house"}
    assert (await store.services_by_id(ANONYMOUS, ["test:safe-house-stay"]))["test:safe-house-stay"].origins == []
    assert (await store.services_by_id(MEMBER, ["test:safe-house-stay"]))["test:safe-house-stay"].origins == ["KE"]
    # a map's counts of what it does not draw never say where it is: asked country by country, the
    # public's map of Kenya counts it no more than France's does
    for country in ("KE", "FR", None):
        drawn = await store.map_points(ANONYMOUS, PointFilter(kind="shelter", country=country))
        assert drawn.points == [] and (drawn.withheld, drawn.not_drawn) == ((1 if country is None else 0), 0), country
    everything = await store.map_points(ANONYMOUS, PointFilter(country="KE"))
    assert "test:safe-house" not in [p.id for p in everything.points] and everything.withheld == 0
    on_map = await store.map_points(MEMBER, PointFilter(kind="shelter", country="KE"))
    assert [p.id for p in on_map.points] == ["test:safe-house"]

    # where its services work is where it is: withheld with it, on every channel that tells places
    for where in (in_kenya, Filter(subdivision="KE-30"), Filter(region="region:Africa")):
        assert "test:safe-house" not in await _ids(store, ANONYMOUS, replace(where, kind="shelter"))
        assert "test:safe-house-stay" not in await _ids(store, ANONYMOUS, where, "service")
        assert "test:safe-house-stay" in await _ids(store, MEMBER, where, "service")
    assert (await store.services_by_id(ANONYMOUS, ["test:safe-house-stay"]))["test:safe-house-stay"].coverage == []
    async with httpx.AsyncClient(base_url=api.url) as client:  # the browse page's results
        async def found(form: dict[str, str]) -> str:
            return (await client.post("/", data=form)).text.split('id="found"', 1)[1]
        assert "Works in: Kenya" in await found({"country": "KE"})  # the group's service, shown
        for form in ({"kind": "shelter"}, {"text": "Safe-House"}):
            shown = await found(form)
            assert "Safe-House" in shown and "Works in" not in shown and "Kenya" not in shown, form
    counted = await api.data('{ places(codes: ["KE"]) { providers { serviceType present remote } } }')
    assert [p["serviceType"] for p in counted["places"][0]["providers"]] == ["legal-aid"]
    gaps = await api.data('{ coverageGaps(codes: ["KE"], serviceTypes: ["relocation-in-country"]) '
                          '{ cells { providerIds } } }')
    assert gaps["coverageGaps"]["cells"][0]["providerIds"] == []

    await exports.export_csv(store, ANONYMOUS, tmp_path)
    with (tmp_path / "organisations.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    tags, shelter = rows[1], next(r for r in rows if "test:safe-house" in r or "safe-house" in r)
    assert shelter[tags.index("#country+code")] == "" and shelter[tags.index("#geo+lat")] == ""

    publisher = Publisher(store, ONLINE)
    await publisher.publish()
    public, state = await read_all(publisher, "public")
    body = latest(public)["test:safe-house"].body
    assert body is not None and body["location"]["country"] is None and body["location"]["latitude"] is None

    # moving it, or changing where its service works, is no news to the public, who see neither
    first_revision = anonymous.provenance.revision if anonymous.provenance else 0
    stay_revision = (await store.services_by_id(ANONYMOUS, ["test:safe-house-stay"]))["test:safe-house-stay"].provenance
    await load(store, [_shelter("safe-house", "-0.42", "36.95")],
               [service("safe-house-stay", "safe-house", kind="relocation-in-country",
                        **{"#country+code+present": "KE-18", "#country+code+remote": "KE",
                           "#country+code+origin": "KE"})])
    moved = await store.organisation(ANONYMOUS, "test:safe-house")
    assert moved.provenance is not None and moved.provenance.revision == first_revision
    assert (await store.services_by_id(ANONYMOUS, ["test:safe-house-stay"]))[
        "test:safe-house-stay"].provenance == stay_revision
    assert (await store.organisation(STEWARD, "test:safe-house")).provenance.revision == 2  # type: ignore[union-attr]

    # two more public shelters in Kenya: none is alone any more, and the change reaches the feed
    await load(store, [_shelter("refuge", "-0.09", "34.77"), _shelter("haven", "-4.04", "39.67")])
    shown = await store.organisation(ANONYMOUS, "test:safe-house")
    assert shown.location is not None and shown.location.country == "KE"
    assert shown.provenance is not None and shown.provenance.revision > first_revision
    assert "test:safe-house" in await _ids(store, ANONYMOUS, in_kenya)
    await publisher.publish()
    later, _ = await read_all(publisher, "public", state)
    assert latest(later)["test:safe-house"].body["location"]["country"] == "KE"  # type: ignore[index]
    assert latest(later)["test:safe-house-stay"].body["origins"] == ["KE"]  # type: ignore[index]

    # the two others restricted: the safe house is alone again, and the public feed read from its
    # start serves no body that places it (a record's newer entry purges its earlier bodies)
    await load(store, [_shelter(name, lat, lon, **{"#meta+visibility": "restricted"})
                       for name, lat, lon in (("refuge", "-0.09", "34.77"), ("haven", "-4.04", "39.67"))])
    await publisher.publish()
    everything, _ = await read_all(publisher, "public")
    for record in ("test:safe-house", "test:safe-house-stay"):
        # the body's salt is random letters and may hold "KE": it is not a place, so it is left out
        served = [{k: v for k, v in e.body.items() if k != "salt"} for e in everything
                  if e.id == record and e.body is not None]
        assert len(served) == 1 and "KE" not in json.dumps(served[0]), (record, served)
    assert all(e.body is not None for e in latest(everything).values() if e.op == "upsert")  # the latest stay


async def test_a_map_counts_what_it_does_not_draw_among_what_was_asked_only(store: Store) -> None:
    """"Not drawn, as they publish no location: 1" under a safe-house filter must be a safe house."""
    here = {"#geo+lat": "4.61", "#geo+lon": "-74.08", "#geo+precision": "locality"}
    await load(store, [org("nowhere", **{"#country+code": "", "#geo+precision": "hidden"}), org("here", **here)],
               [service("nowhere-law", "nowhere", **{"#group+code": "journalists"}), service("here-law", "here")])
    for where, not_drawn in ((PointFilter(), 1), (PointFilter(service_type="legal-aid"), 1),
                             (PointFilter(service_type="safe-house"), 0), (PointFilter(group="journalists"), 1),
                             (PointFilter(group="sex-workers"), 0), (PointFilter(kind="shelter"), 0)):
        drawn = await store.map_points(ANONYMOUS, where)
        assert drawn.not_drawn == not_drawn, where
        assert [p.id for p in drawn.points] == (["test:here"] if not where.group and where.kind is None
                                                and where.service_type in (None, "legal-aid") else []), where


async def test_a_data_folder_from_version_20_gives_withheld_shelters_services_a_public_revision(
        store: Store) -> None:
    """Their origins left the public view with version 21: the public feed must carry that view again."""
    from directory.store.engine.schema import SET_VERSION, ensure_schema

    await load(store, [_shelter("alone", "-1.29", "36.82"), org("group", **{"#country+code": "KE"})],
               [service("alone-stay", "alone", kind="relocation-in-country", **{"#country+code+origin": "KE"}),
                service("alone-law", "alone"), service("group-law", "group", **{"#country+code+origin": "KE"})])
    read = "MATCH (s:Service) RETURN s.id AS id, s.public_revision AS revision ORDER BY id"
    before = {r["id"]: r["revision"] for r in await store.graph.read(read)}
    await store.graph.write(SET_VERSION, version=20)
    assert await ensure_schema(store.graph, store.embedded) == 20
    after = {r["id"]: r["revision"] for r in await store.graph.read(read)}
    assert {k: after[k] - before[k] for k in before} == {"test:alone-law": 0, "test:alone-stay": 1, "test:group-law": 0}


async def test_withholding_counts_public_shelters_only(store: Store) -> None:
    await load(store, [_shelter("open-1", "-1.29", "36.82"),
                       *[_shelter(f"secret-{i}", "-1.3", "36.8", **{"#meta+visibility": "restricted"})
                         for i in range(5)]])
    shown = await store.organisation(ANONYMOUS, "test:open-1")
    assert shown.location is not None and shown.location.country is None  # hidden shelters do not make it safe


# --- revisions per view ---------------------------------------------------------------------------

async def test_a_change_invisible_to_a_view_is_no_new_revision_in_it(store: Store) -> None:
    point = {"#geo+precision": "locality", "#country+code": "CO"}
    await load(store, [org("mover", **point, **{"#geo+lat": "4.6012", "#geo+lon": "-74.0712",
                                                  "#channel+contact": "signal:+57 1"})],
               [service("mover-aid", "mover", **{"#capacity": "5", "#capacity+unit": "cases"})])
    before = {v: await store.organisation(v, "test:mover") for v in (ANONYMOUS, MEMBER, STEWARD)}
    services_before = {v: (await store.services_by_id(v, ["test:mover-aid"]))["test:mover-aid"]
                       for v in (ANONYMOUS, MEMBER, STEWARD)}

    # the point moves inside its 0.1 degree cell; the secure contact changes; the capacity changes
    await load(store, [org("mover", **point, **{"#geo+lat": "4.6498", "#geo+lon": "-74.0288",
                                                  "#channel+contact": "signal:+57 2"})],
               [service("mover-aid", "mover", **{"#capacity": "7", "#capacity+unit": "cases"})])
    after = {v: await store.organisation(v, "test:mover") for v in (ANONYMOUS, MEMBER, STEWARD)}
    services_after = {v: (await store.services_by_id(v, ["test:mover-aid"]))["test:mover-aid"]
                      for v in (ANONYMOUS, MEMBER, STEWARD)}

    def moved(a: Any, b: Any) -> tuple[bool, bool]:
        return (a.provenance.revision != b.provenance.revision, a.provenance.updated_at != b.provenance.updated_at)

    assert after[ANONYMOUS].location == before[ANONYMOUS].location
    assert moved(before[ANONYMOUS], after[ANONYMOUS]) == (False, False)  # nothing it can see changed
    assert moved(before[MEMBER], after[MEMBER]) == (True, True)  # the contact channel changed
    assert moved(before[STEWARD], after[STEWARD]) == (True, True)
    assert moved(services_before[ANONYMOUS], services_after[ANONYMOUS]) == (False, False)  # capacity is not public
    assert moved(services_before[MEMBER], services_after[MEMBER]) == (True, True)

    assert after[STEWARD].provenance is not None
    later = Filter(updated_since=after[STEWARD].provenance.updated_at)
    assert await _ids(store, STEWARD, later) == ["test:mover"]
    assert await _ids(store, STEWARD, later, "service") == ["test:mover-aid"]
    assert await _ids(store, ANONYMOUS, later) == []  # "changed since" is asked of the viewer's view too
    assert await _ids(store, ANONYMOUS, later, "service") == []


async def test_a_staged_import_dying_after_its_organisations_places_no_shelter_on_a_safe_house_it_never_wrote(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash read: two public shelters in Malta and a group whose public safe house in Malta came in
    the import's services part; the import was killed between its parts, the three were counted as
    three, and the public (and the public feed) had the two shelters' country."""
    parts: list[int] = []
    transaction = store.transaction

    async def dies_before_the_services(*args: Any, **kwargs: Any) -> Any:
        parts.append(1)
        if len(parts) == 2:
            raise KeyboardInterrupt  # the process killed: nothing after this part is written
        return await transaction(*args, **kwargs)

    monkeypatch.setattr(store, "transaction", dies_before_the_services)
    malta = {"#country+code": "MT", "#geo+precision": "country"}
    shelters = [org(f"s{n}", **malta, **{"#org+type": "shelter"}) for n in (1, 2)]
    inputs = [importer.Parsed("orgs.csv", *hxl.read(csv_bytes(ORG_TAGS, [*shelters, org("group", **malta)]),
                                                    "orgs.csv")),
              importer.Parsed("services.csv", *hxl.read(csv_bytes(SERVICE_TAGS, [service(
                  "group-house", "group", "safe-house", **{"#country+code+present": "MT"})]), "services.csv"))]
    monkeypatch.setattr(store, "hold_shelters", _nothing)  # a killed process holds nothing on its way out
    with pytest.raises(KeyboardInterrupt):
        await importer.run(store, inputs, atomic_rows=1)
    # and again once any process opens the store, or publishes, meanwhile: the marks worked out anew
    # put the group back on the map (a crash read: `directory token list` during an import did it)
    for refreshed in (False, True):
        if refreshed:
            await store.refresh_shelters()
        for record in ("s1", "s2", "group"):
            location = (await store.organisation(ANONYMOUS, f"test:{record}")).location
            assert location is None or location.country is None, (record, refreshed)
        assert await _ids(store, ANONYMOUS, Filter(country="MT")) == []


async def _nothing() -> list[str]:
    return []


async def test_a_publish_after_a_staged_import_died_decides_the_shelters_marks_before_signing(store: Store) -> None:
    from federation.keys import SigningKey
    from federation.publish import Publisher

    await load(store, [org("one", **{"#org+type": "shelter", "#geo+precision": "country"})])
    await store.graph.write("MATCH (o:Organisation {id: 'test:one'}) SET o.place_withheld = false")  # as left
    await store.begin_import(["orgs.csv", "services.csv"])  # and never finished
    await Publisher(store, [SigningKey.generate()]).publish()
    assert (await store.organisation(ANONYMOUS, "test:one")).location.country is None
