"""Full backup and restore as JSON Lines, lossless: dump, restore into an empty store, dump again, identical.

The first line is a header; then one line per taxonomy term, organisation and service, in id
order, each carrying its relationships. Every property is written as stored (timestamps are
already text), so nothing is converted on the way out or back. A backup holds restricted
records: it is for stewards, and the file should be kept like the data folder itself.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from directory.errors import Problem, RestoreRefused, ValidationFailed
from directory.model import LINK_TYPES
from directory.store.cypher import cypher
from directory.store.graph import Graph, Tx
from directory.store.schema import LABEL_GROUPS, VERSION

FORMAT = "protection-directory-backup"
PAGE = 5000

DUMP_TERMS = cypher("backup.dump_terms", "MATCH (t:Term) RETURN t {.*} AS t ORDER BY t.key")
DUMP_ORGANISATIONS = cypher("backup.dump_organisations", f"""
MATCH (n:Organisation) WHERE $after IS NULL OR n.id > $after
WITH n ORDER BY n.id LIMIT $limit
RETURN n {{.*}} AS props,
  [(n)-[:BASED_IN]->(p:Place) | p.code] AS based_in,
  [(n)-[l:{'|'.join(LINK_TYPES)}]->(m:Organisation) | {{type: type(l), to: m.id, props: properties(l)}}] AS links
ORDER BY n.id
""")
DUMP_SERVICES = cypher("backup.dump_services", """
MATCH (s:Service) WHERE $after IS NULL OR s.id > $after
WITH s ORDER BY s.id LIMIT $limit
RETURN s {.*} AS props,
  [(o:Organisation)-[:OFFERS]->(s) | o.id] AS offered_by,
  [(s)-[a:AVAILABLE_IN]->(p:Place) | {place: p.code, props: properties(a)}] AS available_in,
  [(s)-[:SERVES]->(g:DefenderGroup) | g.code] AS serves
ORDER BY s.id
""")
COUNT_RECORDS = cypher("backup.count_records",
                       "MATCH (n) WHERE n:Organisation OR n:Service RETURN count(n) AS n")
RESTORE_TERMS = cypher("backup.restore_terms", "UNWIND $rows AS r MERGE (t:Term {key: r.key}) SET t = r")
RESTORE_ORGANISATIONS = cypher("backup.restore_organisations",
                               "UNWIND $rows AS r CREATE (n:Organisation) SET n = r")
RESTORE_SERVICES = cypher("backup.restore_services", "UNWIND $rows AS r CREATE (s:Service) SET s = r")
RESTORE_BASED_IN = cypher("backup.restore_based_in", """
UNWIND $rows AS r
MATCH (n:Organisation {id: r.from})
MATCH (p:Place {code: r.to})
CREATE (n)-[:BASED_IN]->(p)
""")
RESTORE_OFFERS = cypher("backup.restore_offers", """
UNWIND $rows AS r
MATCH (o:Organisation {id: r.from})
MATCH (s:Service {id: r.to})
CREATE (o)-[:OFFERS]->(s)
""")
RESTORE_AVAILABLE_IN = cypher("backup.restore_available_in", """
UNWIND $rows AS r
MATCH (s:Service {id: r.from})
MATCH (p:Place {code: r.to})
CREATE (s)-[a:AVAILABLE_IN]->(p)
SET a = r.props
""")
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
MATCH (b:Organisation {{id: r.to}})
CREATE (a)-[l:{t}]->(b)
SET l = r.props
""")
    for t in LINK_TYPES
}


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


async def _pages(graph: Graph, query: str) -> AsyncIterator[dict[str, Any]]:
    after = None
    while True:
        rows = await graph.read(query, after=after, limit=PAGE)
        for row in rows:
            yield row
        if len(rows) < PAGE:
            return
        after = rows[-1]["props"]["id"]


async def dump(graph: Graph, directory_id: str) -> AsyncIterator[str]:
    """The backup, line by line."""
    yield _line({"format": FORMAT, "version": 1, "schema": VERSION, "directory": directory_id})
    for row in await graph.read(DUMP_TERMS):
        yield _line({"term": row["t"]})
    async for row in _pages(graph, DUMP_ORGANISATIONS):
        links = sorted(row["links"], key=lambda x: (x["type"], x["to"], x["props"].get("key", "")))
        yield _line({"organisation": row["props"], "based_in": sorted(row["based_in"]), "links": links})
    async for row in _pages(graph, DUMP_SERVICES):
        yield _line({"service": row["props"], "offered_by": sorted(row["offered_by"]),
                     "available_in": sorted(row["available_in"], key=lambda x: x["place"]),
                     "serves": sorted(row["serves"])})


def _parse(lines: Iterable[str], source: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in ("terms", "orgs", "services", "based_in", "offers",
                                                            "available_in", "serves", *LINK_TYPES)}
    header_seen = False
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise ValidationFailed(source, [Problem(number, "line", f"is not JSON: {exc}")]) from exc
        if not header_seen:
            if obj.get("format") != FORMAT:
                raise ValidationFailed(source, [Problem(number, "format", "this is not a Protection Directory backup")])
            if int(obj.get("schema", 0)) > VERSION:
                raise ValidationFailed(source, [Problem(number, "schema", "the backup comes from a newer version")])
            header_seen = True
        elif "term" in obj:
            out["terms"].append(obj["term"])
        elif "organisation" in obj:
            props = obj["organisation"]
            out["orgs"].append(props)
            out["based_in"] += [{"from": props["id"], "to": code} for code in obj.get("based_in", [])]
            for link in obj.get("links", []):
                out[link["type"]].append({"from": props["id"], "to": link["to"], "props": link["props"]})
        elif "service" in obj:
            props = obj["service"]
            out["services"].append(props)
            out["offers"] += [{"from": org, "to": props["id"]} for org in obj.get("offered_by", [])]
            out["available_in"] += [{"from": props["id"], "to": a["place"], "props": a["props"]}
                                    for a in obj.get("available_in", [])]
            out["serves"] += [{"from": props["id"], "to": code} for code in obj.get("serves", [])]
        else:
            raise ValidationFailed(source, [Problem(number, "line", "is not a term, organisation or service")])
    if not header_seen:
        raise ValidationFailed(source, [Problem(0, "file", "is empty")])
    return out


async def restore(graph: Graph, lines: Iterable[str], source: str,
                  progress: Callable[[str], None] = lambda _: None) -> dict[str, int]:
    """Load a backup into a store that holds no organisations or services, in one transaction."""
    parts = _parse(lines, source)
    if (await graph.read(COUNT_RECORDS))[0]["n"]:
        raise RestoreRefused("the store already holds records; restore only into an empty data folder "
                             "(or a fresh Neo4j database)")
    steps = [(RESTORE_TERMS, "terms"), (RESTORE_ORGANISATIONS, "orgs"), (RESTORE_SERVICES, "services"),
             (RESTORE_BASED_IN, "based_in"), (RESTORE_OFFERS, "offers"), (RESTORE_AVAILABLE_IN, "available_in"),
             (RESTORE_SERVES, "serves")] + [(RESTORE_LINKS[t], t) for t in LINK_TYPES]

    async def work(tx: Tx) -> None:
        for query, part in steps:
            rows = parts[part]
            for i in range(0, len(rows), PAGE):
                await graph.run(tx, query, rows=rows[i:i + PAGE])
            if rows:
                progress(f"restored {len(rows)} {part}")
        await graph.run(tx, LABEL_GROUPS)

    await graph.write_tx(work)
    return {"organisations": len(parts["orgs"]), "services": len(parts["services"])}
