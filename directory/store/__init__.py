"""The graph store: one driver, two servers (embedded ArcadeDB, or Neo4j 5).

`open_store(settings)` is the only way in: it attaches to (or starts) the embedded store, or
connects to the configured Neo4j, makes sure the schema is current, and returns the `Store`
(`door.py`), whose reads all take a `Viewer`. This package's names below are all that other
packages may import from it (an import contract checks it); its subpackages are the engine
(driver, servers, schema), the record reads and writes, the jobs' reads and federation's storage.
The backend differences live in `engine/backends.py` and nowhere else.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext

from directory.base.audit import AuditLog
from directory.base.clock import now
from directory.base.config import Settings
from directory.base.files import DamagedSecret, secret_bytes
from directory.base.terminal import safe
from directory.domain.errors import ConfigError, StoreUnavailable
from directory.store.backup import PART as RESTORE_PART
from directory.store.door import Given, SearchPage, Store, Transaction
from directory.store.engine import layout
from directory.store.engine.backends import connection
from directory.store.engine.embedded import EmbeddedStore, running_store
from directory.store.engine.graph import Graph, make_driver
from directory.store.engine.schema import ensure_schema
from directory.store.federation.feeds import Changed, NewEntry, RecordState
from directory.store.federation.feeds import record_key as feed_record_key
from directory.store.federation.peers import DEFAULT_MAX_BYTES as PEER_MAX_BYTES
from directory.store.federation.peers import DEFAULT_MAX_RECORDS as PEER_MAX_RECORDS
from directory.store.federation.peers import REMOVING as PEER_REMOVING
from directory.store.federation.peers import Peer
from directory.store.federation.peers import Revision as PeerRevision
from directory.store.federation.peers import one as peer_of
from directory.store.federation.peers import record_key as peer_record_key
from directory.store.federation.received import ReceivedPage
from directory.store.federation.sameas import MOST_PROPOSALS, Proposals, SameAsOf, merged_view
from directory.store.jobs.gaps import Grant
from directory.store.jobs.gaps import Offer as GapOffer
from directory.store.jobs.partners import Candidate
from directory.store.jobs.partners import Offer as PartnerOffer
from directory.store.jobs.referrals import Offer as ReferralOffer
from directory.store.jobs.referrals import ReferralGraph
from directory.store.records import shelters
from directory.store.records.coverage import ProviderCount
from directory.store.records.edits import Edit, EditRefused, new_id, service_fields
from directory.store.records.joining import Asked, JoinRequest, TooMany
from directory.store.records.joining import Refused as JoinRefused
from directory.store.records.listing import MAX_PAGE, Filter, Near, Page, Sort
from directory.store.records.mapping import MapPoint, MapPoints, PointFilter
from directory.store.records.projection import PROJECTED, Covered, End, Follow, Links, Located, Pick, Shape
from directory.store.records.search import named_as_written, searchable
from directory.store.records.shelter_services import FinerPlace
from directory.store.records.shelter_services import problems as shelter_problems
from directory.store.records.tokens import SESSION_SECONDS
from directory.store.records.writes import PREFIX_FROM, TRANSACTION_TERMS, Prepared, WriteCounts, index_terms, prepare

log = logging.getLogger("directory.store")

__all__ = [
    "MAX_PAGE",
    "MOST_PROPOSALS",
    "PEER_MAX_BYTES",
    "PEER_MAX_RECORDS",
    "PEER_REMOVING",
    "PREFIX_FROM",
    "PROJECTED",
    "RESTORE_PART",
    "SESSION_SECONDS",
    "TRANSACTION_TERMS",
    "Asked",
    "Candidate",
    "Changed",
    "Covered",
    "Edit",
    "EditRefused",
    "EmbeddedStore",
    "End",
    "Filter",
    "FinerPlace",
    "Follow",
    "GapOffer",
    "Given",
    "Grant",
    "JoinRefused",
    "JoinRequest",
    "Links",
    "Located",
    "MapPoint",
    "MapPoints",
    "Near",
    "NewEntry",
    "Page",
    "PartnerOffer",
    "Peer",
    "PeerRevision",
    "Pick",
    "PointFilter",
    "Prepared",
    "Proposals",
    "ProviderCount",
    "ReceivedPage",
    "RecordState",
    "ReferralGraph",
    "ReferralOffer",
    "SameAsOf",
    "SearchPage",
    "Shape",
    "Sort",
    "Store",
    "TooMany",
    "Transaction",
    "WriteCounts",
    "feed_record_key",
    "import_running",
    "index_terms",
    "merged_view",
    "named_as_written",
    "new_id",
    "open_store",
    "peer_record_key",
    "prepare",
    "running_store",
    "searchable",
    "service_fields",
    "serving",
    "shelter_problems",
]


def import_running(settings: Settings) -> bool:
    """Whether an import, or a publish of the feeds, holds the embedded store's import lock now (on
    Neo4j, nothing takes it: False)."""
    return settings.backend == "embedded" and layout.import_running(settings.data_dir)


def serving(settings: Settings) -> AbstractContextManager[None]:
    """Held by `directory serve` while it runs: one app process per embedded data folder
    (`layout.serving`); on Neo4j, as many as wanted."""
    return layout.serving(settings.data_dir) if settings.backend == "embedded" else nullcontext()


@asynccontextmanager
async def open_store(settings: Settings, sessions: bool = False) -> AsyncIterator[Store]:
    """`sessions`: this process signs people in (the web app), so it needs the session key whole; a
    command signs nobody in, and a damaged key must not keep the operator from `status` or `backup`
    (an attacker's read)."""
    uri, auth, database, embedded = connection(settings)
    driver = make_driver(uri, auth)
    graph = Graph(driver, database, settings.backend)
    try:
        try:
            await driver.verify_connectivity()
        except Exception as exc:
            raise StoreUnavailable(f"cannot reach the graph store at {uri}: {exc}") from exc
        if embedded is not None:  # one process at a time on the folder (Neo4j's own statements are idempotent)
            with layout.migrating(embedded.data):
                await ensure_schema(graph, embedded)
        else:
            await ensure_schema(graph, embedded)
        if await peer_of(graph, settings.directory_id, missing_ok=True):
            raise ConfigError("DIRECTORY_ID", f"{settings.directory_id!r} is the id of a peer this data folder "
                                              "pulls from: its records and ours would be one; run with this "
                                              "directory's own id (remove that peer first to take its id)")
        await shelters.refresh_now(graph, settings.map_shelter_minimum, now())  # the minimum may have changed
        try:
            session_key: bytes | None = secret_bytes(settings.session_key_path)
        except DamagedSecret as exc:
            if sessions:
                raise ConfigError("DIRECTORY_SESSION_KEY_FILE", str(exc)) from None
            session_key = None  # `Tokens`: a key of its own, for the sessions it never makes
        store = Store(graph, settings.directory_id, embedded, AuditLog(settings.data_dir / "audit"),
                      settings.map_shelter_minimum, session_key)
        try:  # not while a restore is unfinished: its records may not have their published places yet
            held = [] if await store.backups.unfinished() else await store.hold_shelters()
        except Exception:  # a failed repair must not keep every command (a restore too) out of the store
            log.exception("holding shelters' services to their shelters' places failed; tried again at next start")
            held = []
        if held:
            log.warning("%d services of shelters, or safe houses, recorded a subdivision their provider does not "
                        "publish (written before such writes were refused): ours now record its country, a peer's "
                        "are not kept until the peer corrects them: %s", len(held),
                        ", ".join(safe(i) for i in held[:20]) + (" ..." if len(held) > 20 else ""))
        yield store
    finally:
        await graph.close()
        if embedded is not None:
            embedded.stop()
