"""Backup and restore of a generated directory, each next to its lower bound from the same run.

- **backup**: `directory backup --output FILE` as a steward runs it, in its own process, attached
  to the running store (the JVM start is not timed; Python's start and imports are, about 1 s).
  Lower bound: the bare neo4j driver in this process running one statement per kind that returns
  the same rows (each record's properties with its relationships, as the dump's statements read
  them) with no pages and no order, each row JSON-encoded to a file.
- **restore**: `directory restore FILE` in its own process into a fresh, empty store whose schema
  is already made (as `directory` makes it on first use, not timed). Lower bound: the bare driver
  creating the same nodes and relationships with `UNWIND ... CREATE` in managed transactions of
  5,000 rows, from rows already parsed into memory (reading the file is not timed), into another
  fresh store: no streaming, no stubs for forward links, no marker, no clean-up on failure.

Peak memory is the resident peak of the `directory` process (`VmHWM`), so constant memory shows
as the same figure at 10k and 100k. The restored store is dumped again and compared with the
backup byte for byte.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.api import on_generated
from bench.machine import rss_mb
from directory.base.bulk import paused_gc
from directory.base.config import Settings
from directory.domain.model import LINK_TYPES
from directory.exchange.importer import Batch
from directory.store import EmbeddedStore, Store, open_store
from directory.store.backup import dump
from directory.store.engine.graph import make_driver

HEAP = "2g"
REPEATS = {10000: 3}
LINKS = "|".join(LINK_TYPES)
BARE_READ = [
    "MATCH (n:Organisation) RETURN n {.*} AS props, [(n)-[:BASED_IN]->(p:Place) | p.code] AS based_in, "
    f"[(n)-[l:{LINKS}]->(m:Organisation) | {{type: type(l), to: m.id, props: properties(l)}}] AS links",
    "MATCH (s:Service) RETURN s {.*} AS props, [(s)<-[:OFFERS]-(o:Organisation) | o.id] AS offered_by, "
    "[(s)-[a:AVAILABLE_IN]->(p:Place) | {place: p.code, props: properties(a)}] AS available_in, "
    "[(s)-[:SERVES]->(g:DefenderGroup) | g.code] AS serves",
]
BARE_WRITE = {
    "terms": "UNWIND $rows AS r MERGE (t:Term {key: r.key}) SET t = r",
    "orgs": "UNWIND $rows AS r CREATE (n:Organisation) SET n = r",
    "services": "UNWIND $rows AS r CREATE (s:Service) SET s = r",
    "based_in": "UNWIND $rows AS r MATCH (n:Organisation {id: r.from}) MATCH (p:Place {code: r.to}) "
                "CREATE (n)-[:BASED_IN]->(p)",
    "offers": "UNWIND $rows AS r MATCH (o:Organisation {id: r.from}) MATCH (s:Service {id: r.to}) "
              "CREATE (o)-[:OFFERS]->(s)",
    "available_in": "UNWIND $rows AS r MATCH (s:Service {id: r.from}) MATCH (p:Place {code: r.to}) "
                    "CREATE (s)-[a:AVAILABLE_IN]->(p) SET a = r.props",
    "serves": "UNWIND $rows AS r MATCH (s:Service {id: r.from}) MATCH (g:DefenderGroup {code: r.to}) "
              "CREATE (s)-[:SERVES]->(g)",
    **{t: f"UNWIND $rows AS r MATCH (a:Organisation {{id: r.from}}) MATCH (b:Organisation {{id: r.to}}) "
          f"CREATE (a)-[l:{t}]->(b) SET l = r.props" for t in LINK_TYPES},
}


def _cli(data: Path, *args: str) -> tuple[float, float]:
    """Seconds and peak resident MB of one `directory` command.

    The peak is the process's own high-water mark (`VmHWM`), read while it runs: `wait4`'s
    `ru_maxrss` would count the benchmark process's memory that the child had before its exec."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "directory.cli", "--data", str(data), "--id", "bench", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while proc.poll() is None:
        try:
            peak = max(peak, rss_mb(proc.pid)[1])
        except (OSError, ValueError):  # between exit and reaping
            pass
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise RuntimeError(f"directory {args[0]} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return seconds, peak


async def _bare_read(embedded: EmbeddedStore, out: Path) -> float:
    driver = make_driver(embedded.uri, embedded.auth)
    started = time.perf_counter()
    try:
        with out.open("w", encoding="utf-8") as f:
            for query in BARE_READ:
                async def work(tx: Any, query: str = query) -> None:
                    async for record in await tx.run(query):
                        f.write(json.dumps(record.values(), ensure_ascii=False) + "\n")

                async with driver.session(database="directory") as session:
                    await session.execute_read(work)
        return time.perf_counter() - started
    finally:
        await driver.close()


def _rows(backup: Path) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in BARE_WRITE}
    with paused_gc(), backup.open(encoding="utf-8") as f:
        next(f)
        for text in f:
            obj = json.loads(text)
            if "term" in obj:
                rows["terms"].append(obj["term"])
            elif "organisation" in obj:
                oid = obj["organisation"]["id"]
                rows["orgs"].append(obj["organisation"])
                rows["based_in"] += [{"from": oid, "to": c} for c in obj["based_in"]]
                for link in obj["links"]:
                    rows[link["type"]].append({"from": oid, "to": link["to"], "props": link["props"]})
            else:
                sid = obj["service"]["id"]
                rows["services"].append(obj["service"])
                rows["offers"] += [{"from": o, "to": sid} for o in obj["offered_by"]]
                rows["available_in"] += [{"from": sid, "to": a["place"], "props": a["props"]}
                                         for a in obj["available_in"]]
                rows["serves"] += [{"from": sid, "to": g} for g in obj["serves"]]
    return rows


