"""Publishing our records into the signed logs, read back by a reader that verifies every page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from directory.domain.viewer import STEWARD
from directory.store import Store
from directory.store.engine import schema
from directory.store.engine.cypher import cypher
from federation import feed, publish
from federation.canonical import parse
from federation.keys import Root, SigningKey
from federation.publish import CHECKPOINT_REFRESH, Publisher
from tests.helpers import load, org, refers, service

pytestmark = pytest.mark.anyio

ROOT_KEYS = [SigningKey.generate() for _ in range(2)]
ONLINE = [SigningKey.generate()]


def root(directory: str = "test") -> Root:
    return Root(directory, 1, "2099-01-01T00:00:00Z", {k.id: k.public for k in ROOT_KEYS}, 2,
                {k.id: k.public for k in ONLINE}, 1)


async def read_all(publisher: Publisher, audience: str, state: feed.PeerState | None = None,
                   limit: int = 3) -> tuple[list[feed.Accepted], feed.PeerState]:
    """Every entry after the state's cursor, page by page, each page verified."""
    state = state or feed.PeerState()
    revisions: dict[tuple[str, str], int] = {}
    taken: list[feed.Accepted] = []
    while True:
        page = parse(await publisher.page(audience, state.cursor, limit), "page")
        verified = feed.verify_page(root(), audience, page, state, datetime.now(UTC),
                                    lambda kind, rid: revisions.get((kind, rid)))
        for e in verified.entries:
            revisions[(e.kind, e.id)] = e.revision
        taken += verified.entries
        state = verified.state
        if state.cursor == page["checkpoint"]["signed"]["size"]:
            return taken, state


def latest(entries: list[feed.Accepted]) -> dict[str, feed.Accepted]:
    return {e.id: e for e in entries}


async def seed(store: Store) -> None:
    await load(store, [
        org("open", "Open Group", **{"#geo+lat": 4.61, "#geo+lon": -74.08, "#geo+precision": "locality",
                                      "#channel+contact": "signal:+57000"}),
        org("members", "Members Only", **{"#meta+visibility": "network"}),
        org("secret", "Secret Shelter", **{"#meta+visibility": "restricted"}),
    ], [service("open-legal", "open", **{"#capacity": 4}), service("members-legal", "members")],
        [refers("open", "members", visibility="public"), refers("members", "open", visibility="network")])


async def test_each_log_holds_what_its_audience_may_see_and_verifies(store: Store) -> None:
    await seed(store)
    publisher = Publisher(store, ONLINE)
    assert await publisher.publish() == {"public": 2, "network": 6}
    public, _ = await read_all(publisher, "public")
    network, _ = await read_all(publisher, "network")
    assert sorted(e.id for e in public) == ["test:open", "test:open-legal"]  # the link's target is not public
    assert sorted(e.id for e in network) == sorted(["test:open", "test:members", "test:open-legal",
                                                    "test:members-legal", "test:open REFERS_TO test:members",
                                                    "test:members REFERS_TO test:open"])
    everything = repr([e.envelope for e in public + network]) + repr([e.body for e in public + network])
    assert "Secret" not in everything and "test:secret" not in everything
    body = latest(public)["test:open"].body
    assert body is not None and body["contact_channels"] == [] and body["location"]["precision"] == "locality"
    assert body["location"]["latitude"] != "4.61"  # the published point, never the recorded one
    assert latest(network)["test:open"].body["contact_channels"] == ["signal:+57000"]  # type: ignore[index]
    assert latest(public)["test:open-legal"].body["capacity"] is None  # type: ignore[index]
    assert all(e.redistribute is False for e in public)
    assert await publisher.publish() == {"public": 0, "network": 0}  # nothing changed: nothing appended


