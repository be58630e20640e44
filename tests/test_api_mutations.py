"""Writing through the API: create, update with the revision read, delete with a tombstone; typed errors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from directory.domain.viewer import ANONYMOUS, STEWARD
from directory.store import Store
from directory.store.engine.cypher import cypher
from directory.store.records import tokens as tokens_module
from tests.helpers import Api, load, org, service

pytestmark = pytest.mark.anyio

ORG_FIELDS = "organisation { recordId name kind visibility provenance { revision } location { country } }"
CREATE_ORG = f"""mutation($input: OrganisationInput!) {{ createOrganisation(input: $input) {{
  {ORG_FIELDS} errors {{ code field reason }} }} }}"""
UPDATE_ORG = f"""mutation($id: ID!, $revision: Int!, $input: OrganisationInput!) {{
  updateOrganisation(id: $id, revision: $revision, input: $input) {{
    {ORG_FIELDS} currentRevision errors {{ code field reason }} }} }}"""
DELETE_ORG = """mutation($id: ID!, $revision: Int!) { deleteOrganisation(id: $id, revision: $revision) {
  deleted currentRevision errors { code field reason } } }"""
UPDATE_SERVICE = """mutation($id: ID!, $revision: Int!, $input: ServiceInput!) {
  updateService(id: $id, revision: $revision, input: $input) { service { recordId } errors { code field reason } } }"""
CREATE_SERVICE = """mutation($org: ID!, $input: ServiceInput!) { createService(organisation: $org, input: $input) {
  service { recordId type coverage { place presence } groups provenance { revision } }
  errors { code field reason } } }"""
SET_COVERAGE = """mutation($id: ID!, $revision: Int!, $present: [String!]!, $reaches: [String!]!) {
  setCoverage(service: $id, revision: $revision, presentIn: $present, reaches: $reaches) {
    service { coverage { place presence } provenance { revision } } errors { code field reason } } }"""
SET_GROUPS = """mutation($id: ID!, $revision: Int!, $groups: [String!]!) {
  setDefenderGroups(service: $id, revision: $revision, groups: $groups) {
    service { groups } errors { code field reason } } }"""
CREATE_LINK = """mutation($link: LinkRef!, $input: LinkInput!) { createLink(link: $link, input: $input) {
  link { type sourceId targetId amount currency visibility } errors { code field reason } } }"""
UPDATE_LINK = """mutation($link: LinkRef!, $revision: Int!, $input: LinkInput!) {
  updateLink(link: $link, revision: $revision, input: $input) {
    link { trust formal } currentRevision errors { code field reason } } }"""
DELETE_LINK = """mutation($link: LinkRef!, $revision: Int!) { deleteLink(link: $link, revision: $revision) {
  deleted errors { code reason } } }"""
LINK_REVISIONS = """query($id: ID!) { organisation(id: $id) { links { type targetId revision } } }"""
MARKS = cypher("tests.marks", "MATCH (n:Organisation {id: $id}) RETURN n.place_withheld AS w, n.public_revision AS r")
ME = '{ organisation(id: "test:a") { name } }'
TOMBSTONES = cypher("tests.tombstones", "MATCH (t:Tombstone) RETURN t.kind AS kind, t.id AS id, t.revision AS revision")


async def _tokens(store: Store) -> dict[str, str]:
    await load(store, [org("a"), org("b"), org("hidden", **{"#meta+visibility": "restricted"})],
               [service("a-legal", "a")])
    return {"steward": (await store.tokens.create("steward", None))[1],
            "a": (await store.tokens.create("member", "test:a"))[1],
            "b": (await store.tokens.create("member", "test:b"))[1]}


async def test_a_steward_creates_updates_and_deletes_an_organisation(store: Store, api: Api) -> None:
    tokens = await _tokens(store)
    made = (await api.data(CREATE_ORG, tokens["steward"], input={
        "name": "New Group", "kind": "local-group", "country": "KE", "languages": ["sw"]}))["createOrganisation"]
    assert made["errors"] == [] and made["organisation"]["provenance"]["revision"] == 1
    record_id = made["organisation"]["recordId"]
    assert record_id.startswith("test:")

    updated = (await api.data(UPDATE_ORG, tokens["steward"], id=record_id, revision=1,
                              input={"name": "Renamed Group"}))["updateOrganisation"]
    assert updated["organisation"]["name"] == "Renamed Group" and updated["organisation"]["provenance"]["revision"] == 2
    assert updated["organisation"]["location"]["country"] == "KE"  # fields left out keep their value

    stale = (await api.data(UPDATE_ORG, tokens["steward"], id=record_id, revision=1,
                            input={"name": "Lost Update"}))["updateOrganisation"]
    assert stale["errors"][0]["code"] == "REVISION_CONFLICT" and stale["currentRevision"] == 2
    assert (await store.organisation(STEWARD, record_id)).name == "Renamed Group"

    gone = (await api.data(DELETE_ORG, tokens["steward"], id=record_id, revision=2))["deleteOrganisation"]
    assert gone["deleted"] is True
    assert {"kind": "organisation", "id": record_id, "revision": 3} in await store.graph.read(TOMBSTONES)
    again = (await api.data(DELETE_ORG, tokens["steward"], id=record_id, revision=3))["deleteOrganisation"]
    assert again["errors"][0]["code"] == "NOT_FOUND"


async def test_members_write_only_their_own_organisation(store: Store, api: Api) -> None:
    tokens = await _tokens(store)
    mine = (await api.data(UPDATE_ORG, tokens["a"], id="test:a", revision=1,
                           input={"description": "We help"}))["updateOrganisation"]
    assert mine["errors"] == []
    theirs = (await api.data(UPDATE_ORG, tokens["a"], id="test:b", revision=1,
                             input={"description": "Hijacked"}))["updateOrganisation"]
    assert theirs["errors"][0]["code"] == "FORBIDDEN" and theirs["organisation"] is None
    assert (await store.organisation(STEWARD, "test:b")).description == ""
    new_org = (await api.data(CREATE_ORG, tokens["a"], input={"name": "X", "kind": "local-group"}))
    assert new_org["createOrganisation"]["errors"][0]["code"] == "FORBIDDEN"
    service_for_b = (await api.data(CREATE_SERVICE, tokens["a"], org="test:b",
                                    input={"name": "S", "type": "legal-aid"}))["createService"]
    assert service_for_b["errors"][0]["code"] == "FORBIDDEN"
    anonymous = (await api.data(UPDATE_ORG, None, id="test:a", revision=2, input={"name": "Y"}))
    assert anonymous["updateOrganisation"]["errors"][0]["code"] == "FORBIDDEN"


async def test_a_verification_is_a_stewards_word_and_never_dated_after_today(store: Store, api: Api) -> None:
    """A member's own "verified by the directory's steward" would read as an independent check."""
    tokens = await _tokens(store)
    claim = {"verifiedOn": "2026-01-05", "verifiedBy": "Protection Directory steward"}
    for kind, record, mutation in (("organisation", "test:a", UPDATE_ORG), ("service", "test:a-legal", UPDATE_SERVICE)):
        field = "updateOrganisation" if kind == "organisation" else "updateService"
        claimed = (await api.data(mutation, tokens["a"], id=record, revision=1, input=claim))[field]
        assert [(e["code"], e["field"]) for e in claimed["errors"]] == [("FORBIDDEN", "verifiedOn")], kind
        assert "only a steward records who verified" in claimed["errors"][0]["reason"]
        checked = (await api.data(mutation, tokens["steward"], id=record, revision=1, input=claim))[field]
        assert checked["errors"] == [], kind
        # the member edits something else: the verification the steward recorded stays, and may stay
        kept = (await api.data(mutation, tokens["a"], id=record, revision=2, input={"description": "Ours"}))[field]
        assert kept["errors"] == [], kind
        unverified = (await api.data(mutation, tokens["a"], id=record, revision=3, input={"verifiedOn": ""}))[field]
        assert unverified["errors"][0]["code"] == "FORBIDDEN", kind
        future = (await api.data(mutation, tokens["steward"], id=record, revision=3,
                                 input={"verifiedOn": "2031-01-01"}))[field]
        assert [(e["code"], e["field"]) for e in future["errors"]] == [("INVALID", "verifiedOn")], kind
    assert (await store.organisation(STEWARD, "test:a")).verified.on == "2026-01-05"
    new = (await api.data(CREATE_SERVICE, tokens["a"], org="test:a",
                          input={"name": "S", "type": "legal-aid", "verifiedOn": "2026-01-05"}))["createService"]
    assert new["errors"][0]["code"] == "FORBIDDEN" and new["service"] is None
    # nor does a confirmation of capacity or a change of status wait in the future, fresh forever
    for dated in ({"capacity": 5, "capacityConfirmed": "2099-12-31"},
                  {"status": "paused", "statusSince": "2099-12-31"}):
        ahead = (await api.data(UPDATE_SERVICE, tokens["a"], id="test:a-legal", revision=3,
                                input=dated))["updateService"]
        assert [(e["code"], e["field"]) for e in ahead["errors"]] == [("INVALID", list(dated)[1])], dated


