"""Everything that differs between the two servers, and nothing else.

The service writes Neo4j 5 Cypher for both. What cannot be shared:

- how to reach the server (a configured Neo4j, or the embedded ArcadeDB process we attach to);
- full-text indexes: Neo4j creates them in Cypher; ArcadeDB refuses `CREATE FULLTEXT INDEX` but makes
  the same Lucene index from its own SQL over its HTTP port, and names it after the type and
  properties. Queries are shared: `db.index.fulltext.queryNodes($index, ...)` with the name from
  `fulltext_index()`.
"""

from __future__ import annotations

import httpx

from directory.base.config import Settings
from directory.domain.errors import StoreError
from directory.store.engine import layout
from directory.store.engine.cypher import cypher
from directory.store.engine.embedded import EmbeddedStore
from directory.store.engine.graph import Graph

# label -> the properties its full-text index covers
FULLTEXT_FIELDS = {label: ("search_names", "search_description", "search_prefixes", "search_deletions")
                   for label in ("Organisation", "Service")}
# what the indexes covered before: up to schema version 11, then up to 13
FORMER_FIELDS = (("search_names", "description"), ("search_names", "description", "search_prefixes"))

_NEO4J_FULLTEXT = {
    "Organisation": cypher("backends.fulltext_organisation", """
CREATE FULLTEXT INDEX organisation_text IF NOT EXISTS
FOR (n:Organisation) ON EACH [n.search_names, n.search_description, n.search_prefixes, n.search_deletions]
"""),
    "Service": cypher("backends.fulltext_service", """
CREATE FULLTEXT INDEX service_text IF NOT EXISTS
FOR (n:Service) ON EACH [n.search_names, n.search_description, n.search_prefixes, n.search_deletions]
"""),
}
_NEO4J_DROP_FULLTEXT = [cypher("backends.drop_fulltext_organisation", "DROP INDEX organisation_text IF EXISTS"),
                        cypher("backends.drop_fulltext_service", "DROP INDEX service_text IF EXISTS")]


def connection(settings: Settings) -> tuple[str, tuple[str, str], str, EmbeddedStore | None]:
    """URI, credentials, database name, and the embedded process if there is one."""
    if settings.backend == "neo4j":
        return settings.neo4j_uri, (settings.neo4j_user, settings.neo4j_password), settings.neo4j_database, None
    embedded = EmbeddedStore(settings.data_dir.resolve(), heap=settings.store_heap, port=settings.store_port,
                             statement_timeout=settings.store_statement_timeout)
    embedded.attach()
    return embedded.uri, embedded.auth, layout.DATABASE, embedded


def fulltext_index(backend: str, label: str) -> str:
    if backend == "neo4j":
        return f"{label.lower()}_text"
    return f"{label}[{','.join(FULLTEXT_FIELDS[label])}]"


async def create_fulltext_indexes(graph: Graph, embedded: EmbeddedStore | None) -> None:
    if graph.backend == "neo4j":
        for statement in _NEO4J_FULLTEXT.values():
            await graph.write(statement)
        return
    if embedded is None:
        raise StoreError("creating the embedded store's full-text indexes needs its HTTP port")
    commands = []
    for label, fields in FULLTEXT_FIELDS.items():
        commands += [f"CREATE PROPERTY {label}.{f} IF NOT EXISTS STRING" for f in fields]
        commands.append(f"CREATE INDEX IF NOT EXISTS ON {label} ({', '.join(fields)}) FULL_TEXT")
    await _embedded_sql(embedded, commands)


async def replace_fulltext_indexes(graph: Graph, embedded: EmbeddedStore | None) -> None:
    """The full-text indexes as `FULLTEXT_FIELDS` says, in place of those of older schema versions
    (`FORMER_FIELDS`): dropped, then made again, so the server indexes every record anew."""
    if graph.backend == "neo4j":
        for statement in _NEO4J_DROP_FULLTEXT:
            await graph.write(statement)
    else:
        if embedded is None:
            raise StoreError("replacing the embedded store's full-text indexes needs its HTTP port")
        await _embedded_sql(embedded, [f"DROP INDEX `{label}[{','.join(fields)}]` IF EXISTS"
                                       for label in FULLTEXT_FIELDS for fields in FORMER_FIELDS])
    await create_fulltext_indexes(graph, embedded)


async def _embedded_sql(embedded: EmbeddedStore, commands: list[str]) -> None:
    url = f"http://127.0.0.1:{embedded.http_port}/api/v1/command/{layout.DATABASE}"
    async with httpx.AsyncClient(auth=embedded.auth, timeout=600) as client:
        for command in commands:
            response = await client.post(url, json={"language": "sql", "command": command})
            if response.status_code != 200:
                raise StoreError(f"the embedded store refused a full-text index command ({response.status_code}): "
                                 f"{response.json().get('detail', '')[:200]}")
