"""The gap matrix read in parts and folded while the store reads on (`jobs.gaps._cells_and_funding`),
and its offers statement anchored on the service type: the same records for every viewer as matching
every offer, nothing left running or unretrieved when a read, a fold, the deadline or the caller gives
up, the request's slot held until the store is done, and no funding noted that the viewer was not given."""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from typing import Any

import pytest

from directory.base import budget
from directory.base.audit import read_all
from directory.base.config import Settings
from directory.domain.errors import BadArgument, StoreError
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from directory.jobs import gaps
from directory.jobs.gaps import GapQuestion, coverage_gaps
from directory.store import Store
from directory.store.jobs import JobReads
from directory.store.jobs import gaps as store_gaps
from tests import test_audit_door as door
from tests import test_gaps as tg
from tests.helpers import load, org, service, split_in

pytestmark = pytest.mark.anyio

NEW_HEAD = ("MATCH (s:Service) WHERE s.type IN $types\nMATCH (o:Organisation)-[:OFFERS]->(s)\n"
            "WHERE coalesce(s.status, 'active') = 'active'")
OLD_HEAD = ("MATCH (o:Organisation)-[:OFFERS]->(s:Service)\n"
            "WHERE ($types IS NULL OR s.type IN $types) AND coalesce(s.status, 'active') = 'active'")
TYPES = ["legal-aid", "safe-house", "psychosocial-support", "emergency-grant", "relocation-regional"]


async def more(store: Store) -> None:
    """Records on each side of every visibility rule the statement applies."""
    await load(store, [
        org("x"), org("r", **{"#meta+visibility": "restricted"}),
        org("p", **{"#org+type": "shelter", "#geo+precision": "hidden"}),  # place withheld from the public
        org("n", **{"#meta+visibility": "network"}),
    ], [
        service("x-paused", "x", **{"#status": "paused"}),
        service("x-closed", "x", "safe-house", **{"#status": "closed"}),
        service("x-restricted", "x", "relocation-regional", **{"#meta+visibility": "restricted"}),
        service("x-network", "x", "psychosocial-support", **{"#meta+visibility": "network", "#group+code": "women"}),
        service("r-public", "r", "legal-aid"),
        service("p-public", "p", "safe-house", **{"#group+code": "journalists"}),
        service("n-restricted", "n", "emergency-grant", **{"#meta+visibility": "restricted"}),
        service("n-public", "n", "relocation-regional", **{"#country+code+origin": "VE"}),
    ])


def normal(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {r["type"]: sorted(map(repr, zip(*(r[f] for f in store_gaps._FIELDS), strict=True))) for r in rows}


async def test_the_type_anchored_offers_give_each_viewer_what_the_old_statement_gave(store: Store) -> None:
    await tg.seed(store)
    await more(store)
    assert NEW_HEAD in store_gaps.OFFERS and NEW_HEAD in store_gaps.OFFERS_FOR_GROUP
    viewers = [STEWARD, ANONYMOUS, tg.MEMBER_B, Viewer("member", "test:x"), Viewer("member", "test:n"),
               Viewer("member", "test:r"), Viewer("member", "test:s")]
    for viewer in viewers:
        for group in (None, "journalists", "women"):
            new_statement = store_gaps.OFFERS if group is None else store_gaps.OFFERS_FOR_GROUP
            old_statement = new_statement.replace(NEW_HEAD, OLD_HEAD)
            extra = {} if group is None else {"group": group}
            for types in (TYPES, TYPES[:1], TYPES[1::2], ["no-such-type"]):
                new = await store.graph.read_plain(new_statement, types=types, **extra, **viewer.params)
                old = await store.graph.read_plain(old_statement, types=types, **extra, **viewer.params)
                assert normal(new) == normal(old), (viewer, group, types)
                assert len(new) == len({r["type"] for r in new})


@contextmanager
def watched() -> Iterator[list[Any]]:
    """Whatever asyncio reports as never retrieved, and 'never awaited' warnings."""
    loop = asyncio.get_running_loop()
    seen: list[Any] = []
    before = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: seen.append(context))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield seen
        finally:
            gc.collect()
            loop.set_exception_handler(before)
    seen.extend(w for w in caught if "never awaited" in str(w.message))


def others() -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()}