async def test_a_capacity_or_status_given_anew_through_the_api_is_as_of_today(store: Store, api: Api) -> None:
    """An integrator's walk: a capacity set through the API kept no confirmation, so the gap matrix
    and the chains read it as out of date, while the pages confirmed it today. One rule (`dated`)."""
    tokens = await _tokens(store)
    today = datetime.now(UTC).date().isoformat()
    made = (await api.data(CREATE_SERVICE, tokens["a"], org="test:a",
                           input={"name": "Beds", "type": "legal-aid", "capacity": 4}))["createService"]
    assert made["errors"] == []
    record = made["service"]["recordId"]
    assert (await store.services_by_id(STEWARD, [record]))[record].capacity_confirmed == today
    for change, revision in (({"capacity": 3, "capacityConfirmed": "2026-11-01"}, 1), ({"capacity": 2}, 2),
                             ({"status": "paused"}, 3), ({"description": "Two beds"}, 4)):
        saved = (await api.data(UPDATE_SERVICE, tokens["a"], id=record, revision=revision,
                                input=change))["updateService"]
        assert saved["errors"] == [], change
        held = (await store.services_by_id(STEWARD, [record]))[record]
        if revision == 1:  # a day given with it is kept
            assert held.capacity_confirmed == "2026-11-01"
        elif revision == 2:
            assert held.capacity_confirmed == today
        elif revision == 3:
            assert (held.status.value, held.status_since) == ("paused", today)
        else:  # an edit of anything else dates nothing anew
            assert (held.capacity_confirmed, held.status_since) == (today, today)


