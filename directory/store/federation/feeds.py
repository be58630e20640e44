"""Our published logs in the graph: entries, what each record last published, and each log's head.

One log per audience. `FeedEntry` nodes hold the signed entry and its body as canonical text, keyed
`audience/seq`; `FeedRecord` nodes remember, per audience and record, the revision and body hash
last published, so a publish cycle appends only what changed; `FeedHead` holds the log's size,
the newest signed checkpoint and the time the last cycle looked from. An append is one
transaction that also checks the head's size, so two processes publishing at once cannot both
write entry n (the unique key refuses the second, which retries on the new head).
"""

from __future__ import annotations

from dataclasses import dataclass

from directory.domain.errors import Conflict
from directory.store.engine.cypher import cypher
from directory.store.engine.graph import Graph, Tx

HEAD = cypher("feeds.head", """
MATCH (h:FeedHead {audience: $audience})
RETURN h.size AS size, h.checkpoint AS checkpoint, h.since AS since
""")
CLAIM_HEAD = cypher("feeds.claim_head", """
MERGE (h:FeedHead {audience: $audience})
ON CREATE SET h.size = 0
RETURN h.size AS size
""")
# Only from where the cycle looked from: a restore that asked the next cycle to look at every record
# (`LOOK_AT_ALL`) while this one ran must not be undone by it (Conflict: the cycle looks again).
MOVE_HEAD = cypher("feeds.move_head", """
MATCH (h:FeedHead {audience: $audience})
WHERE h.size = $old AND (h.since = $looked_from OR (h.since IS NULL AND $looked_from IS NULL))
SET h.size = $new, h.since = $since
RETURN h.size AS size
""")
SAVE_CHECKPOINT = cypher("feeds.save_checkpoint", """
MATCH (h:FeedHead {audience: $audience})
WHERE h.size = $size
SET h.checkpoint = $checkpoint
""")
ADD_ENTRIES = cypher("feeds.add_entries", """
UNWIND $rows AS r
CREATE (:FeedEntry {key: r.key, audience: $audience, seq: r.seq, record: r.record, leaf: r.leaf,
                    entry: r.entry, body: r.body})
""")
SET_RECORDS = cypher("feeds.set_records", """
UNWIND $rows AS r
MERGE (f:FeedRecord {key: r.key})
SET f.revision = r.revision, f.hash = r.hash, f.live = r.live
""")
PURGE_BODIES = cypher("feeds.purge_bodies", """
UNWIND $records AS rec
MATCH (e:FeedEntry {record: rec}) WHERE e.body IS NOT NULL
SET e.body = null
""")
REPLACE_ENTRIES = cypher("feeds.replace_entries", """
UNWIND $rows AS r
MATCH (e:FeedEntry {key: r.key})
SET e.entry = r.entry
""")
RECORD_STATES = cypher("feeds.record_states", """
UNWIND $keys AS k
MATCH (f:FeedRecord {key: k})
RETURN collect([f.key, f.revision, f.hash, f.live]) AS states
""")
LIVE_RECORDS = cypher("feeds.live_records", """
MATCH (f:FeedRecord)
WHERE f.live AND f.key STARTS WITH $prefix
RETURN collect(f.key) AS keys
""")
ENTRIES = cypher("feeds.entries", """
UNWIND $keys AS k
MATCH (e:FeedEntry {key: k})
RETURN collect([e.entry, e.body]) AS items
""")
LEAVES = cypher("feeds.leaves", """
UNWIND $keys AS k
MATCH (e:FeedEntry {key: k})
RETURN collect(e.leaf) AS leaves
""")

# What changed since a cycle last looked: our own records, the services and links of changed
# organisations (their visibility decides whether those may be shown), and deletions. A shelter's
# public view can change without the record changing (`store.shelters`): its public time moves.
CHANGED_ORGANISATIONS = cypher("feeds.changed_organisations", """
MATCH (n:Organisation)
WHERE n.publisher = $me AND ($since IS NULL OR n.updated_at >= $since OR n.public_updated_at >= $since)
RETURN collect(n.id) AS ids
""")
CHANGED_SERVICES = cypher("feeds.changed_services", """
MATCH (s:Service)
WHERE s.publisher = $me AND ($since IS NULL OR s.updated_at >= $since OR s.organisation IN $organisations)
RETURN collect(s.id) AS ids
""")
CHANGED_LINKS = cypher("feeds.changed_links", """
MATCH (a:Organisation)-[l]->(b:Organisation)
WHERE l.publisher = $me AND l.revision IS NOT NULL
  AND ($since IS NULL OR l.updated_at >= $since OR a.id IN $organisations OR b.id IN $organisations)
RETURN collect(DISTINCT a.id) AS ids
""")
# The next cycle looks at every record (`changed` with no `since`): records written with the times
# they had before (a restore) are older than any cycle's look, and would never be published.
LOOK_AT_ALL = cypher("feeds.look_at_all", "MATCH (h:FeedHead) SET h.since = null")
DELETED = cypher("feeds.deleted", """
MATCH (t:Tombstone)
WHERE t.publisher = $me AND ($since IS NULL OR t.deleted_at >= $since)
RETURN collect([t.kind, t.id]) AS records
""")


@dataclass(frozen=True)
class RecordState:
    revision: int
    hash: str | None
    live: bool


@dataclass(frozen=True)
class NewEntry:
    record: str  # audience/kind/id
    leaf: str
    entry: str  # canonical envelope
    body: str | None  # canonical body
    revision: int
    hash: str | None
    live: bool


@dataclass(frozen=True)
class Changed:
    organisations: list[str]
    services: list[str]
    link_sources: list[str]  # organisations whose outgoing links to look at
    deleted: list[tuple[str, str]]  # (kind, id)


