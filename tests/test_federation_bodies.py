"""Feed bodies: what an audience may see of a record, with no floats, and read back whole."""

from __future__ import annotations

import pytest

from directory.domain.model import Coverage, Link, Location, Organisation, Precision, Presence, Service, Visibility
from directory.domain.taxonomy import DEFENDER_GROUPS, ORGANISATION_KINDS, SERVICE_TYPES
from directory.domain.validation import Vocabulary
from federation import received
from federation.bodies import BadBody, link_body, organisation_body, service_body
from federation.canonical import canonical, parse

pytestmark = pytest.mark.pure

PEER = "peer.example"
VOCAB = Vocabulary({})
for term in (*ORGANISATION_KINDS, *SERVICE_TYPES, *DEFENDER_GROUPS):
    VOCAB.terms.setdefault(term.scheme, set()).add(term.code)


def read_organisation(body: dict[str, object]) -> Organisation:
    return received.organisation(body, PEER, VOCAB)


def read_service(body: dict[str, object]) -> Service:
    return received.service(body, PEER, VOCAB)


def read_link(body: dict[str, object]) -> Link:
    return received.link(body, PEER)

ORG = Organisation(id="peer.example:casa", name="Casa Luz", kind="local-group", visibility=Visibility.NETWORK,
                   languages=["es"], contact_channels=["signal:+00 1"], identifiers=["CO-NIT:900"],
                   location=Location(6.25, -75.55, Precision.EXACT, "CO", "CO-ANT"))
SERVICE = Service(id="peer.example:casa-legal", organisation="peer.example:casa", name="Legal aid", type="legal-aid",
                  capacity=4, capacity_unit="cases", capacity_confirmed="2026-11-01", response_hours=12.5,
                  coverage=[Coverage("CO", Presence.PRESENT)], groups=["journalists"])


def test_a_network_body_round_trips_through_canonical_bytes() -> None:
    body = organisation_body(ORG, "network")
    assert parse(canonical(body)) == body  # no floats: it can be signed at all
    assert body["location"]["latitude"] == "6.25"
    assert read_organisation(body) == ORG
    svc = service_body(SERVICE, "network")
    assert svc["response_hours"] == "12.5" and read_service(svc) == SERVICE


def test_the_public_feed_carries_no_contact_or_capacity_and_no_network_record() -> None:
    public = Organisation(**{**ORG.__dict__, "visibility": Visibility.PUBLIC})
    body = organisation_body(public, "public")
    assert body["contact_channels"] == []
    svc = service_body(SERVICE, "public")
    assert (svc["capacity"], svc["capacity_unit"], svc["capacity_confirmed"]) == (None, "", "")
    with pytest.raises(BadBody, match="network: it never enters the public feed"):
        organisation_body(ORG, "public")


def test_restricted_records_never_make_a_body() -> None:
    restricted = Organisation(**{**ORG.__dict__, "visibility": Visibility.RESTRICTED})
    with pytest.raises(BadBody, match="restricted"):
        organisation_body(restricted, "network")
    grant = Link("FUNDS", "peer.example:donor", "peer.example:casa", Visibility.RESTRICTED, "2026",
                 {"amount": 5000.0})
    with pytest.raises(BadBody, match="restricted"):
        link_body(grant, "network")
    public_grant = Link("FUNDS", "peer.example:donor", "peer.example:casa", Visibility.PUBLIC, "2026",
                        {"amount": 5000.0, "currency": "EUR", "year": 2026})
    body = link_body(public_grant, "public")
    assert body["properties"] == {"amount": "5000.0", "currency": "EUR", "year": 2026}
    assert read_link(body).source == "peer.example:donor" and parse(canonical(body)) == body


@pytest.mark.parametrize("member,value,reason", [
    ("name", 5, "name is missing or not a string"),
    ("languages", ["es", 3], "languages holds something"),
    ("visibility", "secret", "'secret' is not one of"),
    ("kind", "warlord", "'warlord' is not a known organisation-kind code"),
    ("name", "", "name is required"),
    ("name", "Front Line Defenders\u202e", "U\\+202E"),
    ("name", "Front\u200bLine", "U\\+200B"),
    ("name", "Front\u200dLine", "joins no letters"),
    ("name", "Casa\x00Luz", "U\\+0000"),
    ("aliases", ["ok", "bad\x1b]0;title\x07"], "aliases contains control characters"),
    ("id", "victim:evil", "outside the publisher's namespace"),
    ("id", "peer.example:a:b", "belongs to directory 'peer.example:a'"),

])
def test_a_bad_body_names_the_record_and_member(member: str, value: object, reason: str) -> None:
    body = organisation_body(ORG, "network")
    body[member] = value
    with pytest.raises(BadBody, match=reason) as caught:
        read_organisation(body)
    assert caught.value.record == body["id"]


