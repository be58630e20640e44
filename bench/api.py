"""The GraphQL API on a generated directory: each figure next to its peer from the same run.

- lookup: `organisation(id)` through HTTP and GraphQL, against the same indexed lookup through the
  bare driver (same visibility predicate), one client, keep-alive (see `_lookups` for the clients);
- search and filtered listing: p50/p95 with 8 concurrent clients, and requests per second, in a
  first round, then with other inputs once the store's JIT compiler has caught up (the steady
  state; `bench.warm`);
- hidden against missing: the same lookup for a restricted id and an unknown id, interleaved, to
  show no timing difference worth measuring.

The service runs as `directory serve` in its own process (one uvicorn worker), as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from bench.warm import compiler_cpu, compiler_share, warm
from directory.base.config import Settings
from directory.domain.viewer import ANONYMOUS
from directory.exchange import generate
from directory.exchange.importer import Batch
from directory.store import EmbeddedStore, Store, open_store
from directory.store.engine.cypher import cypher, visible
from directory.store.engine.graph import make_driver

HEAP = "2g"
CLIENTS = 8
LOOKUP = "query($id: ID!) { organisation(id: $id) { recordId name kind } }"
BARE_LOOKUP = cypher("bench.bare_lookup", f"""
MATCH (n:Organisation {{id: $id}}) WHERE {visible('n')}
RETURN n.id AS id, n.name AS name, n.kind AS kind
""")
LISTING = """query($filter: ListFilter) { organisations(filter: $filter, first: 20) {
  totalCount edges { node { recordId name location { country } } } } }"""
SEARCH = "query($text: String!) { search(text: $text, first: 20) { totalCount edges { score organisation { name } } } }"
# What an organisation's page shows, asked of GraphQL: the page's peer.
ORGANISATION_PAGE = """query($id: ID!) { organisation(id: $id) { recordId name kind aliases description website
  languages contactChannels location { country subdivision precision } verified { on by source }
  services { recordId name type status statusSince statusReason description applicationProcess hours exclusions
             eligibility intake { kind value } intakeWindows { opens closes note } intakeLanguages groups purposes
             origins languages responseHours cost coverage { place presence } verified { on by } }
  out: links(direction: OUTGOING) { type target { recordId name } }
  in: links(direction: INCOMING) { type source { recordId name } } } }"""


T = TypeVar("T")


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50": ordered[len(ordered) // 2] * 1000, "p95": ordered[int(len(ordered) * 0.95)] * 1000}


async def write_batch(settings: Settings, batch: Batch) -> None:
    """A generated directory into the store, in transactions of 20,000 records of one kind."""
    async with open_store(settings) as store:
        step = 20_000
        for i in range(0, len(batch.organisations), step):
            await store.upsert(batch.organisations[i:i + step], [], [])
        for i in range(0, len(batch.services), step):
            await store.upsert([], batch.services[i:i + step], [])
        for i in range(0, len(batch.links), step):
            await store.upsert([], [], batch.links[i:i + step])


def on_generated(n: int, prefix: str, heap: str,
                 measure: Callable[[Store, Settings, EmbeddedStore, Batch], Awaitable[T]]) -> T:
    """Run `measure` on a fresh store holding the generated directory of `n` organisations (seed 42)."""
    batch = generate.build(n, 42, "bench")
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        data = Path(tmp) / "data"
        embedded = EmbeddedStore(data, heap=heap).attach()
        try:
            settings = Settings(data_dir=data, directory_id="bench", store_heap=heap)
            asyncio.run(write_batch(settings, batch))

            async def run() -> T:
                async with open_store(settings) as store:
                    return await measure(store, settings, embedded, batch)

            return asyncio.run(run())
        finally:
            embedded.stop()


async def _load(settings: Settings, n: int) -> dict[str, Any]:
    batch = generate.build(n, 42, "bench")
    await write_batch(settings, batch)
    public = [o.id for o in batch.organisations if o.visibility.value == "public"]
    restricted = [o.id for o in batch.organisations if o.visibility.value == "restricted"]
    return {"public": public, "restricted": restricted, "names": [o.name for o in batch.organisations]}


async def _timed(call: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start


async def _timed_or_over(call: Callable[[], Awaitable[Any]], over: list[float]) -> float:
    start = time.perf_counter()
    try:
        await call()
    except OverBudget:
        over.append(1.0)
    return time.perf_counter() - start


class OverBudget(Exception):
    """The service stopped the request at its time budget: counted, not fatal."""


def _checked(status: int, body: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL answer that must have succeeded; `OverBudget` when the service stopped it at its budget."""
    if body.get("errors") and body["errors"][0].get("extensions", {}).get("code") == "TIME_BUDGET":
        raise OverBudget
    if status != 200 or body.get("errors"):
        raise RuntimeError(f"benchmark request failed: {body}")
    return body


