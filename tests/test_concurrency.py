"""Concurrent writers never undo each other: a stale revision writes nothing, on every path.

The counting test is the promise in the README: N acknowledged read-modify-write cycles leave
exactly N increments, and the revisions handed back are unique and contiguous.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from neo4j.exceptions import ConstraintError, TransientError

from directory.base.audit import read_all
from directory.base.clock import now
from directory.domain.model import Coverage, Organisation, Presence, Service
from directory.domain.viewer import STEWARD
from directory.store import Edit, Store
from directory.store.engine.graph import KEY_ATTEMPTS
from tests.helpers import Api, load, org, service

pytestmark = pytest.mark.anyio

READ = """query($id: ID!) { organisation(id: $id) { description visibility provenance { revision } } }"""
UPDATE = """mutation($id: ID!, $revision: Int!, $input: OrganisationInput!) {
  updateOrganisation(id: $id, revision: $revision, input: $input) {
    organisation { description visibility provenance { revision } } currentRevision errors { code } } }"""


async def _steward(store: Store) -> str:
    return (await store.tokens.create("steward", None))[1]


async def test_eight_writers_fifty_cycles_each_lose_no_increment(store: Store, api: Api) -> None:
    await load(store, [org("counter", **{"#description": "0"})])
    token = await _steward(store)
    handed: list[int] = []
    conflicts = 0

    async def writer(seed: int) -> None:
        nonlocal conflicts
        rng = random.Random(seed)
        for _ in range(50):
            while True:
                seen = (await api.data(READ, token, id="test:counter"))["organisation"]
                await asyncio.sleep(rng.random() / 200)  # let others read the same revision
                answer = (await api.data(UPDATE, token, id="test:counter",
                                         revision=seen["provenance"]["revision"],
                                         input={"description": str(int(seen["description"]) + 1)}))
                payload = answer["updateOrganisation"]
                if payload["errors"]:
                    assert [e["code"] for e in payload["errors"]] == ["REVISION_CONFLICT"]
                    conflicts += 1
                    continue
                handed.append(payload["organisation"]["provenance"]["revision"])
                assert payload["organisation"]["description"] == str(int(seen["description"]) + 1)
                break

    await asyncio.gather(*(writer(n) for n in range(8)))
    final = await store.organisation(STEWARD, "test:counter")
    assert final.description == "400"
    assert sorted(handed) == list(range(2, 402))  # each acknowledged write got its own revision, in order
    assert final.provenance is not None and final.provenance.revision == 401
    assert conflicts > 0  # the writers did collide: the test exercised the check


async def test_a_restriction_racing_an_edit_from_the_same_revision_is_never_undone(store: Store, api: Api) -> None:
    token = await _steward(store)
    for trial in range(20):
        record = f"test:shelter-{trial}"
        await load(store, [org(f"shelter-{trial}", **{"#org+type": "shelter", "#description": "old"})])

        async def restrict() -> dict[str, Any]:
            answer = await api.data(UPDATE, token, id=record, revision=1, input={"visibility": "RESTRICTED"})
            result: dict[str, Any] = answer["updateOrganisation"]
            return result

        async def describe() -> dict[str, Any]:
            answer = await api.data(UPDATE, token, id=record, revision=1, input={"description": "new"})
            result: dict[str, Any] = answer["updateOrganisation"]
            return result

        results = await asyncio.gather(restrict(), describe())
        acknowledged = [r for r in results if not r["errors"]]
        assert len(acknowledged) == 1, results  # same revision: exactly one of them applies
        assert [e["code"] for r in results for e in r["errors"]] == ["REVISION_CONFLICT"]
        final = await store.organisation(STEWARD, record)
        if acknowledged[0] is results[0]:
            assert final.visibility.value == "restricted" and final.description == "old"
        else:
            assert final.visibility.value == "public" and final.description == "new"


async def test_changes_to_restricted_records_are_audited_without_their_content(store: Store, api: Api) -> None:
    await load(store, [org("safe", **{"#meta+visibility": "restricted", "#description": "first"}), org("open")])
    token = await _steward(store)
    started = now()
    changed = (await api.data(UPDATE, token, id="test:safe", revision=1,
                              input={"description": "Calle Zanzibarquay back door"}))["updateOrganisation"]
    assert changed["errors"] == []
    opened = (await api.data(UPDATE, token, id="test:open", revision=1,
                             input={"description": "Quoxelport open door"}))["updateOrganisation"]
    assert opened["errors"] == []
    restricted_now = (await api.data(UPDATE, token, id="test:open", revision=2,
                                     input={"visibility": "RESTRICTED"}))["updateOrganisation"]
    assert restricted_now["errors"] == []

    assert store.audit is not None
    changes = [e for e in read_all(store.audit.path.parent) if e["action"] == "change" and e["at"] >= started]
    assert [(e["kind"], e["ids"], e["role"]) for e in changes] == [
        ("organisation", ["test:safe"], "steward"), ("organisation", ["test:open"], "steward")]
    assert all(e["who"] and e["at"] for e in changes)
    log = "".join(p.read_text() for p in store.audit.path.parent.glob("*.jsonl"))
    assert "Zanzibarquay" not in log and "Quoxelport" not in log

    imported_from = now()
    await load(store, [org("safe", **{"#meta+visibility": "restricted", "#description": "Moved to Mirrowdale"})])
    imported = [e for e in read_all(store.audit.path.parent) if e["action"] == "change" and e["at"] >= imported_from]
    assert [(e["kind"], e["ids"], e["who"]) for e in imported] == [("organisation", ["test:safe"], "cli")]
    log = "".join(p.read_text() for p in store.audit.path.parent.glob("*.jsonl"))
    assert "Mirrowdale" not in log

    linked_from = now()
    await load(store, [org("donor")], [service("safe-stay", "safe", **{"#meta+visibility": "restricted"})],
               [{"#rel+type": "FUNDS", "#org+id+source": "donor", "#org+id+target": "open", "#value": 5000,
                 "#currency": "EUR", "#meta+visibility": "restricted"}])
    safe = await store.organisation(STEWARD, "test:safe")
    assert safe.provenance is not None
    await store.delete(STEWARD, "organisation", "test:safe", safe.provenance.revision)
    later = [(e["action"], e["kind"], e["ids"]) for e in read_all(store.audit.path.parent)
             if e["at"] >= linked_from and e["action"] in ("change", "delete")]
    assert ("change", "link", ["test:donor FUNDS test:open"]) in later
    assert ("change", "service", ["test:safe-stay"]) in later
    assert ("delete", "organisation", ["test:safe"]) in later and ("delete", "service", ["test:safe-stay"]) in later


async def test_who_may_see_a_record_or_how_precisely_changing_is_audited(store: Store, api: Api) -> None:
    """A steward's walk made a network shelter public at exact precision and left no audit line (only
    restricted records were noted). A change of who may see a record, or of how precisely its place
    is published, is noted now; an edit of anything else of a public record is not."""
    await load(store, [org("casa", **{"#org+type": "shelter", "#meta+visibility": "network",
                                      "#geo+lat": "4.61", "#geo+lon": "-74.08", "#geo+precision": "locality"}),
                       org("open"), org("donor", **{"#org+type": "donor"})],
               [service("open-aid", "open")],
               [{"#rel+type": "FUNDS", "#org+id+source": "donor", "#org+id+target": "open", "#value": 500,
                 "#currency": "EUR", "#meta+visibility": "network"}])
    token = await _steward(store)
    started = now()
    for record, change in (("test:casa", {"visibility": "PUBLIC"}), ("test:casa", {"precision": "EXACT"}),
                           ("test:open", {"description": "Still open"})):
        current = await store.organisation(STEWARD, record)
        saved = (await api.data(UPDATE, token, id=record, revision=current.provenance.revision,
                                input=change))["updateOrganisation"]
        assert saved["errors"] == [], change
    aid = (await store.services_by_id(STEWARD, ["test:open-aid"]))["test:open-aid"]
    await store.save_service(STEWARD, Edit({"id": "test:open-aid", "visibility": "network"}),
                             aid.provenance.revision)
    grant = Edit({"type": "FUNDS", "source": "test:donor", "target": "test:open", "key": "",
                  "visibility": "public", "amount": 500, "currency": "EUR"})
    await store.save_link(STEWARD, grant, 1)
    assert store.audit is not None
    changes = [(e["kind"], e["ids"]) for e in read_all(store.audit.path.parent)
               if e["action"] == "change" and e["at"] >= started and e["ids"]]
    assert changes == [("organisation", ["test:casa"]), ("organisation", ["test:casa"]),
                       ("service", ["test:open-aid"]), ("link", ["test:donor FUNDS test:open"])]


async def test_an_import_changing_who_may_see_a_record_or_how_precisely_is_audited_as_an_edit_is(
        store: Store) -> None:
    """An edit that made a network shelter public at exact precision left an audit line; the same
    change made by importing a spreadsheet again left none (only restricted records were noted).
    A link has one id in the log whichever channel changed it."""
    casa = {"#org+type": "shelter", "#geo+lat": "4.61", "#geo+lon": "-74.08"}
    grant = {"#rel+type": "FUNDS", "#org+id+source": "donor", "#org+id+target": "open", "#value": 500,
             "#currency": "EUR"}
    await load(store, [org("casa", **casa, **{"#meta+visibility": "network", "#geo+precision": "locality"}),
                       org("open"), org("donor", **{"#org+type": "donor"})],
               [service("open-aid", "open")], [{**grant, "#meta+visibility": "network"}])
    assert store.audit is not None
    started = now()
    await load(store, [org("casa", **casa, **{"#meta+visibility": "public", "#geo+precision": "locality"})])
    await load(store, [org("casa", **casa, **{"#meta+visibility": "public", "#geo+precision": "exact"})])
    await load(store, [org("open", **{"#description": "Still open"})])
    await load(store, [org("open")], [service("open-aid", "open", **{"#meta+visibility": "network"})],
               [{**grant, "#meta+visibility": "public"}])
    changes = [(e["kind"], e["ids"]) for e in read_all(store.audit.path.parent)
               if e["action"] == "change" and e["at"] >= started and e["ids"]]
    assert changes == [("organisation", ["test:casa"]), ("organisation", ["test:casa"]),
                       ("service", ["test:open-aid"]), ("link", ["test:donor FUNDS test:open"])]


async def test_a_write_that_shows_or_withholds_other_shelters_places_is_audited_for_them(store: Store,
                                                                                        api: Api) -> None:
    """An attacker's read: a third public shelter in a country showed the public two others' exact
    places (the shelter minimum is met), and the log said nothing of them. The import or edit that
    moves another shelter into or out of the public's sight leaves a line for it."""
    def shelter(local: str, lat: str) -> dict[str, object]:
        return org(local, **{"#org+type": "shelter", "#country+code": "IS", "#geo+lat": lat, "#geo+lon": "-21.94",
                             "#geo+precision": "exact"})

    await load(store, [shelter("sa", "64.14"), shelter("sb", "64.15")])
    assert store.audit is not None
    started = now()
    await load(store, [shelter("sc", "64.16")])  # the third: the others' places shown
    shown = [(e["kind"], e["ids"], e["who"]) for e in read_all(store.audit.path.parent)
             if e["action"] == "change" and e["at"] >= started]
    assert shown == [("organisation", ["test:sa", "test:sb"], "cli")]
    token = await _steward(store)
    current = await store.organisation(STEWARD, "test:sc")
    started = now()
    made_network = (await api.data(UPDATE, token, id="test:sc", revision=current.provenance.revision,
                                   input={"visibility": "NETWORK"}))["updateOrganisation"]
    assert made_network["errors"] == []
    lines = sorted((e["kind"], e["ids"]) for e in read_all(store.audit.path.parent)
                   if e["action"] == "change" and e["at"] >= started)
    assert lines == [("organisation", ["test:sa", "test:sb"]), ("organisation", ["test:sc"])]


