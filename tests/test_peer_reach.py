"""How far a hostile peer that signs everything correctly reaches into what our viewers and stewards get.

It may not crowd our records out of search (1), make `peer proposals` fail or flood our record's
`sameAs` (2), outlive its removal (3), or wipe a steward's decision by purging and re-sending a
record (4).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

from directory.base.clock import now
from directory.domain.model import Link, Organisation, Service
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from directory.store import Filter, Store
from directory.store.federation import peers, sameas
from directory.store.records import search
from directory.store.records.writes import write_records
from tests.conftest import LiveServer
from tests.feeds import Publisher
from tests.helpers import Api
from tests.peer_server import Peer
from tests.test_federation_received import P, organisation, pull, service
from tests.test_hostile_peer import cli

pytestmark = pytest.mark.anyio


async def peer_writes(store: Store, organisations: list[Organisation], services: list[Service] | None = None,
                      links: list[Link] | None = None, publisher: str = P) -> None:
    """Records as a peer's page writes them: in its namespace, `publisher` = its id."""
    for i in range(0, len(organisations), 2000):
        async def work(tx: Any, part: list[Organisation] = organisations[i:i + 2000]) -> None:
            await write_records(store.graph, tx, publisher, part, [], [], now(), store.shelter_minimum)

        await store.graph.write_tx(work)
    if services or links:
        async def rest(tx: Any) -> None:
            await write_records(store.graph, tx, publisher, [], services or [], links or [], now(),
                                store.shelter_minimum)

        await store.graph.write_tx(rest)


async def every_hit(store: Store, viewer: Viewer, text: str) -> tuple[int, list[str]]:
    """The total a search reports, and every id its pages give, paging to the end."""
    seen: list[str] = []
    after = None
    while True:
        page = await store.search(viewer, text, first=100, after=after)
        seen += [h.id for h in page.hits]
        if not page.has_next:
            return page.total, seen
        after = page.cursors[-1]


# 1. Search


async def test_a_peer_cannot_crowd_our_record_out_of_search(store: Store) -> None:
    await store.upsert([Organisation(id="test:casa", name="Casa Luz", kind="local-group")], [], [])
    await peer_writes(store, [Organisation(id=f"{P}:c{i:03}", name="Casa Luz", kind="local-group")
                              for i in range(search.MAX_HITS + 20)])
    other = Organisation(id="other.example:casa", name="Casa Luz", kind="local-group")
    await peer_writes(store, [other], publisher="other.example")
    for viewer in (ANONYMOUS, STEWARD):
        total, ids = await every_hit(store, viewer, "casa luz")
        assert total == search.MAX_HITS + 22
        assert ids[0] == "test:casa"  # on a tie, our own record first
        assert "other.example:casa" in ids  # one peer crowds out no other peer either
        assert len([i for i in ids if i.startswith(f"{P}:")]) == search.PEER_SHARE
        assert len(ids) == len(set(ids))


@pytest.mark.parametrize("peer_name", ["Acompanyment Trust", "Acompanymant Trust"])
async def test_a_peer_holding_a_word_as_typed_or_one_typo_away_does_not_hide_ours_further_away(
        store: Store, peer_name: str) -> None:
    await store.upsert([Organisation(id="test:acc", name="Accompaniment Network", kind="local-group")], [], [])
    assert (await every_hit(store, ANONYMOUS, "acompanyment"))[1] == ["test:acc"]  # two typos from ours
    await peer_writes(store, [Organisation(id=f"{P}:x", name=peer_name, kind="local-group")])
    total, ids = await every_hit(store, ANONYMOUS, "acompanyment")
    assert sorted(ids) == sorted(["test:acc", f"{P}:x"]) and total == 2


async def test_a_peers_record_says_whose_it_is_where_the_pages_list_it(store: Store, live_server: LiveServer) -> None:
    """A peer's copy of one of ours by name was listed just above ours, nothing telling them apart
    but on their own pages: a defender could call the copy's number."""
    await store.upsert([Organisation(id="test:fld", name="Front Line Defenders", kind="international-ngo")], [], [])
    await peer_writes(store, [Organisation(id=f"{P}:fld", name="Front Line Defenders", kind="international-ngo")])
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        for asked in ({"text": "Front Line Defenders"}, {"kind": "international-ngo"}):
            found = (await client.post("/", data=asked)).text
            items = re.findall(r"<li>(.*?)</li>", found.split('<ol class="results">')[1], re.S)
            theirs = [i for i in items if f'href="/organisations/{P}:fld"' in i]
            mine = [i for i in items if 'href="/organisations/test:fld"' in i]
            assert len(theirs) == len(mine) == 1, asked
            assert f"from the directory {P}" in theirs[0] and "from the directory" not in mine[0]
            assert items.index(mine[0]) < items.index(theirs[0]), asked  # ours first on a tie of names
        # and under its name on its own page, not only at the page's foot (a hostile peer's read)
        page = (await client.get(f"/organisations/{P}:fld")).text
        assert f'</bdi></h1>\n<p class="from">from the directory {P}</p>' in page
        assert '<p class="from">' not in (await client.get("/organisations/test:fld")).text
    # and a page at a time, the cursor keeping that order: ours, then the peer's, then nothing
    seen, after = [], None
    for _ in range(3):
        page = await store.list_organisations(ANONYMOUS, Filter(kind="international-ngo"), 1, after)
        seen += [o.id for o in page.items]
        after = page.cursors[-1] if page.has_next else None
        if after is None:
            break
    assert seen == ["test:fld", f"{P}:fld"]


