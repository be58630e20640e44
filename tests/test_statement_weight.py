"""What the store holds per request: the statements that order or collect many rows carry ids and
keys, never whole records. ArcadeDB weighs each row it orders or collects by all the row carries,
and holds them in its heap: a listing that collected every matching organisation to count them
was refused, then ran the store out of memory, once a peer's large records were among them
(threat model R15). Checked on every listing and search statement the service can run."""

from __future__ import annotations

import re

from directory.store.records import listing, search
from directory.store.records.listing import Sort
from directory.store.records.projection import Shape
from directory.store.records.projection import listing as projected_listing


def _before_the_page(statement: str) -> list[str]:
    """A listing's lines before its page's records are matched again by id."""
    return re.split(r"\nUNWIND page AS row|\nMATCH \(n:Organisation \{id: nid\}\)|\nMATCH \(s:Service \{id: sid\}\)",
                    statement)[0].splitlines()


def test_every_listing_orders_and_counts_ids_and_keys_never_records() -> None:
    statements = {**listing.samples(),
                  **{f"graphql.{counted}": projected_listing(Shape("organisation"), Sort.NAME, "all", frozenset(),
                                                             False, counted) for counted in (False, True)}}
    assert len(statements) > 50
    for name, statement in statements.items():
        if name.endswith(".count"):  # a count alone streams: it orders and collects nothing
            assert "ORDER BY" not in statement and "collect(" not in statement, name
            continue
        lines = _before_the_page(statement)
        orders = [i for i, line in enumerate(lines) if line.startswith("ORDER BY")]
        assert orders, name
        for i in orders:
            assert lines[i - 1].startswith(("WITH n.id AS nid, distance, k", "WITH n.id AS nid, s.id AS sid")), \
                (name, lines[i - 1])
        assert not re.search(r"collect\(\[(n|s)\b", "\n".join(lines)), name  # the page's own are few


def test_search_collects_scores_and_ids_and_reads_the_text_of_the_candidates_kept_only() -> None:
    for statement in (search.SEARCH_ORGANISATIONS, search.SEARCH_SERVICES):
        before, after = statement.split("UNWIND found[0..$limit] AS row")
        assert "n.description" not in before and "n.aliases" not in before and "n.name," not in before
        assert "collect([coarse, foreign, id])" in before and "n.description" in after
