"""Coverage gaps for donors: a matrix of places by service types, weighted by need.

A cell is one place (a country, or a subdivision) and one service type. Its providers are the
organisations with a visible, active service of that type available in the place, in an area that
contains it (an M49 region, a named region, the world) or, for a country, in one of its
subdivisions. A relocation or exile service that says where defenders may come from (its origins)
counts for those places instead of where it hosts them: the gap is where defenders cannot leave.
A provider is *local* when one of those services names the place itself, its country
or one of its subdivisions, and *wide* when it reaches the place only through an area. That is
apart from how it delivers there: present (delivered there) or remote. The gap score (0 to 100,
higher is a worse gap) is

    supply    = sum over providers of  presence (1 delivered there, 0.5 reaching it remotely)
                                     x freshness (1, or 0.5 if not verified for STALE_AFTER_DAYS)
                                     x reach (1 if local; if wide, min(1, C / N))
    shortfall = 1 / (1 + supply)                        1 with no provider, 0.5 with one, ...
    need      = mean of the chosen indicators known for the place (a subdivision's, else its
                country's), each scaled to 0..1 by its largest value; 0.5 when none is known
    score     = 100 x shortfall x (0.25 + 0.75 x need)

so supply moves a score most and need up to four times. A wide provider's help is shared by every
country of its area: N is the number of peopled countries in the narrowest area through which it
reaches the place, and C what it can deliver, its stated capacity for the service type (summed over
its services reaching the place) where the viewer may see capacity and it is current, or else
WIDE_DEFAULT_CAPACITY. Without this, ten worldwide funds counted as ten local providers everywhere
and no place could show a gap; `no_local_provider` flags a place that only wide providers reach.

Freshness is the newest of a service's verification date (else its organisation's) and its capacity
confirmation, never the record's last write: re-importing old data must not make it look fresh, and
a record never verified is stale. Funding is shown beside the score, not in it: different viewers
see different funding, and a donor wants to see where money already goes.

Which providers reach a cell and what they add up to is `jobs.gap_cells`, which folds area-wide
services once per set of areas rather than into every cell one by one.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from directory.base import budget
from directory.base.bulk import paused_gc
from directory.domain import places
from directory.domain.errors import BadArgument, NotFound, Plural
from directory.domain.fields import SERVICE, sees
from directory.domain.model import Indicator
from directory.domain.taxonomy import DEFENDER_GROUP, SERVICE_TYPE
from directory.domain.viewer import Viewer
from directory.jobs.cell_providers import among
from directory.jobs.gap_cells import WIDE_DEFAULT_CAPACITY as WIDE_DEFAULT_CAPACITY  # the cells' part, re-exported
from directory.jobs.gap_cells import Amount, Funding, providers_reaching
from directory.jobs.gap_cells import Cell as Cell
from directory.jobs.gap_cells import Flag as Flag
from directory.jobs.gap_cells import matrix_cells as matrix_cells
from directory.jobs.reasons import Joined, Money, Reason
from directory.jobs.rules import today
from directory.jobs.tables import Column, Table
from directory.store import GapOffer, Grant, Store

UNKNOWN_NEED = 0.5
FUNDING_YEARS = 3  # grants of this year and the two before, and undated ones, count
HIGH_GAP = 50.0  # a donor summary counts the funding that reaches cells scoring at least this


@dataclass(frozen=True)
class DonorTotal:
    currency: str
    amount: float
    grants: int
    cells: int  # cells in the matrix where this donor funds a provider
    to_high_gap_cells: float  # the part of `amount` received by providers in a cell scoring HIGH_GAP or more


@dataclass(frozen=True)
class NeedSource:
    """Where one indicator's figures for the matrix's places come from, so a reader can judge the
    need they weigh: how many places it gave a value, of which years, from which sources."""

    indicator: str
    places: int
    first_year: int
    last_year: int
    sources: list[str]  # as the indicators' file says them, each once


@dataclass
class GapMatrix:
    cells: list[Cell]  # worst gap first
    indicators: list[str]  # the indicators that weighed need
    donor: str | None = None
    donor_totals: list[DonorTotal] = field(default_factory=list)
    need_sources: list[NeedSource] = field(default_factory=list)  # of the values that weighed these cells


@dataclass(frozen=True)
class GapQuestion:
    codes: list[str] | None = None  # countries or subdivisions
    country: str | None = None  # this country's subdivisions
    region: str | None = None  # the countries of a UN M49 area: world, region:Africa, subregion:..., or 419
    service_types: list[str] | None = None
    group: str | None = None
    indicators: list[str] | None = None
    donor: str | None = None


async def coverage_gaps(store: Store, viewer: Viewer, q: GapQuestion, on: date | None = None) -> GapMatrix:
    # the donor is read, and noted, before the answer: an error after it tells the viewer it is there
    if q.donor is not None and q.donor not in await store.organisations_by_id(viewer, [q.donor]):
        raise NotFound("organisation", q.donor, "donor")
    # what the other reads gave is noted only once the matrix is the viewer's; the collector waits for
    # the whole matrix (`paused_gc`), not only its fold
    with store.answer(viewer), paused_gc():
        return await _matrix(store, viewer, q, on or today())


async def _matrix(store: Store, viewer: Viewer, q: GapQuestion, on: date) -> GapMatrix:
    wanted = _places(q)
    vocabulary = await store.vocabulary()
    types = sorted(set(q.service_types or ()) or vocabulary.terms.get(SERVICE_TYPE, set()))  # each type once
    for t in types:
        vocabulary.require(SERVICE_TYPE, t, "serviceTypes")
    if q.group is not None:
        vocabulary.require(DEFENDER_GROUP, q.group, "group")
    indicators = await store.jobs.indicators(viewer, q.indicators)
    if q.indicators:
        missing = sorted(set(q.indicators) - {i.name for i in indicators})
        if missing:
            known = await store.jobs.indicator_names(viewer)
            if not known:
                raise BadArgument("indicators", "no indicator named %(names)s: none has been imported",
                                  names=", ".join(map(repr, missing)))
            raise BadArgument("indicators", "no indicator named %(names)s; the indicators are %(known)s",
                              names=", ".join(map(repr, missing)), known=", ".join(known))
    cells, received, from_peers = await _cells_and_funding(store, viewer, q.group, wanted, types, on)
    need = NeedWeights(indicators)
    await budget.in_thread(_weigh, cells, received, need, q.donor, from_peers)
    totals = _donor_totals(q.donor, cells, received) if q.donor else []
    return GapMatrix(cells, need.names, q.donor, totals, need.sources({c.place for c in cells}))


T = TypeVar("T")


def in_parts(types: list[str]) -> list[list[str]]:
    """The service types in the parts they are read and folded in, so the store reads one part while
    Python folds the one before: the first of one type (nothing is folded until it is read), then
    parts growing by one every second part (1, 2, 2, 3, 3, 4, ...), as a part's read takes about as
    long as the fold of one as large. At 100,000 organisations on two cores the store's read of every
    offer and Python's fold of them took 3 and 6 s one after the other; six equal parts took 8.5-9.9
    s against 12.4-13.9 s for one, and these parts 4.81 s against six equal ones' 4.99 (medians of
    six interleaved runs, the fold faster since), the fold waiting 0.1 s for the first read instead
    of about 0.5 (BENCHMARKS.md)."""
    parts, start, n = [], 0, 0
    while start < len(types):
        size = 1 + (n + 1) // 2
        parts.append(types[start:start + size])
        start, n = start + size, n + 1
    return parts


async def _cells_and_funding(store: Store, viewer: Viewer, group: str | None, wanted: list[places.Place],
                             types: list[str], on: date) -> tuple[list[Cell], list[Grant], set[str]]:
    """The cells (`matrix_cells`, pure computation: in a worker thread, so other requests go on meanwhile),
    the funding of their providers and which of those are peers' records. The cells of a type depend
    only on its offers, so the types go in parts: the store reads them one after another, then the
    funding, while each part read is folded."""
    parts = in_parts(types)
    offers: list[asyncio.Future[dict[str, list[GapOffer]]]] = []
    for part in parts:
        offers.append(asyncio.ensure_future(_after(offers[-1] if offers else None,
                                                   functools.partial(store.jobs.gap_offers, viewer, part, group))))

    async def funding() -> list[Grant]:
        # each part's as it is read, beside the fold of the part before: all of them after the last read
        # held the last fold back (0.12 s at 100k)
        recipients: set[str] = set()
        for read, part in zip(offers, parts, strict=True):
            recipients.update(providers_reaching(await read, wanted, part))
        return await store.jobs.grants(viewer, sorted(recipients), on.year - FUNDING_YEARS + 1) if recipients else []

    funded = asyncio.ensure_future(funding())
    reading: list[asyncio.Future[Any]] = [*offers, funded]
    sees_capacity = sees(viewer, SERVICE["capacity"])
    cells: list[Cell] = []
    from_peers: set[str] = set()
    try:
        for part, read in zip(parts, offers, strict=True):
            found = await read
            cells += await budget.in_thread(matrix_cells, found, wanted, part, sees_capacity, on)
            from_peers.update(o.provider for typed in found.values() for o in typed if o.from_peer)
        return cells, await funded, from_peers
    except BaseException:
        for task in reading:  # reads left running (the store's part finishes alone) give nobody anything
            task.cancel()
            task.add_done_callback(_retrieved)
        raise


async def _after(previous: asyncio.Future[Any] | None, read: Callable[[], Awaitable[T]]) -> T:
    """`read` once `previous` is done: one read at a time, as the store best takes them."""
    if previous is not None:
        await previous
    return await read()


def _retrieved(task: asyncio.Future[Any]) -> None:
    """A read given up on: its failure, if any, is taken (asyncio would log it as never retrieved)."""
    if not task.cancelled():
        task.exception()


def _weigh(cells: list[Cell], received: list[Grant], need: NeedWeights, donor: str | None,
           from_peers: set[str]) -> None:
    """Funding, need, score and flags of every cell, then worst first. `from_peers`: the providers
    that are records a peer directory published, none of this one's (`Flag.ONLY_PEERS`)."""
    by_recipient: dict[str, list[Grant]] = defaultdict(list)
    for g in received:
        by_recipient[g.recipient].append(g)
    funded = set(by_recipient)
    memo: dict[int, tuple[list[str], list[str]]] = {}  # for `among`: the funded of each shared list, once
    peers_memo: dict[int, tuple[list[str], list[str]]] = {}  # and the peers' records of each
    for n, cell in enumerate(cells):
        if n % 1000 == 0:
            budget.check()
        # the grants of the cell's providers, present ones first, each part by id (as the cell lists them)
        cell_grants = [g for providers in (cell.present, cell.remote) for p in among(providers, funded, memo)
                       for g in by_recipient[p]]
        cell.funding = _funding(cell_grants)
        cell.donor_funding = _amounts([g for g in cell_grants if g.donor == donor]) if donor else []
        cell.need = need(cell.place)
        cell.score = _score(cell)
        only_peers = bool(from_peers) and all(len(among(providers, from_peers, peers_memo)) == len(providers)
                                              for providers in (cell.present, cell.remote))
        cell.flags = _flags(cell, cell_grants, only_peers)
    cells.sort(key=lambda c: (-c.score, c.place, c.service_type))


