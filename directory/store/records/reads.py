"""The statements behind the door's record reads, and rows turned into records for a viewer.

Each statement applies the viewer in its `WHERE` (`engine.cypher.visible`); each row becomes a
record through `domain.fields.redact`, so what a viewer may not see of a record it may see is
emptied or published at its precision in one place (`directory/domain/fields.py`).
"""

from __future__ import annotations

from typing import Any

from directory.domain.fields import redact
from directory.domain.model import (
    LINK_PROPERTIES,
    LINK_TYPES,
    Coverage,
    Intake,
    Link,
    Location,
    Organisation,
    Precision,
    Presence,
    Provenance,
    Service,
    Status,
    Verification,
    Visibility,
    Window,
)
from directory.domain.viewer import Viewer
from directory.store.engine.cypher import cypher, link_visible, place_shown, service_map, visible

GET_ORGANISATIONS = cypher("records.get_organisations", f"""
UNWIND $ids AS wanted
MATCH (n:Organisation {{id: wanted}})
WHERE {visible('n')}
RETURN n {{.*}} AS n
""")
GET_SERVICES = cypher("records.get_services", f"""
UNWIND $ids AS wanted
MATCH (s:Service {{id: wanted}})<-[:OFFERS]-(o:Organisation)
WHERE {visible('o')} AND {visible('s')}
RETURN {service_map('s')} AS s, NOT {place_shown('o')} AS unplaced
""")
SERVICES_OF = cypher("records.services_of", f"""
UNWIND $ids AS oid
MATCH (o:Organisation {{id: oid}})-[:OFFERS]->(s:Service)
WHERE {visible('o')} AND {visible('s')}
RETURN {service_map('s')} AS s, NOT {place_shown('o')} AS unplaced
ORDER BY s.name, s.id
""")



def _links(pattern: str, order: str) -> str:
    return f"""
UNWIND $ids AS oid
MATCH {pattern}
WHERE {visible('a')} AND {visible('b')} AND {link_visible('l', 'a', 'b')}
RETURN type(l) AS type, a.id AS source, b.id AS target, properties(l) AS props
ORDER BY {order}, props.key
"""


_TYPES = "|".join(LINK_TYPES)
LINKS = {
    "out": cypher("records.links_from", _links(f"(a:Organisation {{id: oid}})-[l:{_TYPES}]->(b:Organisation)",
                                               "source, type, target")),
    # anchored on the known end, which ArcadeDB plans from only when it comes first (docs/store.md)
    "in": cypher("records.links_to", _links(f"(b:Organisation {{id: oid}})<-[l:{_TYPES}]-(a:Organisation)",
                                            "target, type, source")),
}
# one row of every term: ArcadeDB's Bolt costs about 0.05 ms a row (68 terms: 4.7 ms as rows, 2.3 as one)
TERMS = cypher("records.terms", "MATCH (t:Term) RETURN collect([t.scheme, t.code, t.label, t.description]) AS terms")
EXISTING_ORGANISATIONS = cypher("records.existing_organisations", """
UNWIND $ids AS wanted
MATCH (n:Organisation {id: wanted})
RETURN n.id AS id
""")
TERM = cypher("records.term", """
MATCH (t:Term {key: $key})
RETURN t.label AS label, t.description AS description, coalesce(t.built_in, false) AS built_in
""")
ADD_TERM = cypher("records.add_term", """
MERGE (t:Term {key: $key})
ON CREATE SET t.scheme = $scheme, t.code = $code, t.built_in = false
SET t.label = $label, t.description = $description
RETURN t.code AS code
""")

BEGIN_IMPORT = cypher("records.begin_import", """
CREATE (r:ImportRun {id: $id, sources: $sources, started_at: $now, state: 'running', sheltering: $sheltering})
""")
FINISH_IMPORT = cypher("records.finish_import", """
MATCH (r:ImportRun {id: $id})
SET r.state = 'finished', r.finished_at = $now
RETURN r.sources AS sources, r.started_at AS started_at
""")
SUPERSEDE_IMPORTS = cypher("records.supersede_imports", """
UNWIND $ids AS i
MATCH (r:ImportRun {id: i})
WHERE r.state = 'running'
SET r.state = 'superseded', r.superseded_by = $by, r.finished_at = $now
""")
EVER_USED = cypher("records.ever_used", """
OPTIONAL MATCH (o:Organisation) WITH o LIMIT 1
OPTIONAL MATCH (t:Tombstone) WITH o, t LIMIT 1
RETURN o IS NOT NULL OR t IS NOT NULL AS used
""")
UNFINISHED_IMPORTS = cypher("records.unfinished_imports", """
MATCH (r:ImportRun {state: 'running'})
RETURN r.id AS id, r.sources AS sources, r.started_at AS started_at
ORDER BY r.started_at
""")


