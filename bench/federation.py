"""A first sync of a peer's feed of n entries, and an incremental one of 100 changes, next to raw
Ed25519 verification of the same entries in the same run.

The peer is a log of the generated directory's records (organisations first, then services),
signed and served over loopback HTTP, from a process of its own, exactly as `federation.publish` serves pages (canonical
pages of 1,000 entries with consistency proofs). The reader is the real `Syncer` into a fresh
embedded store: fetch, strict parse, `verify_page`, body checks, and the merge transaction with
its cursor. Beside it:
- raw verify: PyNaCl verifying each entry's signature over its canonical signed bytes, nothing else;
- verify only: the same pages through `parse` and `verify_page`, no store, to show where time goes.
"""

from __future__ import annotations

import asyncio
import gzip
import multiprocessing
import socket
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nacl.signing
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from directory.base.config import Settings
from directory.exchange import generate
from directory.store import EmbeddedStore, Store, open_store
from directory.store.federation import peers
from federation import bodies, feed, merkle
from federation.canonical import canonical, parse
from federation.keys import Root, SigningKey, format_time, seal, unb64
from federation.sync import Syncer

HEAP = "2g"
ORIGIN = "peer"
PAGE = 1000


class Log:
    """The peer's public log in memory, served as the publisher serves it."""

    def __init__(self, n: int) -> None:
        self.root_keys = [SigningKey.generate() for _ in range(2)]
        self.online = [SigningKey.generate()]
        now = datetime.now(UTC)  # readers refuse a root valid beyond two years, a checkpoint beyond 7 days
        self.issued, self.expires = format_time(now), format_time(now + timedelta(days=1))
        self.root = Root(ORIGIN, 1, format_time(now + timedelta(days=365)), {k.id: k.public for k in self.root_keys}, 2,
                         {k.id: k.public for k in self.online}, 1)
        self.root_text = canonical(seal(self.root.signed(), self.root_keys)).decode()
        batch = generate.build(n, 42, ORIGIN)
        records: list[tuple[str, str, dict[str, Any]]] = []
        for o in batch.organisations:
            if o.visibility.value == "public":
                records.append(("organisation", o.id, bodies.organisation_body(o, "public")))
        public = {o.id for o in batch.organisations if o.visibility.value == "public"}
        for s in batch.services:
            if s.visibility.value == "public" and s.organisation in public:
                records.append(("service", s.id, bodies.service_body(s, "public")))
        self.records = records[:n]
        self.entries: list[tuple[str, str]] = []  # canonical (entry, body)
        self.tree = merkle.Tree()
        started = time.perf_counter()
        for kind, rid, body in self.records:
            self.append(kind, rid, 1, body)
        self.sign_seconds = time.perf_counter() - started

    def append(self, kind: str, rid: str, revision: int, body: dict[str, Any]) -> None:
        envelope = feed.entry(ORIGIN, "public", len(self.entries), kind, rid, revision, "upsert", body, True,
                              self.online)
        self.entries.append((canonical(envelope).decode(), canonical(body).decode()))
        self.tree.append(merkle.leaf_hash(canonical(envelope["signed"])))

    def page(self, after: int) -> bytes:
        size = len(self.entries)
        cp = canonical(feed.checkpoint(ORIGIN, "public", size, self.tree.root(size), self.issued, self.expires,
                                       self.online)).decode()
        end = min(after + PAGE, size)
        parts = ",".join('{"body":' + b + ',"entry":' + e + "}" for e, b in self.entries[after:end])
        proof = ",".join(f'"{p.hex()}"' for p in (self.tree.consistency(end, size) if 0 < end < size else []))
        return f'{{"checkpoint":{cp},"entries":[{parts}],"proof":[{proof}]}}'.encode()

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            return JSONResponse({"directory": ORIGIN, "root": {"version": 1}})

        async def root(request: Request) -> Response:
            return Response(self.root_text.encode(), media_type="application/json")

        async def page(request: Request) -> Response:
            return Response(self.page(int(request.query_params["after"])), media_type="application/json")

        async def change(request: Request) -> Response:  # the publisher changes its first 100 records
            for kind, rid, body in self.records[:100]:
                self.append(kind, rid, 2, dict(body, description="changed"))
            return JSONResponse({"size": len(self.entries)})

        return Starlette(routes=[Route("/.well-known/protection-directory.json", discovery),
                                 Route("/federation/roots/1.json", root), Route("/federation/feeds/public", page),
                                 Route("/bench/change", change, methods=["POST"])])


