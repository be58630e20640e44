"""The same organisation described by several directories: proposed by a shared identifier, confirmed by a steward.

Every directory's record stays as it was published (each in its publisher's namespace); nothing is
overwritten. Two records sharing an org-id.guide identifier (`OrgIdentifier` nodes, kept by every
write) are only *proposed* as the same organisation: a peer signs its records, not their truth,
and a hostile one could claim our identifier to put its website or Signal number beside ours. A
steward sees and confirms a proposal (`SAME_AS`, `directory peer same-as`) or rejects it (`NOT_SAME_AS`,
`directory peer not-same-as`, after which it is proposed no more); each replaces the other. The
merged view (`merged_view`) reads confirmed records only, each field from the first record, in
precedence order, that has it: our own record first, then peers by the precedence their steward
gave them, then by directory id. A newer timestamp never wins across publishers.
"""

from __future__ import annotations

from dataclasses import dataclass

from directory.model import Organisation
from directory.store.cypher import cypher, visible
from directory.store.graph import Graph, Tx

SAME_AS_OF = cypher("sameas.of", f"""
UNWIND $ids AS oid
MATCH (n:Organisation {{id: oid}})
RETURN oid AS id,
  [(n)-[:IDENTIFIED_AS]->(i:OrgIdentifier)<-[:IDENTIFIED_AS]-(m:Organisation)
     WHERE m.id <> oid AND {visible('m')} | [m.id, 'identifier ' + i.code]] AS by_identifier,
  [(n)-[:SAME_AS]-(m:Organisation) WHERE m.id <> oid AND {visible('m')} | m.id] AS by_steward,
  [(n)-[:NOT_SAME_AS]-(m:Organisation) | m.id] AS rejected
""")
PROPOSALS = cypher("sameas.proposals", f"""
MATCH (a:Organisation)-[:IDENTIFIED_AS]->(i:OrgIdentifier)<-[:IDENTIFIED_AS]-(b:Organisation)
WHERE a.id < b.id AND {visible('a')} AND {visible('b')}
WITH a, b, collect(i.code) AS codes
RETURN a.id AS a, a.name AS a_name, b.id AS b, b.name AS b_name, codes,
  [(a)-[r:SAME_AS|NOT_SAME_AS]-(b) | type(r)] AS decided
ORDER BY a, b
""")
UNDECIDE = cypher("sameas.undecide", """
MATCH (a:Organisation {id: $a})-[x]-(b:Organisation {id: $b})
WHERE type(x) IN ['SAME_AS', 'NOT_SAME_AS']
DELETE x
""")
DECIDE = {
    kind: cypher(f"sameas.{kind.lower()}", f"""
MATCH (a:Organisation {{id: $a}})
MATCH (b:Organisation {{id: $b}})
CREATE (a)-[s:{kind} {{by: $who, at: $now}}]->(b)
RETURN count(s) AS n
""") for kind in ("SAME_AS", "NOT_SAME_AS")
}
PRECEDENCE = cypher("sameas.precedence", "MATCH (p:Peer) RETURN collect([p.id, p.precedence]) AS peers")

MERGED_FIELDS = ("name", "kind", "description", "website", "languages", "identifiers", "contact_channels",
                 "aliases")


@dataclass(frozen=True)
class Claim:
    organisation: str
    basis: str  # "identifier CODE" (proposed) or "steward" (confirmed)
    proposed: bool = False  # a shared identifier only: nothing of it is merged until a steward confirms


@dataclass(frozen=True)
class Proposal:
    """Two records sharing identifiers that no steward has confirmed or rejected as one organisation."""

    first: str
    first_name: str
    second: str
    second_name: str
    codes: list[str]


@dataclass(frozen=True)
class MergedField:
    name: str
    values: list[str]
    publisher: str
    record: str


async def same_as(graph: Graph, params: dict[str, object], ids: list[str],
                  proposed: bool) -> dict[str, list[Claim]]:
    """For each id, the other records the viewer may see that a steward confirmed, then (`proposed`:
    for stewards, who decide) those only proposed. Others never see a proposal: a peer's claim to
    our identifier does not change what our viewers see about our record until it is confirmed."""
    out: dict[str, list[Claim]] = {i: [] for i in ids}
    for r in await graph.read_plain(SAME_AS_OF, ids=ids, **params):
        seen = set(r["rejected"])
        for other in r["by_steward"]:
            if other not in seen:
                seen.add(other)
                out[r["id"]].append(Claim(other, "steward"))
        for other, basis in r["by_identifier"] if proposed else []:
            if other not in seen:
                seen.add(other)
                out[r["id"]].append(Claim(other, basis, proposed=True))
    return out


async def proposals(graph: Graph, params: dict[str, object]) -> list[Proposal]:
    """Every open proposal the viewer may see both records of, for stewards to confirm or reject."""
    return [Proposal(r["a"], r["a_name"], r["b"], r["b_name"], sorted(r["codes"]))
            for r in await graph.read_plain(PROPOSALS, **params) if not r["decided"]]


async def _decide(graph: Graph, kind: str, a: str, b: str, who: str, now: str) -> bool:
    async def work(tx: Tx) -> bool:
        await graph.run(tx, UNDECIDE, a=a, b=b)
        return bool((await graph.run(tx, DECIDE[kind], a=a, b=b, who=who, now=now))[0]["n"])

    return await graph.write_tx(work)


async def declare(graph: Graph, a: str, b: str, who: str, now: str) -> bool:
    """A steward's word that two records are one organisation (replacing a rejection); False if one is missing."""
    return await _decide(graph, "SAME_AS", a, b, who, now)


async def reject(graph: Graph, a: str, b: str, who: str, now: str) -> bool:
    """A steward's word that two records are not one organisation: never proposed or merged again."""
    return await _decide(graph, "NOT_SAME_AS", a, b, who, now)


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
