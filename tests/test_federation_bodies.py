"""Feed bodies: what an audience may see of a record, with no floats, and read back whole."""

from __future__ import annotations

import pytest

from directory.model import Coverage, Link, Location, Organisation, Precision, Presence, Service, Visibility
from federation.bodies import (
    BadBody,
    link_body,
    organisation_body,
    read_link,
    read_organisation,
    read_service,
    service_body,
)
from federation.canonical import canonical, parse

ORG = Organisation(id="peer.example:casa", name="Casa Luz", kind="local-group", visibility=Visibility.NETWORK,
                   languages=["es"], contact_channels=["signal:+00 1"], identifiers=["CO-NIT:900"],
                   location=Location(6.203, -75.592, Precision.LOCALITY, "CO", "CO-ANT"))
SERVICE = Service(id="peer.example:casa-legal", organisation="peer.example:casa", name="Legal aid", type="legal-aid",
                  capacity=4, capacity_unit="cases", capacity_confirmed="2026-11-01", response_hours=12.5,
                  coverage=[Coverage("CO", Presence.PRESENT)], groups=["journalists"])


def test_a_network_body_round_trips_through_canonical_bytes() -> None:
    body = organisation_body(ORG, "network")
    assert parse(canonical(body)) == body  # no floats: it can be signed at all
    assert body["location"]["latitude"] == "6.203"
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
    ("name", 5, "name is missing or not a str"),
    ("languages", ["es", 3], "languages holds something"),
    ("visibility", "secret", "'secret' is not one of"),
])
def test_a_bad_body_names_the_record_and_member(member: str, value: object, reason: str) -> None:
    body = organisation_body(ORG, "network")
    body[member] = value
    with pytest.raises(BadBody, match=reason) as caught:
        read_organisation(body)
    assert caught.value.record == "peer.example:casa"


def test_a_coordinate_that_is_not_a_decimal_is_named() -> None:
    body = organisation_body(ORG, "network")
    body["location"]["latitude"] = "six"
    with pytest.raises(BadBody, match="latitude 'six' is not a decimal number"):
        read_organisation(body)
