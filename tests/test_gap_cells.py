"""The gap matrix folded once per set of areas gives the cells of counting cell by cell.

`jobs.gap_cells` works out the providers reaching places only through areas (the world, regions,
named regions) once for all the places in the same areas, and each place's own providers apart; a
provider reaching a place both ways counts once, as local. These tests draw many directories of
offers over real places and ask for exactly the cells `tests/reference_cells.py` counts one by one:
the same providers in the same lists, the same supply to the last digit, the same median when
responses tie. Worked cases on their own follow."""

from __future__ import annotations

import math
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from directory.domain import places
from directory.jobs.cell_providers import among
from directory.jobs.gap_cells import WIDE_DEFAULT_CAPACITY, Cell, _exact, matrix_cells, providers_reaching
from directory.store import GapOffer as Offer
from tests import reference_cells

pytestmark = pytest.mark.pure

ON = date(2026, 12, 1)
COUNTRIES = ["CO", "MX", "GT", "KE", "UG", "FR", "PH"]
# areas of several kinds and sizes: the world, regions, sub-regions, named regions overlapping them
AREAS = ["001", "019", "419", "002", "014", "150", "142", "central-america", "organization-of-american-states",
         "east-african-community", "european-union", "council-of-europe", "asean"]
SUBDIVISIONS = [places.subdivisions_of(c)[n].code for c in ("CO", "KE") for n in (0, 1)]
CODES = COUNTRIES + AREAS + SUBDIVISIONS
WANTED = [places.countries()[c] for c in COUNTRIES] + [places.subdivisions()[s] for s in SUBDIVISIONS]
DAYS = st.sampled_from([None, "2026-11-20", "2026-06-01", "2025-01-15", "2023-03-03"])
HOURS = st.sampled_from([None, 1.0, 6.0, 24.0, 24, 72.0])  # 24 and 24.0 tie: the median keeps the offers' order


@st.composite
def directories(draw: st.DrawFn) -> dict[str, list[Offer]]:
    providers = [f"p{n:02d}" for n in range(draw(st.integers(1, 14)))]
    found: dict[str, list[Offer]] = {}
    for n in range(draw(st.integers(0, 45))):
        reached = draw(st.dictionaries(st.sampled_from(CODES), st.booleans(), min_size=1, max_size=5))
        capacity = draw(st.sampled_from([None, 0, 3, 12, 40]))
        found.setdefault(draw(st.sampled_from(["legal-aid", "relocation"])), []).append(Offer(
            draw(st.sampled_from(providers)), f"s{n:02d}", reached, draw(HOURS), capacity,
            draw(st.sampled_from(["cases", "grants"])) if capacity is not None else "",
            draw(DAYS) if capacity is not None else None, draw(DAYS), draw(DAYS)))
    return found


@settings(max_examples=300, deadline=None)
@given(directories(), st.booleans())
def test_the_fold_gives_the_cells_of_counting_cell_by_cell(found: dict[str, list[Offer]], sees: bool) -> None:
    types = ["legal-aid", "relocation", "medical-care"]
    ours = matrix_cells(found, WANTED, types, sees, ON)
    counted = reference_cells.matrix_cells(found, WANTED, types, sees, ON)
    assert [_every_field(c) for c in ours] == [_every_field(c) for c in counted]
    # the funded among them, as the weighing asks: a cell's lists share their areas' (`Providers`)
    funded, memo = {p for n, p in enumerate(sorted({o.provider for t in found.values() for o in t})) if n % 3}, {}
    for c, reference in zip(ours, counted, strict=True):
        for mine, theirs in ((c.present, reference.present), (c.remote, reference.remote), (c.wide, reference.wide)):
            assert among(mine, funded, memo) == sorted(funded.intersection(theirs))
            assert len(mine) == len(theirs)
    # whose funding is read while the fold runs: the providers the cells hold, known from the offers alone
    for wanted in (WANTED, WANTED[:1], WANTED[-2:]):  # all places, then a few (most offers reach none)
        cells = counted if wanted is WANTED else reference_cells.matrix_cells(found, wanted, types, sees, ON)
        assert providers_reaching(found, wanted, types) == sorted({p for c in cells for p in c.present + c.remote})