async def test_services_coverage_and_defender_groups(store: Store, api: Api) -> None:
    tokens = await _tokens(store)
    made = (await api.data(CREATE_SERVICE, tokens["a"], org="test:a", input={
        "name": "Emergency grants", "type": "emergency-grant", "presentIn": ["CO"],
        "reaches": ["region:Americas"], "groups": ["journalists"]}))["createService"]
    assert made["errors"] == [], made
    svc = made["service"]
    assert sorted((c["place"], c["presence"]) for c in svc["coverage"]) == [("019", "REMOTE"), ("CO", "PRESENT")]
    moved = (await api.data(SET_COVERAGE, tokens["a"], id=svc["recordId"], revision=1, present=["PE"],
                            reaches=[]))["setCoverage"]
    assert moved["service"]["coverage"] == [{"place": "PE", "presence": "PRESENT"}]
    assert moved["service"]["provenance"]["revision"] == 2
    groups = (await api.data(SET_GROUPS, tokens["a"], id=svc["recordId"], revision=2,
                             groups=["women", "lgbtiq"]))["setDefenderGroups"]
    assert groups["service"]["groups"] == ["lgbtiq", "women"]
    bad = (await api.data(SET_GROUPS, tokens["a"], id=svc["recordId"], revision=3, groups=["martians"]))
    refused = bad["setDefenderGroups"]["errors"][0]
    assert (refused["code"], refused["field"]) == ("INVALID", "groups")
    assert refused["reason"].startswith("'martians' is not a known defender-group code")  # and the nearest ones