def _places(q: GapQuestion) -> list[places.Place]:
    """The places asked about: a region's countries, a country's subdivisions, or a list of places.
    Two of them together are refused, never one quietly taken over the other."""
    if sum(1 for given in (q.region, q.codes, q.country) if given) > 1:
        raise BadArgument("region" if q.region else "codes",
                          "choose one way to name the places: a region, a country or a list of places")
    if q.region:
        area = places.require_area(q.region, "region")
        return [places.countries()[c] for c in places.within(area)[1] if c not in places.UNPEOPLED]
    return places.place_list(q.codes, q.country)


def _score(cell: Cell) -> float:
    need = UNKNOWN_NEED if cell.need is None else cell.need
    # to 9 decimals first: a half is then a half, which floating point may make a little less
    # (100 * 1/2 * (0.25 + 0.75 * 0.7) is 38.74999..., and is 38.8 halves to even, as the README says)
    return round(round(100 * (1 / (1 + cell.supply)) * (0.25 + 0.75 * need), 9), 1)


def _flags(cell: Cell, grants: list[Grant], only_peers: bool) -> list[Flag]:
    """`only_peers`: every provider is a record a peer directory published."""
    flags = []
    if cell.providers == 0:
        flags.append(Flag.NO_PROVIDER)
    elif cell.providers == 1:
        flags.append(Flag.SINGLE_PROVIDER)
    if cell.providers and not cell.local:
        flags.append(Flag.NO_LOCAL_PROVIDER)
    if cell.providers and cell.stale_providers == cell.providers:
        flags.append(Flag.STALE)
    if cell.providers and not grants:
        flags.append(Flag.UNFUNDED)
    return flags + cell.flags + ([Flag.ONLY_PEERS] if cell.providers and only_peers else [])


