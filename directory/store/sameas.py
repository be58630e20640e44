"""The same organisation described by several directories: found by shared identifier or a steward's say.

Every directory's record stays as it was published (each in its publisher's namespace); nothing is
overwritten. Two records are the same organisation when they share an org-id.guide identifier
(`OrgIdentifier` nodes, kept by every write) or a steward said so (`SAME_AS`). The merged view
(`merged_view`) takes each field from the first record, in precedence order, that has it: our
own record first, then peers by the precedence their steward gave them, then by directory id. A
newer timestamp never wins across publishers.
"""

from __future__ import annotations

from dataclasses import dataclass

from directory.model import Organisation
from directory.store.cypher import cypher, visible
from directory.store.graph import Graph

SAME_AS_OF = cypher("sameas.of", f"""
UNWIND $ids AS oid
MATCH (n:Organisation {{id: oid}})
RETURN oid AS id,
  [(n)-[:IDENTIFIED_AS]->(i:OrgIdentifier)<-[:IDENTIFIED_AS]-(m:Organisation)
     WHERE m.id <> oid AND {visible('m')} | [m.id, 'identifier ' + i.code]] AS by_identifier,
  [(n)-[:SAME_AS]-(m:Organisation) WHERE m.id <> oid AND {visible('m')} | [m.id, 'steward']] AS by_steward
""")
DECLARE = cypher("sameas.declare", """
MATCH (a:Organisation {id: $a})
MATCH (b:Organisation {id: $b})
MERGE (a)-[s:SAME_AS]->(b)
SET s.by = $who, s.at = $now
RETURN count(s) AS n
""")
PRECEDENCE = cypher("sameas.precedence", "MATCH (p:Peer) RETURN collect([p.id, p.precedence]) AS peers")

MERGED_FIELDS = ("name", "kind", "description", "website", "languages", "identifiers", "contact_channels",
                 "aliases")


@dataclass(frozen=True)
class Claim:
    organisation: str
    basis: str  # "identifier CODE" or "steward"


@dataclass(frozen=True)
class MergedField:
    name: str
    values: list[str]
    publisher: str
    record: str


async def same_as(graph: Graph, params: dict[str, object], ids: list[str]) -> dict[str, list[Claim]]:
    """For each id, the other records the viewer may see that describe the same organisation."""
    out: dict[str, list[Claim]] = {i: [] for i in ids}
    for r in await graph.read_plain(SAME_AS_OF, ids=ids, **params):
        seen: set[str] = set()
        for other, basis in [*r["by_steward"], *r["by_identifier"]]:
            if other not in seen:
                seen.add(other)
                out[r["id"]].append(Claim(other, basis))
    return out


async def declare(graph: Graph, a: str, b: str, who: str, now: str) -> bool:
    return bool((await graph.write(DECLARE, a=a, b=b, who=who, now=now))[0]["n"])


async def precedence(graph: Graph) -> dict[str, int]:
    return {p: int(n) for p, n in (await graph.read_plain(PRECEDENCE))[0]["peers"]}


def merged_view(records: list[Organisation], me: str, ranks: dict[str, int]) -> list[MergedField]:
    """Each field from the first record in precedence order that has a value for it."""
    def rank(o: Organisation) -> tuple[int, int, str]:
        publisher = o.provenance.publisher if o.provenance else ""
        return (0 if publisher == me else 1, ranks.get(publisher, 1_000_000), publisher)

    ordered = sorted(records, key=rank)
    fields = []
    for name in MERGED_FIELDS:
        for o in ordered:
            value = getattr(o, name)
            values = [value] if isinstance(value, str) else list(value)
            if any(values):
                fields.append(MergedField(name, values, o.provenance.publisher if o.provenance else "", o.id))
                break
    return fields
