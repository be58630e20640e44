"""`directory peer add | list | show | sync | resync | limit | proposals | same-as | not-same-as | remove` and
`directory federation publish`.

A steward adds a peer with the fingerprint its stewards gave out of band: `add` fetches the
peer's current root, refuses it unless its fingerprint matches and its own root keys sign it,
and unless its directory id is one we may hold beside ours and our other peers' (`directory.domain.ids`),
and pins it. Nothing is trusted on first use. Records sharing an identifier are only proposed as
one organisation: `proposals` lists them, `same-as` confirms one, `not-same-as` rejects it. `remove`
deletes every record the peer published: removing a hostile peer is the steward's remedy.
Everything printed goes through `terminal.out`: peer ids, record ids and peers' errors are theirs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from directory.base.clock import now
from directory.base.config import Settings
from directory.base.terminal import out, safe
from directory.cli.runner import run_with_store, verb
from directory.domain.errors import BadArgument, NotFound
from directory.domain.viewer import STEWARD
from directory.jobs.tables import Column, Table
from directory.store import MOST_PROPOSALS, PEER_MAX_BYTES, PEER_MAX_RECORDS, PEER_REMOVING, Peer, Proposals, Store
from federation import peering
from federation.service import online_keys, publisher_for
from federation.sync import Syncer, amount


def _record_limit(n: int, argument: str) -> int:
    if n < 1:
        raise BadArgument(argument, "the records we take from a peer must be at least 1")
    return n


UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


def _byte_limit(text: str, argument: str) -> int:
    """A size as a steward types it: bytes, or a whole number of KiB, MiB or GiB (`64m`, `1g`)."""
    number, unit = text.strip().lower().rstrip("ib"), ""
    if number[-1:] in UNITS:
        number, unit = number[:-1], number[-1]
    if not number.isdecimal() or int(number) < 1:
        raise BadArgument(argument, f"{text!r} is not a size such as 64m, 1g or 500000 (bytes), at least 1")
    return int(number) * UNITS[unit]


def cmd_add(args: argparse.Namespace, settings: Settings) -> None:
    most = _record_limit(args.max_records, "--max-records")
    weight = _byte_limit(args.max_bytes, "--max-bytes")
    pinned = asyncio.run(peering.pin(args.url, args.fingerprint))
    run_with_store(settings, lambda store: peering.add(store, pinned, args.network, args.precedence, most, weight))
    out(f"peer {pinned.directory} added at root version {pinned.version}; pulling its "
        f"{'network' if args.network else 'public'} feed (`directory peer sync {pinned.directory}`)")


# `peer list` prints tab-separated fields, labelled for a person (`root v2`), under this header; `peer show` one row
HEADER = "\t".join(("peer", "url", "audience", "precedence", "root", "last success", "state", "last error"))


def _row(p: Peer, state: dict[str, Any] | None, holder: str | None) -> str:
    over = bool(state and state.get("not_taken"))
    flags = [f for f, on in (("quarantined", p.quarantined), ("stale", p.stale), ("over-its-limits", over),
                             (f"failing-{p.failures}-times", p.failures > 0),
                             ("being-removed", holder == PEER_REMOVING)) if on]
    return (f"{safe(p.id)}\t{safe(p.url)}\t{p.audience}\tprecedence {p.precedence}\troot v{p.root_version}\t"
            f"last success {p.last_success or '-'}\t{' '.join(flags) or 'ok'}"
            + (f"\tlast error: {safe(p.last_error)}" if p.last_error else ""))


def cmd_list(args: argparse.Namespace, settings: Settings) -> None:
    async def work(store: Store) -> list[tuple[Peer, dict[str, Any] | None, str | None]]:
        return [(p, await store.peers.feed_state(p.id, p.audience), await store.peers.holder(p.id))
                for p in await store.peers.all()]

    found = run_with_store(settings, work)
    if not found:
        out("no peers: `directory peer add URL --fingerprint sha256:...`")
        return
    out(HEADER)
    for p, state, holder in found:
        out(_row(p, state, holder))
    for p, _, holder in found:
        if holder == PEER_REMOVING:
            out(f"{safe(p.id)} is being removed, or a removal did not finish: `directory peer remove {safe(p.id)}` "
                "finishes it")


def cmd_show(args: argparse.Namespace, settings: Settings) -> None:
    async def work(store: Store) -> tuple[Peer, dict[str, Any] | None, tuple[int, int], str | None]:
        peer = await store.peers.one(args.peer)
        state = await store.peers.feed_state(peer.id, peer.audience)
        return peer, state, await store.peers.records_held(peer.id, peer.audience, state), \
            await store.peers.holder(peer.id)

    peer, state, (held, weight), holder = run_with_store(settings, work)
    out(_row(peer, state, holder))
    if holder == PEER_REMOVING:
        out(f"being removed, or a removal did not finish: `directory peer remove {safe(peer.id)}` finishes it")
    out(f"fingerprint {safe(peer.fingerprint)}; added {peer.added_at}; failures {peer.failures}; "
        f"next attempt {peer.next_attempt or 'now'}")
    if state:
        out(f"cursor {state['cursor']} of checkpoint size {state['checkpoint_size']} "
            f"(root {safe(state['checkpoint_root'][:16])}..., issued {safe(state['checkpoint_issued'])})")
    out(f"records held {held:,} of at most {peer.max_records:,} (`directory peer limit {safe(peer.id)} N`)")
    out(f"their bodies {amount(weight)} of at most {amount(peer.max_bytes)} "
        f"(`directory peer limit {safe(peer.id)} --max-bytes SIZE`)")
    if state and state.get("not_taken"):
        out(f"{int(state['not_taken']):,} entries naming records new to us were over a limit and not taken: "
            f"raise it, then `directory peer resync {safe(peer.id)}` takes them")
    if peer.evidence:
        out(f"evidence of equivocation: {safe(peer.evidence)}")


def cmd_sync(args: argparse.Namespace, settings: Settings) -> None:
    async def work(store: Store) -> list[Any]:
        return await Syncer(store, online_keys(settings)).sync_all(only=args.peer, force=True)

    failed = False
    for outcome in run_with_store(settings, work):
        status = "ok" if not outcome.error else outcome.error
        out(f"{safe(outcome.peer)}: {outcome.entries} entries merged, {outcome.dropped} dropped; {safe(status)}")
        for reason in outcome.reasons:
            out(f"  dropped: {safe(reason)}")
        failed = failed or (bool(outcome.error) and not outcome.busy)
    if failed:
        raise SystemExit(1)


def cmd_resync(args: argparse.Namespace, settings: Settings) -> None:
    async def work(store: Store) -> None:
        await store.peers.one(args.peer)  # NotFound for an unknown peer
        await store.peers.read_again(args.peer)

    run_with_store(settings, work)
    out(f"reading {safe(args.peer)}'s logs again from the start")
    cmd_sync(args, settings)


def cmd_limit(args: argparse.Namespace, settings: Settings) -> None:
    if args.records is None and args.max_bytes is None:
        raise BadArgument("records", "give the most records, --max-bytes SIZE, or both")
    most = None if args.records is None else _record_limit(args.records, "records")
    weight = None if args.max_bytes is None else _byte_limit(args.max_bytes, "--max-bytes")

    async def work(store: Store) -> tuple[Peer, tuple[int, int], bool]:
        await store.peers.one(args.peer)  # NotFound for an unknown peer, before anything is changed
        if most is not None:
            await store.peers.set_max_records(args.peer, most)
        if weight is not None:
            await store.peers.set_max_bytes(args.peer, weight)
        peer = await store.peers.one(args.peer)
        state = await store.peers.feed_state(peer.id, peer.audience)
        held = await store.peers.records_held(peer.id, peer.audience, state)
        return peer, held, bool(state and state.get("not_taken"))

    peer, (held, bodies), left_out = run_with_store(settings, work)
    out(f"peer {safe(args.peer)}: at most {peer.max_records:,} records are taken from it; it has {held:,} now")
    out(f"and at most {amount(peer.max_bytes)} of their bodies; it has {amount(bodies)} now")
    if held > peer.max_records or bodies > peer.max_bytes:
        out("nothing is deleted: what it sent stays until the peer tombstones it or is removed; "
            "no record new to us is taken from it meanwhile, nor a body that would add to it")
    elif left_out:
        out(f"records it sent over the old limit are taken again by `directory peer resync {safe(args.peer)}`")


def cmd_remove(args: argparse.Namespace, settings: Settings) -> None:
    async def work(store: Store) -> None:
        await store.peers.remove(args.peer)

    run_with_store(settings, work)
    out(f"peer {safe(args.peer)} removed: its records are deleted (organisations, services, links) with what we "
        "read of its logs; steward decisions about its records are kept. Added again, its logs are read from the "
        "start")


def _two_records(args: argparse.Namespace) -> None:
    if args.first == args.second:
        raise BadArgument("second", "name two different records")


def _decide(args: argparse.Namespace, settings: Settings, same: bool, said: str) -> None:
    """A steward's word on two records (the same organisation, or not); NotFound if one is missing."""
    _two_records(args)

    async def work(store: Store) -> list[str]:
        """The records missing of the two: none when the word was recorded."""
        decide = store.peers.same_as if same else store.peers.not_same_as
        if await decide(args.first, args.second, "cli", now()):
            return []
        found = await store.organisations_by_id(STEWARD, [args.first, args.second])
        return [r for r in (args.first, args.second) if r not in found] or [f"{args.first} or {args.second}"]

    missing = run_with_store(settings, work)
    if missing:  # which of the two to look at again (the first, when both are missing)
        raise NotFound("organisation", missing[0])
    out(f"{safe(args.first)} and {safe(args.second)} {said}")