def _amounts(grants: list[Grant]) -> list[Amount]:
    totals: dict[str, float] = defaultdict(float)
    for g in grants:
        if g.amount is not None and g.currency:
            totals[g.currency] += g.amount
    return [Amount(c, a) for c, a in sorted(totals.items())]


def _funding(grants: list[Grant]) -> list[Funding]:
    out = []
    by_currency: dict[str, list[Grant]] = defaultdict(list)
    for g in grants:
        if g.amount is not None and g.currency:
            by_currency[g.currency].append(g)
    for currency, found in sorted(by_currency.items()):
        per_donor: dict[str, float] = defaultdict(float)
        for g in found:
            per_donor[g.donor] += g.amount or 0.0
        total = sum(per_donor.values())
        shares = [v / total for v in per_donor.values()] if total else []
        out.append(Funding(currency, total, len(found), len(per_donor), round(max(shares, default=0.0), 4),
                           round(sum(s * s for s in shares), 4)))
    return out


class NeedWeights:
    """Each indicator's latest value per place, scaled by its largest value at the same level
    (countries against countries, subdivisions against subdivisions)."""

    def __init__(self, indicators: list[Indicator]) -> None:
        latest: dict[tuple[str, str], Indicator] = {}
        for i in indicators:
            key = (i.name, i.place)
            if key not in latest or i.year > latest[key].year:
                latest[key] = i
        top: dict[tuple[str, bool], float] = defaultdict(float)
        for i in latest.values():
            top[(i.name, "-" in i.place)] = max(top[(i.name, "-" in i.place)], i.value)
        self.names = sorted({i.name for i in indicators})
        self.latest = latest
        self.scaled = {key: (i.value / top[(i.name, "-" in i.place)] if top[(i.name, "-" in i.place)] else 0.0)
                       for key, i in latest.items()}

    def _used(self, name: str, place: str) -> Indicator | None:
        """The value that weighs `place` for indicator `name`: its own, else its country's."""
        return self.latest.get((name, place)) or self.latest.get((name, place.split("-")[0]))

    def __call__(self, place: str) -> float | None:
        values = []
        for name in self.names:
            used = self._used(name, place)
            if used is not None:
                values.append(self.scaled[(name, used.place)])
        return round(sum(values) / len(values), 4) if values else None

    def sources(self, places_weighed: set[str]) -> list[NeedSource]:
        """Each indicator that gave a value to one of these places: how many, which years, from where."""
        out = []
        for name in self.names:
            used = [u for p in sorted(places_weighed) if (u := self._used(name, p)) is not None]
            if used:
                years = [u.year for u in used]
                out.append(NeedSource(name, len(used), min(years), max(years), list(dict.fromkeys(
                    u.source for u in used if u.source))))
        return out


