"""Full backup and restore as JSON Lines, lossless: dump, restore into an empty store, dump again, identical.

The first line is a header; then one line per taxonomy term, need indicator (by its key),
organisation and service, in id order, each carrying its relationships; the last line says the
backup ends there and how many lines of each kind it holds, so a file cut short (a copy not
finished, a disk full) is refused, not restored as a smaller directory. A backup written before
that line (version 1) has none, and cannot be told from a cut one: it is restored, saying so.
Every property is written as stored (timestamps are already text), so nothing is converted on
the way out or back. A backup holds restricted records: it is for stewards, and the file should
be kept like the data folder itself (the CLI writes it owner-only, `directory.base.files`).

Both directions stream, so memory does not grow with the directory:

- `dump` reads pages of about `PAGE` records, each a range of the id index between two ids
  known in advance (`_pages`), with every relationship read from the record outwards (a pattern
  starting from `(o:Organisation)` made ArcadeDB scan every organisation for every service: 110 s
  for one page of 5,000 services at 10k). A page's lines are yielded as soon as it is read.
- `restore` reads the lines once, in order, and writes them in parts of `PART` lines, one
  transaction each. A link may name an organisation that comes later in the file: its target is
  merged as a stub (`restore_stub`) that the organisation's own line fills in; stubs still empty at
  the end (links to organisations missing from the backup) are removed with their links, as the
  single-transaction restore dropped them.

A backup is of our own records: organisations, services and links whose publisher is our
directory id, in its namespace, and the need indicators the gap scores are weighed by (every one:
indicators are imported here, never received from a peer; a backup before version 3 has none, and
restores without them, as it was). A peer's records come back from the peer's own signed log, through
the checks every sync makes (docs/federation.md), never from a file: a file is no proof of what a
peer published, nor of what it has withdrawn since. So `dump` writes only ours, and `restore`
refuses a backup of another directory and writes only the lines whose publisher is the backup's
directory and whose ids are in its namespace (links and `OFFERS` included), saying how many it
skipped and why: an old backup that held peers' records, or a crafted one, brings none of them
back. Then it forgets our place in every peer's logs (`peers.forget_reading`), since the store held
no peer's records when the restore began: the next sync reads each log from its start, and the
peer's records come back, or stay away if it withdrew them meanwhile. Our own records are
restored as they were written: they passed the import's checks of the version that wrote them,
and are not validated again (a backup is the steward's own data, kept like the data folder); but
a place or defender group a line names that the store lacks refuses the restore, naming the line
(`_known`), since the store would leave its relationship out without a word (what earlier parts
wrote is deleted again, as after any failure).

A restore refuses a store that holds organisations, services or need indicators. It is not one transaction (a
100k directory does not fit one in the store's memory), so it keeps its promise of all or nothing
in two ways: a `RestoreRun` marker is written before the first part and removed after the last;
if the restore fails (a bad line, a refused statement, Ctrl-C), what it wrote is deleted again
before the error is raised, so the store is empty as before; and if the process dies before it
can do that, the marker stays and `directory status` names the unfinished restore. A restore
then refuses to run, because the store may have been used since (or the other restore may still
be running in another process): only `directory restore --discard-unfinished` deletes every
organisation, service and need indicator in the store and starts over, on the operator's word. While a restore
runs, readers of the same store see the records written so far. On the embedded store it holds the
import lock, as an import does, so no publish of the feeds runs meanwhile (Neo4j has no such lock);
once it is done, and its shelters' marks decided, the next publish looks at every record
(`feeds.look_at_all`), since restored records keep the times they were written at, and a cycle that
read the feeds' head before that cannot move it back (`feeds.MOVE_HEAD`).
A backup taken while records are added reads the organisations before the services: a service
whose organisation was added after them is left for the next backup, and a restore leaves out a
service whose organisation its file lacks (one written before that), saying so.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from directory.base.bulk import paused_gc
from directory.base.clock import now
from directory.base.progress import QUIET, Progress
from directory.domain import places
from directory.domain.errors import Problem, RestoreRefused, ValidationFailed
from directory.domain.model import LINK_TYPES
from directory.domain.validation import LOCAL_ID
from directory.store.engine.cypher import cypher
from directory.store.engine.graph import Graph, Tx
from directory.store.engine.schema import LABEL_GROUPS, VERSION, upgrade_records
from directory.store.federation import feeds, peers
from directory.store.records import shared_nodes, shelters
from directory.store.records.writes import (
    LINK_IDENTIFIED,
    LOCK_PROPERTY,
    ORIGIN_REACH,
    REACH,
    TRANSACTION_TERMS,
    identifier_codes,
    record_terms,
)

FORMAT = "protection-directory-backup"
ENDED = 2  # the first version with an end line
WRITTEN = 3  # the version written: need indicators are backed up
KINDS = ("term", "indicator", "organisation", "service")  # a line's kind is its first key among these
LATER_KINDS = frozenset({"indicator"})  # an end line written before them counts none
PAGE = 5000  # records read per statement by dump
PART = 5000  # lines written per transaction by restore
BATCH = 5000  # rows per statement inside a restore transaction

DUMP_TERMS = cypher("backup.dump_terms", "MATCH (t:Term) RETURN t {.*} AS t ORDER BY t.key")
DUMP_INDICATORS = cypher("backup.dump_indicators", "MATCH (i:Indicator) RETURN i {.*} AS i ORDER BY i.key")
BOUNDS = {
    label: cypher(f"backup.bounds_{label.lower()}", f"""
