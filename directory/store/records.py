"""Reading and writing the directory's records, with the viewer applied inside every read.

Nothing outside this module sees a raw node: reads return `model` records already filtered by
visibility, with fields the viewer may not see emptied and locations published at the precision
the viewer may see. Writes are idempotent upserts by id: a record whose content did not change
keeps its revision and `updated_at`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from directory import places
from directory.errors import NotFound
from directory.location import published
from directory.model import (
    LINK_TYPES,
    Coverage,
    Link,
    Location,
    Organisation,
    Precision,
    Presence,
    Provenance,
    Service,
    Visibility,
)
from directory.store.cypher import cypher, visible
from directory.store.embedded import EmbeddedStore
from directory.store.graph import Graph, Tx
from directory.store.schema import LABEL_GROUPS
from directory.taxonomy import Term
from directory.validation import Vocabulary
from directory.viewer import Viewer

MAX_PAGE = 100


def now() -> str:
    """Timestamps are stored as ISO 8601 UTC text: identical on both servers, lossless in backups."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _hash(props: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(props, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# --- writes -------------------------------------------------------------------------------------

UPSERT_ORGANISATIONS = cypher("records.upsert_organisations", """
UNWIND $rows AS r
MERGE (n:Organisation {id: r.id})
WITH n, r, (n.hash IS NULL OR n.hash <> r.hash) AS changed
WHERE changed
SET n += r.props, n.hash = r.hash, n.revision = coalesce(n.revision, 0) + 1, n.updated_at = $now
RETURN n.id AS id, r.place AS place, n.revision AS revision
""")
CLEAR_BASED_IN = cypher("records.clear_based_in", """
UNWIND $ids AS oid
MATCH (n:Organisation {id: oid})-[old:BASED_IN]->(:Place)
DELETE old
""")
LINK_BASED_IN = cypher("records.link_based_in", """
UNWIND $rows AS r
MATCH (n:Organisation {id: r.id})
MATCH (p:Place {code: r.place})
CREATE (n)-[:BASED_IN]->(p)
""")
UPSERT_SERVICES = cypher("records.upsert_services", """
UNWIND $rows AS r
MERGE (s:Service {id: r.id})
WITH s, r, (s.hash IS NULL OR s.hash <> r.hash) AS changed
WHERE changed
SET s += r.props, s.hash = r.hash, s.revision = coalesce(s.revision, 0) + 1, s.updated_at = $now
RETURN s.id AS id, s.revision AS revision
""")
CLEAR_SERVICE_LINKS = cypher("records.clear_service_links", """
UNWIND $ids AS sid
MATCH (s:Service {id: sid})
OPTIONAL MATCH (s)-[old:AVAILABLE_IN|SERVES]->()
DELETE old
WITH DISTINCT s
OPTIONAL MATCH (s)<-[offer:OFFERS]-(:Organisation)
DELETE offer
""")
LINK_OFFERS = cypher("records.link_offers", """
UNWIND $rows AS r
MATCH (o:Organisation {id: r.organisation})
MATCH (s:Service {id: r.id})
CREATE (o)-[:OFFERS]->(s)
""")
LINK_COVERAGE = cypher("records.link_coverage", """
UNWIND $rows AS r
MATCH (s:Service {id: r.service})
MATCH (p:Place {code: r.place})
CREATE (s)-[:AVAILABLE_IN {presence: r.presence}]->(p)
""")
LINK_GROUPS = cypher("records.link_groups", """
UNWIND $rows AS r
MATCH (s:Service {id: r.service})
MATCH (g:DefenderGroup {code: r.group})
CREATE (s)-[:SERVES]->(g)
""")
UPSERT_LINKS = {
    t: cypher(f"records.upsert_{t.lower()}", f"""
UNWIND $rows AS r
MATCH (a:Organisation {{id: r.source}})
MATCH (b:Organisation {{id: r.target}})
MERGE (a)-[l:{t} {{key: r.key}}]->(b)
WITH l, r, (l.hash IS NULL OR l.hash <> r.hash) AS changed
WHERE changed
SET l += r.props, l.hash = r.hash, l.revision = coalesce(l.revision, 0) + 1, l.updated_at = $now
RETURN count(l) AS changed
""")
    for t in LINK_TYPES
}