def _donor_totals(donor: str, cells: list[Cell], grants: list[Grant]) -> list[DonorTotal]:
    own = [g for g in grants if g.donor == donor and g.amount is not None and g.currency]
    high = set().union(*(p for c in cells if c.score >= HIGH_GAP for p in (c.present, c.remote)))
    out = []
    for currency in sorted({g.currency for g in own if g.currency}):
        mine = [g for g in own if g.currency == currency]
        reached = {g.recipient for g in mine}
        memo: dict[int, tuple[list[str], list[str]]] = {}
        funds = sum(1 for c in cells if among(c.present, reached, memo) or among(c.remote, reached, memo))
        out.append(DonorTotal(currency, sum(g.amount or 0.0 for g in mine), len(mine), funds,
                              sum(g.amount or 0.0 for g in mine if g.recipient in high)))
    return out


NAMED_PROVIDERS = 3  # a cell names its first few providers (those local to it first); the CSV has every id


def named_ids(cells: Iterable[Cell], donor: str | None = None) -> set[str]:
    """The providers the table would name in these cells, and the donor asked, to read their names
    once for all of them."""
    return {i for c in cells for i in _first_providers(c, NAMED_PROVIDERS + 1)} | ({donor} if donor else set())


def _first_providers(c: Cell, n: int) -> list[str]:
    """A cell's first n providers: those naming the place (or its country, a subdivision) first, then
    those delivering there, then those reaching it remotely, each by id. A group's n first are enough
    (with k taken, at most k of them are, and n - k are wanted), so no group is sorted whole: a full
    matrix's cells hold hundreds of providers each."""
    out: list[str] = []
    for group in (c.local, c.present, c.remote):
        for provider in heapq.nsmallest(n, group):
            if len(out) == n:
                return out
            if provider not in out:
                out.append(provider)
    return out


