"""Writing one verified page of a peer's log: its records, their provenance, the purges, the
per-record revisions and the cursor, all in the page's one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from directory.base.clock import now
from directory.domain.model import Link, Organisation, Service, link_ends
from directory.store.engine.graph import Graph, Tx
from directory.store.federation import peers
from directory.store.records import shared_nodes
from directory.store.records.writes import write_records


@dataclass
class ReceivedPage:
    """What `federation.merge` kept of a page, ready to write."""

    organisations: list[Organisation] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    provenance: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (kind, id): feed
    purged: dict[str, list[Any]] = field(default_factory=dict)  # kind: ids (links: their ends)
    revisions: list[dict[str, Any]] = field(default_factory=list)


async def write_page(graph: Graph, tx: Tx, origin: str, page: ReceivedPage, shelter_minimum: int) -> None:
    """Write a page inside the caller's transaction (the caller moves the cursor in the same one)."""
    await write_records(graph, tx, origin, page.organisations, page.services, page.links, now(), shelter_minimum)
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
        await graph.run(tx, peers.PURGE_SERVICES, ids=page.purged["service"], peer=origin)
    if page.purged.get("organisation"):  # its services with it: nothing shows a service without its organisation
        await graph.run(tx, peers.PURGE_SERVICES_OF, ids=page.purged["organisation"], peer=origin)
        await graph.run(tx, peers.PURGE_ORGANISATIONS, ids=page.purged["organisation"], peer=origin)
    await shared_nodes.drop_unheld(graph, tx, held)
    if page.revisions:
        await graph.run(tx, peers.SET_RECORD_REVISIONS, rows=page.revisions)
