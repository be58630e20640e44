"""The peers we pull from, what we verified of their logs, and their records merged into the graph.

A `Peer` holds its pinned root (the exact signed text), whether it is a network partner, its
precedence, and the state of its sync (failures, next attempt, last error, quarantine and the
evidence for it). A `PeerFeed` holds, per peer and audience, the verified frontier and checkpoint:
it moves in the same transaction as the records a page writes, and only from the cursor the page
was verified against, so two processes syncing the same peer cannot both apply a page. A
`PeerRecord` keeps the last revision taken for each of a peer's records, tombstoned ones included,
so a replayed older entry stays refused after its record was purged. Removing a peer deletes all of
that and every record it published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from directory.domain.errors import Conflict, NotFound
from directory.store.engine.cypher import cypher
from directory.store.engine.graph import Graph, Tx
from directory.store.records import shared_nodes

ADD = cypher("peers.add", """
CREATE (p:Peer {id: $id, url: $url, fingerprint: $fingerprint, root: $root, root_version: $version,
                network: $network, precedence: $precedence, max_records: $max_records, max_bytes: $max_bytes,
                added_at: $now,
                failures: 0, quarantined: false})
""")
SET_MAX_RECORDS = cypher("peers.set_max_records", """
MATCH (p:Peer {id: $id})
SET p.max_records = $n
RETURN p.id AS id
""")
SET_MAX_BYTES = cypher("peers.set_max_bytes", """
MATCH (p:Peer {id: $id})
SET p.max_bytes = $n
RETURN p.id AS id
""")
ALL = cypher("peers.all", """
MATCH (p:Peer)
RETURN p {.*} AS p
ORDER BY p.precedence, p.id
""")
PUBLISHERS = {label: cypher(f"peers.publishers_{label.lower()}", f"""
MATCH (n:{label}) WHERE n.publisher IS NOT NULL
RETURN DISTINCT n.publisher AS publisher
""") for label in ("Organisation", "Service", "Tombstone")}
ONE = cypher("peers.one", "MATCH (p:Peer {id: $id}) RETURN p {.*} AS p")
REMOVE = cypher("peers.remove", """
MATCH (p:Peer {id: $id})
DETACH DELETE p
RETURN count(*) AS n
""")
DEFAULT_MAX_RECORDS = 250_000
"""The records (organisations, services, links; tombstoned ones too) we take from one peer unless
its steward says otherwise: a peer's log can be as long as it likes, and without a bound a hostile
one fills our disk a page at a time. The largest directories in the field hold thousands."""
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
"""The bytes of record bodies (as published, summed over the records we keep) we take from one peer
unless its steward says otherwise: under its record limit, each record may still be as large as a
body. The embedded store holds every record a sorted listing matches in its heap at once: 64 MiB of
the largest records a row takes made an anonymous `totalCount` fail in the store's default heap
(512 MB), several at once ran it out of memory, and two such peers did at the first request. A
generated record of the usual size is about 900 bytes, so this is some 18,000 of them."""
PURGE_BATCH = 50  # records deleted per transaction when a peer is removed: a big peer must not fill the heap
# (a record at the largest sizes a row takes holds about 80 KB of text and thousands of search terms to
# unindex: 100 of those were what a store of 512 MB deleted in one transaction, 200 ran it out of memory)
PURGE_RELATIONSHIPS = 20_000  # and relationships of its services
FORGET_FEEDS = cypher("peers.forget_feeds", """
MATCH (f:PeerFeed)
WHERE f.peer = $id
DETACH DELETE f
""")
# read again from the start: the checkpoint (and its evidence) and the records' revisions are kept
REREAD_FEEDS = cypher("peers.reread_feeds", """
MATCH (f:PeerFeed)
WHERE f.peer = $id
SET f.reread_below = CASE WHEN coalesce(f.reread_below, 0) > f.cursor THEN f.reread_below ELSE f.cursor END,
    f.cursor = 0, f.frontier = null, f.not_taken = 0
""")
FORGET_RECORDS = cypher("peers.forget_records", f"""
MATCH (r:PeerRecord)
WHERE r.key STARTS WITH $prefix
WITH r LIMIT {PURGE_BATCH * 5}
DELETE r
RETURN count(*) AS n
""")
# Every link a peer published leaves one of its organisations (a link outside its namespace is
# dropped when read), so the links touching them are all of its links, and any of ours to them.
PURGE_PEER = [
    cypher("peers.purge_peer_links", f"""