def _named(c: Cell, names: Mapping[str, str]) -> tuple[list[object], list[str]]:
    """The providers a cell names by their names (those the viewer may see an organisation of), their
    ids, and how many more reach it, as "and 4 more"."""
    ids = [i for i in _first_providers(c, NAMED_PROVIDERS + 1) if i in names][:NAMED_PROVIDERS]
    shown: list[object] = [names[i] for i in ids]
    if ids and (more := c.providers - len(ids)) > 0:  # none named: the counts beside say how many
        shown.append(Reason(Plural("and %(n)s more", "and %(n)s more", "n"), n=more))
    return shown, ids


def hide_unseen_funding(matrix: GapMatrix) -> bool:
    """Whether no funding the viewer may see reaches any provider of the whole answer: then every
    cell with a provider says so, which tells nothing cell by cell, so the answer says it once and
    the cells (on the page, in its CSV and on its map) not. Decided over every cell, not the worst
    a page shows: funding seen further down keeps the flag on every cell. One rule for the page and
    the map (a Spanish walk: the map flagged what the page said it left out)."""
    provided = [c for c in matrix.cells if Flag.NO_PROVIDER not in c.flags]
    if not provided or not all(Flag.UNFUNDED in c.flags for c in provided):
        return False
    for cell in matrix.cells:
        cell.flags = [f for f in cell.flags if f is not Flag.UNFUNDED]
    return True


def table(matrix: GapMatrix, top: int | None = None, names: Mapping[str, str] | None = None) -> Table:
    """The matrix as a table; `names` (organisation names by id, `named_ids`) names a cell's first providers."""
    out = Table([Column("Place", "#country+code"), Column("Service", "#sector"), Column("Score", "#indicator+gap"),
                 Column("Flags", "#meta+flags", 40), Column("Present", "#org+num+present"),
                 Column("Remote", "#org+num+remote"), Column("Country-specific", "#org+num+local"),
                 Column("Wide", "#org+num+wide"), Column("Need", "#indicator+need"),
                 Column("Median h", "#indicator+response_hours"), Column("Newest", "#date+confirmed"),
                 Column("Capacity", "#capacity", 24), Column("Funding", "#value+funding", 30),
                 Column("Who provides it", "#org+name+providers", 40),
                 Column("Named", "#org+id+named", printed=False),
                 Column("Top donor share", "#indicator+top_donor_share", printed=False),
                 Column("Concentration", "#indicator+concentration", printed=False),
                 Column("Providers", "#org+id+providers", printed=False)]
                + ([Column("Donor funding", "#value+donor", 24)] if matrix.donor else []))
    for c in matrix.cells[:top]:
        row: list[object] = [
            c.place, c.service_type, c.score, [f.value for f in c.flags], len(c.present), len(c.remote),
            len(c.local), len(c.wide), c.need,
            c.median_response_hours, c.newest_confirmation,
            None if c.capacity is None else [f"{a.amount:g} {a.currency}" for a in c.capacity],
            [_funding_text(f) for f in c.funding], *_named(c, names or {}),
            [f"{f.currency}: {f.top_donor_share:g}" for f in c.funding],  # a share, not a sum of money
            [f"{f.currency}: {f.concentration:g}" for f in c.funding], [*c.present, *c.remote]]
        if matrix.donor:
            row.append([Reason("%(currency)s %(amount)s", currency=a.currency, amount=Money(round(a.amount)))
                        for a in c.donor_funding])
        out.add(*row)
    out.total = len(matrix.cells)
    out.notes = [*need_notes(matrix), *_donor_notes(matrix, names or {})]
    return out


