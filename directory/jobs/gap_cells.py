"""The cells of the gap matrix before funding and need: which offers reach each place, and the
supply they add up to (the formula is in `jobs.gaps`).

Area-wide services are folded once per set of areas, not once per cell. A service reaching the
world counts for every country; counting each such service into each country's cells was most of
the matrix's time (cells times providers). What a provider adds to a cell depends only on which of
its services reach the cell and through which areas, so the providers reaching a place only through
areas (wide) are worked out once for each set of areas places share (every country of a sub-region
shares its areas, a subdivision its country's), those reaching them only through the world once for
all (most of them, in a part of their own), then each place adds its own providers (local:
naming the place, its country or one of its subdivisions), worked out again from all of their
services reaching it: a provider reaching a place both ways is counted once, as local. A cell's
lists refer to its areas' shared ones rather than copying them (`Providers`), and its supply adds the
shared part's, less those counted as local, and its own with `math.fsum`, exactly rounded in any order.

The cells are those of counting cell by cell: the same providers, the same supply (exactly rounded),
a median's ties in the order of the offers, so not even a last digit moves. `tests/test_gap_cells.py`
holds a cell-by-cell count to compare. The function is pure (the benchmark runs it on an in-memory
graph as a reference) and sees only the offers it is given: visibility is applied by the store's
read before.
"""

from __future__ import annotations

import functools
import math
from bisect import bisect_left
from collections import ChainMap, Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from itertools import chain, compress
from operator import attrgetter, itemgetter, not_
from typing import NamedTuple, TypeVar

from directory.base import budget
from directory.base.bulk import paused_gc
from directory.domain import places
from directory.jobs.cell_providers import Providers
from directory.jobs.rules import capacity_current, day_of, is_stale
from directory.store import GapOffer as Offer

REMOTE_WEIGHT = 0.5
WIDE_DEFAULT_CAPACITY = 10.0
"""What a wide provider that states no current capacity (or whose capacity the viewer may not see) is
taken to deliver for a service type: roughly ten cases a year across its whole area, from which each
of its N countries gets 10 / N. A global fund takes far fewer cases from any one country than one
local provider does."""
STALE_WEIGHT = 0.5


class Flag(StrEnum):
    NO_PROVIDER = "no_provider"
    NO_LOCAL_PROVIDER = "no_local_provider"  # providers reach it, but only through an area (a region, the world)
    SINGLE_PROVIDER = "single_provider"  # one organisation is a single point of failure
    STALE = "stale"  # no provider confirmed within STALE_AFTER_DAYS
    UNFUNDED = "unfunded"  # no funding this viewer may see reaches any provider
    CAPACITY_EXPIRED = "capacity_expired"  # capacity figures recorded, none confirmed recently
    ONLY_PEERS = "only_peers"  # every provider is a record a peer directory published, none this one's


@dataclass(frozen=True)
class Amount:
    currency: str
    amount: float


@dataclass(frozen=True)
class Funding:
    """Funding received by a cell's providers in one currency (amounts in different currencies are
    never added up: the directory has no exchange rates offline)."""

    currency: str
    amount: float
    grants: int
    donors: int
    top_donor_share: float
    concentration: float  # Herfindahl-Hirschman index of donor shares, 0..1; 1 means one donor


@dataclass
class Cell:
    place: str
    service_type: str
    # providers by id (`Providers` from the fold: a list only when read)
    present: Sequence[str] = field(default_factory=list)  # delivering the service there
    remote: Sequence[str] = field(default_factory=list)  # only reaching it remotely
    local: Sequence[str] = field(default_factory=list)  # naming the place, its country or a subdivision
    wide: Sequence[str] = field(default_factory=list)  # reaching it only through an area
    supply: float = 0.0  # what the providers add up to (see `jobs.gaps`), before need
    capacity: list[Amount] | None = None  # current capacity per unit; None if the viewer may not see it
    median_response_hours: float | None = None
    newest_confirmation: str | None = None
    oldest_confirmation: str | None = None
    stale_providers: int = 0
    funding: list[Funding] = field(default_factory=list)
    donor_funding: list[Amount] = field(default_factory=list)
    need: float | None = None
    score: float = 0.0
    flags: list[Flag] = field(default_factory=list)
    confirmed: Mapping[str, str | None] = field(default_factory=dict)  # provider: its latest verification

    @property
    def providers(self) -> int:
        return len(self.present) + len(self.remote)