MATCH (o:Organisation)
WHERE o.publisher = $peer
MATCH (o)-[l]-(:Organisation)
WITH DISTINCT l LIMIT {PURGE_BATCH}
DELETE l
RETURN count(*) AS n
"""),
    # a service's places and types first, a bounded number at a time: a batch of services is up to
    # `validation.MAX_REACH` relationships each, which one transaction must not hold all at once
    cypher("peers.purge_peer_service_reach", f"""
MATCH (s:Service)
WHERE s.publisher = $peer
MATCH (s)-[r]->()
WITH r LIMIT {PURGE_RELATIONSHIPS}
DELETE r
RETURN count(*) AS n
"""),
    cypher("peers.purge_peer_services", f"""
MATCH (s:Service)
WHERE s.publisher = $peer
WITH s LIMIT {PURGE_BATCH}
DETACH DELETE s
RETURN count(*) AS n
"""),
    cypher("peers.purge_peer_organisations", f"""
MATCH (o:Organisation)
WHERE o.publisher = $peer
WITH o LIMIT {PURGE_BATCH}
DETACH DELETE o
RETURN count(*) AS n
"""),
]
SET_ROOT = cypher("peers.set_root", """
MATCH (p:Peer {id: $id})
WHERE p.root_version = $old
SET p.root = $root, p.root_version = $version
RETURN p.id AS id
""")
NOTE = cypher("peers.note", """
MATCH (p:Peer {id: $id})
SET p += $changes
""")
CLAIM = cypher("peers.claim", """
MATCH (p:Peer {id: $id})
WHERE p.lease_until IS NULL OR p.lease_until < $now OR p.lease_holder IN [$holder, $dead]
SET p.lease_until = $until, p.lease_holder = $holder
RETURN p.id AS id
""")
HOLDER = cypher("peers.holder", """
MATCH (p:Peer {id: $id})
RETURN p.lease_holder AS holder
""")
RELEASE = cypher("peers.release", """
MATCH (p:Peer {id: $id})
WHERE p.lease_holder = $holder
SET p.lease_until = null, p.lease_holder = null
""")
FEED = cypher("peers.feed", """
MATCH (f:PeerFeed {key: $key})
RETURN f {.*} AS f
""")
ADVANCE = cypher("peers.advance", """
MATCH (p:Peer {id: $peer})
WHERE p.lease_holder = $holder
SET p.last_page_at = $state.fetched_at
MERGE (f:PeerFeed {key: $key})
ON CREATE SET f.peer = $peer, f.audience = $audience, f.cursor = 0
WITH f
WHERE f.cursor = $old
SET f += $state
RETURN f.cursor AS cursor
""")
COUNT_RECORDS = cypher("peers.count_records", """
MATCH (r:PeerRecord)
WHERE r.key STARTS WITH $prefix
RETURN count(r) AS n, sum(coalesce(r.size, 0)) AS bytes
""")
RECORD_REVISIONS = cypher("peers.record_revisions", """
UNWIND $keys AS k
MATCH (r:PeerRecord {key: k})
RETURN collect([r.key, r.revision, r.leaf, coalesce(r.size, 0)]) AS revisions
""")
# a row's size is null where the page left the record's body as it was (a body purged since)
SET_RECORD_REVISIONS = cypher("peers.set_record_revisions", """
UNWIND $rows AS r
MERGE (x:PeerRecord {key: r.key})
SET x.revision = r.revision, x.live = r.live, x.leaf = r.leaf, x.size = coalesce(r.size, x.size, 0)
""")
SET_ORGANISATION_PROVENANCE = cypher("peers.set_organisation_provenance", """
UNWIND $rows AS r
MATCH (n:Organisation {id: r.id})
SET n += r.feed
""")
SET_SERVICE_PROVENANCE = cypher("peers.set_service_provenance", """
UNWIND $rows AS r
MATCH (n:Service {id: r.id})
SET n += r.feed
""")
SET_LINK_PROVENANCE = cypher("peers.set_link_provenance", """
UNWIND $rows AS r
MATCH (:Organisation {id: r.source})-[l]->(:Organisation {id: r.target})
WHERE type(l) = r.type AND l.key = r.key
SET l += r.feed
""")
PURGE_ORGANISATIONS = cypher("peers.purge_organisations", """
UNWIND $ids AS i
MATCH (n:Organisation {id: i})
WHERE n.publisher = $peer
DETACH DELETE n
""")
PURGE_SERVICES_OF = cypher("peers.purge_services_of", """
UNWIND $ids AS i
MATCH (s:Service {organisation: i})
WHERE s.publisher = $peer
DETACH DELETE s
""")
PURGE_SERVICES = cypher("peers.purge_services", """
UNWIND $ids AS i
MATCH (s:Service {id: i})
WHERE s.publisher = $peer
WITH s, s.organisation AS provider, s.type AS type
DETACH DELETE s
RETURN provider, type
""")
PURGE_LINKS = cypher("peers.purge_links", """
UNWIND $rows AS r
MATCH (:Organisation {id: r.source})-[l]->(:Organisation {id: r.target})
WHERE type(l) = r.type AND l.key = r.key AND l.publisher = $peer
DELETE l
""")
MARK_STALE = {
    label: cypher(f"peers.mark_stale_{label.lower()}", f"""
