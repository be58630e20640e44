"""The k best loop-free referral chains from one organisation to any provider, within a hop limit.

The graph here is what the viewer may see and nothing more (the store fetched it that way), so a
hidden organisation or link cannot shape the answer. Every chain has a cost of three whole numbers:
hops, minutes of response time (each referral's, then the provider's own), and distrust (the sum
of -ln(trust) per referral, in millionths). An order says which comes first; ties are broken by
the rest, then by the organisation ids along the chain, so the answer is unique. Two referral links
between the same two organisations count once, the cheaper in the order asked; one with trust 0 is
not walked.

The search is best-first over partial chains, guided by the exact cheapest cost from each
organisation to any provider within the hops left (computed backwards, ignoring loops, so it never
overestimates). Chains come out cheapest first; the search stops once nothing left in the queue can
beat or tie the k-th chain found.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from directory.base import budget
from directory.domain.errors import BadArgument
from directory.domain.model import Referral
from directory.jobs.rules import UNKNOWN_RESPONSE_HOURS, UNKNOWN_TRUST

MAX_K = 10
MAX_HOPS = 6
MAX_EXPANSIONS = 200_000
MIN_TRUST = 0.01  # a trust above 0 but below this counts as this (a trust of 0 is no referral: `_cheapest_links`)

Cost = tuple[int, int, int]
INFINITE: Cost = (1 << 62, 1 << 62, 1 << 62)


class PathOrder(StrEnum):
    """Which cost counts first. One vocabulary for every channel: GraphQL shows the names
    (FEWEST_HOPS), the CLI the values (fewest_hops), and maps and pages take either case."""

    FEWEST_HOPS = "fewest_hops"
    FASTEST_RESPONSE = "fastest_response"
    HIGHEST_TRUST = "highest_trust"

    @classmethod
    def named(cls, text: str, argument: str = "order") -> PathOrder:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise BadArgument(argument, "%(value)r is not one of %(options)s", value=text,
                              options=", ".join(o.name for o in cls)) from None


@dataclass(frozen=True)
class Chain:
    organisations: tuple[str, ...]  # the source first, the provider last
    referrals: tuple[Referral, ...]
    provider_hours: float | None
    cost: Cost  # in the order asked for

    @property
    def hops(self) -> int:
        return len(self.referrals)

    @property
    def provider(self) -> str:
        return self.organisations[-1]

    @property
    def response_hours(self) -> float:
        """Total time to a response: every referral's, then the provider's; unknown counts as
        UNKNOWN_RESPONSE_HOURS."""
        times = [r.response_hours for r in self.referrals] + [self.provider_hours]
        return sum(UNKNOWN_RESPONSE_HOURS if t is None else t for t in times)

    @property
    def trust(self) -> float:
        """The product of the referrals' trust; 1 for a provider reached directly."""
        return math.prod(_trust(r.trust) for r in self.referrals)


def minutes(hours: float | None) -> int:
    return round((UNKNOWN_RESPONSE_HOURS if hours is None else hours) * 60)


def _trust(trust: float | None) -> float:
    return max(MIN_TRUST, UNKNOWN_TRUST if trust is None else trust)


def distrust(trust: float | None) -> int:
    return round(-math.log(_trust(trust)) * 1_000_000)


def _arrange(order: PathOrder, hops: int, mins: int, dist: int) -> Cost:
    if order is PathOrder.FEWEST_HOPS:
        return hops, mins, dist
    if order is PathOrder.FASTEST_RESPONSE:
        return mins, hops, dist
    return dist, hops, mins


def _add(a: Cost, b: Cost) -> Cost:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2]


def check_arguments(k: int, max_hops: int) -> None:
    if not 1 <= k <= MAX_K:
        raise BadArgument("k", "must be between 1 and %(most)s", most=MAX_K)
    if not 0 <= max_hops <= MAX_HOPS:
        raise BadArgument("maxHops", "must be between 0 and %(most)s", most=MAX_HOPS)


