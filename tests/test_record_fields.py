"""How to ask, status and verification (issue 16) through every exchange format, at every visibility.

Each new field goes through HXL CSV (import, export, import), HSDS 3.0 (out, in) and the feed bodies
(body, received); a service's intake channels each carry their own visibility, so each test of a
channel looks at what the anonymous public, a member of another organisation, the owner and a
steward get.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

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
from directory.domain.taxonomy import DEFENDER_GROUPS, ORGANISATION_KINDS, SERVICE_TYPES
from directory.domain.validation import Vocabulary
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from directory.exchange import exports, importer
from directory.formats import hsds, hxl
from directory.store import Store
from federation import received
from federation.bodies import organisation_body, service_body
from federation.canonical import canonical, parse
from federation.publish import FEED_VIEWERS, Publisher
from tests.conftest import SHARED, WIPE
from tests.helpers import ORG_TAGS, SERVICE_TAGS, csv_bytes, org, service
from tests.test_federation_publish import ONLINE, latest, read_all

pytestmark = pytest.mark.anyio

VERIFIED_TAGS = ["#date+verified", "#meta+verifiedby", "#meta+verifiedsource"]
NEW_SERVICE_TAGS = ["#service+purpose", "#service+process", "#contact+intake", "#service+hours", "#date+window",
                    "#service+lang+intake", "#service+exclusions", "#status+date", "#status+reason",
                    "#status+source", "#country+code+origin", *VERIFIED_TAGS]



def _with(tags: list[str], more: list[str]) -> list[str]:
    """The helpers' columns and these, each once."""
    return [*tags, *(t for t in more if t not in tags)]


PUBLIC_LINE = "public hotline:+353 1 210 0489"
NETWORK_SIGNAL = "network signal:+00 000 111"
RESTRICTED_PHONE = "restricted phone:+00 000 222"
CHANNELS = [PUBLIC_LINE, NETWORK_SIGNAL, RESTRICTED_PHONE]
# What each viewer gets of the grant's intake channels: by each channel's own visibility.
MEMBER = Viewer("member", "test:other")  # of another organisation: the network view
OWNER = Viewer("member", "test:fund")
SEEN = {"public": [PUBLIC_LINE], "network": [PUBLIC_LINE, NETWORK_SIGNAL], "owner": CHANNELS, "steward": CHANNELS}
VIEWERS = {"public": ANONYMOUS, "network": MEMBER, "owner": OWNER, "steward": STEWARD}

FUND = org("fund", "Relief Fund", **{"#org+type": "international-ngo", "#date+verified": "2026-09-01",
                                     "#meta+verifiedby": "Steward A",
                                     "#meta+verifiedsource": "https://fund.example.org/about"})
GRANT = service("fund-grants", "fund", "emergency-grant", **{
    "#country+code+present": "IE", "#country+code+remote": "world",
    "#service+purpose": "relocation-abroad|medical-care",
    "#service+process": "Write to the programme with what happened; a caseworker answers within three days.",
    "#contact+intake": "|".join(CHANNELS), "#service+hours": "24/7",
    "#date+window": "2026-09-01/|2026-03-01/2026-04-15 spring call",
    "#service+lang+intake": "es|quc|mul", "#service+exclusions": "Does not fund defenders already in exile",
    "#country+code+origin": "HN|central-america", "#date+verified": "2026-10-02",
    "#meta+verifiedby": "checks@fund.example.org", "#meta+verifiedsource": "https://fund.example.org/grants"})
PAUSED = service("fund-relocation", "fund", "relocation-abroad", **{
    "#status": "temporarily closed", "#status+date": "2025-01-24", "#status+reason": "Funding halted",
    "#status+source": "https://fund.example.org/news", "#contact+intake": "public email:relocation@example.org"})
CLOSED = service("fund-old", "fund", "legal-aid", **{"#status": "defunct", "#status+date": "2024-12-31"})

