"""A first sync of a peer's feed of n entries, and an incremental one of 100 changes, next to raw
Ed25519 verification of the same entries in the same run.

The peer is a log of the generated directory's records (organisations first, then services),
signed and served over loopback HTTP, from a process of its own, exactly as `federation.publish`
serves pages (canonical pages of 1,000 entries with consistency proofs). The reader is the real
`Syncer` into a fresh embedded store: fetch, strict parse, `verify_page`, body checks, and the
merge transaction with its cursor. Then a second peer's log of n entries is synced into the same
store, now running: the first sync timed a JVM compiling its write paths as much as the sync (a
service's store has compiled them long before). Each first sync reports the CPU per entry of our
process, the store's threads and the store's JIT compiler. Beside them:
- raw verify: PyNaCl verifying each entry's signature over its canonical signed bytes, nothing else;
- verify only: the same pages through `parse` and `verify_page`, no store, to show where time goes.
"""

from __future__ import annotations

import asyncio
import gc
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

from bench.warm import compiler_cpu
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

    def __init__(self, n: int, origin: str = ORIGIN) -> None:
        self.origin = origin
        self.root_keys = [SigningKey.generate() for _ in range(2)]
        self.online = [SigningKey.generate()]
        now = datetime.now(UTC)  # readers refuse a root valid beyond two years, a checkpoint beyond 7 days
        self.issued, self.expires = format_time(now), format_time(now + timedelta(days=1))
        self.root = Root(origin, 1, format_time(now + timedelta(days=365)), {k.id: k.public for k in self.root_keys}, 2,
                         {k.id: k.public for k in self.online}, 1)
        self.root_text = canonical(seal(self.root.signed(), self.root_keys)).decode()
        batch = generate.build(n, 42, origin)
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
        envelope = feed.entry(self.origin, "public", len(self.entries), kind, rid, revision, "upsert", body, True,
                              self.online)
        self.entries.append((canonical(envelope).decode(), canonical(body).decode()))
        self.tree.append(merkle.leaf_hash(canonical(envelope["signed"])))

    def page(self, after: int) -> bytes:
        size = len(self.entries)
        cp = canonical(feed.checkpoint(self.origin, "public", size, self.tree.root(size), self.issued, self.expires,
                                       self.online)).decode()
        end = min(after + PAGE, size)
        parts = ",".join('{"body":' + b + ',"entry":' + e + "}" for e, b in self.entries[after:end])
        proof = ",".join(f'"{p.hex()}"' for p in (self.tree.consistency(end, size) if 0 < end < size else []))
        return f'{{"checkpoint":{cp},"entries":[{parts}],"proof":[{proof}]}}'.encode()

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            return JSONResponse({"directory": self.origin, "root": {"version": 1}})

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


async def _sync(store: Store, log: Log) -> tuple[float, int]:
    started = time.perf_counter()
    [outcome] = await Syncer(store).sync_all(only=log.origin, force=True)
    assert not outcome.error, outcome.error
    assert not outcome.dropped, outcome.reasons[:3]  # every generated record passes the import's checks
    return time.perf_counter() - started, outcome.entries


async def _timed_sync(store: Store, log: Log, pid: int | None) -> dict[str, float]:
    """A first sync with the CPU it took: our process's, the store's, and its JIT compiler's part."""
    before, python = compiler_cpu(pid), time.process_time()
    seconds, entries = await _sync(store, log)
    compiling, total = (a - b for a, b in zip(compiler_cpu(pid), before, strict=True))
    return {"seconds": seconds, "entries": entries, "python_cpu": time.process_time() - python,
            "store_cpu": total, "compiler_cpu": compiling}


async def _add(store: Store, log: Log, url: str) -> None:
    # a peer the steward knows to be large: its whole log is taken, as the rate is what is timed
    await peers.add(store.graph, peers.Peer(log.origin, url, log.root.fingerprint, log.root_text, 1, False, 100,
                                            "2026-11-21T00:00:00Z", max_bytes=1024 ** 3))


def run(n: int) -> dict[str, Any]:
    log, other = Log(n), Log(n, "peer-two")
    gc.collect()  # the benchmark's own logs out of the collector's walks: a service holds no peer's log
    gc.freeze()
    size = sum(len(log.page(a)) for a in range(0, len(log.entries), PAGE))
    zipped = sum(len(gzip.compress(log.page(a), 6)) for a in range(0, len(log.entries), PAGE))
    raw = raw_verify(log)
    only = verify_only(log)
    server, url = _serve(log)
    other_server, other_url = _serve(other)
    try:
        with tempfile.TemporaryDirectory(prefix="pd-bench-fed-") as tmp:
            data = Path(tmp) / "data"
            embedded = EmbeddedStore(data, heap=HEAP).attach()
            pid = embedded.process.pid if embedded.process else None
            try:
                settings = Settings(data_dir=data, directory_id="reader", store_heap=HEAP)

                async def measure() -> tuple[dict[str, float], float, dict[str, float]]:
                    async with open_store(settings) as store:
                        await _add(store, log, url)
                        cold = await _timed_sync(store, log, pid)
                        httpx.post(f"{url}/bench/change", timeout=60)
                        again, changed = await _sync(store, log)
                        assert changed == 100
                        # A second peer's first sync, into the store now running: its JVM has compiled
                        # the write paths, as a service's has, so this times the sync, not the warm-up.
                        await _add(store, other, other_url)
                        return cold, again, await _timed_sync(store, other, pid)

                cold, again, warm = asyncio.run(measure())
            finally:
                embedded.stop()
    finally:
        server.terminate()
        other_server.terminate()
    out: dict[str, Any] = {"raw": raw, "verify_only": only, "bytes_per_entry": size / n,
                           "gzip_per_entry": zipped / n, "incremental_s": again,
                           "publisher_signing_rate": n / log.sign_seconds}
    for name, timed in (("cold", cold), ("warm", warm)):
        rate = timed["entries"] / timed["seconds"]
        out[name] = dict(timed, rate=rate, ratio=rate / raw)
    print(f"federation {n}: raw Ed25519 verify {raw:.0f}/s; parse+verify_page only {only:.0f}/s "
          f"({only / raw:.2f} of raw); {size / n:.0f} bytes/entry ({zipped / n:.0f} gzipped); "
          f"incremental 100 changes {again:.2f} s; publisher signs {n / log.sign_seconds:.0f} entries/s")
    for name, said in (("cold", "first sync, store just started"), ("warm", "first sync of a second peer")):
        t = out[name]
        print(f"  {said}: {t['seconds']:.1f} s = {t['rate']:.0f} entries/s (verify+merge), ratio {t['ratio']:.2f}; "
              f"CPU per entry: ours {1000 * t['python_cpu'] / t['entries']:.2f} ms, the store's "
              f"{1000 * (t['store_cpu'] - t['compiler_cpu']) / t['entries']:.2f} ms and its JIT compiler's "
              f"{1000 * t['compiler_cpu'] / t['entries']:.2f} ms")
    return out
