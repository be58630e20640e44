"""Each service's coverage and origins are also kept as one string each (`place_codes.place_codes`), which
the gap matrix and the coverage map read: they must say what the relationships say, after every write,
after migration 15 fills them in for a data folder from before, and after a restore."""

from __future__ import annotations

import json

import pytest

from directory.domain.viewer import STEWARD
from directory.jobs.gaps import GapQuestion, coverage_gaps
from directory.store import Store
from directory.store.backup import dump, restore
from directory.store.engine import schema
from directory.store.engine.schema import SET_VERSION, ensure_schema
from tests.conftest import WIPE
from tests.helpers import load, org, service

pytestmark = pytest.mark.anyio

AS_RELATIONSHIPS = """
MATCH (s:Service)
RETURN s.id AS id, s.coverage_codes AS coverage, s.origin_codes AS origins,
       [(s)-[a:AVAILABLE_IN]->(p:Place) | p.code + ' ' + a.presence] AS available_in,
       [(s)-[:TAKES_FROM]->(p:Place) | p.code] AS takes_from
ORDER BY id
"""


async def _agree(store: Store) -> dict[str, tuple[list[str], list[str]]]:
    """Every service's strings against its relationships; what they hold, by service."""
    out = {}
    for r in await store.graph.read(AS_RELATIONSHIPS):
        coverage, origins = sorted(r["coverage"].split("|")[1:]), sorted(r["origins"].split("|")[1:])
        assert (coverage, origins) == (sorted(r["available_in"]), sorted(r["takes_from"])), r["id"]
        out[r["id"]] = (coverage, origins)
    return out


async def _seed(store: Store) -> None:
    await load(store, [org("a"), org("b", **{"#country+code": "KE"})], [
        service("near", "a", **{"#country+code+present": "CO", "#country+code+remote": "419"}),
        service("far", "b", "relocation-regional", **{"#country+code+present": "KE", "#country+code+origin": "UG"}),
        service("none", "b", "medical-care", **{"#country+code+present": ""})])


async def test_the_strings_say_what_the_relationships_say_after_each_write(store: Store) -> None:
    await _seed(store)
    assert await _agree(store) == {"test:far": (["KE present"], ["UG"]),
                                   "test:near": (["419 remote", "CO present"], []), "test:none": ([], [])}
    # coverage changed, origins added, then taken away again
    await load(store, [org("a"), org("b", **{"#country+code": "KE"})], [
        service("near", "a", **{"#country+code+present": "MX", "#country+code+remote": ""}),
        service("far", "b", "relocation-regional", **{"#country+code+present": "KE", "#country+code+origin": ""}),
        service("none", "b", "medical-care", **{"#country+code+present": "", "#country+code+origin": "CO"})])
    assert await _agree(store) == {"test:far": (["KE present"], []), "test:near": (["MX present"], []),
                                   "test:none": ([], ["CO"])}


async def test_a_data_folder_from_version_14_gets_them_and_the_same_gap_matrix(store: Store) -> None:
    await _seed(store)
    question = GapQuestion(codes=["CO", "KE", "UG", "MX"])
    before = await coverage_gaps(store, STEWARD, question)
    await store.graph.write("MATCH (s:Service) REMOVE s.coverage_codes, s.origin_codes")
    await store.graph.write(SET_VERSION, version=14)
    assert await ensure_schema(store.graph, store.embedded) == 14
    await _agree(store)
    after = await coverage_gaps(store, STEWARD, question)
    assert [(c.place, c.service_type, list(c.present), list(c.remote), c.score) for c in after.cells] == [
        (c.place, c.service_type, list(c.present), list(c.remote), c.score) for c in before.cells]
    ugandan = next(c for c in after.cells if (c.place, c.service_type) == ("UG", "relocation-regional"))
    assert list(ugandan.present) == ["test:b"]  # the relocation service counts where defenders come from


async def test_the_migration_goes_a_part_at_a_time_past_a_relationship_with_no_presence(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    await _seed(store)
    await store.graph.write("MATCH (s:Service) REMOVE s.coverage_codes, s.origin_codes")
    # a relationship with no presence (no write makes one) is left out, not a string left null that
    # every part would pick first again
    await store.graph.write("MATCH (:Service {id: 'test:near'})-[a:AVAILABLE_IN]->(:Place {code: '419'}) "
                            "REMOVE a.presence")
    monkeypatch.setattr(schema, "PLACE_CODES_PART", 1)
    await store.graph.write(SET_VERSION, version=14)
    assert await ensure_schema(store.graph, store.embedded) == 14
    rows = await store.graph.read("MATCH (s:Service) RETURN s.id AS id, s.coverage_codes AS codes ORDER BY id")
    assert [(r["id"], r["codes"]) for r in rows] == [("test:far", "|KE present"), ("test:near", "|CO present"),
                                                     ("test:none", "")]


def _as_version_14(lines: list[str]) -> list[str]:
    """The same backup as version 14 wrote it: no place strings, header schema 14."""
    out = []
    for n, text in enumerate(lines):
        obj = json.loads(text)
        if n == 0:
            obj["schema"] = 14
        elif "service" in obj and "end" not in obj:
            obj["service"].pop("coverage_codes")
            obj["service"].pop("origin_codes")
        out.append(json.dumps(obj))
    return out


@pytest.mark.parametrize("old", [False, True])
async def test_a_restore_of_this_version_or_of_one_before_leaves_them_agreeing(store: Store, old: bool) -> None:
    await _seed(store)
    written = await _agree(store)
    lines = [line async for line in dump(store.graph, store.directory_id)]
    services = [json.loads(line)["service"] for line in lines[1:-1] if '"service":' in line]  # not the end line
    assert services and all("coverage_codes" in s and "origin_codes" in s for s in services)  # dumped with them
    await store.graph.write(WIPE)
    await restore(store.graph, store.directory_id, _as_version_14(lines) if old else lines, "backup.jsonl")
    assert await _agree(store) == written
