"""Pulling peers' feeds: follow their root, verify each page, merge it with its cursor, back off on failure.

For each peer that is due (not quarantined, past its next attempt), a sync:
1. reads the peer's discovery document only to learn whether a newer root exists, and follows
   rotations one version at a time from the pinned root (`keys.next_root`); never a key the
   document or a feed points to;
2. pulls pages from the verified cursor, each checked whole by `feed.verify_page` and then written
   with its cursor in one transaction (`merge`), until the checkpoint's size is reached; records new
   to us beyond the peer's limit (`Peer.max_records`) are not taken. The next page is fetched and
   verified while one is written, and that verification is taken only if the write left what it
   was checked against (`_verified`).
A failure moves nothing: it is noted on the peer with a next attempt after an exponential
backoff with jitter. An expired checkpoint marks the peer and its records stale; two histories
(equivocation) quarantine the peer with both checkpoints kept as evidence. Peers sync
concurrently, each under its own overall deadline, so one slow or hostile peer stalls no other;
and a failure of any type, a bug a peer found included, is that peer's own: counted, backed off,
logged by its class and message, its lease released.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import secrets
import socket
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from directory.domain.errors import Conflict, DirectoryError
from directory.store import PEER_REMOVING, Peer, PeerRevision, Store, peer_record_key
from federation import fetch, merge
from federation.canonical import NotCanonical, canonical, parse
from federation.feed import (
    KINDS,
    MAX_PAGE_ENTRIES,
    Equivocation,
    PeerState,
    Refused,
    Stale,
    Verified,
    verify_checkpoint,
    verify_page,
)
from federation.keys import (
    Root,
    SigningKey,
    Untrusted,
    check_root_dates,
    format_time,
    next_root,
    parse_time,
    read_root,
)
from federation.merkle import Frontier

log = logging.getLogger("directory.federation")

SYNC_DEADLINE = 600.0  # one peer's whole sync
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=6)
MAX_ROTATIONS = 20  # root versions followed in one sync
# One process syncs a peer at a time: the lease is renewed before every page and outlasts a page's
# fetch (fetch.REQUEST_DEADLINE) and its write; the page's transaction checks it is still held.
LEASE = timedelta(seconds=2 * fetch.REQUEST_DEADLINE + 30)


@dataclass
class Outcome:
    peer: str
    entries: int = 0
    dropped: int = 0
    reasons: list[str] = field(default_factory=list)  # why each dropped entry was not written
    error: str = ""
    stale: bool = False
    quarantined: bool = False
    busy: bool = False  # another process holds the sync; not a failure
    over_records: int = 0  # entries naming records new to us past the peer's record limit, not taken
    over_bytes: int = 0  # and past the bytes of its bodies (`beyond_budget`)


def refused_because(audience: str, status: int, cursor: int) -> str | None:
    """What a peer's refusal of its feed most likely means, and what makes it pass: a publisher
    answers every flaw of a request alike (docs/federation.md), so its reader names the causes."""
    if status == 403 and audience == "network":
        return ("it refuses our signed request: it has not added us as a network peer (`peer add --network`), "
                "or holds an older root of ours than our current online key (after `federation rotate`, it "
                "passes once it has synced from us), or its clock and ours are more than 5 minutes apart")
    if status == 400 and cursor > 0:  # the peer says so, not a proof: what we verified of it stays kept
        return (f"it serves no entries after the {cursor} we read: if its log started again (a directory "
                "restored from a backup or moved to a new data folder starts a new log and root), its stewards "
                "can say so and give its new fingerprint; then `peer remove` and `peer add` it to read it anew")
    return None


def backoff(failures: int, rng: random.Random | None = None) -> timedelta:
    """Exponential in the failures so far, capped, with full jitter in its upper half."""
    ceiling: timedelta = min(BACKOFF_BASE * (2 ** min(failures, 20)), BACKOFF_MAX)
    factor: float = (rng or random).uniform(0.5, 1.0)
    return ceiling * factor


class Syncer:
    def __init__(self, store: Store, keys: list[SigningKey] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.keys = keys or []
        self.clock = clock
        # where it runs, so another process of the same process space can tell the holder died (`_lease`)
        self.holder = f"{_process_space()}/{os.getpid()}/{secrets.token_hex(8)}"

    async def _lease(self, peer_id: str) -> bool:
        """Take or renew the lease; a lease held by a process of our process space that is gone (a
        sync killed) is taken over at once, not after it lapses: the next sync said "another process
        is syncing" for minutes while nobody was."""
        now = self.clock()
        times = format_time(now), format_time(now + LEASE)
        if await self.store.peers.claim(peer_id, self.holder, *times):
            return True
        held = await self.store.peers.holder(peer_id)
        here = self.holder.partition("/")[0]
        return bool(held and _died_in(here, held) and await self.store.peers.claim(peer_id, self.holder, *times,
                                                                                    dead=held))

    async def due(self, only: str | None = None, force: bool = False) -> list[Peer]:
        """The peers to pull now: past their next attempt (or all, with `force`), or the one named."""
        now = format_time(self.clock())
        return [p for p in await self.store.peers.all()
                if (only is None or p.id == only) and (force or not p.next_attempt or p.next_attempt <= now)]

    async def lapse(self) -> list[str]:
        """Mark stale each peer whose latest checkpoint we hold has expired, whether or not it is
        due: one that stopped answering (or whose answers are blocked) must not look current for
        ever, and a failing peer may wait hours for its next attempt. A sync that verifies a newer
        checkpoint clears the mark. It reads and marks under the peer's lease, so a sync committing
        a fresh checkpoint meanwhile is never marked stale after it; a peer being synced now is left
        to its sync. Returns the peers marked."""
        marked = []
        for peer in await self.store.peers.all():
            if peer.stale or peer.quarantined:
                continue
            try:
                if not await self._lease(peer.id):
                    continue
                try:
                    error = await self._expired(peer)
                finally:
                    await self.store.peers.release(peer.id, self.holder)
            except Exception as exc:  # one peer's failure here is its own: the others are still looked at, and pulled
                log.error("checking whether peer %s is stale failed: %s", peer.id, _described(exc))
                continue
            if error:
                log.warning("peer %s is stale: %s", peer.id, error)
                marked.append(peer.id)
        return marked

    async def _expired(self, peer: Peer) -> str:
        """Marks the leased peer stale if the checkpoint we hold from it has expired; says why."""
        kept = await self.store.peers.feed_state(peer.id, peer.audience)
        held = json.loads(kept["checkpoint"])["signed"] if kept and kept.get("checkpoint") else None
        if held is None or parse_time(held["expires"], "expires") > self.clock():
            return ""
        error = f"the latest checkpoint it gave expired at {held['expires']} and no newer one came since"
        await self.store.peers.note(peer.id, stale=True, last_error=error)
        await self.store.peers.mark_stale(peer.id, True)
        return error

    async def sync_all(self, only: str | None = None, force: bool = False) -> list[Outcome]:
        """Every due peer at once (or the one named); a peer's failure is its own outcome."""
        await self.lapse()
        due = await self.due(only, force)
        if only is not None and not due:
            await self.store.peers.one(only)  # NotFound for an unknown peer
        done = await asyncio.gather(*(self.sync(p) for p in due), return_exceptions=True)
        out = []
        for peer, result in zip(due, done, strict=True):
            if isinstance(result, Exception):  # `sync` catches its own; this only if noting it failed too
                log.error("sync of peer %s failed and could not be noted: %s", peer.id, _described(result))
                result = Outcome(peer.id, error=_described(result))
            elif isinstance(result, BaseException):  # cancelled, interrupted: not a peer's failure to hide
                raise result
            out.append(result)
        return out

    async def sync(self, peer: Peer) -> Outcome:
        """One peer's sync under its lease. Whatever goes wrong, of any type, is this peer's failure:
        noted on it with a backoff, logged by type, and its lease released; it never reaches another peer."""
        if peer.quarantined:
            return Outcome(peer.id, error="quarantined: see the evidence with `directory peer show`",
                           quarantined=True)
        outcome = Outcome(peer.id)
        if not await self._lease(peer.id):
            outcome.busy, outcome.error = True, "another process is syncing this peer now"
            if await self.store.peers.holder(peer.id) == PEER_REMOVING:
                outcome.error = (f"{peer.id} is being removed, or a removal of it did not finish: "
                                 f"`directory peer remove {peer.id}` finishes it")
            return outcome
        try:
            return await self._sync_leased(peer, outcome)
        except Exception as exc:  # a bug, or a peer that found one: still only this peer's failure
            log.debug("sync of peer %s crashed", peer.id, exc_info=True)  # a traceback may quote the peer
            return await self._failed(peer, outcome, _described(exc))
        finally:
            try:
                await self.store.peers.release(peer.id, self.holder)
            except Exception as exc:  # the lease lapses by itself after LEASE
                log.error("releasing the lease on peer %s failed: %s", peer.id, _described(exc))

    async def _failed(self, peer: Peer, outcome: Outcome, error: str) -> Outcome:
        """A failure counted and backed off: the next attempt waits longer with each failure in a row."""
        outcome.error = error
        failures = peer.failures + 1
        log.warning("sync of peer %s failed: %s", peer.id, error)
        try:
            await self.store.peers.note(peer.id, failures=failures, last_error=error,
                                        next_attempt=format_time(self.clock() + backoff(failures)))
        except Exception as exc:  # the store gone too: the outcome keeps what was merged before it went
            log.error("sync of peer %s failed and could not be noted: %s", peer.id, _described(exc))
            outcome.error = f"{error}; it could not be noted: {_described(exc)}"
        return outcome

    async def _sync_leased(self, peer: Peer, outcome: Outcome) -> Outcome:
        try:
            async with asyncio.timeout(SYNC_DEADLINE), fetch.client() as http:
                root = await self._follow_root(http, peer)
                await self._pull(http, peer, root, outcome)
        except Stale as exc:
            outcome.stale, outcome.error = True, str(exc)
            await self.store.peers.note(peer.id, stale=True, last_error=str(exc))
            await self.store.peers.mark_stale(peer.id, True)
            log.warning("peer %s is stale: %s", peer.id, exc)
            return outcome
        except Equivocation as exc:  # its records stay, marked stale: what it signed can no longer be trusted current
            outcome.quarantined, outcome.error = True, str(exc)
            await self.store.peers.note(peer.id, quarantined=True, last_error=str(exc), stale=True,
                             evidence=json.dumps(exc.evidence, sort_keys=True))
            await self.store.peers.mark_stale(peer.id, True)
            log.warning("peer %s quarantined: %s", peer.id, exc)
            return outcome
        except Conflict as exc:  # another process applied this page first, or the peer went: nothing written
            outcome.busy, outcome.error = True, str(exc)
            return outcome
        except (TimeoutError, DirectoryError) as exc:
            return await self._failed(peer, outcome,
                                      _capped(str(exc)) or f"no complete sync within {SYNC_DEADLINE:g} s")
        await self.store.peers.note(peer.id, failures=0, next_attempt="", last_error="",
                         last_success=format_time(self.clock()), stale=False)
        if peer.stale:
            await self.store.peers.mark_stale(peer.id, False)
        return outcome

    async def _follow_root(self, http: httpx.AsyncClient, peer: Peer) -> Root:
        pinned = read_root(parse(peer.root.encode(), "the pinned root"))
        raw = await fetch.get(http, f"{peer.url}/.well-known/protection-directory.json", fetch.DOCUMENT_CAP)
        announced = announced_version(raw, peer.url)
        if announced > pinned.version + MAX_ROTATIONS:
            raise Refused(f"{peer.url}: the discovery document's root version {announced} is not believable")
        # The discovery document is not signed: its version is a hint. A root newer than it says is
        # asked for all the same, so that a stale or altered copy of that document (a cache, a mirror)
        # cannot keep us on a root whose online key was rotated out. Whoever answers for the peer's
        # whole address can still hide a newer root, until the pinned one expires (R18). Past the
        # announced version, no answer is no newer root: the sync goes on.
        first = pinned.version
        while pinned.version < first + MAX_ROTATIONS:
            number = pinned.version + 1
            try:
                text = await fetch.get(http, f"{peer.url}/federation/roots/{number}.json", fetch.DOCUMENT_CAP)
            except fetch.Unreachable:
                if number <= announced:
                    raise
                break
            try:
                new = next_root(pinned, parse(text, f"root version {number}"))
            except (Untrusted, NotCanonical) as exc:
                raise Refused(f"{peer.id}: root version {number} refused: {exc}") from None
            await self.store.peers.set_root(peer.id, pinned.version, new.version, text.decode())
            pinned = new
        try:
            check_root_dates(pinned, self.clock())
        except Untrusted as exc:
            raise Refused(f"{peer.id}: {exc}") from None
        return pinned

    async def _pull(self, http: httpx.AsyncClient, peer: Peer, root: Root, outcome: Outcome) -> None:
        limit: int | None = None  # the publisher's page, until one reaches too far to write at once
        ahead: asyncio.Task[_Ahead | None] | None = None  # the next page, read while this one is written
        try:
            while True:
                if not await self._lease(peer.id):
                    raise Conflict("the lease on this peer passed to another process")
                kept = await self.store.peers.feed_state(peer.id, peer.audience)
                state = _state(kept)
                early = await ahead if ahead is not None else None
                ahead = None
                while early is None or early.state.cursor != state.cursor:
                    try:
                        early = _Ahead(state, await self._fetch(http, peer, state.cursor, limit))
                    except fetch.TooLarge:  # large honest bodies: asked again for fewer a page, down to one
                        if limit == 1:
                            raise
                        limit = max(1, (limit or MAX_PAGE_ENTRIES) // 32)
                        log.info("peer %s: a page was over the cap; asking for %d entries a page", peer.id, limit)
                verified, known = await self._verified(root, peer, early, state, kept)
                if limit is not None and len(verified.entries) > limit:
                    raise Refused(f"{peer.id} sent {len(verified.entries)} entries when asked for {limit}")
                held, weight = await self.store.peers.records_held(peer.id, peer.audience, kept)
                beyond, taken = beyond_limit(peer, verified, known, held)
                new_over, over = beyond_budget(peer, verified, known, weight, beyond)
                beyond, taken = beyond | new_over, taken - len(new_over)
                changes = await asyncio.to_thread(merge.batch, peer.id, peer.audience, verified,
                                                  await self.store.vocabulary(), beyond, over)
                # what the page overwrites or purges is taken out in its transaction too (`received`):
                # read for the records we keep (none on a first sync)
                taken_out = await self.store.peers.held_weight(peer.id, kept_named(changes, known, "organisation"),
                                                               kept_named(changes, known, "service"))
                if (reach := changes.reach + taken_out.reach) > merge.PAGE_REACH and len(verified.entries) > 1:
                    # asked again in fewer entries: one transaction must not hold them all (nothing written yet)
                    limit = max(1, len(verified.entries) * merge.PAGE_REACH // (2 * reach))
                    log.info("peer %s: a page reaches, or takes out, %d places and types; asking for %d entries "
                             "a page", peer.id, reach, limit)
                    continue
                await merge.resolve(self.store, changes)
                written = await asyncio.to_thread(merge.page, peer.id, changes)
                if (terms := merge.terms(written) + taken_out.terms) > merge.PAGE_TERMS and len(verified.entries) > 1:
                    # ideographs are a term each: asked again in fewer entries, as for reach (nothing written yet)
                    limit = max(1, len(verified.entries) * merge.PAGE_TERMS // (2 * terms))
                    log.info("peer %s: a page gives, or takes out of, the search indexes %d terms; asking for %d "
                             "entries a page", peer.id, terms, limit)
                    continue
                cursor_state = self._cursor_state(verified, kept, changes, held + taken,
                                                  weight + changes.bytes_moved(known))
                done = verified.state.cursor >= int(verified.checkpoint["signed"]["size"])
                if not done:  # two cores: the next page's fetch and checks overlap this page's write
                    ahead = asyncio.create_task(self._ahead(http, peer, root, _state({**(kept or {}), **cursor_state}),
                                                            limit))
                not_kept = await self.store.peers.write_page(peer.id, peer.audience, written,
                                                             state.cursor, cursor_state, self.holder,
                                                             kept_named(changes, known, "organisation"))
                self._count(peer, outcome, verified, changes, not_kept)
                by_bytes = sum(1 for e in verified.entries if not e.superseded and (e.kind, e.id) in new_over)
                outcome.over_bytes += by_bytes
                outcome.over_records += changes.not_taken - by_bytes
                if done:
                    return
        finally:
            self._say_not_taken(peer, outcome)
            if ahead is not None:  # a failed write or a lost lease: the page read ahead is not used
                ahead.cancel()
                await asyncio.gather(ahead, return_exceptions=True)

    async def _fetch(self, http: httpx.AsyncClient, peer: Peer, cursor: int, limit: int | None) -> bytes:
        path = f"/federation/feeds/{peer.audience}?after={cursor}" + (f"&limit={limit}" if limit else "")
        headers = (fetch.signed_request(self.store.directory_id, peer.id, path, self.keys, self.clock())
                   if peer.audience == "network" and self.keys else None)
        try:
            return await fetch.get(http, peer.url + path, fetch.PAGE_CAP, headers=headers)
        except fetch.Answered as exc:
            why = refused_because(peer.audience, exc.status, cursor)
            if why is None:
                raise
            raise fetch.Answered(f"{exc}: {why}", exc.status) from None

    async def _ahead(self, http: httpx.AsyncClient, peer: Peer, root: Root, state: PeerState,
                     limit: int | None) -> _Ahead | None:
        """The page after `state`, fetched, and verified against the revisions kept before the page
        being written commits: a guess `_verified` uses only if it holds once that page is written.
        Whatever fails here is done again in turn (the fetch too, from the cursor the write left),
        and fails there if it is so."""
        try:
            early = _Ahead(state, await self._fetch(http, peer, state.cursor, limit))
        except Exception:
            return None
        try:
            early.page = await asyncio.to_thread(parse, early.raw, f"{peer.id}'s page after {state.cursor}")
            early.revisions = await self._revisions(peer, early.page)
            early.verified = await asyncio.to_thread(_verify, root, peer.audience, early.page, state,
                                                     early.revisions, peer.id, self.clock())
        except Exception:
            early.verified = None
        return early

    async def _verified(self, root: Root, peer: Peer, early: _Ahead, state: PeerState,
                        kept: dict[str, Any] | None) -> tuple[Verified, dict[tuple[str, str], int]]:
        """`verify_page` of a fetched page, against the state and revisions kept now; and the records it
        names that we keep a revision of, as (kind, id), with the bytes of the body we keep. A page
        verified ahead is taken as it was only if what it was verified against is what is kept now
        (the same state, the same revisions): the same inputs give the same answer; its
        checkpoint's dates are checked again at this time."""
        try:
            page = early.page if early.page is not None else await asyncio.to_thread(
                parse, early.raw, f"{peer.id}'s page after {state.cursor}")
            revisions = await self._revisions(peer, page)
            if early.verified is not None and early.state == state and early.revisions == revisions:
                verify_checkpoint(root, peer.audience, page["checkpoint"], state, self.clock())
                verified = early.verified
            else:
                # seconds of CPU for a large page: in a worker thread, so the service keeps answering
                verified = await asyncio.to_thread(_verify, root, peer.audience, page, state, revisions, peer.id,
                                                   self.clock())
        except NotCanonical as exc:
            raise Refused(str(exc)) from None
        except Equivocation as exc:
            exc.evidence = {"kept": kept.get("checkpoint") if kept else None,
                            "offered": canonical(page["checkpoint"]).decode()}
            raise
        return verified, {record: revisions[key][2] for record, key in _keys(peer, page) if key in revisions}

    async def _revisions(self, peer: Peer, page: Any) -> dict[str, PeerRevision]:
        """The revision and leaf we keep of each record a page names (one query)."""
        return await self.store.peers.record_revisions([key for _, key in _keys(peer, page)])

    def _cursor_state(self, verified: Verified, kept: dict[str, Any] | None, changes: merge.Batch,
                      records: int, weight: int) -> dict[str, Any]:
        """What the page's transaction writes to the peer's feed state beside its records."""
        new = verified.state
        return {"cursor": new.cursor, "frontier": json.dumps(new.frontier.to_json()),
                "checkpoint_size": new.checkpoint_size, "checkpoint_root": new.checkpoint_root,
                "checkpoint_issued": new.checkpoint_issued,
                # the checkpoint the state holds (the evidence if the peer forks later):
                # the page's own only once the entries reached the one kept before
                "checkpoint": canonical(verified.checkpoint).decode()
                if kept is None or new.checkpoint_root == verified.checkpoint["signed"]["root"]
                else kept.get("checkpoint"),
                "fetched_at": format_time(self.clock()), "records": records, "bytes": weight,
                "not_taken": int((kept or {}).get("not_taken") or 0) + changes.not_taken,
                # kept until the peer is forgotten: past it, a log read again holds records
                # we read but did not remember (`feed._superseded`)
                "skipped_from": new.skipped_from if new.skipped_from is not None
                else changes.first_not_taken}

    @staticmethod
    def _count(peer: Peer, outcome: Outcome, verified: Verified, changes: merge.Batch,
               not_kept: dict[str, str]) -> None:
        """A written page's entries in the outcome: taken, dropped (with why, logged) and not taken."""
        # a shelter's services recording places finer than it publishes (`received._hold_shelters`)
        dropped = len(changes.dropped) + sum(("service", i) in changes.provenance for i in not_kept)
        changes.dropped += [f"service {i[:merge.MAX_SHOWN]!r}: {why}" for i, why in not_kept.items()]
        passed_over = sum(e.superseded for e in verified.entries)  # an older revision read again
        outcome.entries += len(verified.entries) - dropped - changes.not_taken - passed_over
        outcome.dropped += dropped + changes.not_taken
        outcome.reasons += changes.dropped
        for reason in changes.dropped:
            log.warning("peer %s: %s", peer.id, reason)


    @staticmethod
    def _say_not_taken(peer: Peer, outcome: Outcome) -> None:
        """Once a sync, not once a page: how many entries were over which of the peer's limits."""
        said = [f"{n:,} over the limit of {most}" for n, most in (
            (outcome.over_records, f"{peer.max_records:,} records"),
            (outcome.over_bytes, f"{amount(peer.max_bytes)} of bodies")) if n]
        if not said:
            return
        reason = (f"entries naming records new to us not taken from {peer.id}: {' and '.join(said)} "
                  f"(`directory peer limit {peer.id} N --max-bytes SIZE` raises them, then "
                  f"`directory peer resync {peer.id}` takes them)")
        outcome.reasons.append(reason)
        log.warning("peer %s: %s", peer.id, reason)


@dataclass
class _Ahead:
    """A page fetched while the one before it was written, and what it was verified against then."""

    state: PeerState
    raw: bytes
    page: Any = None
    revisions: dict[str, PeerRevision] | None = None
    verified: Verified | None = None


def _verify(root: Root, audience: str, page: Any, state: PeerState,
            revisions: dict[str, PeerRevision], origin: str, now: datetime) -> Verified:
    def kept(kind: str, rid: str) -> PeerRevision | tuple[None, None, int]:
        return revisions.get(peer_record_key(origin, audience, kind, rid)) or (None, None, 0)

    return verify_page(root, audience, page, state, now, lambda kind, rid: kept(kind, rid)[0],
                       lambda kind, rid: kept(kind, rid)[1])


def _keys(peer: Peer, page: Any) -> list[tuple[tuple[str, str], str]]:
    return [(record, peer_record_key(peer.id, peer.audience, *record)) for record in named_records(page)]


def kept_named(changes: merge.Batch, known: Collection[tuple[str, str]], kind: str) -> list[str]:
    """The records of a kind (organisation or service) that a batch writes or purges and we keep."""
    written = changes.organisations if kind == "organisation" else changes.services
    return [i for i in [r.id for r in written] + changes.purged[kind] if (kind, i) in known]


def beyond_limit(peer: Peer, verified: Verified, known: Collection[tuple[str, str]],
                 held: int) -> tuple[set[tuple[str, str]], int]:
    """The records a page names, new to us, that would take what we keep of the peer past its
    limit (`Peer.max_records`): those the page names first are taken, these are not, nor
    remembered, so a log without end fills nothing, and entries about records we hold (a
    withdrawal above all) still come through. Also how many new records are taken."""
    room = max(0, peer.max_records - held)
    taken: set[tuple[str, str]] = set()
    beyond: set[tuple[str, str]] = set()
    for e in verified.entries:
        record = (e.kind, e.id)
        if record in known or record in taken or record in beyond:
            continue
        (taken if len(taken) < room else beyond).add(record)
    return beyond, len(taken)


def beyond_budget(peer: Peer, verified: Verified, known: Mapping[tuple[str, str], int], weight: int,
                  beyond: Collection[tuple[str, str]]) -> tuple[set[tuple[str, str]], dict[tuple[str, str], str]]:
    """The records whose body, as the page leaves them, would take the bytes we keep of the peer
    past its budget (`Peer.max_bytes`), given the bytes of each record we keep (`known`) and their
    sum (`weight`): those new to us are not taken (as `beyond_limit`), those we hold are dropped
    with the reason (their earlier body withdrawn, as a body over its own cap is). Records are
    weighed in the order of their last entry; a body that shrinks or goes always comes through."""
    last: dict[tuple[str, str], Any] = {}
    for e in verified.entries:
        if not e.superseded and (e.kind, e.id) not in beyond and len(e.id) <= merge.MAX_ENTRY_ID:
            last[(e.kind, e.id)] = e
    new_over: set[tuple[str, str]] = set()
    over: dict[tuple[str, str], str] = {}
    for record, e in sorted(last.items(), key=lambda item: item[1].seq):
        before = known.get(record, 0)
        after = before if e.as_it_was else e.size
        if after > before and weight - before + after > peer.max_bytes:
            if record in known:
                over[record] = (f"a body of {amount(after)} would take what we keep of {peer.id} past its "
                                f"{amount(peer.max_bytes)}")
                weight -= before
            else:
                new_over.add(record)
        else:
            weight += after - before
    return new_over, over


def amount(n: int) -> str:
    """Bytes as a steward reads them."""
    return f"{n:,} bytes" if n < 1024 * 1024 else f"{n / (1024 * 1024):,.1f} MiB"


def named_records(page: Any) -> list[tuple[str, str]]:
    """The (kind, id) each entry of a page names, to look their revisions up before `verify_page` checks
    every member; so it reads a page of any shape without failing, and refuses one that is too long."""
    items = page.get("entries") if isinstance(page, dict) else None
    if not isinstance(items, list) or len(items) > MAX_PAGE_ENTRIES:
        raise Refused(f"a page is an object whose entries are a list of at most {MAX_PAGE_ENTRIES}")
    named = []
    for item in items:
        envelope = item.get("entry") if isinstance(item, dict) else None
        signed = envelope.get("signed") if isinstance(envelope, dict) else None
        if isinstance(signed, dict) and signed.get("kind") in KINDS and isinstance(signed.get("id"), str):
            named.append((signed["kind"], signed["id"]))
    return named


def announced_version(raw: bytes, url: str) -> int:
    """The root version a discovery document announces (a hint: only the pinned root is trusted).

    The document is plain JSON, not canonical, so it is read here with its own guard: anything but
    an object with `root.version` a whole number from 1 is Refused, whatever the bytes are."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; deep nesting a RecursionError
        document = None
    root = document.get("root") if isinstance(document, dict) else None
    version = root.get("version") if isinstance(root, dict) else None
    if type(version) is not int or version < 1:
        raise Refused(f"{url}: the discovery document does not say its root's version")
    return version


def _capped(text: str, limit: int = 1000) -> str:
    """A message kept to a length a log line and a peer's last error can hold (peers choose its text)."""
    return text if len(text) <= limit else text[:limit] + "..."


def _described(exc: BaseException) -> str:
    """An unexpected exception as its class name and message, never its traceback."""
    return _capped(f"{type(exc).__name__}: {exc}")


def _state(kept: dict[str, Any] | None) -> PeerState:
    if not kept:
        return PeerState()
    # `peer resync` empties the frontier and keeps the checkpoint: the log is read again from the
    # start and must give the checkpoint's root at its size, or it was rewritten
    frontier = Frontier.from_json(json.loads(kept["frontier"])) if kept.get("frontier") else Frontier()
    skipped = kept.get("skipped_from")
    return PeerState(frontier, int(kept["checkpoint_size"]), str(kept["checkpoint_root"]),
                     str(kept["checkpoint_issued"]), int(kept.get("reread_below") or 0),
                     None if skipped is None else int(skipped))


def _process_space() -> str:
    """Where a process id means one process: this boot of this machine, in this pid namespace. A
    host name alone does not say it (containers share one, each with its own pids), and a live
    holder's lease taken as dead would pass back and forth. Empty where the system does not say,
    and then no lease is ever taken over."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        space = os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
    return f"{socket.gethostname()}:{boot}:{space}".replace("/", "-")


def _died_in(here: str, holder: str) -> bool:
    """Whether a lease holder ran in the process space `here` (`_process_space`) and is gone."""
    space, _, rest = holder.partition("/")
    pid = rest.partition("/")[0]
    if not space or space != here or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False
