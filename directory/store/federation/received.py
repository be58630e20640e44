"""Writing one verified page of a peer's log: its records, their provenance, the purges, the
per-record revisions and the cursor, all in the page's one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from directory.base.clock import now
from directory.domain.location import level_shown
from directory.domain.model import Link, Organisation, Service, link_ends
from directory.domain.taxonomy import SHELTERING_TYPES
from directory.store.engine.graph import Graph, Tx
from directory.store.federation import peers
from directory.store.records import shared_nodes, shelter_services, shelters
from directory.store.records.writes import Prepared, execute, prepare


@dataclass
class ReceivedPage:
    """What `federation.merge` kept of a page, ready to write."""

    organisations: list[Organisation] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    provenance: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (kind, id): feed
    purged: dict[str, list[Any]] = field(default_factory=dict)  # kind: ids (links: their ends)
    revisions: list[dict[str, Any]] = field(default_factory=list)
    rows: Prepared | None = None  # the records as rows, built beforehand (`merge.page`) to count their terms


async def write_page(graph: Graph, tx: Tx, origin: str, page: ReceivedPage,
                     shelter_minimum: int) -> dict[str, str]:
    """Write a page inside the caller's transaction (the caller moves the cursor in the same one).
    Returns the services it names or we held that were not kept, with why (`_hold_shelters`)."""
    rows = page.rows or prepare(origin, page.organisations, page.services, page.links)
    await execute(graph, tx, rows, now(), shelter_minimum, hold_shelters=False)
    org_rows = [{"id": i, "feed": f} for (k, i), f in page.provenance.items() if k == "organisation"]
    service_rows = [{"id": i, "feed": f} for (k, i), f in page.provenance.items() if k == "service"]
    link_rows = [dict(link_ends(i) or {}, feed=f) for (k, i), f in page.provenance.items() if k == "link"]
    if org_rows:
        await graph.run(tx, peers.SET_ORGANISATION_PROVENANCE, rows=org_rows)
    if service_rows:
        await graph.run(tx, peers.SET_SERVICE_PROVENANCE, rows=service_rows)
    if link_rows:
        await graph.run(tx, peers.SET_LINK_PROVENANCE, rows=link_rows)
    if page.purged.get("link"):
        await graph.run(tx, peers.PURGE_LINKS, rows=page.purged["link"], peer=origin)
    held = await shared_nodes.held_by(graph, tx, services=page.purged.get("service", []),
                                      organisations=page.purged.get("organisation", []),
                                      services_of=page.purged.get("organisation", []))
    if page.purged.get("service"):
        await _purge_services(graph, tx, origin, page.purged["service"], shelter_minimum)
    if page.purged.get("organisation"):  # its services with it: nothing shows a service without its organisation
        await graph.run(tx, peers.PURGE_SERVICES_OF, ids=page.purged["organisation"], peer=origin)
        await graph.run(tx, peers.PURGE_ORGANISATIONS, ids=page.purged["organisation"], peer=origin)
        # one of its shelters fewer (withdrawn, or dropped for failing our checks) may leave another
        # alone in its place: the marks are worked out again before anyone reads the page's writes
        await shelters.refresh(graph, tx, shelter_minimum, now())
    await shared_nodes.drop_unheld(graph, tx, held)
    if page.revisions:
        await graph.run(tx, peers.SET_RECORD_REVISIONS, rows=page.revisions)
    return await _hold_shelters(graph, tx, origin, page, shelter_minimum)


async def _hold_shelters(graph: Graph, tx: Tx, origin: str, page: ReceivedPage,
                         shelter_minimum: int) -> dict[str, str]:
    """A peer's shelter's services, or safe houses, recording places finer than their provider
    publishes (`shelter_services.finer_places`): not kept, in this page's transaction, as a body
    failing our checks is not (`merge.Batch.drop`). Our own writes are refused instead; the peer's
    are its to correct."""
    providers, named = shelter_services.to_check(
        ((o.id, level_shown(o.location), o.kind) for o in page.organisations),
        ((s.id, s.organisation, shelter_services.record_places(s)) for s in page.services))
    finer = await shelter_services.finer_places(graph, tx, providers, named)
    if not finer:
        return {}
    ids = sorted({f.service for f in finer})
    await forget_services(graph, tx, origin, ids, shelter_minimum)
    first = {f.service: f for f in reversed(finer)}
    return {i: first[i].peer_reason() for i in ids}


async def forget_services(graph: Graph, tx: Tx, origin: str, ids: list[str], shelter_minimum: int) -> None:
    """A peer's services purged, with the place and type nodes nothing else holds."""
    held = await shared_nodes.held_by(graph, tx, services=ids)
    await _purge_services(graph, tx, origin, ids, shelter_minimum)
    await shared_nodes.drop_unheld(graph, tx, held)


async def _purge_services(graph: Graph, tx: Tx, origin: str, ids: list[str], shelter_minimum: int) -> None:
    """A peer's services deleted; a safe house among them may have made its provider a shelter
    for the public, and one fewer may leave another alone in its place (`shelters`)."""
    gone = await graph.run(tx, peers.PURGE_SERVICES, ids=ids, peer=origin)
    if providers := [str(r["provider"]) for r in gone if r["type"] in SHELTERING_TYPES]:
        await shelters.refresh(graph, tx, shelter_minimum, now(), providers)
