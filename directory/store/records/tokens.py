"""API tokens: `pd_<id>_<secret>`, shown once; the store keeps only a SHA-256 of the secret.

A token is found by its public id, then its secret is compared in constant time, so neither a
lookup nor a comparison takes longer for a nearly right token.

A sign-in to the pages is not the token: the browser keeps a session value naming the token's
public id and when the session began (in ms), under a MAC over both and the token's stored hash
with a key kept outside the graph (`DATA/secrets/session-key`, or the file every app process is
given: `Settings.session_key_path`), so reading the store is not enough to make a session. A
copied cookie is no API token and its end cannot be moved; revoking the token ends its sessions,
and signing out ends every session of the token begun before (`signed_out_at`).

What the store holds of a token is kept for a second (`KEPT_SECONDS`), by the process, so a client
sending requests back to back costs one read of it a second rather than one a request. A token
revoked by this process stops working at once; one revoked by another process (the CLI, another
app process) within that second.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from directory.base.clock import now
from directory.domain.errors import BadArgument, NotFound
from directory.domain.validation import require_text
from directory.domain.viewer import Viewer
from directory.store.engine.cypher import cypher
from directory.store.engine.graph import Graph

_TOKEN = re.compile(r"^pd_([a-z0-9]{10})_([A-Za-z0-9_-]{43})$")
_SESSION = re.compile(r"^([0-9]{13})\.([a-z0-9]{10})\.([0-9a-f]{64})$")
SESSION_SECONDS = 8 * 3600  # a sign-in lasts a working day; a forgotten browser forgets it by itself
_DUMMY_HASH = hashlib.sha256(b"no such token").hexdigest()
MAX_LABEL = 200  # who holds a token, in a few words

CREATE = cypher("tokens.create", """
CREATE (t:ApiToken {id: $id, hash: $hash, role: $role, organisation: $organisation, label: $label,
                    created_at: $now})
""")
# A member token stands only while its organisation does: one deleted by any path (an edit, a
# restore, a peer's removal) stops its members' tokens, and a deletion through the API or the pages
# revokes them (`REVOKE_OF`), so an id used again later hands them nothing. An organisation gone by
# another path and made again under its id (a restore, a peer added again) finds its tokens working.
FIND = cypher("tokens.find", """
MATCH (t:ApiToken {id: $id})
WHERE t.revoked_at IS NULL
OPTIONAL MATCH (o:Organisation {id: t.organisation})
RETURN t.hash AS hash, t.role AS role, t.organisation AS organisation, t.signed_out_at AS signed_out_at,
       t.organisation IS NULL OR o IS NOT NULL AS standing
""")
REVOKE_OF = cypher("tokens.revoke_of", """
MATCH (t:ApiToken {organisation: $organisation})
WHERE t.revoked_at IS NULL
SET t.revoked_at = $now
RETURN t.id AS id
""")
SIGN_OUT = cypher("tokens.sign_out", """
MATCH (t:ApiToken {id: $id})
SET t.signed_out_at = $at
RETURN t.id AS id
""")
LIST = cypher("tokens.list", """
MATCH (t:ApiToken)
RETURN t.id AS id, t.role AS role, t.organisation AS organisation, t.label AS label,
       t.created_at AS created_at, t.revoked_at AS revoked_at
ORDER BY t.created_at, t.id
""")
_ID_IN = re.compile(r"pd_([a-z0-9]{10})_")


def public_id(given: str) -> str:
    """A token's public id, given it or the whole token wherever it is in what was pasted
    (`Bearer pd_<id>_<secret>`, a space before it): what may be said back, never the secret.
    Anything longer than an id and not a token's shape (a secret pasted alone) is not said at all."""
    if found := _ID_IN.search(given):
        return found.group(1)
    given = given.strip()
    return given if len(given) <= 12 and "pd_" not in given else "(not a token id)"


REVOKE = cypher("tokens.revoke", """
MATCH (t:ApiToken {id: $id})
WITH t, t.revoked_at AS before
SET t.revoked_at = coalesce(t.revoked_at, $now)
RETURN t.revoked_at AS revoked_at, before IS NULL AS now_revoked
""")
KEPT_SECONDS = 1.0
_MOST_KEPT = 10_000
# (the graph read, token id) -> when read (monotonic), what the store holds of it
_kept: dict[tuple[Graph, str], _Stored] = {}
# token id -> when this process last revoked it (monotonic): a read begun before then is not kept
_revoked: dict[str, float] = {}

ORGANISATION_EXISTS = cypher("tokens.organisation_exists", "MATCH (n:Organisation {id: $id}) RETURN n.id AS id")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class _Stored:
    read: float  # monotonic
    hash: str
    role: str
    organisation: str | None
    signed_out_at: int | None  # ms: sessions begun before then are over


@dataclass(frozen=True)
class TokenInfo:
    id: str
    role: str
    organisation: str | None
    label: str
    created_at: str
    revoked_at: str | None


