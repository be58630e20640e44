"""Shelters the public may not place: too few share the place they would be shown in.

One or two public shelters (or relocation hosts, `taxonomy.SENSITIVE_KINDS`) in a country would
be singled out by any listing of that country, even at country precision. An organisation of
another kind offering the public a safe house (`taxonomy.SHELTERING_TYPES`) is a shelter here
too: where it works is where people at risk sleep. So a public shelter is
marked `place_withheld` when fewer than `minimum` public shelters of its own publisher share its
country, or the subdivision its published precision shows (a peer's shelters never count for
ours). For the public (anonymous viewers, the public feed, public exports) such a shelter then
has no place at all: no country, no subdivision, no point,
and no place filter, proximity search or distance sort matches it by where it is. Where its
services work is withheld with it (for a safe house that is where it is): no coverage on its
services, no place filter finds them, and the place counts, gap matrix, partner candidates and
referral providers leave it out. Members and stewards see it as before. Maps apply the same
rule to what they draw (`store.mapping`).

The counts are over public records only, so whether a shelter is withheld tells nothing about
records the public cannot see. The marks are worked out again after every write of a shelter and
at every start (the minimum is a setting). When a shelter's mark flips, its public view changed:
its public revision and update time move, so the public feed carries the change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection

from directory.domain.taxonomy import SENSITIVE_KINDS, SHELTERING_TYPES
from directory.store.engine.cypher import cypher
from directory.store.engine.graph import Graph, Tx

KINDS = sorted(SENSITIVE_KINDS)
TYPES = sorted(SHELTERING_TYPES)
# What makes an organisation a shelter for the public: its kind, or a safe house it offers the
# public (a hidden one must not withhold its place: that would tell the public it exists).
_SHELTER = ("({v}.kind IN $kinds OR EXISTS {{ ({v})-[:OFFERS]->(x:Service) "
            "WHERE x.type IN $types AND x.visibility = 'public' }})")

# Two writers working the marks out at once could each decide from what the other had not yet
# committed (one adds a shelter, one restricts another: the last to commit leaves two public
# shelters unmarked). The marks' own lock node is written first, so refreshes take turns.
LOCK = cypher("shelters.lock", "MERGE (l:ShelterMarks {key: 'marks'}) SET l.at = $now")
_ROW = """s.id AS id, s.visibility = 'public' AS public, s.country AS country, s.pub_subdivision AS subdivision,
       coalesce(s.place_withheld, false) AS withheld"""
# `written`: a shelter by what is stored; false for one only a later part of an import makes one
SHELTERS = cypher("shelters.all", f"""
MATCH (s:Organisation) WHERE s.kind IN $kinds
RETURN {_ROW}, true AS written
UNION
MATCH (s:Organisation)-[:OFFERS]->(x:Service) WHERE x.type IN $types AND x.visibility = 'public'
RETURN {_ROW}, true AS written
UNION
MATCH (s:Organisation) WHERE s.id IN $coming
RETURN {_ROW}, false AS written
""")


def _public_moved(v: str) -> str:
    """The public's revision and time of `v` moved, if the public sees it (`writes._VIEWS`) and
    this write has not moved them already: a shelter marked in the write that made or changed it
    was never seen placed, so it is one change to the public (a leak sweep read revision 2 from a
    shelter's first appearance, its members 1)."""
    moves = f"{v}.visibility = 'public' AND coalesce({v}.public_updated_at, '') <> $now"
    return (f"{v}.public_revision = CASE WHEN {moves} THEN coalesce({v}.public_revision, 0) + 1 "
            f"ELSE {v}.public_revision END, "
            f"{v}.public_updated_at = CASE WHEN {moves} THEN $now ELSE {v}.public_updated_at END")


MARK = cypher("shelters.mark", f"""
UNWIND $rows AS r
MATCH (s:Organisation {{id: r.id}})
SET s.place_withheld = r.withheld, {_public_moved("s")}
WITH s
OPTIONAL MATCH (s)-[:OFFERS]->(x:Service)
SET {_public_moved("x")}
""")
UNMARK = cypher("shelters.unmark", f"""
UNWIND $ids AS id
MATCH (s:Organisation {{id: id}}) WHERE s.place_withheld = true AND NOT {_SHELTER.format(v="s")} AND NOT id IN $coming
SET s.place_withheld = false, {_public_moved("s")}
WITH s
OPTIONAL MATCH (s)-[:OFFERS]->(x:Service)
SET {_public_moved("x")}
RETURN DISTINCT s.id AS id
""")
SAFE_HOUSES_OF = cypher("shelters.safe_houses_of", """
UNWIND $ids AS id
MATCH (o:Organisation {id: id})-[:OFFERS]->(s:Service) WHERE s.type IN $types
RETURN DISTINCT o.id AS id
""")
WITHHELD = cypher("shelters.withheld", "MATCH (s:Organisation) WHERE s.place_withheld = true RETURN s.id AS id")
# the providers of public safe houses that imports still running write (`Store.begin_import`)
RUNNING_SHELTERING = cypher("shelters.running_sheltering", """
MATCH (r:ImportRun {state: 'running'})
UNWIND coalesce(r.sheltering, []) AS id
RETURN DISTINCT id""")


def alone(shelters: list[tuple[str, str | None, str | None]], minimum: int) -> set[str]:
    """The rule, for the marks and for what a public map draws: of these shelters (id, country,
    shown subdivision), those that fewer than `minimum` of their own publisher's share their
    country or subdivision with. Counted per publisher (the directory an id names), so a peer's
    shelters, real or invented, never decide whether the public may place ours, nor ours theirs.
    A withheld shelter has no place for the public, so it counts in none: had it still counted in
    its country, two placed shelters where three are needed would say where the third one is. So
    the count is made again without those withheld, until no more are."""
    def publisher(record: str) -> str:
        return record.rpartition(":")[0]

    withheld: set[str] = set()
    while True:
        placed = [(i, {p for p in (country, sub) if p}) for i, country, sub in shelters if i not in withheld]
        per_place = Counter((publisher(i), place) for i, where in placed for place in where)
        more = {i for i, where in placed if any(per_place[(publisher(i), place)] < minimum for place in where)}
        if not more:
            return withheld
        withheld |= more


async def refresh(graph: Graph, tx: Tx, minimum: int, now: str, no_longer: list[str] | None = None,
                  coming: Collection[str] = ()) -> list[str]:
    """Mark the shelters whose place the public may not see, inside the caller's transaction;
    `no_longer`: organisations that may have been shelters and may not be now (of another kind,
    or no longer offering the public a safe house); `coming`: organisations a later transaction of
    the same import gives a public safe house, shelters already (a staged import commits its
    organisations first); whichever transaction refreshes, those of every import still running
    count too (`Store.begin_import`), so a process opening the store while one runs, or after it
    died, does not place them. Returns the shelters whose place the public may now see or no longer
    see: the write that moved them is audited for them (an attacker's read: a third shelter showed
    two others' exact places to the public, and the log said nothing)."""
    await graph.run(tx, LOCK, now=now)
    coming = {*coming, *(str(r["id"]) for r in await graph.run(tx, RUNNING_SHELTERING))}
    unmarked: list[str] = []
    if no_longer:
        unmarked = [str(r["id"]) for r in await graph.run(tx, UNMARK, ids=sorted(set(no_longer)), kinds=KINDS,
                                                          types=TYPES, now=now, coming=sorted(coming))]
    found = await graph.run(tx, SHELTERS, kinds=KINDS, types=TYPES, coming=sorted(coming))
    written = {r["id"] for r in found if r["written"]}
    rows = list({r["id"]: r for r in sorted(found, key=lambda r: r["written"])}.values())  # each once
    # a shelter only a later part makes one is withheld until that part is written, and counts for
    # no other: an import that dies before it must leave no shelter placed on its count (a crash read)
    pending = {r["id"] for r in rows if r["id"] not in written and r["public"] and r["country"]}
    lonely = alone([(r["id"], r["country"], r["subdivision"]) for r in rows
                    if r["id"] in written and r["public"] and r["country"]], minimum) | pending
    flipped = [{"id": r["id"], "withheld": r["id"] in lonely} for r in rows if r["withheld"] != (r["id"] in lonely)]
    if flipped:
        await graph.run(tx, MARK, rows=flipped, now=now)
    return [*unmarked, *(str(r["id"]) for r in flipped)]


async def offering_safe_houses(graph: Graph, tx: Tx, ids: list[str], now: str) -> list[str]:
    """Of these organisations, those offering a safe house (of any visibility): their marks need
    working out again when they change. The marks' lock is taken before looking: a safe house
    another transaction is adding, unseen here, would otherwise leave its provider's new place
    unmarked (both commit, neither seeing the other's write); with the lock, one waits or runs again."""
    await graph.run(tx, LOCK, now=now)
    return [str(r["id"]) for r in await graph.run(tx, SAFE_HOUSES_OF, ids=ids, types=TYPES)]


async def refresh_now(graph: Graph, minimum: int, now: str) -> int:
    """`refresh` in its own transaction (at start-up, after a restore), looking at every mark:
    a record that stopped being a shelter where no write said so is no longer withheld."""
    async def work(tx: Tx) -> int:
        marked = [str(r["id"]) for r in await graph.run(tx, WITHHELD)]
        return len(await refresh(graph, tx, minimum, now, marked))

    return await graph.write_tx(work)