MATCH (n:{label})
WHERE n.publisher = $peer
SET n.feed_stale = $stale
""") for label in ("Organisation", "Service")
}


@dataclass
class Peer:
    id: str
    url: str
    fingerprint: str
    root: str  # the pinned root's signed text
    root_version: int
    network: bool
    precedence: int
    added_at: str
    failures: int = 0
    next_attempt: str = ""
    last_error: str = ""
    last_success: str = ""
    quarantined: bool = False
    evidence: str = ""
    stale: bool = False
    max_records: int = DEFAULT_MAX_RECORDS
    max_bytes: int = DEFAULT_MAX_BYTES

    @property
    def audience(self) -> str:
        """The feed we pull from it: a network partner's network feed, else its public one."""
        return "network" if self.network else "public"


_FIELDS = set(Peer.__dataclass_fields__)


def _peer(p: dict[str, Any]) -> Peer:
    return Peer(**{k: v for k, v in p.items() if k in _FIELDS and v is not None})


async def add(graph: Graph, peer: Peer) -> None:
    if await one(graph, peer.id, missing_ok=True) is not None:
        raise Conflict(f"peer {peer.id!r} is already added; remove it first to pin another root")
    await graph.write(ADD, id=peer.id, url=peer.url, fingerprint=peer.fingerprint, root=peer.root,
                      version=peer.root_version, network=peer.network, precedence=peer.precedence,
                      max_records=peer.max_records, max_bytes=peer.max_bytes, now=peer.added_at)


async def set_max_records(graph: Graph, peer_id: str, n: int) -> None:
    if not await graph.write(SET_MAX_RECORDS, id=peer_id, n=n):
        raise NotFound("peer", peer_id)


async def set_max_bytes(graph: Graph, peer_id: str, n: int) -> None:
    if not await graph.write(SET_MAX_BYTES, id=peer_id, n=n):
        raise NotFound("peer", peer_id)


async def all_peers(graph: Graph) -> list[Peer]:
    return [_peer(r["p"]) for r in await graph.read(ALL)]


async def publishers(graph: Graph) -> set[str]:
    return {str(r["publisher"]) for statement in PUBLISHERS.values() for r in await graph.read(statement)}


async def one(graph: Graph, peer_id: str, missing_ok: bool = False) -> Peer | None:
    rows = await graph.read(ONE, id=peer_id)
    if not rows:
        if missing_ok:
            return None
        raise NotFound("peer", peer_id)
    return _peer(rows[0]["p"])


REMOVING = "peer remove"  # the lease holder while a peer is removed: the same for every process, so a
# removal interrupted half-way can be run again at once, and no sync writes meanwhile


async def remove(graph: Graph, peer_id: str) -> None:
    """Forget a peer, what we read of its logs, and every record it published: removing a hostile
    peer is the steward's remedy, so nothing of it may stay visible. Runs under the peer's sync
    lease (Conflict while a sync holds it), in batches, and deletes the peer itself last, so an
    interrupted removal is finished by running it again. Steward decisions about its records stay
    (they are keyed by id, `sameas`); added again, its logs are read from the start."""
    await one(graph, peer_id)
    moment = datetime.now(UTC)
    if not await claim(graph, peer_id, REMOVING, _time(moment), _time(moment + timedelta(hours=1))):
        raise Conflict(f"peer {peer_id!r} is being synced now; try again in a minute")
    await purge(graph, peer_id)
    await graph.write(REMOVE, id=peer_id)


async def purge(graph: Graph, peer_id: str) -> None:
    """Delete every record a peer published and what we read of its logs, in batches; the peer
    stays, and its next sync reads its logs from the start."""
    for statement in PURGE_PEER:
        while (await graph.write(statement, peer=peer_id))[0]["n"]:
            pass
    await shared_nodes.sweep(graph)  # its services' places and its organisations' identifiers no other record holds
    await forget_reading(graph, peer_id)


