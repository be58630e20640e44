"""A page of a peer's feed is verified whole before anything is written: the attacks of
docs/threat-model.md that a page can carry, each given and expected (`test_11_...` proves F11)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from federation import feed
from federation.feed import Equivocation, PeerState, Refused, Stale, verify_page
from federation.keys import SigningKey, b64, unb64
from tests.feeds import Publisher

pytestmark = pytest.mark.pure

NOW = datetime(2026, 11, 21, 12, 30, tzinfo=UTC)


def nothing_stored(kind: str, record: str) -> int | None:
    return None


def publisher(n: int = 5) -> Publisher:
    p = Publisher()
    for i in range(n):
        p.add(f"org{i}")
    return p


def verify(p: Publisher, page: dict[str, Any], state: PeerState | None = None, now: datetime = NOW,
           stored: Any = nothing_stored) -> Any:
    return verify_page(p.root, "public", page, state or PeerState(), now, stored)


def test_a_whole_feed_verifies_and_moves_the_cursor() -> None:
    p = publisher()
    done = verify(p, p.page())
    assert [e.id for e in done.entries] == [f"peer.example:org{i}" for i in range(5)]
    assert done.state.cursor == 5 and done.state.checkpoint_size == 5


def test_pages_verify_against_the_checkpoint_through_consistency_proofs() -> None:
    p = publisher(13)
    state = PeerState()
    seen = []
    while state.cursor < 13:
        done = verify(p, p.page(state.cursor, 4), state)
        seen += [e.id for e in done.entries]
        state = done.state
    assert len(seen) == 13 and state.checkpoint_size == 13


def flip(text: str) -> str:
    raw = bytearray(unb64(text, "x"))
    raw[5] ^= 1
    return b64(bytes(raw))


@pytest.mark.parametrize("where", ["entry", "entry-field", "body", "proof", "checkpoint", "checkpoint-sig"])
def test_1_one_changed_byte_anywhere_refuses_the_page(where: str) -> None:
    p = publisher(9)
    page = p.page(0, 4)
    if where == "entry":
        page["entries"][2]["entry"]["signatures"][0]["sig"] = flip(page["entries"][2]["entry"]["signatures"][0]["sig"])
    elif where == "entry-field":
        page["entries"][2]["entry"]["signed"]["revision"] = 2
    elif where == "body":
        page["entries"][1]["body"]["name"] = "Org1 "
    elif where == "proof":
        page["proof"][0] = ("0" if page["proof"][0][0] != "0" else "1") + page["proof"][0][1:]
    elif where == "checkpoint":
        page["checkpoint"]["signed"]["size"] = 8
    else:
        page["checkpoint"]["signatures"][0]["sig"] = flip(page["checkpoint"]["signatures"][0]["sig"])
    state = PeerState()
    with pytest.raises(Refused):
        verify(p, page, state)
    assert state.cursor == 0


@pytest.mark.parametrize("how", ["reordered", "duplicated", "missing"])
def test_2_entries_reordered_duplicated_or_missing_are_refused(how: str) -> None:
    p = publisher(6)
    page = p.page()
    e = page["entries"]
    page["entries"] = {"reordered": [e[1], e[0], *e[2:]], "duplicated": [e[0], e[0], *e[1:5]],
                       "missing": [e[0], *e[2:]]}[how]
    with pytest.raises(Refused, match="numbered"):
        verify(p, page)


def test_3_an_older_checkpoint_replayed_is_a_rollback() -> None:
    p = publisher(4)
    old = p.checkpoint(issued="2026-11-21T10:00:00Z")
    p.add("org4")
    state = verify(p, p.page(checkpoint=p.checkpoint(issued="2026-11-21T11:00:00Z"))).state
    with pytest.raises(Refused, match="rollback"):
        verify(p, {"checkpoint": old, "entries": [], "proof": []}, state)


def test_4_and_14_a_revision_at_or_below_the_stored_one_is_a_replay() -> None:
    p = Publisher()
    p.add("a", revision=3)
    with pytest.raises(Refused, match="not above 3"):
        verify(p, p.page(), stored=lambda kind, record: 3)
    p = Publisher()
    p.add("a", revision=2)
    p.add("a", revision=3, op="tombstone")
    p.add("a", revision=2)  # the older upsert again, after the tombstone
    with pytest.raises(Refused, match="not above 3"):
        verify(p, p.page())


def test_14_a_tombstone_carries_no_body_and_a_purged_body_is_not_taken() -> None:
    p = Publisher()
    p.add("a", revision=1)
    p.add("a", revision=2, op="tombstone")
    page = p.page()
    page["entries"][0]["body"] = None  # the publisher purged it when the tombstone came
    done = verify(p, page)
    assert [(e.op, e.body) for e in done.entries] == [("upsert", None), ("tombstone", None)]


def test_5_an_expired_checkpoint_marks_the_peer_stale() -> None:
    p = publisher(2)
    with pytest.raises(Stale):
        verify(p, p.page(), now=datetime(2026, 11, 23, tzinfo=UTC))


def test_6_a_checkpoint_from_the_future_or_beyond_the_entries_makes_no_progress() -> None:
    p = publisher(3)
    with pytest.raises(Refused, match="future"):
        verify(p, p.page(checkpoint=p.checkpoint(issued="2026-11-21T13:00:00Z")))
    bigger = p.checkpoint(size=3)
    p.items = p.items[:2]  # the publisher signed 3 but serves 2, with no proof for the third
    with pytest.raises(Refused):
        verify(p, {"checkpoint": bigger, "entries": p.items, "proof": []})


def test_7_and_8_an_unknown_or_revoked_key_signs_nothing() -> None:
    p = publisher(2)
    stranger = Publisher(root_keys=p.root_keys, online=[SigningKey.generate()])
    stranger.add("org0")
    with pytest.raises(Refused, match="0 of the 1"):
        verify(p, stranger.page())


def test_11_two_roots_for_one_size_is_equivocation() -> None:
    p = publisher(4)
    state = verify(p, p.page()).state
    fork = Publisher(root_keys=p.root_keys, online=p.online)
    for i in range(4):
        fork.add(f"other{i}")  # the same keys and size, another history
    with pytest.raises(Equivocation):
        verify(fork, {"checkpoint": fork.checkpoint(), "entries": [], "proof": []}, state)


def test_11_a_history_rewritten_before_the_verified_checkpoint_is_equivocation() -> None:
    p = publisher(8)
    state = verify(p, p.page(0, 3)).state  # entries 0..2 read, checkpoint of size 8 kept
    forked = Publisher(root_keys=p.root_keys, online=p.online, items=p.items[:5])
    for i in range(5, 12):
        forked.add(f"other{i}")
    while state.cursor < 5:
        state = verify(forked, forked.page(state.cursor, 2, forked.checkpoint(issued="2026-11-21T12:10:00Z")),
                       state).state
    with pytest.raises(Equivocation):
        verify(forked, forked.page(state.cursor, 10, forked.checkpoint(issued="2026-11-21T12:10:00Z")), state)


def test_12_a_record_outside_the_publishers_namespace_or_origin_is_refused() -> None:
    p = Publisher()
    p.add("a")
    p.items[0]["entry"] = feed.entry("peer.example", "public", 0, "organisation", "local:someone-else", 1, "upsert",
                                     p.items[0]["body"], True, p.online)
    with pytest.raises(Refused, match="namespace"):
        verify(p, p.page())
    q = Publisher(directory="impostor.example", root_keys=p.root_keys, online=p.online)
    q.add("a")
    with pytest.raises(Refused, match=r"not 'peer\.example'"):
        verify(p, q.page())


def test_13_a_record_not_shared_with_this_audience_is_dropped_and_reported() -> None:
    p = Publisher()
    p.add("a", body={"id": "peer.example:a", "name": "A", "visibility": "restricted"})
    p.add("b")
    done = verify(p, p.page())
    assert [(e.id, e.body is None) for e in done.entries] == [("peer.example:a", True), ("peer.example:b", False)]
    withheld = done.entries[0].withheld
    assert "restricted" in withheld and "peer.example:a" not in withheld and done.state.cursor == 2