@pytest.mark.parametrize(("input", "field", "words"), [
    ({"kind": "local-group"}, "name", "is required"),
    ({"name": "X", "kind": "spaceship"}, "kind", "not a known organisation-kind"),
    ({"name": "X", "kind": "local-group", "country": "ZZ"}, "country", "not an ISO 3166-1"),
    ({"name": "X", "kind": "local-group", "subdivision": "PE-LIM", "country": "CO"}, "subdivision", "not in Colombia"),
    ({"name": "X", "kind": "local-group", "latitude": 91.0, "longitude": 0.0}, "latitude", "outside -90 to 90"),
    ({"name": "X", "kind": "local-group", "latitude": 1.0}, "longitude", "go together"),
    ({"name": "X", "kind": "local-group", "languages": ["klingon"]}, "languages", "ISO 639-1"),
    ({"name": "X", "kind": "local-group", "contactChannels": ["carrier pigeon"]}, "contactChannels", "KIND:VALUE"),
    ({"name": "X", "kind": "local-group", "website": "javascript:alert(1)"}, "website", "is not a web address"),
    ({"name": "X" * 301, "kind": "local-group"}, "name", "at most 300"),
    ({"name": "X\x00", "kind": "local-group"}, "name", "control characters"),
    ({"name": "X", "kind": "local-group", "identifiers": ["nonsense"]}, "identifiers", "org-id.guide"),
])
async def test_each_bad_input_gets_a_typed_error_and_changes_nothing(store: Store, api: Api, input: dict[str, Any],
                                                                     field: str, words: str) -> None:
    tokens = await _tokens(store)
    before = (await store.list_organisations(STEWARD)).total
    result = (await api.data(CREATE_ORG, tokens["steward"], input=input))["createOrganisation"]
    assert result["organisation"] is None
    assert any(e["code"] == "INVALID" and e["field"] == field and words in e["reason"] for e in result["errors"]), \
        result["errors"]
    assert (await store.list_organisations(STEWARD)).total == before


@pytest.mark.parametrize(("input", "field", "words"), [
    ({"name": "S", "type": "teleportation"}, "type", "not a known service-type"),
    ({"name": "S", "type": "legal-aid", "presentIn": ["Atlantis"]}, "presentIn", "not an ISO 3166"),
    ({"name": "S", "type": "legal-aid", "capacity": -1}, "capacity", "outside"),
    ({"name": "S", "type": "legal-aid", "capacityConfirmed": "last week"}, "capacityConfirmed", "not a date"),
    ({"name": "S", "type": "legal-aid", "status": "asleep"}, "status", "not one of"),
    ({"name": "S", "type": "legal-aid", "responseHours": 1e9}, "responseHours", "outside"),
])
async def test_bad_service_input_is_typed(store: Store, api: Api, input: dict[str, Any], field: str,
                                          words: str) -> None:
    tokens = await _tokens(store)
    result = (await api.data(CREATE_SERVICE, tokens["a"], org="test:a", input=input))["createService"]
    assert result["service"] is None
    assert any(e["field"] == field and words in e["reason"] for e in result["errors"]), result["errors"]