async def _post(client: httpx.AsyncClient, query: str, **variables: Any) -> None:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    _checked(response.status_code, response.json())


class LightClient:
    """One kept-alive HTTP/1.1 connection that posts GraphQL and reads the answer, and little else.

    httpx spends about 1 ms of its own Python per request here; eight of them in the benchmark's
    process took about a quarter of the two cores from the service under test. Real clients are not
    on the server's machine, so the steady state is also measured with this one (about 0.1 ms)."""

    def __init__(self, url: str) -> None:
        address = urlsplit(url)
        self.host, self.port = address.hostname or "127.0.0.1", address.port or 80
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, query: str, **variables: Any) -> None:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        body = json.dumps({"query": query, "variables": variables}).encode()
        writer.write(b"POST /graphql HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (self.host.encode(), len(body), body))
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        status = int(head.split(" ", 2)[1])
        length = next((int(line.split(":", 1)[1]) for line in head.split("\r\n") if line.startswith("content-length:")),
                      None)
        if length is None:
            raise RuntimeError(f"benchmark request: no content-length in {head!r}")
        _checked(status, json.loads(await reader.readexactly(length)))

    async def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            await self._streams[1].wait_closed()


async def _lookups(url: str, embedded: EmbeddedStore, ids: list[str]) -> dict[str, Any]:
    """Medians of one lookup, each way interleaved request by request so all see the same machine state.

    Ours is timed with two clients: httpx (about 1 ms of its own Python per request on this machine)
    and the standard library's keep-alive `http.client` (about 0.15 ms), which leaves the service's
    own time; the ratio is taken with the light one. The bare driver runs the statement both in a
    managed transaction (`execute_read`: begin, run, commit) and as one auto-commit round trip, the
    way the service reads one statement."""
    driver = make_driver(embedded.uri, embedded.auth)
    times: dict[str, list[float]] = {"ours": [], "ours_httpx": [], "bare": [], "bare_autocommit": []}

    async def bare_call(record_id: str) -> None:
        async def work(tx: Any) -> list[dict[str, Any]]:
            return [r.data() async for r in await tx.run(BARE_LOOKUP, id=record_id, **ANONYMOUS.params)]

        async with driver.session(database="directory") as session:
            await session.execute_read(work)

    async def bare_autocommit(record_id: str) -> None:
        async with driver.session(database="directory") as session:
            result = await session.run(BARE_LOOKUP, id=record_id, **ANONYMOUS.params)
            [r.data() async for r in result]

    address = urlsplit(url)
    light = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=30)

    async def light_call(record_id: str) -> None:  # blocking, but nothing else runs meanwhile
        light.request("POST", "/graphql", body=json.dumps({"query": LOOKUP, "variables": {"id": record_id}}),
                      headers={"Content-Type": "application/json"})
        response = light.getresponse()
        body = _checked(response.status, json.loads(response.read()))
        if not body["data"]["organisation"]:
            raise RuntimeError(f"benchmark request failed: {body}")

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        calls: dict[str, Callable[[str], Awaitable[None]]] = {
            "ours": light_call, "ours_httpx": lambda i: _post(client, LOOKUP, id=i), "bare": bare_call,
            "bare_autocommit": bare_autocommit}
        for warm in ids[:50]:
            for call in calls.values():
                await call(warm)
        for record_id in ids:
            for name, call in calls.items():
                times[name].append(await _timed(lambda c=call, i=record_id: c(i)))  # type: ignore[misc]
    light.close()
    await driver.close()
    out = {f"{name}_ms": statistics.median(samples) * 1000 for name, samples in times.items()}
    return dict(out, ratio=out["ours_ms"] / out["bare_ms"], ratio_autocommit=out["ours_ms"] / out["bare_autocommit_ms"],
                ratio_httpx=out["ours_httpx_ms"] / out["bare_ms"])


@contextlib.asynccontextmanager
async def _client(url: str, light: bool) -> AsyncIterator[Callable[..., Awaitable[None]]]:
    """A client's `post(query, **variables)`: a `LightClient`, or httpx."""
    if light:
        client = LightClient(url)
        try:
            yield client.post
        finally:
            await client.close()
    else:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            yield lambda query, **variables: _post(http, query, **variables)