async def test_concurrent_upserts_of_one_record_lose_no_update(store: Store) -> None:
    await store.upsert([Organisation(id="test:busy", name="Busy", kind="local-group")], [], [])

    async def edit(n: int) -> None:
        await store.upsert([Organisation(id="test:busy", name="Busy", kind="local-group",
                                         description=f"edit {n}")], [], [])

    await asyncio.gather(*(edit(n) for n in range(8)))
    found = await store.organisation(STEWARD, "test:busy")
    assert found.provenance and found.provenance.revision == 9
    assert found.description.startswith("edit ")


async def test_concurrent_upserts_of_many_records_all_land(store: Store) -> None:
    async def create(n: int) -> None:
        await store.upsert([Organisation(id=f"test:many-{n}-{i}", name=f"Many {n} {i}", kind="local-group")
                            for i in range(50)], [], [])

    await asyncio.gather(*(create(n) for n in range(8)))
    assert len(await store.existing_organisations([f"test:many-{n}-{i}" for n in range(8) for i in range(50)])) == 400


async def test_concurrent_writers_of_services_in_a_new_place_and_type_all_land_with_one_node(store: Store) -> None:
    # each service available in a place gets a twin to the one node of its place and type, made by the
    # first writer that needs it (`writes.REACH`): eight writers needing the same new one at once
    await store.graph.write("MATCH (k:Reach {key: 'TV medical-care'}) DETACH DELETE k")

    async def create(n: int) -> None:
        await store.upsert([Organisation(id=f"test:tv-{n}", name=f"Tuvalu {n}", kind="local-group")],
                           [Service(id=f"test:tv-{n}-s", organisation=f"test:tv-{n}", name=f"Care {n}",
                                    type="medical-care", coverage=[Coverage("TV", Presence.PRESENT)])], [])

    await asyncio.gather(*(create(n) for n in range(8)))
    rows = await store.graph.read("MATCH (k:Reach {key: 'TV medical-care'}) "
                                  "RETURN count(DISTINCT k) AS nodes, COUNT { MATCH (k)<-[:REACHES]-() } AS twins")
    assert [(r["nodes"], r["twins"]) for r in rows] == [(1, 8)]