_WORLD = frozenset({places.WORLD})  # the areas of a provider reaching places only through the world
SPECIFIC_KINDS = ("country", "subdivision")  # a coverage place of these kinds makes its provider local


@functools.cache
def area_countries(code: str) -> int | None:
    """The peopled countries that share a wide provider's help when it reaches a place through the
    area `code`; None when `code` is a country or subdivision, which makes the provider local."""
    found = places.place(code)
    if found is not None and found.kind in SPECIFIC_KINDS:
        return None
    return max(1, sum(1 for c in places.countries_in(code) if c not in places.UNPEOPLED))


def matrix_cells(found: dict[str, list[Offer]], wanted: list[places.Place], types: list[str],
                 sees_capacity: bool, on: date) -> list[Cell]:
    """The cells, before funding and need: which offers reach each place, then what they add up to."""
    with paused_gc():  # millions of entries that all stay: the collector would walk them again and again
        return _cells(found, wanted, types, sees_capacity, on)


def providers_reaching(found: dict[str, list[Offer]], wanted: list[places.Place], types: list[str]) -> list[str]:
    """The providers of the cells `matrix_cells` gives, by id, from the offers alone: those with an offer
    available in a place covering a wanted one (itself, its country, a subdivision, an area it is in).
    Known before the fold, their funding is read while it runs."""
    codes = set().union(*(places.covering(p.code) for p in wanted))
    return sorted({o.provider for t in types for o in found.get(t, ()) if not codes.isdisjoint(o.places)})


def _cells(found: dict[str, list[Offer]], wanted: list[places.Place], types: list[str], sees_capacity: bool,
           on: date) -> list[Cell]:
    dates = _Dates(on)
    folds = {t: _TypeFold(found.get(t, []), [dates.known(o.verified, o.capacity_confirmed) for o in found.get(t, [])],
                          sees_capacity) for t in types}
    cells = []
    for p in wanted:
        budget.check()
        codes = places.covering(p.code)
        named = [c for c in codes if area_countries(c) is None]
        areas = frozenset(c for c in codes if area_countries(c) is not None)
        cells += [folds[t].cell(p.code, t, named, areas) for t in types]
    return cells


class _Reach(NamedTuple):
    """How one service reaches one cell: delivered there or not, and through how wide an area."""

    offer: Offer
    known: _Known
    present: bool
    countries: int | None  # None: local; else the countries of the narrowest area it reaches the place through

    def joined(self, present: bool, countries: int | None) -> _Reach:
        """The same service reaching the cell through one more of its coverage places."""
        narrowest = None if self.countries is None or countries is None else min(self.countries, countries)
        return _Reach(self.offer, self.known, self.present or present, narrowest)


@dataclass(frozen=True)
class _Known:
    """What a cell needs to know of one offer, worked out once per offer rather than once per cell."""

    confirmed: str | None
    stale: bool
    capacity_current: bool


class _Dates:
    """What is known of offers from their dates, on one day. Each distinct date string is read once and
    each distinct pair of them worked out once: at 100k, 201,024 offers held 73,849 pairs of 1,002
    verification and 1,345 capacity dates; working out every pair from its strings took 0.8-1.1 s of
    CPU, and this 0.4 s."""

    def __init__(self, on: date) -> None:
        self.on = on
        self._days: dict[str | None, date | None] = {}
        self._current: dict[str | None, bool] = {}
        self._known: dict[tuple[str | None, str | None], _Known] = {}
        self._shared: dict[tuple[date | None, bool], _Known] = {}

    def known(self, verified: str | None, capacity_confirmed: str | None) -> _Known:
        """What is known of an offer verified then and with its capacity confirmed then."""
        found = self._known.get((verified, capacity_confirmed))
        if found is None:
            seen, capacity = self._day(verified), self._day(capacity_confirmed)
            latest = seen if capacity is None or (seen is not None and seen >= capacity) else capacity
            current = self._current.get(capacity_confirmed)
            if current is None:
                current = self._current[capacity_confirmed] = capacity_current(capacity_confirmed, self.on)
            found = self._shared.get((latest, current))
            if found is None:
                confirmed = latest.isoformat() if latest else None
                found = self._shared[(latest, current)] = _Known(confirmed, is_stale(confirmed, self.on), current)
            self._known[(verified, capacity_confirmed)] = found
        return found

    def _day(self, stamp: str | None) -> date | None:
        if stamp not in self._days:
            self._days[stamp] = day_of(stamp)
        return self._days[stamp]


