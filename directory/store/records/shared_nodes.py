"""The nodes records share by a key, and their removal once no record holds them.

Two kinds: a place's node for a service type (`Reach`, `writes.REACH`) and an identifier that
organisations of several directories may hold (`OrgIdentifier`, `writes.LINK_IDENTIFIED`). The
first record needing one makes it; nothing made it go with the last. A relocation service's old
place, or a deleted organisation's registration number, then stayed in the data folder after every
record naming it had gone. So whatever detaches records from such nodes (a write changing a
service's coverage, type or purposes, or an organisation's identifiers, a deletion, a peer's tombstone, a
peer's removal, a restore undone) notes first which nodes those records hold (`held_by`) and, in
the same transaction, drops the ones no record holds any more (`drop_unheld`); a bulk deletion
sweeps them all (`sweep`).

A writer adding a record to a node that another transaction is dropping is no risk: ArcadeDB finds
the two in conflict and runs one again, and Neo4j refuses to delete a node that has gained a
relationship, which breaks no key for good: the transaction runs again (`engine.graph`) and keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from directory.store.engine.cypher import cypher
from directory.store.engine.graph import Graph, Tx

PAGE = 5000
REACHED_BY_SERVICES = cypher("shared_nodes.reached_by_services", """
UNWIND $ids AS sid
MATCH (:Service {id: sid})-[:REACHES]->(k:Reach)
RETURN DISTINCT k.key AS key
""")
REACHED_BY_SERVICES_OF = cypher("shared_nodes.reached_by_services_of", """
UNWIND $ids AS oid
MATCH (:Organisation {id: oid})-[:OFFERS]->(:Service)-[:REACHES]->(k:Reach)
RETURN DISTINCT k.key AS key
""")
IDENTIFIED = cypher("shared_nodes.identified", """
UNWIND $ids AS oid
MATCH (:Organisation {id: oid})-[:IDENTIFIED_AS]->(i:OrgIdentifier)
RETURN DISTINCT i.code AS code
""")
DROP_UNREACHED = cypher("shared_nodes.drop_unreached", """
UNWIND $keys AS key
MATCH (k:Reach {key: key}) WHERE NOT EXISTS { (k)<-[:REACHES]-() }
DELETE k
""")
DROP_UNHELD_IDENTIFIERS = cypher("shared_nodes.drop_unheld_identifiers", """
UNWIND $codes AS code
MATCH (i:OrgIdentifier {code: code}) WHERE NOT EXISTS { (i)<-[:IDENTIFIED_AS]-() }
DELETE i
""")
SWEEP = (
    cypher("shared_nodes.sweep_reach", "MATCH (k:Reach) WHERE NOT EXISTS { (k)<-[:REACHES]-() } DELETE k"),
    cypher("shared_nodes.sweep_identifiers", """
MATCH (i:OrgIdentifier) WHERE NOT EXISTS { (i)<-[:IDENTIFIED_AS]-() }
DELETE i
"""),
)


@dataclass
class Held:
    """The shared nodes some records hold, by key."""

    reach: set[str] = field(default_factory=set)
    identifiers: set[str] = field(default_factory=set)


async def held_by(graph: Graph, tx: Tx, services: Sequence[str] = (), organisations: Sequence[str] = (),
                  services_of: Sequence[str] = ()) -> Held:
    """The nodes held by these services, these organisations and the services of `services_of`."""
    return Held({r["key"] for r in await _paged(graph, tx, REACHED_BY_SERVICES, services)}
                | {r["key"] for r in await _paged(graph, tx, REACHED_BY_SERVICES_OF, services_of)},
                {r["code"] for r in await _paged(graph, tx, IDENTIFIED, organisations)})


async def drop_unheld(graph: Graph, tx: Tx, held: Held) -> None:
    """Delete those of `held` that no record holds any more."""
    await _paged(graph, tx, DROP_UNREACHED, sorted(held.reach), "keys")
    await _paged(graph, tx, DROP_UNHELD_IDENTIFIERS, sorted(held.identifiers), "codes")


async def _paged(graph: Graph, tx: Tx, statement: str, values: Sequence[str],
                 name: str = "ids") -> list[dict[str, Any]]:
    """The statement's rows for `values`, given PAGE at a time (a whole import's records are many)."""
    out: list[dict[str, Any]] = []
    for i in range(0, len(values), PAGE):
        out += await graph.run_plain(tx, statement, **{name: list(values[i:i + PAGE])})
    return out


async def sweep(graph: Graph) -> None:
    """Delete every shared node no record holds (after a bulk deletion: a peer removed, a restore undone)."""
    for statement in SWEEP:
        await graph.write(statement)