class Tokens:
    def __init__(self, graph: Graph, session_key: bytes | None = None) -> None:
        self.graph = graph
        # without a key given (a process that signs nobody in), one of its own: its sessions end with it
        self._key = session_key or secrets.token_bytes(32)

    async def create(self, role: str, organisation: str | None, label: str = "") -> tuple[str, str]:
        """A new token: (its id, the token itself). The token is not stored and cannot be shown again."""
        if role not in ("member", "steward"):
            raise BadArgument("role", "%(value)r is not member or steward", value=role)
        if role == "member" and not organisation:
            raise BadArgument("org", "a member token needs the organisation it belongs to")
        if role == "steward" and organisation:  # it was listed as "steward of X", which meant nothing
            raise BadArgument("org", "a steward's token is for the whole directory: give no organisation")
        label = require_text(label, "label", MAX_LABEL)  # shown to stewards and printed in their terminals
        if organisation and not await self.graph.read(ORGANISATION_EXISTS, id=organisation):
            raise NotFound("organisation", organisation)
        token_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(10))
        secret = secrets.token_urlsafe(32)
        await self.graph.write(CREATE, id=token_id, hash=_digest(secret), role=role, organisation=organisation,
                               label=label, now=now())
        return token_id, f"pd_{token_id}_{secret}"

    async def list(self) -> list[TokenInfo]:
        return [TokenInfo(**r) for r in await self.graph.read(LIST)]

    async def revoke(self, token_id: str) -> tuple[str, str, bool]:
        """The token's public id, when it was revoked, and whether this revoked it (not: it already
        was). Given the whole token, as whoever found one leaked holds it, its public id is revoked:
        the secret is never said back, in an error or anywhere (`public_id`)."""
        token_id = public_id(token_id)
        _forget(token_id)
        rows = await self.graph.write(REVOKE, id=token_id, now=now())
        if not rows:
            raise NotFound("token", token_id)
        _forget(token_id)  # read again meanwhile, before the revocation committed
        return token_id, rows[0]["revoked_at"], rows[0]["now_revoked"]

    async def viewer(self, token: str) -> Viewer | None:
        """The viewer a token stands for, or None if it is malformed, unknown or revoked."""
        checked = await self._checked(token)
        return checked[0] if checked else None

    async def _checked(self, token: str) -> tuple[Viewer, str, str] | None:
        """A valid token's viewer, public id and stored hash."""
        match = _TOKEN.match(token)
        found = await self._stored(match.group(1)) if match else None
        stored = found.hash if found else _DUMMY_HASH
        supplied = _digest(match.group(2)) if match else _digest(token)
        if not hmac.compare_digest(stored, supplied) or found is None or match is None:
            return None
        return Viewer(found.role, found.organisation, who=f"token:{match.group(1)}"), match.group(1), stored

    async def sign_in(self, token: str) -> tuple[Viewer, str, str] | None:
        """A session for a valid token: its viewer, the cookie's value and the CSRF value its forms
        carry; None for a token that is not valid."""
        checked = await self._checked(token)
        if checked is None:
            return None
        viewer, token_id, stored = checked
        began = int(time.time() * 1000)
        return viewer, f"{began}.{token_id}.{_mac(self._key, 'session', token_id, str(began), stored)}", \
            _mac(self._key, "csrf", token_id, stored)[:32]

    async def signed_in(self, session: str) -> tuple[Viewer, str] | None:
        """The viewer of a session value and the CSRF value its forms carry; None for one that is
        malformed, forged, ended, or whose token was revoked."""
        match = _SESSION.match(session)
        if match is None:
            return None
        began, token_id, mac = match.groups()
        now = time.time() * 1000
        if not now - SESSION_SECONDS * 1000 < int(began) <= now + 60_000:  # 60 s: app processes' clocks differ
            return None
        found = await self._stored(token_id)
        if found is None or (found.signed_out_at is not None and int(began) <= found.signed_out_at):
            return None
        if not hmac.compare_digest(mac, _mac(self._key, "session", token_id, began, found.hash)):
            return None
        return (Viewer(found.role, found.organisation, who=f"token:{token_id}"),
                _mac(self._key, "csrf", token_id, found.hash)[:32])

    def seal(self, *parts: str) -> str:
        """A value a page puts in a form beside what it gave (a new record's id), so the form's
        answer can tell a value this service gave from one a client chose, with no store read."""
        return _mac(self._key, "form", *parts)[:32]

    async def sign_out(self, token_id: str) -> None:
        """End every session of the token begun until now (in every browser): signing out is meant
        to end a session, and a cookie copied before must not outlive it."""
        _forget(token_id)
        await self.graph.write(SIGN_OUT, id=token_id, at=int(time.time() * 1000))
        _forget(token_id)

    async def _stored(self, token_id: str) -> _Stored | None:
        """What the store holds of a live token, read at most once a second (`KEPT_SECONDS`)."""
        key = (self.graph, token_id)  # kept per store: another store's token is not this one's
        kept = _kept.get(key)
        started = time.monotonic()
        if kept is not None and started - kept.read < KEPT_SECONDS:
            return kept
        rows: list[dict[str, Any]] = await self.graph.read(FIND, id=token_id)
        if not rows or not rows[0]["standing"]:
            _kept.pop(key, None)
            return None
        out = rows[0]["signed_out_at"]
        found = _Stored(started, rows[0]["hash"], rows[0]["role"], rows[0]["organisation"],
                        None if out is None else int(out))
        if _revoked.get(token_id, -1.0) < started:  # no revocation here since the read began
            if len(_kept) >= _MOST_KEPT:
                _kept.clear()
            _kept[key] = found
        return found


def _mac(key: bytes, *parts: str) -> str:
    return hmac.new(key, " ".join(parts).encode(), hashlib.sha256).hexdigest()


def forget(token_ids: list[str]) -> None:
    """Tokens revoked by a write this process is making: none read until it commits is kept."""
    for token_id in token_ids:
        _forget(token_id)


def _forget(token_id: str) -> None:
    """Drop what any store of this process keeps of a token, and keep none read before now."""
    _revoked[token_id] = time.monotonic()
    for key in [k for k in _kept if k[1] == token_id]:
        _kept.pop(key, None)
    if len(_revoked) >= _MOST_KEPT:
        _revoked.clear()
        _revoked[token_id] = time.monotonic()