def cmd_same_as(args: argparse.Namespace, settings: Settings) -> None:
    _decide(args, settings, True, "are recorded as the same organisation; both records are kept, "
                                            "and the merged view now takes fields from both")


def cmd_not_same_as(args: argparse.Namespace, settings: Settings) -> None:
    _decide(args, settings, False, "are recorded as different organisations; they are no longer "
                                           "proposed or merged as one")


def cmd_proposals(args: argparse.Namespace, settings: Settings) -> None:
    if args.first < 1 or args.skip < 0:
        raise BadArgument("--first", "--first must be at least 1 and --skip at least 0")

    async def work(store: Store) -> Proposals:
        return await store.peers.proposals(STEWARD, store.directory_id, args.first, args.skip)

    found = run_with_store(settings, work)
    if not found.total:
        out("no open proposals: no record of ours shares an identifier with a peer's without a steward's decision")
    if found.proposals:  # the names are shortened first when the terminal is narrow, never the ids
        table = Table([Column("Ours", "", keep=True), Column("Our name", ""), Column("Theirs", "", keep=True),
                       Column("Their name", ""), Column("Shared identifier", "", keep=True)])
        for p in found.proposals:
            table.add(p.first, p.first_name, p.second, p.second_name, ", ".join(p.codes))
        out(table.render(), end="")
    more = found.total - args.skip - len(found.proposals)
    if more > 0:
        out(f"and {more} more: `directory peer proposals --skip {args.skip + len(found.proposals)}`")
    if found.total:
        out("confirm with `directory peer same-as A B`, reject with `directory peer not-same-as A B`")


