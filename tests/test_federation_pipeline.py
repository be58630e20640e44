"""Issue 18: a sync fetches and verifies page n+1 while page n is written, and takes that early
verification only if what it was checked against (the feed state, the revisions we keep) is what
page n's write left; otherwise the page is verified again, so a replay across pages is still refused."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from directory.store import Store
from federation import fetch, sync
from federation.sync import Syncer
from tests.conftest import LiveServer
from tests.feeds import Publisher
from tests.peer_server import Peer
from tests.test_federation_sync import CLOCK, ORIGIN, add, names, org_body, peer_with, syncer

pytestmark = pytest.mark.anyio


def one_a_page(n: int) -> Peer:
    """A peer of n organisations serving them a page each, so a sync has pages to read ahead."""
    peer = peer_with(n)
    peer.page_size = 1
    return peer


async def until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    """Whether `condition` came true within `seconds` (polled: the peer serves from another thread)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def held_write(store: Store, release: Callable[[], bool], seen: list[bool]) -> Callable[..., Awaitable[Any]]:
    """`write_page` that, on the first page, waits until `release()` before writing (noting whether it came)."""
    write = store.peers.write_page

    async def waiting(*args: Any, **kwargs: Any) -> Any:
        if not seen:
            seen.append(await until(release))
        return await write(*args, **kwargs)

    return waiting


def counted_verify(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The cursor of every page `verify_page` is run on, in order."""
    calls: list[int] = []
    verify = sync.verify_page

    def counting(root: Any, audience: str, page: Any, state: Any, *rest: Any) -> Any:
        calls.append(state.cursor)
        return verify(root, audience, page, state, *rest)

    monkeypatch.setattr(sync, "verify_page", counting)
    return calls


async def test_the_next_page_is_fetched_and_verified_while_a_page_is_written_and_taken_as_verified(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    peer = one_a_page(3)
    calls = counted_verify(monkeypatch)
    seen: list[bool] = []
    monkeypatch.setattr(store.peers, "write_page",
                        held_write(store, lambda: any("after=1" in hit for hit in peer.hits) and 1 in calls, seen))
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [outcome] = await syncer(store).sync_all()
    assert seen == [True]  # page 1 was fetched and verified before page 0's write began
    assert (outcome.entries, outcome.error) == (3, "")
    assert await names(store) == ["Org0", "Org1", "Org2"]
    assert calls == [0, 1, 2]  # each page verified once: the early verification was taken


async def test_a_replay_across_a_page_boundary_is_refused_though_the_page_was_verified_before_the_write(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Page 1 (org0 at revision 1) is verified ahead while page 0 (org0 at revision 2) is not yet
    written, so against no revision kept: it passes then, and must not pass once page 0 is written."""
    publisher = Publisher(directory=ORIGIN)
    publisher.add("org0", revision=2, body=org_body("org0", "Second"))
    publisher.add("org0", revision=1, body=org_body("org0", "Replayed"))
    peer = Peer(publisher, page_size=1)
    calls = counted_verify(monkeypatch)
    seen: list[bool] = []
    monkeypatch.setattr(store.peers, "write_page", held_write(store, lambda: 1 in calls, seen))
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [outcome] = await syncer(store).sync_all()
    assert seen == [True]
    assert "a replay" in outcome.error and "revision 1" in outcome.error
    assert calls == [0, 1, 1]  # verified ahead, then again against the revision page 0 left
    assert await names(store) == ["Second"]


async def test_a_page_read_ahead_is_not_used_when_the_write_before_it_fails(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed write moves no cursor: the next sync starts again from the page that failed, and the
    page read ahead of it is dropped with nothing of it written."""
    peer = one_a_page(3)
    write = store.peers.write_page
    written: list[int] = []

    async def failing_second(peer_id: str, audience: str, page: Any, old_cursor: int, *rest: Any) -> Any:
        if old_cursor == 1:
            await until(lambda: any("after=2" in hit for hit in peer.hits))
            raise sync.DirectoryError("the store went away")
        written.append(old_cursor)
        return await write(peer_id, audience, page, old_cursor, *rest)

    monkeypatch.setattr(store.peers, "write_page", failing_second)
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [failed] = await syncer(store).sync_all()
        assert "the store went away" in failed.error and await names(store) == ["Org0"]
        monkeypatch.setattr(store.peers, "write_page", write)
        [again] = await syncer(store).sync_all(force=True)
    assert written == [0] and (again.entries, again.error) == (2, "")
    assert await names(store) == ["Org0", "Org1", "Org2"]


async def test_a_page_verified_ahead_whose_checkpoint_expires_before_it_is_taken_is_stale(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its dates are checked again when it is taken: the clock moves past the checkpoint's expiry
    while page 0 is written, after page 1 was verified at a time it was current."""
    peer = one_a_page(2)
    calls = counted_verify(monkeypatch)
    clock = [CLOCK]
    seen: list[bool] = []
    write = held_write(store, lambda: 1 in calls, seen)

    async def and_later(*args: Any, **kwargs: Any) -> Any:
        done = await write(*args, **kwargs)
        clock[0] = CLOCK + timedelta(days=2)
        return done

    monkeypatch.setattr(store.peers, "write_page", and_later)
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [outcome] = await Syncer(store, clock=lambda: clock[0]).sync_all()
    assert seen == [True] and calls == [0, 1]
    assert outcome.stale and "expired" in outcome.error and await names(store) == ["Org0"]


async def test_a_failed_fetch_ahead_is_made_again_in_turn(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    peer = one_a_page(3)
    get = fetch.get
    failed: list[str] = []

    async def once_down(client: Any, url: str, *args: Any, **kwargs: Any) -> bytes:
        if "after=1" in url and not failed:
            failed.append(url)
            raise fetch.Unreachable(f"{url}: connection reset")
        return await get(client, url, *args, **kwargs)

    monkeypatch.setattr(fetch, "get", once_down)
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [outcome] = await syncer(store).sync_all()
    assert len(failed) == 1 and (outcome.entries, outcome.error) == (3, "")
    assert sum("after=1" in hit for hit in peer.hits) == 1  # asked again once, in turn


async def test_a_sync_past_its_deadline_leaves_no_page_reading_ahead(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    peer = one_a_page(3)
    write = store.peers.write_page

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(5)
        return await write(*args, **kwargs)

    monkeypatch.setattr(store.peers, "write_page", slow)
    monkeypatch.setattr(sync, "SYNC_DEADLINE", 1.5)
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [outcome] = await syncer(store).sync_all()
        reading = [t for t in asyncio.all_tasks() if "_ahead" in repr(t.get_coro())]
    assert "no complete sync within 1.5 s" in outcome.error and reading == []
    assert await names(store) == [] and any("after=1" in hit for hit in peer.hits)