def record_key(audience: str, kind: str, record: str) -> str:
    return f"{audience}/{kind}/{record}"


async def head(graph: Graph, audience: str) -> tuple[int, str | None, str | None]:
    """The log's size, its newest checkpoint (canonical text) and where the last cycle looked from."""
    rows = await graph.read(HEAD, audience=audience)
    if not rows:
        return 0, None, None
    return int(rows[0]["size"]), rows[0]["checkpoint"], rows[0]["since"]


async def changed(graph: Graph, me: str, since: str | None) -> Changed:
    async def work(tx: Tx) -> Changed:
        orgs = (await graph.run(tx, CHANGED_ORGANISATIONS, me=me, since=since))[0]["ids"]
        services = (await graph.run(tx, CHANGED_SERVICES, me=me, since=since, organisations=orgs))[0]["ids"]
        sources = (await graph.run(tx, CHANGED_LINKS, me=me, since=since, organisations=orgs))[0]["ids"]
        deleted = (await graph.run(tx, DELETED, me=me, since=since))[0]["records"]
        return Changed(list(orgs), list(services), list(sources), [(k, i) for k, i in deleted])

    return await graph.read_tx(work)


async def look_at_all(graph: Graph) -> None:
    await graph.write(LOOK_AT_ALL)


async def record_states(graph: Graph, keys: list[str]) -> dict[str, RecordState]:
    out: dict[str, RecordState] = {}
    for i in range(0, len(keys), 5000):
        rows = await graph.read_plain(RECORD_STATES, keys=keys[i:i + 5000])
        out.update({k: RecordState(int(r), h, bool(live)) for k, r, h, live in rows[0]["states"]})
    return out


async def live_records(graph: Graph, audience: str, kind: str) -> list[str]:
    """Keys of records of `kind` whose last entry in `audience` was an upsert."""
    rows = await graph.read_plain(LIVE_RECORDS, prefix=record_key(audience, kind, ""))
    return list(rows[0]["keys"])


APPEND_PART = 5_000  # entries a transaction appends: 60,000 in one ran the embedded store out of its heap


async def append(graph: Graph, audience: str, size: int, entries: list[NewEntry], since: str,
                 looked_from: str | None) -> None:
    """Add entries size, size + 1, ... in transactions of `APPEND_PART`, and with the last move
    where the next cycle looks from to `since`; Conflict if another process moved the head first,
    or where it looks from is no longer `looked_from` (what the cycle read). A publish cut short
    leaves a log of whole entries and each record's state as far as it went: the next cycle looks
    from where this one did, and appends only what no committed part published (`record_states`)."""
    parts = [entries[i:i + APPEND_PART] for i in range(0, len(entries), APPEND_PART)] or [[]]
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        await _append_part(graph, audience, size + n * APPEND_PART, part, since if last else looked_from,
                           looked_from)


async def _append_part(graph: Graph, audience: str, size: int, entries: list[NewEntry], since: str | None,
                       looked_from: str | None) -> None:
    rows = [{"key": f"{audience}/{size + i}", "seq": size + i, "record": e.record, "leaf": e.leaf,
             "entry": e.entry, "body": e.body} for i, e in enumerate(entries)]
    states = [{"key": e.record, "revision": e.revision, "hash": e.hash, "live": e.live} for e in entries]
    # A record's new entry purges every earlier body of it, an upsert's as a tombstone's: the log
    # serves a record's latest body alone, so what its view no longer shows (a shelter's place once
    # withheld, a channel made network-only) is read from no older one. The signed entries stay.
    superseded = sorted({e.record for e in entries})

    async def work(tx: Tx) -> None:
        current = (await graph.run(tx, CLAIM_HEAD, audience=audience))[0]["size"]
        if current != size:
            raise Conflict(f"the {audience} log moved from {size} to {current} while publishing")
        for i in range(0, len(superseded), 2000):  # before the new entries, whose bodies stay
            await graph.run(tx, PURGE_BODIES, records=superseded[i:i + 2000])
        for i in range(0, len(rows), 2000):
            await graph.run(tx, ADD_ENTRIES, audience=audience, rows=rows[i:i + 2000])
            await graph.run(tx, SET_RECORDS, rows=states[i:i + 2000])
        if not await graph.run(tx, MOVE_HEAD, audience=audience, old=size, new=size + len(rows), since=since,
                               looked_from=looked_from):
            raise Conflict(f"the {audience} log moved while publishing")

    await graph.write_tx(work)


async def save_checkpoint(graph: Graph, audience: str, size: int, checkpoint: str) -> None:
    """Keep a newly signed checkpoint, unless the log has grown since it was signed."""
    await graph.write(SAVE_CHECKPOINT, audience=audience, size=size, checkpoint=checkpoint)


async def replace_entries(graph: Graph, rows: list[dict[str, str]]) -> None:
    """New signatures on kept entries (their signed parts, hence the tree, unchanged)."""
    await graph.write(REPLACE_ENTRIES, rows=rows)


async def entries(graph: Graph, audience: str, start: int, stop: int) -> list[tuple[str, str | None]]:
    if stop <= start:
        return []
    rows = await graph.read_plain(ENTRIES, keys=_keys(audience, start, stop))
    return [(str(e), b) for e, b in rows[0]["items"]]


async def leaves(graph: Graph, audience: str, start: int, stop: int) -> list[bytes]:
    if stop <= start:
        return []
    rows = await graph.read_plain(LEAVES, keys=_keys(audience, start, stop))
    return [bytes.fromhex(h) for h in rows[0]["leaves"]]


def _keys(audience: str, start: int, stop: int) -> list[str]:
    return [f"{audience}/{seq}" for seq in range(start, stop)]