async def test_links_referrals_funding_and_vetting(store: Store, api: Api) -> None:
    tokens = await _tokens(store)
    referral = {"type": "REFERS_TO", "source": "test:a", "target": "test:b"}
    made = (await api.data(CREATE_LINK, tokens["a"], link=referral, input={"trust": 0.8, "formal": True}))
    assert made["createLink"]["errors"] == [] and made["createLink"]["link"]["visibility"] == "NETWORK"
    duplicate = (await api.data(CREATE_LINK, tokens["a"], link=referral, input={}))["createLink"]
    assert duplicate["errors"][0]["code"] == "CONFLICT"
    changed = (await api.data(UPDATE_LINK, tokens["a"], link=referral, revision=1, input={"trust": 0.3}))
    assert changed["updateLink"]["link"] == {"trust": 0.3, "formal": True}
    stale = (await api.data(UPDATE_LINK, tokens["a"], link=referral, revision=1, input={"trust": 0.1}))
    assert stale["updateLink"]["errors"][0]["code"] == "REVISION_CONFLICT"
    assert stale["updateLink"]["currentRevision"] == 2

    funding = {"type": "FUNDS", "source": "test:a", "target": "test:b", "key": "2026"}
    grant = (await api.data(CREATE_LINK, tokens["a"], link=funding,
                            input={"amount": 5000, "currency": "EUR", "year": 2026}))["createLink"]
    assert grant["link"]["visibility"] == "RESTRICTED"  # restricted unless the donor publishes it
    no_currency = (await api.data(CREATE_LINK, tokens["a"], link=dict(funding, key="2027"),
                                  input={"amount": 5, "year": 2027}))["createLink"]
    assert no_currency["errors"][0]["field"] == "currency"

    vouch = {"type": "VETTED_BY", "source": "test:a", "target": "test:b"}
    self_vouch = (await api.data(CREATE_LINK, tokens["a"], link=vouch, input={}))["createLink"]
    assert self_vouch["errors"][0]["code"] == "FORBIDDEN"  # only the vetter vouches
    assert (await api.data(CREATE_LINK, tokens["b"], link=vouch, input={}))["createLink"]["errors"] == []

    to_hidden = (await api.data(CREATE_LINK, tokens["a"], link=dict(referral, target="test:hidden"), input={}))
    to_missing = (await api.data(CREATE_LINK, tokens["a"], link=dict(referral, target="test:zzz"), input={}))
    assert str(to_hidden).replace("hidden", "X") == str(to_missing).replace("zzz", "X")

    deleted = (await api.data(DELETE_LINK, tokens["a"], link=referral, revision=2))["deleteLink"]
    assert deleted["deleted"] is True
    assert any(t["kind"] == "link" for t in await store.graph.read(TOMBSTONES))


async def test_a_link_is_changed_and_deleted_at_the_revision_read_through_graphql(store: Store, api: Api) -> None:
    tokens = await _tokens(store)
    referral = {"type": "REFERS_TO", "source": "test:a", "target": "test:b"}
    assert (await api.data(CREATE_LINK, tokens["a"], link=referral, input={"trust": 0.8}))["createLink"]["errors"] == []

    async def revision(token: str | None) -> int:
        [link] = (await api.data(LINK_REVISIONS, token, id="test:a"))["organisation"]["links"]
        return int(link["revision"])

    read = await revision(tokens["a"])
    assert read == 1
    changed = (await api.data(UPDATE_LINK, tokens["a"], link=referral, revision=read,
                              input={"trust": 0.3, "visibility": "PUBLIC"}))["updateLink"]
    assert changed["errors"] == [] and changed["link"]["trust"] == 0.3
    stale = (await api.data(UPDATE_LINK, tokens["a"], link=referral, revision=read, input={"trust": 0.1}))
    assert stale["updateLink"]["errors"][0]["code"] == "REVISION_CONFLICT" and stale["updateLink"]["link"] is None
    refused = (await api.data(DELETE_LINK, tokens["a"], link=referral, revision=read))["deleteLink"]
    assert refused["errors"][0]["code"] == "REVISION_CONFLICT" and refused["deleted"] is not True
    assert [x.properties["trust"] for x in await store.links_of(STEWARD, ["test:a"], "out")] == [0.3]

    # its ends and stewards see it at every visibility; to the public, now that it is published, its
    # earlier changes (made while the public could not see it) are no news
    assert await revision(tokens["b"]) == await revision(tokens["steward"]) == await revision(tokens["a"]) == 2
    assert await revision(None) == 0

    gone = (await api.data(DELETE_LINK, tokens["a"], link=referral, revision=await revision(tokens["a"])))
    assert gone["deleteLink"]["deleted"] is True and await store.links_of(STEWARD, ["test:a"], "out") == []


