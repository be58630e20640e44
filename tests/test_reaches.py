"""Each AVAILABLE_IN has a twin REACHES to the node of its place and the service's type, and of each
type it pays for (`writes.REACH`), and in a subdivision one to its country's node of those types for
what lies inside it, as has each TAKES_FROM a subdivision (`writes.ORIGIN_REACH`). Partner questions
and listings by type start from them: the twins must say what the relationships say after every
write, after migrations 16 to 18 make them for a data folder from before, after a restore of this
version or one before, and the answers must not change."""

from __future__ import annotations

import json

import pytest

from directory.domain.viewer import ANONYMOUS, STEWARD
from directory.jobs.partners import PartnerQuestion, find_partners
from directory.store import Filter, Store
from directory.store.backup import dump, restore
from directory.store.engine import schema
from directory.store.engine.schema import SET_VERSION, ensure_schema
from tests.conftest import WIPE
from tests.helpers import load, org, service

pytestmark = pytest.mark.anyio

BOTH_WAYS = """
MATCH (s:Service)
RETURN s.id AS id, s.type AS type, coalesce(s.purposes, []) AS purposes,
       [(s)-[a:AVAILABLE_IN]->(p:Place) | [p.code, coalesce(a.presence, '-'), p.kind, p.country]] AS available_in,
       [(s)-[:TAKES_FROM]->(p:Place) | [p.kind, p.country]] AS takes_from,
       [(s)-[r:REACHES]->(k:Reach) | k.key + ' ' + coalesce(r.presence, '-')] AS reaches
ORDER BY id
"""


async def _agree(store: Store) -> dict[str, list[str]]:
    """Every service's twins against its relationships, each once; what they hold, by service."""
    out = {}
    for r in await store.graph.read(BOTH_WAYS):
        types = [r["type"], *(t for t in r["purposes"] if t != r["type"])]
        twins = [f"{code} {t} {presence}" for code, presence, _, _ in r["available_in"] for t in types]
        twins += [f"in:{country} {t} {presence}" for _, presence, kind, country in r["available_in"]
                  if kind == "subdivision" for t in types]
        twins += [f"from:{country} {t} -" for kind, country in r["takes_from"] if kind == "subdivision" for t in types]
        assert sorted(r["reaches"]) == sorted(twins), r["id"]
        out[r["id"]] = sorted(r["reaches"])
    keys = await store.graph.read("MATCH (k:Reach) RETURN k.key AS key, count(*) AS n")
    assert all(k["n"] == 1 for k in keys)  # one node per place and type
    # and none that no service reaches any more: an old place of a service stays nowhere (`shared_nodes`)
    assert sorted(k["key"] for k in keys) == sorted({t.rsplit(" ", 1)[0] for twins in out.values() for t in twins})
    return out


async def _seed(store: Store) -> None:
    await load(store, [org("a"), org("b", **{"#country+code": "KE"}), org("c", **{"#country+code": "CO"})], [
        service("near", "a", **{"#country+code+present": "CO", "#country+code+remote": "419"}),
        service("far", "b", "relocation-regional", **{"#country+code+present": "KE|CO-ANT",
                                                      "#country+code+origin": "UG|UG-101"}),
        service("world", "b", "medical-care", **{"#country+code+present": "", "#country+code+remote": "001"}),
        service("none", "b", "medical-care", **{"#country+code+present": ""}),
        service("fund", "b", "emergency-grant", **{"#service+purpose": "legal-aid|medical-care",
                                                   "#country+code+present": "CO-DC"})])


QUESTION = PartnerQuestion(organisation="test:c", service_types=["legal-aid", "relocation-regional",
                                                                 "medical-care"], country="CO")


async def _answer(store: Store) -> list[tuple[str, float, list[str]]]:
    return [(p.organisation, p.score, p.services) for p in await find_partners(store, STEWARD, QUESTION)]


async def test_the_twins_say_what_the_relationships_say_after_each_write(store: Store) -> None:
    await _seed(store)
    assert await _agree(store) == {
        "test:far": ["CO-ANT relocation-regional present", "KE relocation-regional present",
                     "from:UG relocation-regional -", "in:CO relocation-regional present"],
        "test:fund": ["CO-DC emergency-grant present", "CO-DC legal-aid present", "CO-DC medical-care present",
                      "in:CO emergency-grant present", "in:CO legal-aid present", "in:CO medical-care present"],
        "test:near": ["419 legal-aid remote", "CO legal-aid present"], "test:none": [],
        "test:world": ["001 medical-care remote"]}
    assert {p[0] for p in await _answer(store)} == {"test:a", "test:b"}
    # coverage changed; a type changed with the same coverage; a service taken away
    await load(store, [org("a"), org("b", **{"#country+code": "KE"})], [
        service("near", "a", **{"#country+code+present": "MX", "#country+code+remote": ""}),
        service("far", "b", "relocation-in-country", **{"#country+code+present": "KE|CO-ANT",
                                                        "#country+code+origin": "UG"}),
        service("world", "b", "medical-care", **{"#country+code+present": "", "#country+code+remote": "001"}),
        service("none", "b", "medical-care", **{"#country+code+present": "CO"})])
    world = (await store.services_by_id(STEWARD, ["test:world"]))["test:world"]
    await store.delete(STEWARD, "service", "test:world", world.provenance.revision)
    found = await _agree(store)
    assert found["test:far"] == ["CO-ANT relocation-in-country present", "KE relocation-in-country present",
                                 "in:CO relocation-in-country present"]  # UG-101 no longer among its origins
    assert found["test:near"] == ["MX legal-aid present"]
    assert found["test:none"] == ["CO medical-care present"] and "test:world" not in found
    # the partners asked in Colombia: b for its medical care there and its relocation in a subdivision,
    # a no longer (its legal aid is in Mexico now)
    assert {p[0] for p in await _answer(store)} == {"test:b"}


