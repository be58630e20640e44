"""`coverageGaps`: places by service types, with providers, capacity, freshness, funding and need."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from directory.domain.errors import BadArgument
from directory.domain.ids import record_id_of
from directory.jobs import gaps
from schema.context import Context

MAX_CELLS = 10_000


@strawberry.enum(description="Why a cell is a gap, besides its score.")
class GapFlag(Enum):
    NO_PROVIDER = "no_provider"
    NO_LOCAL_PROVIDER = "no_local_provider"
    SINGLE_PROVIDER = "single_provider"
    STALE = "stale"
    UNFUNDED = "unfunded"
    CAPACITY_EXPIRED = "capacity_expired"
    ONLY_PEERS = "only_peers"


@strawberry.type
class Amount:
    currency: str = strawberry.field(description="The unit for capacity, the ISO 4217 code for money.")
    amount: float


@strawberry.type(description="Funding received by a cell's providers, in one currency.")
class CellFunding:
    currency: str
    amount: float
    grants: int
    donors: int
    top_donor_share: float
    concentration: float = strawberry.field(
        description="Herfindahl-Hirschman index of donor shares, 0 to 1; 1 means a single donor.")


@strawberry.type(description="One place and one service type.")
class GapCell:
    place: str
    service_type: str
    score: float = strawberry.field(description="0 to 100, higher is a worse gap; see the README for the formula.")
    flags: list[GapFlag]
    providers_present: int
    providers_remote: int
    providers_local: int = strawberry.field(
        description="Providers naming the place itself, its country or one of its subdivisions.")
    providers_wide: int = strawberry.field(
        description="Providers reaching the place only through an area (a region, the world); each adds at most "
                    "its capacity shared by the countries of that area (see the README).")
    provider_ids: list[str] = strawberry.field(description="Present first, then remote; record ids.")
    capacity: list[Amount] | None = strawberry.field(
        description="Capacity confirmed in the last 90 days, per unit; null for anonymous viewers.")
    median_response_hours: float | None
    newest_confirmation: str | None
    oldest_confirmation: str | None
    stale_providers: int
    funding: list[CellFunding] = strawberry.field(description="Funding this viewer may see, last three years.")
    donor_funding: list[Amount] = strawberry.field(description="The asked donor's part of `funding`.")
    need: float | None = strawberry.field(description="0 to 1 from the chosen indicators; null if none has data.")

    @classmethod
    def of(cls, c: gaps.Cell) -> GapCell:
        return cls(
            place=c.place, service_type=c.service_type, score=c.score, flags=[GapFlag(f.value) for f in c.flags],
            providers_present=len(c.present), providers_remote=len(c.remote), providers_local=len(c.local),
            providers_wide=len(c.wide), provider_ids=[*c.present, *c.remote],
            capacity=None if c.capacity is None else [Amount(currency=a.currency, amount=a.amount) for a in c.capacity],
            median_response_hours=c.median_response_hours, newest_confirmation=c.newest_confirmation,
            oldest_confirmation=c.oldest_confirmation, stale_providers=c.stale_providers,
            funding=[CellFunding(currency=f.currency, amount=f.amount, grants=f.grants, donors=f.donors,
                                 top_donor_share=f.top_donor_share, concentration=f.concentration)
                     for f in c.funding],
            donor_funding=[Amount(currency=a.currency, amount=a.amount) for a in c.donor_funding], need=c.need)


@strawberry.type(description="Where one donor's funding goes, in one currency.")
class DonorTotal:
    currency: str
    amount: float
    grants: int
    cells: int = strawberry.field(description="Cells of this matrix where the donor funds a provider.")
    to_high_gap_cells: float = strawberry.field(
        description=f"The part of `amount` received by providers in a cell scoring {gaps.HIGH_GAP:g} or more.")


@strawberry.type
class NeedSource:
    indicator: str
    places: int = strawberry.field(description="Places of the matrix this indicator gave a value (its own or "
                                               "its country's).")
    first_year: int
    last_year: int
    sources: list[str] = strawberry.field(description="Where those values come from, as the indicators' file "
                                                      "says, each once.")


@strawberry.type
class CoverageGaps:
    cells: list[GapCell] = strawberry.field(description="Worst gap first.")
    total_cells: int
    indicators: list[str] = strawberry.field(description="The need indicators that weighed the scores.")
    need_sources: list[NeedSource] = strawberry.field(
        description="Where the need figures of the matrix's places come from; empty when none is known "
                    f"(each place's need then counts as {gaps.UNKNOWN_NEED:g}).")
    donor_totals: list[DonorTotal]


@strawberry.type
class GapQuery:
    @strawberry.field(description=(
        "A matrix of places (every country; or `codes`; or one `country`'s subdivisions; or a `region`'s "
        "countries) by service types, with a gap score and flags per cell, worst first. `first` and `offset` "
        f"page through the cells (at most {MAX_CELLS} at once); `donor` adds where that donor's funding goes."))
    async def coverage_gaps(self, info: Info[Context, None], codes: list[str] | None = None,
                            country: str | None = None, region: str | None = None,
                            service_types: list[str] | None = None, group: str | None = None,
                            indicators: list[str] | None = None, donor: strawberry.ID | None = None,
                            first: int = 500, offset: int = 0) -> CoverageGaps:
        if not 0 <= first <= MAX_CELLS:
            raise BadArgument("first", "must be between 0 and %(most)s", most=MAX_CELLS)
        if offset < 0:
            raise BadArgument("offset", "must not be negative")
        question = gaps.GapQuestion(codes=codes, country=country, region=region, service_types=service_types,
                                    group=group, indicators=indicators,
                                    donor=record_id_of(str(donor), "Organisation") if donor else None)
        matrix = await gaps.coverage_gaps(info.context.store, info.context.viewer, question)
        return CoverageGaps(
            cells=[GapCell.of(c) for c in matrix.cells[offset:offset + first]], total_cells=len(matrix.cells),
            indicators=matrix.indicators,
            need_sources=[NeedSource(indicator=n.indicator, places=n.places, first_year=n.first_year,
                                     last_year=n.last_year, sources=n.sources) for n in matrix.need_sources],
            donor_totals=[DonorTotal(currency=t.currency, amount=t.amount, grants=t.grants, cells=t.cells,
                                     to_high_gap_cells=t.to_high_gap_cells) for t in matrix.donor_totals])