async def test_an_organisations_member_tokens_end_with_it_and_an_id_used_again_hands_them_nothing(
        store: Store, api: Api) -> None:
    """Deleting an organisation is how a network cuts it off: its members' tokens stopped nothing, and
    a record imported later under the same id (a restricted shelter) became theirs to read and edit."""
    tokens = await _tokens(store)
    assert (await api.data(ME, tokens["a"]))["organisation"]["name"] == "A"
    page_session = await store.tokens.sign_in(tokens["a"])
    assert page_session is not None and await store.tokens.signed_in(page_session[1]) is not None
    assert (await api.data(DELETE_ORG, tokens["steward"], id="test:a", revision=1))["deleteOrganisation"]["deleted"]
    assert await store.tokens.viewer(tokens["a"]) is None and await store.tokens.signed_in(page_session[1]) is None
    assert (await api.post(ME, tokens["a"])).status_code == 401
    member = tokens["a"].split("_")[1]
    assert [t.revoked_at is not None for t in await store.tokens.list() if t.id == member] == [True]
    await load(store, [org("a", **{"#meta+visibility": "restricted"})])  # another organisation, the same id
    assert await store.tokens.viewer(tokens["a"]) is None and (await api.post(ME, tokens["a"])).status_code == 401
    # deleted by another path than the API (here a bare statement): the token stands no longer either
    await store.graph.write(cypher("tests.delete_b", "MATCH (n:Organisation {id: 'test:b'}) DETACH DELETE n"))
    await asyncio.sleep(tokens_module.KEPT_SECONDS)
    assert await store.tokens.viewer(tokens["b"]) is None
    assert await store.tokens.viewer(tokens["steward"]) is not None


async def test_a_record_first_shown_to_a_view_is_revision_one_there_whatever_was_edited_while_hidden(
        store: Store, api: Api) -> None:
    """A record created restricted, edited three times and then made public showed the public (and its
    feed) revision 5: that it had existed hidden, and how often it changed. Each view counts only the
    changes it could see; the record's own revision, which its writers read, counts every one."""
    tokens = await _tokens(store)
    query = '{ organisation(id: "%s") { provenance { revision } } }'

    async def seen(record_id: str, token: str | None) -> int | None:
        found = (await api.data(query % record_id, token))["organisation"]
        return None if found is None else int(found["provenance"]["revision"])

    made = (await api.data(CREATE_ORG, tokens["steward"], input={
        "name": "Phantom", "kind": "local-group", "country": "KE", "visibility": "RESTRICTED"}))["createOrganisation"]
    record_id = made["organisation"]["recordId"]
    for revision, words in enumerate(("one", "two", "three"), start=1):
        edited = (await api.data(UPDATE_ORG, tokens["steward"], id=record_id, revision=revision,
                                 input={"description": words}))["updateOrganisation"]
        assert edited["errors"] == []
    assert await seen(record_id, tokens["b"]) is None and await seen(record_id, None) is None
    shown = (await api.data(UPDATE_ORG, tokens["steward"], id=record_id, revision=4,
                            input={"visibility": "NETWORK"}))["updateOrganisation"]
    assert shown["errors"] == [] and await seen(record_id, tokens["steward"]) == 5
    assert await seen(record_id, tokens["b"]) == 1 and await seen(record_id, None) is None
    await api.data(UPDATE_ORG, tokens["steward"], id=record_id, revision=5, input={"description": "four"})
    await api.data(UPDATE_ORG, tokens["steward"], id=record_id, revision=6, input={"visibility": "PUBLIC"})
    assert (await seen(record_id, tokens["b"]), await seen(record_id, None)) == (3, 1)  # its visibility is news
    # hidden again and shown again: the view goes on from where it was, never back
    await api.data(UPDATE_ORG, tokens["steward"], id=record_id, revision=7, input={"visibility": "RESTRICTED"})
    await api.data(UPDATE_ORG, tokens["steward"], id=record_id, revision=8, input={"description": "five"})
    await api.data(UPDATE_ORG, tokens["steward"], id=record_id, revision=9, input={"visibility": "PUBLIC"})
    assert (await seen(record_id, tokens["b"]), await seen(record_id, None)) == (4, 2)


