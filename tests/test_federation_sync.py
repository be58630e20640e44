"""Pulling a peer over real HTTP into the real store: what is merged, and each way a peer can fail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from directory.cli.peers import _row
from directory.domain.errors import NotFound
from directory.domain.model import Location, Organisation, Precision, Visibility
from directory.domain.viewer import ANONYMOUS, STEWARD
from directory.store import Store
from directory.store.federation import peers
from directory.store.records import mapping
from federation import bodies, fetch, sync
from federation.canonical import canonical
from federation.keys import SigningKey, b64, format_time, seal
from federation.sync import Syncer
from tests.conftest import LiveServer
from tests.feeds import Publisher
from tests.peer_server import Peer

pytestmark = pytest.mark.anyio
ORIGIN = "peer.example"


def org_body(local: str, name: str | None = None, identifiers: list[str] | None = None,
             visibility: Visibility = Visibility.PUBLIC) -> dict[str, Any]:
    o = Organisation(id=f"{ORIGIN}:{local}", name=name or local.title(), kind="local-group", visibility=visibility,
                     languages=["es"], identifiers=identifiers or [],
                     location=Location(4.6, -74.1, Precision.COUNTRY, "CO"))
    return bodies.organisation_body(o, "network" if visibility is Visibility.NETWORK else "public")


def peer_with(n: int) -> Peer:
    p = Publisher(directory=ORIGIN)
    for i in range(n):
        p.add(f"org{i}", body=org_body(f"org{i}"))
    return Peer(p)


@pytest.fixture
def served() -> Iterator[tuple[Peer, LiveServer]]:
    peer = peer_with(3)
    with LiveServer(app=peer.app()) as server:
        yield peer, server


async def add(store: Store, peer: Peer, url: str, peer_id: str = ORIGIN) -> None:
    await peers.add(store.graph, peers.Peer(peer_id, url, "sha256:given-out-of-band",
                                            canonical(peer.roots[0]).decode(), 1, False, 100, "2026-11-21T00:00:00Z"))


async def state(store: Store) -> tuple[peers.Peer, int]:
    p = await peers.one(store.graph, ORIGIN)
    assert p is not None
    kept = await peers.feed_state(store.graph, ORIGIN, "public")
    return p, int(kept["cursor"]) if kept else 0


async def names(store: Store) -> list[str]:
    found = await store.organisations_by_id(STEWARD, [f"{ORIGIN}:org{i}" for i in range(6)])
    return sorted(o.name for o in found.values())


CLOCK = datetime(2026, 11, 21, 12, 30, tzinfo=UTC)  # the in-memory checkpoints are issued at 12:00


def syncer(store: Store, clock: datetime = CLOCK) -> Syncer:
    return Syncer(store, clock=lambda: clock)


async def test_a_sync_merges_in_the_publishers_namespace_with_provenance(store: Store, served: Any) -> None:
    peer, server = served
    await add(store, peer, server.url)
    [outcome] = await syncer(store).sync_all()
    assert (outcome.entries, outcome.error) == (3, "")
    org = (await store.organisations_by_id(ANONYMOUS, [f"{ORIGIN}:org1"]))[f"{ORIGIN}:org1"]
    p = org.provenance
    assert p is not None and (p.publisher, p.revision, p.feed_entry, p.feed_audience) == (ORIGIN, 1, 1, "public")
    assert p.feed_checkpoint is not None and p.feed_checkpoint.startswith("3:") and p.redistribute is True
    assert (await state(store))[1] == 3
    peer.publisher.add("org1", revision=2, body=org_body("org1", "Renamed"))
    [again] = await syncer(store).sync_all()
    assert again.entries == 1 and "Renamed" in await names(store)


async def test_1_and_19_a_flipped_byte_or_a_crash_mid_batch_writes_nothing(store: Store, served: Any,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    peer, server = served
    await add(store, peer, server.url)
    peer.mode = "flip"
    [outcome] = await syncer(store).sync_all()
    assert "does not match its hash" in outcome.error
    assert await names(store) == [] and (await state(store))[1] == 0
    peer.mode = "honest"

    async def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(peers, "advance", crash)  # after the records, before the cursor: same transaction
    [crashed] = await syncer(store).sync_all(force=True)  # the peer's failure, not the whole sync's
    assert crashed.error == "RuntimeError: the process died here"
    assert await names(store) == [] and (await state(store))[1] == 0


async def test_12_a_body_that_is_not_the_signed_record_is_refused(store: Store) -> None:
    p = Publisher(directory=ORIGIN)
    p.add("org0", body=org_body("someone-else"))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [outcome] = await syncer(store).sync_all()
    assert "not the signed" in outcome.error and await names(store) == []


async def test_14_a_tombstone_purges_and_a_replayed_upsert_stays_refused(store: Store, served: Any) -> None:
    peer, server = served
    await add(store, peer, server.url)
    await syncer(store).sync_all()
    peer.publisher.add("org0", revision=2, op="tombstone")
    [outcome] = await syncer(store).sync_all()
    assert outcome.error == "" and "Org0" not in await names(store)
    replay = Publisher(directory=ORIGIN, root_keys=peer.publisher.root_keys, online=peer.publisher.online,
                       items=list(peer.publisher.items))
    replay.add("org0", revision=1, body=org_body("org0"))
    peer.publisher = replay
    [again] = await syncer(store).sync_all(force=True)
    assert "a replay" in again.error and "Org0" not in await names(store)


async def test_5_an_expired_checkpoint_marks_the_peer_and_its_records_stale(store: Store, served: Any) -> None:
    peer, server = served
    await add(store, peer, server.url)
    await syncer(store).sync_all()
    [outcome] = await syncer(store, CLOCK + timedelta(days=2)).sync_all(force=True)  # the feed froze
    assert outcome.stale
    org = (await store.organisations_by_id(ANONYMOUS, [f"{ORIGIN}:org1"]))[f"{ORIGIN}:org1"]
    assert org.provenance is not None and org.provenance.stale  # kept, and marked
    assert (await state(store))[0].stale


async def test_5_a_peer_that_stops_answering_goes_stale_when_its_last_checkpoint_expires(
        store: Store, served: Any) -> None:
    peer, server = served
    await add(store, peer, server.url)
    await syncer(store).sync_all()
    peer.mode = "error"  # down, or its answers blocked: no newer checkpoint, and no expired one to see
    [failed] = await syncer(store, CLOCK + timedelta(hours=1)).sync_all()
    assert "answered 503" in failed.error and not failed.stale and not (await state(store))[0].stale
    # past its expiry, before its next attempt is due: marked all the same, with its records
    await store.peers.note(ORIGIN, next_attempt=format_time(CLOCK + timedelta(days=3)))  # backed off long
    later = syncer(store, CLOCK + timedelta(days=2))
    assert await later.due() == [] and await later.sync_all() == []
    p, _ = await state(store)
    assert p.stale and "expired at" in p.last_error
    org = (await store.organisations_by_id(ANONYMOUS, [f"{ORIGIN}:org1"]))[f"{ORIGIN}:org1"]
    assert org.provenance is not None and org.provenance.stale
    peer.mode = "honest"  # back, with a checkpoint issued now
    today = CLOCK + timedelta(days=2)
    peer.checkpoint = peer.publisher.checkpoint(issued=format_time(today - timedelta(minutes=5)),
                                                expires=format_time(today + timedelta(days=1)))
    [back] = await later.sync_all(force=True)
    assert back.error == "" and not (await state(store))[0].stale


async def test_a_peer_being_synced_elsewhere_is_left_to_that_sync_not_marked_stale(
        store: Store, served: Any) -> None:
    """`lapse` reads the kept checkpoint and marks under the peer's lease: a sync in another process
    may be committing a fresh checkpoint right now."""
    peer, server = served
    await add(store, peer, server.url)
    await syncer(store).sync_all()
    later = syncer(store, CLOCK + timedelta(days=2))  # what we hold has expired
    other = syncer(store, CLOCK + timedelta(days=2))
    assert await other._lease(ORIGIN)  # another process is syncing it
    assert await later.lapse() == [] and not (await state(store))[0].stale
    await store.peers.release(ORIGIN, other.holder)
    assert await later.lapse() == [ORIGIN] and (await state(store))[0].stale


async def test_a_lease_left_by_a_sync_that_died_on_this_machine_is_taken_over_at_once(
        store: Store, served: Any) -> None:
    """A `peer sync` killed with -9 left its lease for minutes: the next sync said another process was
    syncing the peer while none was. One whose holder ran here and is gone takes it over; a holder
    still running, or on another machine, keeps it."""
    import os
    import socket
    import subprocess
    import sys

    peer, server = served
    await add(store, peer, server.url)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    now, until = format_time(CLOCK), format_time(CLOCK + timedelta(minutes=5))
    here = sync._process_space()  # this boot of this machine, in this pid namespace
    assert here.startswith(socket.gethostname())
    for holder, taken in ((f"{here}/{os.getpid()}/alive", False),
                          (f"{socket.gethostname()}/{gone.pid}/container", False),  # a host name alone: not ours
                          (f"/{gone.pid}/unknown", False),
                          (f"{here}/{gone.pid}/killed", True)):
        await store.peers.release(ORIGIN, (await store.peers.holder(ORIGIN)) or "")
        assert await store.peers.claim(ORIGIN, holder, now, until)
        assert await syncer(store)._lease(ORIGIN) is taken, holder


async def test_11_equivocation_quarantines_the_peer_with_the_evidence(store: Store, served: Any) -> None:
    peer, server = served
    await add(store, peer, server.url)
    await syncer(store).sync_all()
    fork = Publisher(directory=ORIGIN, root_keys=peer.publisher.root_keys, online=peer.publisher.online)
    for i in range(3):
        fork.add(f"other{i}", body=org_body(f"other{i}"))
    peer.publisher = fork
    [outcome] = await syncer(store).sync_all(force=True)
    assert outcome.quarantined
    quarantined, _ = await state(store)
    evidence = json.loads(quarantined.evidence)
    assert evidence["kept"] != evidence["offered"]
    [later] = await syncer(store).sync_all(force=True)
    assert later.quarantined and "quarantined" in later.error


async def test_8_and_9_a_rotation_is_followed_from_the_pinned_root_and_new_keys_alone_are_refused(
        store: Store, served: Any) -> None:
    peer, server = served
    await add(store, peer, server.url)
    old = peer.publisher.root
    peer.publisher.online = [SigningKey.generate()]
    signed = dict(peer.publisher.root.signed(), version=2)
    peer.roots.append(seal(signed, peer.publisher.root_keys[:2]))
    [revoked] = await syncer(store).sync_all()  # F8: entries still signed by the key the new root dropped
    assert "signed by 0 of the 1 keys" in revoked.error and (await state(store))[0].root_version == 2
    peer.publisher.resign()
    [outcome] = await syncer(store).sync_all(force=True)
    assert outcome.error == "" and outcome.entries == 3
    assert old.online_keys != peer.publisher.root.online_keys
    impostor = [SigningKey.generate() for _ in range(3)]
    peer.roots.append(seal(dict(signed, version=3, root_keys={k.id: b64(k.public) for k in impostor}), impostor[:2]))
    [refused] = await syncer(store).sync_all(force=True)
    assert "root version 3 refused" in refused.error and (await state(store))[0].root_version == 2


async def test_8_a_newer_root_is_followed_whatever_the_unsigned_discovery_document_says(
        store: Store, served: Any) -> None:
    # whoever serves the discovery document (an attacker holding the online key the peer rotated
    # out) keeps announcing version 1 and serves entries signed by that key: we ask for version 2 anyway
    peer, server = served
    await add(store, peer, server.url)
    stolen = peer.publisher.online
    peer.publisher.online = [SigningKey.generate()]
    peer.roots.append(seal(dict(peer.publisher.root.signed(), version=2), peer.publisher.root_keys[:2]))
    peer.announced = 1
    peer.publisher.online = stolen
    peer.publisher.add("forged", body=org_body("forged"))
    peer.publisher.resign()
    [refused] = await syncer(store).sync_all(force=True)
    assert "signed by 0 of the 1 keys" in refused.error and (await state(store))[0].root_version == 2
    assert (await store.organisations_by_id(STEWARD, [f"{ORIGIN}:forged"])) == {}
    assert "/federation/roots/3.json" in peer.hits  # asked past its latest: the 404 ends the walk
    [again] = await syncer(store).sync_all(force=True)
    assert "signed by 0 of the 1 keys" in again.error


@pytest.mark.parametrize("mode, reason", [("huge", "over the cap"), ("bomb", "more than the cap"),
                                          ("error", "answered 503"), ("redirect", "not followed")])
async def test_16_and_18_caps_errors_and_redirects_fail_with_backoff_and_others_carry_on(
        store: Store, served: Any, mode: str, reason: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "PAGE_CAP", 1024 * 1024)
    bad, bad_server = served
    bad.mode = mode
    await add(store, bad, bad_server.url, "bad.example")
    good = peer_with(2)
    with LiveServer(app=good.app()) as good_server:
        await add(store, good, good_server.url)
        outcomes = {o.peer: o for o in await syncer(store).sync_all()}
    assert reason in outcomes["bad.example"].error
    assert outcomes[ORIGIN].entries == 2 and outcomes[ORIGIN].error == ""
    failed = await peers.one(store.graph, "bad.example")
    assert failed is not None and failed.failures == 1
    assert failed.next_attempt > (CLOCK + sync.BACKOFF_BASE / 2).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [h for h in bad.hits if "elsewhere" in h] == []
    assert "bad.example" not in [o.peer for o in await syncer(store).sync_all()]  # not tried again before its time


async def test_16_a_page_over_the_cap_is_asked_again_in_fewer_entries_down_to_one(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # an honest peer with large records (or an older one serving pages by count alone) is read on,
    # never wedged at the same page for ever
    monkeypatch.setattr(fetch, "PAGE_CAP", 64 * 1024)
    p = Publisher(directory=ORIGIN)
    for i in range(40):
        body = org_body(f"org{i}")
        body["description"] = "𝄞" * 1500  # 6 KB a body: 40 of them are 240 KB, a page over the cap
        p.add(f"org{i}", body=body)
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [outcome] = await syncer(store).sync_all()
    assert (outcome.entries, outcome.error) == (40, "")
    asked = [h for h in peer.hits if "/feeds/" in h]
    assert "limit=" not in asked[0] and all("limit=1" in h for h in asked[-40:])


async def test_17_a_trickling_peer_is_cut_off_at_the_deadline(store: Store, served: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "REQUEST_DEADLINE", 1.5)
    peer, server = served
    peer.mode = "trickle"
    await add(store, peer, server.url)
    started = datetime.now(UTC)
    [outcome] = await syncer(store).sync_all()
    assert "within 1.5 s" in outcome.error and datetime.now(UTC) - started < timedelta(seconds=20)


def test_18_backoff_grows_with_failures_and_is_jittered() -> None:
    import random
    rng = random.Random(7)
    first = [sync.backoff(1, rng) for _ in range(50)]
    fifth = [sync.backoff(5, rng) for _ in range(50)]
    assert len(set(first)) > 40 and min(fifth) > max(first) / 2 and max(fifth) <= sync.BACKOFF_BASE * 32
    assert sync.backoff(40) <= sync.BACKOFF_MAX


async def test_a_peers_location_is_shown_no_more_precisely_than_its_stated_precision(store: Store) -> None:
    p = Publisher(directory=ORIGIN)
    careless = org_body("careless")  # says country, but carries a precise point
    careless["location"] = {"latitude": "4.61234", "longitude": "-74.08123", "precision": "country",
                            "country": "CO", "subdivision": None}
    p.add("careless", body=careless)
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [outcome] = await syncer(store).sync_all()
    assert outcome.error == ""
    shown = (await store.organisations_by_id(ANONYMOUS, [f"{ORIGIN}:careless"]))[f"{ORIGIN}:careless"].location
    assert shown is not None and (shown.latitude, shown.longitude) != (4.61234, -74.08123)  # the country's point
    points = await store.map_points(ANONYMOUS, mapping.PointFilter())
    assert "4.61234" not in repr(points) and "-74.08123" not in repr(points)


async def test_26_a_peer_is_taken_up_to_its_record_limit_and_no_further(store: Store, served: Any) -> None:
    """An endless log fills nothing: records new to us beyond the peer's limit (tombstones of records
    it never sent count too) are neither written nor remembered, and said so; the cursor moves on, so
    what the peer says of records we hold, a withdrawal above all, still comes through. Raised, the
    limit takes them at a resync."""
    peer, server = served
    await peers.add(store.graph, peers.Peer(ORIGIN, server.url, "sha256:given-out-of-band",
                                            canonical(peer.roots[0]).decode(), 1, False, 100,
                                            "2026-11-21T00:00:00Z", max_records=5))
    [first] = await syncer(store).sync_all()
    assert (first.entries, first.error) == (3, "")
    peer.publisher.add("org1", revision=2, body=org_body("org1", "Renamed"))
    [known] = await syncer(store).sync_all(force=True)
    assert (known.entries, known.error) == (1, "")

    for i in (3, 4, 5):
        peer.publisher.add(f"org{i}", body=org_body(f"org{i}"))
    peer.publisher.add("never", op="tombstone")  # a record it never sent: remembered, so a record too
    peer.publisher.add("org0", revision=2, op="tombstone")  # withdrawn behind them: taken all the same
    [over] = await syncer(store).sync_all(force=True)
    assert (over.entries, over.dropped, over.error) == (3, 2, "")
    assert "entries naming records new to us not taken from peer.example: 2 over the limit of 5 records (" \
        in over.reasons[-1]
    assert f"directory peer resync {ORIGIN}" in over.reasons[-1]
    p, cursor = await state(store)
    assert (cursor, p.failures, p.stale) == (9, 0, False)
    assert await names(store) == ["Org2", "Org3", "Org4", "Renamed"]
    kept = await peers.feed_state(store.graph, ORIGIN, "public")
    assert kept is not None and (kept["records"], kept["not_taken"]) == (5, 2)
    assert (await store.peers.records_held(ORIGIN, "public", kept))[0] == 5

    await store.peers.set_max_records(ORIGIN, 3)  # below what it holds: nothing deleted, withdrawals still taken
    peer.publisher.add("org3", revision=2, op="tombstone")
    peer.publisher.add("org6", body=org_body("org6"))
    [lowered] = await syncer(store).sync_all(force=True)
    assert (lowered.entries, lowered.dropped) == (1, 1) and await names(store) == ["Org2", "Org4", "Renamed"]

    await store.peers.set_max_records(ORIGIN, 8)
    await store.peers.read_again(ORIGIN)
    [raised] = await syncer(store).sync_all(force=True)
    assert (raised.dropped, raised.error) == (0, "") and await names(store) == ["Org2", "Org4", "Org5", "Renamed"]
    kept = await peers.feed_state(store.graph, ORIGIN, "public")
    assert kept is not None and (kept["records"], kept["not_taken"], kept["cursor"]) == (8, 0, 11)

    # a feed state kept before the count was: counted once from the revisions we keep
    await store.graph.write("MATCH (f:PeerFeed) REMOVE f.records")
    assert (await store.peers.records_held(ORIGIN, "public", await peers.feed_state(store.graph, ORIGIN,
                                                                                   "public")))[0] == 8
    with pytest.raises(NotFound):
        await store.peers.set_max_records("nobody.example", 10)


def weight(*bodies_sent: dict[str, Any]) -> int:
    return sum(len(canonical(b)) for b in bodies_sent)


async def bodies_held(store: Store) -> tuple[int, int]:
    """The bytes the feed state carries, and the sum of what each record we keep says it weighs."""
    kept = await peers.feed_state(store.graph, ORIGIN, "public")
    [row] = await store.graph.read("MATCH (r:PeerRecord) WHERE r.key STARTS WITH $p RETURN sum(r.size) AS n",
                                   p=f"{ORIGIN}/public/")
    return int(kept["bytes"]) if kept else 0, int(row["n"])


async def test_a_peer_is_taken_up_to_its_bytes_and_no_further(store: Store, served: Any) -> None:
    """Under its record limit a peer's records may each be as large as a body: the bytes of the bodies
    we keep of it are bounded too (threat model R15). A record new to us that would go past them is
    neither written nor remembered; one we hold that would grow past them is dropped with the reason
    (its earlier body withdrawn); a withdrawal or a smaller body always comes through. Raised, the
    budget takes them at a resync; the count moved with each page is what the records weigh."""
    peer, server = served
    first = [org_body(f"org{i}") for i in range(3)]  # what the fixture's peer published, salts aside
    budget = weight(*first) + 400
    await peers.add(store.graph, peers.Peer(ORIGIN, server.url, "sha256:given-out-of-band",
                                            canonical(peer.roots[0]).decode(), 1, False, 100,
                                            "2026-11-21T00:00:00Z", max_bytes=budget))
    [taken] = await syncer(store).sync_all()
    assert (taken.entries, taken.error) == (3, "")
    held, summed = await bodies_held(store)
    assert held == summed and abs(held - weight(*first)) < 100  # each body carries salt of its own

    def described(local: str, description: str) -> dict[str, Any]:
        o = Organisation(id=f"{ORIGIN}:{local}", name=local.title(), kind="local-group",
                         visibility=Visibility.PUBLIC, languages=["es"], description=description)
        return bodies.organisation_body(o, "public")

    peer.publisher.add("org3", body=described("org3", "n" * 500))  # new to us, over what is left
    peer.publisher.add("org1", revision=2, body=described("org1", "d" * 2000))  # held, grown past it
    peer.publisher.add("org4", body=org_body("org4"))  # new and small: fits
    [over] = await syncer(store).sync_all(force=True)
    assert (over.entries, over.dropped, over.error) == (1, 2, ""), over.reasons
    assert any("entry 4 ('peer.example:org1'): a body of 2" in r and f"past its {budget:,} bytes" in r
               for r in over.reasons), over.reasons
    assert f"not taken from peer.example: 1 over the limit of {budget:,} bytes of bodies (" in over.reasons[-1]
    assert await names(store) == ["Org0", "Org2", "Org4"]  # org1's earlier body withdrawn, org3 never written
    held, summed = await bodies_held(store)
    assert held == summed and held <= budget
    kept = await peers.feed_state(store.graph, ORIGIN, "public")
    assert kept is not None and (kept["records"], kept["not_taken"], kept["cursor"]) == (4, 1, 6)

    await store.peers.set_max_bytes(ORIGIN, 10)  # below what it holds: nothing deleted, a smaller body taken
    peer.publisher.add("org2", revision=2, body=org_body("org2", "O"))
    peer.publisher.add("org0", revision=2, op="tombstone")
    [lowered] = await syncer(store).sync_all(force=True)
    assert (lowered.entries, lowered.dropped) == (2, 0) and await names(store) == ["O", "Org4"]
    assert (await bodies_held(store))[0] == (await bodies_held(store))[1] < held

    await store.peers.set_max_bytes(ORIGIN, 1024 * 1024)
    await store.peers.read_again(ORIGIN)
    [raised] = await syncer(store).sync_all(force=True)
    assert (raised.dropped, raised.error) == (0, "") and await names(store) == ["O", "Org1", "Org3", "Org4"]
    held, summed = await bodies_held(store)
    assert held == summed > 2000

    # a feed state kept before the bytes were: counted once from the sizes we keep
    await store.graph.write("MATCH (f:PeerFeed) REMOVE f.bytes")
    kept = await peers.feed_state(store.graph, ORIGIN, "public")
    assert await store.peers.records_held(ORIGIN, "public", kept) == (kept["records"], summed)
    with pytest.raises(NotFound):
        await store.peers.set_max_bytes("nobody.example", 10)


async def test_a_resync_reads_again_without_going_back_and_catches_a_rewritten_history(store: Store,
                                                                                       served: Any) -> None:
    """`peer resync` reads a log again from the start but keeps what was verified: a record we hold
    at a newer revision is not taken back to an older one on the way (even if the read stops
    half-way), a replay stays refused, and a log that no longer gives the checkpoint we verified is
    a rewritten history: the peer is quarantined with the evidence."""
    peer, server = served
    peer.publisher.add("org1", revision=2, body=org_body("org1", "Renamed"))
    await add(store, peer, server.url)
    [first] = await syncer(store).sync_all()
    assert first.error == "" and await names(store) == ["Org0", "Org2", "Renamed"]

    await store.peers.read_again(ORIGIN)
    assert (await state(store))[1] == 0
    peer.page_size = 2  # entries 0 and 1 (org1 at revision 1), then the peer fails
    calls = 0
    original = peer.publisher.page

    def once(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise RuntimeError("the peer went down")
        return original(*args)

    peer.publisher.page = once  # type: ignore[method-assign]
    [half] = await syncer(store).sync_all(force=True)
    assert half.error and (await state(store))[1] == 2
    assert await names(store) == ["Org0", "Org2", "Renamed"]  # not back to "Org1"
    peer.publisher.page = original  # type: ignore[method-assign]
    [rest] = await syncer(store).sync_all(force=True)
    assert (rest.entries, rest.error) == (2, "") and (await state(store))[1] == 4
    assert await names(store) == ["Org0", "Org2", "Renamed"]

    await store.peers.read_again(ORIGIN)  # the peer now serves another history under the same keys
    forged = Publisher(directory=ORIGIN, root_keys=peer.publisher.root_keys, online=peer.publisher.online)
    for local, name in (("org0", "Forged"), ("org1", None), ("org2", None), ("org3", None), ("org4", None)):
        forged.add(local, body=org_body(local, name))
    peer.publisher, peer.page_size = forged, 1000
    [caught] = await syncer(store).sync_all(force=True)
    p, _ = await state(store)
    assert caught.quarantined and p.quarantined and "rewrote its history" in caught.error
    assert "Forged" not in await names(store) and p.evidence


def withdrawn_and_two() -> Publisher:
    """A log of org0, org0 withdrawn (revision 2), org1 and org2."""
    p = Publisher(directory=ORIGIN)
    p.add("org0", body=org_body("org0"))
    p.add("org0", revision=2, op="tombstone")
    p.add("org1", body=org_body("org1"))
    p.add("org2", body=org_body("org2"))
    return p


async def test_a_resync_refuses_a_rewritten_entry_before_writing_it_whatever_the_pages(store: Store) -> None:
    """Read again in pages of one or two, a log whose entry at a revision we took is another entry
    (a withdrawn record back at the withdrawal's revision, a body changed without a new revision) is
    refused at that entry, before it is written, long before the kept checkpoint is reached; the
    peer is quarantined and its records marked stale."""
    p = withdrawn_and_two()
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [first] = await syncer(store).sync_all()
        assert first.error == "" and await names(store) == ["Org1", "Org2"]
        for rewritten, size in (("org0", 2), ("org1", 1)):
            await store.peers.read_again(ORIGIN)
            await store.graph.write("MATCH (p:Peer) SET p.quarantined = false")
            forged = Publisher(directory=ORIGIN, root_keys=p.root_keys, online=p.online)
            forged.add("org0", body=org_body("org0"))
            if rewritten == "org0":
                forged.add("org0", revision=2, body=org_body("org0", "Back From The Dead"))
            else:
                forged.add("org0", revision=2, op="tombstone")
            forged.add("org1", body=org_body("org1", "Forged" if rewritten == "org1" else None))
            for i in range(2, 12):
                forged.add(f"org{i}", body=org_body(f"org{i}"))
            peer.publisher, peer.page_size = forged, size
            [caught] = await syncer(store).sync_all(force=True)
            assert caught.quarantined and "is not the entry verified before at that revision" in caught.error
            assert await names(store) == ["Org1", "Org2"], rewritten
            shown = await store.organisations_by_id(STEWARD, [f"{ORIGIN}:org1"])
            assert shown[f"{ORIGIN}:org1"].provenance.stale is True


async def test_a_resync_refuses_a_record_or_revision_the_log_did_not_hold_where_we_read_it(store: Store) -> None:
    """Below where we had read, a log read again holds only what we took there: a revision above
    the one we keep (a withdrawn record back at revision 3) or a record we never took is a rewritten
    history, refused before it is written, even if the peer then stops short of the kept checkpoint."""
    p = withdrawn_and_two()
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        await syncer(store).sync_all()
        for forged_entry in (("org0", 3, "Back From The Dead"), ("org5", 1, "Injected")):
            await store.peers.read_again(ORIGIN)
            await store.graph.write("MATCH (p:Peer) SET p.quarantined = false")
            forged = Publisher(directory=ORIGIN, root_keys=p.root_keys, online=p.online)
            local, revision, name = forged_entry
            forged.add(local, revision=revision, body=org_body(local, name))
            for i in range(1, 6):
                forged.add(f"org{i}", body=org_body(f"org{i}"))
            peer.publisher, peer.page_size = forged, 2
            [caught] = await syncer(store).sync_all(force=True)
            assert caught.quarantined and "is not what the log held there" in caught.error, caught.error
            assert await names(store) == ["Org1", "Org2"]


async def test_a_refused_page_says_what_it_most_likely_means_and_peer_list_says_the_peer_is_failing(
        store: Store, served: Any) -> None:
    """An operator's walk: after a peer restored its backup into a new folder, its sync failed with
    "answered 400" and `peer list` still said `ok`. The error names the likely cause and the way on,
    and the list says the peer is failing (as a network feed refused with 403 does, `refused_because`)."""
    peer, server = served
    await add(store, peer, server.url)
    await syncer(store).sync_all()
    peer.mode = "restarted"
    peer.publisher.add("org9", body=org_body("org9"))
    [failed] = await syncer(store, CLOCK + timedelta(minutes=5)).sync_all()
    assert "answered 400" in failed.error and "if its log started again" in failed.error
    assert "`peer remove` and `peer add`" in failed.error
    p, cursor = await state(store)
    assert p.failures == 1 and cursor == 3
    assert "failing-1-times" in _row(p, None, None) and "\tok" not in _row(p, None, None)
    assert "\tok" in _row(replace(p, failures=0, last_error=""), None, None)
    why = sync.refused_because("network", 403, 0)
    assert why is not None and "network peer" in why and "federation rotate" in why
    assert sync.refused_because("public", 503, 7) is None
