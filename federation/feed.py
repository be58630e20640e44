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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from directory.errors import DirectoryError
from federation import merkle
from federation.canonical import NotCanonical, canonical
from federation.keys import Root, SigningKey, Untrusted, parse_time, require, seal

ENTRY = "pd-entry"
CHECKPOINT = "pd-checkpoint"
AUDIENCES = ("public", "network")
SHOWN = {"public": ("public",), "network": ("public", "network")}  # what each audience's bodies may be marked
KINDS = ("organisation", "service", "link")
OPS = ("upsert", "tombstone")
CLOCK_SKEW = timedelta(minutes=5)
MAX_BODY_BYTES = 64 * 1024


class Refused(DirectoryError):
    """A page that does not verify: nothing from it is written, the cursor stays."""


class Equivocation(Refused):
    """Two checkpoints of the same size with different roots, or a history that does not extend."""

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


@dataclass
class Verified:
    entries: list[Accepted]
    state: PeerState  # the state to commit with the entries
    checkpoint: dict[str, Any]
    dropped: list[str] = field(default_factory=list)  # entries verified but not taken, and why


def _field(signed: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = signed.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise Refused(f"{where}: {name} is missing or not a {kind.__name__}")
    return value


def verify_checkpoint(root: Root, audience: str, envelope: Any, state: PeerState, now: datetime) -> dict[str, Any]:
    """The checkpoint's signed part, if it is signed, current and does not go back on the last one."""
    signed = envelope.get("signed") if isinstance(envelope, dict) else None
    if not isinstance(signed, dict) or signed.get("type") != CHECKPOINT:
        raise Refused("the checkpoint is not a checkpoint")
    try:
        require(envelope, root.online_keys, root.online_threshold, "the checkpoint")
    except (Untrusted, NotCanonical) as exc:
        raise Refused(str(exc)) from None
    if signed.get("origin") != root.directory or signed.get("audience") != audience:
        raise Refused(f"the checkpoint is for {signed.get('origin')!r}/{signed.get('audience')!r}, "
                      f"not {root.directory!r}/{audience!r}")
    size = _field(signed, "size", int, "the checkpoint")
    head = _field(signed, "root", str, "the checkpoint")
    try:
        issued = parse_time(_field(signed, "issued", str, "the checkpoint"), "issued")
        expires = parse_time(_field(signed, "expires", str, "the checkpoint"), "expires")
    except Untrusted as exc:
        raise Refused(f"the checkpoint: {exc}") from None
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


def verify_page(root: Root, audience: str, page: dict[str, Any], state: PeerState, now: datetime,
                revision_of: Callable[[str, str], int | None]) -> Verified:
    """Everything in a page, checked before anything is written (see the module's docstring).

    `revision_of(kind, id)` is the revision already stored for a record of this publisher, or None.
    """
    signed = verify_checkpoint(root, audience, page.get("checkpoint"), state, now)
    items = page.get("entries")
    proof = page.get("proof")
    if not isinstance(items, list) or not isinstance(proof, list):
        raise Refused("a page needs entries and a proof")
    if state.cursor + len(items) > signed["size"]:
        raise Refused(f"the page holds entries beyond the checkpoint's size {signed['size']}")
    frontier = state.frontier.copy()
    accepted: list[Accepted] = []
    dropped: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    for offset, item in enumerate(items):
        where = f"entry {state.cursor + offset}"
        envelope, body, body_bytes = _entry_and_body(item, where)
        e = envelope["signed"]
        signed_bytes = canonical(e)  # once: the signatures and the Merkle leaf are both over it
        try:
            require(envelope, root.online_keys, root.online_threshold, where, signed_bytes)
        except (Untrusted, NotCanonical) as exc:
            raise Refused(str(exc)) from None
        _check_entry(e, root.directory, audience, state.cursor + offset, where)
        if body_bytes is not None and digest(body_bytes) != e["body"]:
            raise Refused(f"{where}: the body does not match its hash")
        key = (e["kind"], e["id"])
        before = seen.get(key, revision_of(*key))
        if before is not None and e["revision"] <= before:
            raise Refused(f"{where}: revision {e['revision']} of {e['id']} is not above {before} (a replay)")
        seen[key] = e["revision"]
        frontier.append(merkle.leaf_hash(signed_bytes))
        if frontier.size == state.checkpoint_size and frontier.root().hex() != state.checkpoint_root:
            raise Equivocation(f"the entries up to {frontier.size} do not match the checkpoint verified "
                               "before at that size: the publisher rewrote its history")
        if e["op"] == "upsert" and body is not None and body.get("visibility") not in SHOWN[audience]:
            # the id stays out of the message: it names a record the publisher should not have shared
            dropped.append(f"{where} is marked {body.get('visibility')!r}, which the {audience} feed "
                           "never carries; not taken")
            continue
        accepted.append(Accepted(e["seq"], e["kind"], e["id"], e["revision"], e["op"],
                                 body if e["op"] == "upsert" else None, e["redistribute"], envelope))
    try:
        path = [bytes.fromhex(str(p)) for p in proof]
        head = bytes.fromhex(signed["root"])
    except ValueError:
        raise Refused("the proof or the checkpoint's root is not hex") from None
    if frontier.size == signed["size"]:
        if path or frontier.root() != head:
            raise Refused("the entries do not add up to the checkpoint's root")
    elif frontier.size == 0:
        raise Refused("an empty page proves nothing")
    elif not merkle.verify_consistency(frontier.size, signed["size"], frontier.root(), head, path):
        raise Refused("the entries are not a prefix of the checkpoint's tree")
    if frontier.size >= state.checkpoint_size:  # the old checkpoint was reached and matched: adopt the new one
        new_state = PeerState(frontier, signed["size"], signed["root"], signed["issued"])
    else:  # keep the old one until the entries reach it, so a history rewritten before it is still caught
        new_state = PeerState(frontier, state.checkpoint_size, state.checkpoint_root, state.checkpoint_issued)
    return Verified(accepted, new_state, page["checkpoint"], dropped)


def _entry_and_body(item: Any, where: str) -> tuple[dict[str, Any], dict[str, Any] | None, bytes | None]:
    if not isinstance(item, dict) or set(item) != {"entry", "body"}:
        raise Refused(f"{where}: not an entry with its body")
    envelope, body = item["entry"], item["body"]
    if not isinstance(envelope, dict) or not isinstance(envelope.get("signed"), dict):
        raise Refused(f"{where}: not a signed entry")
    if body is not None and not isinstance(body, dict):
        raise Refused(f"{where}: the body is not an object")
    body_bytes = canonical(body) if body is not None else None
    if body_bytes is not None and len(body_bytes) > MAX_BODY_BYTES:
        raise Refused(f"{where}: the body is over {MAX_BODY_BYTES // 1024} KiB")
    return envelope, body, body_bytes


def _check_entry(e: dict[str, Any], origin: str, audience: str, seq: int, where: str) -> None:
    if e.get("type") != ENTRY:
        raise Refused(f"{where}: not an entry")
    if e.get("origin") != origin or e.get("audience") != audience:
        raise Refused(f"{where}: from {e.get('origin')!r}/{e.get('audience')!r}, not {origin!r}/{audience!r}")
    if _field(e, "seq", int, where) != seq:
        raise Refused(f"{where}: numbered {e['seq']} (entries out of order, repeated or missing)")
    if e.get("kind") not in KINDS or e.get("op") not in OPS:
        raise Refused(f"{where}: unknown kind or operation")
    record = _field(e, "id", str, where)
    if not record.startswith(f"{origin}:"):
        raise Refused(f"{where}: {record!r} is outside the publisher's namespace {origin}:")
    _field(e, "revision", int, where)
    if not isinstance(e.get("redistribute"), bool):
        raise Refused(f"{where}: redistribute is not true or false")
    if e["op"] == "tombstone" and e.get("body") is not None:
        raise Refused(f"{where}: a tombstone with a body")
    if e["op"] == "upsert" and not (isinstance(e.get("body"), str) and e["body"].startswith("sha256:")):
        raise Refused(f"{where}: an upsert without a body hash")