class _Provider(NamedTuple):
    """What one provider adds to one cell, from all of its services reaching it."""

    id: str
    present: bool
    local: bool
    fastest: int | None  # its fastest response here as `_Order` orders it; None if none is recorded
    confirmed: str | None
    stale: bool  # every one of its services here is
    supply: float
    units: tuple[tuple[str, int], ...]  # current capacity of each of its services here, when the viewer sees it
    recorded: int  # its services here recording a capacity, when the viewer sees it


Reaches = dict[int, _Reach]  # offer position: how that service reaches the cell


def _provider(provider: str, reaches: Reaches, order: _Order, sees_capacity: bool) -> _Provider:
    """One provider in one cell from its services reaching it, taken in the order of the offers."""
    if len(reaches) == 1:  # most providers: the same as below, for one service
        ((i, r),) = reaches.items()
        o, k = r.offer, r.known
        current = sees_capacity and o.capacity is not None and k.capacity_current
        return _Provider(provider, r.present, r.countries is None, order.fastest[i], k.confirmed or None, k.stale,
                         _supply([r], r.present, sees_capacity),
                         ((o.capacity_unit, o.capacity or 0),) if current else (),
                         1 if sees_capacity and o.capacity is not None else 0)
    ordered = sorted(reaches.items(), key=itemgetter(0))
    reached = [r for _, r in ordered]
    offered = [r.offer for r in reached]
    present = any(r.present for r in reached)
    timed = [i for i, _ in ordered if order.ranks[i]]
    dates = [d for d in (r.known.confirmed for r in reached) if d]
    units = tuple((r.offer.capacity_unit, r.offer.capacity or 0) for r in reached
                  if r.offer.capacity is not None and r.known.capacity_current) if sees_capacity else ()
    recorded = sum(1 for o in offered if o.capacity is not None) if sees_capacity else 0
    return _Provider(provider, present, any(r.countries is None for r in reached),
                     order.key(ordered[0][0], min(timed, key=lambda i: order.ranks[i])) if timed else None,
                     max(dates) if dates else None,
                     all(r.known.stale for r in reached), _supply(reached, present, sees_capacity),
                     units, recorded)


def _supply(reached: list[_Reach], present: bool, sees_capacity: bool) -> float:
    """What one provider adds to a cell: presence x freshness x reach (`jobs.gaps`), from its services
    that can act: one that confirmed in the last 90 days it has no capacity left adds nothing, as it
    cannot take a referral (`jobs.referrals`); only where the viewer may see capacity."""
    if sees_capacity and any(r.offer.capacity == 0 and r.known.capacity_current for r in reached):
        reached = [r for r in reached if not (r.offer.capacity == 0 and r.known.capacity_current)]
        if not reached:
            return 0.0
        present = any(r.present for r in reached)
    weight = (1.0 if present else REMOTE_WEIGHT) * (
        STALE_WEIGHT if all(r.known.stale for r in reached) else 1.0)
    if any(r.countries is None for r in reached):
        return weight
    # wide: its capacity is shared by the countries of its area; capacity only counts where the viewer
    # may see it, so an anonymous viewer's score never hints at a figure kept from it
    share = sum((r.offer.capacity if sees_capacity and r.offer.capacity is not None
                 and r.known.capacity_current else WIDE_DEFAULT_CAPACITY) / (r.countries or 1)
                for r in reached)
    return weight * min(1.0, share)