async def test_a_lone_shelters_marks_move_the_publics_revision_only_while_the_public_sees_it(
        store: Store, api: Api) -> None:
    """Whether the public may place a shelter is worked out again at each write; a shelter hidden from
    the public that was marked or unmarked meanwhile counted that as a public change."""
    tokens = await _tokens(store)
    made = (await api.data(CREATE_ORG, tokens["steward"], input={
        "name": "Casa Oculta", "kind": "shelter", "country": "KE", "visibility": "PUBLIC"}))["createOrganisation"]
    record_id = made["organisation"]["recordId"]
    rows = await store.graph.read(MARKS, id=record_id)
    assert rows[0]["w"] is True  # alone in its country: the public may not place it
    public_before = rows[0]["r"]
    # marked in the write that made it: the public never saw it placed, so it is revision 1 there
    # (a leak sweep read 2 from its first appearance, its members 1)
    assert public_before == 1
    assert (await store.organisation(ANONYMOUS, record_id)).provenance.revision == 1
    await load(store, [org("lone", **{"#org+type": "shelter", "#country+code": "UG"})],
               [service("lone-stay", "lone", "safe-house")])
    assert (await store.organisation(ANONYMOUS, "test:lone")).provenance.revision == 1
    assert (await store.services_by_id(ANONYMOUS, ["test:lone-stay"]))["test:lone-stay"].provenance.revision == 1
    await api.data(UPDATE_ORG, tokens["steward"], id=record_id, revision=1, input={"visibility": "RESTRICTED"})
    rows = await store.graph.read(MARKS, id=record_id)
    assert rows[0]["w"] is False and rows[0]["r"] == public_before  # unmarked out of the public's sight


async def test_deleting_an_organisation_tombstones_its_services(store: Store, api: Api) -> None:
    tokens = await _tokens(store)
    assert (await api.data(DELETE_ORG, tokens["a"], id="test:a", revision=1))["deleteOrganisation"]["deleted"]
    tombstones = {(t["kind"], t["id"]) for t in await store.graph.read(TOMBSTONES)}
    assert {("organisation", "test:a"), ("service", "test:a-legal")} <= tombstones
    assert await store.services_by_id(STEWARD, ["test:a-legal"]) == {}


async def test_a_record_not_found_is_named_by_the_input_that_named_it_hidden_or_missing(
        store: Store, api: Api) -> None:
    """An integrator's walk: `setCoverage(service:)`, `setDefenderGroups`, a new service's provider and
    a link's other end not found all blamed a field `id` the client never sent. Each names its own
    input, the same for a hidden record as for a missing one."""
    tokens = await _tokens(store)
    for missing in ("test:hidden", "test:nobody"):
        errors = [
            (await api.data(SET_COVERAGE, tokens["a"], id=missing, revision=1, present=["CO"],
                            reaches=[]))["setCoverage"]["errors"],
            (await api.data(SET_GROUPS, tokens["a"], id=missing, revision=1, groups=[]))["setDefenderGroups"]["errors"],
            (await api.data(CREATE_LINK, tokens["a"], link={"type": "REFERS_TO", "source": "test:a",
                                                            "target": missing}, input={}))["createLink"]["errors"],
            (await api.data(CREATE_LINK, tokens["a"], link={"type": "VETTED_BY", "source": missing,
                                                            "target": "test:a"}, input={}))["createLink"]["errors"],
        ]
        assert [[(e["code"], e["field"]) for e in found] for found in errors] == [
            [("NOT_FOUND", "service")], [("NOT_FOUND", "service")], [("NOT_FOUND", "target")],
            [("NOT_FOUND", "source")]], missing
    provider = (await api.data(CREATE_SERVICE, tokens["steward"], org="test:nobody",
                               input={"name": "X", "type": "legal-aid"}))["createService"]["errors"]
    assert [(e["code"], e["field"]) for e in provider] == [("NOT_FOUND", "organisation")]
