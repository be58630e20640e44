"""Feed entries and checkpoints: how a publisher signs them, and how a reader verifies a page.

A feed is one append-only log per audience (`public`, `network`). Entry n (from 0) is an
envelope signed by the publisher's online keys:

    {"type": "pd-entry", "origin": DIRECTORY, "audience": A, "seq": n, "kind": K, "id": RECORD_ID,
     "revision": R, "op": "upsert" | "tombstone", "body": "sha256:HEX" | null, "redistribute": bool}

and the log's Merkle leaf n is `merkle.leaf_hash(canonical(envelope["signed"]))`: the entry without
its signatures, so a key rotation can re-sign every entry with the new online key and the tree
(and every checkpoint a reader kept) stays the same. The record's body travels
beside the entry, outside the signature but bound by its hash, so a tombstone can purge the body
while the log stays verifiable. A checkpoint commits to the log:

    {"type": "pd-checkpoint", "origin": DIRECTORY, "audience": A, "size": N, "root": HEX,
     "issued": TIME, "expires": TIME}

A page is the checkpoint, the entries [cursor, cursor + k) with their bodies, and the consistency
proof from cursor + k to the checkpoint's size. `verify_page` checks all of it against the pinned
root and the reader's state before anything is written; one bad byte refuses the whole page.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from directory.domain.errors import FederationError
from directory.domain.viewer import SEES
from federation import merkle
from federation.canonical import NotCanonical, canonical
from federation.keys import Root, SigningKey, Untrusted, parse_time, require, seal

ENTRY = "pd-entry"
CHECKPOINT = "pd-checkpoint"
AUDIENCES = ("public", "network")
SHOWN = {a: tuple(v.value for v in SEES[a]) for a in AUDIENCES}  # what each audience's bodies may be marked
KINDS = ("organisation", "service", "link")
OPS = ("upsert", "tombstone")
CLOCK_SKEW = timedelta(minutes=5)
MAX_BODY_BYTES = 512 * 1024  # above the largest record our checks let through (about 170 KiB)
MAX_PAGE_ENTRIES = 1000  # what a publisher serves at most (`limit`); a reader refuses a longer page
MAX_CHECKPOINT_VALIDITY = timedelta(days=7)  # expires - issued; ours sign for 24 h. Longer hides a frozen feed
MAX_PROOF = 64  # hashes in a consistency proof: about log2 of the size, and sizes stay below 2^53
CHECKPOINT_MEMBERS = {"type", "origin", "audience", "size", "root", "issued", "expires"}
ENTRY_MEMBERS = {"type", "origin", "audience", "seq", "kind", "id", "revision", "op", "body", "redistribute"}
_HEX = re.compile(r"[0-9a-f]{64}")
_BODY_HASH = re.compile(r"sha256:[0-9a-f]{64}")


class Refused(FederationError):
    """A page that does not verify: nothing from it is written, the cursor stays."""


class Equivocation(Refused):
    """Signed statements by the publisher that no one append-only log can satisfy: two checkpoints of
    the same size with different roots, or signed entries that, appended to the tree a kept checkpoint
    committed, miss the root of another checkpoint (a history that does not extend the one verified)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.evidence: dict[str, str | None] = {}  # the kept checkpoint and the offered one, set by the reader


class Stale(Refused):
    """A checkpoint past its expiry: the peer's data is kept and marked stale."""


def body_hash(body: dict[str, Any]) -> str:
    return digest(canonical(body))


