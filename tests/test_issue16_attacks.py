"""Attacks on issue 16's new fields: intake channels each with their own visibility, windows, status,
purposes, origins, named regions, ENGAGES_WITH.

Each test either guards a rule that must hold (a network-only or restricted intake channel reaches
no viewer whose view of the record does not reach it, through any channel) or shows a hole: a test
that fails names what leaks or misbehaves.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from directory.base.audit import read_all as read_audit
from directory.base.clock import now
from directory.base.config import Settings
from directory.domain import places
from directory.domain.errors import BadArgument
from directory.domain.model import (
    Coverage,
    Intake,
    Link,
    Organisation,
    Presence,
    Service,
    Status,
    Visibility,
    Window,
)
from directory.domain.taxonomy import DEFENDER_GROUPS, ORGANISATION_KINDS, SERVICE_TYPES
from directory.domain.validation import Row, Vocabulary
from directory.domain.validation import service as validate_service
from directory.domain.viewer import ANONYMOUS, STEWARD
from directory.exchange import exports
from directory.store import Filter, PointFilter, Store, backup
from federation import merge, received
from federation.bodies import link_body, service_body
from federation.feed import Accepted, PeerState, Verified
from federation.publish import Publisher
from tests.helpers import Api
from tests.test_federation_publish import ONLINE, latest, read_all

pytestmark = pytest.mark.anyio

HOTLINE = "+00 000 000 101"
SIGNAL = "+00 000 000 111"
SIGNAL_2 = "+00 000 000 112"
CASEWORKER = "caseworker@fund.example.org"
CASEWORKER_2 = "second-caseworker@fund.example.org"

VOCAB = Vocabulary({})
for _term in (*ORGANISATION_KINDS, *SERVICE_TYPES, *DEFENDER_GROUPS):
    VOCAB.terms.setdefault(_term.scheme, set()).add(_term.code)


def _grant(signal: str = SIGNAL, caseworker: str = CASEWORKER, **fields: object) -> Service:
    values: dict[str, object] = dict(
        coverage=[Coverage("HN", Presence.PRESENT)], purposes=["medical-care"],
        intake=[Intake("hotline", HOTLINE, Visibility.PUBLIC), Intake("signal", signal, Visibility.NETWORK),
                Intake("email", caseworker, Visibility.RESTRICTED)],
        application_process="Call the hotline.")
    values.update(fields)
    return Service("test:grant", "test:fund", "Relief grants", "emergency-grant", **values)  # type: ignore[arg-type]


async def _seed(store: Store, **fields: object) -> None:
    orgs = [Organisation("test:fund", "Relief Fund", "international-ngo", location=None),
            Organisation("test:other", "Other Group", "local-group")]
    await store.upsert(orgs, [_grant(**fields)], [])  # type: ignore[arg-type]


# --- guards: every read channel, for the public and for another organisation's member ------------

EVERYWHERE = """query($id: ID!) {
  services(first: 50) { totalCount edges { node { recordId intake { kind value visibility } } } }
  organisations(first: 50) { edges { node { recordId services { intake { value } } } } }
  node(id: $id) { ... on Service { intake { value } } }
  service(id: $id) { intake { value visibility } }
  search(text: "relief", first: 20) {
    edges { service { intake { value } } organisation { services { intake { value } } } } }
}"""


async def test_no_read_channel_gives_a_channel_beyond_the_viewers_view(store: Store, api: Api,
                                                                       live_server: object) -> None:
    await _seed(store)
    _, other = await store.tokens.create("member", "test:other", "another organisation")
    anonymous = str(await api.data(EVERYWHERE, id="Service:test:grant"))
    member = str(await api.data(EVERYWHERE, token=other, id="Service:test:grant"))
    assert HOTLINE in anonymous and SIGNAL not in anonymous and CASEWORKER not in anonymous
    assert HOTLINE in member and SIGNAL in member and CASEWORKER not in member
    # a write refused to another organisation's member says nothing of the record's channels
    refused = await api.gql("""mutation { updateService(id: "Service:test:grant", revision: 1,
        input: {intake: [{kind: "email", value: "x@example.org"}]}) { service { intake { value } }
        errors { code reason } currentRevision } }""", other)
    assert refused["data"]["updateService"]["errors"][0]["code"] == "FORBIDDEN"
    assert SIGNAL not in str(refused) and CASEWORKER not in str(refused)
    # the map page over HTTP
    async with httpx.AsyncClient(base_url=api.url, timeout=60) as client:
        await store.graph.write("MATCH (o:Organisation) SET o.country = 'HN', o.precision = 'country'")
        public_map = (await client.get("/maps/directory")).text
        member_map = (await client.get("/maps/directory", headers={"Authorization": f"Bearer {other}"})).text
    assert HOTLINE in public_map and SIGNAL not in public_map and CASEWORKER not in public_map
    assert SIGNAL in member_map and CASEWORKER not in member_map


PROVENANCE = """query { service(id: "Service:test:grant") { provenance { revision updatedAt } } }"""
CHANGED = """query($since: String) { services(filter: {updatedSince: $since}, sort: UPDATED) {
  totalCount edges { node { recordId } } } }"""
UPDATE = """mutation($revision: Int!, $input: ServiceInput!) { updateService(id: "Service:test:grant",
  revision: $revision, input: $input) { service { provenance { revision } } errors { code field reason } } }"""


def _channels(signal: str, caseworker: str) -> list[dict[str, str]]:
    return [{"kind": "hotline", "value": HOTLINE, "visibility": "PUBLIC"},
            {"kind": "signal", "value": signal, "visibility": "NETWORK"},
            {"kind": "email", "value": caseworker, "visibility": "RESTRICTED"}]


async def test_changing_a_hidden_channel_is_no_news_to_a_view_that_does_not_reach_it(store: Store, api: Api) -> None:
    """Per-view revision, updated_at, updatedSince (and its totalCount) and UPDATED order."""
    await _seed(store)
    _, owner = await store.tokens.create("member", "test:fund", "the owner")
    _, other = await store.tokens.create("member", "test:other", "another organisation")
    before = {who: await api.data(PROVENANCE, token=t) for who, t in (("public", None), ("network", other))}
    whole = (await api.data(PROVENANCE, token=owner))["service"]["provenance"]["revision"]

    since = now()
    done = await api.data(UPDATE, token=owner, revision=whole, input={"intake": _channels(SIGNAL_2, CASEWORKER)})
    assert done["updateService"]["errors"] == []
    assert await api.data(PROVENANCE) == before["public"]  # only a network channel changed
    assert (await api.data(CHANGED, since=since))["services"]["totalCount"] == 0
    assert (await api.data(CHANGED, token=other, since=since))["services"]["totalCount"] == 1
    network = await api.data(PROVENANCE, token=other)
    assert network != before["network"]

    since = now()
    whole = done["updateService"]["service"]["provenance"]["revision"]
    done = await api.data(UPDATE, token=owner, revision=whole, input={"intake": _channels(SIGNAL_2, CASEWORKER_2)})
    assert done["updateService"]["errors"] == []
    assert await api.data(PROVENANCE) == before["public"]
    assert await api.data(PROVENANCE, token=other) == network  # only a restricted channel changed
    assert (await api.data(CHANGED, token=other, since=since))["services"]["totalCount"] == 0
    assert (await api.data(CHANGED, token=owner, since=since))["services"]["totalCount"] == 1


async def test_a_hidden_channel_changed_adds_no_entry_to_a_feed_whose_audience_does_not_see_it(store: Store) -> None:
    await _seed(store)
    publisher = Publisher(store, ONLINE)
    await publisher.publish()
    await store.upsert([], [_grant(signal=SIGNAL_2)], [])
    assert await publisher.publish() == {"public": 0, "network": 1}
    await store.upsert([], [_grant(signal=SIGNAL_2, caseworker=CASEWORKER_2)], [])
    assert await publisher.publish() == {"public": 0, "network": 0}
    for audience, hidden in (("public", [SIGNAL, SIGNAL_2, CASEWORKER, CASEWORKER_2]),
                             ("network", [CASEWORKER, CASEWORKER_2])):
        entries, _ = await read_all(publisher, audience)
        text = str([e.body for e in entries])
        assert not [h for h in hidden if h in text], audience
        assert latest(entries)["test:grant"].body is not None


# --- ENGAGES_WITH: cooperation with UN mechanisms stays restricted unless said ------------------

LINKS = """query { organisation(id: "Organisation:test:fund") { links { type targetId visibility } } }"""


async def test_an_engages_with_link_made_without_a_visibility_is_restricted_everywhere(store: Store, api: Api,
                                                                                       tmp_path: Path) -> None:
    await store.upsert([Organisation("test:fund", "Relief Fund", "international-ngo"),
                        Organisation("test:un", "UN focal point", "international-ngo"),
                        Organisation("test:other", "Other Group", "local-group")], [], [])
    _, owner = await store.tokens.create("member", "test:fund", "the owner")
    _, other = await store.tokens.create("member", "test:other", "another organisation")
    made = await api.data("""mutation { createLink(link: {type: ENGAGES_WITH, source: "test:fund", target: "test:un"},
        input: {}) { link { visibility } errors { code reason } } }""", token=owner)
    assert made["createLink"] == {"link": {"visibility": "RESTRICTED"}, "errors": []}
    assert "ENGAGES_WITH" not in str(await api.data(LINKS))
    assert "ENGAGES_WITH" not in str(await api.data(LINKS, token=other))
    await exports.export_csv(store, ANONYMOUS, tmp_path)
    assert "ENGAGES_WITH" not in (tmp_path / "links.csv").read_text()
    # a peer's link that says no visibility is read as restricted too
    body = link_body(Link("ENGAGES_WITH", "peer.example:a", "peer.example:b", Visibility.NETWORK), "network")
    assert received.link(dict(body, visibility=""), "peer.example").visibility is Visibility.RESTRICTED


# --- named regions ------------------------------------------------------------------------------


@pytest.mark.pure
def test_no_named_region_code_is_read_as_a_country_subdivision_or_m49_area() -> None:
    for code in places.named_regions():
        assert places.country_code(code) is None and places.subdivision_code(code) is None, code
        assert code not in places.areas() and code not in places.countries(), code
        svc, problems = validate_service(Row(0, {"id": ("id", "test:s"), "organisation": ("o", "test:o"),
                                                 "name": ("n", "S"), "type": ("t", "legal-aid"),
                                                 "present_in": ("p", code), "origins": ("g", code.upper())}),
                                         "test", VOCAB)
        assert problems == [] and svc is not None, (code, problems)
        assert [c.place for c in svc.coverage] == [code] and svc.origins == [code]


async def test_a_worldwide_service_is_found_in_a_named_region_as_in_an_m49_one(store: Store) -> None:
    """HOLE: `region: central-america` misses a service available worldwide (001), although it is
    found by `region: subregion:Latin America and the Caribbean` and by `country: HN`: `_place_condition`'s
    `$enclosing_region` is `places.enclosing(named)`, which holds no world for a named region."""
    await store.upsert([Organisation("test:fund", "Relief Fund", "international-ngo")],
                       [Service("test:world", "test:fund", "Worldwide grants", "emergency-grant",
                                coverage=[Coverage("001", Presence.REMOTE)])], [])
    for where in (Filter(country="HN"), Filter(region="subregion:Latin America and the Caribbean"),
                  Filter(region="central-america"), Filter(region="mena")):
        page = await store.list_services(ANONYMOUS, where)
        assert [s.id for s in page.items] == ["test:world"], where
        orgs = await store.list_organisations(ANONYMOUS, where)
        assert [o.id for o in orgs.items] == ["test:fund"], where


# --- intake windows and takingRequests ----------------------------------------------------------

TAKING = """query($today: String!) { services(filter: {takingRequests: true, today: $today}) {
  totalCount edges { node { recordId takingRequests(on: $today) } } } }"""


async def test_a_window_closed_long_ago_is_not_offered_as_taking_requests(store: Store) -> None:
    """Was a hole: the validators took any date `date.fromisoformat` reads (Python 3.11 reads 20250110
    and 2025W021) and kept it as written, while `window_spans` and the Cypher `taking_requests`
    compare text as YYYY-MM-DD: a window closed for two years was listed as taking requests. Now a
    day is YYYY-MM-DD or refused, in windows and every other day field."""
    row = {"id": ("id", "test:call"), "organisation": ("o", "test:fund"), "name": ("n", "Call"),
           "type": ("t", "relocation-regional"), "present_in": ("p", "CR"), "windows": ("w", "2025-01-09/20250110"),
           "verified_on": ("v", "2025W021")}
    svc, problems = validate_service(Row(0, row), "test", VOCAB)
    assert svc is None and {p.column for p in problems} == {"w", "v"}
    row["windows"], row["verified_on"] = ("w", "2025-01-09/2025-01-10"), ("v", "")
    svc, problems = validate_service(Row(0, row), "test", VOCAB)
    assert svc is not None and problems == []
    await store.upsert([Organisation("test:fund", "Relief Fund", "international-ngo")], [svc], [])
    assert svc.taking_requests("2026-12-01") is False
    page = await store.list_services(ANONYMOUS, Filter(taking_requests=True, today="2026-12-01"))
    assert [s.id for s in page.items] == []


async def test_the_listing_reads_its_day_as_the_takingrequests_field_does(store: Store, api: Api) -> None:
    """HOLE: `today` goes to the query unchecked (`Filter.params`), while `takingRequests(on:)` reads
    it with `require_day`: 20261201 is the same day to the field and another text to the filter, so
    the filter drops a service the field says takes requests (and `today: "x"` is no error at all)."""
    await store.upsert([Organisation("test:host", "Host", "host-programme")],
                       [Service("test:call", "test:host", "Winter call", "relocation-regional",
                                coverage=[Coverage("CR", Presence.PRESENT)],
                                windows=[Window("2026-11-15", "2026-12-15", "winter call")])], [])
    iso = await api.data(TAKING, today="2026-12-01")
    assert iso["services"]["totalCount"] == 1
    basic = await api.gql(TAKING, today="20261201")
    assert "errors" in basic or basic["data"] == iso, basic
    assert "errors" in await api.gql(TAKING, today="not a day")


async def test_the_status_filter_reads_the_words_an_import_reads_or_says_it_cannot(store: Store) -> None:
    """HOLE (misbehaviour): `Filter.status` goes to the query unchecked: `Paused` or HSDS's `inactive`
    (both read as paused by every import) find nothing, and `pausd` is no error, unlike every other
    filter value (`BadArgument`)."""
    await _seed(store, status=Status.PAUSED)
    for word in ("paused", "Paused", "inactive"):
        try:
            page = await store.list_services(ANONYMOUS, Filter(status=word))
        except BadArgument:
            continue
        assert [s.id for s in page.items] == ["test:grant"], word
    with pytest.raises(BadArgument):
        await store.list_services(ANONYMOUS, Filter(status="pausd"))


async def test_an_item_holding_the_list_separator_is_refused_so_no_csv_export_can_split_it(
        store: Store, api: Api) -> None:
    """Was a hole (visibility raised): the owner recorded ONE network-only channel whose value held
    `|`; a steward's HXL export wrote `network email:a@x.org|public signal:+00...` in one cell, and
    importing it back read two channels, the second PUBLIC. Now an item of any list that holds the
    CSV list separator is refused in every channel that passes lists (GraphQL, HSDS, a peer's body),
    a window's note included, and nothing is written."""
    await _seed(store)
    _, owner = await store.tokens.create("member", "test:fund", "the owner")
    whole = (await api.data(PROVENANCE, token=owner))["service"]["provenance"]["revision"]
    for change in ({"intake": [{"kind": "email", "value": f"desk@fund.example.org|public signal:{SIGNAL_2}",
                                "visibility": "NETWORK"}]},
                   {"windows": [{"opens": "2026-11-01", "note": "winter call | bring two references"}]}):
        done = await api.data(UPDATE, token=owner, revision=whole, input=change)
        assert done["updateService"]["service"] is None
        assert [e["field"] for e in done["updateService"]["errors"]] == list(change)
    assert SIGNAL_2 not in str(await api.data(EVERYWHERE, id="Service:test:grant"))
    kept = await store.services_by_id(STEWARD, ["test:grant"])
    assert kept["test:grant"].provenance is not None and kept["test:grant"].provenance.revision == whole


# --- map: the service type filter -----------------------------------------------------------------


async def test_the_map_finds_a_grant_by_what_it_pays_for_as_the_listing_does(store: Store) -> None:
    """HOLE (misbehaviour): the listing's type filter finds a grant by its purposes (`type_offered`),
    the map's (`PointFilter.service_type`, `/maps/directory?serviceType=`) only by its type."""
    await _seed(store)
    await store.graph.write("MATCH (o:Organisation) SET o.country = 'HN', o.precision = 'country'")
    listed = await store.list_services(ANONYMOUS, Filter(service_type="medical-care"))
    assert [s.id for s in listed.items] == ["test:grant"]
    drawn = await store.map_points(ANONYMOUS, PointFilter(service_type="medical-care"))
    assert [p.id for p in drawn.points] == ["test:fund"]


# --- a peer's body: what a drop's reason says ---------------------------------------------------


def test_a_dropped_peer_body_does_not_put_a_network_channel_in_the_log() -> None:
    """HOLE (logs): a peer's network-feed service with one channel we cannot read (a kind we do not
    know yet, here `session`) is dropped; the reason quotes the whole channel, network-only Signal
    number of the peer's caseworker included: `federation/sync.py` logs every reason at WARNING
    (`log.warning("peer %s: %s", ...)`) and `directory peer sync` prints it. The reason should name
    the member and what is wrong, not the hidden value."""
    peer_service = Service("peer.example:grant", "peer.example:fund", "Grants", "emergency-grant",
                           coverage=[Coverage("HN", Presence.PRESENT)],
                           intake=[Intake("hotline", HOTLINE, Visibility.PUBLIC)])
    body = service_body(peer_service, "network")
    body["intake"] = [f"public hotline:{HOTLINE}", f"network session:{SIGNAL}"]
    entry = Accepted(1, "service", "peer.example:grant", 1, "upsert", body, False, {})
    found = merge.batch("peer.example", "network", Verified([entry], PeerState(), {"signed": {"size": 2, "root": "r"}}),
                        VOCAB)
    assert len(found.dropped) == 1 and "intake" in found.dropped[0]
    assert SIGNAL not in found.dropped[0], found.dropped[0]


# --- the audit log ------------------------------------------------------------------------------


async def test_a_restricted_channel_shown_to_a_steward_leaves_an_audit_line(store: Store, api: Api,
                                                                          settings: Settings) -> None:
    """HOLE (audit, D4): a restricted intake channel is restricted data, but the audit log notes only
    restricted *records* (`Shown.records`; changes likewise, `WriteCounts.restricted`): a steward
    reading a caseworker's restricted e-mail on a public service leaves no line, while reading a
    restricted service in the same request does (the control)."""
    await _seed(store)
    await store.upsert([], [Service("test:hidden", "test:fund", "Hidden", "legal-aid",
                                    visibility=Visibility.RESTRICTED)], [])
    steward_id, steward = await store.tokens.create("steward", None, "a steward")
    folder = settings.data_dir / "audit"
    before = len(read_audit(folder))
    seen = await api.data('{ a: service(id: "Service:test:grant") { intake { value } } '
                          'b: service(id: "Service:test:hidden") { name } }', token=steward)
    assert CASEWORKER in str(seen)
    lines = read_audit(folder)[before:]
    mine = [e for e in lines if e["who"] == f"token:{steward_id}"]
    assert any("test:hidden" in e["ids"] for e in mine), lines  # a restricted record is noted...
    assert any("test:grant" in e["ids"] for e in mine), lines  # ...a restricted channel is not


# --- open-ended windows, and status words from before -------------------------------------------


async def test_an_open_ended_window_takes_requests_from_its_opening_day_on(store: Store) -> None:
    await store.upsert([Organisation("test:host", "Host", "host-programme")],
                       [Service(f"test:{name}", "test:host", name, "relocation-regional",
                                coverage=[Coverage("CR", Presence.PRESENT)], windows=windows)
                        for name, windows in (("open", [Window("2026-09-01")]), ("later", [Window("2027-01-01")]),
                                              ("both", [Window("2025-01-01", "2025-02-01"), Window("2026-12-01")]))],
                       [])
    for day, expected in (("2026-12-01", ["test:both", "test:open"]), ("2026-11-30", ["test:open"]),
                          ("9999-12-31", ["test:both", "test:later", "test:open"])):
        page = await store.list_services(ANONYMOUS, Filter(taking_requests=True, today=day))
        assert [s.id for s in page.items] == expected, day
        everything = await store.list_services(ANONYMOUS, Filter())
        assert sorted(s.id for s in everything.items if s.taking_requests(day)) == expected, day


async def test_a_backup_from_before_status_words_were_mapped_restores_readable(store: Store) -> None:
    """HOLE: migration 10 maps inactive/temporarily closed/defunct to paused/closed with Cypher
    steps (`schema.status_paused`...), but `upgrade_records` runs only the Python `_RECORD_STEPS`
    on a restored older backup: a schema-9 backup's `inactive` service is restored as is, and
    `Status("inactive")` in `reads.service_of` raises on every read that meets it (the listing
    of every viewer fails)."""
    def line(obj: Mapping[str, object]) -> str:
        return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    header = line({"directory": "test", "format": "protection-directory-backup", "schema": 9, "version": 1})
    org = {"organisation": {"id": "test:a", "name": "A", "kind": "local-group", "visibility": "public",
                            "publisher": "test", "revision": 1, "updated_at": "2026-01-01T00:00:00.000000Z",
                            "precision": "country", "country": "CO"}, "based_in": ["CO"], "links": []}
    svc = {"service": {"id": "test:s", "name": "Legal aid", "type": "legal-aid", "organisation": "test:a",
                       "publisher": "test", "visibility": "public", "revision": 1, "status": "inactive",
                       "updated_at": "2026-01-01T00:00:00.000000Z"},
           "offered_by": ["test:a"], "available_in": [{"place": "CO", "props": {"presence": "present"}}], "serves": []}
    await backup.restore(store.graph, store.directory_id, [header, line(org), line(svc)], "old.jsonl")
    found = await store.services_by_id(ANONYMOUS, ["test:s"])
    assert found["test:s"].status.value == "paused"