def provenance_of(p: dict[str, Any], viewer: Viewer) -> Provenance:
    if p.get("feed_seq") is None:
        # per view: a change this viewer cannot see is no new revision to it (`writes.py`)
        view = viewer.view_of(p.get("owner") or p["id"])
        revision = p.get("revision") if view == "whole" else p.get(f"{view}_revision", p.get("revision"))
        updated = p.get("updated_at") if view == "whole" else p.get(f"{view}_updated_at", p.get("updated_at"))
        return Provenance(p.get("publisher") or "", int(revision or 0), updated or "")
    # merged from a peer: its revision is the publisher's, not our local write counter
    return Provenance(p.get("publisher") or "", int(p.get("feed_revision") or 0), p.get("updated_at") or "",
                      p.get("feed_audience"), int(p["feed_seq"]), p.get("feed_checkpoint"), p.get("fetched_at"),
                      bool(p.get("redistribute")), bool(p.get("feed_stale")))


def organisation_of(p: dict[str, Any], viewer: Viewer) -> Organisation:
    loc = Location(p.get("latitude"), p.get("longitude"), Precision(p.get("precision", "hidden")),
                   p.get("country"), p.get("subdivision"))
    whole = Organisation(
        id=p["id"], name=p["name"], kind=p["kind"], visibility=Visibility(p["visibility"]),
        aliases=list(p.get("aliases") or []), description=p.get("description") or "",
        website=p.get("website") or "", languages=list(p.get("languages") or []),
        contact_channels=list(p.get("contact_channels") or []),
        identifiers=list(p.get("identifiers") or []), location=loc, source=p.get("source") or "",
        verified=verification_of(p), provenance=provenance_of(p, viewer),
    )
    return redact(whole, viewer, bool(p.get("place_withheld")))


def verification_of(p: dict[str, Any]) -> Verification:
    return Verification(p.get("verified_on") or "", p.get("verified_by") or "", p.get("verified_source") or "")


def coverage_of(p: dict[str, Any]) -> list[Coverage]:
    return sorted((Coverage(c["place"], Presence(c["presence"])) for c in p.get("coverage") or []),
                  key=lambda c: (c.place, c.presence.value))


def service_of(p: dict[str, Any], viewer: Viewer, unplaced: bool = False) -> Service:
    """`unplaced`: the provider is a shelter whose place this viewer may not see, so neither may it
    see where the service works (`store.shelters`)."""
    whole = Service(
        id=p["id"], organisation=p["organisation"], name=p["name"], type=p["type"],
        visibility=Visibility(p["visibility"]), description=p.get("description") or "",
        eligibility=p.get("eligibility") or "", capacity=p.get("capacity"),
        capacity_unit=p.get("capacity_unit") or "", capacity_confirmed=p.get("capacity_confirmed") or "",
        response_hours=p.get("response_hours"), languages=list(p.get("languages") or []),
        cost=p.get("cost") or "", status=Status(p.get("status") or "active"),
        status_since=p.get("status_since") or "", status_reason=p.get("status_reason") or "",
        status_source=p.get("status_source") or "", coverage=coverage_of(p), origins=sorted(p.get("origins") or []),
        groups=sorted(p.get("groups") or []), purposes=list(p.get("purposes") or []),
        application_process=p.get("application_process") or "", intake=[Intake.of(i) for i in p.get("intake") or []],
        hours=p.get("hours") or "", windows=[Window.of(w) for w in p.get("windows") or []],
        intake_languages=list(p.get("intake_languages") or []), exclusions=p.get("exclusions") or "",
        verified=verification_of(p), provenance=provenance_of(p, viewer),
    )
    return redact(whole, viewer, unplaced)


def link_records(rows: list[dict[str, Any]]) -> list[Link]:
    """Links as read, each with the revision an edit or a removal of it must name (0 if it has none)."""
    return [Link(r["type"], r["source"], r["target"], Visibility(r["props"]["visibility"]),
                 r["props"].get("key") or "", {k: v for k, v in r["props"].items() if k in LINK_PROPERTIES},
                 int(r["props"].get("revision") or 0),
                 None if r["props"].get("redistribute") is None else bool(r["props"]["redistribute"]))
            for r in rows]
