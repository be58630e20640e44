"""The gap matrix's cells counted cell by cell: every service into every cell it reaches, one by one.

This is how `jobs.gaps` counted before area-wide services were folded once per set of areas
(`jobs.gap_cells`), kept as the reference the fold must agree with to the last digit: the same
providers in the same lists, the same sums (supply exactly rounded, so in any order: `math.fsum`).
Slow (cells times providers),
so only for tests.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import date
from typing import NamedTuple

from directory.domain import places
from directory.jobs.gap_cells import REMOTE_WEIGHT, STALE_WEIGHT, WIDE_DEFAULT_CAPACITY, Amount, Cell, Flag
from directory.jobs.gap_cells import area_countries as spread
from directory.jobs.rules import capacity_current, day_of, is_stale
from directory.store import GapOffer as Offer


class Reach(NamedTuple):
    offer: Offer
    present: bool
    countries: int | None  # None: local


def matrix_cells(found: dict[str, list[Offer]], wanted: list[places.Place], types: list[str],
                 sees_capacity: bool, on: date) -> list[Cell]:
    reaching: dict[tuple[str, str], dict[str, Reach]] = defaultdict(dict)
    for p in wanted:
        covering = set(places.covering(p.code))
        for service_type, offers in found.items():
            for offer in offers:
                for code, present in offer.places.items():
                    if code in covering:
                        cell, countries = reaching[(p.code, service_type)], spread(code)
                        seen = cell.get(offer.service)
                        if seen is None:
                            cell[offer.service] = Reach(offer, present, countries)
                        else:  # the same service through one more of its places: the narrowest way counts
                            narrowest = (None if seen.countries is None or countries is None else
                                         min(seen.countries, countries))
                            cell[offer.service] = Reach(offer, seen.present or present, narrowest)
    return [_cell(p.code, t, list(reaching.get((p.code, t), {}).values()), sees_capacity, on)
            for p in wanted for t in types]


def _confirmed(offer: Offer) -> str | None:
    days = [d for d in (day_of(offer.verified), day_of(offer.capacity_confirmed)) if d is not None]
    return max(days).isoformat() if days else None


def _cell(place: str, service_type: str, reaches: list[Reach], sees_capacity: bool, on: date) -> Cell:
    reached: dict[str, list[Reach]] = defaultdict(list)
    for r in reaches:
        reached[r.offer.provider].append(r)
    present = {p for p, rs in reached.items() if any(r.present for r in rs)}
    local = {p for p, rs in reached.items() if any(r.countries is None for r in rs)}
    cell = Cell(place, service_type, sorted(present), sorted(set(reached) - present), sorted(local),
                sorted(set(reached) - local))
    fastest = [min(h) for h in ([r.offer.response_hours for r in rs if r.offer.response_hours is not None]
                                for rs in reached.values()) if h]
    cell.median_response_hours = statistics.median(fastest) if fastest else None
    for provider, rs in reached.items():
        dates = [d for d in (_confirmed(r.offer) for r in rs) if d]
        cell.confirmed[provider] = max(dates) if dates else None
    dates = [d for d in cell.confirmed.values() if d]
    cell.newest_confirmation = max(dates, default=None)
    cell.oldest_confirmation = min(dates, default=None)
    stale = {p for p, rs in reached.items() if all(is_stale(_confirmed(r.offer), on) for r in rs)}
    cell.stale_providers = len(stale)
    cell.supply = math.fsum(_supply(reached[p], p in present, p in stale, sees_capacity, on) for p in reached)
    if sees_capacity:
        units: dict[str, float] = defaultdict(float)
        recorded = [r.offer for r in reaches if r.offer.capacity is not None]
        for o in recorded:
            if capacity_current(o.capacity_confirmed, on):
                units[o.capacity_unit] += o.capacity or 0
        cell.capacity = [Amount(unit, total) for unit, total in sorted(units.items())]
        if recorded and not units:
            cell.flags.append(Flag.CAPACITY_EXPIRED)
    return cell


def _supply(reached: list[Reach], present: bool, stale: bool, sees_capacity: bool, on: date) -> float:
    if sees_capacity:  # a service that said it has no capacity left (within 90 days) cannot act: it adds nothing
        reached = [r for r in reached
                   if not (r.offer.capacity == 0 and capacity_current(r.offer.capacity_confirmed, on))]
        if not reached:
            return 0.0
        present = any(r.present for r in reached)
        stale = all(is_stale(_confirmed(r.offer), on) for r in reached)
    weight = (1.0 if present else REMOTE_WEIGHT) * (STALE_WEIGHT if stale else 1.0)
    if any(r.countries is None for r in reached):
        return weight
    share = sum((r.offer.capacity if sees_capacity and r.offer.capacity is not None
                 and capacity_current(r.offer.capacity_confirmed, on) else WIDE_DEFAULT_CAPACITY) / (r.countries or 1)
                for r in reached)
    return weight * min(1.0, share)
