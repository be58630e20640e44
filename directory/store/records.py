"""The store's public face: reads with the viewer applied inside every query, and writes.

Nothing outside this module sees a raw node: reads return `model` records already filtered by
visibility, with fields the viewer may not see emptied and locations published at the precision
the viewer may see. Writes (`writes.py`) are idempotent upserts by id.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
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
from directory.store.writes import WriteCounts, now, write_records
from directory.taxonomy import Term
from directory.validation import Vocabulary
from directory.viewer import Viewer

MAX_PAGE = 100
_LINK_FIELDS = {"response_hours", "formal", "trust", "confirmed", "amount", "currency", "year", "purpose"}


# --- reads --------------------------------------------------------------------------------------

# Service type, defender group and country must hold for one and the same service; a service that
# names no defender groups is open to all. With no service condition, a country also matches the
# organisations based there.
_ORG_FILTER = f"""
WHERE {visible('n')}
  AND ($kind IS NULL OR n.kind = $kind)
  AND ($language IS NULL OR $language IN n.languages)
  AND (($service_type IS NULL AND $group IS NULL AND ($country IS NULL OR n.country = $country))
       OR EXISTS {{
         MATCH (n)-[:OFFERS]->(s:Service)
         WHERE {visible('s')}
           AND ($service_type IS NULL OR s.type = $service_type)
           AND ($group IS NULL OR NOT EXISTS {{ MATCH (s)-[:SERVES]->(:DefenderGroup) }}
                OR EXISTS {{ MATCH (s)-[:SERVES]->(g:DefenderGroup) WHERE g.code = $group }})
           AND ($country IS NULL OR EXISTS {{
                MATCH (s)-[:AVAILABLE_IN]->(p:Place) WHERE p.code IN $country_areas OR p.country = $country }}) }})
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

LINKS_FROM = cypher("records.links_from", f"""
UNWIND $ids AS oid
MATCH (a:Organisation {{id: oid}})-[l:{'|'.join(LINK_TYPES)}]->(b:Organisation)
WHERE {visible('a')} AND {visible('b')} AND (l.visibility IN $see OR $viewer_org IN [a.id, b.id])
RETURN type(l) AS type, a.id AS source, b.id AS target, properties(l) AS props
ORDER BY source, type, target, props.key
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
    total: int  # -1 when not counted
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
        """Upsert records inside the caller's transaction (see `writes.write_records`)."""
        return await write_records(self.graph, tx, self.directory_id, organisations, services, links, stamp)

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
            result = await self._page(viewer, where or OrganisationFilter(), page, after, count=False)
            if result.items:
                yield result.items
            if not result.has_next:
                return
            after = result.cursors[-1]

    async def _page(self, viewer: Viewer, where: OrganisationFilter, first: int, after: str | None,
                    count: bool = True) -> Page:
        after_name, after_id = _uncursor(after) if after else (None, None)
        params = dict(where.params(), **viewer.params)
        rows = await self.graph.read(LIST_ORGANISATIONS, after_name=after_name, after_id=after_id,
                                     limit=first + 1, **params)
        total = (await self.graph.read(COUNT_ORGANISATIONS, **params))[0]["total"] if count else -1
        items = [_organisation(r["n"], viewer) for r in rows[:first]]
        return Page(items=items, total=int(total), has_next=len(rows) > first,
                    cursors=[_cursor(r["n"]["name"], r["n"]["id"]) for r in rows[:first]])

    async def links_from(self, viewer: Viewer, organisation_ids: list[str]) -> list[Link]:
        """Links leaving these organisations that the viewer may see: the link itself and both ends.

        A member sees the links of its own organisation (its funding, say) whatever their visibility."""
        rows = await self.graph.read(LINKS_FROM, ids=organisation_ids, **viewer.params)
        return [Link(r["type"], r["source"], r["target"], Visibility(r["props"]["visibility"]),
                     r["props"].get("key") or "", {k: v for k, v in r["props"].items() if k in _LINK_FIELDS})
                for r in rows]

    async def services_of(self, viewer: Viewer, organisation_ids: list[str]) -> dict[str, list[Service]]:
        rows = await self.graph.read(SERVICES_OF, ids=organisation_ids, **viewer.params)
        out: dict[str, list[Service]] = {oid: [] for oid in organisation_ids}
        for r in rows:
            svc = _service(r["s"], viewer)
            out.setdefault(svc.organisation, []).append(svc)
        return out
