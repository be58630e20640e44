"""Writing one verified page of a peer's log: its records, their provenance, the purges, the
per-record revisions and the cursor, all in the page's one transaction.

What a page replaces or purges weighs on that transaction as what it writes does: the search terms
of the records it overwrites or deletes are taken out of the full-text indexes, and their services'
places and types are deleted, in the same transaction. `held_weight` says how much, so a page over
the bounds is asked for again in fewer entries (`federation.sync`). An organisation's tombstone
deletes its services too, and an organisation made a shelter drops those that would show where it
is, which no page size bounds (a hostile peer's read: one tombstone deleted 1.85 million
relationships in 117 s of the store's 120): those go first, in transactions of their own each within
the bounds (`purge_ahead`, `exposed_ahead`), leaving the shelters' marks to the page's."""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from directory.base.clock import now
from directory.domain.location import level_shown
from directory.domain.model import Link, Organisation, Service, link_ends
from directory.domain.taxonomy import SHELTERING_TYPES
from directory.store.engine.backends import FULLTEXT_FIELDS
from directory.store.engine.cypher import cypher
from directory.store.engine.graph import Graph, Tx
from directory.store.federation import peers
from directory.store.records import shared_nodes, shelter_services, shelters
from directory.store.records.writes import TRANSACTION_TERMS, Prepared, execute, prepare, record_terms

_TEXT = {label: ", ".join(f".{name}" for name in names) for label, names in FULLTEXT_FIELDS.items()}
# a peer's records as held: their indexed text, and a service's places and types (`validation.reach`)
HELD_ORGANISATIONS = cypher("received.held_organisations", f"""
UNWIND $ids AS i
MATCH (n:Organisation {{id: i}}) WHERE n.publisher = $peer
RETURN n.id AS id, n {{{_TEXT["Organisation"]}}} AS props, 0 AS reach
""")
HELD_SERVICES = cypher("received.held_services", f"""
UNWIND $ids AS i
MATCH (n:Service {{id: i}}) WHERE n.publisher = $peer
RETURN n.id AS id, n {{{_TEXT["Service"]}}} AS props,
       COUNT {{ (n)-[:AVAILABLE_IN|TAKES_FROM|REACHES]->() }} AS reach
""")
SERVICES_OF = cypher("received.services_of", """
UNWIND $ids AS i
MATCH (s:Service {organisation: i}) WHERE s.publisher = $peer
RETURN s.id AS id
""")
# a bounded number of the relationships of services about to be purged, each batch's unheld nodes with it
CUT_REACHES = cypher("received.cut_reaches", f"""
UNWIND $ids AS i
MATCH (s:Service {{id: i}})-[r:REACHES]->(k:Reach) WHERE s.publisher = $peer
WITH r, k.key AS key LIMIT {peers.PURGE_RELATIONSHIPS}
DELETE r
RETURN collect(DISTINCT key) AS keys, count(*) AS n
""")
CUT_PLACES = cypher("received.cut_places", f"""
UNWIND $ids AS i
MATCH (s:Service {{id: i}})-[r:AVAILABLE_IN|TAKES_FROM]->() WHERE s.publisher = $peer
WITH r LIMIT {peers.PURGE_RELATIONSHIPS}
DELETE r
RETURN count(*) AS n
""")


@dataclass(frozen=True)
class Weight:
    """What records held weigh on a transaction that overwrites or deletes them."""

    terms: int = 0  # search terms taken out of the full-text indexes (`writes.record_terms`)
    reach: int = 0  # relationships to places and types deleted (`validation.reach`)


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
                     shelter_minimum: int, exposed: Collection[str] = ()) -> dict[str, str]:
    """Write a page inside the caller's transaction (the caller moves the cursor in the same one).
    Returns the services it names or we held that were not kept, with why (`_hold_shelters`).
    `exposed`: providers whose services `exposed_ahead` deleted, their shelters' marks worked out here."""
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
    if exposed:
        await shelters.refresh(graph, tx, shelter_minimum, now(), sorted(exposed))
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