def digest(data: bytes) -> str:
    """How an entry names its body's canonical bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def entry(origin: str, audience: str, seq: int, kind: str, record: str, revision: int, op: str,
          body: dict[str, Any] | None, redistribute: bool, keys: list[SigningKey]) -> dict[str, Any]:
    return seal({"type": ENTRY, "origin": origin, "audience": audience, "seq": seq, "kind": kind, "id": record,
                 "revision": revision, "op": op, "body": body_hash(body) if body is not None else None,
                 "redistribute": redistribute}, keys)


def checkpoint(origin: str, audience: str, size: int, root: bytes, issued: str, expires: str,
               keys: list[SigningKey]) -> dict[str, Any]:
    return seal({"type": CHECKPOINT, "origin": origin, "audience": audience, "size": size, "root": root.hex(),
                 "issued": issued, "expires": expires}, keys)


@dataclass
class PeerState:
    """What a reader keeps per peer and audience, committed with the records a page writes.

    The checkpoint is the newest verified one the entries have reached; a newer one is adopted only
    once the entries pass the older one's size with the older one's root."""

    frontier: merkle.Frontier = field(default_factory=merkle.Frontier)
    checkpoint_size: int = 0
    checkpoint_root: str = merkle.EMPTY_ROOT.hex()
    checkpoint_issued: str = ""
    reread_below: int = 0  # entries below it were read before (`peer resync`): an older revision is not a replay
    skipped_from: int | None = None  # the first entry ever left out for the peer's record limit, if one was

    @property
    def cursor(self) -> int:
        return self.frontier.size


@dataclass(frozen=True)
class Accepted:
    seq: int
    kind: str
    id: str
    revision: int
    op: str
    body: dict[str, Any] | None  # None for a tombstone, or an upsert whose body the publisher purged since
    redistribute: bool
    envelope: dict[str, Any]
    withheld: str = ""  # why an upsert is not taken: its body is marked for an audience this feed never carries
    superseded: bool = False  # read again below a newer revision we hold: neither written nor remembered
    leaf: str = ""  # the entry's Merkle leaf (hex): kept with its revision, so a re-read can tell it is the same
    size: int = 0  # the bytes of the body taken (none for a tombstone, a withheld or a purged body): a peer's weight

    @property
    def as_it_was(self) -> bool:
        """An upsert whose body the publisher purged since: what we keep of the record stays as it was
        (a later entry for it follows in the log)."""
        return self.op == "upsert" and self.body is None and not self.withheld


@dataclass
class Verified:
    entries: list[Accepted]
    state: PeerState  # the state to commit with the entries
    checkpoint: dict[str, Any]


def _field(signed: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = signed.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise Refused(f"{where}: {name} is missing or not a{'n integer' if kind is int else ' ' + kind.__name__}")
    return value


def _members(signed: dict[str, Any], known: set[str], where: str) -> None:
    if set(signed) != known:
        missing, unknown = sorted(known - set(signed)), sorted(set(signed) - known)
        raise Refused(f"{where}: lacks {', '.join(missing)}" if missing
                      else f"{where}: holds members this spec does not know: {', '.join(map(repr, unknown))}")


def _signed_by(root: Root, envelope: Any, where: str, message: bytes | None = None) -> None:
    try:
        require(envelope, root.online_keys, root.online_threshold, where, message)
    except NotCanonical as exc:
        raise Refused(f"{where}: {exc.reason}") from None
    except Untrusted as exc:
        raise Refused(f"{where}: {exc}" if not str(exc).startswith(where) else str(exc)) from None


def verify_checkpoint(root: Root, audience: str, envelope: Any, state: PeerState, now: datetime) -> dict[str, Any]:
    """The checkpoint's signed part, if it is signed, current and does not go back on the last one."""
    signed = envelope.get("signed") if isinstance(envelope, dict) else None
    if not isinstance(signed, dict) or signed.get("type") != CHECKPOINT:
        raise Refused("the checkpoint is not a checkpoint")
    _signed_by(root, envelope, "the checkpoint")
    _members(signed, CHECKPOINT_MEMBERS, "the checkpoint")
    if signed["origin"] != root.directory or signed["audience"] != audience:
        raise Refused(f"the checkpoint is for {signed['origin']!r}/{signed['audience']!r}, "
                      f"not {root.directory!r}/{audience!r}")
    size = _field(signed, "size", int, "the checkpoint")
    head = _field(signed, "root", str, "the checkpoint")
    if size < 0 or not _HEX.fullmatch(head):
        raise Refused("the checkpoint: size is negative or root is not 64 lower-case hex digits")
    if size == 0 and head != merkle.EMPTY_ROOT.hex():
        raise Refused("the checkpoint: an empty log's root is the hash of nothing")
    try:
        issued = parse_time(signed["issued"], "issued")
        expires = parse_time(signed["expires"], "expires")
    except Untrusted as exc:
        raise Refused(f"the checkpoint: {exc}") from None
    if not issued < expires <= issued + MAX_CHECKPOINT_VALIDITY:
        raise Refused(f"the checkpoint is valid from {signed['issued']} to {signed['expires']}: a checkpoint "
                      f"expires after it is issued and within {MAX_CHECKPOINT_VALIDITY.days} days")
    if issued > now + CLOCK_SKEW:
        raise Refused(f"the checkpoint is dated {signed['issued']}, in the future")
    if state.checkpoint_issued and issued < parse_time(state.checkpoint_issued, "issued"):
        raise Refused("the checkpoint is older than the one already verified (a rollback)")
    if size < state.checkpoint_size:
        raise Refused(f"the checkpoint's size {size} is below the verified {state.checkpoint_size} (a rollback)")
    if size == state.checkpoint_size and head != state.checkpoint_root:
        raise Equivocation(f"two checkpoints of size {size} with different roots")
    if expires <= now:
        raise Stale(f"the checkpoint expired at {signed['expires']}")
    return signed


