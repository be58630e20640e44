"""An independent reference for referral chains: networkx's k shortest simple paths.

The cost rules are written out again here from the README, not imported, so a mistake in
`directory.jobs.paths` cannot hide in both. Providers are joined to one sink; the three costs
are packed into one whole number, most important first, and ties are broken by the ids along the
chain, as the service does.
"""

from __future__ import annotations

import math
from itertools import pairwise

import networkx as nx

SINK = "\x00sink"
UNKNOWN_HOURS = 72.0
UNKNOWN_TRUST = 0.5


def _minutes(hours: float | None) -> int:
    return round((UNKNOWN_HOURS if hours is None else hours) * 60)


def _distrust(trust: float | None) -> int:
    return round(-math.log(max(0.01, UNKNOWN_TRUST if trust is None else trust)) * 1_000_000)


def _pack(order: str, hops: int, minutes: int, distrust: int) -> int:
    first, second, third = {"fewest_hops": (hops, minutes, distrust), "fastest_response": (minutes, hops, distrust),
                            "highest_trust": (distrust, hops, minutes)}[order]
    return (first << 64) + (second << 32) + third


def best_chains(source: str, edges: list[tuple[str, str, float | None, float | None]],
                providers: dict[str, float | None], order: str, k: int, max_hops: int) -> list[tuple[str, ...]]:
    """`edges` are (source, target, response hours, trust); the answer lists organisation ids per chain."""
    graph = nx.DiGraph()
    graph.add_node(source)
    for a, b, hours, trust in edges:
        w = _pack(order, 1, _minutes(hours), _distrust(trust))
        if trust == 0:  # not trusted at all: no referral to walk
            continue
        if a != b and (not graph.has_edge(a, b) or w < graph[a][b]["w"]):  # two links between a pair: the cheaper
            graph.add_edge(a, b, w=w)
    for p, hours in providers.items():
        graph.add_edge(p, SINK, w=_pack(order, 0, _minutes(hours), 0))
    if SINK not in graph or not nx.has_path(graph, source, SINK):
        return []
    found: list[tuple[int, tuple[str, ...]]] = []
    for path in nx.shortest_simple_paths(graph, source, SINK, weight="w"):
        cost = sum(graph[u][v]["w"] for u, v in pairwise(path))
        if len(found) >= k and cost > sorted(c for c, _ in found)[k - 1]:
            break
        if len(path) - 2 <= max_hops:
            found.append((cost, tuple(path[:-1])))
    found.sort()
    return [chain for _, chain in found[:k]]
