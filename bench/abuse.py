"""`/health` and a small query while 16 anonymous clients keep asking for expensive work.

The service runs as `directory serve` (one uvicorn worker, the default 2 slots for expensive
work) on a generated directory. First at rest: `/health` and a small GraphQL query, one client,
200 times each. Then 16 clients loop on the whole gap matrix and the place counts for 30 s,
while one more client measures `/health` and the small query again. The peer is the same
service at rest: the ratio is p95 under abuse over p95 at rest. Also reported: how the expensive
requests were answered (data, BUSY, TIME_BUDGET) and how long they took.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.api import HEAP, _wait_for, write_batch
from directory.base.config import Settings
from directory.exchange import generate
from directory.store import EmbeddedStore

EXPENSIVE = ["{ coverageGaps(first: 500) { totalCells cells { place serviceType score } } }",
             "{ places { code providers { serviceType present remote } } }"]
SMALL = '{ taxonomy(scheme: "organisation-kind") { code label } }'
ABUSERS = 16
SECONDS = 30.0


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50": ordered[len(ordered) // 2] * 1000, "p95": ordered[int(len(ordered) * 0.95)] * 1000,
            "max": ordered[-1] * 1000}


async def _probe(client: httpx.AsyncClient, health: list[float], small: list[float]) -> None:
    started = time.perf_counter()
    response = await client.get("/health", timeout=30)
    health.append(time.perf_counter() - started)
    assert response.status_code == 200, response.text
    started = time.perf_counter()
    response = await client.post("/graphql", json={"query": SMALL}, timeout=30)
    small.append(time.perf_counter() - started)
    assert "errors" not in response.json(), response.text


async def _measure(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url) as client:
        rest_health: list[float] = []
        rest_small: list[float] = []
        for _ in range(200):
            await _probe(client, rest_health, rest_small)

        stop = time.monotonic() + SECONDS
        answers: Counter[str] = Counter()
        took: list[float] = []

        async def abuser(seed: int) -> None:
            rng = random.Random(seed)
            async with httpx.AsyncClient(base_url=url) as own:
                while time.monotonic() < stop:
                    started = time.perf_counter()
                    body = (await own.post("/graphql", json={"query": rng.choice(EXPENSIVE)}, timeout=120)).json()
                    took.append(time.perf_counter() - started)
                    answers[body["errors"][0]["extensions"].get("code", "ERROR") if "errors" in body else "DATA"] += 1

        abusers = [asyncio.create_task(abuser(i)) for i in range(ABUSERS)]
        await asyncio.sleep(1.0)  # the abusers are at work
        busy_health: list[float] = []
        busy_small: list[float] = []
        while time.monotonic() < stop:
            await _probe(client, busy_health, busy_small)
            await asyncio.sleep(0.05)
        await asyncio.gather(*abusers)
    out = {"rest_health": _percentiles(rest_health), "rest_small": _percentiles(rest_small),
           "busy_health": _percentiles(busy_health), "busy_small": _percentiles(busy_small),
           "expensive": _percentiles(took), "answers": dict(answers)}
    out["ratio_health"] = out["busy_health"]["p95"] / out["rest_health"]["p95"]
    out["ratio_small"] = out["busy_small"]["p95"] / out["rest_small"]["p95"]
    return out


def run(n: int) -> dict[str, Any]:
    batch = generate.build(n, 42, "bench")
    with tempfile.TemporaryDirectory(prefix="pd-bench-abuse-") as tmp:
        data = Path(tmp) / "data"
        embedded = EmbeddedStore(data, heap=HEAP).attach()
        try:
            asyncio.run(write_batch(Settings(data_dir=data, directory_id="bench", store_heap=HEAP), batch))
            port = 19000 + random.randrange(1000)
            env = dict(os.environ, DIRECTORY_DATA=str(data), DIRECTORY_ID="bench", DIRECTORY_PORT=str(port),
                       DIRECTORY_FEDERATION_INTERVAL="0")
            server = subprocess.Popen([sys.executable, "-m", "directory.cli", "serve"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            url = f"http://127.0.0.1:{port}"
            try:
                _wait_for(url, server)
                result = asyncio.run(_measure(url))
            finally:
                server.terminate()
                server.wait(timeout=30)
        finally:
            embedded.stop()
    r = result
    print(f"abuse {n}: /health p95 {r['rest_health']['p95']:.1f} ms at rest, {r['busy_health']['p95']:.1f} ms "
          f"(max {r['busy_health']['max']:.0f}) under {ABUSERS} expensive clients, ratio {r['ratio_health']:.1f}; "
          f"small query p95 {r['rest_small']['p95']:.1f} ms at rest, {r['busy_small']['p95']:.1f} ms "
          f"(max {r['busy_small']['max']:.0f}), ratio {r['ratio_small']:.1f}; expensive answers {r['answers']}, "
          f"p50 {r['expensive']['p50']:.0f} ms, p95 {r['expensive']['p95']:.0f} ms", flush=True)
    return {"orgs": n, **result}
