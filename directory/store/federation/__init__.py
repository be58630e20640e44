"""Federation's storage, through the door: the peers we pull from (`Peers`), our own signed logs
(`Feeds`) and root documents (`Roots`). The records peers send are written as our own are
(`records.writes`), in the publisher's namespace; reads of them go through the record reads."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from directory.domain.errors import NotFound
from directory.domain.viewer import Viewer
from directory.store.engine.graph import Graph
from directory.store.federation import feeds, peers, roots, sameas
from directory.store.federation.received import (
    ReceivedPage,
    Weight,
    exposed_ahead,
    held_weight,
    purge_ahead,
    write_page,
)
from directory.store.shown import Shown


class Peers:
    def __init__(self, graph: Graph, shelter_minimum: int, note: Callable[[Viewer, Shown], None]) -> None:
        self._graph = graph
        self._shelter_minimum = shelter_minimum
        self._note = note

    async def add(self, peer: peers.Peer) -> None:
        await peers.add(self._graph, peer)

    async def all(self) -> list[peers.Peer]:
        return await peers.all_peers(self._graph)

    async def publishers(self) -> set[str]:
        """Every directory that published a record the store holds: ours, our peers', and any other
        (this directory's own under an id it had before)."""
        return await peers.publishers(self._graph)

    async def one(self, peer_id: str) -> peers.Peer:
        """The peer, or NotFound."""
        found = await peers.one(self._graph, peer_id)
        if found is None:  # `one` raises NotFound itself: this only tells the type checker
            raise NotFound("peer", peer_id)
        return found

    async def find(self, peer_id: str) -> peers.Peer | None:
        return await peers.one(self._graph, peer_id, missing_ok=True)

    async def remove(self, peer_id: str) -> None:
        await peers.remove(self._graph, peer_id)

    async def read_again(self, peer_id: str) -> None:
        await peers.read_again(self._graph, peer_id)

    async def set_root(self, peer_id: str, old_version: int, version: int, root: str) -> None:
        await peers.set_root(self._graph, peer_id, old_version, version, root)

    async def note(self, peer_id: str, **changes: Any) -> None:
        await peers.note(self._graph, peer_id, **changes)

    async def claim(self, peer_id: str, holder: str, now: str, until: str, dead: str = "") -> bool:
        return await peers.claim(self._graph, peer_id, holder, now, until, dead)

    async def holder(self, peer_id: str) -> str | None:
        return await peers.holder(self._graph, peer_id)

    async def release(self, peer_id: str, holder: str) -> None:
        await peers.release(self._graph, peer_id, holder)

    async def feed_state(self, peer_id: str, audience: str) -> dict[str, Any] | None:
        return await peers.feed_state(self._graph, peer_id, audience)

    async def record_revisions(self, keys: list[str]) -> dict[str, peers.Revision]:
        return await peers.record_revisions(self._graph, keys)

    async def set_max_records(self, peer_id: str, n: int) -> None:
        """The most records we take from this peer (`peers.DEFAULT_MAX_RECORDS`); NotFound if unknown."""
        await peers.set_max_records(self._graph, peer_id, n)

    async def set_max_bytes(self, peer_id: str, n: int) -> None:
        """The most bytes of bodies we keep from this peer (`peers.DEFAULT_MAX_BYTES`); NotFound if unknown."""
        await peers.set_max_bytes(self._graph, peer_id, n)

    async def records_held(self, peer_id: str, audience: str, kept: dict[str, Any] | None) -> tuple[int, int]:
        """The records we keep of a peer and the bytes of their bodies (`peers.records_held`)."""
        return await peers.records_held(self._graph, peer_id, audience, kept)

    async def mark_stale(self, peer_id: str, stale: bool) -> None:
        await peers.mark_stale(self._graph, peer_id, stale)

    async def held_weight(self, peer_id: str, organisations: list[str], services: list[str]) -> Weight:
        """What a page writing or purging these records takes out of the store as it does (`received`)."""
        return await held_weight(self._graph, peer_id, organisations, services)

    async def write_page(self, peer_id: str, audience: str, page: ReceivedPage, old_cursor: int,
                         cursor: dict[str, Any], holder: str, held: Collection[str] = ()) -> dict[str, str]:
        """A verified page and the cursor after it, in one transaction: both or neither (but what it
        deletes beyond its records, before: `received.purge_ahead`, `received.exposed_ahead`; `held`:
        the page's organisations we hold). Returns why services it names or holds were not kept."""
        # what a page deletes beyond its own records goes first, in bounded transactions of their own:
        # the services of organisations it tombstones, and those its providers' new kind or place expose
        await purge_ahead(self._graph, peer_id, page.purged.get("organisation", []))
        exposed, providers = await exposed_ahead(self._graph, peer_id,
                                                 [o for o in page.organisations if o.id in held], page.services)

        async def work(tx: Any) -> dict[str, str]:
            not_kept = await write_page(self._graph, tx, peer_id, page, self._shelter_minimum, providers)
            await peers.advance(self._graph, tx, peer_id, audience, old_cursor, cursor, holder)
            return not_kept

        return {**exposed, **await self._graph.write_tx(work)}

    async def same_as(self, first: str, second: str, who: str, now: str) -> bool:
        return await sameas.declare(self._graph, first, second, who, now)

    async def not_same_as(self, first: str, second: str, who: str, now: str) -> bool:
        return await sameas.reject(self._graph, first, second, who, now)

    async def proposals(self, viewer: Viewer, me: str, first: int = sameas.MOST_PROPOSALS,
                        skip: int = 0) -> sameas.Proposals:
        """Open same-as proposals (our record and a peer's sharing an identifier), for stewards."""
        shown = Shown()
        found = await sameas.proposals(self._graph, viewer.params, me, first, skip, shown)
        self._note(viewer, shown)
        return found

    async def precedence(self) -> dict[str, int]:
        return await sameas.precedence(self._graph)


class Feeds:
    def __init__(self, graph: Graph) -> None:
        self._graph = graph

    async def head(self, audience: str) -> tuple[int, str | None, str | None]:
        return await feeds.head(self._graph, audience)

    async def changed(self, me: str, since: str | None) -> feeds.Changed:
        return await feeds.changed(self._graph, me, since)

    async def record_states(self, keys: list[str]) -> dict[str, feeds.RecordState]:
        return await feeds.record_states(self._graph, keys)

    async def live_records(self, audience: str, kind: str) -> list[str]:
        return await feeds.live_records(self._graph, audience, kind)

    async def append(self, audience: str, size: int, entries: list[feeds.NewEntry], since: str,
                     looked_from: str | None) -> None:
        await feeds.append(self._graph, audience, size, entries, since, looked_from)

    async def save_checkpoint(self, audience: str, size: int, checkpoint: str) -> None:
        await feeds.save_checkpoint(self._graph, audience, size, checkpoint)

    async def replace_entries(self, rows: list[dict[str, str]]) -> None:
        await feeds.replace_entries(self._graph, rows)

    async def entries(self, audience: str, start: int, stop: int) -> list[tuple[str, str | None]]:
        return await feeds.entries(self._graph, audience, start, stop)

    async def leaves(self, audience: str, start: int, stop: int) -> list[bytes]:
        return await feeds.leaves(self._graph, audience, start, stop)


class Roots:
    def __init__(self, graph: Graph) -> None:
        self._graph = graph

    async def save(self, version: int, document: str, now: str, resign: bool = False) -> None:
        await roots.save(self._graph, version, document, now, resign)

    async def resign_pending(self) -> int | None:
        """The latest root's version, if a rotation to it has not finished signing the feeds again."""
        return await roots.resign_pending(self._graph)

    async def resigned(self, version: int) -> None:
        await roots.resigned(self._graph, version)

    async def latest(self) -> tuple[int, str] | None:
        return await roots.latest(self._graph)

    async def one(self, version: int) -> str | None:
        return await roots.one(self._graph, version)