MATCH (n:{label}) WHERE n.publisher = $me
WITH n.id AS id ORDER BY id
WITH collect(id) AS ids
RETURN [i IN range($page - 1, size(ids) - 1, $page) | ids[i]] AS bounds, ids[-1] AS last
""")
    for label in ("Organisation", "Service")
}
DUMP_ORGANISATIONS = cypher("backup.dump_organisations", f"""
MATCH (n:Organisation) WHERE n.id > $lo AND n.id <= $hi AND n.publisher = $me
RETURN n {{.*}} AS props,
  [(n)-[:BASED_IN]->(p:Place) | p.code] AS based_in,
  [(n)-[l:{'|'.join(LINK_TYPES)}]->(m:Organisation) WHERE l.publisher = $me AND m.publisher = $me
   | {{type: type(l), to: m.id, props: properties(l)}}] AS links
""")
DUMP_SERVICES = cypher("backup.dump_services", """
MATCH (s:Service) WHERE s.id > $lo AND s.id <= $hi AND s.publisher = $me
RETURN s {.*} AS props,
  [(s)<-[:OFFERS]-(o:Organisation) WHERE o.publisher = $me | o.id] AS offered_by,
  [(s)-[a:AVAILABLE_IN]->(p:Place) | {place: p.code, props: properties(a)}] AS available_in,
  [(s)-[:SERVES]->(g:DefenderGroup) | g.code] AS serves,
  [(s)-[:TAKES_FROM]->(q:Place) | q.code] AS takes_from
