"""`make bench`: every benchmark with its peer in the same run. Sizes: BENCH_SIZES=10000,100000;
BENCH_ONLY=imports,api,peer,jobs,maps,federation,backup,abuse picks some."""

from __future__ import annotations

import os

from bench import abuse, api, backup, federation, imports, jobs, maps, peer
from bench.machine import describe


def main() -> None:
    sizes = [int(x) for x in os.environ.get("BENCH_SIZES", "10000,100000").split(",")]
    only = os.environ.get("BENCH_ONLY", "imports,api,peer,jobs,maps,federation,backup,abuse").split(",")
    print(f"machine: {describe()}")
    if "abuse" in only:
        for n in sizes:
            abuse.run(n)
    if "backup" in only:
        for n in sizes:
            backup.run(n)
    if "federation" in only:
        for n in sizes:
            federation.run(n)
    if "maps" in only:
        for n in sizes:
            maps.run(n)
    if "jobs" in only:
        for n in sizes:
            jobs.run(n)
    if "api" in only:
        for n in sizes:
            api.run(n)
    if "peer" in only:
        for n in sizes:
            peer.run(n)
    if "imports" not in only:
        return
    print(f"store heap: {imports.HEAP}")
    results = imports.run(sizes, repeats={10000: 3})
    print("\n| organisations | services | links | coverage edges | ours (s) | ours (orgs/s) | bare driver (s) "
          "| bare (orgs/s) | ratio | store RSS (MB) | peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        o, b = r["ours"], r["bare"]
        print(f"| {r['orgs']} | {r['services']} | {r['links']} | {r['coverage']} | {o['seconds']:.1f} | "
              f"{o['rate']:.0f} | {b['seconds']:.1f} | {b['rate']:.0f} | {r['ratio']:.2f} | {o['rss_mb']:.0f} | "
              f"{o['peak_mb']:.0f} |")
    for r in results:
        print(f"{r['orgs']}: ours {r['ours_all']} s, bare {r['bare_all']} s")


if __name__ == "__main__":
    main()