def _serve(log: Log) -> tuple[multiprocessing.Process, str]:
    """The publisher in a process of its own, so serving pages takes no CPU from the reader's process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = multiprocessing.get_context("fork").Process(
        target=uvicorn.run, args=(log.app(),), kwargs={"host": "127.0.0.1", "port": port, "log_level": "warning"},
        daemon=True)
    process.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{url}/.well-known/protection-directory.json", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return process, url


def raw_verify(log: Log) -> float:
    """Entries per second: only PyNaCl checking each entry's signature over its signed bytes."""
    key = nacl.signing.VerifyKey(log.online[0].public)
    items = []
    for entry_text, _ in log.entries:
        envelope = parse(entry_text.encode(), "entry")
        items.append((canonical(envelope["signed"]), unb64(envelope["signatures"][0]["sig"], "sig")))
    started = time.perf_counter()
    for message, signature in items:
        key.verify(message, signature)
    return len(items) / (time.perf_counter() - started)


def verify_only(log: Log) -> float:
    """Entries per second through strict parsing and `verify_page`, no network and no store."""
    pages = [log.page(after) for after in range(0, len(log.entries), PAGE)]
    state = feed.PeerState()
    started = time.perf_counter()
    for raw in pages:
        state = feed.verify_page(log.root, "public", parse(raw, "page"), state, _now(), lambda k, i: None).state
    return len(log.entries) / (time.perf_counter() - started)


def _now() -> Any:
    from datetime import UTC, datetime
    return datetime.now(UTC)


async def _sync(store: Store, url: str, log: Log) -> tuple[float, int]:
    started = time.perf_counter()
    [outcome] = await Syncer(store).sync_all(force=True)
    assert not outcome.error, outcome.error
    assert not outcome.dropped, outcome.reasons[:3]  # every generated record passes the import's checks
    return time.perf_counter() - started, outcome.entries


def run(n: int) -> dict[str, Any]:
    log = Log(n)
    size = sum(len(log.page(a)) for a in range(0, len(log.entries), PAGE))
    zipped = sum(len(gzip.compress(log.page(a), 6)) for a in range(0, len(log.entries), PAGE))
    raw = raw_verify(log)
    only = verify_only(log)
    server, url = _serve(log)
    try:
        with tempfile.TemporaryDirectory(prefix="pd-bench-fed-") as tmp:
            data = Path(tmp) / "data"
            embedded = EmbeddedStore(data, heap=HEAP).attach()
            try:
                settings = Settings(data_dir=data, directory_id="reader", store_heap=HEAP)

                async def measure() -> tuple[float, int, float]:
                    async with open_store(settings) as store:
                        await peers.add(store.graph, peers.Peer(ORIGIN, url, log.root.fingerprint, log.root_text, 1,
                                                                False, 100, "2026-11-21T00:00:00Z"))
                        first, entries = await _sync(store, url, log)
                        httpx.post(f"{url}/bench/change", timeout=60)
                        again, changed = await _sync(store, url, log)
                        assert changed == 100
                        return first, entries, again

                first, entries, again = asyncio.run(measure())
            finally:
                embedded.stop()
    finally:
        server.terminate()
    rate = entries / first
    out = {"entries": entries, "first_s": first, "rate": rate, "raw": raw, "verify_only": only,
           "ratio": rate / raw, "bytes_per_entry": size / n, "gzip_per_entry": zipped / n, "incremental_s": again,
           "publisher_signing_rate": n / log.sign_seconds}
    print(f"federation {n}: first sync {first:.1f} s = {rate:.0f} entries/s (verify+merge); raw Ed25519 verify "
          f"{raw:.0f}/s; ratio {rate / raw:.2f}; parse+verify_page only {only:.0f}/s; "
          f"{size / n:.0f} bytes/entry ({zipped / n:.0f} gzipped); incremental 100 changes {again:.2f} s; "
          f"publisher signs {n / log.sign_seconds:.0f} entries/s")
    return out
