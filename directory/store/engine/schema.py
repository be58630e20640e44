"""Constraints, indexes and reference data, versioned so an existing data folder is upgraded in place.

`ensure_schema()` runs at every start. Each migration runs once, in order, and records its number
in the `SchemaVersion` node; statements use IF NOT EXISTS and MERGE so a migration interrupted
half-way is simply run again. Reference data (places, built-in taxonomy terms) is merged on every
start: it is small, and a newer pycountry or taxonomy then reaches old data folders too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from directory.base.clock import now
from directory.domain import places, taxonomy
from directory.domain.model import STATUS_ALIASES
from directory.store.engine.backends import create_fulltext_indexes, replace_fulltext_indexes
from directory.store.engine.cypher import cypher, service_map
from directory.store.engine.embedded import EmbeddedStore
from directory.store.engine.graph import Graph, Tx
from directory.store.federation import peers
from directory.store.federation.sameas import edges_to_decisions
from directory.store.records.writes import (
    CLEAR_IDENTIFIED,
    LINK_IDENTIFIED,
    ORGANISATION_CONTENT,
    ORIGIN_REACH,
    REACH,
    SERVICE_CONTENT,
    batches,
    derived_organisation,
    identifier_codes,
    name_words,
    search_fields,
    view_hashes,
)

READ_ORGANISATIONS = cypher("schema.read_organisations", """
MATCH (n:Organisation) WHERE $after IS NULL OR n.id > $after
RETURN n {.id, .name, .aliases, .description, .latitude, .longitude, .precision, .country, .subdivision} AS n
ORDER BY n.id LIMIT 5000
""")
SET_DERIVED = cypher("schema.set_derived", """
UNWIND $rows AS r
MATCH (n:Organisation {id: r.id})
SET n += r.derived
""")
SET_SERVICE_NAMES = cypher("schema.set_service_names", "MATCH (s:Service) SET s.search_names = s.name")


async def _derive_fields(graph: Graph, embedded: EmbeddedStore | None) -> None:
    """Search names and published points; recomputed when the rule for either changes (versions 2 and 4)."""
    after = None
    while rows := await graph.read(READ_ORGANISATIONS, after=after):
        await graph.write(SET_DERIVED, rows=[{"id": r["n"]["id"], "derived": derived_organisation(r["n"]["id"], r["n"])}
                                             for r in rows])
        after = rows[-1]["n"]["id"]
    await graph.write(SET_SERVICE_NAMES)


# The countries whose representative points version 23 moved (tools/country_points.py).
MOVED_POINTS = ("AX", "CK", "CV", "FJ", "FK", "FO", "KI", "KM", "MH", "MO", "MP", "MV", "MY", "NZ", "PF", "PH", "PM",
                "PN", "PT", "SH", "TK", "TO", "TV", "VG", "VI", "VU", "WF", "WS")
READ_MOVED = cypher("schema.read_moved_points", """
MATCH (n:Organisation) WHERE n.country IN $countries
RETURN n {.id, .name, .latitude, .longitude, .precision, .country, .subdivision} AS n
""")
SET_MOVED = cypher("schema.set_moved_points", """
UNWIND $rows AS r
MATCH (n:Organisation {id: r.id})
SET n.pub_latitude = r.latitude, n.pub_longitude = r.longitude, n.pub_subdivision = r.subdivision
WITH n WHERE n.feed_seq IS NULL
SET n.public_updated_at = $now, n.network_updated_at = $now
""")


async def _moved_points(graph: Graph, embedded: EmbeddedStore | None) -> None:
    """Records in a country whose point moved: their published point derived again; ours changed in
    every view, as a write would change them, so the next publish cycle gives them new entries."""
    rows = []
    for r in await graph.read(READ_MOVED, countries=list(MOVED_POINTS)):
        derived = derived_organisation(r["n"]["id"], r["n"])
        rows.append({"id": r["n"]["id"], "latitude": derived["pub_latitude"], "longitude": derived["pub_longitude"],
                     "subdivision": derived["pub_subdivision"]})
    for i in range(0, len(rows), 2000):
        await graph.write(SET_MOVED, rows=rows[i:i + 2000], now=now())


LIVE_LINKS = cypher("schema.live_links", """
MATCH (f:FeedRecord)
WHERE f.live AND f.key CONTAINS '/link/'
RETURN f.key AS key
""")
LINKS_HELD = cypher("schema.links_held", """
UNWIND $rows AS r
OPTIONAL MATCH (:Organisation {id: r.source})-[l]->(:Organisation {id: r.target})
WHERE type(l) = r.type AND coalesce(l.key, '') = r.key
WITH r, count(l) AS held
WHERE held = 0
MERGE (t:Tombstone {key: 'link/' + r.type + '/' + r.source + '/' + r.target + '/' + r.key})
ON CREATE SET t.kind = 'link', t.id = 'link/' + r.type + '/' + r.source + '/' + r.target + '/' + r.key,
              t.revision = 1, t.deleted_at = $now, t.publisher = r.publisher
