"""Federation inside a running service: the publisher for this process, and the scheduled cycle.

Every `DIRECTORY_FEDERATION_INTERVAL` seconds each app process publishes what changed and starts
pulling each due peer it is not pulling yet, each in a task of its own (`Pulls`), so a slow peer
holds up neither our publishing nor another peer. Several processes may do this at once: a peer's
sync lease keeps one process per peer, and appends and cursors are compare-and-set in the store,
so a lost race costs a retry, never a duplicate entry or a page applied twice.
"""

from __future__ import annotations

import asyncio
import logging

from directory.base.config import Settings
from directory.domain.errors import Conflict, StoreUnavailable
from directory.store import Peer, Store
from federation.identity import DamagedKeyFile, KeyFileError, read_keys
from federation.keys import SigningKey
from federation.publish import Publisher
from federation.sync import Syncer

log = logging.getLogger("directory.federation")


def online_keys(settings: Settings) -> list[SigningKey]:
    """The online signing keys, or none when `directory federation init` has not been run here."""
    try:
        return read_keys(settings.federation_keys)
    except KeyFileError:
        return []


def publisher_for(settings: Settings, store: Store) -> Publisher | None:
    if not online_keys(settings):
        return None
    return Publisher(store, lambda: online_keys(settings), settings.federation_redistribute)


class Publishing:
    """A serving process's publisher: none until `directory federation init` has made online keys,
    looked for again at each use until then, so that init run beside a running service turns its
    feeds on without a restart (an operator's walk: the feeds stayed off, and nothing said why)."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._publisher: Publisher | None = None

    def get(self) -> Publisher | None:
        """None too while a key file is damaged: no feed is served unsigned, and each cycle logs the
        file (`run_forever`)."""
        if self._publisher is None:
            try:
                self._publisher = publisher_for(self.settings, self.store)
            except DamagedKeyFile:
                return None
        return self._publisher


async def publish(publisher: Publisher | None) -> None:
    """Append what changed to our logs; a failure is logged and the next cycle tries again."""
    if publisher is None:
        return
    try:
        added = await publisher.publish()  # not while an import writes: this cycle's pulls go on
        if any(added.values()):
            log.warning("published %s", ", ".join(f"{n} {a} entries" for a, n in added.items()))
    except Conflict as exc:
        log.warning("publishing waits for the next cycle: %s", exc)
    except StoreUnavailable as exc:  # the store restarting: said in a line, no traceback to read through
        log.warning("publishing the feeds waits for the store (%s); the next cycle tries again", exc)
    except Exception:
        log.exception("publishing the feeds failed; the next cycle tries again")


class Pulls:
    """The peers one serve process is pulling, each in a task of its own.

    A peer may take up to `sync.SYNC_DEADLINE` (10 minutes) and still succeed, and a hostile one
    can do that every cycle: waiting for it would hold up our own publishing and every other
    peer's next sync. So a cycle starts a pull for each due peer that has none running and moves on.
    """

    def __init__(self) -> None:
        self.running: dict[str, asyncio.Task[None]] = {}

    async def start_due(self, store: Store, keys: list[SigningKey]) -> list[asyncio.Task[None]]:
        syncer = Syncer(store, keys)
        await syncer.lapse()  # a peer that stopped answering goes stale even between its attempts
        started = []
        for peer in await syncer.due():
            if peer.id in self.running and not self.running[peer.id].done():
                continue
            self.running[peer.id] = task = asyncio.create_task(_pull(syncer, peer))
            started.append(task)
        return started


async def _pull(syncer: Syncer, peer: Peer) -> None:
    """One peer's sync: its own failures are caught, noted and backed off inside; this logs the rest."""
    try:
        outcome = await syncer.sync(peer)
        if outcome.entries:
            log.warning("peer %s: %d entries merged", peer.id, outcome.entries)
    except Exception as exc:  # noting the failure failed too (the store is down, say)
        log.error("syncing peer %s failed (%s: %s); the next cycle tries again", peer.id, type(exc).__name__, exc)
        log.debug("syncing peer %s failed", peer.id, exc_info=True)


async def cycle(store: Store, publisher: Publisher | None, keys: list[SigningKey],
                pulls: Pulls | None = None) -> list[asyncio.Task[None]]:
    """Publish, then start a pull of every due peer not being pulled; returns the pulls started.
    Failures are logged and noted on the peer, never raised."""
    await publish(publisher)
    try:
        return await (pulls or Pulls()).start_due(store, keys)
    except Exception as exc:  # listing the peers failed: the store is down
        log.error("syncing peers failed (%s: %s); the next cycle tries again", type(exc).__name__, exc)
        log.debug("syncing peers failed", exc_info=True)
        return []


async def run_forever(settings: Settings, store: Store, publishing: Publishing) -> None:
    pulls = Pulls()
    while True:
        try:
            # keys read again: rotations, and an init after the start, need no restart
            await cycle(store, publishing.get(), online_keys(settings), pulls)
        except Exception as exc:  # an unreadable key file, say: the next cycle tries again, the loop lives on
            log.error("the federation cycle failed (%s: %s)", type(exc).__name__, exc)
        await asyncio.sleep(settings.federation_interval)