# The grant as the validator makes it: a test that reads it back compares with this.
EXPECTED_GRANT = {
    "status": Status.ACTIVE, "purposes": ["medical-care", "relocation-abroad"],
    "application_process": "Write to the programme with what happened; a caseworker answers within three days.",
    "intake": [Intake("hotline", "+353 1 210 0489", Visibility.PUBLIC),
               Intake("signal", "+00 000 111", Visibility.NETWORK),
               Intake("phone", "+00 000 222", Visibility.RESTRICTED)],
    "hours": "24/7", "windows": [Window("2026-03-01", "2026-04-15", "spring call"), Window("2026-09-01", "", "")],
    "intake_languages": ["es", "mul", "quc"], "exclusions": "Does not fund defenders already in exile",
    "origins": ["HN", "central-america"],
    "verified": Verification("2026-10-02", "checks@fund.example.org", "https://fund.example.org/grants"),
}
EXPECTED_PAUSED = {"status": Status.PAUSED, "status_since": "2025-01-24", "status_reason": "Funding halted",
                   "status_source": "https://fund.example.org/news"}


async def load_fields(store: Store) -> None:
    inputs = [importer.Parsed("orgs.csv", *hxl.read(csv_bytes(_with(ORG_TAGS, VERIFIED_TAGS), [FUND]), "orgs.csv")),
              importer.Parsed("services.csv", *hxl.read(csv_bytes(_with(SERVICE_TAGS, NEW_SERVICE_TAGS),
                                                                  [GRANT, PAUSED, CLOSED]), "services.csv"))]
    await importer.run(store, inputs)


async def records(store: Store, viewer: Viewer = STEWARD) -> tuple[Organisation, dict[str, Service]]:
    found = await store.organisation(viewer, "test:fund")
    services = {s.id: s for s in (await store.services_of(viewer, ["test:fund"]))["test:fund"]}
    return replace(found, provenance=None), {k: replace(s, provenance=None) for k, s in services.items()}


def has(record: object, expected: dict[str, Any]) -> None:
    assert {k: getattr(record, k) for k in expected} == expected


async def test_every_new_field_is_read_from_its_hashtag(store: Store) -> None:
    await load_fields(store)
    found, services = await records(store)
    assert found.verified == Verification("2026-09-01", "Steward A", "https://fund.example.org/about")
    has(services["test:fund-grants"], EXPECTED_GRANT)
    has(services["test:fund-relocation"], EXPECTED_PAUSED)
    assert services["test:fund-old"].status is Status.CLOSED  # "defunct", the word HSDS and older files use


@pytest.mark.pure
def test_hashtags_match_in_any_order_and_none_is_read_as_another() -> None:
    tags = ["#service+id", "#org+id", "#service+name", "#sector", "#Contact +Intake", "#service+intake+lang",
            "#service+lang", "#country+origin+code", "#date+verified", "#status+reason", "#status+date"]
    _, rows = hxl.read(csv_bytes(tags, [{t: f"v{n}" for n, t in enumerate(tags)}]), "s.csv")
    assert {f: v for f, (_, v) in rows[0].fields.items()} == {
        "id": "v0", "organisation": "v1", "name": "v2", "type": "v3", "intake": "v4", "intake_languages": "v5",
        "languages": "v6", "origins": "v7", "verified_on": "v8", "status_reason": "v9", "status_since": "v10"}
    for kind, tags_of in hxl.KINDS.items():
        assert len({hxl.canonical(t) for t in tags_of}) == len(tags_of), kind


# --- HXL CSV ------------------------------------------------------------------------------------


def csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8") as f:
        lines = list(csv.reader(f))
    return lines[0], [dict(zip(lines[1], line, strict=True)) for line in lines[2:]]