class _Order:
    """A provider's fastest response in a cell as one integer, ordered as (hours, the position of its
    first offer there): a cell sorts and merges integers rather than tuples (4 to 8 times faster to
    sort), and reads back the hours of the offer they came from, so a median keeps the offers' order
    where hours tie, as 24 and 24.0 do (`statistics.median` keeps the one first in order)."""

    def __init__(self, offers: list[Offer]) -> None:
        self.hours = [o.response_hours for o in offers]
        self.width = len(offers)
        rank = {h: r for r, h in enumerate(sorted({h for h in self.hours if h is not None}), 1)}  # 24, 24.0 share one
        # from 1, so no key is 0 and `filter(None, ...)` keeps them all; 0 where no hours are recorded
        self.ranks = [0 if h is None else rank[h] for h in self.hours]
        self.fastest = [self.key(i, i) if r else None for i, r in enumerate(self.ranks)]  # each offer alone

    def key(self, first: int, fastest: int) -> int:
        """The key of a provider whose first offer in a cell is at `first` and whose fastest is at `fastest`."""
        return (self.ranks[fastest] * self.width + first) * self.width + fastest

    def hours_of(self, key: int) -> float:
        return self.hours[key % self.width]  # type: ignore[return-value]  # keys are made of offers with hours


@dataclass
class _Part:
    """Providers reaching a cell, with what the cell needs of them; every list in the cell's order."""

    by_id: dict[str, _Provider]  # empty for the providers naming the place (`_Alone`): no cell looks into them
    ids: list[str]
    present: list[str]
    remote: list[str]
    supplies: list[float]  # one per provider, in no order: a cell adds them up with `math.fsum`
    fastest: list[int]  # `_Order` keys, sorted
    confirmed: dict[str, str | None]
    newest: str | None
    oldest: str | None
    stale: int
    units: dict[str, tuple[int, int]]  # unit: current capacity, services recording it
    recorded: int


_ID, _PRESENT, _FASTEST, _CONFIRMED, _STALE, _SUPPLY, _RECORDED = (
    itemgetter(_Provider._fields.index(name))
    for name in ("id", "present", "fastest", "confirmed", "stale", "supply", "recorded"))


def _part(providers: list[_Provider]) -> _Part:
    """Providers, each once, as a part (built column by column: a cell's local part is built in each cell)."""
    ordered = sorted(providers)  # by id: ids differ, so nothing else is compared
    ids = list(map(_ID, ordered))
    present = list(map(_PRESENT, ordered))
    units: dict[str, tuple[int, int]] = {}
    for p in filter(attrgetter("units"), ordered):
        for unit, amount in p.units:
            total, count = units.get(unit, (0, 0))
            units[unit] = (total + amount, count + 1)
    dates = list(filter(None, map(_CONFIRMED, ordered)))
    fastest = sorted(filter(None, map(_FASTEST, ordered)))
    return _Part(dict(zip(ids, ordered, strict=True)), ids, list(compress(ids, present)),
                 list(compress(ids, map(not_, present))), list(map(_SUPPLY, ordered)), fastest,
                 dict(zip(ids, map(_CONFIRMED, ordered), strict=True)), max(dates, default=None),
                 min(dates, default=None), sum(map(_STALE, ordered)), units, sum(map(_RECORDED, ordered)))


class _Wide(NamedTuple):
    """The providers reaching the places in one set of areas only through those areas."""

    parts: list[_Part]  # holding different providers (`_TypeFold.wide`)
    fastest: list[int]  # all of theirs, sorted: a median is taken of them and a cell's own
    supply: list[float]  # their supplies' sum, exactly (`_exact`): a few numbers where there were hundreds


def _exact(values: Iterable[float]) -> list[float]:
    """A few numbers whose exact sum is the exact sum of `values`: `math.fsum` of them and others is
    `math.fsum` of `values` and those others, to the last bit (it rounds the exact sum, however it is
    written), so a shared part's hundreds of supplies are added up once, not per cell. Each is the
    rounded rest of what the ones before leave out, under half the last one's last place, so there
    are usually one or two. `math.fsum` does the exact work, in C: Shewchuk's partials kept in Python
    cost 0.27-0.44 s of CPU per matrix at 100k, this 0.07 s."""
    values = list(values)
    partials: list[float] = []
    while rest := math.fsum(chain(values, map(float.__neg__, partials))):
        partials.append(rest)
    return partials