@pytest.mark.parametrize("member,value,reason", [
    ("latitude", "six", "latitude 'six' is not a decimal number"),
    ("latitude", "nan", "'nan' is not a decimal number"),
    ("latitude", "inf", "'inf' is not a decimal number"),
    ("latitude", "-Infinity", "not a decimal number"),
    ("latitude", "1_0", "not a decimal number"),
    ("latitude", " 6", "not a decimal number"),
    ("latitude", 6, "latitude is missing or not a decimal in a string"),
    ("latitude", "1000", "outside -90 to 90"),
    ("latitude", "1e400", "outside -90 to 90"),
    ("country", "ZZ", "'ZZ' is not an ISO 3166-1 country code"),
    ("precision", "street", "'street' is not one of"),
])
def test_a_location_value_that_is_not_sound_is_named(member: str, value: object, reason: str) -> None:
    body = organisation_body(ORG, "network")
    body["location"][member] = value
    with pytest.raises(BadBody, match=reason):
        read_organisation(body)


def test_a_point_is_kept_at_the_precision_its_body_states_never_finer() -> None:
    body = organisation_body(ORG, "network")
    body["location"].update(precision="country", latitude="6.2031", longitude="-75.5921")
    loc = read_organisation(body).location
    assert loc is not None and loc.precision is Precision.COUNTRY and loc.subdivision is None
    assert (loc.latitude, loc.longitude) != (6.2031, -75.5921)
    body["location"].update(precision="locality")
    loc = read_organisation(body).location
    assert loc is not None and loc.latitude is not None and loc.longitude is not None
    assert (round(loc.latitude, 4), round(loc.longitude, 4)) != (6.2031, -75.5921)
    assert int(loc.latitude * 10) == 62 and int(loc.longitude * 10) == -755  # the 0.1 degree cell only


@pytest.mark.parametrize("member,value,reason", [
    ("capacity", -5, "outside 0 to 1000000"),
    ("capacity", "5", "capacity is missing or not an integer"),
    ("response_hours", "-1000", "outside 0 to 8760"),
    ("service_type", "massage", "not a known service-type code"),
    ("groups", ["journalists", "spies"], "'spies' is not a known defender-group code"),
    ("status", "thriving", "'thriving' is not one of"),
    ("organisation", "test:ours", "outside the publisher's namespace"),
    ("coverage", [{"place": "ZZ", "presence": "present"}], "'ZZ' is not an ISO 3166-1 country"),
    ("coverage", [{"place": "CO", "presence": "everywhere"}], "is not present or remote"),
])
def test_a_service_value_that_is_not_sound_is_named(member: str, value: object, reason: str) -> None:
    body = service_body(SERVICE, "network")
    body[member] = value
    with pytest.raises(BadBody, match=reason):
        read_service(body)


FUNDING = Link("FUNDS", "peer.example:donor", "peer.example:casa", Visibility.PUBLIC, "2026",
               {"amount": 250000.0, "currency": "EUR", "year": 2026})


def test_link_numbers_travel_as_strings_and_come_back_as_numbers() -> None:
    body = link_body(FUNDING, "public")
    body["properties"]["amount"] = "250000"  # exactly as the spec's bodies carry it
    assert read_link(body).properties["amount"] == 250000.0
    referral = Link("REFERS_TO", "peer.example:a", "peer.example:b", Visibility.PUBLIC, "",
                    {"trust": 0.8, "response_hours": 24.0, "formal": True})
    body = link_body(referral, "public")
    assert body["properties"] == {"formal": True, "response_hours": "24.0", "trust": "0.8"}
    assert read_link(body).properties == {"trust": 0.8, "response_hours": 24.0, "formal": True}


@pytest.mark.parametrize("change,reason", [
    ({"target": "test:ours"}, "outside the publisher's namespace"),
    ({"source": "test:ours"}, "outside the publisher's namespace"),
    ({"link_type": "OFFERS"}, "'OFFERS' is not one of"),
    ({"target": "peer.example:donor"}, "cannot link to itself"),
    ({"properties": {"amount": "nan", "currency": "EUR"}}, "not a decimal number"),
    ({"properties": {"amount": "-5", "currency": "EUR"}}, "outside 0 to"),
    ({"properties": {"amount": "5", "currency": "XXY"}}, "not an ISO 4217 currency"),
    ({"properties": {"year": "2026"}}, "year is missing or not an integer"),
    ({"properties": {"amount": 5}}, "amount is missing or not a decimal in a string"),
])
def test_a_link_value_that_is_not_sound_is_named(change: dict[str, object], reason: str) -> None:
    body = dict(link_body(FUNDING, "public"), **change)
    with pytest.raises(BadBody, match=reason):
        read_link(body)


def test_properties_a_link_type_does_not_take_are_not_kept() -> None:
    body = link_body(FUNDING, "public")
    body["properties"].update(trust="1", visibility="public", publisher="test")
    assert set(read_link(body).properties) == {"amount", "currency", "year"}