async def test_a_csv_export_imports_back_to_the_same_records(store: Store, tmp_path: Path) -> None:
    await load_fields(store)
    before = await records(store)
    await exports.export_csv(store, STEWARD, tmp_path)
    labels, rows = csv_rows(tmp_path / "services.csv")
    assert {"Pays for", "How to ask", "Intake channels", "Hours", "Intake windows", "Intake languages", "Exclusions",
            "Status since", "Status reason", "Status source", "Defenders from", "Verified on", "Verified by",
            "Verified against"} <= set(labels)
    paused = next(r for r in rows if r["#service+id"] == "test:fund-relocation")
    assert (paused["#status"], paused["#status+date"], paused["#status+reason"]) == (
        "paused", "2025-01-24", "Funding halted")
    org_labels, orgs = csv_rows(tmp_path / "organisations.csv")
    assert {"Verified on", "Verified by", "Verified against"} <= set(org_labels)
    assert orgs[0]["#date+verified"] == "2026-09-01"
    await store.graph.write(WIPE)
    await importer.run(store, [importer.Parsed(n, *hxl.read((tmp_path / n).read_bytes(), n))
                               for n in ("organisations.csv", "services.csv")])
    again = await records(store)
    assert again == before
    has(again[1]["test:fund-grants"], EXPECTED_GRANT)


@pytest.mark.parametrize("who", ["public", "network", "owner", "steward"])
async def test_a_csv_export_holds_the_intake_channels_its_viewer_may_see(store: Store, tmp_path: Path,
                                                                         who: str) -> None:
    await load_fields(store)
    await exports.export_csv(store, VIEWERS[who], tmp_path)
    _, rows = csv_rows(tmp_path / "services.csv")
    grant = next(r for r in rows if r["#service+id"] == "test:fund-grants")
    assert grant["#contact+intake"].split("|") == SEEN[who]
    text = (tmp_path / "services.csv").read_text()
    for channel in CHANNELS:
        assert (channel.split(":", 1)[1] in text) is (channel in SEEN[who])
    assert grant["#service+hours"] == "24/7" and grant["#service+purpose"] == "medical-care|relocation-abroad"


# --- HSDS 3.0 -----------------------------------------------------------------------------------

COMPILED = SHARED / "hsds-3.0" / "schema" / "compiled"