""")
COUNT_RECORDS = cypher("backup.count_records", "RETURN COUNT { MATCH (n:Organisation) } + COUNT { MATCH (s:Service) } "
                                               "+ COUNT { MATCH (i:Indicator) } AS n")
TERM_KEYS = cypher("backup.term_keys", "MATCH (t:Term) RETURN t.key AS key")
RESTORE_TERMS = cypher("backup.restore_terms", "UNWIND $rows AS r MERGE (t:Term {key: r.key}) SET t = r")
RESTORE_INDICATORS = cypher("backup.restore_indicators", "UNWIND $rows AS r CREATE (i:Indicator) SET i = r")
RESTORE_ORGANISATIONS = cypher("backup.restore_organisations",
                               "UNWIND $rows AS r MERGE (n:Organisation {id: r.id}) SET n = r")
RESTORE_SERVICES = cypher("backup.restore_services", "UNWIND $rows AS r CREATE (s:Service) SET s = r")
RESTORE_BASED_IN = cypher("backup.restore_based_in", """
UNWIND $rows AS r
MATCH (n:Organisation {id: r.from})
MATCH (p:Place {code: r.to})
CREATE (n)-[:BASED_IN]->(p)
""")
RESTORE_OFFERS = cypher("backup.restore_offers", """
UNWIND $rows AS r
MATCH (s:Service {id: r.to})
MERGE (o:Organisation {id: r.from})
ON CREATE SET o.restore_stub = true
CREATE (o)-[:OFFERS]->(s)
""")
RESTORE_AVAILABLE_IN = cypher("backup.restore_available_in", """
UNWIND $rows AS r
MATCH (s:Service {id: r.from})
MATCH (p:Place {code: r.to})
CREATE (s)-[a:AVAILABLE_IN]->(p)
SET a = r.props""" + REACH)
RESTORE_TAKES_FROM = cypher("backup.restore_takes_from", """
UNWIND $rows AS r
MATCH (s:Service {id: r.from})
MATCH (p:Place {code: r.to})
CREATE (s)-[:TAKES_FROM]->(p)""" + ORIGIN_REACH)
RESTORE_SERVES = cypher("backup.restore_serves", """
UNWIND $rows AS r
MATCH (s:Service {id: r.from})
MATCH (g:DefenderGroup {code: r.to})
CREATE (s)-[:SERVES]->(g)
""")
RESTORE_LINKS = {
    t: cypher(f"backup.restore_{t.lower()}", f"""