def best_chains(source: str, referrals: Iterable[Referral], providers: dict[str, float | None],
                order: PathOrder, k: int, max_hops: int) -> list[Chain]:
    """The k cheapest loop-free chains from `source` to any organisation in `providers` (which maps
    each provider to the response hours of its fastest qualifying service). A provider reached
    may still refer on: a chain may pass through one provider to reach another. `source` itself
    counts, with no hops, when it is a provider."""
    check_arguments(k, max_hops)
    out: dict[str, list[tuple[Referral, Cost]]] = {}
    for (start, _), cheapest in sorted(_cheapest_links(referrals, order).items()):
        out.setdefault(start, []).append(cheapest)
    finish = {p: _arrange(order, 0, minutes(hours), 0) for p, hours in providers.items()}
    bound = _lower_bounds(out, finish, max_hops)
    if bound[max_hops].get(source, INFINITE) >= INFINITE:
        return []

    zero: Cost = (0, 0, 0)
    # entries: (estimate, organisations, done, cost so far, referrals)
    queue: list[tuple[Cost, tuple[str, ...], bool, Cost, tuple[Referral, ...]]] = [
        (bound[max_hops][source], (source,), False, zero, ())]
    found: list[tuple[Cost, tuple[str, ...], tuple[Referral, ...]]] = []
    best: list[Cost] = []  # the k cheapest costs found so far, in order
    expansions = 0
    while queue:
        estimate, chain, done, cost, taken = heapq.heappop(queue)
        if len(best) == k and estimate > best[-1]:
            break
        if done:
            found.append((cost, chain, taken))
            bisect.insort(best, cost)
            del best[k:]
            continue
        expansions += 1
        if expansions % 1000 == 0:
            budget.check()
        if expansions > MAX_EXPANSIONS:
            raise BadArgument("maxHops", "too many chains to rank; ask for fewer hops or a narrower service")
        here = chain[-1]
        if here in finish:
            total = _add(cost, finish[here])
            heapq.heappush(queue, (total, chain, True, total, taken))
        left = max_hops - len(taken) - 1
        if left < 0:
            continue
        for referral, step in out.get(here, ()):
            ahead = bound[left].get(referral.target, INFINITE)
            if ahead >= INFINITE or referral.target in chain:
                continue
            spent = _add(cost, step)
            heapq.heappush(queue, (_add(spent, ahead), (*chain, referral.target), False, spent, (*taken, referral)))
    found.sort(key=lambda f: (f[0], f[1]))
    return [Chain(chain, taken, providers[chain[-1]], cost) for cost, chain, taken in found[:k]]


def _cheapest_links(referrals: Iterable[Referral], order: PathOrder) -> dict[tuple[str, str], tuple[Referral, Cost]]:
    """One referral per pair of organisations, the cheapest in the order asked: two links between the
    same two (kept under different keys) would give the same chain twice and push a different one out.
    A referral recorded with trust 0 is one its recorder does not trust at all: no chain of trusted
    referrals goes through it (counted as a little trust, it led some answers)."""
    cheapest: dict[tuple[str, str], tuple[Referral, Cost]] = {}
    for r in referrals:
        if r.source == r.target or r.trust == 0:
            continue
        step = _arrange(order, 1, minutes(r.response_hours), distrust(r.trust))
        seen = cheapest.get((r.source, r.target))
        # equal costs: the same one whatever order the store gave them in
        if seen is None or (step, repr(r)) < (seen[1], repr(seen[0])):
            cheapest[(r.source, r.target)] = (r, step)
    return cheapest


def _lower_bounds(out: dict[str, list[tuple[Referral, Cost]]], finish: dict[str, Cost],
                  max_hops: int) -> list[dict[str, Cost]]:
    """bound[j][v]: the cheapest cost from v to a provider in at most j hops, loops allowed (so a
    lower bound for loop-free chains). Organisations that reach no provider are left out."""
    bound: list[dict[str, Cost]] = [dict(finish)]
    for _ in range(max_hops):
        previous = bound[-1]
        current = dict(previous)
        for here, steps in out.items():
            for referral, step in steps:
                ahead = previous.get(referral.target)
                if ahead is not None:
                    candidate = _add(step, ahead)
                    if candidate < current.get(here, INFINITE):
                        current[here] = candidate
        bound.append(current)
    return bound
