"""Publishing our own records into the signed logs, and serving checkpoints and pages from them.

A publish cycle reads what changed since the last one (our records by `updated_at`, the services
and links of changed organisations, deletions), reads each as a viewer of the audience would see
it, and appends an entry for each record whose body for that audience differs from the one last
published: an upsert, or a tombstone when the record was deleted or is no longer shown to that
audience (restricted, or network in the public log). Only records we publish enter: a peer's
records stay out of our logs whatever their redistribute flag (docs/federation.md).

Bodies come from the store's reads for that audience, so visibility and published precision are
applied by the same queries every other channel uses.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from directory.base.clock import store_time
from directory.domain.errors import Conflict
from directory.domain.model import Link, Organisation, Service
from directory.domain.viewer import ANONYMOUS, Viewer
from directory.store import Changed, NewEntry, Store, feed_record_key
from federation import bodies, merkle
from federation.canonical import canonical, parse
from federation.feed import AUDIENCES, MAX_PAGE_ENTRIES, body_hash, checkpoint, entry
from federation.keys import SigningKey, format_time, parse_time, seal

# The viewer a feed is read as: the network log shows what any member of the network sees, never
# what only one organisation's members see (no organisation has this id).
FEED_VIEWERS = {"public": ANONYMOUS, "network": Viewer("member", organisation="\x00feed", who="feed")}
CHECKPOINT_LIFETIME = timedelta(hours=24)
CHECKPOINT_REFRESH = timedelta(hours=1)  # re-signed this often, so a reader notices a frozen feed within a day
PAGE_LIMIT = MAX_PAGE_ENTRIES  # a reader refuses a longer page
PAGE_BYTES = 8 * 1024 * 1024  # and one over its cap (`fetch.PAGE_CAP`, 16 MiB): half, for the checkpoint and proof
OVERLAP = timedelta(minutes=2)  # a cycle looks back this far past the last, for writes committed late
_READ_CHUNK = 2000
log = logging.getLogger("directory.federation")


@dataclass(frozen=True)
class _Current:
    kind: str
    id: str
    revision: int | None
    body: dict[str, Any] | None  # None: not shown to this audience any more


class Publisher:
    """One process's view of the logs; any number of processes may publish and serve at once."""

    def __init__(self, store: Store, keys: list[SigningKey] | Callable[[], list[SigningKey]],
                 redistribute: bool = False) -> None:
        self.store = store
        self._keys = keys
        self.redistribute = redistribute
        self.trees = {a: merkle.Tree() for a in AUDIENCES}
        self._lock = asyncio.Lock()

    @property
    def keys(self) -> list[SigningKey]:
        """The online keys, read again each time so a rotation takes effect without a restart."""
        return self._keys() if callable(self._keys) else self._keys

    @property
    def origin(self) -> str:
        return self.store.directory_id

    async def publish(self, now: datetime | None = None, waiting: Callable[[], None] | None = None) -> dict[str, int]:
        """Append what changed to each log; the number of entries appended per audience. Never while
        an import writes (`Store.importing`): an import stamps each part as the part begins, and a
        cycle in the middle of a long one moved past stamps of parts committed after it, so their
        records never reached the feeds. Waits for the import, telling `waiting`; without
        `waiting`, Conflict at once (the serve cycle skips its publish and goes on to its pulls)."""
        added = {}
        async with self.store.importing(waiting or (lambda: None), wait=waiting is not None):
            await self._after_unfinished_writes()
            for audience in AUDIENCES:
                for attempt in range(5):
                    try:
                        added[audience] = await self._publish(audience, now or datetime.now(UTC))
                        break
                    except Conflict:  # another process appended first: look again from its head
                        if attempt == 4:
                            raise
        return added

    async def _after_unfinished_writes(self) -> None:
        """Holding the import lock, a restore or staged import still marked running died: never
        publish a half-restored directory (its shelters' marks are the backup's, decided with
        records it has not written yet), and decide the shelters' marks again after a staged import
        that died between its parts, before any of it is signed (a crash read). And a `rotate`
        killed while it signed the feeds again: finish that first."""
        if await self.store.backups.unfinished():
            raise Conflict("a restore did not finish: nothing is published until `directory restore "
                           "--discard-unfinished FILE` has run it again")
        if await self.store.unfinished_imports():
            await self.store.refresh_shelters()
        if (version := await self.store.roots.resign_pending()) is not None:  # a `rotate` killed while it signed
            log.warning("root version %d's rotation did not finish signing the feeds again: signing them now",
                        version)
            await self.resign()
            await self.store.roots.resigned(version)

    async def _publish(self, audience: str, now: datetime) -> int:
        feeds = self.store.feeds
        size, _, since = await feeds.head(audience)
        looked_at = store_time(now - OVERLAP)
        changed = await self.store.feeds.changed(self.origin, since)
        current = await self._current(audience, changed)
        states = await self.store.feeds.record_states([feed_record_key(audience, c.kind, c.id) for c in current])
        keys = self.keys
        new: list[NewEntry] = []
        reissued: set[str] = set()  # organisations given a new entry over a live one, in this cycle
        for c in current:
            key = feed_record_key(audience, c.kind, c.id)
            state = states.get(key)
            digest = body_hash(c.body) if c.body is not None else None
            if c.body is None and (state is None or not state.live):
                continue  # never published here, or already tombstoned
            if state is not None and state.live and state.hash == digest and not _leans_on(c, reissued):
                continue
            if c.kind == "organisation" and c.body is not None and state is not None and state.live:
                reissued.add(c.id)
            revision = max(c.revision or 0, (state.revision + 1) if state else 1)
            op = "upsert" if c.body is not None else "tombstone"
            body = salted(c.body) if c.body is not None else None
            envelope = entry(self.origin, audience, size + len(new), c.kind, c.id, revision, op, body,
                             self.redistribute, keys)
            text = canonical(envelope)
            # `digest`, of the body unsalted, is what the next cycle compares to see a change
            new.append(NewEntry(key, merkle.leaf_hash(canonical(envelope["signed"])).hex(), text.decode(),
                                      canonical(body).decode() if body is not None else None,
                                      revision, digest, c.body is not None))
        # also moves `since` when nothing changed; Conflict if a restore asked meanwhile to look at all
        await self.store.feeds.append(audience, size, new, looked_at, since)
        return len(new)

    async def _current(self, audience: str, changed: Changed) -> list[_Current]:
        """Each changed record as the audience sees it now, upserts before tombstones."""
        viewer = FEED_VIEWERS[audience]
        orgs: dict[str, Organisation] = {}
        for i in range(0, len(changed.organisations), _READ_CHUNK):
            orgs.update(await self.store.organisations_by_id(viewer, changed.organisations[i:i + _READ_CHUNK]))
        services: dict[str, Service] = {}
        for i in range(0, len(changed.services), _READ_CHUNK):
            services.update(await self.store.services_by_id(viewer, changed.services[i:i + _READ_CHUNK]))
        links: dict[str, Link] = {}
        for i in range(0, len(changed.link_sources), _READ_CHUNK):
            for link in await self.store.links_from(viewer, changed.link_sources[i:i + _READ_CHUNK]):
                if link.source.startswith(f"{self.origin}:"):
                    links[bodies.link_id(link)] = link
        sources = set(changed.link_sources)
        deleted = {(kind, _tombstoned_link(record) if kind == "link" else record) for kind, record in changed.deleted}
        gone_links = [] if not sources and not any(kind == "link" for kind, _ in deleted) else \
            [k.split("/", 2)[2] for k in await self.store.feeds.live_records(audience, "link")]

        upserts = [_Current("organisation", o.id, o.provenance.revision if o.provenance else None,
                            bodies.organisation_body(o, audience)) for o in orgs.values()]
        upserts += [_Current("service", s.id, s.provenance.revision if s.provenance else None,
                             bodies.service_body(s, audience)) for s in services.values()]
        upserts += [_Current("link", k, None, bodies.link_body(link, audience)) for k, link in links.items()]
        hidden = [_Current("link", k, None, None) for k in gone_links
                  if k not in links and (k.split(" ", 1)[0] in sources or ("link", k) in deleted)]
        hidden += [_Current("service", s, None, None) for s in changed.services if s not in services]
        hidden += [_Current("organisation", o, None, None) for o in changed.organisations if o not in orgs]
        hidden += [_Current(kind, record, None, None) for kind, record in sorted(deleted)
                   if kind in ("organisation", "service") and record not in orgs and record not in services]
        rank = {"link": 0, "service": 1, "organisation": 2}  # dependents go before what they depend on
        return upserts + sorted(_unique(hidden), key=lambda c: rank[c.kind])

    async def resign(self) -> int:
        """Sign every entry again with the current online keys, after a rotation revoked the old ones.

        The tree is over the entries' signed parts, so it and every checkpoint peers kept stay valid."""
        keys, done = self.keys, 0
        for audience in AUDIENCES:
            size, _, _ = await self.store.feeds.head(audience)
            for start in range(0, size, _READ_CHUNK):
                stop = min(start + _READ_CHUNK, size)
                items = await self.store.feeds.entries(audience, start, stop)
                rows = [{"key": f"{audience}/{start + i}",
                         "entry": canonical(seal(parse(e.encode(), "a kept entry")["signed"], keys)).decode()}
                        for i, (e, _) in enumerate(items)]
                await self.store.feeds.replace_entries(rows)
                done += len(rows)
        return done

    async def tree(self, audience: str, size: int) -> merkle.Tree:
        """This process's tree of the log, brought up to `size` from the stored leaves."""
        async with self._lock:
            tree = self.trees[audience]
            if tree.size < size:
                for leaf in await self.store.feeds.leaves(audience, tree.size, size):
                    tree.append(leaf)
            return tree

    async def checkpoint(self, audience: str, now: datetime | None = None) -> str:
        """The log's newest checkpoint as canonical text, re-signed when the log grew or it aged."""
        now = now or datetime.now(UTC)
        size, kept, _ = await self.store.feeds.head(audience)
        keys = self.keys
        if kept is not None:
            envelope = parse(kept.encode(), "the kept checkpoint")
            signed = envelope["signed"]
            issued = parse_time(signed["issued"], "issued")
            signers = {s["keyid"] for s in envelope["signatures"]}
            if signed["size"] == size and now - issued < CHECKPOINT_REFRESH and signers <= {k.id for k in keys}:
                return kept
        tree = await self.tree(audience, size)
        text = canonical(checkpoint(self.origin, audience, size, tree.root(size), format_time(now),
                                    format_time(now + CHECKPOINT_LIFETIME), keys)).decode()
        await self.store.feeds.save_checkpoint(audience, size, text)
        return text

    async def page(self, audience: str, after: int, limit: int = PAGE_LIMIT, now: datetime | None = None) -> bytes:
        """Entries [after, after + limit) with the newest checkpoint and the proof between them, as
        canonical bytes built from the stored canonical parts (keys in order: checkpoint, entries, proof)."""
        text = await self.checkpoint(audience, now)
        size = int(parse(text.encode(), "the checkpoint")["signed"]["size"])
        if not 0 <= after <= size:
            raise ValueError(f"after={after} is outside the log, which holds {size} entries")
        end = min(after + max(1, min(limit, PAGE_LIMIT)), size)
        items = await self.store.feeds.entries(audience, after, end)
        kept, length = 0, 0
        for envelope, body in items:  # at least one entry, then as many as fit: a reader caps a page's bytes
            length += len(envelope.encode()) + len((body or "").encode()) + 20
            if kept and length > PAGE_BYTES:
                break
            kept += 1
        items, end = items[:kept], after + kept
        proof = (await self.tree(audience, size)).consistency(end, size) if 0 < end < size else []
        parts = ",".join('{"body":' + (body or "null") + ',"entry":' + envelope + "}" for envelope, body in items)
        hexes = ",".join(f'"{p.hex()}"' for p in proof)
        return f'{{"checkpoint":{text},"entries":[{parts}],"proof":[{hexes}]}}'.encode()