def hsds_records(folder: Path) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    orgs = json.loads((folder / "organizations.json").read_text())
    services = {s["name"]: s for s in json.loads((folder / "services.json").read_text())}
    for name, found in (("organization", orgs), ("service", list(services.values()))):
        check = Draft202012Validator(json.loads((COMPILED / f"{name}.json").read_text()),
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
        for record in found:
            assert not list(check.iter_errors(record)), record["name"]
    return orgs, services


def attribute_values(record: dict[str, Any], scheme: str, key: str = "value") -> list[Any]:
    return [a.get(key) if key == "value" else a["taxonomy_term"][key] for a in record.get("attributes", [])
            if a["taxonomy_term"]["taxonomy"] == hsds.TAX + scheme]


async def test_hsds_carries_every_field_where_hsds_has_one_and_as_attributes_where_not(store: Store,
                                                                                       tmp_path: Path) -> None:
    await load_fields(store)
    before = await records(store)
    await exports.export_hsds(store, STEWARD, tmp_path)
    orgs, services = hsds_records(tmp_path)
    grant, paused, closed = (services["Service fund-grants"], services["Service fund-relocation"],
                             services["Service fund-old"])
    assert (grant["status"], paused["status"], closed["status"]) == ("active", "temporarily closed", "defunct")
    assert grant["application_process"] == EXPECTED_GRANT["application_process"]
    assert (grant["assured_date"], grant["assurer_email"]) == ("2026-10-02", "checks@fund.example.org")
    assert paused["alert"] == "Funding halted" and "alert" not in grant
    assert [(s.get("valid_from"), s.get("valid_to"), s.get("description")) for s in grant["schedules"]] == [
        (None, None, "24/7"), ("2026-03-01", "2026-04-15", "spring call"), ("2026-09-01", None, None)]
    assert sorted(attribute_values(grant, "intake")) == sorted(CHANNELS)
    assert attribute_values(grant, "purpose", "code") == ["medical-care", "relocation-abroad"]
    assert attribute_values(grant, "origin", "code") == ["HN", "central-america"]
    assert attribute_values(grant, "intake-language", "code") == ["es", "mul", "quc"]
    assert [lang["code"] for lang in grant["languages"]] == []  # the languages it works in: none given
    assert attribute_values(orgs[0], "verified-on") == ["2026-09-01"]
    await store.graph.write(WIPE)
    parsed, ids = hsds.parse_organisations((tmp_path / "organizations.json").read_bytes(), "organizations.json")
    await importer.run(store, [parsed, hsds.parse_services((tmp_path / "services.json").read_bytes(),
                                                           "services.json", ids)])
    again = await records(store)
    assert again[1] == before[1]
    assert again[0].verified == before[0].verified


@pytest.mark.parametrize("who", ["public", "network", "steward"])
async def test_an_hsds_export_holds_the_intake_channels_its_viewer_may_see(store: Store, tmp_path: Path,
                                                                           who: str) -> None:
    await load_fields(store)
    await exports.export_hsds(store, VIEWERS[who], tmp_path)
    _, services = hsds_records(tmp_path)
    assert sorted(attribute_values(services["Service fund-grants"], "intake")) == sorted(SEEN[who])
    text = (tmp_path / "services.json").read_text()
    for channel in CHANNELS:
        assert (channel.split(":", 1)[1] in text) is (channel in SEEN[who])


def test_a_foreign_hsds_schedule_and_alert_are_read_as_hours_and_a_status_reason() -> None:
    foreign = {"id": "00000000-0000-4000-8000-000000000001", "name": "Drop-in", "status": "inactive",
               "organization_id": "00000000-0000-4000-8000-000000000002", "alert": "Closed for the summer",
               "schedules": [{"id": "00000000-0000-4000-8000-000000000003", "description": "Mon-Fri 9-17"}]}
    parsed = hsds.parse_services(json.dumps([foreign]).encode(), "s.json", {})
    fields = {k: v for k, (_, v) in parsed.rows[0].fields.items()}
    assert (fields["status"], fields["status_reason"], fields["hours"], fields["windows"]) == (
        "inactive", "Closed for the summer", "Mon-Fri 9-17", [])
    active = dict(foreign, status="active")  # an alert on an active service is news, not why it stopped
    parsed = hsds.parse_services(json.dumps([active]).encode(), "s.json", {})
    assert parsed.rows[0].fields["status_reason"][1] is None


# --- feed bodies --------------------------------------------------------------------------------

PEER = "peer.example"
VOCAB = Vocabulary({})
for term in (*ORGANISATION_KINDS, *SERVICE_TYPES, *DEFENDER_GROUPS):
    VOCAB.terms.setdefault(term.scheme, set()).add(term.code)

BODY_SERVICE = Service(
    id="peer.example:grants", organisation="peer.example:fund", name="Grants", type="emergency-grant",
    coverage=[Coverage("IE", Presence.PRESENT)], status=Status.PAUSED, status_since="2025-01-24",
    status_reason="Funding halted", status_source="https://fund.example.org/news", origins=["HN", "central-america"],
    purposes=["medical-care", "relocation-abroad"], application_process="Write to us",
    intake=[Intake("hotline", "+353 1 210 0489", Visibility.PUBLIC), Intake("signal", "+00 000 111"),
            Intake("phone", "+00 000 222", Visibility.RESTRICTED)],
    hours="24/7", windows=[Window("2026-03-01", "2026-04-15", "spring call"), Window("2026-09-01")],
    intake_languages=["es", "mul", "quc"], exclusions="Not for defenders in exile",
    verified=Verification("2026-10-02", "Steward A", "https://fund.example.org/grants"))
BODY_ORG = Organisation(id="peer.example:fund", name="Fund", kind="international-ngo", visibility=Visibility.PUBLIC,
                        verified=Verification("2026-09-01", "Steward A", "https://fund.example.org/about"))


@pytest.mark.pure
@pytest.mark.parametrize("audience", ["public", "network"])
def test_a_body_carries_the_intake_channels_its_audience_may_see_and_reads_back(audience: str) -> None:
    body = service_body(BODY_SERVICE, audience)
    assert parse(canonical(body)) == body
    shown = SEEN[audience]
    assert body["intake"] == shown  # never a restricted one
    kept = [i for i in BODY_SERVICE.intake if str(i) in shown]
    assert received.service(body, PEER, VOCAB) == replace(BODY_SERVICE, intake=kept)
    assert received.organisation(organisation_body(BODY_ORG, audience), PEER, VOCAB) == BODY_ORG


@pytest.mark.pure
def test_a_body_of_a_record_without_the_new_fields_is_the_body_it_was_and_still_reads() -> None:
    plain = Service(id="peer.example:legal", organisation="peer.example:fund", name="Legal aid", type="legal-aid")
    body = service_body(plain, "network")
    assert sorted(body) == sorted(["type", "id", "organisation", "name", "service_type", "visibility", "description",
                                   "eligibility", "capacity", "capacity_unit", "capacity_confirmed",
                                   "response_hours", "languages", "cost", "status", "coverage", "groups"])
    assert "verified_on" not in organisation_body(replace(BODY_ORG, verified=Verification()), "public")
    assert received.service(body, PEER, VOCAB) == plain
    old = dict(body, status="defunct")  # a peer that still says it the HSDS way
    assert received.service(old, PEER, VOCAB).status is Status.CLOSED


@pytest.mark.pure
@pytest.mark.parametrize("member,value,reason", [
    ("intake", ["public pigeon:roof"], "intake item 1 is not"),
    ("intake", "public phone:+1", "intake is missing or not a list of strings"),
    ("windows", ["2026-05-01/2026-04-01"], "closes before it opens"),
    ("windows", ["May-June"], "is not OPENS/CLOSES"),
    ("windows", ["May/June"], "opens on 'May', which is not a day"),
    ("windows", ["2026-05-01/June"], "closes on 'June', which is not a day"),
    ("windows", ["/2026-06-01"], "has no opening day"),
    ("purposes", ["massage"], "'massage' is not a known service-type code"),
    ("origins", ["ZZ"], "'ZZ' is not"),
    ("intake_languages", ["klingon"], "'klingon' is not"),
    ("status", "paused-ish", "'paused-ish' is not one of"),
    ("status_since", "yesterday", "not a date"),
    ("verified_on", "2026-13-01", "not a date"),
    ("hours", 24, "hours is missing or not a string"),
])
def test_an_unsound_new_member_is_named(member: str, value: object, reason: str) -> None:
    body = service_body(BODY_SERVICE, "network")
    body[member] = value
    with pytest.raises(received.BadBody, match=reason):
        received.service(body, PEER, VOCAB)


@pytest.mark.pure
def test_a_peers_service_with_purposes_must_be_a_grant() -> None:
    body = dict(service_body(BODY_SERVICE, "network"), service_type="legal-aid")
    with pytest.raises(received.BadBody, match="a service of type legal-aid has no purposes"):
        received.service(body, PEER, VOCAB)


async def test_each_feed_carries_the_channels_of_its_audience_and_reads_back_to_what_it_saw(store: Store) -> None:
    await load_fields(store)
    publisher = Publisher(store, ONLINE)
    await publisher.publish()
    vocab = await store.vocabulary()
    for audience in ("public", "network"):
        entries, _ = await read_all(publisher, audience)
        body = latest(entries)["test:fund-grants"].body
        assert body is not None and body["intake"] == SEEN[audience]
        seen = (await store.services_by_id(FEED_VIEWERS[audience], ["test:fund-grants"]))["test:fund-grants"]
        assert received.service(body, "test", vocab) == replace(seen, provenance=None)
        has(received.service(body, "test", vocab), {k: v for k, v in EXPECTED_GRANT.items() if k != "intake"})
        paused = latest(entries)["test:fund-relocation"].body
        assert paused is not None and received.service(paused, "test", vocab).status is Status.PAUSED
        fund = latest(entries)["test:fund"].body
        assert fund is not None and fund["verified_on"] == "2026-09-01"
