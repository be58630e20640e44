"""The time budget is enforced while work runs, and expensive work is bounded with a clear "busy"."""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import time

import pytest

from directory.base import budget
from directory.base.budget import Busy, OverBudget, Slots
from directory.domain.viewer import ANONYMOUS
from directory.store import Store
from schema import schema
from schema.context import Context
from tests.helpers import load, org, service

pytestmark = pytest.mark.anyio

GAPS = "{ coverageGaps { totalCells } }"


def _spin(seconds: float) -> int:
    """Pure work that checks the budget as the jobs do."""
    end, n = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        n += 1
        if n % 1000 == 0:
            budget.check()
    return n


async def test_work_in_a_thread_stops_at_the_deadline_and_leaves_the_loop_free() -> None:
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    running = asyncio.create_task(ticker())
    started = time.monotonic()
    with budget.within(0.3), pytest.raises(OverBudget):
        await budget.in_thread(_spin, 30.0)
    stopped = time.monotonic() - started
    running.cancel()
    assert stopped < 5  # it stopped at the deadline, not after its 30 s of work
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 10 and max(gaps) < 0.25  # the loop kept running beside the thread


async def test_no_deadline_means_no_limit() -> None:
    assert budget.remaining() is None
    budget.check()
    assert await budget.in_thread(_spin, 0.05) > 0


async def test_a_slot_is_refused_with_busy_when_none_frees_up() -> None:
    slots = Slots(1, wait=0.05)
    async with slots.hold():
        assert slots.in_use == 1
        other = asyncio.create_task(_take(slots), context=contextvars.Context())
        with pytest.raises(Busy) as refused:
            await other
    assert refused.value.retry_after >= 1 and "retry in" in str(refused.value)
    assert slots.in_use == 0 and slots.busy_answers == 1
    await _take(slots)  # free again


async def _take(slots: Slots) -> None:
    async with slots.hold():
        await asyncio.sleep(0)


async def test_a_slot_stays_taken_until_the_shielded_store_work_ends() -> None:
    slots = Slots(1, wait=0.05)
    release = asyncio.Event()
    finished = asyncio.Event()

    async def store_work() -> None:
        await release.wait()
        finished.set()

    async def request() -> None:
        async with slots.hold():
            await budget.shielded(store_work())

    task = asyncio.create_task(request(), context=contextvars.Context())
    await asyncio.sleep(0.01)
    task.cancel()  # the request gives up (its time ran out) while the store is still busy
    with pytest.raises(asyncio.CancelledError):
        await task
    assert slots.in_use == 1  # still counted: the store is still working for it
    release.set()
    await finished.wait()
    await asyncio.sleep(0)
    assert slots.in_use == 0


async def test_an_expensive_query_is_answered_busy_when_every_slot_is_taken(store: Store) -> None:
    await load(store, [org("a")], [service("a-legal", "a")])
    slots = Slots(1, wait=0.05)
    async with slots.hold():
        result = await asyncio.create_task(
            schema.execute(GAPS, context_value=Context(store=store, viewer=ANONYMOUS, slots=slots)),
            context=contextvars.Context())
    assert result.data is None and result.errors
    assert result.errors[0].extensions == {"code": "BUSY", "retryAfterSeconds": 1}
    assert "busy" in result.errors[0].message
    cheap = await asyncio.create_task(
        schema.execute('{ organisation(id: "test:a") { name } }',
                       context_value=Context(store=store, viewer=ANONYMOUS, slots=slots)),
        context=contextvars.Context())
    assert cheap.errors is None  # a small query needs no slot
    done = await schema.execute(GAPS, context_value=Context(store=store, viewer=ANONYMOUS, slots=slots))
    assert done.errors is None and done.data is not None and done.data["coverageGaps"]["totalCells"] > 0


async def test_a_job_over_its_budget_answers_time_budget(store: Store) -> None:
    await load(store, [org("a")], [service("a-legal", "a")])
    with budget.within(0.0):
        await asyncio.sleep(0.01)
        result = await schema.execute(GAPS, context_value=Context(store=store, viewer=ANONYMOUS))
    assert result.errors and result.errors[0].extensions == {"code": "TIME_BUDGET"}
    assert "time budget" in result.errors[0].message


@pytest.mark.parametrize("query", [
    "{ ... on Query { coverageGaps { totalCells } } }",
    "query { ...Heavy } fragment Heavy on Query { places { code } }",
    "query { ...Outer } fragment Outer on Query { ...Inner } "
    "fragment Inner on Query { findPartners(organisation: \"x\") { organisationId } }",
])
async def test_expensive_work_behind_fragments_still_needs_a_slot(store: Store, query: str) -> None:
    await load(store, [org("a")], [service("a-legal", "a")])
    slots = Slots(1, wait=0.05)
    async with slots.hold():
        result = await asyncio.create_task(
            schema.execute(query, context_value=Context(store=store, viewer=ANONYMOUS, slots=slots)),
            context=contextvars.Context())
    assert result.errors and result.errors[0].extensions["code"] == "BUSY"  # type: ignore[index]


async def test_a_negative_or_zero_page_cannot_shrink_the_estimated_cost(store: Store) -> None:
    heavy = "edges { node { services { organisation { links { source { services { name } } } } } } }"
    aliases = " ".join(f"a{i}: organisations(first: {first}) {{ totalCount {heavy} }}"
                       for i, first in enumerate((-1000000, 0, 100)))
    result = await schema.execute(f"{{ {aliases} }}", context_value=Context(store=store, viewer=ANONYMOUS))
    assert result.data is None and result.errors and "estimated cost" in result.errors[0].message
