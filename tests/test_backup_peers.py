"""A backup is of our records: a peer's come back from its own signed log, never from a file.

(a) a fresh data folder restores none of a peer's records (nothing could remove them);
(b) a store that kept the peer and its cursor reads the peer's log again after a restore, so what
the peer withdrew since the backup stays withdrawn and what it added comes;
(c) a crafted or old backup holding another publisher's records restores none of them.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from directory.domain.errors import RestoreRefused, ValidationFailed
from directory.domain.viewer import ANONYMOUS, STEWARD
from directory.store import Filter, Store, backup
from directory.store.engine.cypher import cypher
from directory.store.federation import peers
from federation.canonical import canonical
from tests.conftest import WIPE, LiveServer
from tests.feeds import Publisher
from tests.helpers import Said, load, org, service
from tests.peer_server import Peer
from tests.test_federation_received import P, link, organisation, pull
from tests.test_federation_received import service as peer_service

pytestmark = pytest.mark.anyio

PEERS_RECORDS = cypher("tests.peers_records", """
MATCH (n) WHERE (n:Organisation OR n:Service) AND (n.publisher <> 'test' OR NOT n.id STARTS WITH 'test:')
RETURN n.id AS id ORDER BY id
""")
SET_CURSOR = cypher("tests.set_cursor", "CREATE (:PeerFeed {key: $key, peer: $peer, audience: 'public', cursor: 6})")
LINKS = cypher("tests.all_links", "MATCH (a:Organisation)-[l]->(b:Organisation) RETURN a.id AS a, type(l) AS t, "
                                  "b.id AS b ORDER BY a, t, b")


async def dump(store: Store) -> list[str]:
    return [line async for line in backup.dump(store.graph, store.directory_id)]


async def restore(store: Store, lines: list[str], said: Said, **options: Any) -> dict[str, int]:
    return await backup.restore(store.graph, store.directory_id, lines, "backup.jsonl", said, **options)


def peer_with_casa_and_gone() -> Publisher:
    p = Publisher(directory=P)
    p.add("casa", body=organisation("casa"))
    p.add("gone", body=organisation("gone"))
    p.add("casa-legal", body=peer_service("casa-legal"), kind="service")
    body = link("REFERS_TO", f"{P}:casa", f"{P}:gone")
    p.add(f"casa REFERS_TO {P}:gone", body=body, kind="link")
    return p


async def ours_and_a_peers(store: Store, peer: Peer, url: str) -> None:
    await load(store, [org("ours"), org("other")], [service("ours-legal", "ours")])
    await pull(store, peer, url)
    found = await store.organisations_by_id(ANONYMOUS, [f"{P}:casa", f"{P}:gone"])
    assert sorted(found) == [f"{P}:casa", f"{P}:gone"]  # merged as a sync merges them


async def test_a_fresh_data_folder_restores_none_of_a_peers_records(store: Store) -> None:
    peer = Peer(peer_with_casa_and_gone())
    with LiveServer(app=peer.app()) as server:
        await ours_and_a_peers(store, peer, server.url)
    lines = await dump(store)
    assert not [line for line in lines if P in line]  # (1) the backup holds our records only
    await store.graph.write(WIPE)  # a fresh data folder: no Peer, no cursor, nothing to remove them with
    said = Said()
    counts = await restore(store, lines, said)
    assert (counts["organisations"], counts["services"]) == (2, 1)
    assert await store.graph.read(PEERS_RECORDS) == []
    for viewer in (ANONYMOUS, STEWARD):
        assert sorted(await store.organisations_by_id(viewer, ["test:ours", f"{P}:casa", f"{P}:gone"])) == [
            "test:ours"]
    assert [s.id for s in (await store.list_services(STEWARD, Filter(), first=10)).items] == ["test:ours-legal"]
    assert await dump(store) == lines


async def test_after_a_restore_each_peer_is_read_again_from_the_start(store: Store) -> None:
    p = peer_with_casa_and_gone()
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await ours_and_a_peers(store, peer, server.url)
        lines = await dump(store)  # while the peer holds "gone"
        p.add("gone", revision=2, op="tombstone")
        p.add("later", body=organisation("later"))
        await pull(store, peer, server.url)
        # a restore that died half-way, run again with --discard-unfinished: its wipe deletes
        # organisations and services only, so the peer and our place in its log stay
        await store.graph.write(backup.MARK, id="restore-died", source="earlier.jsonl", now="2026-11-21T00:00:00Z",
                                new_terms=[])
        said = Said()
        await restore(store, lines, said, discard_unfinished=True)
        assert await peers.one(store.graph, P) is not None
        assert await peers.feed_state(store.graph, P, "public") is None  # forgotten: read from the start
        assert any(f"read again from the start: {P}" in s for s in said), said
        again = await pull(store, peer, server.url)
    assert again.entries + again.dropped == len(p.items)  # every entry read again, through today's checks
    found = await store.organisations_by_id(STEWARD, ["test:ours", f"{P}:casa", f"{P}:gone", f"{P}:later"])
    assert sorted(found) == [f"{P}:casa", f"{P}:later", "test:ours"]  # "gone" stays gone, "later" came
    services = await store.list_services(STEWARD, Filter(), first=10)
    assert sorted(s.id for s in services.items) == [f"{P}:casa-legal", "test:ours-legal"]


def _canonical(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


async def crafted(store: Store, directory: str = "test") -> list[str]:
    """An old (schema 7) backup of ours with another publisher's records added: an unsound one, one
    in our namespace, one in the peer's claiming to be ours, a service and links reaching ours."""
    await load(store, [org("ours"), org("other")], [service("ours-legal", "ours")])
    lines = await dump(store)
    header = dict(json.loads(lines[0]), schema=7, directory=directory, version=1)  # before the end line
    [ours] = [json.loads(line) for line in lines if '"id":"test:ours"' in line and "organisation" in line]
    [legal] = [json.loads(line) for line in lines[1:-1] if "service" in json.loads(line)]
    exact = {"latitude": 4.609712, "longitude": -74.081749, "pub_latitude": 4.609712, "pub_longitude": -74.081749}
    warlord = {"organisation": dict(ours["organisation"], id=f"{P}:warlord", publisher=P, kind="warlord",
                                    name="Front Line Defenders\u202e", precision="country", **exact),
               "based_in": ["CO"],
               "links": [{"type": "VETTED_BY", "to": "test:ours", "props": {"key": "", "publisher": P,
                                                                            "visibility": "public"}}]}
    masked = {"organisation": dict(ours["organisation"], id="test:masked", publisher=P), "based_in": ["CO"],
              "links": []}
    posing = {"organisation": dict(ours["organisation"], id=f"{P}:posing", publisher="test"), "based_in": ["CO"],
              "links": []}
    ours["links"] = [{"type": "PARTNERS_WITH", "to": f"{P}:warlord", "props": {"key": "", "publisher": "test",
                                                                               "visibility": "public"}},
                     {"type": "PARTNERS_WITH", "to": "test:other", "props": {"key": "", "publisher": P,
                                                                             "visibility": "public"}}]
    theirs = {"service": dict(legal["service"], id=f"{P}:legal", publisher=P, organisation=f"{P}:warlord",
                              owner=f"{P}:warlord"),
              "offered_by": [f"{P}:warlord"], "available_in": legal["available_in"], "serves": legal["serves"]}
    legal["offered_by"] = [*legal["offered_by"], f"{P}:warlord"]
    records = [ours, warlord, masked, posing, *[json.loads(line) for line in lines[1:-1]
                                                 if "organisation" in json.loads(line)
                                                 and '"test:ours"' not in line], legal, theirs]
    terms = [line for line in lines[1:-1] if "term" in json.loads(line)]
    await store.graph.write(WIPE)
    return [_canonical(header), *terms, *map(_canonical, records)]