UNWIND $rows AS r
MATCH (a:Organisation {{id: r.from}})
MERGE (b:Organisation {{id: r.to}})
ON CREATE SET b.restore_stub = true
CREATE (a)-[l:{t}]->(b)
SET l = r.props
""")
    for t in LINK_TYPES
}
# a service whose organisation the backup lacks (its stub deleted, or none named): nothing shows,
# edits or deletes a service without its organisation
DROP_UNOFFERED = cypher("backup.drop_unoffered", """
MATCH (s:Service)
WHERE NOT (s)<-[:OFFERS]-(:Organisation)
DETACH DELETE s
RETURN count(*) AS n
""")
DROP_STUBS = cypher("backup.drop_stubs", """
MATCH (n:Organisation) WHERE n.restore_stub = true
DETACH DELETE n
RETURN count(*) AS n
""")
MARK = cypher("backup.mark", """
CREATE (:RestoreRun {id: $id, source: $source, started_at: $now, new_terms: $new_terms})
""")
MARK_TERMS = cypher("backup.mark_terms", "MATCH (r:RestoreRun {id: $id}) SET r.new_terms = $new_terms")
UNMARK = cypher("backup.unmark", "MATCH (r:RestoreRun {id: $id}) DELETE r")
UNFINISHED = cypher("backup.unfinished", """
MATCH (r:RestoreRun)
RETURN r.id AS id, r.source AS source, r.started_at AS started_at, r.new_terms AS new_terms
ORDER BY r.started_at
""")
WIPE_SERVICES = cypher("backup.wipe_services", """
MATCH (s:Service) WITH s LIMIT $limit
DETACH DELETE s
RETURN count(*) AS n
""")
WIPE_ORGANISATIONS = cypher("backup.wipe_organisations", """
MATCH (n:Organisation) WITH n LIMIT $limit
DETACH DELETE n
RETURN count(*) AS n
""")
WIPE_INDICATORS = cypher("backup.wipe_indicators", """
MATCH (i:Indicator) WITH i LIMIT $limit
DETACH DELETE i
RETURN count(*) AS n
""")
WIPE_TERMS = cypher("backup.wipe_terms", "UNWIND $keys AS k MATCH (t:Term {key: k}) DETACH DELETE t")


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _organisation_line(row: dict[str, Any]) -> str:
    links = sorted(row["links"], key=lambda x: (x["type"], x["to"], x["props"].get("key", "")))
    props = {k: v for k, v in row["props"].items() if k != LOCK_PROPERTY}  # the last edit's lock
    return _line({"organisation": props, "based_in": sorted(row["based_in"]), "links": links})


def _service_line(row: dict[str, Any]) -> str:
    taken = {"takes_from": sorted(row["takes_from"])} if row["takes_from"] else {}  # schema 10 on; only if any
    return _line({"service": row["props"], "offered_by": sorted(row["offered_by"]),
                  "available_in": sorted(row["available_in"], key=lambda x: x["place"]),
                  "serves": sorted(row["serves"]), **taken})


def _encode(line: Callable[[dict[str, Any]], str], rows: list[dict[str, Any]]) -> list[str]:
    """A page's lines in id order, sorted here: the store sorting a page of rows holding every link
    of 5,000 organisations ran past its query heap budget on a store with organisations of 4,000
    links each (the backup failed whatever the heap; a crash read)."""
    return [line(row) for row in sorted(rows, key=lambda row: row["props"]["id"])]


async def _pages(graph: Graph, label: str, query: str, line: Callable[[dict[str, Any]], str],
                 page: int, me: str) -> AsyncIterator[str]:
    """Every record of a label that we published (`me`) in id order, as lines, read in pages of about
    `PAGE` between two known ids.

    A page bounded on both sides is a range of the id index (0.1 s for 5,000 services at 100k on
    ArcadeDB); `id > $after ... ORDER BY id LIMIT $n` made the store read and sort every record
    after `$after` for each page (1.5 to 4.5 s a page at 100k). The bounds come from one statement
    that returns every `PAGE`-th id, so the dump holds one page at a time whatever the size (two
    while the next page is read: the store works on it while this one is encoded in a thread)."""
    found = (await graph.read_plain(BOUNDS[label], page=page, me=me))[0]
    if found["last"] is None:
        return
    ranges: list[tuple[str, str]] = []
    lo = ""  # every id sorts after it
    for hi in [*found["bounds"], found["last"]]:
        if hi > lo:
            ranges.append((lo, hi))
            lo = hi

    def read(n: int) -> asyncio.Future[list[dict[str, Any]]]:
        return asyncio.ensure_future(graph.read_plain(query, lo=ranges[n][0], hi=ranges[n][1], me=me))

    pending: asyncio.Future[list[dict[str, Any]]] | None = read(0)
    try:
        for n in range(len(ranges)):
            assert pending is not None
            rows = await pending
            pending = read(n + 1) if n + 1 < len(ranges) else None
            for text in await asyncio.to_thread(_encode, line, rows):
                if text:  # a line function leaves out a record by giving none
                    yield text
    finally:
        if pending is not None:
            pending.cancel()


async def dump(graph: Graph, directory_id: str, page: int = PAGE) -> AsyncIterator[str]:
    """The backup of our records (publisher `directory_id`), line by line, one page of about `page`
    records in memory at a time. Peers' records are left out: they come back from the peers' own
    signed logs, through today's checks, never from a file."""
    yield _line({"format": FORMAT, "version": WRITTEN, "schema": VERSION, "directory": directory_id})
    held: Counter[str] = Counter()
    for row in await graph.read_plain(DUMP_TERMS):
        held["term"] += 1
        yield _line({"term": row["t"]})
    for row in await graph.read_plain(DUMP_INDICATORS):  # a few per place and year: one read
        held["indicator"] += 1
        yield _line({"indicator": row["i"]})
    dumped: set[str] = set()  # the organisations written: a service of none of them is left for the next backup

    def organisation(row: dict[str, Any]) -> str:
        dumped.add(row["props"]["id"])
        return _organisation_line(row)

    def service(row: dict[str, Any]) -> str:  # added after the organisations were read: its own is not here
        return _service_line(row) if not dumped.isdisjoint(row["offered_by"]) else ""

    async for text in _pages(graph, "Organisation", DUMP_ORGANISATIONS, organisation, page, directory_id):
        held["organisation"] += 1
        yield text
    async for text in _pages(graph, "Service", DUMP_SERVICES, service, page, directory_id):
        held["service"] += 1
        yield text
    yield _line({"end": FORMAT, **{kind: held[kind] for kind in KINDS}})