async def test_a_page_holds_as_many_entries_as_fit_in_its_bytes_and_at_least_one(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # large honest bodies must never make a page a reader refuses as over its cap (`fetch.PAGE_CAP`)
    await seed(store)
    publisher = Publisher(store, ONLINE)
    await publisher.publish()
    monkeypatch.setattr(publish, "PAGE_BYTES", 1)
    whole = parse(await publisher.page("network", 0, 100), "page")
    assert len(whole["entries"]) == 1 and whole["proof"]  # one entry, and the proof to the checkpoint from it
    network, _ = await read_all(publisher, "network", limit=100)  # every page still verifies
    assert len(network) == 6
    monkeypatch.setattr(publish, "PAGE_BYTES", 8 * 1024 * 1024)
    assert len(parse(await publisher.page("network", 0, 100), "page")["entries"]) == 6


async def test_changes_become_new_revisions_and_hidden_records_tombstones(store: Store) -> None:
    await seed(store)
    publisher = Publisher(store, ONLINE)
    await publisher.publish()
    first, state = await read_all(publisher, "public")
    await load(store, [org("open", "Open Group Renamed", **{"#geo+lat": 4.61, "#geo+lon": -74.08,
                                                            "#geo+precision": "locality",
                                                            "#meta+visibility": "network"})])
    await store.delete(STEWARD, "service", "test:open-legal", 1)
    assert (await publisher.publish())["public"] == 2
    more, _ = await read_all(publisher, "public", state)
    assert [(e.id, e.op, e.body) for e in more] == [("test:open-legal", "tombstone", None),
                                                    ("test:open", "tombstone", None)]
    assert all(e.revision > f.revision for e in more for f in first if f.id == e.id)
    network, _ = await read_all(publisher, "network")
    renamed = [e for e in network if e.id == "test:open"]
    assert renamed[-1].body["name"] == "Open Group Renamed"  # type: ignore[index]
    assert [e.body is None for e in renamed] == [True, False]  # the newer entry purged the earlier body
    # the tombstones purged the bodies the public log had served for those records
    again, _ = await read_all(publisher, "public")
    assert [e.body for e in again] == [None, None, None, None]


async def test_a_purged_body_cannot_be_found_again_by_trying_bodies_against_its_signed_hash(store: Store) -> None:
    # the earlier body is purged, but its entry still signs its hash: were the hash of the bare body,
    # the latest body with each candidate name (or country, for a shelter) would find it
    await seed(store)
    publisher = Publisher(store, ONLINE)
    await publisher.publish()
    await load(store, [org("open", "Open Group Renamed", **{"#geo+lat": 4.61, "#geo+lon": -74.08,
                                                            "#geo+precision": "locality"})])
    await publisher.publish()
    public, _ = await read_all(publisher, "public")
    earlier, latest_open = [e for e in public if e.id == "test:open"]
    assert earlier.body is None and latest_open.body is not None
    signed_hash = earlier.envelope["signed"]["body"]
    guess = {name: value for name, value in latest_open.body.items() if name != "salt"}
    for candidate in (dict(guess, name="Open Group"), dict(guess, name="Open Group", salt=latest_open.body["salt"])):
        assert feed.body_hash(candidate) != signed_hash
    assert feed.body_hash(latest_open.body) == latest_open.envelope["signed"]["body"]  # each body its own salt
    assert len(latest_open.body["salt"]) >= 22
    assert await publisher.publish() == {"public": 0, "network": 0}  # no change: not published again for a new salt


async def test_a_checkpoint_is_re_signed_when_it_ages_and_expires_a_day_later(store: Store) -> None:
    await seed(store)
    publisher = Publisher(store, ONLINE)
    await publisher.publish()
    first = parse((await publisher.checkpoint("public")).encode(), "cp")["signed"]
    later = datetime.now(UTC) + CHECKPOINT_REFRESH
    second = parse((await publisher.checkpoint("public", later)).encode(), "cp")["signed"]
    assert second["issued"] > first["issued"] and second["root"] == first["root"]
    assert second["size"] == first["size"]



async def test_a_cycle_never_runs_while_an_import_writes_so_nothing_it_wrote_is_missed(store: Store) -> None:
    """An import stamps what it writes when it begins; a cycle that ran in the middle of a long one
    moved past that stamp, and what the import wrote after it never reached the feeds. A cycle
    waits for the import to end, then finds everything it wrote."""
    import asyncio
    from datetime import timedelta

    from directory.base.clock import store_time
    from directory.domain.errors import Conflict
    from directory.domain.model import Organisation, Visibility

    def part(n: int) -> list[Organisation]:
        return [Organisation(f"test:late{n}{i}", f"Late {n}{i}", "local-group", visibility=Visibility.PUBLIC)
                for i in range(2)]

    await seed(store)
    publisher = Publisher(store, ONLINE)
    started = datetime.now(UTC)
    await publisher.publish(started)
    stamp = store_time(started + timedelta(minutes=1))  # the import begins a minute later
    told: list[str] = []
    async with store.importing(lambda: None):
        await store.transaction(lambda tx: tx.write(part(1), [], [], stamp))
        with pytest.raises(Conflict):  # the serve cycle's publish: skipped, so its pulls go on
            await publisher.publish(started + timedelta(minutes=10))
        cycle = asyncio.ensure_future(publisher.publish(started + timedelta(minutes=10), lambda: told.append("w")))
        await asyncio.sleep(1.0)
        assert not cycle.done() and told == ["w"]  # `directory federation publish` waits for the import, saying so
        await store.transaction(lambda tx: tx.write(part(2), [], [], stamp))  # ten minutes in, the last part
    await cycle
    await publisher.publish(started + timedelta(minutes=20))
    public, _ = await read_all(publisher, "public")
    assert {f"test:late{n}{i}" for n in (1, 2) for i in range(2)} <= {e.id for e in public}


async def test_a_reader_from_the_start_meets_each_organisation_before_what_names_it(store: Store) -> None:
    """An organisation edited after its services and links were published gets a new entry, which
    purges its earlier bodies: a new peer reading from the start met the services first, naming an
    organisation it did not hold yet, and dropped them for good. So in each log, the latest entry of
    every live service and link comes after the latest entries of the organisations it names."""
    await seed(store)
    publisher = Publisher(store, ONLINE)
    await publisher.publish()
    await load(store, [org("open", "Open Group", **{"#geo+lat": 4.61, "#geo+lon": -74.08, "#description": "Now",
                                                    "#geo+precision": "locality", "#channel+contact": "signal:+57000"}),
                       org("members", "Members Only", **{"#meta+visibility": "network", "#description": "Too"})])
    await publisher.publish()
    for audience in ("public", "network"):
        entries, _ = await read_all(publisher, audience, limit=100)
        last = {e.id: e for e in entries}
        for e in last.values():
            if e.op != "upsert" or e.kind == "organisation":
                continue
            assert e.body is not None, e.id  # the latest entry keeps its body
            named = [e.body["organisation"]] if e.kind == "service" else [e.body["source"], e.body["target"]]
            assert all(last[o].seq < e.seq for o in named), (audience, e.id)


async def test_records_in_a_country_whose_point_moved_are_published_again(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fiji's point lay at 195.3 E, and a Fiji record at country precision was published there (peers
    refused it). The upgrade that moved the points marks our records there changed in every view, so
    the next cycle publishes them at the new point."""
    from dataclasses import replace

    from directory.domain import places
    from directory.store.engine import schema

    await load(store, [org("suva", "Suva Group", **{"#country+code": "FJ", "#geo+precision": "country"})])
    publisher = Publisher(store, ONLINE)
    before = dict(places.countries())
    before["FJ"] = replace(before["FJ"], latitude=-19.0190607, longitude=195.3435043)  # the taxonomy's point
    monkeypatch.setattr(places, "countries", lambda: before)
    await publisher.publish()
    monkeypatch.undo()
    first, state = await read_all(publisher, "public")
    assert latest(first)["test:suva"].body["location"]["longitude"] == "195.3435043"  # type: ignore[index]
    await schema._moved_points(store.graph, None)
    assert (await publisher.publish())["public"] == 1
    again, _ = await read_all(publisher, "public", state)
    assert latest(again)["test:suva"].body["location"]["longitude"] == "178.4419"  # type: ignore[index]


async def test_a_cycle_that_read_the_head_before_a_restore_asked_to_look_at_all_does_not_undo_it(
        store: Store) -> None:
    """On Neo4j no import lock keeps a publish out of a restore: a cycle that read where to look
    from before the restore's `look_at_all`, and appended after, set it back, and the restored
    records, older than that, never reached the feeds (an attacker's read). Its append now fails,
    and the cycle looks again."""
    from directory.domain.errors import Conflict
    from directory.store.federation import feeds

    await seed(store)
    publisher = Publisher(store, ONLINE)
    await publisher.publish()
    size, _, since = await store.feeds.head("public")
    assert since is not None
    await feeds.look_at_all(store.graph)  # a restore, finishing while the cycle below was on its way
    with pytest.raises(Conflict):
        await store.feeds.append("public", size, [], "2999-01-01T00:00:00Z", since)
    assert (await store.feeds.head("public"))[2] is None  # still to look at every record
    await store.feeds.append("public", size, [], "2999-01-01T00:00:00Z", None)  # a cycle that read it so
    assert (await store.feeds.head("public"))[2] == "2999-01-01T00:00:00Z"


LINK = "test:x1 REFERS_TO test:x2"


@pytest.mark.parametrize("gone", ["test:x1", "test:x2"])
async def test_an_organisations_deletion_tombstones_the_links_it_takes_with_it(store: Store, gone: str) -> None:
    """A hand-worked scenario: deleting an organisation tombstoned its services but not its links,
    at either end: the logs served the link as live, its body readable, and the same link made
    again later was never sent (its body was the one last published)."""
    await load(store, [org("x1"), org("x2")], links=[refers("x1", "x2", 1, 0.5, "public")])
    publisher = Publisher(store, ONLINE)
    await publisher.publish()
    _, state = await read_all(publisher, "public")
    await store.delete(STEWARD, "organisation", gone, 1)
    await publisher.publish()
    more, state = await read_all(publisher, "public", state)
    assert (LINK, "tombstone") in [(e.id, e.op) for e in more]
    whole, _ = await read_all(publisher, "public")
    assert [e.body for e in whole if e.id == LINK] == [None, None]  # nothing of it left to read
    await load(store, [org("x1"), org("x2")], links=[refers("x1", "x2", 1, 0.5, "public")])
    await publisher.publish()
    again, _ = await read_all(publisher, "public", state)
    assert [(e.id, e.op) for e in again if e.id == LINK] == [(LINK, "upsert")]


OLD_DELETE = cypher("tests.old_delete", "MATCH (n:Organisation {id: $id}) DETACH DELETE n")


async def test_links_a_delete_left_untombstoned_are_tombstoned_on_upgrade(store: Store) -> None:
    """A store written before deletes tombstoned an organisation's links still served them as
    live: migration 25 gives each its tombstone once, and the next cycle publishes it."""
    await load(store, [org("x1"), org("x2")], links=[refers("x1", "x2", 1, 0.5, "public")])
    publisher = Publisher(store, ONLINE)
    await publisher.publish()
    _, state = await read_all(publisher, "public")
    await store.graph.write(OLD_DELETE, id="test:x2")  # as a delete did before: no tombstone for its links
    assert await publisher.publish() == {"public": 0, "network": 0}
    await schema._links_of_deleted_organisations(store.graph, None)
    await publisher.publish()
    more, _ = await read_all(publisher, "public", state)
    assert [(e.id, e.op) for e in more] == [(LINK, "tombstone")]
    await schema._links_of_deleted_organisations(store.graph, None)  # once: nothing more to say
    assert await publisher.publish() == {"public": 0, "network": 0}


async def test_a_large_publish_appends_in_parts_and_one_cut_short_is_finished_by_the_next_cycle(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash read: 60,000 entries appended in one transaction ran the embedded store out of its
    heap on every cycle. Appended in parts, each whole; a cycle cut short after a part leaves the
    next to append the rest, never an entry twice."""
    from directory.store.federation import feeds

    await seed(store)
    monkeypatch.setattr(feeds, "APPEND_PART", 2)
    calls = 0
    part = feeds._append_part

    async def dies_on_the_third_part(*args: object, **kwargs: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("the process was killed")
        await part(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(feeds, "_append_part", dies_on_the_third_part)
    publisher = Publisher(store, ONLINE)
    with pytest.raises(RuntimeError):
        await publisher.publish()  # public: 2 entries, one part; network: 6 entries, dies after 2 of 3 parts
    size, _, _ = await store.feeds.head("network")
    assert size == 2  # whole parts only
    assert await publisher.publish() == {"public": 0, "network": 4}
    network, _ = await read_all(publisher, "network")
    assert len(network) == 6 and len({e.id for e in network}) == 6  # each record once
    assert await publisher.publish() == {"public": 0, "network": 0}