def salted(body: dict[str, Any]) -> dict[str, Any]:
    """The body with 16 random bytes of its own: its entry signs its hash for ever, and once a newer
    entry purges it (a shelter's earlier place, an alias taken back), trying likely bodies against
    that hash must not find it. Readers ignore the member."""
    return {**body, "salt": secrets.token_urlsafe(16)}


def _tombstoned_link(key: str) -> str:
    """The feed id of a link from the key its tombstone keeps (`link/TYPE/source/target/key`)."""
    _, kind, source, target, *rest = key.split("/", 4)
    return f"{source} {kind} {target} {rest[0] if rest else ''}".rstrip()


def _unique(items: list[_Current]) -> list[_Current]:
    seen: set[tuple[str, str]] = set()
    out = []
    for item in items:
        if (item.kind, item.id) not in seen:
            seen.add((item.kind, item.id))
            out.append(item)
    return out


def _leans_on(c: _Current, reissued: set[str]) -> bool:
    """Whether an unchanged service or link names an organisation given a new entry in this cycle: it
    is given one too, after it. The new entry purges the organisation's earlier bodies, so a reader
    starting from the beginning first meets this record's earlier entry naming an organisation it
    does not hold yet, and drops it; without a later entry of its own it would never come again."""
    if c.body is None or not reissued:
        return False
    if c.kind == "service":
        return c.body["organisation"] in reissued
    return c.kind == "link" and (c.body["source"] in reissued or c.body["target"] in reissued)
