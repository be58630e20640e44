"""The same organisation described by several directories: proposed by a shared identifier, confirmed by a steward.

Every directory's record stays as it was published (each in its publisher's namespace); nothing is
overwritten. One of our records and a peer's sharing an org-id.guide identifier (`OrgIdentifier`
nodes, kept by every write) are only *proposed* as the same organisation: a peer signs its records,
not their truth, and a hostile one could claim our identifier to put its website or Signal number
beside ours. Two records of one publisher, or of two peers, are never proposed: that publisher
decides what its records are, and pairing every two of a peer's records sharing a code is what a
hostile peer would use to make the pairs grow with the square of its records. A steward confirms
a proposal (`directory peer same-as`) or rejects it (`directory peer not-same-as`, after which it is
proposed no more); each replaces the other. A decision is a `SameAsDecision` node keyed by the two
ids, not an edge between the records: a peer that purges a record and sends it again (a tombstone,
then an upsert) must not wipe a steward's word about it. The merged view (`merged_view`) reads
confirmed records only, each field from the first record, in precedence order, that has it: our
own record first, then peers by the precedence their steward gave them, then by directory id. A
newer timestamp never wins across publishers.

What a peer can make us hold is bounded: `proposals` lists a page of at most `MOST_PROPOSALS` with
the count of all, and a record's `same_as` the first `MOST_CLAIMS` proposed with the count of all.
"""

from __future__ import annotations

from dataclasses import dataclass

from directory.domain.fields import ORGANISATION, merged
from directory.domain.model import Organisation
from directory.store.engine.cypher import cypher, visible
from directory.store.engine.graph import Graph
from directory.store.shown import RESTRICTED, Shown

MOST_CLAIMS = 20  # proposed records listed per record (the rest counted): a peer may send 400 claiming ours
MOST_PROPOSALS = 100  # proposals listed at once by default (the rest counted)
SAME, NOT_SAME = "SAME_AS", "NOT_SAME_AS"

SAME_AS_OF = cypher("sameas.of", f"""
UNWIND $ids AS oid
MATCH (n:Organisation {{id: oid}})
OPTIONAL MATCH (x:SameAsDecision {{a: oid}})
WITH n, oid, collect(x.b) AS xb, collect(x.kind) AS xk
OPTIONAL MATCH (y:SameAsDecision {{b: oid}})
WITH n, oid, xb, xk, collect(y.a) AS yb, collect(y.kind) AS yk
WITH n, oid, xb + yb AS others, xk + yk AS kinds
OPTIONAL MATCH (n)-[:IDENTIFIED_AS]->(i:OrgIdentifier)<-[:IDENTIFIED_AS]-(m:Organisation)
WHERE $proposed AND m.publisher <> n.publisher AND $me IN [n.publisher, m.publisher] AND NOT m.id IN others
  AND {visible('m')}
WITH oid, others, kinds, m.id AS other, min(i.code) AS code
ORDER BY oid, other
WITH oid, others, kinds, collect(CASE WHEN other IS NULL THEN null ELSE [other, 'identifier ' + code] END) AS found
RETURN oid AS id, others, kinds, size(found) AS proposed, found[0..$most] AS by_identifier
""")
VISIBLE = cypher("sameas.visible", f"""
UNWIND $ids AS i
MATCH (m:Organisation {{id: i}})
WHERE {visible('m')}
RETURN collect(m.id) AS ids
""")
PROPOSALS = cypher("sameas.proposals", f"""
OPTIONAL MATCH (d:SameAsDecision)
WITH collect(d.key) AS decided
MATCH (a:Organisation)-[:IDENTIFIED_AS]->(i:OrgIdentifier)<-[:IDENTIFIED_AS]-(b:Organisation)
WHERE a.publisher = $me AND b.publisher <> $me AND {visible('a')} AND {visible('b')}
  AND NOT (CASE WHEN a.id < b.id THEN a.id + '|' + b.id ELSE b.id + '|' + a.id END) IN decided
WITH a, b, collect(i.code) AS codes
ORDER BY a.id, b.id
WITH collect([a.id, a.name, b.id, b.name, codes, [a.visibility, b.visibility]]) AS found
RETURN size(found) AS total, found[$skip..$skip + $first] AS page
""")
DECIDE = cypher("sameas.decide", """
MATCH (a:Organisation {id: $a})
MATCH (b:Organisation {id: $b})
MERGE (d:SameAsDecision {key: $key})
SET d.a = $a, d.b = $b, d.kind = $kind, d.by = $who, d.at = $now
RETURN count(d) AS n
""")
EDGES_TO_DECISIONS = cypher("sameas.edges_to_decisions", """
MATCH (x:Organisation)-[r:SAME_AS|NOT_SAME_AS]->(y:Organisation)
WITH x, y, r LIMIT 2000
WITH r, type(r) AS kind, r.by AS by, r.at AS at,
  CASE WHEN x.id < y.id THEN x.id ELSE y.id END AS a, CASE WHEN x.id < y.id THEN y.id ELSE x.id END AS b
MERGE (d:SameAsDecision {key: a + '|' + b})
SET d.a = a, d.b = b, d.kind = kind, d.by = by, d.at = at
DELETE r
RETURN count(*) AS n
""")
PRECEDENCE = cypher("sameas.precedence", "MATCH (p:Peer) RETURN collect([p.id, p.precedence]) AS peers")