@dataclass
class _Part:
    """The rows of up to `PART` consecutive lines, by statement, in the order they are written."""

    lines: int = 0
    indicators: int = 0
    organisations: int = 0
    services: int = 0
    index_terms: int = 0  # what its records give the full-text indexes (`TRANSACTION_TERMS`)
    new_terms: list[str] = field(default_factory=list)  # term keys the store did not hold before
    skipped: Counter[str] = field(default_factory=Counter)  # lines and links left out, by `_left_out` reason
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {
        k: [] for k in ("terms", "indicators", "orgs", "identified", "based_in", *LINK_TYPES, "services", "offers",
                        "available_in", "serves", "takes_from")})


STATEMENTS = {"terms": RESTORE_TERMS, "indicators": RESTORE_INDICATORS, "orgs": RESTORE_ORGANISATIONS,
              "identified": LINK_IDENTIFIED,
              "based_in": RESTORE_BASED_IN, **RESTORE_LINKS, "services": RESTORE_SERVICES,
              "offers": RESTORE_OFFERS, "available_in": RESTORE_AVAILABLE_IN, "serves": RESTORE_SERVES,
              "takes_from": RESTORE_TAKES_FROM}


def _objects(lines: Iterable[str], source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The lines after the header, parsed; the header is checked before the first one is yielded,
    the end line after the last (a file without it, or with more after it, raises after all)."""
    header: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    seen: Counter[str] = Counter()
    number = 0
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise ValidationFailed(source, [Problem(
                number, "", f"is not JSON ({exc}): a backup is the JSON Lines `directory backup` writes")]) from exc
        if not isinstance(obj, dict):
            raise ValidationFailed(source, [Problem(number, "", "is not a JSON object")])
        if end is not None:
            raise ValidationFailed(source, [Problem(number, "", "comes after the backup's end line")])
        if header is None:
            if obj.get("format") != FORMAT:
                raise ValidationFailed(source, [Problem(number, "format", "this is not a Protection Directory backup")])
            if int(obj.get("schema", 0)) > VERSION:
                raise ValidationFailed(source, [Problem(number, "schema", "the backup comes from a newer version")])
            header = obj
        elif "end" in obj:
            end = obj
            continue
        else:
            seen[next((k for k in KINDS if k in obj), "other")] += 1
        yield number, obj  # the header first: lets the caller check it before touching the store
    if header is None:
        raise ValidationFailed(source, [Problem(0, "file", "is empty")])
    _check_end(header, end, seen, number, source)


def _check_end(header: dict[str, Any], end: dict[str, Any] | None, seen: Counter[str], last: int,
               source: str) -> None:
    """A backup that says it ends with a count of its lines must, and hold as many as it says."""
    if end is None:
        if int(header.get("version", 1)) >= ENDED:
            raise ValidationFailed(source, [Problem(last, "file", "ends before the backup's end line: the file is "
                                                    "cut short (a copy not finished, a disk full)")])
        return
    for kind in KINDS:
        if end.get(kind, 0 if kind in LATER_KINDS else None) != seen[kind]:
            raise ValidationFailed(source, [Problem(last, kind, f"the end line counts {end.get(kind)!r} lines of "
                                                    f"this kind, and the file holds {seen[kind]}")])


def _ours(record_id: object, directory: str) -> bool:
    """Whether an id is in the directory's namespace: `<directory>:<local>`, the local part as an import takes it."""
    if not isinstance(record_id, str) or not record_id.startswith(f"{directory}:"):
        return False
    return LOCAL_ID.fullmatch(record_id.removeprefix(f"{directory}:")) is not None


def _left_out(kind: str, props: dict[str, Any], directory: str, owner: object = None) -> str | None:
    """Why a record line is not restored, or None: only the backup's directory's own records come back."""
    if props.get("publisher") != directory:
        return f"{kind}:publisher"
    if not _ours(props["id"], directory) or (kind == "service" and not _ours(owner, directory)):
        return f"{kind}:namespace"
    return None


def _add(part: _Part, number: int, obj: dict[str, Any], source: str, existing: set[str], directory: str) -> None:
    rows = part.rows
    part.lines += 1
    if "term" in obj:
        rows["terms"].append(obj["term"])
        if obj["term"]["key"] not in existing:
            part.new_terms.append(obj["term"]["key"])
            existing.add(obj["term"]["key"])  # a group its services serve, further on
    elif "indicator" in obj:
        part.indicators += 1
        rows["indicators"].append(obj["indicator"])
    elif "organisation" in obj:
        props = obj["organisation"]
        oid = props["id"]
        for link in obj.get("links", []):
            if link.get("type") not in LINK_TYPES:
                raise ValidationFailed(source, [Problem(number, "links", f"{link.get('type')!r} is not a link type",
                                                        oid)])
        if reason := _left_out("organisation", props, directory):
            part.skipped[reason] += 1
            return
        part.organisations += 1
        part.index_terms += record_terms("Organisation", props)
        rows["orgs"].append(props)
        rows["identified"] += [{"id": oid, "code": c} for c in identifier_codes(props.get("identifiers") or [])]
        rows["based_in"] += [{"from": oid, "to": code} for code in _known(number, "based_in", obj.get("based_in", []),
                                                                        source, oid)]
        for link in obj.get("links", []):
            if link["props"].get("publisher") != directory or not _ours(link["to"], directory):
                part.skipped["link"] += 1
                continue
            rows[link["type"]].append({"from": oid, "to": link["to"], "props": link["props"]})
    elif "service" in obj:
        props = obj["service"]
        sid = props["id"]
        if reason := _left_out("service", props, directory, props.get("organisation")):
            part.skipped[reason] += 1
            return
        part.services += 1
        part.index_terms += record_terms("Service", props)
        rows["services"].append(props)
        offered_by = obj.get("offered_by", [])
        part.skipped["link"] += sum(1 for org in offered_by if not _ours(org, directory))
        rows["offers"] += [{"from": org, "to": sid} for org in offered_by if _ours(org, directory)]
        available = obj.get("available_in", [])
        _known(number, "available_in", [a["place"] for a in available], source, sid)
        rows["available_in"] += [{"from": sid, "to": a["place"], "props": a["props"]} for a in available]
        rows["serves"] += [{"from": sid, "to": code} for code in _known(number, "serves", obj.get("serves", []), source,
                                                                       sid, existing)]
        rows["takes_from"] += [{"from": sid, "to": code} for code in _known(number, "takes_from",
                                                                           obj.get("takes_from", []), source, sid)]
    else:
        raise ValidationFailed(source, [Problem(number, "", "is not a term, indicator, organisation or service")])


def _known(number: int, name: str, codes: list[str], source: str, record: str,
           terms: set[str] | None = None) -> list[str]:
    """The places (or, given `terms`, the defender groups) a line names, each one the store has: a
    line naming another (a damaged or hand-edited backup) is refused, naming it, before its part is
    written. The store would have left its relationship out without a word (an operator's walk
    restored a service's "ZZ" as a service working nowhere, its stored codes still saying CO)."""
    for code in codes:
        known = f"defender-group/{code}" in terms if terms is not None else places.place(code) is not None
        if not known:
            what = "a defender group" if terms is not None else "a place"
            raise ValidationFailed(source, [Problem(number, name, f"{code!r} is not {what} this directory knows "
                                                                  "(the backup was changed or damaged)", record)])
    return codes


async def _write(graph: Graph, part: _Part, run_id: str, new_terms: list[str]) -> None:
    async def work(tx: Tx) -> None:
        for name, query in STATEMENTS.items():
            rows = part.rows[name]
            for i in range(0, len(rows), BATCH):
                await graph.run(tx, query, rows=rows[i:i + BATCH])
            if name == "terms" and rows:
                await graph.run(tx, LABEL_GROUPS)  # restored defender groups before services serve them
                await graph.run(tx, MARK_TERMS, id=run_id, new_terms=new_terms)  # what a wipe must remove

    await graph.write_tx(work)


async def unfinished(graph: Graph) -> list[dict[str, Any]]:
    """Restores that started and neither finished nor cleaned up after themselves (the process died)."""
    return await graph.read(UNFINISHED)


async def _wipe(graph: Graph, new_terms: list[str]) -> None:
    """Delete organisations, services, need indicators and the terms a restore added: the store is
    empty again (a restore refuses a store that holds any of them). A peer's records a sync wrote
    meanwhile go too (a sync takes no lock), so every peer's log is read again from its start: its
    place kept, the next sync would take nothing and they stayed gone (a crash read). Read again as
    `peer resync` does, keeping the checkpoint we verified, which the log read again must extend."""
    for query in (WIPE_SERVICES, WIPE_ORGANISATIONS, WIPE_INDICATORS):
        while (await graph.write(query, limit=PAGE))[0]["n"]:
            pass
    await shared_nodes.sweep(graph)  # the places' nodes of a type and the identifiers the restore made
    if new_terms:
        await graph.write(WIPE_TERMS, keys=new_terms)
    for peer in await peers.all_peers(graph):
        await peers.read_again(graph, peer.id)





def _say_skipped(skipped: Counter[str], directory: str, progress: Progress) -> None:
    """Tell the operator what was left out and why (counts only: no text from the file reaches the terminal)."""
    for why, text in (("publisher", f"published by another directory than {directory}: a peer's records come back "
                                    "only from its own signed log, at its next sync"),
                      ("namespace", f"whose id is outside {directory}'s namespace (`{directory}:...`)")):
        orgs, services = skipped[f"organisation:{why}"], skipped[f"service:{why}"]
        if orgs or services:
            progress(f"skipped {orgs} organisation(s) and {services} service(s) {text}")
    if skipped["link"]:
        progress(f"skipped {skipped['link']} link(s) to, from or published by another directory")


async def _read_peers_again(graph: Graph, progress: Progress) -> int:
    """Forget our place in every peer's logs, so the next sync reads each from its start through
    today's checks: what the peer still publishes comes back, what it withdrew since stays away."""
    known = [p.id for p in await peers.all_peers(graph)]
    for peer_id in known:
        await peers.forget_reading(graph, peer_id)
    if known:
        progress(f"the logs of {len(known)} peer(s) will be read again from the start: {', '.join(known)} "
                 "(their records come back at the next sync, `directory peer sync`)")
    else:
        progress("no peers are added here: a peer's records come back only once it is added and synced")
    return len(known)


async def restore(graph: Graph, directory_id: str, lines: Iterable[str], source: str,
                  progress: Progress = QUIET, part_lines: int = PART,
                  discard_unfinished: bool = False) -> dict[str, int]:
    """Load a backup of this directory (`directory_id`) into a store that holds no organisations or
    services, part by part: only its own records, never a peer's (see the module docstring).

    `lines` is read once, in order (a file object is fine), `part_lines` at a time: the next part
    is parsed in a worker thread while the store writes this one, so at most two parts are held.
    On any failure what was written is deleted again; see the module docstring. Returns the
    records restored, those skipped (lines and links) and the peers to be read again."""
    objects = _objects(lines, source)
    header = next(objects)[1]  # checked before anything is written
    written_at = int(header.get("schema", 0))
    if header.get("directory") != directory_id:
        raise RestoreRefused(f"this is a backup of directory {str(header.get('directory'))!r}, and this store is "
                             f"directory {directory_id!r}: a backup restores only into the directory that wrote it")
    if int(header.get("version", 1)) < ENDED:
        progress("this backup was written before backups ended with a line of their own: whether it is "
                 "whole cannot be told from it")
    for left in await unfinished(graph):
        if not discard_unfinished:
            raise RestoreRefused(
                f"an earlier restore from {left['source']} (started {left['started_at']}) did not finish, and the "
                "store still holds what it wrote (and whatever was written since; it may even still be running). "
                "`directory restore --discard-unfinished FILE` deletes every organisation, service and need "
                "indicator in the store, then restores")
        progress(f"an earlier restore from {left['source']} (started {left['started_at']}) did not finish: "
                 "deleting every organisation, service and need indicator, as asked")
        await _wipe(graph, list(left["new_terms"] or []))
        await graph.write(UNMARK, id=left["id"])
    if (await graph.read(COUNT_RECORDS))[0]["n"]:
        raise RestoreRefused("the store already holds records; restore only into an empty data folder "
                             "(or a fresh Neo4j database)")
    existing = {row["key"] for row in await graph.read(TERM_KEYS)}

    def read_part() -> _Part:
        part = _Part()
        for number, obj in objects:
            try:
                _add(part, number, obj, source, existing, directory_id)
            except (KeyError, TypeError, AttributeError) as exc:
                raise ValidationFailed(source, [Problem(number, "", f"is not a backup line ({exc!r})")]) from exc
            if part.lines >= part_lines or part.index_terms >= TRANSACTION_TERMS:  # ideographs: a term each
                break
        return part

    run_id = f"restore-{now()}"
    new_terms: list[str] = []
    await graph.write(MARK, id=run_id, source=source, now=now(), new_terms=new_terms)
    counts = {"organisations": 0, "services": 0, "indicators": 0}
    skipped: Counter[str] = Counter()
    upcoming: asyncio.Future[_Part] | None = None
    with paused_gc():
        try:
            upcoming = asyncio.ensure_future(asyncio.to_thread(read_part))
            while (part := await upcoming).lines:
                upcoming = asyncio.ensure_future(asyncio.to_thread(read_part))
                new_terms += part.new_terms
                await _write(graph, part, run_id, new_terms)
                counts["organisations"] += part.organisations
                counts["services"] += part.services
                counts["indicators"] += part.indicators
                skipped += part.skipped
                progress.count("restored", counts["organisations"] + counts["services"], "records",
                               note=f"({counts['organisations']} organisations, {counts['services']} services)")
                del part
                gc.collect()  # once a part: each transaction leaves reference cycles that hold its rows
            dropped = (await graph.write(DROP_STUBS))[0]["n"]
            if dropped:
                progress(f"left out the links to {dropped} organisation(s) the backup does not hold")
            orphans = (await graph.write(DROP_UNOFFERED))[0]["n"]
            if orphans:
                counts["services"] -= orphans
                await shared_nodes.sweep(graph)
                progress(f"left out {orphans} service(s) whose organisation the backup does not hold (a backup "
                         "taken while records were being added can hold such a service)")
            if written_at < VERSION:  # records as an older version wrote them: derive what it did not
                progress(f"the backup comes from schema version {written_at}: upgrading its records to {VERSION}")
                await upgrade_records(graph, written_at)
            _say_skipped(skipped, directory_id, progress)
            counts["skipped"] = sum(skipped.values())
            counts["peers"] = await _read_peers_again(graph, progress)
            await feeds.look_at_all(graph)  # restored records keep their times: the next publish sees them all
        except BaseException:
            if upcoming is not None:  # let the reading thread finish its part before cleaning up
                await asyncio.gather(upcoming, return_exceptions=True)
            await _wipe(graph, new_terms)
            await graph.write(UNMARK, id=run_id)
            raise
    await graph.write(UNMARK, id=run_id)
    return counts


class Backups:
    """Backups through the door: our own records out, and back into an empty store."""

    def __init__(self, graph: Graph, directory_id: str, shelter_minimum: int,
                 importing: Callable[[Callable[[], None]], AbstractAsyncContextManager[None]]) -> None:
        self._graph = graph
        self._directory_id = directory_id
        self._shelter_minimum = shelter_minimum
        self._importing = importing

    def dump(self, page: int = PAGE) -> AsyncIterator[str]:
        return dump(self._graph, self._directory_id, page)

    async def restore(self, lines: Iterable[str], source: str, progress: Progress = QUIET,
                      part_lines: int = PART, discard_unfinished: bool = False) -> dict[str, int]:
        """Restore, then decide the lonely shelters again with this process's setting, not the backup's.
        Under the import lock, as an import: a publish of the feeds in the middle of a restore looked
        past the times of the records written after it, and a failed restore's deletions leave no
        withdrawal for what a publish had sent meanwhile."""
        async with self._importing(lambda: progress("an import, or a publish of the feeds, is writing to this "
                                                    "data folder: waiting for it")):
            counts = await restore(self._graph, self._directory_id, lines, source, progress, part_lines,
                                   discard_unfinished)
            # before any publish may run: it would sign the restored shelters' places as the backup marked them
            await shelters.refresh_now(self._graph, self._shelter_minimum, now())
        return counts

    async def unfinished(self) -> list[dict[str, Any]]:
        return await unfinished(self._graph)
