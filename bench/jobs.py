"""The three jobs on a generated directory, each next to an in-memory reference in the same run.

The references hold the generated records in Python dicts and answer the same question for a
steward (who sees everything, so no visibility rule differs): referral chains with the same
chain search on the reachable part of an in-memory adjacency list; partners from in-memory
candidates scored by the same scoring; the gap matrix folded by the same pure function from
in-memory offers. Each reference answer is checked against the store's, so the ratio compares
equal work: what the store, the driver and the queries cost on top of the computation itself.
The jobs are called in-process (not over HTTP; `bench/api.py` measures the HTTP and GraphQL layer).
"""

from __future__ import annotations

import gc
import random
import time
from collections import defaultdict
from datetime import date
from typing import Any

from bench.api import on_generated
from bench.warm import compiler_cpu, compiler_share, warm
from directory.domain import places
from directory.domain.location import published
from directory.domain.viewer import STEWARD
from directory.exchange.importer import Batch
from directory.jobs import gaps, partners, paths, referrals
from directory.jobs.rules import confirmed_full
from directory.store import Store
from directory.store.jobs.gaps import Offer as GapOffer
from directory.store.jobs.partners import Candidate, ties
from directory.store.jobs.partners import Offer as PartnerOffer

HEAP = "2g"
TYPES = ["legal-aid", "emergency-grant", "digital-security", "relocation-regional", "psychosocial-support"]
COUNTRIES = ["CO", "KE", "PH", "MX", "UG", "GT", "TH", "LB", "GE", "KG", "BR", "IN"]


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50": ordered[len(ordered) // 2] * 1000, "p95": ordered[int(len(ordered) * 0.95)] * 1000}


