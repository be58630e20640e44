"""The one declaration of each field: every record field is declared, and `redact` and the feed
bodies follow it for every field of every audience, not only the ones named in other tests."""

from __future__ import annotations

from dataclasses import fields

import pytest

from directory.domain import fields as declared
from directory.domain.fields import Audience, redact
from directory.domain.model import (
    Coverage,
    Intake,
    Location,
    Organisation,
    Precision,
    Presence,
    Provenance,
    Service,
    Status,
    Verification,
    Visibility,
    Window,
)
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from federation.bodies import organisation_body, service_body

pytestmark = pytest.mark.pure

MEMBER = Viewer("member", "test:other", "t")
OWNER = Viewer("member", "test:o", "t")


CHECKED = Verification("2026-01-01", "a steward", "https://example.org/about")
INTAKE = [Intake("hotline", "+570001", Visibility.PUBLIC), Intake("signal", "+570002", Visibility.NETWORK),
          Intake("email", "case@example.org", Visibility.RESTRICTED)]


def full_organisation() -> Organisation:
    """Every field given, so a field redaction forgot shows."""
    return Organisation(id="test:o", name="Name", kind="local-group", visibility=Visibility.PUBLIC, aliases=["Alias"],
                        description="About", website="https://example.org", languages=["es"],
                        contact_channels=["signal:+570000"], identifiers=["CO-RUT-1"],
                        location=Location(4.61, -74.08, Precision.LOCALITY, "CO", "CO-DC"), source="file.csv",
                        verified=CHECKED, provenance=Provenance("test", 1, "2026-01-01"))


def full_service() -> Service:
    return Service(id="test:s", organisation="test:o", name="Legal aid", type="legal-aid",
                   visibility=Visibility.PUBLIC, description="About", eligibility="Anyone", capacity=5,
                   capacity_unit="cases", capacity_confirmed="2026-01-01", response_hours=24.0, languages=["es"],
                   cost="free", status=Status.PAUSED, status_since="2026-02-01", status_reason="no funds",
                   status_source="https://example.org/news", coverage=[Coverage("CO", Presence.PRESENT)],
                   origins=["VE"], groups=["journalists"], purposes=["relocation-in-country"],
                   application_process="Write to us", intake=INTAKE, hours="24/7",
                   windows=[Window("2026-03-01", "2026-03-31", "call")], intake_languages=["quc", "mul"],
                   exclusions="No groups in exile", verified=CHECKED, provenance=Provenance("test", 1, "2026-01-01"))


@pytest.mark.parametrize(("kind", "table"), [(Organisation, declared.ORGANISATION), (Service, declared.SERVICE)])
def test_every_field_of_a_record_is_declared_once(kind: type, table: dict[str, declared.Field]) -> None:
    assert sorted(f.name for f in fields(kind)) == sorted(table)


@pytest.mark.parametrize(("record", "table"), [(full_organisation(), declared.ORGANISATION),
                                               (full_service(), declared.SERVICE)])
def test_redact_empties_each_field_beyond_the_view_and_keeps_the_rest(record: Organisation | Service,
                                                                      table: dict[str, declared.Field]) -> None:
    empty = declared.empty_values(type(record))
    for viewer, reaches in ((ANONYMOUS, {Audience.PUBLIC}), (MEMBER, {Audience.PUBLIC, Audience.NETWORK}),
                            (OWNER, {Audience.PUBLIC, Audience.NETWORK, Audience.OWNER}), (STEWARD, set(Audience))):
        seen = redact(record, viewer)
        for name, field in table.items():
            if field.audience not in reaches:
                assert getattr(seen, name) == empty[name], (viewer.role, name)
            elif name != "location" and not field.itemised:
                assert getattr(seen, name) == getattr(record, name), (viewer.role, name)
            given = name == "visibility" or getattr(record, name) != empty[name]
            assert given, f"full_{type(record).__name__.lower()} leaves {name} empty"


def test_each_intake_channel_is_shown_to_the_views_its_own_visibility_reaches() -> None:
    service = full_service()
    assert [i.value for i in redact(service, ANONYMOUS).intake] == ["+570001"]
    assert [i.value for i in redact(service, MEMBER).intake] == ["+570001", "+570002"]
    assert redact(service, OWNER).intake == INTAKE and redact(service, STEWARD).intake == INTAKE


def test_a_location_is_published_unless_the_view_is_whole_and_withheld_from_the_public_of_a_lonely_shelter() -> None:
    o = full_organisation()
    assert redact(o, OWNER).location == o.location and redact(o, STEWARD).location == o.location
    shown = redact(o, MEMBER).location
    assert shown is not None and (shown.latitude, shown.longitude) != (4.61, -74.08)
    hidden = redact(o, ANONYMOUS, place_withheld=True).location
    assert hidden is not None and hidden.latitude is None and hidden.country is None
    assert redact(full_service(), ANONYMOUS, place_withheld=True).coverage == []
    assert redact(full_service(), MEMBER, place_withheld=True).coverage == full_service().coverage


@pytest.mark.parametrize("audience", ["public", "network"])
def test_feed_bodies_carry_exactly_the_fields_their_audience_reaches(audience: str) -> None:
    bodies = [(organisation_body(full_organisation(), audience), declared.ORGANISATION),
              (service_body(full_service(), audience), declared.SERVICE)]
    for body, table in bodies:
        for name, field in table.items():
            if name in body and field.audience is Audience.NETWORK:
                assert bool(body[name]) == (audience == "network"), (audience, name)
