"""The one door: a steward's job answers that include restricted records leave the same audit lines
as reading those records through GraphQL (who, read, kind, ids), and the public leaves none."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from directory.base import budget
from directory.base.audit import read_all
from directory.base.config import Settings
from directory.domain.errors import BadArgument
from directory.domain.model import Indicator, Visibility
from directory.domain.viewer import ANONYMOUS, Viewer
from directory.jobs import gaps, partners, referrals
from directory.jobs.gaps import GapQuestion, coverage_gaps
from directory.jobs.partners import PartnerQuestion, find_partners
from directory.jobs.referrals import Question, referral_paths
from directory.store import Store
from tests.helpers import Api, load, org, refers, service, split_in

pytestmark = pytest.mark.anyio

STEWARD_TOKEN = Viewer("steward", who="token:steward-1")
FUNDS = {"#rel+type": "FUNDS", "#org+id+source": "test:donor", "#org+id+target": "test:secret",
         "#meta+visibility": "restricted", "#value": "5000", "#currency": "EUR", "#date+year": "2026"}


async def seed(store: Store) -> None:
    await load(store, [
        org("ingo", **{"#org+type": "international-ngo"}), org("a"),
        org("secret", **{"#meta+visibility": "restricted"}), org("donor", **{"#org+type": "donor"}),
    ], [
        service("secret-s", "secret", **{"#meta+visibility": "restricted"}),
        service("a-s", "a", **{"#meta+visibility": "restricted"}),
        service("ingo-med", "ingo", "medical-care"),
    ], [refers("ingo", "secret", 1, 1.0, visibility="restricted"), refers("ingo", "a", 2, 0.9), FUNDS])


def since(settings: Settings, before: int) -> list[dict[str, Any]]:
    return read_all(settings.data_dir / "audit")[before:]


def lines(entries: list[dict[str, Any]], viewer: Viewer) -> set[tuple[str, str, str]]:
    """(action, kind, id) for every id the viewer was noted reading."""
    return {(e["action"], e["kind"], i) for e in entries if e["who"] == viewer.who for i in e["ids"]}


async def graphql_lines(store: Store, settings: Settings, viewer: Viewer) -> set[tuple[str, str, str]]:
    """The lines the record reads GraphQL resolves through leave for the same records."""
    before = len(read_all(settings.data_dir / "audit"))
    await store.organisations_by_id(viewer, ["test:secret", "test:a"])
    await store.services_by_id(viewer, ["test:secret-s", "test:a-s"])
    await store.links_of(viewer, ["test:secret"], "in")
    return lines(since(settings, before), viewer)


def over_budget(*_: object) -> object:
    """A job's pure part running out of time after the store's reads."""
    raise budget.OverBudget(1.0)


async def test_referral_paths_note_the_restricted_records_they_read(store: Store, settings: Settings) -> None:
    await seed(store)
    before = len(read_all(settings.data_dir / "audit"))
    found = await referral_paths(store, STEWARD_TOKEN, Question("legal-aid", "CO", "test:ingo", k=5, max_hops=2))
    assert ("test:ingo", "test:secret") in [p.organisations for p in found]
    noted = lines(since(settings, before), STEWARD_TOKEN)
    expected = {("read", "organisation", "test:secret"), ("read", "service", "test:secret-s"),
                ("read", "link", "test:ingo REFERS_TO test:secret")}
    assert expected <= noted
    assert expected <= await graphql_lines(store, settings, STEWARD_TOKEN)


async def test_the_gap_matrix_notes_the_restricted_providers_and_funding_it_read(store: Store,
                                                                                 settings: Settings) -> None:
    await seed(store)
    before = len(read_all(settings.data_dir / "audit"))
    matrix = await coverage_gaps(store, STEWARD_TOKEN, GapQuestion(codes=["CO"], service_types=["legal-aid"]))
    assert "test:secret" in matrix.cells[0].present + matrix.cells[0].remote
    noted = lines(since(settings, before), STEWARD_TOKEN)
    expected = {("read", "organisation", "test:secret"), ("read", "service", "test:secret-s"),
                ("read", "link", "test:donor FUNDS test:secret 2026")}
    assert {("read", "organisation", "test:secret"), ("read", "service", "test:secret-s")} <= noted
    assert any(kind == "link" and i.startswith("test:donor FUNDS test:secret") for _, kind, i in noted)
    graphql = await graphql_lines(store, settings, STEWARD_TOKEN)
    assert {x for x in expected if x[1] != "link"} <= graphql
    assert {i for _, kind, i in noted if kind == "link"} <= {i for _, kind, i in graphql if kind == "link"}


async def test_a_gap_matrix_whose_fold_fails_notes_no_funding_it_read(store: Store, settings: Settings,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    await seed(store)
    # the funding is read while the fold runs; the fold fails, so the viewer is given none of it
    monkeypatch.setattr(gaps, "matrix_cells", over_budget)
    before = len(read_all(settings.data_dir / "audit"))
    with pytest.raises(budget.OverBudget):
        await coverage_gaps(store, STEWARD_TOKEN, GapQuestion(codes=["CO"], service_types=["legal-aid"]))
    await asyncio.sleep(1.0)  # the funding read, left running, finishes
    assert not lines(since(settings, before), STEWARD_TOKEN)  # neither the funding nor the providers it read


async def test_a_gap_matrix_read_in_parts_leaves_one_line_per_kind(store: Store, settings: Settings,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    await seed(store)
    # restricted records in both parts: the secret organisation offers one of each type
    await load(store, [], [service("secret-med", "secret", "medical-care", **{"#meta+visibility": "restricted"})], [])
    monkeypatch.setattr(gaps, "in_parts", split_in(2))
    before = len(read_all(settings.data_dir / "audit"))
    await coverage_gaps(store, STEWARD_TOKEN, GapQuestion(codes=["CO"], service_types=["legal-aid", "medical-care"]))
    entries = since(settings, before)
    assert sorted(e["kind"] for e in entries) == ["link", "organisation", "service"]
    assert {"test:secret-s", "test:secret-med"} <= {i for e in entries if e["kind"] == "service" for i in e["ids"]}


async def test_partners_note_the_restricted_candidates_they_read(store: Store, settings: Settings) -> None:
    await seed(store)
    before = len(read_all(settings.data_dir / "audit"))
    found = await find_partners(store, STEWARD_TOKEN, PartnerQuestion(organisation="test:ingo", country="CO"))
    assert "test:secret" in [p.organisation for p in found]
    noted = lines(since(settings, before), STEWARD_TOKEN)
    expected = {("read", "organisation", "test:secret"), ("read", "service", "test:secret-s"),
                ("read", "service", "test:a-s")}
    assert expected <= noted
    assert expected <= await graphql_lines(store, settings, STEWARD_TOKEN)


@pytest.mark.parametrize("job", ["partners", "referrals"])
async def test_an_answer_that_fails_after_its_reads_notes_none_of_them(store: Store, settings: Settings,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       job: str) -> None:
    await seed(store)
    # the candidates or the referral graph are read, then the scoring runs out of time: the viewer is
    # given nothing, so the log must not say it read the restricted records behind the answer
    before = len(read_all(settings.data_dir / "audit"))
    with pytest.raises(budget.OverBudget):
        if job == "partners":
            monkeypatch.setattr(partners, "_first", over_budget)
            await find_partners(store, STEWARD_TOKEN, PartnerQuestion(organisation="test:ingo", country="CO"))
        else:
            monkeypatch.setattr(referrals, "best_chains", over_budget)
            await referral_paths(store, STEWARD_TOKEN, Question("legal-aid", "CO", "test:ingo", k=5, max_hops=2))
    assert not lines(since(settings, before), STEWARD_TOKEN)


@pytest.mark.parametrize("job", ["partners", "gaps"])
async def test_an_error_about_the_asker_or_the_donor_still_notes_that_it_was_read(store: Store, settings: Settings,
                                                                                   job: str) -> None:
    await seed(store)
    # the restricted organisation asks with a radius but publishes no point, or is the donor of a matrix
    # asked with an unknown indicator: the error is about it, or comes once it was found, so the viewer
    # learnt of it and the log says so
    before = len(read_all(settings.data_dir / "audit"))
    with pytest.raises(BadArgument, match="radiusKm" if job == "partners" else "indicators"):
        if job == "partners":
            await find_partners(store, STEWARD_TOKEN, PartnerQuestion(organisation="test:secret", radius_km=100.0))
        else:
            await coverage_gaps(store, STEWARD_TOKEN, GapQuestion(codes=["CO"], donor="test:secret",
                                                                  indicators=["no-such-indicator"]))
    noted = lines(since(settings, before), STEWARD_TOKEN)
    assert ("read", "organisation", "test:secret") in noted
    assert ("read", "service", "test:secret-s") not in noted  # its services told nothing: no answer was given


async def test_a_referral_answer_leaves_one_line_per_kind(store: Store, settings: Settings) -> None:
    await seed(store)
    await load(store, [org("vetter", **{"#meta+visibility": "restricted"})], [],
               [{"#rel+type": "VETTED_BY", "#org+id+source": "test:secret", "#org+id+target": "test:vetter",
                 "#meta+visibility": "restricted"}])
    before = len(read_all(settings.data_dir / "audit"))
    found = await referral_paths(store, STEWARD_TOKEN, Question("legal-aid", "CO", "test:ingo", k=5, max_hops=2))
    assert ("test:ingo", "test:secret") in [p.organisations for p in found]
    entries = [e for e in since(settings, before) if e["who"] == STEWARD_TOKEN.who]
    kinds = [e["kind"] for e in entries]
    assert sorted(kinds) == sorted(set(kinds))  # the graph and the vetters read, noted together
    assert "test:vetter" in {i for e in entries if e["kind"] == "organisation" for i in e["ids"]}


async def test_the_public_asking_the_same_leaves_no_line_and_sees_no_restricted_record(store: Store,
                                                                                       settings: Settings) -> None:
    await seed(store)
    before = len(read_all(settings.data_dir / "audit"))
    matrix = await coverage_gaps(store, ANONYMOUS, GapQuestion(codes=["CO"], service_types=["legal-aid"]))
    assert "test:secret" not in matrix.cells[0].present + matrix.cells[0].remote
    assert since(settings, before) == []


async def test_a_steward_token_over_graphql_leaves_the_same_lines_for_a_referral_chain(
        store: Store, settings: Settings, api: Api) -> None:
    await seed(store)
    token_id, token = await store.tokens.create("steward", None)
    before = len(read_all(settings.data_dir / "audit"))
    data = await api.data('{ referralPaths(from: "test:ingo", serviceType: "legal-aid", country: "CO", k: 5, '
                          'maxHops: 2) { organisations { id } } }', token)
    assert any(o["id"] == "Organisation:test:secret" for p in data["referralPaths"] for o in p["organisations"])
    noted = {(e["action"], e["kind"], i) for e in since(settings, before) if e["who"] == f"token:{token_id}"
             for i in e["ids"]}
    assert {("read", "organisation", "test:secret"), ("read", "link", "test:ingo REFERS_TO test:secret")} <= noted


async def test_a_referral_answer_and_the_names_it_shows_leave_one_line_per_kind_on_every_channel(
        store: Store, settings: Settings, api: Api, live_server: Any) -> None:
    """A hand-worked check: one referral answer wrote the restricted organisation twice, once for
    the chains and again when the names were looked up (CLI, GraphQL and pages alike)."""
    await seed(store)
    token_id, token = await store.tokens.create("steward", None)
    who = f"token:{token_id}"

    def kinds(entries: list[dict[str, Any]]) -> list[str]:
        return sorted(e["kind"] for e in entries if e["who"] == who)

    before = len(read_all(settings.data_dir / "audit"))
    await api.data('{ referralPaths(from: "test:ingo", serviceType: "legal-aid", country: "CO", k: 5, maxHops: 2) '
                   '{ organisations { id name } services { id name } } }', token)
    over_graphql = kinds(since(settings, before))
    assert "organisation" in over_graphql and over_graphql == sorted(set(over_graphql))

    before = len(read_all(settings.data_dir / "audit"))
    async with httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        page = await client.post("/referrals", data={"from": "test:ingo", "serviceType": "legal-aid",
                                                     "country": "CO"})
    assert page.status_code == 200 and "Secret" in page.text
    on_the_page = kinds(since(settings, before))
    assert "organisation" in on_the_page and on_the_page == sorted(set(on_the_page))


async def test_reads_inside_an_answer_are_noted_once_it_is_given_and_not_if_it_fails(store: Store,
                                                                                     settings: Settings) -> None:
    await seed(store)
    other = Viewer("steward", who="token:steward-2")
    before = len(read_all(settings.data_dir / "audit"))
    with store.answer(STEWARD_TOKEN):
        # a task started inside holds the answer too; another viewer's read is its own, noted at once
        await asyncio.ensure_future(store.organisations_by_id(STEWARD_TOKEN, ["test:secret"]))
        await store.services_by_id(STEWARD_TOKEN, ["test:secret-s"])
        await store.organisations_by_id(STEWARD_TOKEN, ["test:secret"])
        await store.organisations_by_id(other, ["test:secret"])
        assert [e["who"] for e in since(settings, before)] == [other.who]
    entries = [e for e in since(settings, before) if e["who"] == STEWARD_TOKEN.who]
    assert sorted((e["kind"], e["ids"]) for e in entries) == [("organisation", ["test:secret"]),
                                                             ("service", ["test:secret-s"])]

    before = len(read_all(settings.data_dir / "audit"))
    with pytest.raises(budget.OverBudget), store.answer(STEWARD_TOKEN):
        await store.organisations_by_id(STEWARD_TOKEN, ["test:secret"])
        raise budget.OverBudget(1.0)
    assert since(settings, before) == []


async def test_a_restricted_need_indicator_leaves_a_line_when_written_and_when_a_job_reads_it(
        store: Store, settings: Settings) -> None:
    """A hand-worked scenario: a restricted indicator weighed a steward's gap score, and neither its
    import nor that read left a line, as a restricted record's would."""
    await seed(store)
    secret = Indicator("informant-risk", "CO", 2026, 7.0, "a source to protect", Visibility.RESTRICTED)
    open_figure = Indicator("civic-space", "CO", 2026, 3.0, "a public index", Visibility.PUBLIC)
    before = len(read_all(settings.data_dir / "audit"))
    await store.write_indicators([secret, open_figure], STEWARD_TOKEN)
    assert lines(since(settings, before), STEWARD_TOKEN) == {("change", "indicator", secret.key)}
    before = len(read_all(settings.data_dir / "audit"))
    await coverage_gaps(store, STEWARD_TOKEN, GapQuestion(codes=["CO"], service_types=["legal-aid"]))
    noted = lines(since(settings, before), STEWARD_TOKEN)
    assert ("read", "indicator", secret.key) in noted and ("read", "indicator", open_figure.key) not in noted
    # made public, its change is noted once more (restricted before); then no longer
    before = len(read_all(settings.data_dir / "audit"))
    await store.write_indicators([replace(secret, visibility=Visibility.PUBLIC)], STEWARD_TOKEN)
    await store.write_indicators([replace(secret, visibility=Visibility.PUBLIC, value=8.0)], STEWARD_TOKEN)
    assert [e["ids"] for e in since(settings, before)] == [[secret.key]]
    before = len(read_all(settings.data_dir / "audit"))  # the public, asking the same, leaves none
    await coverage_gaps(store, ANONYMOUS, GapQuestion(codes=["CO"], service_types=["legal-aid"]))
    assert since(settings, before) == []


@pytest.mark.pure
def test_an_audit_line_cut_short_by_a_full_disk_leaves_the_others_readable(tmp_path: Path) -> None:
    """A crash read: a full disk cut an import's audit line; the next line was appended to it, and
    `directory audit` failed on it every time after."""
    from directory.base.audit import AuditLog, read_counted

    log = AuditLog(tmp_path)
    log.record(STEWARD_TOKEN, "change", "service", ["test:a"])
    with open(log.path, "a", encoding="utf-8") as f:
        f.write('{"at": "2026-12-06T10:00:00Z", "who": "token:steward-1", "ids": ["test:b", "te')  # the disk full
    log.record(STEWARD_TOKEN, "read", "organisation", ["test:c"])
    entries, unreadable = read_counted(tmp_path)
    assert [e["ids"] for e in entries] == [["test:a"], ["test:c"]] and unreadable == 1