async def held_weight(graph: Graph, origin: str, organisations: list[str], services: list[str]) -> Weight:
    """What a page writing or purging these records of the peer takes out as it does (module docstring)."""
    terms = reach = 0
    for label, statement, ids in (("Organisation", HELD_ORGANISATIONS, organisations),
                                  ("Service", HELD_SERVICES, services)):
        for i in range(0, len(ids), shared_nodes.PAGE):
            for row in await graph.read(statement, ids=ids[i:i + shared_nodes.PAGE], peer=origin):
                terms += record_terms(label, row["props"])
                reach += int(row["reach"])
    return Weight(terms, reach)


async def purge_ahead(graph: Graph, origin: str, organisations: list[str]) -> None:
    """The services of organisations a page's tombstones purge, deleted before the page's transaction
    (module docstring, `services_ahead`). Done again after a crash: the page's tombstones are signed
    and verified, and deleting is what they ask."""
    if organisations:
        await services_ahead(graph, origin, [str(r["id"]) for r in
                                             await graph.read(SERVICES_OF, ids=organisations, peer=origin)])


async def exposed_ahead(graph: Graph, origin: str, organisations: list[Organisation],
                        services: list[Service]) -> tuple[dict[str, str], set[str]]:
    """The held services of organisations we hold that a page makes a shelter, or coarser, so that
    they would show more than it publishes (`shelter_services.finer_before`): not kept, as the page's
    transaction would not keep them (`_hold_shelters`), but deleted before it in bounded transactions
    (an attacker's read: 120 services of one organisation made a shelter went in one). Why each, and
    their providers, whose shelters' marks the page's transaction works out again (`write_page`)."""
    if not organisations:
        return {}, set()
    finer = [f for f in await shelter_services.finer_before(graph, organisations, services) if f.by_provider]
    first = {f.service: f for f in reversed(finer)}
    await services_ahead(graph, origin, sorted(first))
    return {i: f.peer_reason() for i, f in first.items()}, {f.organisation for f in first.values()}


async def services_ahead(graph: Graph, origin: str, ids: list[str]) -> None:
    """A peer's services deleted before a page's transaction, in transactions of their own: their places
    and types `PURGE_RELATIONSHIPS` at a time, then the services, as many a transaction as keep their
    terms within `TRANSACTION_TERMS` (at most `PURGE_BATCH`). The shelters' marks are left as they
    are until the page's transaction works them out again: worked out here, an organisation losing
    its safe house would lose its withheld mark before the page deleted it, and the public would see
    its place meanwhile, or for good if the page failed (an attacker's read). Marks that count a
    service being deleted show no more than they did before it was."""
    if not ids:
        return

    async def cut(tx: Tx) -> int:
        [cut_reach] = await graph.run(tx, CUT_REACHES, ids=ids, peer=origin)
        await shared_nodes.drop_unheld(graph, tx, shared_nodes.Held(set(cut_reach["keys"])))
        [cut_places] = await graph.run(tx, CUT_PLACES, ids=ids, peer=origin)
        return int(cut_reach["n"]) + int(cut_places["n"])

    while await graph.write_tx(cut):
        pass
    terms = {str(r["id"]): record_terms("Service", r["props"])
             for r in await graph.read(HELD_SERVICES, ids=ids, peer=origin)}
    for batch in batches(ids, terms):
        await graph.write_tx(functools.partial(_forget_quietly, graph, origin, batch))


async def _forget_quietly(graph: Graph, origin: str, ids: list[str], tx: Tx) -> None:
    """`forget_services` but for the shelters' marks (`services_ahead`)."""
    held = await shared_nodes.held_by(graph, tx, services=ids)
    await graph.run(tx, peers.PURGE_SERVICES, ids=ids, peer=origin)
    await shared_nodes.drop_unheld(graph, tx, held)


def batches(ids: list[str], terms: dict[str, int]) -> list[list[str]]:
    """`ids` in order, cut into batches of at most `PURGE_BATCH` whose `terms` stay within
    `TRANSACTION_TERMS` (one alone over it is a batch of its own: its fields' bounds bound it)."""
    out: list[list[str]] = []
    weight = 0
    for i in ids:
        heavy = terms.get(i, 0)
        if not out or len(out[-1]) == peers.PURGE_BATCH or weight + heavy > TRANSACTION_TERMS:
            out.append([])
            weight = 0
        out[-1].append(i)
        weight += heavy
    return out