async def test_a_store_read_failing_in_a_middle_part_leaks_nothing_and_notes_no_funding(
        store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    await door.seed(store)
    real = JobReads.gap_offers
    calls: list[list[str]] = []

    async def failing(reads: JobReads, viewer: Viewer, types: list[str], group: str | None) -> Any:
        calls.append(types)
        if len(calls) == 2:
            raise StoreError("the store failed")
        return await real(reads, viewer, types, group)

    monkeypatch.setattr(JobReads, "gap_offers", failing)
    monkeypatch.setattr(gaps, "in_parts", split_in(3))
    before, running = len(read_all(settings.data_dir / "audit")), others()
    with watched() as seen:
        with pytest.raises(StoreError):
            await coverage_gaps(store, door.STEWARD_TOKEN, GapQuestion(codes=["CO"], service_types=TYPES[:4]))
        await asyncio.sleep(0.5)
    assert len(calls) == 2 and not seen and others() <= running
    assert not [i for _, kind, i in door.lines(door.since(settings, before), door.STEWARD_TOKEN) if kind == "link"]


def slow_statements(store: Store, monkeypatch: pytest.MonkeyPatch, seconds: float) -> list[tuple[float, float]]:
    """Every statement takes `seconds` more inside the store's shielded work; their (start, end) times."""
    spans: list[tuple[float, float]] = []
    real = store.graph._once

    def once(query: str, params: dict[str, Any], plain: bool) -> Any:
        run = real(query, params, plain)

        async def slowed(session: Any, timeout: float | None) -> Any:
            start = time.monotonic()
            await asyncio.sleep(seconds)
            try:
                return await run(session, timeout)
            finally:
                spans.append((start, time.monotonic()))

        return slowed

    monkeypatch.setattr(store.graph, "_once", once)
    return spans


async def test_a_cancelled_matrix_keeps_its_slot_until_the_store_is_done_and_gives_it_back_once(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    await tg.seed(store)
    monkeypatch.setattr(gaps, "in_parts", split_in(3))
    slots = budget.Slots(1)
    spans = slow_statements(store, monkeypatch, 0.4)

    async def request() -> None:
        async with slots.hold():
            await coverage_gaps(store, STEWARD, tg.ask(indicators=None))

    # whole, and one statement at a time
    await request()
    assert slots.in_use == 0 and slots._free._value == 1
    ordered = sorted(spans)
    assert all(a[1] <= b[0] + 0.01 for a, b in pairwise(ordered)), ordered

    running = others()
    with watched() as seen:
        for delay in (0.1, 0.5, 0.9, 1.3):
            spans.clear()
            task = asyncio.ensure_future(request())
            await asyncio.sleep(delay)
            task.cancel()
            cancelled_at = time.monotonic()
            with pytest.raises(asyncio.CancelledError):
                await task
            busy = slots.in_use
            await asyncio.sleep(1.0)
            assert slots.in_use == 0 and slots._free._value == 1, delay
            # nothing new sent once cancelled, and the slot stayed taken while a statement was running
            assert not [s for s in spans if s[0] > cancelled_at + 0.01], (delay, spans)
            if any(end > cancelled_at for _, end in spans):
                assert busy == 1, delay
    assert not seen and others() <= running


async def test_a_matrix_over_its_deadline_stops_reading_and_leaks_nothing(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    await tg.seed(store)
    monkeypatch.setattr(gaps, "in_parts", split_in(4))
    spans = slow_statements(store, monkeypatch, 0.3)
    running = others()
    with watched() as seen:
        with budget.within(0.5), pytest.raises(budget.OverBudget):
            await coverage_gaps(store, STEWARD, tg.ask(indicators=None))
        await asyncio.sleep(1.0)
    assert len(spans) < 6 and not seen and others() <= running


async def test_a_matrix_refused_for_an_unknown_indicator_notes_no_funding(
        store: Store, settings: Settings) -> None:
    # the funding is noted as given when the folds succeed, but the request can still fail after
    await door.seed(store)
    before = len(read_all(settings.data_dir / "audit"))
    with pytest.raises(BadArgument):
        await coverage_gaps(store, door.STEWARD_TOKEN,
                            GapQuestion(codes=["CO"], service_types=["legal-aid"], indicators=["no-such"]))
    assert not [i for _, kind, i in door.lines(door.since(settings, before), door.STEWARD_TOKEN) if kind == "link"]


async def test_a_matrix_whose_weighing_runs_out_of_time_notes_no_funding(
        store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    await door.seed(store)

    def over_budget(*_: object) -> None:
        raise budget.OverBudget(1.0)

    monkeypatch.setattr(gaps, "_weigh", over_budget)
    before = len(read_all(settings.data_dir / "audit"))
    with pytest.raises(budget.OverBudget):
        await coverage_gaps(store, door.STEWARD_TOKEN, GapQuestion(codes=["CO"], service_types=["legal-aid"]))
    assert not [i for _, kind, i in door.lines(door.since(settings, before), door.STEWARD_TOKEN) if kind == "link"]


async def test_a_last_fold_failing_after_the_funding_was_read_notes_none_of_it(
        store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # the audit door's test fails the fold at once, before the funding read is back: here it is back first
    await door.seed(store)
    folded, real = gaps.matrix_cells, JobReads.grants
    read: list[int] = []

    def fails_last(*args: Any) -> list[gaps.Cell]:
        if args[2] == ["safe-house"]:
            time.sleep(1.0)
            assert read, "the funding read was not back before the fold failed"
            raise budget.OverBudget(1.0)
        return folded(*args)

    async def grants(*args: Any) -> Any:
        found = await real(*args)
        read.append(len(found))
        return found

    monkeypatch.setattr(gaps, "matrix_cells", fails_last)
    monkeypatch.setattr(gaps, "in_parts", split_in(2))
    monkeypatch.setattr(JobReads, "grants", grants)
    before = len(read_all(settings.data_dir / "audit"))
    with pytest.raises(budget.OverBudget):
        await coverage_gaps(store, door.STEWARD_TOKEN,
                            GapQuestion(codes=["CO"], service_types=["legal-aid", "safe-house"]))
    assert read == [1]
    assert not door.lines(door.since(settings, before), door.STEWARD_TOKEN)  # neither funding nor providers