async def test_a_backup_holding_another_publishers_records_restores_only_ours(store: Store) -> None:
    lines = await crafted(store)
    said = Said()
    counts = await restore(store, lines, said)
    assert (counts["organisations"], counts["services"]) == (2, 1)
    assert await store.graph.read(PEERS_RECORDS) == []
    assert await store.graph.read(LINKS) == []  # neither the peer's vetting of ours nor our links to it
    found = await store.organisations_by_id(STEWARD, ["test:ours", "test:other", "test:masked", f"{P}:warlord",
                                                      f"{P}:posing"])
    assert sorted(found) == ["test:other", "test:ours"]
    services = await store.list_services(STEWARD, Filter(), first=10)
    assert [s.id for s in services.items] == ["test:ours-legal"]
    assert services.items[0].organisation == "test:ours"
    text = "\n".join(said)
    assert "skipped 2 organisation(s) and 1 service(s) published by another directory" in text, said
    assert "skipped 1 organisation(s) and 0 service(s) whose id is outside test's namespace" in text, said
    assert "skipped 3 link(s)" in text, said


async def test_a_backup_of_another_directory_is_refused(store: Store) -> None:
    lines = await crafted(store, directory=P)
    with pytest.raises(RestoreRefused, match=r"backup of directory 'peer\.example'"):
        await restore(store, lines, [])
    assert (await store.graph.read(backup.COUNT_RECORDS))[0]["n"] == 0