MERGED_FIELDS = merged(ORGANISATION)


@dataclass(frozen=True)
class Claim:
    organisation: str
    basis: str  # "identifier CODE" (proposed) or "steward" (confirmed)
    proposed: bool = False  # a shared identifier only: nothing of it is merged until a steward confirms


@dataclass(frozen=True)
class SameAsOf:
    """One record's other records: confirmed ones, then up to `MOST_CLAIMS` proposed, and how many are."""

    claims: list[Claim]
    proposed: int = 0  # every proposed record the viewer may see, listed in `claims` or not


@dataclass(frozen=True)
class Proposal:
    """One of our records and a peer's sharing identifiers, that no steward confirmed or rejected as one."""

    first: str  # ours
    first_name: str
    second: str  # the peer's
    second_name: str
    codes: list[str]


@dataclass(frozen=True)
class Proposals:
    proposals: list[Proposal]
    total: int  # all open proposals, this page's and the rest


@dataclass(frozen=True)
class MergedField:
    name: str
    values: list[str]
    publisher: str
    record: str


def decision_key(a: str, b: str) -> str:
    """One key for the pair whichever way round a steward names it (local ids hold no `|`)."""
    return "|".join(sorted((a, b)))


async def same_as(graph: Graph, params: dict[str, object], ids: list[str], proposed: bool,
                  me: str) -> dict[str, SameAsOf]:
    """For each id, the other records the viewer may see that a steward confirmed, then (`proposed`:
    for stewards, who decide) the first of those only proposed. Others never see a proposal: a
    peer's claim to our identifier does not change what our viewers see about our record until it
    is confirmed."""
    rows = await graph.read_plain(SAME_AS_OF, ids=ids, proposed=proposed, me=me, most=MOST_CLAIMS, **params)
    confirmed = {r["id"]: sorted(o for o, k in zip(r["others"], r["kinds"], strict=True) if k == SAME)
                 for r in rows}
    wanted = sorted({o for others in confirmed.values() for o in others})
    shown = set((await graph.read_plain(VISIBLE, ids=wanted, **params))[0]["ids"]) if wanted else set()
    out: dict[str, SameAsOf] = {i: SameAsOf([]) for i in ids}
    for r in rows:
        claims = [Claim(o, "steward") for o in confirmed[r["id"]] if o in shown]
        claims += [Claim(o, basis, proposed=True) for o, basis in r["by_identifier"]]
        out[r["id"]] = SameAsOf(claims, int(r["proposed"]))
    return out


async def proposals(graph: Graph, params: dict[str, object], me: str, first: int = MOST_PROPOSALS,
                    skip: int = 0, shown: Shown | None = None) -> Proposals:
    """Open proposals the viewer may see both records of, ours first, a page at a time: a steward
    decides these, and a hostile peer's thousand claims must not make the list fail or flood it."""
    rows = await graph.read_plain(PROPOSALS, me=me, first=first, skip=skip, **params)
    if not rows:
        return Proposals([], 0)
    page = rows[0]["page"]
    if shown is not None:
        shown.add("organisation", [i for row in page for i, v in zip((row[0], row[2]), row[5], strict=True)
                                   if v == RESTRICTED])
    return Proposals([Proposal(a, a_name, b, b_name, sorted(codes)) for a, a_name, b, b_name, codes, _ in page],
                     int(rows[0]["total"]))


async def _decide(graph: Graph, kind: str, a: str, b: str, who: str, now: str) -> bool:
    first, second = sorted((a, b))
    return bool((await graph.write(DECIDE, key=decision_key(a, b), a=first, b=second, kind=kind, who=who,
                                   now=now))[0]["n"])


async def declare(graph: Graph, a: str, b: str, who: str, now: str) -> bool:
    """A steward's word that two records are one organisation (replacing a rejection); False if one is missing."""
    return await _decide(graph, SAME, a, b, who, now)


async def reject(graph: Graph, a: str, b: str, who: str, now: str) -> bool:
    """A steward's word that two records are not one organisation: never proposed or merged again,
    even after a peer purges its record and sends it again."""
    return await _decide(graph, NOT_SAME, a, b, who, now)


async def edges_to_decisions(graph: Graph, embedded: object = None) -> None:
    """Decisions kept as SAME_AS / NOT_SAME_AS edges before schema version 8, made decision nodes
    (in batches) and the edges deleted, so a purged record no longer takes a steward's word with it."""
    while (await graph.write(EDGES_TO_DECISIONS))[0]["n"]:
        pass


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