def cmd_publish(args: argparse.Namespace, settings: Settings) -> None:
    async def work(store: Store) -> dict[str, int]:
        publisher = publisher_for(settings, store)
        if publisher is None:
            raise BadArgument("federation", "this directory has no online keys: run `directory federation init` first")
        return await publisher.publish(waiting=lambda: out("an import is writing to this data folder: "
                                                           "publishing once it ends", file=sys.stderr))

    added = run_with_store(settings, work)
    out(", ".join(f"{n} entries appended to the {a} log" for a, n in added.items()))


def add_verbs(sub: Any, federation_verbs: Any) -> None:
    v = verb(federation_verbs, "publish", "append what changed to the public and network logs now",
             "directory federation publish")
    v.set_defaults(func=cmd_publish)
    s = verb(sub, "peer", "peer directories we pull from: add, list, show, sync, resync, limit, remove; "
                          "the same organisation in several directories: proposals, same-as, not-same-as",
             "directory peer add https://directory.example.org --fingerprint sha256:... --network",
             "directory peer list")
    verbs = s.add_subparsers(dest="peer_verb", required=True, metavar="ACTION")
    v = verb(verbs, "add", "pin a peer's root by the fingerprint its stewards gave you",
             "directory peer add https://directory.example.org --fingerprint sha256:...",
             "directory peer add http://127.0.0.1:8001 --fingerprint sha256:... --network --precedence 10")
    v.add_argument("url", help="the peer's base URL, such as https://directory.example.org")
    v.add_argument("--fingerprint", required=True, help="sha256:... given by the peer's stewards out of band")
    v.add_argument("--network", action="store_true",
                   help="a network partner: we pull its network feed and serve it ours (it must add us too)")
    v.add_argument("--precedence", type=int, default=100,
                   help="lower wins when several directories describe one organisation (default 100)")
    v.add_argument("--max-records", type=int, default=PEER_MAX_RECORDS,
                   help="the most organisations, services and links (deleted ones too) we take from it "
                        f"(default {PEER_MAX_RECORDS:,}); records new to us beyond it are not taken")
    v.add_argument("--max-bytes", default=f"{PEER_MAX_BYTES // 1024 ** 2}m", metavar="SIZE",
                   help="the most bytes of their bodies, as published, we keep from it, such as 64m or 1g "
                        f"(default {amount(PEER_MAX_BYTES)}); a body that would take it past them is not taken")
    v.set_defaults(func=cmd_add)
    v = verb(verbs, "list", "every peer with its sync state", "directory peer list")
    v.set_defaults(func=cmd_list)
    v = verb(verbs, "show", "one peer: cursor, checkpoint, failures, evidence", "directory peer show alpha")
    v.add_argument("peer", help="the peer's directory id")
    v.set_defaults(func=cmd_show)
    v = verb(verbs, "sync", "pull now (every peer, or the one named), whatever its backoff",
             "directory peer sync", "directory peer sync alpha")
    v.add_argument("peer", nargs="?", help="the peer's directory id")
    v.set_defaults(func=cmd_sync)
    v = verb(verbs, "proposals", "our records sharing an identifier with a peer's, that no steward confirmed or "
                                 "rejected",
             "directory peer proposals", "directory peer proposals --first 50 --skip 50")
    v.add_argument("--first", type=int, default=MOST_PROPOSALS,
                   help=f"list at most this many (default {MOST_PROPOSALS}); the rest are counted")
    v.add_argument("--skip", type=int, default=0, help="leave out this many first (the next page)")
    v.set_defaults(func=cmd_proposals)
    v = verb(verbs, "same-as", "confirm that two records are the same organisation (their fields merge)",
             "directory peer same-as local:casa-luz alpha:casa-luz")
    v.add_argument("first", help="a record id, such as alpha:casa-luz")
    v.add_argument("second", help="another record id of the same organisation")
    v.set_defaults(func=cmd_same_as)
    v = verb(verbs, "not-same-as", "reject a proposal: two records are different organisations",
             "directory peer not-same-as local:casa-luz alpha:casa-luz")
    v.add_argument("first", help="a record id, such as alpha:casa-luz")
    v.add_argument("second", help="the other record id")
    v.set_defaults(func=cmd_not_same_as)
    v = verb(verbs, "resync", "read a peer's logs again from the start, through today's checks",
             "directory peer resync alpha")
    v.add_argument("peer", help="the peer's directory id")
    v.set_defaults(func=cmd_resync)
    v = verb(verbs, "limit", "change the most records, and bytes of their bodies, we take from a peer "
                             "(what would go beyond them is not taken)",
             "directory peer limit alpha 500000", "directory peer limit alpha --max-bytes 256m")
    v.add_argument("peer", help="the peer's directory id")
    v.add_argument("records", type=int, nargs="?", help="organisations, services and links (deleted ones too)")
    v.add_argument("--max-bytes", metavar="SIZE", help="the bytes of their bodies as published, such as 64m or 1g")
    v.set_defaults(func=cmd_limit)
    v = verb(verbs, "remove", "stop pulling a peer, forget its pinned root and delete every record it published",
             "directory peer remove alpha")
    v.add_argument("peer", help="the peer's directory id")
    v.set_defaults(func=cmd_remove)
