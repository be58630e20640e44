"""The synthetic directory is deterministic and shaped like the field."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from directory.exchange import generate
from directory.exchange.generate import build
from directory.store import Store


def test_same_seed_same_directory_other_seed_other_directory() -> None:
    a, b, c = build(500, 1, "g"), build(500, 1, "g"), build(500, 2, "g")
    assert a == b and a != c


def test_shape_many_local_groups_few_ingos_long_tail_of_referrals() -> None:
    batch = build(3000, 3, "g")
    kinds = Counter(o.kind for o in batch.organisations)
    assert kinds["local-group"] > 0.5 * 3000 and kinds["international-ngo"] < 0.05 * 3000
    referrals = [lk for lk in batch.links if lk.type == "REFERS_TO"]
    assert 3 <= len(referrals) / 3000 <= 7
    incoming = Counter(lk.target for lk in referrals)
    top = incoming.most_common(1)[0][1]
    median = sorted(incoming.values())[len(incoming) // 2]
    assert top > 20 * median  # a few hubs, most with one or two
    assert all(o.visibility.value != "public" for o in batch.organisations if o.kind == "shelter")
    assert all(o.name.startswith("Synthetic") for o in batch.organisations)


@pytest.mark.anyio
async def test_a_generated_directory_is_loaded_in_transactions_the_store_holds(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Was a hole: `directory generate --orgs 10000` wrote one transaction, which ran the embedded
    store's default heap (512m) out of memory; it now commits parts of what the heap holds."""
    batch = generate.build(200, 7, store.directory_id)
    opened: list[int] = []
    real = Store.transaction

    async def counted(self: Store, work: Any) -> Any:
        opened.append(1)
        return await real(self, work)

    monkeypatch.setattr(Store, "transaction", counted)
    counts = await generate.load(store, batch, per_transaction=300)
    total = len(batch.organisations) + len(batch.services) + len(batch.links)
    assert len(opened) >= total // 300 >= 3
    assert (counts.organisations, counts.services, counts.links) == (200, len(batch.services), len(batch.links))
    rows = await store.graph.read("MATCH (o:Organisation) RETURN count(o) AS n")
    assert rows[0]["n"] == 200


@pytest.mark.anyio
async def test_a_generated_directory_waits_for_the_import_lock_as_an_import_does(store: Store) -> None:
    """Was a hole (a crash read): `generate` wrote parts as large as an import's beside an import,
    and a publish could run between them; two large writers at once damaged ArcadeDB's indexes."""
    import asyncio

    from tests.helpers import Said

    said = Said()
    async with store.importing(lambda: None):
        running = asyncio.ensure_future(generate.load(store, generate.build(50, 3, store.directory_id), said))
        while not said:
            await asyncio.sleep(0.05)
        assert said == ["another import, or a publish of the feeds, is writing to this data folder: waiting for it"]
        assert not running.done()
    assert (await running).organisations == 50
