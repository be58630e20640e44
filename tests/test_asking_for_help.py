"""A defender, or the group helping them, asks who can help today and how to ask (issue 16).

"Who can give an emergency grant or relocation to a journalist in Honduras this week, and how do I
ask?", asked anonymously through GraphQL and the CLI, names the public intake channel, never the
network-only one, and leaves out paused programmes and those outside their intake windows. A grant
that pays for relocation is found by a question about relocation.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from directory.domain.model import (
    Coverage,
    Intake,
    Organisation,
    Presence,
    Service,
    Status,
    Verification,
    Visibility,
    Window,
)
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from directory.store import Filter, PointFilter, Store
from directory.store.engine.schema import SET_VERSION, ensure_schema
from tests.helpers import Api
from tests.test_cli import run

pytestmark = pytest.mark.anyio
TODAY = "2026-12-01"
HOTLINE = "+00 000 000 101"
SIGNAL = "+00 000 000 111"


def _org(local: str, name: str, kind: str = "international-ngo") -> Organisation:
    return Organisation(f"test:{local}", name, kind, verified=Verification("2026-10-01", "a steward", "https://x"))


def _service(local: str, org: str, kind: str, places: list[str], **fields: object) -> Service:
    return Service(f"test:{local}", f"test:{org}", fields.pop("name", local.replace("-", " ").title()), kind,  # type: ignore[arg-type]
                   coverage=[Coverage(p, Presence.PRESENT) for p in places], **fields)  # type: ignore[arg-type]


async def _seed(store: Store) -> None:
    orgs = [_org("fund", "Open Fund"), _org("paused", "Paused Fund"), _org("host", "Isthmus Host", "host-programme"),
            _org("closed-call", "Closed Call Host", "host-programme"), _org("lawyers", "Lawyers Only")]
    services = [
        _service("fund-grant", "fund", "emergency-grant", ["001"], groups=["journalists", "women"],
                 purposes=["relocation-in-country", "medical-care"],
                 intake=[Intake("hotline", HOTLINE, Visibility.PUBLIC), Intake("signal", SIGNAL, Visibility.NETWORK)],
                 application_process="Call the hotline; a caseworker answers within a day.", hours="24/7",
                 intake_languages=["es", "mul"], exclusions="Does not fund defenders already in exile",
                 verified=Verification("2026-10-01", "a steward", "https://fund.example.org/grants")),
        _service("paused-grant", "paused", "emergency-grant", ["HN"], status=Status.PAUSED, status_since="2025-01-24",
                 status_reason="funding halted", intake=[Intake("email", "paused@example.org", Visibility.PUBLIC)]),
        _service("host-relocation", "host", "relocation-regional", ["CR"], origins=["central-america"],
                 windows=[Window("2026-11-15", "2026-12-15", "winter call")],
                 intake=[Intake("web-form", "https://host.example.org/apply", Visibility.PUBLIC)]),
        _service("closed-call", "closed-call", "relocation-regional", ["CR"], origins=["HN"],
                 windows=[Window("2027-03-01", "2027-03-31", "spring call")]),
        _service("lawyers-grant", "lawyers", "emergency-grant", ["HN"], groups=["lawyers-judges"]),
    ]
    await store.upsert(orgs, services, [])


QUESTION = """query($f: ListFilter) { services(filter: $f, first: 50) { edges { node {
  recordId name status takingRequests(on: "2026-12-01") applicationProcess hours exclusions intakeLanguages
  purposes origins intake { kind value visibility } intakeWindows { opens closes note } verified { on by }
  organisation { name } } } } }"""


async def _ask(api: Api, token: str | None = None, **where: object) -> dict[str, dict[str, object]]:
    found = await api.data(QUESTION, token=token, f={"country": "HN", "group": "journalists", "takingRequests": True,
                                                     "today": TODAY, **where})
    return {e["node"]["recordId"]: e["node"] for e in found["services"]["edges"]}


async def test_an_anonymous_defender_in_honduras_learns_who_can_help_this_week_and_how_to_ask(
        store: Store, api: Api) -> None:
    await _seed(store)
    grants = await _ask(api, serviceType="emergency-grant")
    assert list(grants) == ["test:fund-grant"]  # not the paused fund, not the lawyers' grant
    grant = grants["test:fund-grant"]
    assert grant["intake"] == [{"kind": "hotline", "value": HOTLINE, "visibility": "PUBLIC"}]  # never the Signal
    assert grant["applicationProcess"].startswith("Call the hotline") and grant["hours"] == "24/7"
    assert grant["exclusions"] == "Does not fund defenders already in exile"
    assert grant["takingRequests"] is True and grant["verified"] == {"on": "2026-10-01", "by": "a steward"}

    relocation = await _ask(api, serviceType="relocation-regional")
    assert list(relocation) == ["test:host-relocation"]  # the spring call is not open this week
    assert relocation["test:host-relocation"]["intakeWindows"] == [
        {"opens": "2026-11-15", "closes": "2026-12-15", "note": "winter call"}]
    assert relocation["test:host-relocation"]["origins"] == ["central-america"]
    # the closed call is found without the week's condition, and says it is not taking requests
    every = await _ask(api, serviceType="relocation-regional", takingRequests=None)
    assert every["test:closed-call"]["takingRequests"] is False


async def test_a_question_about_relocation_finds_the_grant_that_pays_for_it(store: Store, api: Api) -> None:
    await _seed(store)
    found = await _ask(api, serviceType="relocation-in-country")
    assert list(found) == ["test:fund-grant"]
    assert found["test:fund-grant"]["purposes"] == ["relocation-in-country", "medical-care"]
    page = await store.list_services(ANONYMOUS, Filter(service_type="medical-care"))
    assert [s.id for s in page.items] == ["test:fund-grant"]
    hits = await api.data('{ search(text: "relocation", kinds: [SERVICE]) { edges { service { recordId } } } }')
    assert "test:fund-grant" in [e["service"]["recordId"] for e in hits["search"]["edges"]]


async def test_a_paused_programme_is_found_when_asked_for_and_says_why(store: Store, api: Api) -> None:
    await _seed(store)
    found = await api.data('{ services(filter: {status: "paused"}) { edges { node { recordId status statusSince '
                           'statusReason takingRequests } } } }')
    assert [e["node"] for e in found["services"]["edges"]] == [
        {"recordId": "test:paused-grant", "status": "paused", "statusSince": "2025-01-24",
         "statusReason": "funding halted", "takingRequests": False}]


async def test_a_network_member_sees_the_network_intake_channel_and_the_public_does_not(
        store: Store, api: Api) -> None:
    await _seed(store)
    _, token = await store.tokens.create("member", "test:lawyers", "a member")
    member = await _ask(api, token=token, serviceType="emergency-grant")
    assert {i["value"] for i in member["test:fund-grant"]["intake"]} == {HOTLINE, SIGNAL}
    anonymous = await _ask(api, serviceType="emergency-grant")
    assert SIGNAL not in str(anonymous)


async def test_the_cli_answers_the_same_question_for_the_public(store: Store, data_dir: Path, tmp_path: Path) -> None:
    await _seed(store)
    ask = ("services", "--service-type", "emergency-grant", "--country", "HN", "--group", "journalists",
           "--taking-requests", "--today", TODAY, "--csv", str(tmp_path / "help.csv"))
    done = await asyncio.to_thread(run, *ask, data=data_dir, columns=200)
    assert "Open Fund" in done.stdout and HOTLINE in done.stdout
    assert "Paused Fund" not in done.stdout and "Lawyers Only" not in done.stdout
    assert SIGNAL not in done.stdout and SIGNAL not in (tmp_path / "help.csv").read_text()
    assert "Call the hotline" in (tmp_path / "help.csv").read_text()
    relocation = await asyncio.to_thread(run, "services", "--service-type", "relocation-in-country", "--country", "HN",
                                         "--taking-requests", data=data_dir, columns=200)
    assert "Open Fund" in relocation.stdout


async def test_a_data_folder_from_before_keeps_its_services_and_reads_their_old_status_words(store: Store) -> None:
    await _seed(store)
    await store.graph.write("MATCH (s:Service {id: 'test:paused-grant'}) SET s.status = 'temporarily closed'")
    await store.graph.write("MATCH (s:Service {id: 'test:lawyers-grant'}) SET s.status = 'defunct'")
    await store.graph.write("MATCH (s:Service {id: 'test:closed-call'}) SET s.status = 'inactive'")
    await store.graph.write(SET_VERSION, version=9)  # before migration 10, which reads the old words
    assert await ensure_schema(store.graph, store.embedded) == 9
    found = await store.services_by_id(STEWARD, ["test:paused-grant", "test:lawyers-grant", "test:closed-call",
                                                     "test:fund-grant"])
    assert {k: s.status for k, s in found.items()} == {
        "test:paused-grant": Status.PAUSED, "test:lawyers-grant": Status.CLOSED, "test:closed-call": Status.PAUSED,
        "test:fund-grant": Status.ACTIVE}
    assert found["test:fund-grant"].intake[1].value == SIGNAL  # nothing recorded before is lost


async def test_an_unchanged_record_written_again_keeps_its_revision(store: Store) -> None:
    await _seed(store)
    before = await store.services_by_id(STEWARD, ["test:fund-grant"])
    await _seed(store)
    after = await store.services_by_id(STEWARD, ["test:fund-grant"])
    assert after["test:fund-grant"].provenance == before["test:fund-grant"].provenance



async def test_a_map_popup_says_how_to_ask_as_the_viewer_may_see_it(store: Store) -> None:
    await _seed(store)
    await store.graph.write("MATCH (o:Organisation) SET o.country = 'HN', o.precision = 'country'")
    member = Viewer("member", "test:lawyers", "t")
    seen = {v.role: {p.id: p.intake for p in (await store.map_points(v, PointFilter())).points}
            for v in (ANONYMOUS, member)}
    assert seen["anonymous"]["test:fund"] == [f"hotline: {HOTLINE}"]
    assert seen["member"]["test:fund"] == [f"hotline: {HOTLINE}", f"signal: {SIGNAL}"]
    assert seen["anonymous"]["test:paused"] == []  # a paused programme is no way to ask


WRITE = """mutation($org: ID!, $input: ServiceInput!) { createService(organisation: $org, input: $input) {
  service { id recordId status intake { kind value visibility } intakeWindows { opens closes note } purposes origins
            verified { on by source } provenance { revision } }
  errors { code field reason } } }"""
UPDATE = """mutation($id: ID!, $revision: Int!, $input: ServiceInput!) { updateService(id: $id, revision: $revision,
  input: $input) { service { status statusSince intake { value } hours } errors { code field reason } } }"""


async def test_a_member_records_how_to_ask_and_an_update_keeps_what_it_leaves_out(store: Store, api: Api) -> None:
    await _seed(store)
    _, token = await store.tokens.create("member", "test:lawyers", "a member")
    made = (await api.data(WRITE, token=token, org="test:lawyers", input={
        "name": "Grants", "type": "emergency-grant", "presentIn": ["HN"], "purposes": ["legal-aid"],
        "origins": ["central-america"], "hours": "Mon-Fri",
        "intake": [{"kind": "hotline", "value": HOTLINE, "visibility": "PUBLIC"}, {"kind": "signal", "value": SIGNAL}],
        "windows": [{"opens": "2026-11-01", "note": "rolling"}]}))
    service = made["createService"]["service"]
    assert made["createService"]["errors"] == [] and service["status"] == "active"
    assert service["intake"] == [{"kind": "hotline", "value": HOTLINE, "visibility": "PUBLIC"},
                                 {"kind": "signal", "value": SIGNAL, "visibility": "NETWORK"}]  # network unless said
    assert service["intakeWindows"] == [{"opens": "2026-11-01", "closes": None, "note": "rolling"}]
    assert service["purposes"] == ["legal-aid"] and service["origins"] == ["central-america"]
    # who checked it and when is a steward's word (a member's own would read as an independent check)
    _, steward = await store.tokens.create("steward", None, "a steward")
    checked = (await api.data(UPDATE, token=steward, id=service["id"], revision=service["provenance"]["revision"],
                              input={"verifiedOn": "2026-11-30", "verifiedBy": "a steward",
                                     "verifiedSource": "https://lawyers.example.org"}))["updateService"]
    assert checked["errors"] == []
    updated = (await api.data(UPDATE, token=token, id=service["id"], revision=service["provenance"]["revision"] + 1,
                              input={"status": "paused", "statusSince": "2026-12-01"}))["updateService"]
    assert updated == {"service": {"status": "paused", "statusSince": "2026-12-01", "hours": "Mon-Fri",
                                   "intake": [{"value": HOTLINE}, {"value": SIGNAL}]}, "errors": []}
    refused = (await api.data(WRITE, token=token, org="test:lawyers", input={
        "name": "Bad", "type": "emergency-grant", "intake": [{"kind": "pigeon", "value": "x"}],
        "windows": [{"opens": "2026-12-10", "closes": "2026-12-01"}], "intakeLanguages": ["klingon"],
        "purposes": ["teleportation"]}))["createService"]
    assert refused["service"] is None
    assert {e["field"] for e in refused["errors"]} == {"intake", "windows", "intakeLanguages", "purposes"}


ORGANISATIONS = """query($f: ListFilter) { organisations(filter: $f, first: 50) { edges { node { recordId } } } }"""


@pytest.mark.parametrize("asked,expected", [
    # this week's relocation: the host whose winter call is open, not the one whose call opens in spring
    ({"serviceType": "relocation-regional", "takingRequests": True, "today": TODAY}, ["test:host"]),
    # in Honduras: the worldwide grant, the lawyers', and the host taking defenders from Central America
    ({"takingRequests": True, "today": TODAY, "country": "HN"}, ["test:fund", "test:host", "test:lawyers"]),
    ({"takingRequests": False, "today": TODAY, "country": "HN"}, ["test:closed-call", "test:paused"]),
    ({"status": "paused"}, ["test:paused"]),
    # one organisation: itself, when it meets the other filters; nobody else, and nothing when it does not
    ({"organisation": "test:host"}, ["test:host"]),
    ({"organisation": "test:host", "country": "HN", "takingRequests": True, "today": TODAY}, ["test:host"]),
    ({"organisation": "test:closed-call", "takingRequests": True, "today": TODAY}, []),
    ({"organisation": "test:lawyers", "kind": "host-programme"}, []),
])
async def test_organisations_are_listed_by_a_service_taking_requests_or_of_a_status(
        store: Store, api: Api, asked: dict[str, object], expected: list[str]) -> None:
    """A walk: a defender's first question, who can help this week, had no page. Listing
    organisations by the services' filters (taking requests, status) ignored them: every
    organisation came back. An organisation is listed when one of its services meets them all."""
    await _seed(store)
    found = await api.data(ORGANISATIONS, f=asked)
    assert sorted(e["node"]["recordId"] for e in found["organisations"]["edges"]) == expected