async def _concurrent(url: str, make: Callable[[random.Random], tuple[str, dict[str, Any]]],
                      per_client: int, seeds: int = 0, light: bool = False) -> dict[str, float]:
    """8 clients, each asking `per_client` questions one after the other; httpx, or `LightClient`."""
    samples: list[float] = []
    over: list[float] = []

    async def client_loop(seed: int) -> None:
        rng = random.Random(seeds + seed)
        async with _client(url, light) as post:
            for _ in range(per_client):
                query, variables = make(rng)
                samples.append(await _timed_or_over(lambda q=query, v=variables: post(q, **v), over))  # type: ignore[misc]

    start = time.perf_counter()
    await asyncio.gather(*(client_loop(i) for i in range(CLIENTS)))
    elapsed = time.perf_counter() - start
    return dict(_percentiles(samples), rps=len(samples) / elapsed, over_budget=len(over), requests=len(samples))


async def _warm(url: str, store_pid: int | None,
                questions: list[tuple[Callable[[random.Random], tuple[str, dict[str, Any]]], int]]) -> dict[str, Any]:
    """Ask the questions (each `count` times by each of the 8 clients), with inputs of their own, until
    the store's JIT compiler has caught up (`bench.warm`)."""
    async def ask(number: int) -> int:
        return sum([int((await _concurrent(url, make, count, 10_000 + 100 * number))["requests"])
                    for make, count in questions])

    return await warm(store_pid, ask)


async def _pages(url: str, make: Callable[[random.Random], tuple[str, str, dict[str, str]]],
                 per_client: int, seeds: int = 0) -> dict[str, float]:
    """A page (GET, or POST with a form) with 8 concurrent clients, as `_concurrent` asks GraphQL."""
    samples: list[float] = []

    async def client_loop(seed: int) -> None:
        rng = random.Random(seeds + seed)
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            for _ in range(per_client):
                method, path, form = make(rng)

                async def call(m: str = method, p: str = path, f: dict[str, str] = form) -> None:
                    response = await client.request(m, p, data=f or None)
                    if response.status_code != 200:
                        raise RuntimeError(f"{p}: {response.status_code}")
                samples.append(await _timed(call))

    start = time.perf_counter()
    await asyncio.gather(*(client_loop(i) for i in range(CLIENTS)))
    elapsed = time.perf_counter() - start
    return dict(_percentiles(samples), rps=len(samples) / elapsed, requests=len(samples))


async def _hidden_vs_missing(url: str, restricted: list[str], rounds: int = 300) -> dict[str, float]:
    hidden: list[float] = []
    missing: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for i in range(rounds):
            hidden_id, missing_id = restricted[i % len(restricted)], f"bench:no-such-{i:07d}"
            hidden.append(await _timed(lambda h=hidden_id: _post(client, LOOKUP, id=h)))  # type: ignore[misc]
            missing.append(await _timed(lambda m=missing_id: _post(client, LOOKUP, id=m)))  # type: ignore[misc]
    h, m = statistics.median(hidden) * 1000, statistics.median(missing) * 1000
    spread = (statistics.quantiles(missing, n=4)[2] - statistics.quantiles(missing, n=4)[0]) * 1000
    return {"hidden_ms": h, "missing_ms": m, "difference_ms": h - m, "missing_iqr_ms": spread}


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the service stopped during start-up")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the service did not start")


