"""Schema set-up is idempotent, upgrades an old data folder in place, and refuses a newer one."""

from __future__ import annotations

import pytest

from directory.domain.errors import StoreError
from directory.store import Store
from directory.store.engine.schema import SET_VERSION, VERSION, ensure_schema, schema_version

pytestmark = pytest.mark.anyio


async def test_ensure_schema_is_idempotent(store: Store) -> None:
    assert await ensure_schema(store.graph, store.embedded) == VERSION
    assert await ensure_schema(store.graph, store.embedded) == VERSION
    indexes = await store.graph.read("SHOW INDEXES")
    assert len({i["name"] for i in indexes}) == len(indexes)


async def test_an_old_data_folder_is_upgraded_in_place(store: Store) -> None:
    await store.graph.write(SET_VERSION, version=0)
    assert await ensure_schema(store.graph, store.embedded) == 0
    assert await schema_version(store.graph) == VERSION
    names = {i["name"] for i in await store.graph.read("SHOW INDEXES")} | {
        c["name"] for c in await store.graph.read("SHOW CONSTRAINTS")}
    assert {"organisation_id", "service_id", "organisation_kind", "service_type"} <= names


async def test_a_newer_data_folder_is_refused(store: Store) -> None:
    await store.graph.write(SET_VERSION, version=VERSION + 1)
    try:
        with pytest.raises(StoreError, match="newer than this program"):
            await ensure_schema(store.graph, store.embedded)
    finally:
        await store.graph.write(SET_VERSION, version=VERSION)


async def test_reference_data_is_present(store: Store) -> None:
    rows = await store.graph.read("MATCH (p:Place {code: 'CO-ANT'})-[:PART_OF]->(c:Place) "
                                  "RETURN c.code AS country, c.region AS region, c.subregion AS subregion")
    assert rows == [{"country": "CO", "region": "Americas", "subregion": "Latin America and the Caribbean"}]
    vocab = await store.vocabulary()
    assert vocab.has("service-type", "relocation-abroad") and vocab.has("defender-group", "lgbtiq")


async def test_a_folder_written_before_intermediate_regions_gets_them_and_one_parent_a_place(store: Store) -> None:
    """A data folder from before M49's intermediate regions (Kenya part of Sub-Saharan Africa, no
    Eastern Africa) is given them when opened, each country moved under its own, never under two."""
    await store.graph.write("MATCH (p:Place) WHERE p.kind = 'intermediate' DETACH DELETE p")
    await store.graph.write("MATCH (k:Place {code: 'KE'}), (s:Place {code: '202'}) MERGE (k)-[:PART_OF]->(s)")
    await ensure_schema(store.graph, store.embedded)
    parents = await store.graph.read("MATCH (p:Place)-[:PART_OF]->(c:Place) WHERE p.code IN ['KE', '014', 'FR'] "
                                     "RETURN p.code AS place, c.code AS parent ORDER BY place")
    assert parents == [{"place": "014", "parent": "202"}, {"place": "FR", "parent": "155"},
                       {"place": "KE", "parent": "014"}]
    several = await store.graph.read("MATCH (p:Place)-[:PART_OF]->(c:Place) WITH p, count(c) AS n WHERE n > 1 "
                                     "RETURN p.code AS code")
    assert several == []


async def test_an_upgrade_derives_search_words_again_with_todays_rules(store: Store) -> None:
    """Version 19 finds Latin letters without their accents: a record written before it is found so
    once its folder is upgraded, as a record written after it is."""
    from directory.domain.viewer import STEWARD
    from tests.helpers import load, org

    await load(store, [org("rio", "Colectivo Río Claro")])
    await store.graph.write("MATCH (o:Organisation {id: 'test:rio'}) SET o.search_prefixes = 'cla clar claro col "
                            "cole colec colect colecti colectiv colectivo río', o.name_words = ['claro', 'colectivo', "
                            "'río']")
    await store.graph.write(SET_VERSION, version=18)
    assert not (await store.search(STEWARD, "rio claro", ("organisation",), 5)).hits
    assert await ensure_schema(store.graph, store.embedded) == 18
    assert [h.id for h in (await store.search(STEWARD, "rio claro", ("organisation",), 5)).hits] == ["test:rio"]
