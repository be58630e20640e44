"""Area-wide services in the gap matrix, read through the store for each role.

The matrix folds services reaching a region or the world once per set of areas (`jobs.gap_cells`) and
reads the offers as one list per field: an area-wide service must still count in every country it
reaches, once per provider, and one the viewer may not see must never count, nor change anything
else in the answer."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from directory.domain import places
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from directory.jobs.gaps import GapMatrix, GapQuestion, coverage_gaps
from directory.store import Store
from tests.helpers import load, org, service

pytestmark = pytest.mark.anyio

RECENT = (date.today() - timedelta(days=10)).isoformat()
LATIN_AMERICA = [c for c in places.within("419")[1] if c not in places.UNPEOPLED]
QUESTION = GapQuestion(region="419", service_types=["legal-aid", "emergency-grant"])
MEMBER = Viewer("member", "test:local", "t")


def checked(oid: str, **fields: object) -> dict[str, object]:
    row = org(oid)
    row.update({"#date+verified": RECENT, **fields})
    return row


def reaching(sid: str, oid: str, where: str, kind: str = "legal-aid", **fields: object) -> dict[str, object]:
    return service(sid, oid, kind, **{"#country+code+present": "", "#country+code+remote": where, **fields})


async def seed_visible(store: Store) -> None:
    await load(store, [checked("fund", **{"#org+type": "donor", "#country+code": "NO"}),
                       checked("net", **{"#org+type": "regional-network", "#country+code": "MX"}),
                       checked("local")], [
        reaching("fund-grant", "fund", "world", "emergency-grant"),
        reaching("fund-legal", "fund", "world"),
        reaching("net-legal", "net", "419"),
        # named by Colombia and reaching the world: local in Colombia, wide everywhere else
        service("local-legal", "local", **{"#country+code+remote": "world"}),
    ])


async def seed_hidden(store: Store) -> None:
    await load(store, [checked("secret", **{"#meta+visibility": "restricted", "#country+code": "CH",
                                             "#org+type": "international-ngo"}),
                       checked("members", **{"#meta+visibility": "network", "#country+code": "BR"})], [
        reaching("secret-legal", "secret", "world", **{"#meta+visibility": "restricted"}),
        reaching("members-legal", "members", "019", **{"#meta+visibility": "network"}),
        # a public provider's service only its network may see
        reaching("net-grant", "net", "419", "emergency-grant", **{"#meta+visibility": "network"}),
    ])


def providers(matrix: GapMatrix, service_type: str) -> dict[str, list[str]]:
    return {c.place: sorted(c.present + c.remote) for c in matrix.cells if c.service_type == service_type}


async def test_an_area_wide_service_counts_in_every_country_it_reaches(store: Store) -> None:
    await seed_visible(store)
    await seed_hidden(store)
    matrix = await coverage_gaps(store, STEWARD, QUESTION)
    legal, grants = providers(matrix, "legal-aid"), providers(matrix, "emergency-grant")
    assert sorted(legal) == sorted(LATIN_AMERICA)
    for country in LATIN_AMERICA:
        assert legal[country] == ["test:fund", "test:local", "test:members", "test:net", "test:secret"]
        assert grants[country] == ["test:fund", "test:net"]
    cells = {(c.place, c.service_type): c for c in matrix.cells}
    assert cells[("CO", "legal-aid")].local == ["test:local"]
    assert cells[("MX", "legal-aid")].local == [] and "test:local" in cells[("MX", "legal-aid")].wide


async def test_a_hidden_area_wide_service_never_counts_nor_changes_the_answer(store: Store) -> None:
    await seed_visible(store)
    before = {viewer: await coverage_gaps(store, viewer, QUESTION) for viewer in (ANONYMOUS, MEMBER)}
    await seed_hidden(store)
    public = await coverage_gaps(store, ANONYMOUS, QUESTION)
    assert public == before[ANONYMOUS]  # every cell, score, sum and flag as if the hidden services did not exist
    for country in LATIN_AMERICA:
        assert providers(public, "legal-aid")[country] == ["test:fund", "test:local", "test:net"]
        assert providers(public, "emergency-grant")[country] == ["test:fund"]
    member = await coverage_gaps(store, MEMBER, QUESTION)
    assert member != before[MEMBER]  # a member sees network services, never restricted ones
    for country in LATIN_AMERICA:
        assert providers(member, "legal-aid")[country] == ["test:fund", "test:local", "test:members", "test:net"]
        assert providers(member, "emergency-grant")[country] == ["test:fund", "test:net"]