async def test_the_restore_command_says_what_it_skipped_and_which_peers_are_read_again(
        store: Store, settings: Any, tmp_path: Path) -> None:
    from tests.test_hostile_peer import cli

    file = tmp_path / "backup.jsonl"
    file.write_text("\n".join(await crafted(store)) + "\n", encoding="utf-8")
    root = canonical(Peer(Publisher(directory=P)).roots[0]).decode()
    await peers.add(store.graph, peers.Peer(P, "http://127.0.0.1:9", "sha256:out-of-band", root, 1, False, 100,
                                            "2026-11-21T00:00:00Z"))
    await store.graph.write(SET_CURSOR, key=peers.feed_key(P, "public"), peer=P)
    done = await asyncio.to_thread(cli, settings, "restore", str(file))
    assert done.returncode == 0, done.stderr
    assert ("restored 2 organisations and 1 services, skipped 7 records and links of other directories; "
            "1 peer(s) will be read again from the start at their next sync") in done.stdout
    assert "published by another directory than test" in done.stderr
    assert f"will be read again from the start: {P}" in done.stderr
    assert await peers.feed_state(store.graph, P, "public") is None
    # an operator's walk: restored into a new folder, the directory could not federate and was not told
    assert "not this directory's root of trust, feeds, peers or API tokens" in done.stdout
    assert "`directory federation init` makes a new root" in done.stdout
    await store.roots.save(1, root, "2026-11-21T00:00:00Z")  # a folder that has its root: nothing to say
    await store.graph.write("MATCH (n) WHERE n:Organisation OR n:Service DETACH DELETE n")
    again = await asyncio.to_thread(cli, settings, "restore", str(file))
    assert again.returncode == 0, again.stderr
    assert "root of trust" not in again.stdout


async def test_a_restore_that_fails_has_every_peers_log_read_again(store: Store) -> None:
    """A crash read: a sync during a restore wrote a peer's records, the restore failed and its wipe
    deleted them, but our place in the peer's log stayed: the next sync took nothing, and they
    stayed missing until a `peer resync`."""
    lines = await crafted(store)
    root = canonical(Peer(Publisher(directory=P)).roots[0]).decode()
    await peers.add(store.graph, peers.Peer(P, "http://127.0.0.1:9", "sha256:out-of-band", root, 1, False, 100,
                                            "2026-11-21T00:00:00Z"))
    await store.graph.write(SET_CURSOR, key=peers.feed_key(P, "public"), peer=P)  # as a sync left it meanwhile
    with pytest.raises(ValidationFailed):
        await restore(store, [*lines, "not json"], Said())  # refused at its end, what it wrote wiped
    assert (await store.graph.read(backup.COUNT_RECORDS))[0]["n"] == 0
    kept = await peers.feed_state(store.graph, P, "public")  # read again from its start, as `peer resync`
    assert kept is not None and int(kept["cursor"]) == 0 and int(kept["reread_below"]) == 6
