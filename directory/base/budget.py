"""How long one request may work, and how many expensive ones may work at once.

A web request sets its deadline (`within`); everything it runs reads it from a context variable,
so no function needs a parameter for it:

- pure computations (the gap matrix, partner scores, referral chains, search ranking, map pages)
  run in a worker thread (`in_thread`), where they call `check()` as they go and stop at the next
  check once the deadline has passed. The event loop stays free for other requests meanwhile
  (Python switches threads every few milliseconds);
- each store statement checks the deadline before it is sent.

Expensive requests (the jobs, the place counts, costly queries, maps) must also hold one of a few
`Slots`. When none is free within a short wait, the request is answered "busy, retry in N
seconds" rather than queued. While a request holds a slot, its store transactions are shielded
from cancellation (`shielded`): a request that runs out of time is answered at once, but its
slot stays taken until the store has finished the statement it was running. The embedded store
cannot stop a statement it has started (ArcadeDB over Bolt has no transaction timeout; its
server-wide statement timeout bounds it), so releasing the slot earlier would let a client that
keeps timing out pile up work in the store behind the bound.

The CLI sets no deadline and takes no slot: an operator's command runs to the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from directory.domain.errors import DirectoryError

T = TypeVar("T")
P = ParamSpec("P")


class OverBudget(DirectoryError):
    """The request used up its time budget."""

    def __init__(self, budget: float) -> None:
        super().__init__(f"the request took longer than its time budget of {budget:g} s; ask for less "
                         "(smaller pages, fewer nested lists, one country rather than the world)")
        self.budget = budget


class Busy(DirectoryError):
    """Every slot for expensive work is taken: retry later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the service is busy with other expensive requests; retry in {retry_after} s")
        self.retry_after = retry_after


class _Deadline:
    def __init__(self, budget: float) -> None:
        self.budget = budget
        self.at = time.monotonic() + budget


_deadline: ContextVar[_Deadline | None] = ContextVar("request_deadline", default=None)


@contextlib.contextmanager
def within(budget: float) -> Iterator[None]:
    """Run the enclosed work under a deadline `budget` seconds from now."""
    token = _deadline.set(_Deadline(budget))
    try:
        yield
    finally:
        _deadline.reset(token)


def check() -> None:
    """Raise `OverBudget` when the current request's deadline has passed (no deadline: never)."""
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline.at:
        raise OverBudget(deadline.budget)


def remaining() -> float | None:
    """Seconds left to the current deadline, or None when there is none."""
    deadline = _deadline.get()
    return None if deadline is None else max(0.0, deadline.at - time.monotonic())


async def in_thread(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a pure computation in a worker thread, with the caller's deadline (and context).

    A thread cannot be cancelled: when the request gives up, the computation goes on until its
    next `check()`. While a slot is held, the slot stays taken until the thread is done, like
    shielded store work, so giving up never lets more work run than the slots allow."""
    check()
    return await shielded(asyncio.to_thread(function, *args, **kwargs))


class _Hold:
    """One taken slot: released when the request and all its shielded store work are done."""

    def __init__(self, release: Callable[[], None]) -> None:
        self._release = release
        self._users = 1

    def enter(self) -> None:
        self._users += 1

    def leave(self) -> None:
        self._users -= 1
        if self._users == 0:
            self._release()


_hold: ContextVar[_Hold | None] = ContextVar("work_slot", default=None)


class Slots:
    """At most `size` expensive requests at work at once, in this process."""

    def __init__(self, size: int, wait: float = 2.0) -> None:
        self.size = size
        self.wait = wait
        self._free = asyncio.Semaphore(size)
        self.in_use = 0
        self.busy_answers = 0  # requests turned away, for /health and tests

    def _release(self) -> None:
        self.in_use -= 1
        self._free.release()

    async def take(self) -> Callable[[], None]:
        """Take a slot for the current task, or raise `Busy` when none frees up in time; returns
        the function that gives it back (once the task's shielded store work is done too)."""
        if _hold.get() is not None:  # already holding one (a nested call): no second slot
            return lambda: None
        try:
            await asyncio.wait_for(self._free.acquire(), self.wait)
        except TimeoutError:
            self.busy_answers += 1
            raise Busy(max(1, round(self.wait * 2))) from None
        self.in_use += 1
        held = _Hold(self._release)
        token = _hold.set(held)

        def give_back() -> None:
            _hold.reset(token)
            held.leave()

        return give_back

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """Hold a slot for the enclosed work (see `take`)."""
        give_back = await self.take()
        try:
            yield
        finally:
            give_back()


@contextlib.asynccontextmanager
async def expensive(slots: Slots, seconds: float) -> AsyncIterator[None]:
    """The enclosed work as an expensive request's: within `seconds` (checked as it goes, and cancelled at
    the end of them) and holding one of `slots`. Every channel running a job, a map or a whole-matrix
    download takes it so: raises `Busy` when no slot frees up, `OverBudget` or `TimeoutError` when time
    runs out."""
    with within(seconds):
        async with slots.hold(), asyncio.timeout(seconds):
            yield


async def shielded(work: Coroutine[Any, Any, T]) -> T:
    """Await store work; while a slot is held, finish it even if the request is cancelled."""
    held = _hold.get()
    if held is None:
        return await work
    held.enter()
    task = asyncio.ensure_future(work)

    def finished(done: asyncio.Future[T]) -> None:
        held.leave()
        if not done.cancelled():
            done.exception()  # retrieved, so an abandoned failure is not reported as unhandled

    task.add_done_callback(finished)
    return await asyncio.shield(task)