async def test_a_peer_cannot_crowd_our_services_out_of_search(store: Store) -> None:
    await store.upsert([Organisation(id="test:casa", name="Casa Luz", kind="local-group")],
                       [Service(id="test:casa-legal", organisation="test:casa", name="Legal aid", type="legal-aid")],
                       [])
    await peer_writes(store, [Organisation(id=f"{P}:casa", name="Casa", kind="local-group")],
                      [Service(id=f"{P}:s{i:03}", organisation=f"{P}:casa", name="Legal aid", type="legal-aid")
                       for i in range(search.MAX_HITS + 20)])
    total, ids = await every_hit(store, ANONYMOUS, "legal aid")
    assert total == search.MAX_HITS + 21 and ids[0] == "test:casa-legal"
    assert len(ids) == search.PEER_SHARE + 1


# 2. Proposals

CODE = "XM-DAC:41114"


async def test_a_flood_of_peer_records_claiming_our_identifier_stays_bounded(store: Store, settings: Any) -> None:
    await store.upsert([Organisation(id="test:casa", name="Casa Luz", kind="local-group", identifiers=[CODE])],
                       [], [])
    await peer_writes(store, [Organisation(id=f"{P}:c{i:03}", name=f"Casa {i}", kind="local-group",
                                           identifiers=[CODE]) for i in range(400)])
    found = await sameas.proposals(store.graph, STEWARD.params, "test")  # before: "Query heap budget exceeded"
    assert found.total == 400 and len(found.proposals) == sameas.MOST_PROPOSALS
    assert {p.first for p in found.proposals} == {"test:casa"}  # ours against the peer's; none between its own
    assert [p.second for p in found.proposals] == sorted(p.second for p in found.proposals)
    claims = (await store.same_as(STEWARD, ["test:casa"]))["test:casa"]
    assert len(claims.claims) == sameas.MOST_CLAIMS and claims.proposed == 400
    assert (await store.same_as(STEWARD, [f"{P}:c001"]))[f"{P}:c001"].claims == [
        sameas.Claim("test:casa", "identifier xm-dac:41114", proposed=True)]  # not its 399 siblings
    listed = await asyncio.to_thread(cli, settings, "peer", "proposals")
    assert listed.returncode == 0, listed.stderr
    assert f"and {400 - sameas.MOST_PROPOSALS} more" in listed.stdout


# 3. peer remove


async def test_a_removed_peer_leaves_nothing_it_published(store: Store, settings: Any) -> None:
    ours = Organisation(id="test:casa", name="Casa Luz", kind="local-group", identifiers=[CODE])
    await store.upsert([ours], [Service(id="test:casa-legal", organisation="test:casa", name="Legal aid",
                                        type="legal-aid")], [])
    p = Publisher(directory=P)
    p.add("casa", body=organisation("casa", identifiers=[CODE]))
    p.add("other", body=organisation("other"))
    p.add("casa-legal", body=service("casa-legal"), kind="service")
    link = {"type": "link", "link_type": "REFERS_TO", "source": f"{P}:other", "target": f"{P}:casa",
            "visibility": "public", "key": "", "properties": {}}
    p.add(f"other REFERS_TO {P}:casa", body=link, kind="link")
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await pull(store, peer, server.url)
        assert len((await store.list_organisations(ANONYMOUS, Filter(), first=10)).items) == 3
        removed = await asyncio.to_thread(cli, settings, "peer", "remove", P)
        assert removed.returncode == 0, removed.stderr
        assert "its records are deleted" in removed.stdout
        for viewer in (ANONYMOUS, STEWARD):
            assert [o.id for o in (await store.list_organisations(viewer, Filter(), first=10)).items] == ["test:casa"]
            assert [s.id for s in (await store.list_services(viewer, Filter(), first=10)).items] == ["test:casa-legal"]
            assert await store.organisations_by_id(viewer, [f"{P}:casa", f"{P}:other"]) == {}
            assert (await store.search(viewer, "casa")).total == 1
        left = await store.graph.read("MATCH (n) WHERE n.publisher = $p OR n:PeerFeed OR n:PeerRecord "
                                      "RETURN count(n) AS n", p=P)
        assert left[0]["n"] == 0
        links = await store.graph.read("MATCH ()-[l]->() WHERE l.publisher = $p RETURN count(l) AS n", p=P)
        assert links[0]["n"] == 0
        assert (await store.organisations_by_id(STEWARD, ["test:casa"]))["test:casa"].name == "Casa Luz"
        assert (await sameas.proposals(store.graph, STEWARD.params, "test")).total == 0
        again = await pull(store, peer, server.url)  # added again: read from the start
    assert again.entries == 4
    assert sorted(await store.organisations_by_id(ANONYMOUS, [f"{P}:casa", f"{P}:other"])) == [f"{P}:casa",
                                                                                                f"{P}:other"]


