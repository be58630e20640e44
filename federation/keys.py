"""Ed25519 keys, signed envelopes, and a directory's root of trust.

One library signs and verifies: PyNaCl (libsodium), which rejects small-order public keys that
OpenSSL's Ed25519 accepts with a forged signature (docs/threat-model.md, F10); every key we pin
is also checked to be a valid point of prime order.

A signed document is an envelope `{"signed": {...}, "signatures": [{"keyid", "sig"}]}`; the
signature is over the RFC 8785 bytes of `signed`, whose `type` member separates the kinds of
document (root, checkpoint, entry). A threshold counts distinct key ids, each once.

The root (`type: pd-root`) names the directory, lists its offline root keys with their
threshold and its online signing keys with theirs, and has a version and an expiry, as in TUF.
A peer pins the first root by its fingerprint, given out of band; a new root is accepted only if
its version is exactly one more and both the old root keys and the new ones sign it, each to
their threshold. Nothing is ever fetched because a document points at it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.signing

from directory.domain import ids
from directory.domain.errors import FederationError
from federation.canonical import canonical

ROOT = "pd-root"
REQUEST = "pd-request"
SPEC = 1
MAX_SIGNATURES = 16  # per envelope: a threshold needs a few; thousands would only cost the reader time
MAX_ROOT_AHEAD = timedelta(days=2 * 365)  # a root is signed for a year; one further ahead is refused
_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?Z")


class Untrusted(FederationError):
    """A document whose keys, signatures, version or dates do not hold."""


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise Untrusted(f"{what} is not base64url") from None


def key_id(public: bytes) -> str:
    """The short name of a public key: the first 16 bytes of its SHA-256, in hex."""
    return hashlib.sha256(public).hexdigest()[:32]


def valid_public_key(public: bytes) -> bool:
    """A 32-byte Ed25519 point of prime order: small-order keys would verify forged signatures."""
    return len(public) == 32 and bool(nacl.bindings.crypto_core_ed25519_is_valid_point(public))


@dataclass(frozen=True)
class SigningKey:
    secret: bytes  # the 32-byte seed

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(bytes(nacl.signing.SigningKey.generate()))

    @property
    def public(self) -> bytes:
        return bytes(nacl.signing.SigningKey(self.secret).verify_key)

    @property
    def id(self) -> str:
        return key_id(self.public)

    def sign(self, message: bytes) -> bytes:
        return bytes(nacl.signing.SigningKey(self.secret).sign(message).signature)


@functools.lru_cache(maxsize=256)
def _verify_key(public: bytes) -> nacl.signing.VerifyKey | None:
    """A key checked once for prime order, then kept: a feed page asks for the same key a thousand times."""
    return nacl.signing.VerifyKey(public) if valid_public_key(public) else None


def verify(public: bytes, message: bytes, signature: bytes) -> bool:
    key = _verify_key(public)
    if key is None or len(signature) != 64:
        return False
    try:
        key.verify(message, signature)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


def seal(signed: dict[str, Any], keys: list[SigningKey]) -> dict[str, Any]:
    """An envelope: `signed` with a signature by each key over its canonical bytes."""
    message = canonical(signed)
    return {"signed": signed, "signatures": [{"keyid": k.id, "sig": b64(k.sign(message))} for k in keys]}


def signers(envelope: Any, keys: dict[str, bytes], message: bytes | None = None) -> set[str]:
    """The distinct key ids among `keys` whose signature on the envelope verifies (over `message`, the
    canonical bytes of `signed`, when the caller has them already). A malformed envelope is Untrusted."""
    if not isinstance(envelope, dict) or set(envelope) != {"signed", "signatures"} \
            or not isinstance(envelope["signed"], dict):
        raise Untrusted("not an envelope of exactly {signed, signatures}")
    if not isinstance(envelope["signatures"], list) or len(envelope["signatures"]) > MAX_SIGNATURES:
        raise Untrusted(f"the signatures are not a list of at most {MAX_SIGNATURES}")
    message = canonical(envelope["signed"]) if message is None else message
    good = set()
    for item in envelope["signatures"]:
        if not isinstance(item, dict) or set(item) != {"keyid", "sig"} or not isinstance(item["keyid"], str) \
                or not isinstance(item["sig"], str):
            raise Untrusted("a signature is not {keyid, sig}")
        public = keys.get(item["keyid"])
        if public is not None and verify(public, message, unb64(item["sig"], "a signature")):
            good.add(item["keyid"])
    return good


def require(envelope: Any, keys: dict[str, bytes], threshold: int, what: str,
            message: bytes | None = None) -> None:
    found = signers(envelope, keys, message)
    if len(found) < threshold:
        raise Untrusted(f"{what} is signed by {len(found)} of the {threshold} keys it needs")


@dataclass(frozen=True)
class Root:
    directory: str
    version: int
    expires: str  # RFC 3339, UTC, "Z"
    root_keys: dict[str, bytes]
    root_threshold: int
    online_keys: dict[str, bytes]
    online_threshold: int

    def signed(self) -> dict[str, Any]:
        return {"type": ROOT, "spec": SPEC, "directory": self.directory, "version": self.version,
                "expires": self.expires,
                "root_keys": {k: b64(v) for k, v in sorted(self.root_keys.items())},
                "root_threshold": self.root_threshold,
                "online_keys": {k: b64(v) for k, v in sorted(self.online_keys.items())},
                "online_threshold": self.online_threshold}

    @property
    def fingerprint(self) -> str:
        """What a steward gives a peer out of band: the hash of the directory's root keys."""
        pinned = {"directory": self.directory, "root_keys": {k: b64(v) for k, v in sorted(self.root_keys.items())},
                  "root_threshold": self.root_threshold}
        return "sha256:" + hashlib.sha256(canonical(pinned)).hexdigest()

    def expired(self, now: datetime) -> bool:
        return parse_time(self.expires, "expires") <= now