def _org_row(org: Organisation, publisher: str) -> dict[str, Any]:
    loc = org.location or Location(None, None, Precision.HIDDEN)
    props = {
        "name": org.name, "kind": org.kind, "visibility": org.visibility.value, "owner": org.id,
        "publisher": publisher, "aliases": org.aliases, "description": org.description,
        "website": org.website, "languages": org.languages, "contact_channels": org.contact_channels,
        "identifiers": org.identifiers, "latitude": loc.latitude, "longitude": loc.longitude,
        "precision": loc.precision.value, "country": loc.country, "subdivision": loc.subdivision,
        "source": org.source,
    }
    return {"id": org.id, "props": props, "hash": _hash(props), "place": loc.subdivision or loc.country}


def _service_row(svc: Service, publisher: str) -> dict[str, Any]:
    props = {
        "organisation": svc.organisation, "owner": svc.organisation, "publisher": publisher,
        "name": svc.name, "type": svc.type, "visibility": svc.visibility.value,
        "description": svc.description, "eligibility": svc.eligibility, "capacity": svc.capacity,
        "capacity_unit": svc.capacity_unit, "capacity_confirmed": svc.capacity_confirmed or None,
        "response_hours": svc.response_hours, "languages": svc.languages, "cost": svc.cost,
        "status": svc.status,
    }
    # Coverage and groups live in relationships but count as content for the revision.
    content = dict(props, coverage=sorted(f"{c.place}/{c.presence.value}" for c in svc.coverage),
                   groups=sorted(svc.groups))
    return {"id": svc.id, "props": props, "hash": _hash(content)}


def _link_row(link: Link, publisher: str) -> dict[str, Any]:
    props = dict(link.properties, visibility=link.visibility.value, publisher=publisher)
    return {"source": link.source, "target": link.target, "key": link.key, "props": props, "hash": _hash(props)}


@dataclass
class WriteCounts:
    organisations: int = 0
    services: int = 0
    links: int = 0

    def __iadd__(self, other: WriteCounts) -> WriteCounts:
        self.organisations += other.organisations
        self.services += other.services
        self.links += other.links
        return self


BATCH = 2000


