"""Federation inside a running service: the publisher for this process, and the scheduled cycle.

Every `DIRECTORY_FEDERATION_INTERVAL` seconds each app process publishes what changed and pulls
its due peers. Several processes may do this at once: appends and cursors are compare-and-set in
the store, so a lost race costs a retry, never a duplicate entry or a page applied twice.
"""

from __future__ import annotations

import asyncio
import logging

from directory.config import Settings
from directory.store.records import Store
from federation.identity import KeyFileError, read_keys
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


async def cycle(store: Store, publisher: Publisher | None, keys: list[SigningKey]) -> None:
    """Publish, then pull every due peer; failures are logged and noted on the peer, never raised."""
    if publisher is not None:
        try:
            added = await publisher.publish()
            if any(added.values()):
                log.warning("published %s", ", ".join(f"{n} {a} entries" for a, n in added.items()))
        except Exception:
            log.exception("publishing the feeds failed; the next cycle tries again")
    try:  # each peer's failure is caught, noted and backed off in its own sync; this is the store failing
        for outcome in await Syncer(store, keys).sync_all():
            if outcome.entries:
                log.warning("peer %s: %d entries merged", outcome.peer, outcome.entries)
    except Exception as exc:
        log.error("syncing peers failed (%s: %s); the next cycle tries again", type(exc).__name__, exc)
        log.debug("syncing peers failed", exc_info=True)


async def run_forever(settings: Settings, store: Store, publisher: Publisher | None) -> None:
    while True:
        try:
            await cycle(store, publisher, online_keys(settings))  # read again: a rotation needs no restart
        except Exception as exc:  # an unreadable key file, say: the next cycle tries again, the loop lives on
            log.error("the federation cycle failed (%s: %s)", type(exc).__name__, exc)
        await asyncio.sleep(settings.federation_interval)
