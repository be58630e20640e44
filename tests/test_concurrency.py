"""Concurrent upserts of the same record lose no update: each one gets its own revision."""

from __future__ import annotations

import asyncio

import pytest

from directory.model import Organisation
from directory.store.records import Store
from directory.viewer import STEWARD

pytestmark = pytest.mark.anyio


async def test_concurrent_upserts_of_one_record_lose_no_update(store: Store) -> None:
    await store.upsert([Organisation(id="test:busy", name="Busy", kind="local-group")], [], [])

    async def edit(n: int) -> None:
        await store.upsert([Organisation(id="test:busy", name="Busy", kind="local-group",
                                         description=f"edit {n}")], [], [])

    await asyncio.gather(*(edit(n) for n in range(8)))
    found = await store.organisation(STEWARD, "test:busy")
    assert found.provenance and found.provenance.revision == 9
    assert found.description.startswith("edit ")


async def test_concurrent_upserts_of_many_records_all_land(store: Store) -> None:
    async def create(n: int) -> None:
        await store.upsert([Organisation(id=f"test:many-{n}-{i}", name=f"Many {n} {i}", kind="local-group")
                            for i in range(50)], [], [])

    await asyncio.gather(*(create(n) for n in range(8)))
    assert len(await store.existing_organisations([f"test:many-{n}-{i}" for n in range(8) for i in range(50)])) == 400
