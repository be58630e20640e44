"""Fetching a peer's documents with hard limits: bytes, time, and no redirects.

Every request runs under an overall deadline (httpx's own timeouts do not stop a server that
trickles bytes), reads at most a cap of decoded bytes (a gzip bomb stops at the cap, never
inflating more than the cap plus one chunk), and treats any answer but 200 as a failure: a
redirect is never followed, to another origin or the same one. Nothing here trusts what it
fetched; the caller verifies it.
"""

from __future__ import annotations

import asyncio
import zlib
from datetime import datetime

import httpx

from directory.domain.errors import FederationError
from federation.canonical import canonical
from federation.keys import SigningKey, b64, format_time, seal

DOCUMENT_CAP = 256 * 1024
PAGE_CAP = 16 * 1024 * 1024
REQUEST_DEADLINE = 60.0
_CHUNK = 64 * 1024


class Unreachable(FederationError):
    """The peer did not answer as a peer must: down, slow, an error status, a redirect, too many bytes."""


class Answered(Unreachable):
    """The peer answered with an error status other than 404 (`status`): what it refused, its
    reader says where it can (`sync.Sync._fetch`)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class TooLarge(Unreachable):
    """The answer was longer than the cap allows: a reader asks again for fewer entries a page."""


class NotServed(Unreachable):
    """The peer answered 404: it serves nothing at that address (a root newer than its latest, say)."""


def client() -> httpx.AsyncClient:
    """One client per sync run; no proxies from the environment, no redirects, short connect timeouts."""
    return httpx.AsyncClient(follow_redirects=False, trust_env=False,
                             timeout=httpx.Timeout(20.0, connect=5.0), headers={"Accept-Encoding": "gzip, identity"})


def signed_request(me: str, peer: str, path: str, keys: list[SigningKey], now: datetime) -> dict[str, str]:
    """The header that proves to a peer that this request comes from directory `me` (docs/federation.md)."""
    envelope = seal({"type": "pd-request", "from": me, "to": peer, "method": "GET", "path": path,
                     "time": format_time(now)}, keys)
    return {"PD-Request": b64(canonical(envelope))}


async def get(http: httpx.AsyncClient, url: str, cap: int, deadline: float | None = None,
              headers: dict[str, str] | None = None) -> bytes:
    deadline = REQUEST_DEADLINE if deadline is None else deadline
    try:
        async with asyncio.timeout(deadline):
            return await _read(http, url, cap, headers or {})
    except TimeoutError:
        raise Unreachable(f"{url}: no complete answer within {deadline:g} s") from None
    except httpx.HTTPError as exc:
        raise Unreachable(f"{url}: {type(exc).__name__}: {exc}") from None
    except zlib.error:  # a peer's gzip stream that does not inflate: its failure, named, not a crash
        raise Unreachable(f"{url}: the gzip stream is not valid") from None


async def _read(http: httpx.AsyncClient, url: str, cap: int, headers: dict[str, str]) -> bytes:
    async with http.stream("GET", url, headers=headers) as response:
        if response.status_code == 404:
            raise NotServed(f"{url} answered 404")
        if response.status_code != 200:
            where = response.headers.get("location")
            raise Answered(f"{url} answered {response.status_code}"
                           + (f" (a redirect to {where}, not followed)" if where else ""), response.status_code)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise TooLarge(f"{url} announced {declared} bytes, over the cap of {cap}")
        encoding = response.headers.get("content-encoding", "identity").lower()
        if encoding not in ("identity", "gzip"):
            raise Unreachable(f"{url} used content encoding {encoding!r}")
        inflate = zlib.decompressobj(wbits=31) if encoding == "gzip" else None
        out = bytearray()
        async for chunk in response.aiter_raw(_CHUNK):
            if inflate is None:
                out += chunk
            else:
                data = chunk
                while data:  # inflate at most what the cap still allows, so a bomb stops here
                    out += inflate.decompress(data, cap + 1 - len(out))
                    data = inflate.unconsumed_tail
                    if len(out) > cap:
                        break
            if len(out) > cap:
                raise TooLarge(f"{url} sent more than the cap of {cap} bytes")
        return bytes(out)