async def test_a_node_only_an_origin_holds_stays_when_its_service_changes_and_keeps_that_origin(store: Store) -> None:
    # the nodes no service holds are dropped once a write has made every twin again, not between
    await _seed(store)
    node = "MATCH (k:Reach {key: 'from:UG relocation-regional'}) RETURN elementId(k) AS id"
    before = await store.graph.read(node)
    await load(store, [], [service("far", "b", "relocation-regional", **{"#country+code+present": "KE",
                                                                         "#country+code+origin": "UG|UG-101"})], [])
    assert await store.graph.read(node) == before  # the same node, not one deleted and made again
    assert (await _agree(store))["test:far"] == ["KE relocation-regional present", "from:UG relocation-regional -"]
    assert await _listed(store, country="UG", service_type="relocation-regional") == (["test:b"], ["test:far"])


async def test_a_data_folder_from_version_15_gets_them_and_the_same_partners(store: Store,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    await _seed(store)
    written, before = await _agree(store), await _answer(store)
    await store.graph.write("MATCH (k:Reach) DETACH DELETE k")
    await store.graph.write("MATCH (:Service {id: 'test:near'})-[a:AVAILABLE_IN]->(:Place {code: '419'}) "
                            "REMOVE a.presence")  # no write makes one: its twin has none either
    monkeypatch.setattr(schema, "REACHES_PAGE", 1)  # a page at a time, and a page run twice holds them once
    for _ in range(2):
        await store.graph.write(SET_VERSION, version=15)
        assert await ensure_schema(store.graph, store.embedded) == 15
    written["test:near"] = ["419 legal-aid -", "CO legal-aid present"]
    assert await _agree(store) == written
    assert await _answer(store) == before


async def test_a_data_folder_from_version_16_gets_the_twins_of_the_types_a_grant_pays_for(store: Store) -> None:
    await _seed(store)
    written = await _agree(store)
    # as version 16 wrote them: a twin for the service's own type only
    await store.graph.write("MATCH (s:Service)-[r:REACHES]->(k:Reach) WHERE NOT k.key ENDS WITH ' ' + s.type "
                            "DELETE r")
    await store.graph.write("MATCH (k:Reach) WHERE NOT EXISTS { (k)<-[:REACHES]-() } DELETE k")
    assert await _listed(store, country="CO", service_type="legal-aid") == (["test:a"], ["test:near"])  # no grant
    await store.graph.write(SET_VERSION, version=16)
    assert await ensure_schema(store.graph, store.embedded) == 16
    assert await _agree(store) == written
    assert await _listed(store, country="CO", service_type="legal-aid") == (
        ["test:a", "test:b"], ["test:fund", "test:near"])


async def test_a_data_folder_from_version_17_gets_the_twins_of_what_lies_inside_each_country(store: Store) -> None:
    await _seed(store)
    written = await _agree(store)
    # as version 17 wrote them: no node of what lies inside a country
    await store.graph.write("MATCH (k:Reach) WHERE k.key STARTS WITH 'in:' OR k.key STARTS WITH 'from:' "
                            "DETACH DELETE k")
    assert await _listed(store, country="CO", service_type="legal-aid") == (["test:a"], ["test:near"])  # not CO-DC
    await store.graph.write(SET_VERSION, version=17)
    assert await ensure_schema(store.graph, store.embedded) == 17
    assert await _agree(store) == written
    assert await _listed(store, country="CO", service_type="legal-aid") == (
        ["test:a", "test:b"], ["test:fund", "test:near"])


async def _listed(store: Store, **where: str) -> tuple[list[str], list[str]]:
    """The organisations and the services a listing by these filters gives the public."""
    organisations = await store.list_organisations(ANONYMOUS, Filter(**where), first=50)  # type: ignore[arg-type]
    services = await store.list_services(ANONYMOUS, Filter(**where), first=50)  # type: ignore[arg-type]
    return sorted(o.id for o in organisations.items), sorted(s.id for s in services.items)


async def test_a_listing_by_type_and_place_finds_through_the_twins_what_the_places_hold(store: Store) -> None:
    await _seed(store)
    # in the country itself, in a subdivision, through an area, paying for the type, taking defenders from
    # the place: each way a service counts for a place and a type
    assert await _listed(store, country="CO", service_type="legal-aid") == (
        ["test:a", "test:b"], ["test:fund", "test:near"])
    assert await _listed(store, country="CO", service_type="medical-care") == (
        ["test:b"], ["test:fund", "test:world"])
    assert await _listed(store, country="CO", service_type="relocation-regional") == (["test:b"], ["test:far"])
    assert await _listed(store, subdivision="CO-ANT", service_type="relocation-regional") == (
        ["test:b"], ["test:far"])
    assert await _listed(store, country="UG", service_type="relocation-regional") == (["test:b"], ["test:far"])
    assert await _listed(store, country="MX", service_type="legal-aid") == (["test:a"], ["test:near"])
    assert await _listed(store, region="419", service_type="legal-aid") == (
        ["test:a", "test:b"], ["test:fund", "test:near"])
    assert await _listed(store, country="KE", service_type="legal-aid") == ([], [])
    # a subdivision asked finds what covers it, never what lies in another subdivision of its country
    assert await _listed(store, subdivision="CO-ANT", service_type="legal-aid") == (["test:a"], ["test:near"])
    assert await _listed(store, subdivision="CO-DC", service_type="legal-aid") == (
        ["test:a", "test:b"], ["test:fund", "test:near"])
    # taking defenders only from a subdivision: found for it, its country and its region, not its neighbour
    await load(store, [], [service("exile", "c", "relocation-abroad", **{"#country+code+present": "FR",
                                                                         "#country+code+origin": "UG-102"})], [])
    for where in ({"country": "UG"}, {"subdivision": "UG-102"}, {"region": "202"}):
        assert await _listed(store, service_type="relocation-abroad", **where) == (["test:c"], ["test:exile"]), where
    assert await _listed(store, subdivision="UG-101", service_type="relocation-abroad") == ([], [])
    assert await _listed(store, country="KE", service_type="relocation-abroad") == ([], [])
    # a grant no longer paying for legal aid is no longer found for it, and its node's twin is gone
    await load(store, [], [service("fund", "b", "emergency-grant", **{"#service+purpose": "medical-care",
                                                                      "#country+code+present": "CO-DC"})], [])
    assert await _listed(store, country="CO", service_type="legal-aid") == (["test:a"], ["test:near"])
    assert await _listed(store, region="419", service_type="legal-aid") == (["test:a"], ["test:near"])
    assert (await _agree(store))["test:fund"] == ["CO-DC emergency-grant present", "CO-DC medical-care present",
                                                  "in:CO emergency-grant present", "in:CO medical-care present"]


def _as_version_15(lines: list[str]) -> list[str]:
    """The same backup as version 15 wrote it: only the header says so (the twins are never dumped)."""
    head = json.loads(lines[0])
    head["schema"] = 15
    return [json.dumps(head), *lines[1:]]


@pytest.mark.parametrize("old", [False, True])
async def test_a_restore_of_this_version_or_of_one_before_leaves_them_agreeing(store: Store, old: bool) -> None:
    await _seed(store)
    written, before = await _agree(store), await _answer(store)
    lines = [line async for line in dump(store.graph, store.directory_id)]
    assert not any("REACHES" in line or "Reach" in line for line in lines)
    await store.graph.write(WIPE)
    await restore(store.graph, store.directory_id, _as_version_15(lines) if old else lines, "backup.jsonl")
    assert await _agree(store) == written
    assert await _answer(store) == before


async def test_nodes_no_record_holds_any_more_are_deleted_with_the_last_one(store: Store) -> None:
    # an identifier or a place's node of a type would otherwise tell a reader of the data folder what
    # a deleted or changed record once was or where it worked
    identifiers = "MATCH (i:OrgIdentifier) RETURN i.code AS code ORDER BY code"
    await load(store, [org("a", **{"#org+code": "XM-DAC:1"}), org("b", **{"#org+code": "XM-DAC:2"})], [
        service("shelter", "a", "relocation-regional", **{"#country+code+present": "CO-ANT"})])
    assert [r["code"] for r in await store.graph.read(identifiers)] == ["xm-dac:1", "xm-dac:2"]
    await load(store, [org("b", **{"#org+code": "XM-DAC:3"})], [])
    assert [r["code"] for r in await store.graph.read(identifiers)] == ["xm-dac:1", "xm-dac:3"]
    a = await store.organisation(STEWARD, "test:a")
    await store.delete(STEWARD, "organisation", "test:a", a.provenance.revision)
    assert [r["code"] for r in await store.graph.read(identifiers)] == ["xm-dac:3"]
    assert await store.graph.read("MATCH (k:Reach) RETURN k.key AS key") == []
