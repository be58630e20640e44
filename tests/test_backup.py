"""Backups round-trip losslessly, and a restore never mixes into a store that has records."""

from __future__ import annotations

import pytest

from directory import demo
from directory.errors import RestoreRefused
from directory.store import backup
from directory.store.records import Store
from tests.conftest import WIPE

pytestmark = pytest.mark.anyio


async def dump(store: Store) -> list[str]:
    return [line async for line in backup.dump(store.graph, store.directory_id)]


async def test_dump_restore_dump_is_identical(store: Store) -> None:
    await demo.load(store)
    await store.add_term("service-type", "burial-support", "Support with funerals")
    first = await dump(store)
    assert len(first) > 130
    await store.graph.write(WIPE)
    counts = await backup.restore(store.graph, first, "backup.jsonl")
    assert counts["organisations"] == 60
    assert await dump(store) == first


async def test_backup_keeps_restricted_records_and_funding(store: Store) -> None:
    await demo.load(store)
    text = "\n".join(await dump(store))
    assert "Casa Respiro" in text and '"FUNDS"' in text and "Legal aid fund" in text


async def test_restore_into_a_store_with_records_is_refused(store: Store) -> None:
    await demo.load(store)
    lines = await dump(store)
    with pytest.raises(RestoreRefused):
        await backup.restore(store.graph, lines, "backup.jsonl")