def verify_page(root: Root, audience: str, page: Any, state: PeerState, now: datetime,
                revision_of: Callable[[str, str], int | None],
                leaf_of: Callable[[str, str], str | None] = lambda kind, rid: None) -> Verified:
    """Everything in a page, checked before anything is written (see the module's docstring).

    `revision_of(kind, id)` is the revision already stored for a record of this publisher, or None;
    `leaf_of(kind, id)` the Merkle leaf of the entry it came in, where kept.
    Whatever the page holds, the only errors are Refused and its kinds (Equivocation, Stale).
    """
    if not isinstance(page, dict) or set(page) != {"checkpoint", "entries", "proof"}:
        raise Refused("a page is an object of exactly {checkpoint, entries, proof}")
    items, proof = page["entries"], page["proof"]
    if not isinstance(items, list) or len(items) > MAX_PAGE_ENTRIES:
        raise Refused(f"a page's entries are a list of at most {MAX_PAGE_ENTRIES}")
    if not isinstance(proof, list) or len(proof) > MAX_PROOF \
            or not all(isinstance(p, str) and _HEX.fullmatch(p) for p in proof):
        raise Refused(f"a page's proof is a list of at most {MAX_PROOF} hashes in lower-case hex")
    signed = verify_checkpoint(root, audience, page["checkpoint"], state, now)
    if state.cursor + len(items) > signed["size"]:
        raise Refused(f"the page holds entries beyond the checkpoint's size {signed['size']}")
    if not items and state.cursor < signed["size"]:
        raise Refused("a page below its checkpoint's size holds no entry: it makes no progress")
    frontier = state.frontier.copy()
    accepted: list[Accepted] = []
    seen: dict[tuple[str, str], int] = {}
    for offset, item in enumerate(items):
        where = f"entry {state.cursor + offset}"
        envelope, body, body_bytes = _entry_and_body(item, where)
        e = envelope["signed"]
        try:
            signed_bytes = canonical(e)  # once: the signatures and the Merkle leaf are both over it
        except NotCanonical as exc:
            raise Refused(f"{where}: {exc.reason}") from None
        _signed_by(root, envelope, where, signed_bytes)
        _check_entry(e, root.directory, audience, state.cursor + offset, where)
        if body_bytes is not None and digest(body_bytes) != e["body"]:
            raise Refused(f"{where}: the body does not match its hash")
        key = (e["kind"], e["id"])
        leaf = merkle.leaf_hash(signed_bytes)
        superseded = _superseded(e, seen.get(key), revision_of(*key), state, where, leaf.hex(), leaf_of(*key))
        seen[key] = e["revision"]
        frontier.append(leaf)
        if frontier.size == state.checkpoint_size and frontier.root().hex() != state.checkpoint_root:
            raise Equivocation(f"the entries up to {frontier.size} do not match the checkpoint verified "
                               "before at that size: the publisher rewrote its history")
        withheld = ""
        if body_bytes is not None and len(body_bytes) > MAX_BODY_BYTES:  # its entry alone, not the page
            withheld = f"its body is {len(body_bytes) // 1024} KiB, over the {MAX_BODY_BYTES // 1024} KiB we read"
        elif e["op"] == "upsert" and body is not None and body.get("visibility") not in SHOWN[audience]:
            withheld = f"marked {str(body.get('visibility'))[:20]!r}, which the {audience} feed never carries"
        taken = body if e["op"] == "upsert" and not withheld else None
        accepted.append(Accepted(e["seq"], e["kind"], e["id"], e["revision"], e["op"], taken, e["redistribute"],
                                 envelope, withheld, superseded, leaf.hex(),
                                 len(body_bytes) if taken is not None and body_bytes is not None else 0))
    path = [bytes.fromhex(p) for p in proof]
    head = bytes.fromhex(signed["root"])
    if frontier.size == signed["size"]:
        if path:
            raise Refused("a page that reaches its checkpoint's size carries no proof")
        if frontier.root() != head:
            if state.checkpoint_size > 0:
                # the tree a kept checkpoint committed, extended by entries the publisher signed, misses
                # the root it now signs: no one log gives both (docs/federation.md, "the fork rule")
                raise Equivocation(f"the verified tree of {state.cursor} entries and the signed entries after "
                                   f"it do not give the root of the checkpoint of size {signed['size']}: a "
                                   "history that does not extend the one verified")
            raise Refused("the entries do not add up to the checkpoint's root")
    elif not merkle.verify_consistency(frontier.size, signed["size"], frontier.root(), head, path):
        # the proof is not signed: a wrong one is a broken page, not evidence of a fork
        raise Refused("the entries are not a prefix of the checkpoint's tree (by the proof served)")
    if frontier.size >= state.checkpoint_size:  # the old checkpoint was reached and matched: adopt the new one
        new_state = PeerState(frontier, signed["size"], signed["root"], signed["issued"], state.reread_below,
                              state.skipped_from)
    else:  # keep the old one until the entries reach it, so a history rewritten before it is still caught
        new_state = PeerState(frontier, state.checkpoint_size, state.checkpoint_root, state.checkpoint_issued,
                              state.reread_below, state.skipped_from)
    return Verified(accepted, new_state, page["checkpoint"])