async def _batched(graph: Graph, tx: Tx, query: str, rows: list[dict[str, Any]], **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(0, len(rows), BATCH):
        out.extend(await graph.run(tx, query, rows=rows[i:i + BATCH], **params))
    return out


async def _each_batch(graph: Graph, tx: Tx, query: str, ids: list[str]) -> None:
    for i in range(0, len(ids), BATCH):
        await graph.run(tx, query, ids=ids[i:i + BATCH])


# --- reads --------------------------------------------------------------------------------------

_ORG_FILTER = f"""
WHERE {visible('n')}
  AND ($kind IS NULL OR n.kind = $kind)
  AND ($language IS NULL OR $language IN n.languages)
  AND ($country IS NULL OR n.country = $country OR EXISTS {{
        MATCH (n)-[:OFFERS]->(s:Service)-[:AVAILABLE_IN]->(p:Place)
        WHERE {visible('s')} AND (p.code IN $country_areas OR p.country = $country) }})
  AND ($service_type IS NULL OR EXISTS {{
        MATCH (n)-[:OFFERS]->(s:Service) WHERE s.type = $service_type AND {visible('s')} }})
  AND ($group IS NULL OR EXISTS {{
        MATCH (n)-[:OFFERS]->(s:Service)-[:SERVES]->(g:DefenderGroup)
        WHERE g.code = $group AND {visible('s')} }})
"""
LIST_ORGANISATIONS = cypher("records.list_organisations", f"""
MATCH (n:Organisation)
{_ORG_FILTER}
  AND ($after_name IS NULL OR n.name > $after_name OR (n.name = $after_name AND n.id > $after_id))
RETURN n {{.*}} AS n
ORDER BY n.name, n.id
LIMIT $limit
""")
COUNT_ORGANISATIONS = cypher("records.count_organisations", f"""
MATCH (n:Organisation)
{_ORG_FILTER}
RETURN count(n) AS total
""")
GET_ORGANISATIONS = cypher("records.get_organisations", f"""
UNWIND $ids AS wanted
MATCH (n:Organisation {{id: wanted}})
WHERE {visible('n')}
RETURN n {{.*}} AS n
""")
SERVICES_OF = cypher("records.services_of", f"""
UNWIND $ids AS oid
MATCH (o:Organisation {{id: oid}})-[:OFFERS]->(s:Service)
WHERE {visible('o')} AND {visible('s')}
RETURN s {{.*,
  coverage: [(s)-[a:AVAILABLE_IN]->(p:Place) | {{place: p.code, presence: a.presence}}],
  groups: [(s)-[:SERVES]->(g:DefenderGroup) | g.code]
}} AS s
ORDER BY s.name, s.id
""")

TERMS = cypher("records.terms", "MATCH (t:Term) RETURN t.scheme AS scheme, t.code AS code, t.label AS label")
EXISTING_ORGANISATIONS = cypher("records.existing_organisations", """
UNWIND $ids AS wanted
MATCH (n:Organisation {id: wanted})
RETURN n.id AS id
""")
ADD_TERM = cypher("records.add_term", """
MERGE (t:Term {key: $key})
ON CREATE SET t.scheme = $scheme, t.code = $code, t.built_in = false
SET t.label = $label, t.description = $description
RETURN t.code AS code
""")

BEGIN_IMPORT = cypher("records.begin_import", """
CREATE (r:ImportRun {id: $id, sources: $sources, started_at: $now, state: 'running'})
""")
FINISH_IMPORT = cypher("records.finish_import", """
MATCH (r:ImportRun {id: $id})
SET r.state = 'finished', r.finished_at = $now
""")
UNFINISHED_IMPORTS = cypher("records.unfinished_imports", """
MATCH (r:ImportRun {state: 'running'})
RETURN r.id AS id, r.sources AS sources, r.started_at AS started_at
ORDER BY r.started_at
""")


@dataclass
class OrganisationFilter:
    kind: str | None = None
    service_type: str | None = None
    country: str | None = None
    group: str | None = None
    language: str | None = None

    def params(self) -> dict[str, Any]:
        """Query parameters; a country also matches services available in the areas that contain it."""
        return dict(asdict(self), country_areas=places.enclosing(self.country) if self.country else [])


@dataclass
class Page:
    items: list[Organisation]
    total: int
    has_next: bool
    cursors: list[str]


def _cursor(name: str, record_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([name, record_id]).encode()).decode()


def _uncursor(cursor: str) -> tuple[str, str]:
    try:
        name, record_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return str(name), str(record_id)
    except (ValueError, TypeError) as exc:
        raise ValueError("the cursor is not one this service gave out") from exc


def _provenance(p: dict[str, Any]) -> Provenance:
    return Provenance(p.get("publisher") or "", int(p.get("revision") or 0), p.get("updated_at") or "")


def _organisation(p: dict[str, Any], viewer: Viewer) -> Organisation:
    loc = Location(p.get("latitude"), p.get("longitude"), Precision(p.get("precision", "hidden")),
                   p.get("country"), p.get("subdivision"))
    if not viewer.sees_exact_location_of(p["id"]):
        loc = published(loc)
    network = viewer.role != "anonymous"
    return Organisation(
        id=p["id"], name=p["name"], kind=p["kind"], visibility=Visibility(p["visibility"]),
        aliases=list(p.get("aliases") or []), description=p.get("description") or "",
        website=p.get("website") or "", languages=list(p.get("languages") or []),
        contact_channels=list(p.get("contact_channels") or []) if network else [],
        identifiers=list(p.get("identifiers") or []), location=loc, source=p.get("source") or "",
        provenance=_provenance(p),
    )


def _service(p: dict[str, Any], viewer: Viewer) -> Service:
    network = viewer.role != "anonymous"
    return Service(
        id=p["id"], organisation=p["organisation"], name=p["name"], type=p["type"],
        visibility=Visibility(p["visibility"]), description=p.get("description") or "",
        eligibility=p.get("eligibility") or "",
        capacity=p.get("capacity") if network else None,
        capacity_unit=(p.get("capacity_unit") or "") if network else "",
        capacity_confirmed=(p.get("capacity_confirmed") or "") if network else "",
        response_hours=p.get("response_hours"), languages=list(p.get("languages") or []),
        cost=p.get("cost") or "", status=p.get("status") or "active",
        coverage=sorted((Coverage(c["place"], Presence(c["presence"])) for c in p.get("coverage") or []),
                        key=lambda c: (c.place, c.presence.value)),
        groups=sorted(p.get("groups") or []), provenance=_provenance(p),
    )


class Store:
    """The directory's records in the graph, for one process."""

    def __init__(self, graph: Graph, directory_id: str, embedded: EmbeddedStore | None = None) -> None:
        self.graph = graph
        self.directory_id = directory_id
        self.embedded = embedded

    # writes

    async def upsert(self, organisations: list[Organisation], services: list[Service],
                     links: list[Link]) -> WriteCounts:
        """Write validated records in one transaction: all of them, or none."""

        async def work(tx: Tx) -> WriteCounts:
            return await self.write(tx, organisations, services, links, now())

        return await self.graph.write_tx(work)

    async def write(self, tx: Tx, organisations: list[Organisation], services: list[Service], links: list[Link],
                    stamp: str) -> WriteCounts:
        """Upsert records inside the caller's transaction. Services and links whose organisations do
        not exist are not written; the caller checks references with `existing_organisations`."""
        graph = self.graph
        counts = WriteCounts()
        if organisations:
            org_rows = [_org_row(o, self.directory_id) for o in organisations]
            changed = await _batched(graph, tx, UPSERT_ORGANISATIONS, org_rows, now=stamp)
            counts.organisations = len(changed)
            # A record at revision 1 was just created: it has no old relationships to clear.
            await _each_batch(graph, tx, CLEAR_BASED_IN, [r["id"] for r in changed if r["revision"] > 1])
            await _batched(graph, tx, LINK_BASED_IN, [r for r in changed if r["place"]])
        if services:
            svc_rows = [_service_row(s, self.directory_id) for s in services]
            changed_svc = {r["id"]: r["revision"] for r in await _batched(graph, tx, UPSERT_SERVICES, svc_rows,
                                                                          now=stamp)}
            counts.services = len(changed_svc)
            rows = [s for s in services if s.id in changed_svc]
            await _each_batch(graph, tx, CLEAR_SERVICE_LINKS, [s.id for s in rows if changed_svc[s.id] > 1])
            await _batched(graph, tx, LINK_OFFERS, [{"id": s.id, "organisation": s.organisation} for s in rows])
            await _batched(graph, tx, LINK_COVERAGE, [
                {"service": s.id, "place": c.place, "presence": c.presence.value} for s in rows for c in s.coverage])
            await _batched(graph, tx, LINK_GROUPS, [{"service": s.id, "group": g} for s in rows for g in s.groups])
        for link_type in LINK_TYPES:
            link_rows = [_link_row(link, self.directory_id) for link in links if link.type == link_type]
            for result in await _batched(graph, tx, UPSERT_LINKS[link_type], link_rows, now=stamp):
                counts.links += int(result["changed"])
        return counts

    async def add_term(self, scheme: str, code: str, label: str, description: str = "") -> None:
        await self.graph.write(ADD_TERM, key=f"{scheme}/{code}", scheme=scheme, code=code, label=label,
                               description=description)
        await self.graph.write(LABEL_GROUPS)

    async def begin_import(self, sources: list[str]) -> str:
        """Mark a staged import as running; `finish_import` marks it done."""
        run_id = f"import-{now()}"
        await self.graph.write(BEGIN_IMPORT, id=run_id, sources=sources, now=now())
        return run_id

    async def finish_import(self, run_id: str) -> None:
        await self.graph.write(FINISH_IMPORT, id=run_id, now=now())

    async def unfinished_imports(self) -> list[dict[str, Any]]:
        return await self.graph.read(UNFINISHED_IMPORTS)

    # reads

    async def vocabulary(self) -> Vocabulary:
        terms: dict[str, set[str]] = {}
        for r in await self.graph.read(TERMS):
            terms.setdefault(r["scheme"], set()).add(r["code"])
        return Vocabulary(terms)

    async def terms(self) -> list[Term]:
        rows = await self.graph.read(TERMS)
        return sorted((Term(r["scheme"], r["code"], r["label"]) for r in rows), key=lambda t: (t.scheme, t.code))

    async def existing_organisations(self, ids: list[str], tx: Tx | None = None) -> set[str]:
        """Which of these organisation ids exist, whatever their visibility (for import checks).

        Inside a write transaction (`tx`), this sees the transaction's own writes."""
        if tx is not None:
            return {r["id"] for r in await self.graph.run(tx, EXISTING_ORGANISATIONS, ids=ids)}
        return {r["id"] for r in await self.graph.read(EXISTING_ORGANISATIONS, ids=ids)}

    async def organisation(self, viewer: Viewer, record_id: str) -> Organisation:
        found = await self.organisations_by_id(viewer, [record_id])
        if record_id not in found:
            raise NotFound("organisation", record_id)
        return found[record_id]

    async def organisations_by_id(self, viewer: Viewer, ids: list[str]) -> dict[str, Organisation]:
        rows = await self.graph.read(GET_ORGANISATIONS, ids=ids, **viewer.params)
        return {r["n"]["id"]: _organisation(r["n"], viewer) for r in rows}

    async def list_organisations(self, viewer: Viewer, where: OrganisationFilter, first: int = 20,
                                 after: str | None = None) -> Page:
        """One page of a listing; `first` is capped at MAX_PAGE."""
        return await self._page(viewer, where, max(0, min(first, MAX_PAGE)), after)

    async def each_organisation(self, viewer: Viewer, where: OrganisationFilter | None = None,
                                page: int = 1000) -> AsyncIterator[list[Organisation]]:
        """Every organisation the viewer may see, in pages, for exports."""
        after = None
        while True:
            result = await self._page(viewer, where or OrganisationFilter(), page, after)
            if result.items:
                yield result.items
            if not result.has_next:
                return
            after = result.cursors[-1]

    async def _page(self, viewer: Viewer, where: OrganisationFilter, first: int, after: str | None) -> Page:
        after_name, after_id = _uncursor(after) if after else (None, None)
        params = dict(where.params(), **viewer.params)
        rows = await self.graph.read(LIST_ORGANISATIONS, after_name=after_name, after_id=after_id,
                                     limit=first + 1, **params)
        total = (await self.graph.read(COUNT_ORGANISATIONS, **params))[0]["total"]
        items = [_organisation(r["n"], viewer) for r in rows[:first]]
        return Page(items=items, total=int(total), has_next=len(rows) > first,
                    cursors=[_cursor(r["n"]["name"], r["n"]["id"]) for r in rows[:first]])

    async def services_of(self, viewer: Viewer, organisation_ids: list[str]) -> dict[str, list[Service]]:
        rows = await self.graph.read(SERVICES_OF, ids=organisation_ids, **viewer.params)
        out: dict[str, list[Service]] = {oid: [] for oid in organisation_ids}
        for r in rows:
            svc = _service(r["s"], viewer)
            out.setdefault(svc.organisation, []).append(svc)
        return out