""")


async def _links_of_deleted_organisations(graph: Graph, embedded: EmbeddedStore | None) -> None:
    """Links deleted with their organisation before they were tombstoned (`edits.TOMBSTONE_LINKS_OF`)
    stayed live in the feeds: each gets its tombstone now, which the next publish cycle carries.
    A link's feed id is `source TYPE target key`; its publisher is its source's directory."""
    held = {r["key"].split("/", 2)[2] for r in await graph.read(LIVE_LINKS)}  # one link, live in both logs
    listed = []
    for record in sorted(held):
        source, kind, target, key = [*record.split(" ", 3), ""][:4]
        listed.append({"source": source, "type": kind, "target": target, "key": key,
                       "publisher": source.rpartition(":")[0]})
    for i in range(0, len(listed), 2000):
        await graph.write(LINKS_HELD, rows=listed[i:i + 2000], now=now())


SEARCH_NAMES = {label: cypher(f"schema.search_names_{label.lower()}",
                               f"MATCH (n:{label}) RETURN n.id AS id, coalesce(n.search_names, '') AS names, "
                               "n.description AS description, n.name AS name, coalesce(n.aliases, []) AS aliases")
                for label in ("Organisation", "Service")}
SET_SEARCH_WORDS = {label: cypher(f"schema.set_search_words_{label.lower()}", f"""
UNWIND $rows AS r
MATCH (n:{label} {{id: r.id}})
SET n.search_prefixes = r.fields.search_prefixes, n.search_deletions = r.fields.search_deletions,
    n.search_description = r.fields.search_description, n.name_words = r.name_words
""") for label in ("Organisation", "Service")}


async def _search_words(graph: Graph, embedded: EmbeddedStore | None) -> None:
    """The words search asks that are derived from each record's names and description
    (`writes.search_fields`: the starts of words, version 12, short words too, 13, and words less one
    letter, the description's words split as a query is and the names' words lowered as the server
    lowers them, 14; Latin letters without their accents and two words as one, 19; a script's marks
    kept in its words, Arabic's and Hebrew's optional vowels left out, 20; the aliases' part
    bounded, 24). One read per
    label: pages by id would make the store sort what follows each page again."""
    for label in ("Organisation", "Service"):
        # a record's name words are its name's and its aliases' (a service has none; its search names
        # add what it pays for, which is not its name), as `writes` derives them
        rows = [{"id": r["id"], "fields": search_fields(r["names"], r["description"]),
                 "name_words": name_words(r["name"], *r["aliases"])}
                for r in await graph.read_plain(SEARCH_NAMES[label])]
        for batch in batches(rows):
            await graph.write(SET_SEARCH_WORDS[label], rows=batch)


# what `place_codes.place_codes` writes, from the relationships themselves, a part at a time
PLACE_CODES_PART = 20_000
SET_PLACE_CODES = cypher("schema.set_place_codes", """
MATCH (s:Service) WHERE s.coverage_codes IS NULL OR s.origin_codes IS NULL
WITH s LIMIT $part
SET s.coverage_codes = reduce(t = '', c IN [(s)-[a:AVAILABLE_IN]->(p:Place) WHERE a.presence IS NOT NULL
                                           | '|' + p.code + ' ' + a.presence] | t + c),
    s.origin_codes = reduce(t = '', c IN [(s)-[:TAKES_FROM]->(p:Place) | '|' + p.code] | t + c)