def format_time(moment: datetime) -> str:
    """A time as signed documents carry it: UTC, whole seconds, ending in Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: Any, what: str) -> datetime:
    """A time as RFC 3339 writes it in UTC: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, nothing else.

    `datetime.fromisoformat` also reads ISO 8601 forms no peer should send (week dates such as
    `2026-W48-2`, ordinal dates, no separators, offsets): one time has one spelling here. Digits are
    ASCII only; a fraction beyond microseconds is cut, never rounded up."""
    match = _TIME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise Untrusted(f"{what} is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)")
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                        int((fraction or "0")[:6].ljust(6, "0")), tzinfo=UTC)
    except ValueError:
        raise Untrusted(f"{what} is not a date and time that exists") from None


def _keys(value: Any, what: str) -> dict[str, bytes]:
    if not isinstance(value, dict) or not value:
        raise Untrusted(f"{what} is not a non-empty map of keys")
    out = {}
    for kid, text in value.items():
        public = unb64(text, f"{what} {kid}") if isinstance(text, str) else b""
        if not valid_public_key(public):
            raise Untrusted(f"{what} {kid} is not a valid Ed25519 public key")
        if key_id(public) != kid:
            raise Untrusted(f"{what} {kid} is not the id of its key")
        out[kid] = public
    return out


def read_root(envelope: Any) -> Root:
    """The root in an envelope, checked for shape and keys (not yet for signatures or dates)."""
    signed = envelope.get("signed") if isinstance(envelope, dict) else None
    if not isinstance(signed, dict) or signed.get("type") != ROOT or type(signed.get("spec")) is not int \
            or signed["spec"] != SPEC:
        raise Untrusted("not a root document of this spec")
    known = set(Root.__dataclass_fields__) | {"type", "spec"}
    if set(signed) != known:
        missing, unknown = sorted(known - set(signed)), sorted(set(signed) - known)
        raise Untrusted(f"the root lacks {', '.join(missing)}" if missing
                        else f"the root holds members this spec does not know: {', '.join(map(repr, unknown))}")
    for name, kind in (("directory", str), ("version", int), ("expires", str), ("root_threshold", int),
                       ("online_threshold", int)):
        if type(signed[name]) is not kind:  # bool is an int to isinstance; not here
            raise Untrusted(f"the root's {name} is not a{'n integer' if kind is int else ' string'}")
    root = Root(signed["directory"], signed["version"], signed["expires"],
                _keys(signed["root_keys"], "root key"), signed["root_threshold"],
                _keys(signed["online_keys"], "online key"), signed["online_threshold"])
    if root.version < 1 or not 1 <= root.root_threshold <= len(root.root_keys) \
            or not 1 <= root.online_threshold <= len(root.online_keys):
        raise Untrusted("the root's version or thresholds are out of range")
    parse_time(root.expires, "the root's expiry")
    try:
        ids.check(root.directory)  # every root read, first or rotated: no id reaching into another namespace
    except ids.BadDirectoryId as exc:
        raise Untrusted(f"the root names a {exc}") from exc
    if root.signed() != signed:  # the same members: only a key map written out of order differs here
        raise Untrusted("the root is not written as this spec writes it")
    return root


def check_root_dates(root: Root, now: datetime) -> None:
    """A root in force now: not expired, and not valid for more than MAX_ROOT_AHEAD from now.

    A root valid until 9999 would never make its publisher sign a fresh one (roots are signed for a
    year); so stolen online keys it lists would sign forever."""
    expires = parse_time(root.expires, "the root's expiry")
    if expires <= now:
        raise Untrusted(f"root version {root.version} expired at {root.expires}")
    if expires - now > MAX_ROOT_AHEAD:
        raise Untrusted(f"root version {root.version} is valid until {root.expires}, more than "
                        f"{MAX_ROOT_AHEAD.days} days ahead")


def read_request(envelope: Any, me: str, method: str, path: str, now: datetime, skew: timedelta) -> str:
    """The directory a signed request (`pd-request`) says it comes from, once its members, addressee,
    method, path and time are checked; the caller then checks its signatures against that peer's root."""
    signed = envelope.get("signed") if isinstance(envelope, dict) else None
    members = {"type", "from", "to", "method", "path", "time"}
    if not isinstance(signed, dict) or signed.get("type") != REQUEST or set(signed) != members \
            or not all(isinstance(signed[m], str) for m in members):
        raise Untrusted("not a signed request of exactly {type, from, to, method, path, time}, all strings")
    if (signed["to"], signed["method"], signed["path"]) != (me, method, path):
        raise Untrusted("the request was signed for another directory, method or path")
    if abs(now - parse_time(signed["time"], "the request's time")) > skew:
        raise Untrusted("the request's time is not within the clock skew allowed")
    return str(signed["from"])


def first_root(envelope: Any, fingerprint: str) -> Root:
    """The root a steward pinned: its fingerprint must match and its own keys must sign it."""
    root = read_root(envelope)
    if root.fingerprint != fingerprint:
        raise Untrusted("the root's keys do not match the fingerprint given for this peer")
    require(envelope, root.root_keys, root.root_threshold, "the root")
    return root


def next_root(current: Root, envelope: Any) -> Root:
    """A rotation: version + 1, same directory, signed by the old root keys and the new ones."""
    new = read_root(envelope)
    if new.directory != current.directory:
        raise Untrusted("a new root names another directory")
    if new.version != current.version + 1:
        raise Untrusted(f"root version {new.version} does not follow {current.version}")
    require(envelope, current.root_keys, current.root_threshold, "the new root (by the old root keys)")
    require(envelope, new.root_keys, new.root_threshold, "the new root (by its own root keys)")
    return new
