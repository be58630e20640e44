"""What every verb shares: opening the store for one piece of work, and progress on stderr."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from directory.base.config import Settings
from directory.base.terminal import out
from directory.store import Store, open_store


def progress(message: str) -> None:
    out(message, file=sys.stderr, flush=True)


def run_with_store(settings: Settings, work: Callable[[Store], Awaitable[Any]]) -> Any:
    """Open the store (attaching to a running one, or starting the embedded one), do `work`, close."""
    async def run() -> Any:
        async with open_store(settings) as store:
            return await work(store)

    return asyncio.run(run())