class Memory:
    """The generated directory in plain dicts, as an in-memory graph library would hold it."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.orgs = {o.id: o for o in batch.organisations}
        self.refers: dict[str, list[paths.Referral]] = defaultdict(list)
        self.links_out: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for link in batch.links:
            if link.type == "REFERS_TO":
                p = link.properties
                self.refers[link.source].append(paths.Referral(
                    link.source, link.target, p.get("response_hours"), p.get("trust"), p.get("formal"),  # type: ignore[arg-type]
                    p.get("confirmed")))  # type: ignore[arg-type]
            self.links_out[link.source].append((link.type, link.target))
        self.services_at: dict[str, list[Any]] = defaultdict(list)  # place code: services available there
        for s in batch.services:
            for c in s.coverage:
                self.services_at[c.place].append((s, c.presence.value == "present"))

    def reaching(self, where: places.Place) -> list[tuple[Any, bool]]:
        return [entry for code in places.covering(where.code) for entry in self.services_at.get(code, [])]


def _memory_referrals(m: Memory, q: referrals.Question, on: date) -> list[tuple[str, ...]]:
    source = q.source or ""
    reached, frontier, edges = {source}, [source], []
    for _ in range(q.max_hops):
        step = [r for o in frontier for r in m.refers.get(o, [])]
        edges += step
        frontier = sorted({r.target for r in step} - reached)
        reached.update(frontier)
    hours: dict[str, list[float | None]] = defaultdict(list)
    for s, _ in m.reaching(places.countries()[q.country]):
        if s.type == q.service_type and s.status == "active" and s.organisation in reached and not \
                confirmed_full(s.capacity, s.capacity_confirmed, on):
            hours[s.organisation].append(s.response_hours)
    providers = {p: min((h for h in hs if h is not None), default=None) for p, hs in hours.items()}
    return [c.organisations for c in paths.best_chains(source, edges, providers, q.order, q.k, q.max_hops)]


def _memory_partners(m: Memory, q: partners.PartnerQuestion, on: date) -> dict[str, float]:
    source = m.orgs[q.organisation or ""]
    own = [s for s in m.batch.services if s.organisation == source.id]
    wanted = sorted(q.service_types or [])
    where = places.countries()[source.location.country]  # type: ignore[union-attr,index]
    by_org: dict[str, dict[str, PartnerOffer]] = defaultdict(dict)
    for s, present in m.reaching(where):
        if s.type in wanted and s.status == "active" and s.organisation != source.id:
            seen = by_org[s.organisation].get(s.id)
            # a steward sees capacity: one confirmed full is left out by the scoring, as in the store's answer
            by_org[s.organisation][s.id] = PartnerOffer(s.id, s.type, present or bool(seen and seen.present),
                                                       s.response_hours, s.languages, s.verified.on, s.groups,
                                                       capacity=s.capacity,
                                                       capacity_confirmed=s.capacity_confirmed or None)
    here = source.location  # a steward sees the asker's recorded point; candidates count by published ones
    point = (here.latitude, here.longitude) if here else (None, None)
    partnered = {t for kind, t in m.links_out[source.id] if kind == "PARTNERS_WITH"}
    mine = {t for kind, t in m.links_out[source.id] if kind in ("MEMBER_OF", "VETTED_BY")}
    asker = partners._Asker(source.id, where.code, point, frozenset(s.type for s in own if s.status == "active"),
                            frozenset(g for s in own for g in s.groups),
                            frozenset(source.languages) | {x for s in own for x in s.languages}, frozenset(mine))
    out = []
    for oid, offers in by_org.items():
        o = m.orgs[oid]
        if oid in partnered:
            continue
        loc = published(o.location, oid) if o.location else None
        # as the store: country precision publishes no point (it matches by country)
        has_point = loc is not None and loc.precision.value in ("exact", "locality", "admin_area")
        candidate = Candidate(oid, o.languages, loc.latitude if has_point else None,  # type: ignore[union-attr]
                              loc.longitude if has_point else None, loc.country if loc else None,  # type: ignore[union-attr]
                              o.verified.on, list(offers.values()))
        theirs = ties((kind, t) for kind, t in m.links_out[oid] if kind in ("MEMBER_OF", "VETTED_BY"))
        found = partners._score(candidate, asker, wanted, None, None, theirs, {}, where, None, on)
        if found is not None:
            out.append(found)
    out.sort(key=lambda p: (-p.score, p.organisation))
    return {p.organisation: p.score for p in out[:q.first]}


def _memory_gaps(m: Memory, on: date) -> list[gaps.Cell]:
    found: dict[str, list[GapOffer]] = defaultdict(list)
    for s in m.batch.services:
        if s.status == "active":
            covered: dict[str, bool] = {}
            for c in s.coverage:
                covered[c.place] = covered.get(c.place, False) or c.presence.value == "present"
            if s.origins:  # as the store: relocation counts where defenders come from
                covered = dict.fromkeys(s.origins, True)
            found[s.type].append(GapOffer(s.organisation, s.id, covered, s.response_hours, s.capacity,
                                          s.capacity_unit, s.capacity_confirmed or None, s.verified.on or None,
                                          m.orgs[s.organisation].verified.on or None))
    wanted = sorted(places.countries().values(), key=lambda c: c.code)
    return gaps.matrix_cells(found, wanted, sorted({s.type for s in m.batch.services}), True, on)


async def _timed(samples: list[float], call: Any) -> Any:
    start = time.perf_counter()
    result = await call
    samples.append(time.perf_counter() - start)
    return result


def _memory_timed(samples: list[float], call: Any) -> Any:
    start = time.perf_counter()
    result = call()
    samples.append(time.perf_counter() - start)
    return result


def _questions(rng: random.Random, m: Memory, count: int) -> tuple[list[referrals.Question],
                                                                      list[partners.PartnerQuestion]]:
    """`count` referral questions, then `count` partner questions, drawn in that order."""
    sources = [o.id for o in m.batch.organisations if m.refers.get(o.id)]
    chains = [referrals.Question(rng.choice(TYPES), rng.choice(COUNTRIES), rng.choice(sources), k=3, max_hops=4,
                                 order=list(paths.PathOrder)[i % 3]) for i in range(count)]
    askers = [o for o in m.batch.organisations if o.kind == "local-group" and o.location and o.location.country]
    partnered = [partners.PartnerQuestion(asker.id, rng.sample(TYPES, 2), first=10)
                 for asker in (rng.choice(askers) for _ in range(count))]
    return chains, partnered


async def _measure(store: Store, m: Memory, n: int, store_pid: int | None) -> dict[str, Any]:
    questions, matrices = (200, 3) if n <= 10_000 else (40, 1)  # 100k: what fits in a run of minutes
    on = date.today()
    out: dict[str, Any] = {"orgs": n, "refers": sum(len(v) for v in m.refers.values()), "questions": questions,
                           "matrices": matrices}
    # A first round of other questions (and one matrix), reported apart: the store's JVM meeting each
    # job's statements for the first time compiles them, which is not the steady state of a service.
    # Then more questions until its compiler has caught up (`bench.warm`), then the steady round.
    _frozen()
    out.update(await _round(store, m, store_pid, "first", _questions(random.Random(12), m, questions), 1, on))
    out["warm"] = await _warm(store, m, store_pid, questions, on)
    _frozen()
    out.update(await _round(store, m, store_pid, "", _questions(random.Random(11), m, questions), matrices, on))
    return out


def _frozen() -> None:
    """What this process holds before a round (the generated directory, its in-memory graph: millions
    of objects at 100k), out of Python's collector. Otherwise every full collection during a round
    walks them, for ours and the reference alike, which a service holding none of them never does: at
    100k a partner question of 80 ms took 1.6 s when one fell into it."""
    gc.collect()
    gc.freeze()


async def _round(store: Store, m: Memory, store_pid: int | None, prefix: str,
                 questions: tuple[list[referrals.Question], list[partners.PartnerQuestion]], matrices: int,
                 on: date) -> dict[str, Any]:
    """One timed round; its answers are dropped with it, so the next round's collector never meets them."""
    out: dict[str, Any] = {}
    chains, partnered = questions
    before = compiler_cpu(store_pid)
    ours: list[float] = []
    memory: list[float] = []
    mismatches = 0
    for q in chains:
        got = await _timed(ours, referrals.referral_paths(store, STEWARD, q, on))
        expected = _memory_timed(memory, lambda q=q: _memory_referrals(m, q, on))
        mismatches += [p.organisations for p in got] != expected
    out[prefix + "referrals"] = {"ours": _percentiles(ours), "memory": _percentiles(memory), "mismatches": mismatches}
    ours, memory, mismatches = [], [], 0
    for q in partnered:
        found = await _timed(ours, partners.find_partners(store, STEWARD, q, on))
        expected = _memory_timed(memory, lambda q=q: _memory_partners(m, q, on))
        mismatches += [p.organisation for p in found] != list(expected)
    out[prefix + "partners"] = {"ours": _percentiles(ours), "memory": _percentiles(memory), "mismatches": mismatches}
    ours, memory = [], []
    for _ in range(matrices):
        matrix = await _timed(ours, gaps.coverage_gaps(store, STEWARD, gaps.GapQuestion(), on))
        reference = _memory_timed(memory, lambda: _memory_gaps(m, on))
    key = {(c.place, c.service_type): (c.present, c.remote) for c in reference}
    out[prefix + "gaps"] = {"cells": len(matrix.cells), "ours_s": min(ours), "memory_s": min(memory),
                            "mismatches": sum(1 for c in matrix.cells if key.get((c.place, c.service_type),
                                                                               ([], [])) != (c.present, c.remote))}
    out[prefix + "compiler_share"] = compiler_share(before, compiler_cpu(store_pid))
    return out


