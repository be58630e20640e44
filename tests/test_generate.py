"""The synthetic directory is deterministic and shaped like the field."""

from __future__ import annotations

from collections import Counter

from directory.exchange.generate import build


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
