"""Whether the store's JVM is still warming up: how much of its CPU its JIT compiler takes.

A JVM keeps compiling statements' code paths for thousands of requests after it starts (at 10k, a
listing statement's compiler time was larger than its execution time after 200 requests, and nearly
nothing after 1,500). A long-running service is past that; a benchmark measuring its "steady state"
a few hundred requests after start-up measures the JVM warming up instead. So the benchmarks ask
questions of their own until the compiler's share of the store's CPU falls under `WARM_SHARE` in a
round, then time the steady round, and report the share in every round.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

WARM_ROUNDS = 20  # at most
WARM_SHARE = 0.10  # warm once the store's JIT compiler takes less than this share of its CPU in a round


def compiler_cpu(pid: int | None) -> tuple[float, float]:
    """CPU seconds a JVM process has spent so far in its JIT compiler threads, and in all its threads
    (none for no process: a store not started by the benchmark)."""
    if pid is None:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    compiling = total = 0.0
    tasks = Path(f"/proc/{pid}/task")
    for task in tasks.iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # a thread that ended meanwhile
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        total += seconds
        if "CompilerThre" in name:
            compiling += seconds
    return compiling, total


def compiler_share(before: tuple[float, float], after: tuple[float, float]) -> float:
    """The compiler's share of the store's CPU between two `compiler_cpu` readings."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else 0.0


async def warm(pid: int | None, ask: Callable[[int], Awaitable[int]]) -> dict[str, Any]:
    """Rounds of `ask(round number)` (which says how many questions it asked) until the compiler of the
    store's process `pid` takes under `WARM_SHARE` of its CPU in a round, or `WARM_ROUNDS` of them."""
    shares: list[float] = []
    asked = 0
    for number in range(WARM_ROUNDS):
        before = compiler_cpu(pid)
        asked += await ask(number)
        shares.append(compiler_share(before, compiler_cpu(pid)))
        if shares[-1] < WARM_SHARE:
            break
    return {"rounds": len(shares), "requests": asked, "compiler_shares": shares}