async def test_removing_a_big_peer_runs_in_batches(store: Store) -> None:
    big = [Organisation(id=f"{P}:b{i:04}", name=f"Big {i}", kind="local-group") for i in range(peers.PURGE_BATCH + 5)]
    await peer_writes(store, big, [Service(id=f"{P}:s{i:04}", organisation=f"{P}:b{i:04}", name="Legal aid",
                                           type="legal-aid") for i in range(peers.PURGE_BATCH + 5)])
    await store.upsert([Organisation(id="test:casa", name="Casa Luz", kind="local-group")], [], [])
    await peers.add(store.graph, peers.Peer(P, "http://127.0.0.1:9", "sha256:x", "{}", 1, False, 100, now()))
    await peers.remove(store.graph, P)
    assert [o.id for o in (await store.list_organisations(STEWARD, Filter(), first=10)).items] == ["test:casa"]
    assert (await store.list_services(STEWARD, Filter(), first=10)).items == []


# 4. A steward's decision outlives the records it is about


async def test_a_rejection_survives_the_peer_purging_and_resending_the_record(store: Store, api: Api) -> None:
    await store.upsert([Organisation(id="test:casa", name="Casa Luz", kind="local-group", identifiers=[CODE]),
                        Organisation(id="test:luz", name="Luz", kind="local-group", identifiers=["XM-DAC:7"])],
                       [], [])
    p = Publisher(directory=P)
    p.add("c", body=organisation("c", identifiers=[CODE]))
    p.add("l", body=organisation("l", identifiers=["XM-DAC:7"]))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await pull(store, peer, server.url)
        assert await sameas.reject(store.graph, f"{P}:c", "test:casa", "steward", now())
        assert await sameas.declare(store.graph, "test:luz", f"{P}:l", "steward", now())
        p.add("c", revision=2, op="tombstone")
        p.add("l", revision=2, op="tombstone")
        await pull(store, peer, server.url)
        assert await store.organisations_by_id(STEWARD, [f"{P}:c", f"{P}:l"]) == {}
        p.add("c", revision=3, body=organisation("c", identifiers=[CODE]))
        p.add("l", revision=3, body=organisation("l", identifiers=["XM-DAC:7"]))
        await pull(store, peer, server.url)
    assert sorted(await store.organisations_by_id(STEWARD, [f"{P}:c", f"{P}:l"])) == [f"{P}:c", f"{P}:l"]
    assert (await sameas.proposals(store.graph, STEWARD.params, "test")).total == 0  # before: proposed again
    found = await store.same_as(STEWARD, ["test:casa", "test:luz"])
    assert found["test:casa"].claims == []
    assert found["test:luz"].claims == [sameas.Claim(f"{P}:l", "steward")]  # the confirmation too


async def test_migration_8_turns_decision_edges_into_decisions(store: Store) -> None:
    from directory.store.engine.schema import SET_VERSION, ensure_schema

    await store.upsert([Organisation(id="test:a", name="A", kind="local-group"),
                        Organisation(id="test:b", name="B", kind="local-group", identifiers=[CODE])], [], [])
    await peer_writes(store, [Organisation(id=f"{P}:a", name="A", kind="local-group"),
                              Organisation(id=f"{P}:b", name="B", kind="local-group", identifiers=[CODE])])
    await store.graph.write("MATCH (a:Organisation {id: 'test:a'}) MATCH (b:Organisation {id: $b}) "
                            "CREATE (b)-[:SAME_AS {by: 'cli', at: '2026-01-01T00:00:00Z'}]->(a)", b=f"{P}:a")
    await store.graph.write("MATCH (a:Organisation {id: 'test:b'}) MATCH (b:Organisation {id: $b}) "
                            "CREATE (a)-[:NOT_SAME_AS {by: 'cli', at: '2026-01-01T00:00:00Z'}]->(b)", b=f"{P}:b")
    await store.graph.write(SET_VERSION, version=7)
    await ensure_schema(store.graph, store.embedded)
    edges = await store.graph.read("MATCH ()-[r:SAME_AS|NOT_SAME_AS]->() RETURN count(r) AS n")
    assert edges[0]["n"] == 0
    found = await store.same_as(STEWARD, ["test:a", "test:b"])
    assert found["test:a"].claims == [sameas.Claim(f"{P}:a", "steward")]
    assert found["test:b"].claims == [] and found["test:b"].proposed == 0
    assert (await sameas.proposals(store.graph, STEWARD.params, "test")).total == 0