def _add_units(units: dict[str, tuple[int, int]], more: dict[str, tuple[int, int]]) -> None:
    for unit, (amount, n) in more.items():
        total, count = units.get(unit, (0, 0))
        units[unit] = (total + amount, count + n)


T = TypeVar("T", str, int)


def _merged(lists: list[list[T]]) -> list[T]:
    """Sorted lists as one sorted list (a sort of sorted runs merges them)."""
    out = list(chain.from_iterable(lists))
    out.sort()
    return out


def _cell(place: str, service_type: str, wide: _Wide, local: list[_Part], order: _Order, sees_capacity: bool) -> Cell:
    """One cell from the providers reaching it only through areas (`wide`: shared by the places in the
    same areas) and those reaching it locally (`local`), all parts holding different providers;
    a provider reaching it both ways counts as local, so its wide entries are taken out. The wide
    parts' lists are not copied into the cell (`Providers`)."""
    here = [p for near in local for p in near.ids]
    gone = [[part.by_id[p] for p in sorted(part.by_id.keys() & here)] for part in wide.parts]
    cell = Cell(place, service_type,
                Providers([w.present for w in wide.parts], [[p.id for p in g if p.present] for g in gone],
                          [p.present for p in local]),
                Providers([w.remote for w in wide.parts], [[p.id for p in g if not p.present] for g in gone],
                          [p.remote for p in local]),
                Providers([], [], [p.ids for p in local]),
                Providers([w.ids for w in wide.parts], [[p.id for p in g] for g in gone], []),
                # a provider's local part replaces its wide one
                confirmed=ChainMap(*(part.confirmed for part in local), *(w.confirmed for w in wide.parts)))
    stale = sum(w.stale for w in wide.parts) + sum(p.stale for p in local)
    recorded = sum(w.recorded for w in wide.parts)
    units: dict[str, tuple[int, int]] = {}
    fastest = list(wide.fastest) if any(gone) else wide.fastest
    dates = [d for part in local for d in (part.newest, part.oldest) if d]
    for part, left in zip(wide.parts, gone, strict=True):
        _add_units(units, part.units)
        for p in left:
            if p.fastest is not None:
                del fastest[bisect_left(fastest, p.fastest)]
            stale -= p.stale
            recorded -= p.recorded
            for unit, amount in p.units:
                total, count = units[unit]
                units[unit] = (total - amount, count - 1)
        if any(p.confirmed is not None and p.confirmed in (part.newest, part.oldest) for p in left):
            # its newest or oldest was one gone local: its dates again without them
            out = set(map(_ID, left))
            dates += [d for p, d in part.confirmed.items() if d and p not in out]
        else:
            dates += [d for d in (part.newest, part.oldest) if d]
    near = _merged([p.fastest for p in local])
    count = len(fastest) + len(near)
    if count:  # as statistics.median of the providers' fastest, taken in the offers' order
        middle = order.hours_of(_nth(fastest, near, count // 2))
        cell.median_response_hours = middle if count % 2 else (
            order.hours_of(_nth(fastest, near, count // 2 - 1)) + middle) / 2
    cell.newest_confirmation, cell.oldest_confirmation = max(dates, default=None), min(dates, default=None)
    cell.stale_providers = stale
    # exactly rounded, so in any order: the shared parts' less those gone local is the sum of those left
    cell.supply = math.fsum(chain(wide.supply, (-p.supply for g in gone for p in g), *(p.supplies for p in local)))
    if sees_capacity:
        for part in local:
            _add_units(units, part.units)
        cell.capacity = [Amount(unit, float(total)) for unit, (total, count) in sorted(units.items()) if count]
        if (recorded or any(p.recorded for p in local)) and not cell.capacity:
            cell.flags.append(Flag.CAPACITY_EXPIRED)
    return cell


def _nth(a: list[int], b: list[int], n: int) -> int:
    """The `n`th (from 0) of two sorted lists of different entries taken together, without merging them:
    `b` is a cell's few local providers, `a` the many wide ones."""
    lo, hi = max(0, n + 1 - len(a)), min(n + 1, len(b))  # how many of the first n + 1 come from b
    while lo < hi:
        j = (lo + hi) // 2
        if b[j] < a[n - j]:  # b[j] is among the first n + 1
            lo = j + 1
        else:
            hi = j
    j, i = lo, n + 1 - lo
    return max(a[i - 1], b[j - 1]) if i and j else a[i - 1] if i else b[j - 1]


class _TypeFold:
    """One service type's offers: where each names a place, and the areas each provider reaches."""

    def __init__(self, offers: list[Offer], known: list[_Known], sees_capacity: bool) -> None:
        self.offers = offers
        self.known = known
        self.sees_capacity = sees_capacity
        self.named: dict[str, list[tuple[str, int, bool]]] = defaultdict(list)  # place: (provider, position, present)
        self.areas_of: dict[str, list[tuple[int, str, bool]]] = defaultdict(list)  # provider: (position, area, present)
        for i, offer in enumerate(offers):
            for code, present in offer.places.items():
                if area_countries(code) is None:
                    self.named[code].append((offer.provider, i, present))
                else:
                    self.areas_of[offer.provider].append((i, code, present))
        # providers reaching the same areas are worked out together, once for each set of those a place is in
        self.groups: dict[frozenset[str], list[str]] = defaultdict(list)
        for provider, entries in self.areas_of.items():
            self.groups[frozenset(code for _, code, _ in entries)].append(provider)
        self.groups_in: dict[str, list[frozenset[str]]] = defaultdict(list)  # area: the groups reaching it
        for group in sorted(self.groups, key=sorted):
            for code in group:
                self.groups_in[code].append(group)
        self._groups_reached: dict[tuple[frozenset[str], frozenset[str]], list[_Provider]] = {}
        self._world: _Part | None = None
        self._wide: dict[frozenset[str], _Wide] = {}
        self.order = _Order(offers)
        self._alone = _Alone(offers, known, self.order, sees_capacity)

    def cell(self, place: str, service_type: str, named: list[str], areas: frozenset[str]) -> Cell:
        """The cell of a place that is or holds the `named` places (itself, its country, its subdivisions)
        and lies in `areas`."""
        entries = [e for code in named if code in self.named for e in self.named[code]]
        services = Counter(map(_ID, entries))
        areas_of = self.areas_of
        alone = [e for e in entries if services[e[0]] == 1 and e[0] not in areas_of]  # most: one service, naming it
        several: dict[str, list[tuple[int, bool]]] = {}  # provider: (offer position, delivered)
        for provider, i, present in (e for e in entries if services[e[0]] > 1 or e[0] in areas_of):
            wide = areas_of.get(provider, [])
            if services[provider] == 1 and all(j == i for j, _, _ in wide):  # its areas can only add delivery
                alone.append((provider, i, present or any(p for _, code, p in wide if code in areas)))
            else:
                several.setdefault(provider, []).append((i, present))
        providers = []
        for provider, reaching in several.items():
            reaches: Reaches = {}
            for i, present in reaching:
                seen = reaches.get(i)
                reaches[i] = (_Reach(self.offers[i], self.known[i], present, None) if seen is None else
                              seen.joined(present, None))
            providers.append(self._provider(provider, areas, reaches))
        local = [self._alone.part(alone)] + ([_part(providers)] if providers else [])
        return _cell(place, service_type, self.wide(areas), local, self.order, self.sees_capacity)

    def wide(self, areas: frozenset[str]) -> _Wide:
        """Every provider reaching a place in these areas through them, as if it reached it no other way:
        those reaching it only through the world in a part of their own, the same in every cell (at 100k
        about 530 of a type's 630, which every set of areas' part held again: building those parts was
        a quarter of the fold), then the others."""
        if areas not in self._wide:
            groups = dict.fromkeys(g for code in sorted(areas) for g in self.groups_in.get(code, ()))
            if _WORLD in groups:
                if self._world is None:
                    self._world = _part(self._group(_WORLD, _WORLD))
                parts = [self._world]
                del groups[_WORLD]
            else:
                parts = []
            if groups:
                parts.append(_part([p for g in groups for p in self._group(g, g & areas)]))
            self._wide[areas] = _Wide(parts, _merged([p.fastest for p in parts]),
                                      _exact(chain.from_iterable(p.supplies for p in parts)))
        return self._wide[areas]

    def _group(self, group: frozenset[str], reached: frozenset[str]) -> list[_Provider]:
        """The providers reaching exactly these areas, each through those of them a place is in (most
        groups are reached the same way by many sets of areas: each way is worked out once)."""
        if (group, reached) not in self._groups_reached:
            self._groups_reached[(group, reached)] = [self._provider(p, reached, {}) for p in self.groups[group]]
        return self._groups_reached[(group, reached)]

    def _provider(self, provider: str, areas: frozenset[str], local: Reaches) -> _Provider:
        """A provider from its services reaching the cell locally and through these areas."""
        reaches = dict(local)
        for i, code, present in self.areas_of.get(provider, ()):
            if code in areas:
                seen = reaches.get(i)
                countries = area_countries(code)
                reaches[i] = (_Reach(self.offers[i], self.known[i], present, countries) if seen is None else
                              seen.joined(present, countries))
        return _provider(provider, reaches, self.order, self.sees_capacity)


class _Alone:
    """Providers whose one service reaching a cell names the place (most local providers), worked out
    column by column from what is known of each offer: the same as `_provider` of that one reach."""

    def __init__(self, offers: list[Offer], of: list[_Known], order: _Order, sees_capacity: bool) -> None:
        self.fastest = order.fastest  # a provider's fastest here, as `_part` sorts them
        self.confirmed = [k.confirmed or None for k in of]
        self.stale = [k.stale for k in of]
        # its supply, delivered there or reaching it remotely (`_supply` of the one reach: nothing when full)
        acting = [0.0 if sees_capacity and o.capacity == 0 and k.capacity_current else 1.0
                  for o, k in zip(offers, of, strict=True)]
        self.delivered = [a * (STALE_WEIGHT if k.stale else 1.0) for a, k in zip(acting, of, strict=True)]
        self.remote = [a * REMOTE_WEIGHT * (STALE_WEIGHT if k.stale else 1.0) for a, k in zip(acting, of, strict=True)]
        seen = [sees_capacity and o.capacity is not None for o in offers]
        self.recorded = [1 if s else 0 for s in seen]
        self.units = [((o.capacity_unit, o.capacity or 0),) if s and k.capacity_current else ()
                      for o, k, s in zip(offers, of, seen, strict=True)]

    def part(self, alone: list[tuple[str, int, bool]]) -> _Part:
        """These providers (each once: id, its offer's position, delivered there) as a local part."""
        alone.sort()  # by id
        ids = list(map(_ID, alone))
        at = list(map(_AT, alone))
        delivered = list(map(_DELIVERED, alone))
        confirmed = dict(zip(ids, map(self.confirmed.__getitem__, at), strict=True))
        dates = list(filter(None, confirmed.values()))
        units: dict[str, tuple[int, int]] = {}
        for i in filter(self.units.__getitem__, at):
            (unit, amount), = self.units[i]
            total, count = units.get(unit, (0, 0))
            units[unit] = (total + amount, count + 1)
        remote = list(map(not_, delivered))
        # in no order (a cell adds them with `math.fsum`)
        supplies = [*map(self.delivered.__getitem__, compress(at, delivered)),
                    *map(self.remote.__getitem__, compress(at, remote))]
        return _Part({}, ids, list(compress(ids, delivered)), list(compress(ids, remote)), supplies,
                     sorted(filter(None, map(self.fastest.__getitem__, at))), confirmed,
                     max(dates, default=None), min(dates, default=None),
                     sum(map(self.stale.__getitem__, at)), units, sum(map(self.recorded.__getitem__, at)))


_AT, _DELIVERED = itemgetter(1), itemgetter(2)
