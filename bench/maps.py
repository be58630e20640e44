"""Build time and page size of each map on a generated directory, next to what it is built from.

Each map is timed in-process (as `directory map` builds it, assets linked as the service serves
them, and inline as the file is written) and set beside its lower bound in the same run:
- directory map: the bare neo4j driver running the same points query and JSON-encoding the rows;
  the page can not be built faster than its data comes out of the store;
- gap, funding and referral maps: the job they draw (`coverage_gaps`, `referral_paths`) alone.
Sizes are of the HTML as served, and gzipped as the service sends it to a browser that accepts
gzip; the inline file adds about 0.2 MB of Leaflet and styles.
"""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

from bench.api import on_generated
from directory.base.config import Settings
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from directory.exchange.importer import Batch
from directory.jobs.gaps import GapQuestion, coverage_gaps
from directory.jobs.referrals import Question, referral_paths
from directory.store import EmbeddedStore, Store
from directory.store.engine.graph import make_driver
from directory.store.records.mapping import POINTS
from maps.page import Options
from maps.questions import draw

HEAP = "2g"
REPEATS = 3


async def _best(call: Any) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(REPEATS):
        started = time.perf_counter()
        out = await call()
        best = min(best, time.perf_counter() - started)
    return best, out


async def _bare_points(uri: str, auth: tuple[str, str], viewer: Viewer) -> int:
    driver = make_driver(uri, auth)
    try:
        async with driver.session() as session:
            result = await session.run(POINTS, ids=None, kind=None, country=None, steward=viewer.role == "steward",
                                       network=viewer.role != "anonymous", **viewer.params)
            rows = [dict(r.items()) async for r in result]
        return len(json.dumps(rows, default=str))
    finally:
        await driver.close()


async def _measure(store: Store, settings: Settings, embedded: EmbeddedStore, batch: Batch) -> list[dict[str, Any]]:
    served, inline = Options(inline=False), Options(inline=True)
    source = min(link.source for link in batch.links if link.type == "REFERS_TO")  # as the store would order them
    cases: list[tuple[str, Viewer, dict[str, str], Any]] = [
        ("directory, public", ANONYMOUS, {},
         lambda v: _bare_points(embedded.uri, embedded.auth, v)),
        ("directory, steward", STEWARD, {},
         lambda v: _bare_points(embedded.uri, embedded.auth, v)),
        ("gaps, world", ANONYMOUS, {"serviceTypes": "legal-aid"},
         lambda v: coverage_gaps(store, v, GapQuestion(service_types=["legal-aid"]))),
        ("gaps, CO subdivisions", ANONYMOUS, {"serviceTypes": "legal-aid", "country": "CO"},
         lambda v: coverage_gaps(store, v, GapQuestion(country="CO", service_types=["legal-aid"]))),
        ("funding, world", STEWARD, {"serviceTypes": "legal-aid"},
         lambda v: coverage_gaps(store, v, GapQuestion(service_types=["legal-aid"]))),
        ("referrals", STEWARD, {"from": source, "serviceType": "legal-aid", "country": "CO"},
         lambda v: referral_paths(store, v, Question("legal-aid", "CO", source))),
    ]
    out = []
    for name, viewer, args, bound in cases:
        kind = name.split(",")[0]
        ours, page = await _best(lambda kind=kind, viewer=viewer, args=args: draw(kind, store, viewer, args, settings,
                                                                                  served))
        ours_inline, file_page = await _best(lambda kind=kind, viewer=viewer, args=args: draw(
            kind, store, viewer, args, settings, inline))
        floor, _ = await _best(lambda bound=bound, viewer=viewer: bound(viewer))
        out.append({"map": name, "ours_s": ours, "inline_s": ours_inline, "floor_s": floor,
                    "served_mb": len(page.encode()) / 1e6, "file_mb": len(file_page.encode()) / 1e6,
                    "gzip_mb": len(gzip.compress(page.encode(), 6)) / 1e6})
    return out


def run(n: int) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = on_generated(
        n, "pd-bench-maps-", HEAP, _measure)
    _report(n, result)
    return result


def _report(n: int, rows: list[dict[str, Any]]) -> None:
    print(f"\nmaps at {n} organisations, in-process, best of {REPEATS}")
    print("| map | build, served (s) | build, file (s) | lower bound (s) | ratio | served HTML (MB) | gzipped (MB) "
          "| file (MB) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['map']} | {r['ours_s']:.2f} | {r['inline_s']:.2f} | {r['floor_s']:.2f} | "
              f"{r['ours_s'] / max(r['floor_s'], 0.001):.1f} | {r['served_mb']:.2f} | {r['gzip_mb']:.2f} | "
              f"{r['file_mb']:.2f} |")
