"""Import of generated directories: our whole import (CSV, validation, upsert) against the bare driver.

The peer writes exactly the same nodes and relationships with plain `UNWIND ... MERGE` statements
in batches of 5,000 through the same driver, into an empty store of its own, with no validation,
no change detection and no single transaction. Rate = organisations per second, services and
links included in both.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.machine import rss_mb
from directory.base.config import Settings
from directory.domain.model import LINK_TYPES
from directory.exchange import generate, importer
from directory.formats import hxl
from directory.store import Store, open_store

HEAP = "2g"
BARE = {
    "orgs": "UNWIND $rows AS r MERGE (n:Organisation {id: r.id}) SET n += r.props",
    "services": "UNWIND $rows AS r MERGE (n:Service {id: r.id}) SET n += r.props",
    "based_in": "UNWIND $rows AS r MATCH (n:Organisation {id: r.id}) MATCH (p:Place {code: r.place}) "
                "MERGE (n)-[:BASED_IN]->(p)",
    "offers": "UNWIND $rows AS r MATCH (o:Organisation {id: r.org}) MATCH (s:Service {id: r.id}) "
              "MERGE (o)-[:OFFERS]->(s)",
    "coverage": "UNWIND $rows AS r MATCH (s:Service {id: r.id}) MATCH (p:Place {code: r.place}) "
                "MERGE (s)-[a:AVAILABLE_IN]->(p) SET a.presence = r.presence",
    "groups": "UNWIND $rows AS r MATCH (s:Service {id: r.id}) MATCH (g:DefenderGroup {code: r.group}) "
              "MERGE (s)-[:SERVES]->(g)",
}
for t in LINK_TYPES:
    BARE[t] = (f"UNWIND $rows AS r MATCH (a:Organisation {{id: r.source}}) MATCH (b:Organisation {{id: r.target}}) "
               f"MERGE (a)-[l:{t} {{key: r.key}}]->(b) SET l += r.props")


def _bare_rows(batch: importer.Batch) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in BARE}
    for o in batch.organisations:
        loc = o.location
        rows["orgs"].append({"id": o.id, "props": {
            "name": o.name, "kind": o.kind, "visibility": o.visibility.value, "owner": o.id,
            "description": o.description,
            "languages": o.languages, "contact_channels": o.contact_channels, "identifiers": o.identifiers,
            "latitude": loc.latitude if loc else None, "longitude": loc.longitude if loc else None,
            "precision": loc.precision.value if loc else "hidden", "country": loc.country if loc else None}})
        if loc and loc.country:
            rows["based_in"].append({"id": o.id, "place": loc.country})
    for s in batch.services:
        rows["services"].append({"id": s.id, "props": {
            "organisation": s.organisation, "owner": s.organisation, "name": s.name, "type": s.type,
            "visibility": s.visibility.value, "capacity": s.capacity, "response_hours": s.response_hours,
            "languages": s.languages}})
        rows["offers"].append({"id": s.id, "org": s.organisation})
        rows["coverage"] += [{"id": s.id, "place": c.place, "presence": c.presence.value} for c in s.coverage]
        rows["groups"] += [{"id": s.id, "group": g} for g in s.groups]
    for lk in batch.links:
        rows[lk.type].append({"source": lk.source, "target": lk.target, "key": lk.key,
                              "props": dict(lk.properties, visibility=lk.visibility.value)})
    return rows


async def _bare(store: Store, batch: importer.Batch) -> float:
    rows = _bare_rows(batch)
    driver = store.graph.driver
    start = time.perf_counter()
    async def write(tx: Any, query: str, chunk: list[dict[str, Any]]) -> None:
        await (await tx.run(query, rows=chunk)).consume()

    async with driver.session(database=store.graph.database) as session:
        for name, query in BARE.items():
            for i in range(0, len(rows[name]), 5000):
                await session.execute_write(write, query, rows[name][i:i + 5000])
    return time.perf_counter() - start


async def _ours(store: Store, folder: Path) -> float:
    start = time.perf_counter()
    inputs = []
    for name in ("organisations.csv", "services.csv", "links.csv"):
        kind, rows = hxl.read((folder / name).read_bytes(), name)
        inputs.append(importer.Parsed(name, kind, rows))
    await importer.run(store, inputs)
    return time.perf_counter() - start


async def _run_one(n: int, which: str, work: Path) -> dict[str, float]:
    settings = Settings(data_dir=work / f"{which}-{n}", directory_id="bench", store_heap=HEAP)
    async with open_store(settings) as store:
        assert store.embedded is not None and store.embedded.process is not None
        if which == "ours":
            folder = work / f"csv-{n}"
            generate.write_csv(folder, n, 42, "bench")
            seconds = await _ours(store, folder)
        else:
            seconds = await _bare(store, generate.build(n, 42, "bench"))
        rss, peak = rss_mb(store.embedded.process.pid)
    return {"seconds": seconds, "rate": n / seconds, "rss_mb": rss, "peak_mb": peak}


def _best(runs: list[dict[str, float]]) -> dict[str, float]:
    return min(runs, key=lambda r: r["seconds"])


def run(sizes: list[int], repeats: dict[int, int] | None = None) -> list[dict[str, Any]]:
    """Each size in fresh stores, ours and the bare driver alternating; the best run of each counts."""
    results = []
    with tempfile.TemporaryDirectory(prefix="pd-bench-") as tmp:
        work = Path(tmp)
        for n in sizes:
            batch = generate.build(n, 42, "bench")
            ours_runs, bare_runs = [], []
            for attempt in range((repeats or {}).get(n, 1)):
                ours_runs.append(asyncio.run(_run_one(n, "ours", work / f"{attempt}")))
                bare_runs.append(asyncio.run(_run_one(n, "bare", work / f"{attempt}")))
            ours, bare = _best(ours_runs), _best(bare_runs)
            results.append({
                "orgs": n, "services": len(batch.services), "links": len(batch.links),
                "coverage": sum(len(s.coverage) for s in batch.services),
                "ours": ours, "bare": bare, "ratio": ours["rate"] / bare["rate"],
                "runs": len(ours_runs), "ours_all": [r["seconds"] for r in ours_runs],
                "bare_all": [r["seconds"] for r in bare_runs],
            })
            print(f"import {n} (best of {len(ours_runs)}): ours {ours['seconds']:.1f} s ({ours['rate']:.0f} orgs/s), "
                  f"bare driver {bare['seconds']:.1f} s ({bare['rate']:.0f} orgs/s), "
                  f"ratio {ours['rate'] / bare['rate']:.2f}; store RSS {ours['rss_mb']:.0f} MB "
                  f"(peak {ours['peak_mb']:.0f} MB)", flush=True)
    return results
