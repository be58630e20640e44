"""Adding a peer: its first root pinned by the fingerprint its stewards gave out of band, and its
directory id checked against ours and our peers' before anything is written.

The root is fetched (with the fetch limits) before the store is opened, so a slow or hostile peer
never holds a store connection; the id check and the write happen together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from directory.base.clock import now
from directory.domain import ids
from directory.domain.errors import BadArgument, Conflict
from directory.store import PEER_MAX_BYTES, PEER_MAX_RECORDS, Peer, Store
from federation import fetch
from federation.canonical import NotCanonical, parse
from federation.feed import Refused
from federation.keys import Untrusted, check_root_dates, first_root
from federation.sync import announced_version


@dataclass(frozen=True)
class Pinned:
    url: str
    fingerprint: str
    directory: str
    version: int
    root: str  # the exact signed text


def peer_url(url: str) -> str:
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise BadArgument("url", f"{url!r} is not an http(s) URL")
    return url


async def pin(url: str, fingerprint: str) -> Pinned:
    """The peer's current root, if it is the root the fingerprint names and is in date."""
    url = peer_url(url)
    async with fetch.client() as http:
        raw = await fetch.get(http, f"{url}/.well-known/protection-directory.json", fetch.DOCUMENT_CAP)
        try:
            version = announced_version(raw, url)
        except Refused as exc:
            raise BadArgument("url", str(exc)) from None
        text = await fetch.get(http, f"{url}/federation/roots/{version}.json", fetch.DOCUMENT_CAP)
    try:
        root = first_root(parse(text, f"{url}'s root"), fingerprint)
        check_root_dates(root, datetime.now(UTC))  # refused here, not at the first sync
    except (Untrusted, NotCanonical) as exc:
        argument = "url" if isinstance(exc.__cause__, ids.BadDirectoryId) else "--fingerprint"
        raise BadArgument(argument, f"{url}: {exc}; the peer was not added") from None
    return Pinned(url, fingerprint, root.directory, root.version, text.decode())


async def add(store: Store, pinned: Pinned, network: bool, precedence: int,
              max_records: int = PEER_MAX_RECORDS, max_bytes: int = PEER_MAX_BYTES) -> Peer:
    """Keep a pinned peer, unless its id is ours, a peer's, or the publisher's of records we hold, a
    prefix of one, or reads as one."""
    known = [p.id for p in await store.peers.all()]
    held = [p for p in await store.peers.publishers() if p not in known]
    try:
        ids.check_new_peer(pinned.directory, store.directory_id, known, held)
    except ids.BadDirectoryId as exc:
        raise Conflict(f"{pinned.url}: its root names a {exc}; the peer was not added") from None
    peer = Peer(pinned.directory, pinned.url, pinned.fingerprint, pinned.root, pinned.version, network, precedence,
                now(), max_records=max_records, max_bytes=max_bytes)
    await store.peers.add(peer)
    return peer