async def test_concurrent_writers_of_one_new_identifier_or_one_new_record_all_land(store: Store) -> None:
    # the same class: every writer MERGEs a node keyed uniquely that none found when it began
    async def same_identifier(n: int) -> None:
        await store.upsert([Organisation(id=f"test:reg-{n}", name=f"Registered {n}", kind="local-group",
                                         identifiers=["XM-DAC-41114"])], [], [])

    async def same_record(n: int) -> None:
        await store.upsert([Organisation(id="test:fresh", name="Fresh", kind="local-group",
                                         description=f"writer {n}")], [], [])

    await asyncio.gather(*(same_identifier(n) for n in range(8)), *(same_record(n) for n in range(8)))
    rows = await store.graph.read("MATCH (i:OrgIdentifier {code: 'xm-dac-41114'}) "
                                  "RETURN count(DISTINCT i) AS nodes, COUNT { MATCH (i)<-[]-(:Organisation) } AS held")
    assert [(r["nodes"], r["held"]) for r in rows] == [(1, 8)]
    fresh = await store.organisation(STEWARD, "test:fresh")
    assert fresh.description.startswith("writer ")


async def test_a_key_broken_after_write_conflicts_is_still_run_again(store: Store) -> None:
    # writers of services in one new place both conflict on the place's node and race for its new node
    # of a type: the conflicts before the broken key are no races lost and take none of its attempts
    attempts: list[int] = []

    async def work(tx: Any) -> int:
        attempts.append(len(attempts))
        if len(attempts) <= KEY_ATTEMPTS - 1:
            raise TransientError("a write conflict")
        if len(attempts) == KEY_ATTEMPTS:
            raise ConstraintError("a unique key broken by a writer that committed first")
        rows = await (await tx.run("RETURN 1 AS one")).data()
        return int(rows[0]["one"])

    assert await store.graph.write_tx(work) == 1
    assert len(attempts) == KEY_ATTEMPTS + 1