async def _bare_write(embedded: EmbeddedStore, rows: dict[str, list[dict[str, Any]]]) -> float:
    driver = make_driver(embedded.uri, embedded.auth)

    async def write(tx: Any, query: str, chunk: list[dict[str, Any]]) -> None:
        await (await tx.run(query, rows=chunk)).consume()

    started = time.perf_counter()
    try:
        async with driver.session(database="directory") as session:
            for name, query in BARE_WRITE.items():
                for i in range(0, len(rows[name]), 5000):
                    await session.execute_write(write, query, rows[name][i:i + 5000])
        return time.perf_counter() - started
    finally:
        await driver.close()


async def _dump_in_process(settings: Settings, out: Path) -> float:
    """`backup.dump` to a file in this process: `directory backup` without Python's start and the schema check."""
    async with open_store(settings) as store:
        started = time.perf_counter()
        with out.open("w", encoding="utf-8") as f:
            async for line in dump(store.graph, store.directory_id):
                f.write(line + "\n")
        return time.perf_counter() - started


async def _schema(data: Path) -> None:
    async with open_store(Settings(data_dir=data, directory_id="bench", store_heap=HEAP)):
        pass


def _fresh(data: Path) -> EmbeddedStore:
    """A new, empty store with its schema made (not timed)."""
    embedded = EmbeddedStore(data, heap=HEAP).attach()
    asyncio.run(_schema(data))
    return embedded


def _measure_all(n: int, settings: Settings, embedded: EmbeddedStore, work: Path) -> dict[str, Any]:
    data, file = settings.data_dir, work / "backup.jsonl"
    backups, dumps, reads, restores, writes = [], [], [], [], []
    identical = True
    for attempt in range(REPEATS.get(n, 1)):
        backups.append(_cli(data, "backup", "--output", str(file)))
        dumps.append(asyncio.run(_dump_in_process(settings, work / "in-process.jsonl")))
        reads.append(asyncio.run(_bare_read(embedded, work / "bare.jsonl")))
        target = _fresh(work / f"restored-{attempt}")
        try:
            restores.append(_cli(target.data, "restore", str(file)))
            _cli(target.data, "backup", "--output", str(work / "again.jsonl"))
            identical = identical and (work / "again.jsonl").read_bytes() == file.read_bytes()
        finally:
            target.stop()
        rows = _rows(file)
        bare = _fresh(work / f"bare-{attempt}")
        try:
            writes.append(asyncio.run(_bare_write(bare, rows)))
        finally:
            bare.stop()
        del rows
        print(f"backup {n}, run {attempt + 1}: backup {backups[-1][0]:.1f} s, in process {dumps[-1]:.1f} s, "
              f"bare read {reads[-1]:.1f} s, "
              f"restore {restores[-1][0]:.1f} s, bare write {writes[-1]:.1f} s", flush=True)
    with file.open(encoding="utf-8") as f:
        lines = sum(1 for _ in f)
    return {"orgs": n, "lines": lines, "file_mb": file.stat().st_size / 1e6, "identical": identical,
            "backup": min(b[0] for b in backups), "dump": min(dumps), "bare_read": min(reads),
            "restore": min(r[0] for r in restores), "bare_write": min(writes),
            "backup_all": [round(b[0], 1) for b in backups], "restore_all": [round(r[0], 1) for r in restores],
            "backup_mb": max(b[1] for b in backups), "restore_mb": max(r[1] for r in restores)}


def run(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pd-bench-backup-work-") as tmp:
        async def measure(store: Store, settings: Settings, embedded: EmbeddedStore, batch: Batch) -> dict[str, Any]:
            return await asyncio.to_thread(_measure_all, n, settings, embedded, Path(tmp))

        result: dict[str, Any] = on_generated(n, "pd-bench-backup-", HEAP, measure)
    _report(result)
    return result


def _report(r: dict[str, Any]) -> None:
    print(f"\nbackup and restore at {r['orgs']} organisations, best of {len(r['backup_all'])}")
    print("| organisations | lines | file (MB) | directory backup (s) | dump in process (s) | bare read (s) | ratio "
          "| backup peak RSS (MB) | directory restore (s) | bare write (s) | ratio | restore peak RSS (MB) "
          "| dump again identical |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    backup, restore = r["backup"], r["restore"]
    print(f"| {r['orgs']} | {r['lines']} | {r['file_mb']:.0f} | {backup:.1f} | {r['dump']:.1f} | "
          f"{r['bare_read']:.1f} | {backup / r['bare_read']:.2f} | {r['backup_mb']:.0f} | {restore:.1f} | "
          f"{r['bare_write']:.1f} | "
          f"{restore / r['bare_write']:.2f} | {r['restore_mb']:.0f} | {'yes' if r['identical'] else 'NO'} |")
    print(f"all runs: backup {r['backup_all']} s, restore {r['restore_all']} s")