async def _warm(store: Store, m: Memory, store_pid: int | None, count: int, on: date) -> dict[str, Any]:
    """Referral and partner questions of their own until the store's JIT compiler has caught up
    (`bench.warm`)."""
    async def ask(number: int) -> int:
        chains, partnered = _questions(random.Random(100 + number), m, count)
        for q in chains:
            await referrals.referral_paths(store, STEWARD, q, on)
        for p in partnered:
            await partners.find_partners(store, STEWARD, p, on)
        return len(chains) + len(partnered)

    return await warm(store_pid, ask)


def run(n: int) -> dict[str, Any]:
    result: dict[str, Any] = on_generated(n, "pd-bench-jobs-", HEAP,
                                          lambda store, _s, embedded, batch: _measure(
                                              store, Memory(batch), n,
                                              embedded.process.pid if embedded.process else None))
    _report(result)
    return result


def _report(r: dict[str, Any]) -> None:
    print(f"\njobs at {r['orgs']} organisations ({r['refers']} referral links), steward viewer, in-process")
    print("| job | round | ours p50 (ms) | ours p95 (ms) | in-memory p50 (ms) | in-memory p95 (ms) | p50 ratio "
          "| answers differing |")
    print("|---|---|---|---|---|---|---|---|")
    for job in ("referrals", "partners"):
        for prefix, name in (("first", "first"), ("", "steady")):
            o, mem = r[prefix + job]["ours"], r[prefix + job]["memory"]
            print(f"| {job} | {name} | {o['p50']:.1f} | {o['p95']:.1f} | {mem['p50']:.2f} | {mem['p95']:.2f} | "
                  f"{o['p50'] / max(mem['p50'], 0.001):.2f} | {r[prefix + job]['mismatches']} / {r['questions']} |")
    for prefix, name in (("first", "first"), ("", "steady")):
        g = r[prefix + "gaps"]
        print(f"| full gap matrix ({g['cells']} cells) | {name} | {g['ours_s'] * 1000:.0f} | | "
              f"{g['memory_s'] * 1000:.0f} | | {g['ours_s'] / g['memory_s']:.1f} | {g['mismatches']} cells |")
    print(f"({r['questions']} questions per job and round; the steady gap matrix is the best of {r['matrices']} runs)")
    w = r["warm"]
    print(f"between the rounds, {w['requests']} questions to warm the store (its compiler's share of its CPU by "
          f"round: {', '.join(f'{s:.0%}' for s in w['compiler_shares'])}); the compiler's share in the first round "
          f"{r['firstcompiler_share']:.0%}, in the steady one {r['compiler_share']:.0%}")