def _time(moment: datetime) -> str:
    """As `federation.keys.format_time` writes lease times (compared as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def read_again(graph: Graph, peer_id: str) -> None:
    """Move our place in a peer's logs back to the start, so the next sync reads them again through
    today's checks (after our taxonomy learnt a code a dropped entry used, say). The records stay
    meanwhile: the read rewrites each at the revision we hold, or purges what fails, and passes over
    older revisions. What we verified stays too: the checkpoint, which the log read again must
    reproduce (or the peer rewrote its history), and the revisions, so a replay stays refused."""
    await graph.write(REREAD_FEEDS, id=peer_id)


async def forget_reading(graph: Graph, peer_id: str) -> None:
    """Forget our place in a peer's logs and the revisions we took, as a peer removed must be."""
    # the revisions first: cut short between the two, the counts kept with the cursor still count them
    # (forgotten first, the records left would weigh nothing, and a later log could take them below zero)
    while (await graph.write(FORGET_RECORDS, prefix=f"{peer_id}/"))[0]["n"]:
        pass
    await graph.write(FORGET_FEEDS, id=peer_id)


async def set_root(graph: Graph, peer_id: str, old_version: int, version: int, root: str) -> None:
    if not await graph.write(SET_ROOT, id=peer_id, old=old_version, version=version, root=root):
        raise Conflict(f"peer {peer_id!r}'s root moved while it was being followed")


async def note(graph: Graph, peer_id: str, **changes: Any) -> None:
    await graph.write(NOTE, id=peer_id, changes=changes)


async def claim(graph: Graph, peer_id: str, holder: str, now: str, until: str, dead: str = "") -> bool:
    """Take (or renew) the lease to sync a peer, so one process at a time pulls it; False if another
    holds it, unless it is `dead` (a holder known to have died: its lease is taken over at once)."""
    return bool(await graph.write(CLAIM, id=peer_id, holder=holder, now=now, until=until, dead=dead or "\x00"))


async def holder(graph: Graph, peer_id: str) -> str | None:
    """Who holds the lease on a peer now, if anyone (a lapsed one included)."""
    rows = await graph.read(HOLDER, id=peer_id)
    return rows[0]["holder"] if rows else None


async def release(graph: Graph, peer_id: str, holder: str) -> None:
    await graph.write(RELEASE, id=peer_id, holder=holder)


def feed_key(peer_id: str, audience: str) -> str:
    return f"{peer_id}/{audience}"


async def feed_state(graph: Graph, peer_id: str, audience: str) -> dict[str, Any] | None:
    rows = await graph.read(FEED, key=feed_key(peer_id, audience))
    return rows[0]["f"] if rows else None


async def advance(graph: Graph, tx: Tx, peer_id: str, audience: str, old_cursor: int, state: dict[str, Any],
                  holder: str) -> None:
    """Move the cursor inside the page's transaction; Conflict (and no commit) if it moved
    meanwhile, or if the peer is no longer ours to sync: removed, or its lease taken by another
    process while the page was on its way (the peer node is written, so such a change waits or fails)."""
    if not await graph.run(tx, ADVANCE, key=feed_key(peer_id, audience), peer=peer_id, audience=audience,
                           old=old_cursor, state=state, holder=holder):
        raise Conflict(f"{peer_id}/{audience} was synced by another process, or the peer removed, meanwhile")


def record_key(peer_id: str, audience: str, kind: str, record: str) -> str:
    return f"{peer_id}/{audience}/{kind}/{record}"


Revision = tuple[int, str | None, int]
"""What we keep of a peer's record: its revision, the Merkle leaf of the entry it came in (None for
one kept before leaves were) and the bytes of the body we hold of it (0 for none, or one kept before
sizes were)."""


async def record_revisions(graph: Graph, keys: list[str]) -> dict[str, Revision]:
    if not keys:
        return {}
    rows = await graph.read_plain(RECORD_REVISIONS, keys=keys)
    return {k: (int(r), leaf or None, int(size)) for k, r, leaf, size in rows[0]["revisions"]}


async def records_held(graph: Graph, peer_id: str, audience: str, kept: dict[str, Any] | None) -> tuple[int, int]:
    """How many of a peer's records we keep a revision of (`PeerRecord`, tombstoned ones too), and
    the bytes of their bodies: what its feed state carries, moved with each page; counted once for
    a state kept before it did."""
    if kept is None:
        return 0, 0
    if kept.get("records") is not None and kept.get("bytes") is not None:
        return int(kept["records"]), int(kept["bytes"])
    row = (await graph.read(COUNT_RECORDS, prefix=f"{feed_key(peer_id, audience)}/"))[0]
    return int(row["n"]), int(row["bytes"])


async def mark_stale(graph: Graph, peer_id: str, stale: bool) -> None:
    """Flag (or clear) every record a peer published, so readers see its data may be frozen."""
    for statement in MARK_STALE.values():
        await graph.write(statement, peer=peer_id, stale=stale)