async def test_a_write_that_finds_what_it_changes_deleted_by_another_is_run_again(store: Store) -> None:
    """Was a hole: two imports of one file at once failed one of them with "the graph store refused a
    statement (EntityNotFound)": each takes away the other's relationships to write them again."""
    from neo4j.exceptions import Neo4jError

    from directory.store.engine.graph import ENTITY_GONE

    attempts: list[int] = []

    async def work(tx: Any) -> int:
        attempts.append(len(attempts))
        if len(attempts) == 1:
            raise Neo4jError._hydrate_neo4j(code=ENTITY_GONE, message="the relationship was deleted")
        rows = await (await tx.run("RETURN 1 AS one")).data()
        return int(rows[0]["one"])

    assert await store.graph.write_tx(work) == 1 and len(attempts) == 2


# --- an edit overtaken between its revision check and its write --------------------------------

def _overtaken_once(monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.Event, asyncio.Event]:
    """The first edit to write stops after its revision check until a second edit has committed
    (or 10 s, on a server where the second waits on the first's lock instead), then writes."""
    from directory.store.records import edits

    checked, other_done = asyncio.Event(), asyncio.Event()
    real, calls = edits.write_records, 0

    async def paused(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            checked.set()
            try:
                await asyncio.wait_for(other_done.wait(), 10)
            except TimeoutError:
                pass
        return await real(*args, **kwargs)

    monkeypatch.setattr(edits, "write_records", paused)
    return checked, other_done


async def _first_then_second(first: Any, second: Any, checked: asyncio.Event, done: asyncio.Event) -> list[Any]:
    async def after() -> Any:
        await checked.wait()
        try:
            return await second
        finally:
            done.set()

    return list(await asyncio.gather(first, after(), return_exceptions=True))


async def _grant(store: Store) -> Service:
    return (await store.services_by_id(STEWARD, ["test:grant"]))["test:grant"]


def _one_applied(results: list[Any]) -> Any:
    from directory.store import EditRefused

    refused = [r for r in results if isinstance(r, EditRefused)]
    assert len(refused) == 1 and refused[0].code == "REVISION_CONFLICT", results
    (applied,) = [r for r in results if not isinstance(r, BaseException)]
    return applied


async def test_a_service_edit_overtaken_after_its_check_is_refused_not_written_over(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Was a hole on ArcadeDB: two edits of a service's groups from one revision both succeeded
    (13 and 14 from 12), the first's groups silently replaced: the slower one had checked revision
    12 before the faster one committed, and wrote over 13, which its commit did not notice."""
    from directory.store import Edit

    await load(store, [org("fund")], [service("grant", "fund", **{"#group+code": "journalists"})])
    revision = (await _grant(store)).provenance.revision
    checked, done = _overtaken_once(monkeypatch)
    results = await _first_then_second(
        store.save_service(STEWARD, Edit({"id": "test:grant", "groups": ["women"]}), revision),
        store.save_service(STEWARD, Edit({"id": "test:grant", "groups": ["lgbtiq"]}), revision), checked, done)
    applied = _one_applied(results)
    final = await _grant(store)
    assert final.groups == applied.groups and final.provenance.revision == revision + 1


async def test_a_delete_overtaken_after_its_check_deletes_nothing(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from directory.store import Edit
    from directory.store.records import edits

    await load(store, [org("fund")], [service("grant", "fund")])
    revision = (await _grant(store)).provenance.revision
    checked, done = asyncio.Event(), asyncio.Event()
    real = edits.Editor._deleted

    async def paused(self: Any, *args: Any, **kwargs: Any) -> None:
        checked.set()
        try:
            await asyncio.wait_for(done.wait(), 10)
        except TimeoutError:
            pass
        await real(self, *args, **kwargs)

    monkeypatch.setattr(edits.Editor, "_deleted", paused)
    results = await _first_then_second(
        store.delete(STEWARD, "service", "test:grant", revision),
        store.save_service(STEWARD, Edit({"id": "test:grant", "hours": "mornings"}), revision), checked, done)
    assert isinstance(results[0], Exception) and getattr(results[0], "code", "") == "REVISION_CONFLICT", results
    assert (await _grant(store)).hours == "mornings"  # the edit stands


async def test_the_same_import_run_twice_at_once_lands_once_and_neither_fails(store: Store) -> None:
    """Was a hole: two imports of one file at once, each taking away the other's relationships to
    write them again, failed one of them on a relationship already deleted (EntityNotFound) rather
    than run it again as any other write conflict is."""
    orgs = [org(f"o{i}", **{"#country+code": "CO"}) for i in range(40)]
    services = [service(f"s{i}", f"o{i}", **{"#country+code+present": "CO|PE|EC", "#group+code": "women"})
                for i in range(40)]
    for round_ in range(3):
        versions = [[dict(s, **{"#service+name": f"Service {round_} {n} {i}"}) for i, s in enumerate(services)]
                    for n in range(2)]
        results = await asyncio.gather(*(load(store, orgs, v) for v in versions), return_exceptions=True)
        assert not [r for r in results if isinstance(r, BaseException)], results
        found = await store.services_of(STEWARD, ["test:o0"])
        assert [sorted(c.place for c in s.coverage) for s in found["test:o0"]] == [["CO", "EC", "PE"]]


async def _linked(store: Store) -> None:
    """A few hundred organisations and their links: on ArcadeDB, few enough records, and writers of
    one link always met at commit whatever they wrote."""
    await load(store, [org(f"o{i}") for i in range(300)], [],
               [{"#rel+type": "REFERS_TO", "#org+id+source": f"o{i}", "#org+id+target": f"o{(i * 7 + j) % 300}"}
                for i in range(300) for j in (1, 2, 3)])


async def _partners(store: Store, n: int) -> int:
    rows = await store.graph.read(f"MATCH (:Organisation {{id: 'test:o{n}'}})-[l:PARTNERS_WITH]->() "
                                  "RETURN count(l) AS n")
    return int(rows[0]["n"])


async def test_creations_of_one_link_at_once_leave_it_once_and_refuse_the_others(store: Store) -> None:
    """Was a hole on ArcadeDB (a crash read): two to four of eight requests creating one link all
    succeeded, leaving it as many times: the owner's lock was set and removed in one transaction,
    which left nothing for the store's check at commit to see."""
    from directory.store import Edit, EditRefused

    await _linked(store)
    for n in range(10):
        made = {"type": "PARTNERS_WITH", "source": f"test:o{n}", "target": f"test:o{n + 100}", "key": ""}
        results = await asyncio.gather(*(store.save_link(STEWARD, Edit(dict(made)), None) for _ in range(8)),
                                       return_exceptions=True)
        refused = [r for r in results if isinstance(r, EditRefused) and r.code == "CONFLICT"]
        assert len(refused) == 7, results
        assert await _partners(store, n) == 1
    # the lock each edit committed is no part of the organisation's backup
    from directory.store import backup
    lines = [line async for line in backup.dump(store.graph, store.directory_id)]
    assert any("test:o0" in line for line in lines) and "edit_lock" not in "".join(lines)


async def test_an_import_and_edits_creating_one_link_at_once_leave_it_once(store: Store) -> None:
    """The same class: an import writes links as an edit does, and an import beside edits creating
    the link it brings left it twice (an import takes no owner's lock; the link's creation marks it)."""
    from directory.store import Edit

    await _linked(store)
    for n in range(6):
        made = {"type": "PARTNERS_WITH", "source": f"test:o{n}", "target": f"test:o{n + 100}", "key": ""}
        row = {"#rel+type": "PARTNERS_WITH", "#org+id+source": f"o{n}", "#org+id+target": f"o{n + 100}",
               "#meta+visibility": "public"}
        await asyncio.gather(*(store.save_link(STEWARD, Edit(dict(made)), None) for _ in range(3)),
                             *(load(store, [org(f"o{n}")], [], [row]) for _ in range(3)), return_exceptions=True)
        assert await _partners(store, n) == 1