SUPPLIES = st.floats(-1e6, 1e6, allow_nan=False) | st.sampled_from([1.0, 0.5, 0.25, 10 / 193, 10 / 7, 1e-17])


@settings(max_examples=500, deadline=None)
@given(st.lists(SUPPLIES, max_size=60), st.lists(SUPPLIES, max_size=8))
def test_a_shared_parts_supplies_added_once_give_the_sum_of_adding_them_in_every_cell(
        shared: list[float], own: list[float]) -> None:
    # a cell's supply is `math.fsum` of its areas' supplies (kept as `_exact` of them) and its own
    assert repr(math.fsum([*_exact(shared), *own])) == repr(math.fsum([*shared, *own]))
    assert len(_exact([1.0, 1e-17, -1.0, 1e-17] * 50)) <= 2  # a few numbers, however many were added


def _every_field(cell: Cell) -> dict[str, object]:
    """All a cell holds, numbers with their type (24 is not 24.0 once printed)."""
    fields = dict(vars(cell))
    fields["median_response_hours"] = (cell.median_response_hours, type(cell.median_response_hours))
    fields["supply"] = (repr(cell.supply), type(cell.supply))  # to the last digit
    return fields


def offer(provider: str, service: str, reached: dict[str, bool], capacity: int | None = None) -> Offer:
    return Offer(provider, service, reached, 24.0, capacity, "cases" if capacity is not None else "",
                 "2026-11-01" if capacity is not None else None, "2026-11-01", None)


def cells_of(found: dict[str, list[Offer]], codes: list[str]) -> dict[str, Cell]:
    wanted = [places.place(c) for c in codes]
    return {c.place: c for c in matrix_cells(found, [p for p in wanted if p], ["legal-aid"], True, ON)}


def test_an_area_wide_service_counts_in_every_country_it_reaches_and_only_there() -> None:
    world, americas = offer("fund", "fund-s", {"001": False}), offer("net", "net-s", {"019": True})
    cells = cells_of({"legal-aid": [world, americas]}, ["CO", "MX", "KE", "FR"])
    for country in ("CO", "MX"):
        assert cells[country].remote == ["fund"] and cells[country].present == ["net"]
        assert cells[country].wide == ["fund", "net"] and cells[country].local == []
    for country in ("KE", "FR"):
        assert cells[country].remote == ["fund"] and cells[country].present == []
    # the fund's default capacity is shared by every peopled country; the network's by the Americas'
    americas_share = WIDE_DEFAULT_CAPACITY / len([c for c in places.countries_in("019") if c not in places.UNPEOPLED])
    world_share = WIDE_DEFAULT_CAPACITY / len([c for c in places.countries() if c not in places.UNPEOPLED])
    assert cells["CO"].supply == 0.5 * world_share + americas_share
    assert cells["KE"].supply == 0.5 * world_share


def test_a_provider_reaching_a_place_by_name_and_through_an_area_counts_once_as_local_there() -> None:
    # one service names Colombia and the world; another of the same provider reaches the region
    found = {"legal-aid": [offer("ngo", "ngo-a", {"CO": False, "001": True}), offer("ngo", "ngo-b", {"419": False}),
                           offer("other", "other-s", {"001": False})]}
    cells = cells_of(found, ["CO", "MX", "CO-ANT"])
    assert cells["CO"].local == ["ngo"] and cells["CO"].wide == ["other"]
    assert cells["CO"].present == ["ngo"] and cells["CO"].remote == ["other"]  # delivered there through the world
    world = len([c for c in places.countries() if c not in places.UNPEOPLED])
    latin_america = len([c for c in places.countries_in("419") if c not in places.UNPEOPLED])
    other = 0.5 * (WIDE_DEFAULT_CAPACITY / world)
    assert cells["CO"].providers == 2 and cells["CO"].supply == 1.0 + other  # local: its whole weight
    assert cells["MX"].local == [] and cells["MX"].wide == ["ngo", "other"]
    # wide in Mexico: delivered there through the world, its share through both areas
    assert cells["MX"].supply == min(1.0, WIDE_DEFAULT_CAPACITY / world + WIDE_DEFAULT_CAPACITY / latin_america) + other
    assert cells["CO-ANT"].local == ["ngo"]  # a subdivision counts what names its country