def _superseded(e: dict[str, Any], in_page: int | None, kept: int | None, state: PeerState, where: str,
                leaf: str, kept_leaf: str | None) -> bool:
    """Whether an entry is an older revision read again (`peer resync`), to be passed over; Refused
    if it is a replay, Equivocation if the log was rewritten. Within a page revisions must rise;
    against the revision we keep, an entry first read now must be above it. An entry read before
    (below `reread_below`) is what we took there then: an older revision, superseded by an entry
    further on, or the very entry we took at the revision we keep (its leaf), taken again through
    today's checks. Anything else there (a revision above the one we keep, a record we never took)
    is a history rewritten, refused before anything of it is written; unless the entry lies past
    the first one ever left out for the peer's record limit, which we read but did not remember."""
    revision = e["revision"]
    if in_page is not None and revision <= in_page:
        raise Refused(f"{where}: revision {revision} of {e['id']} is not above {in_page} (a replay)")
    read_before = e["seq"] < state.reread_below
    remembered = read_before and (state.skipped_from is None or e["seq"] < state.skipped_from)
    if kept is None or revision > kept:
        if remembered:
            raise Equivocation(f"{where}: revision {revision} of {e['id']} is not what the log held there when we "
                               "read it before: the publisher rewrote its history")
        return False
    if not read_before:
        raise Refused(f"{where}: revision {revision} of {e['id']} is not above {kept} (a replay)")
    if revision < kept:
        return True
    if kept_leaf and kept_leaf != leaf:
        raise Equivocation(f"{where}: revision {revision} of {e['id']} is not the entry verified before at that "
                           "revision: the publisher rewrote its history")
    return False


def _entry_and_body(item: Any, where: str) -> tuple[dict[str, Any], dict[str, Any] | None, bytes | None]:
    if not isinstance(item, dict) or set(item) != {"entry", "body"}:
        raise Refused(f"{where}: not an entry with its body")
    envelope, body = item["entry"], item["body"]
    if not isinstance(envelope, dict) or not isinstance(envelope.get("signed"), dict):
        raise Refused(f"{where}: not a signed entry")
    if body is not None and not isinstance(body, dict):
        raise Refused(f"{where}: the body is not an object")
    try:
        body_bytes = canonical(body) if body is not None else None
    except NotCanonical as exc:
        raise Refused(f"{where}: the body: {exc.reason}") from None
    return envelope, body, body_bytes


def _check_entry(e: dict[str, Any], origin: str, audience: str, seq: int, where: str) -> None:
    if e.get("type") != ENTRY:
        raise Refused(f"{where}: not an entry")
    _members(e, ENTRY_MEMBERS, where)
    if e["origin"] != origin or e["audience"] != audience:
        raise Refused(f"{where}: from {e['origin']!r}/{e['audience']!r}, not {origin!r}/{audience!r}")
    if _field(e, "seq", int, where) != seq:
        raise Refused(f"{where}: numbered {e['seq']} (entries out of order, repeated or missing)")
    if e["kind"] not in KINDS or e["op"] not in OPS:
        raise Refused(f"{where}: unknown kind or operation")
    record = _field(e, "id", str, where)
    if not record.startswith(f"{origin}:") or record == f"{origin}:":
        raise Refused(f"{where}: {record!r} is outside the publisher's namespace {origin}:")
    if _field(e, "revision", int, where) < 1:
        raise Refused(f"{where}: revision {e['revision']} is below 1 (revisions count from 1)")
    if not isinstance(e["redistribute"], bool):
        raise Refused(f"{where}: redistribute is not true or false")
    if e["op"] == "tombstone" and e["body"] is not None:
        raise Refused(f"{where}: a tombstone with a body")
    if e["op"] == "upsert" and not (isinstance(e["body"], str) and _BODY_HASH.fullmatch(e["body"])):
        raise Refused(f"{where}: an upsert without a body hash (sha256: and 64 lower-case hex digits)")