RETURN count(s) AS n
""")


# The services whose public view lost their origins with their shelter's place (version 21): a new
# public revision and time, so the public feed carries the view without them (and purges the bodies
# it served with them, `feeds.append`).
ORIGINS_WITHHELD = cypher("schema.origins_withheld", """
MATCH (o:Organisation {place_withheld: true})-[:OFFERS]->(s:Service)
WHERE coalesce(s.origin_codes, '') <> ''
SET s.public_revision = coalesce(s.public_revision, s.revision, 0) + 1, s.public_updated_at = $now
""")


async def _origins_withheld(graph: Graph, embedded: EmbeddedStore | None) -> None:
    await graph.write(ORIGINS_WITHHELD, now=now())


COUNT_SERVICES = cypher("schema.count_services", "MATCH (s:Service) RETURN count(s) AS n")

# what `writes.LINK_COVERAGE` and `writes.LINK_ORIGINS` write beside each AVAILABLE_IN and TAKES_FROM, again
# from the relationships, a page of services at a time: a page's old twins are taken away first, so a
# page run twice holds them once
REACHES_PAGE = 5000
SERVICE_PAGE = cypher("schema.service_page", """
MATCH (s:Service) WHERE $after IS NULL OR s.id > $after
RETURN s.id AS id ORDER BY id LIMIT $page
""")
SET_REACHES = cypher("schema.set_reaches", """
UNWIND $ids AS sid
MATCH (s:Service {id: sid})
OPTIONAL MATCH (s)-[old:REACHES]->()
DELETE old
WITH DISTINCT s
MATCH (s)-[a:AVAILABLE_IN]->(p:Place)""" + REACH)
SET_ORIGIN_REACHES = cypher("schema.set_origin_reaches", """
UNWIND $ids AS sid
MATCH (s:Service {id: sid})-[:TAKES_FROM]->(p:Place)""" + ORIGIN_REACH)
PAYING_PAGE = cypher("schema.paying_page", """
MATCH (s:Service) WHERE size(coalesce(s.purposes, [])) > 0 AND ($after IS NULL OR s.id > $after)
RETURN s.id AS id ORDER BY id LIMIT $page
""")

# the services with a place in a subdivision (a subdivision's code holds a hyphen, as do a few named
# regions' codes: their services are remade alike), whose twins reach their country's nodes since version 18
WITHIN_PAGE = cypher("schema.within_page", """
MATCH (s:Service) WHERE (s.coverage_codes CONTAINS '-' OR s.origin_codes CONTAINS '-')
  AND ($after IS NULL OR s.id > $after)
RETURN s.id AS id ORDER BY id LIMIT $page
""")


async def _reaches(graph: Graph, embedded: EmbeddedStore | None) -> None:
    """Each service's REACHES twins of its AVAILABLE_IN relationships (version 16, `writes.REACH`)."""
    await _twins(graph, SERVICE_PAGE)


async def _paying_reaches(graph: Graph, embedded: EmbeddedStore | None) -> None:
    """The twins again for the services paying for other types, which now reach those types' nodes too
    (version 17); no other service's twins change."""
    await _twins(graph, PAYING_PAGE)


async def _within_reaches(graph: Graph, embedded: EmbeddedStore | None) -> None:
    """The twins again for the services available in a subdivision or taking defenders from one, which
    now reach their country's nodes of what lies inside it too (version 18); no other service's twins change."""
    await _twins(graph, WITHIN_PAGE)