def run(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pd-bench-api-") as tmp:
        data = Path(tmp) / "data"
        embedded = EmbeddedStore(data, heap=HEAP).attach()
        try:
            settings = Settings(data_dir=data, directory_id="bench", store_heap=HEAP)
            loaded = asyncio.run(_load(settings, n))
            port = 18000 + random.randrange(1000)
            env = dict(os.environ, DIRECTORY_DATA=str(data), DIRECTORY_ID="bench", DIRECTORY_PORT=str(port))
            server = subprocess.Popen([sys.executable, "-m", "directory.cli", "serve"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            url = f"http://127.0.0.1:{port}"
            try:
                _wait_for(url, server)
                return asyncio.run(_measure(url, embedded, loaded, n))
            finally:
                server.terminate()
                server.wait(timeout=30)
        finally:
            embedded.stop()


async def _measure(url: str, embedded: EmbeddedStore, loaded: dict[str, Any], n: int) -> dict[str, Any]:
    rng = random.Random(7)
    ids = rng.sample(loaded["public"], 500)
    countries = ["CO", "KE", "PH", "MX", "UG", "GT", "TH", "LB", "GE", "KG", "BR", "IN"]
    types = ["legal-aid", "emergency-grant", "digital-security", "relocation-regional", "medical-care"]

    def listing(r: random.Random) -> tuple[str, dict[str, Any]]:
        return LISTING, {"filter": {"country": r.choice(countries), "serviceType": r.choice(types)}}

    def search(r: random.Random) -> tuple[str, dict[str, Any]]:
        name = r.choice(loaded["names"]).lower().replace("synthetic ", "")
        words = name.split()
        if r.random() < 0.5 and len(words[0]) > 6:  # a typo in the kind word
            words[0] = words[0][:3] + words[0][4:]
        return SEARCH, {"text": " ".join(words)}

    result: dict[str, Any] = {"orgs": n, "lookup": await _lookups(url, embedded, ids)}
    lookup = result["lookup"]
    print(f"lookup {n}: GraphQL {lookup['ours_ms']:.2f} ms (httpx {lookup['ours_httpx_ms']:.2f}), bare driver "
          f"{lookup['bare_ms']:.2f} ms (auto-commit {lookup['bare_autocommit_ms']:.2f}), ratio {lookup['ratio']:.2f} "
          f"(httpx {lookup['ratio_httpx']:.2f}, against auto-commit {lookup['ratio_autocommit']:.2f})", flush=True)
    per_client = 40 if n <= 10_000 else 8
    # Each question three times, with other inputs each time: the first round is the store and the
    # process meeting that question's statements for the first time (the JVM compiling them); then the
    # mix is asked until the store's compiler has caught up (`_warm`); then the steady state the targets
    # are about, and the same with `LightClient` instead of httpx. All are reported, with the share of
    # the store's CPU its JIT compiler took during each round.
    questions = (("lookup_8", lambda r: (LOOKUP, {"id": r.choice(ids)}), 100), ("search_8", search, per_client),
                 ("listing_8", listing, per_client))
    store_pid = embedded.process.pid if embedded.process else None

    async def measured(name: str, make: Callable[[random.Random], tuple[str, dict[str, Any]]], count: int,
                       seeds: int, light: bool) -> None:
        before = compiler_cpu(store_pid)
        r = result[name] = await _concurrent(url, make, count, seeds, light)
        r["compiler_share"] = compiler_share(before, compiler_cpu(store_pid))
        print(f"{name} {n}: p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, {r['rps']:.1f} req/s, "
              f"{r['over_budget']:.0f} of {r['requests']:.0f} over the time budget, the store's compiler "
              f"{r['compiler_share']:.0%} of its CPU", flush=True)

    for key, make, count in questions:
        await measured(f"{key}_first", make, count, 0, False)
    w = result["warm"] = await _warm(url, store_pid, [(make, count) for _, make, count in questions])
    print(f"warm-up {n}: {w['requests']} requests in {w['rounds']} rounds, the store's compiler share by "
          f"round {', '.join(f'{s:.0%}' for s in w['compiler_shares'])}", flush=True)
    for key, make, count in questions:
        await measured(key, make, count, 1000, False)
        await measured(f"{key}_light", make, count, 2000, True)

    def page_listing(r: random.Random) -> tuple[str, str, dict[str, str]]:
        return "POST", "/", {"country": r.choice(countries), "serviceType": r.choice(types)}

    def page_organisation(r: random.Random) -> tuple[str, str, dict[str, str]]:
        return "GET", f"/organisations/{r.choice(ids)}", {}

    pairs = (("page_listing_8", page_listing, "listing_8"),
             ("page_organisation_8", page_organisation, "graphql_organisation_8"))
    for seeds in (0, 1000):  # a first round, then the steady state (see above); the second is reported
        result["graphql_organisation_8"] = await _concurrent(
            url, lambda r: (ORGANISATION_PAGE, {"id": r.choice(ids)}), per_client, seeds)

    async def ask_pages(number: int) -> int:  # the pages' own statements, until compiled (`bench.warm`)
        return sum([int((await _pages(url, make, per_client, 10_000 + 100 * number))["requests"])
                    for _, make, _ in pairs])

    w = result["pages_warm"] = await warm(store_pid, ask_pages)
    print(f"pages warm-up {n}: {w['requests']} requests in {w['rounds']} rounds, the store's compiler share by "
          f"round {', '.join(f'{s:.0%}' for s in w['compiler_shares'])}", flush=True)
    for key, make_page, peer in pairs:
        r = result[key] = await _pages(url, make_page, per_client, 1000)
        g = result[peer]
        print(f"{key} {n}: p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, {r['rps']:.1f} req/s; the same through "
              f"GraphQL ({peer}): p50 {g['p50']:.1f} ms, p95 {g['p95']:.1f} ms; p50 ratio {r['p50'] / g['p50']:.2f}",
              flush=True)
    result["timing"] = await _hidden_vs_missing(url, loaded["restricted"])
    t = result["timing"]
    print(f"hidden vs missing {n}: {t['hidden_ms']:.2f} ms vs {t['missing_ms']:.2f} ms "
          f"(difference {t['difference_ms']:+.2f} ms; spread of one {t['missing_iqr_ms']:.2f} ms)", flush=True)
    return result