def _donor_notes(matrix: GapMatrix, names: Mapping[str, str]) -> list[Reason]:
    """What a donor asks the matrix first: which donor its name was read as, how much of its funding
    reaches these places' providers, and how much of that the worst gaps, in each currency (never
    added across currencies)."""
    if not matrix.donor:
        return []
    which = Reason("The donor asked: %(donor)s (%(id)s).", donor=names.get(matrix.donor, matrix.donor), id=matrix.donor)
    if not matrix.donor_totals:
        return [which, Reason("No funding of this donor that you may see reaches a provider in these cells.")]
    return [which, *(Reason("This donor's funding reaching providers here, in %(currency)s: %(amount)s (grants: "
                            "%(grants)s, cells: %(cells)s), of which %(high)s to cells scoring %(score)s or more.",
                   amount=Money(round(t.amount)), currency=t.currency, grants=t.grants, cells=t.cells,
                   high=Money(round(t.to_high_gap_cells)), score=round(HIGH_GAP))
            for t in matrix.donor_totals)]


MOST_SOURCES = 3  # named under an answer; the rest counted


def need_notes(matrix: GapMatrix) -> list[Reason]:
    """Where the need that weighed the scores comes from, or that none is known: a score rests on
    it, and a reader judges a figure by its source and its year."""
    if not matrix.cells:
        return []
    if not matrix.need_sources:
        return [Reason("No need figures are recorded for these places: the need of each counts as %(need)s.",
                       need=UNKNOWN_NEED)]
    out = []
    for n in matrix.need_sources:
        years = str(n.first_year) if n.first_year == n.last_year else f"{n.first_year}\u2013{n.last_year}"
        if not n.sources:
            out.append(Reason(Plural("Need from %(indicator)s: %(n)s place, %(years)s; no source recorded.",
                                     "Need from %(indicator)s: %(n)s places, %(years)s; no source recorded.", "n"),
                              indicator=n.indicator, n=n.places, years=years))
            continue
        named: list[str] = n.sources[:MOST_SOURCES]
        if (more := len(n.sources) - MOST_SOURCES) > 0:
            named.append(Reason(Plural("and %(n)s more", "and %(n)s more", "n"), n=more))
        out.append(Reason(Plural("Need from %(indicator)s: %(n)s place, %(years)s; "
                                 "source of the figures: %(sources)s.",
                                 "Need from %(indicator)s: %(n)s places, %(years)s; "
                                 "source of the figures: %(sources)s.", "n"),
                          indicator=n.indicator, n=n.places, years=years, sources=Joined(named, "; ")))
    if any(c.need is None for c in matrix.cells) and any(c.need is not None for c in matrix.cells):
        # a donor reads a lower score as a lesser need: say why a place with no figure can outrank one
        out.append(Reason("Places with no need figure count as %(need)s, so they can rank above places whose "
                          "known need is lower.", need=UNKNOWN_NEED))
    return out


def _funding_text(f: Funding) -> Reason:
    """Funding as "USD 12,000 (3 donors)": the currency is a code, the words a page translates."""
    amount = Money(round(f.amount))
    return Reason(Plural("%(currency)s %(amount)s (%(donors)s donor)", "%(currency)s %(amount)s (%(donors)s donors)",
                         "donors"), currency=f.currency, amount=amount, donors=f.donors)