async def _twins(graph: Graph, page: str) -> None:
    after = None
    while ids := [r["id"] for r in await graph.read(page, after=after, page=REACHES_PAGE)]:
        await graph.write(SET_REACHES, ids=ids)  # takes every old twin away, then makes those of AVAILABLE_IN
        await graph.write(SET_ORIGIN_REACHES, ids=ids)
        after = ids[-1]


async def _place_codes(graph: Graph, embedded: EmbeddedStore | None) -> None:
    """Each service's coverage and origins as one string each (version 15, `place_codes.place_codes`). A
    relationship without a presence (no write makes one) is left out rather than nulling the string,
    which the next part would then pick again; the parts are bounded by the services there are."""
    services = (await graph.read(COUNT_SERVICES))[0]["n"]
    for _ in range(services // PLACE_CODES_PART + 1):
        if not (await graph.write(SET_PLACE_CODES, part=PLACE_CODES_PART))[0]["n"]:
            break


VIEWS_ORGANISATIONS = cypher("schema.views_organisations", """
MATCH (n:Organisation) WHERE $after IS NULL OR n.id > $after
RETURN n {.*} AS n
ORDER BY n.id LIMIT 2000
""")
VIEWS_SERVICES = cypher("schema.views_services", f"""
MATCH (n:Service) WHERE $after IS NULL OR n.id > $after
RETURN {service_map('n')} AS n
ORDER BY n.id LIMIT 2000
""")
SET_VIEWS = {label: cypher(f"schema.set_views_{label.lower()}", f"""
UNWIND $rows AS r
MATCH (n:{label} {{id: r.id}})
SET n += r.derived, n.network_hash = r.views.network, n.public_hash = r.views.public,
    n.unplaced_hash = r.views.unplaced,
    n.network_revision = n.revision, n.public_revision = n.revision,
    n.network_updated_at = n.updated_at, n.public_updated_at = n.updated_at
""") for label in ("Organisation", "Service")}


async def _views(graph: Graph, embedded: EmbeddedStore | None) -> None:
    """Per-view hashes, revisions and times (version 7), and the published subdivision. Records
    written before have no history per view: each view starts at the record's own revision."""
    for label, query in (("Organisation", VIEWS_ORGANISATIONS), ("Service", VIEWS_SERVICES)):
        after = None
        while rows := await graph.read(query, after=after):
            out = []
            for r in rows:
                n = r["n"]
                if label == "Organisation":
                    content = {k: n.get(k) for k in ORGANISATION_CONTENT}
                    out.append({"id": n["id"], "views": view_hashes("organisation", n["id"], content),
                                "derived": derived_organisation(n["id"], content)})
                else:
                    content = {k: n.get(k) for k in SERVICE_CONTENT}
                    content.update(coverage=sorted(f"{c['place']}/{c['presence']}" for c in n["coverage"]),
                                   groups=sorted(n["groups"]))
                    out.append({"id": n["id"], "views": view_hashes("service", n["id"], content),
                                "derived": {"name_words": name_words(n.get("name") or "")}})
            await graph.write(SET_VIEWS[label], rows=out)
            after = rows[-1]["n"]["id"]


IDENTIFIERS_AFTER = cypher("schema.identifiers_after", """
MATCH (n:Organisation) WHERE ($after IS NULL OR n.id > $after)
RETURN n.id AS id, coalesce(n.identifiers, []) AS identifiers
ORDER BY n.id LIMIT 5000
""")


async def _identifier_nodes(graph: Graph, embedded: EmbeddedStore | None) -> None:
    """Identifiers as nodes (version 6), for organisations written before writes kept them; linked as
    every write links them (cleared first, so a migration run twice links each once)."""
    after = None
    while rows := await graph.read(IDENTIFIERS_AFTER, after=after):
        async def work(tx: Tx, rows: list[dict[str, Any]] = rows) -> None:
            await graph.run(tx, CLEAR_IDENTIFIED, ids=[r["id"] for r in rows])
            await graph.run(tx, LINK_IDENTIFIED, rows=[{"id": r["id"], "code": c}
                                                       for r in rows for c in identifier_codes(r["identifiers"])])

        await graph.write_tx(work)
        after = rows[-1]["id"]


STATUS_WORDS = cypher("schema.status_words", """
UNWIND $words AS w
MATCH (s:Service) WHERE s.status = w.old
SET s.status = w.new
""")


async def _status_words(graph: Graph, embedded: EmbeddedStore | None) -> None:
    """Version 10: the status words of HSDS and earlier files as ours (inactive is paused...)."""
    await graph.write(STATUS_WORDS, words=[{"old": old, "new": new.value} for old, new in STATUS_ALIASES.items()])


# What we read of logs of peers removed before version 9, whose removal left it behind.
FORGET_CURSORS = cypher("schema.forget_cursors", """
MATCH (n) WHERE n:PeerFeed OR n:PeerRecord
DETACH DELETE n
""")


async def _received_again(graph: Graph, embedded: EmbeddedStore | None) -> None:
    """Records received from peers before they were checked as imports are (version 9) are
    forgotten with the cursors that took them, so the next sync takes each peer's log again from
    its start, through those checks. The pinned roots stay: trust is not reset, only what was read."""
    for peer in await peers.all_peers(graph):
        await peers.purge(graph, peer.id)
    await graph.write(FORGET_CURSORS)


Step = str | Callable[[Graph, EmbeddedStore | None], Awaitable[Any]]

MIGRATIONS: list[list[Step]] = [
    [  # 1: the first graph
        cypher("schema.org_id", "CREATE CONSTRAINT organisation_id IF NOT EXISTS "
                                "FOR (n:Organisation) REQUIRE n.id IS UNIQUE"),
        cypher("schema.service_id", "CREATE CONSTRAINT service_id IF NOT EXISTS "
                                    "FOR (n:Service) REQUIRE n.id IS UNIQUE"),
        cypher("schema.place_code", "CREATE CONSTRAINT place_code IF NOT EXISTS "
                                    "FOR (n:Place) REQUIRE n.code IS UNIQUE"),
        cypher("schema.term_key", "CREATE CONSTRAINT term_key IF NOT EXISTS "
                                  "FOR (n:Term) REQUIRE n.key IS UNIQUE"),
        cypher("schema.org_kind", "CREATE INDEX organisation_kind IF NOT EXISTS FOR (n:Organisation) ON (n.kind)"),
        cypher("schema.org_name", "CREATE INDEX organisation_name IF NOT EXISTS FOR (n:Organisation) ON (n.name)"),
        cypher("schema.org_country", "CREATE INDEX organisation_country IF NOT EXISTS "
                                     "FOR (n:Organisation) ON (n.country)"),
        cypher("schema.org_lat", "CREATE INDEX organisation_latitude IF NOT EXISTS "
                                 "FOR (n:Organisation) ON (n.latitude)"),
        cypher("schema.org_lon", "CREATE INDEX organisation_longitude IF NOT EXISTS "
                                 "FOR (n:Organisation) ON (n.longitude)"),
        cypher("schema.org_updated", "CREATE INDEX organisation_updated IF NOT EXISTS "
                                     "FOR (n:Organisation) ON (n.updated_at)"),
        cypher("schema.service_type", "CREATE INDEX service_type IF NOT EXISTS FOR (n:Service) ON (n.type)"),
        cypher("schema.service_org", "CREATE INDEX service_organisation IF NOT EXISTS "
                                     "FOR (n:Service) ON (n.organisation)"),
    ],
    [  # 2: search, proximity, sorting by update, tokens and tombstones
        cypher("schema.org_pub_lat", "CREATE INDEX organisation_pub_latitude IF NOT EXISTS "
                                     "FOR (n:Organisation) ON (n.pub_latitude)"),
        cypher("schema.service_updated", "CREATE INDEX service_updated IF NOT EXISTS "
                                         "FOR (n:Service) ON (n.updated_at)"),
        cypher("schema.token_id", "CREATE CONSTRAINT token_id IF NOT EXISTS FOR (n:ApiToken) REQUIRE n.id IS UNIQUE"),
        cypher("schema.token_hash", "CREATE INDEX token_hash IF NOT EXISTS FOR (n:ApiToken) ON (n.hash)"),
        cypher("schema.tombstone_key", "CREATE CONSTRAINT tombstone_key IF NOT EXISTS "
                                       "FOR (n:Tombstone) REQUIRE n.key IS UNIQUE"),
        create_fulltext_indexes,
        _derive_fields,
    ],
    [  # 3: need indicators
        cypher("schema.indicator_key", "CREATE CONSTRAINT indicator_key IF NOT EXISTS "
                                       "FOR (n:Indicator) REQUIRE n.key IS UNIQUE"),
    ],
    [  # 4: published points shown inside their cell and place, no longer at the cell's centre
        _derive_fields,
    ],
    [  # 5: federation roots of trust
        cypher("schema.root_version", "CREATE CONSTRAINT federation_root_version IF NOT EXISTS "
                                      "FOR (n:FederationRoot) REQUIRE n.version IS UNIQUE"),
    ],
    [  # 6: published feeds and the peers we pull from
        cypher("schema.feed_entry_key", "CREATE CONSTRAINT feed_entry_key IF NOT EXISTS "
                                        "FOR (n:FeedEntry) REQUIRE n.key IS UNIQUE"),
        cypher("schema.feed_entry_record", "CREATE INDEX feed_entry_record IF NOT EXISTS "
                                           "FOR (n:FeedEntry) ON (n.record)"),
        cypher("schema.feed_record_key", "CREATE CONSTRAINT feed_record_key IF NOT EXISTS "
                                         "FOR (n:FeedRecord) REQUIRE n.key IS UNIQUE"),
        cypher("schema.feed_head", "CREATE CONSTRAINT feed_head_audience IF NOT EXISTS "
                                   "FOR (n:FeedHead) REQUIRE n.audience IS UNIQUE"),
        cypher("schema.peer_id", "CREATE CONSTRAINT peer_id IF NOT EXISTS FOR (n:Peer) REQUIRE n.id IS UNIQUE"),
        cypher("schema.peer_feed_key", "CREATE CONSTRAINT peer_feed_key IF NOT EXISTS "
                                       "FOR (n:PeerFeed) REQUIRE n.key IS UNIQUE"),
        cypher("schema.peer_record_key", "CREATE CONSTRAINT peer_record_key IF NOT EXISTS "
                                         "FOR (n:PeerRecord) REQUIRE n.key IS UNIQUE"),
        cypher("schema.org_identifier", "CREATE CONSTRAINT org_identifier_code IF NOT EXISTS "
                                        "FOR (n:OrgIdentifier) REQUIRE n.code IS UNIQUE"),
        _identifier_nodes,
        cypher("schema.org_publisher", "CREATE INDEX organisation_publisher IF NOT EXISTS "
                                       "FOR (n:Organisation) ON (n.publisher)"),
        cypher("schema.service_publisher", "CREATE INDEX service_publisher IF NOT EXISTS "
                                           "FOR (n:Service) ON (n.publisher)"),
    ],
    [  # 7: a revision and update time per view; the published subdivision; name words for search
        _views,
    ],
    [  # 8: a steward's same-as decisions as nodes keyed by the pair, outliving a purge of either record
        cypher("schema.same_as_decision_key", "CREATE CONSTRAINT same_as_decision_key IF NOT EXISTS "
                                              "FOR (n:SameAsDecision) REQUIRE n.key IS UNIQUE"),
        cypher("schema.same_as_decision_a", "CREATE INDEX same_as_decision_a IF NOT EXISTS "
                                            "FOR (n:SameAsDecision) ON (n.a)"),
        cypher("schema.same_as_decision_b", "CREATE INDEX same_as_decision_b IF NOT EXISTS "
                                            "FOR (n:SameAsDecision) ON (n.b)"),
        edges_to_decisions,
    ],
    [  # 9: what peers sent before it was checked as an import is, taken again (after 8: the decisions
        _received_again,  # about those records outlive their purge)
    ],
    [  # 10: a service is active, paused or closed (the words HSDS and earlier files use, mapped);
        # how to ask, verification, purposes and origins are new properties, empty until given
        _status_words,
        cypher("schema.service_status", "CREATE INDEX service_status IF NOT EXISTS FOR (n:Service) ON (n.status)"),
    ],
    [  # 11: requests to be listed, seen only by stewards until one decides (`records/joining.py`)
        cypher("schema.join_request_id", "CREATE CONSTRAINT join_request_id IF NOT EXISTS "
                                         "FOR (n:JoinRequest) REQUIRE n.id IS UNIQUE"),
        cypher("schema.join_request_status", "CREATE INDEX join_request_status IF NOT EXISTS "
                                             "FOR (n:JoinRequest) ON (n.status)"),
        cypher("schema.join_request_client", "CREATE INDEX join_request_client IF NOT EXISTS "
                                             "FOR (n:JoinRequest) ON (n.client)"),
        cypher("schema.join_key", "CREATE CONSTRAINT join_key_name IF NOT EXISTS "
                                  "FOR (n:JoinKey) REQUIRE n.name IS UNIQUE"),
    ],
    [  # 12: the starts of names' words as words of their own, so search asks exact terms, not prefix terms
        _search_words,
        replace_fulltext_indexes,
    ],
    [  # 13: short words whole among the starts too, split as a query is ("l'Homme" holds `l` and `homme`)
        _search_words,
    ],
    [  # 14: names' words less one letter, so a typo is found with exact terms, not fuzzy ones; the
        # description's words split as a query is, indexed in place of the description
        _search_words,
        replace_fulltext_indexes,
    ],
    [  # 15: each service's coverage and origins as strings, read by the gap matrix and the coverage map
        _place_codes,
    ],
    [  # 16: a node per place and service type, reached by the services of that type available there
        cypher("schema.reach_key", "CREATE CONSTRAINT reach_key IF NOT EXISTS FOR (n:Reach) REQUIRE n.key IS UNIQUE"),
        _reaches,
    ],
    [  # 17: a grant's service reaches the nodes of the types it pays for too, so a listing by type starts there
        _paying_reaches,
    ],
    [  # 18: a service in a subdivision reaches its country's node of the type for what lies inside it too
        _within_reaches,
    ],
    [  # 19: search's words without the accents of Latin letters, and a name's two neighbouring words as
        # one ("frontline"), as people often type them
        _search_words,
    ],
    [  # 20: a word keeps its script's marks ("मानवाधिकार" was five words), and Arabic and Hebrew lose
        # the vowel marks most writers leave out
        _search_words,
    ],
    [  # 21: a service's origins are withheld with its shelter's place: the public feed says so again
        _origins_withheld,
    ],
    [  # 22: no session key in the graph: a read of the store must not make a session (`records/tokens.py`
        # keeps it in a file); one a build of the same day wrote there is removed
        cypher("schema.no_session_key", "MATCH (k:SessionKey) DETACH DELETE k"),
    ],
    [  # 23: countries' points moved on earth and into their country (Fiji's lay at 195.3 E): the
        # published points there derived again, and our records there changed for every view, so the
        # feeds carry them
        _moved_points,
    ],
    [  # 24: what a record's aliases add to search (starts of words, words less a letter) is bounded
        # (`writes.DERIVED_MAX`): a peer's record of fifty aliases had made megabytes of them
        _search_words,
    ],
    [  # 25: links deleted with their organisation were never tombstoned: our feeds served them as live
        _links_of_deleted_organisations,
    ],
]

VERSION = len(MIGRATIONS)

# Steps that derive properties of records from their content (not indexes, not reference data).
# Each derives with today's code, so one that several versions name runs once in an upgrade.
_RECORD_STEPS = (_derive_fields, _identifier_nodes, _views, _status_words, _search_words, _place_codes, _reaches,
                 _paying_reaches, _within_reaches)


async def upgrade_records(graph: Graph, since: int) -> None:
    """Derive what migrations after version `since` derive for records, for records written as
    they were then (a restored backup from an older version)."""
    done: set[Step] = set()
    for number in range(since + 1, VERSION + 1):
        for step in MIGRATIONS[number - 1]:
            if not isinstance(step, str) and step in _RECORD_STEPS and step not in done:
                done.add(step)
                await step(graph, None)

GET_VERSION = cypher("schema.get_version", "MATCH (v:SchemaVersion {key: 'schema'}) RETURN v.version AS version")
SET_VERSION = cypher("schema.set_version",
                     "MERGE (v:SchemaVersion {key: 'schema'}) SET v.version = $version RETURN v.version AS version")
COUNT_PLACES = cypher("schema.count_places", "MATCH (p:Place) RETURN count(p) AS n")
MERGE_PLACES = cypher("schema.merge_places", """
UNWIND $rows AS r
MERGE (p:Place {code: r.code})
SET p.name = r.name, p.kind = r.kind, p.country = r.country, p.region = r.region,
    p.subregion = r.subregion, p.latitude = r.latitude, p.longitude = r.longitude, p.parent = r.parent
""")
# A place's one parent: a country placed under an intermediate region since they were added
# leaves the sub-region it was part of.
LINK_PARENTS = cypher("schema.link_parents", """
UNWIND $rows AS r
MATCH (s:Place {code: r.code})
OPTIONAL MATCH (s)-[old:PART_OF]->(o:Place) WHERE o.code <> r.parent
DELETE old
WITH DISTINCT s, r
MATCH (c:Place {code: r.parent})
MERGE (s)-[:PART_OF]->(c)
""")
# Built-in terms take this program's label and definition; a steward's own terms keep theirs.
MERGE_TERMS = cypher("schema.merge_terms", """
UNWIND $rows AS r
MERGE (t:Term {key: r.key})
ON CREATE SET t.scheme = r.scheme, t.code = r.code, t.built_in = true
WITH t, r WHERE t.built_in
SET t.label = r.label, t.description = r.description
""")
LABEL_GROUPS = cypher("schema.label_groups",
                      "MATCH (t:Term {scheme: 'defender-group'}) WHERE NOT t:DefenderGroup SET t:DefenderGroup")


async def schema_version(graph: Graph) -> int:
    rows = await graph.read(GET_VERSION)
    return int(rows[0]["version"]) if rows else 0


async def ensure_schema(graph: Graph, embedded: EmbeddedStore | None = None) -> int:
    """Bring the graph up to `VERSION`; returns the version it was at before."""
    before = await schema_version(graph)
    if before > VERSION:
        from directory.domain.errors import StoreError

        raise StoreError(f"the data folder has schema version {before}, newer than this program's {VERSION}; "
                         "upgrade Protection Directory before opening it")
    done: set[Step] = set()
    for number in range(before + 1, VERSION + 1):
        for step in MIGRATIONS[number - 1]:
            if isinstance(step, str):
                await graph.write(step)
            elif step not in _RECORD_STEPS or step not in done:
                done.add(step)
                await step(graph, embedded)
        await graph.write(SET_VERSION, version=number)
    await _seed_reference_data(graph)
    return before


async def _seed_reference_data(graph: Graph) -> None:
    everything = places.all_places()
    if (await graph.read(COUNT_PLACES))[0]["n"] != len(everything):
        rows = [p.__dict__ for p in everything]
        for i in range(0, len(rows), 2000):
            await graph.write(MERGE_PLACES, rows=rows[i:i + 2000])
        parents = [{"code": p.code, "parent": p.parent} for p in everything if p.parent]
        for i in range(0, len(parents), 2000):
            await graph.write(LINK_PARENTS, rows=parents[i:i + 2000])
    await graph.write(MERGE_TERMS, rows=[
        {"key": f"{t.scheme}/{t.code}", "scheme": t.scheme, "code": t.code, "label": t.label,
         "description": t.description} for t in taxonomy.BUILT_IN])
    await graph.write(LABEL_GROUPS)
