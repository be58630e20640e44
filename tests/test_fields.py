"""The one declaration of each field: every record field is declared, and `redact` and the feed
bodies follow it for every field of every audience, not only the ones named in other tests."""

from __future__ import annotations

from dataclasses import fields

import pytest

from directory.domain import fields as declared
from directory.domain.fields import Audience, redact
from directory.domain.model import (
    Coverage,
    Location,
    Organisation,
    Precision,
    Presence,
    Provenance,
    Service,
    Visibility,
)
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from federation.bodies import organisation_body, service_body

pytestmark = pytest.mark.pure

MEMBER = Viewer("member", "test:other", "t")
OWNER = Viewer("member", "test:o", "t")


def full_organisation() -> Organisation:
    return Organisation("test:o", "Name", "local-group", Visibility.PUBLIC, ["Alias"], "About",
                        "https://example.org", ["es"], ["signal:+570000"], ["CO-RUT-1"],
                        Location(4.61, -74.08, Precision.LOCALITY, "CO", "CO-DC"), "file.csv",
                        Provenance("test", 1, "2026-01-01"))


def full_service() -> Service:
    return Service("test:s", "test:o", "Legal aid", "legal-aid", Visibility.PUBLIC, "About", "Anyone", 5, "cases",
                   "2026-01-01", 24.0, ["es"], "free", "active", [Coverage("CO", Presence.PRESENT)], ["journalists"],
                   Provenance("test", 1, "2026-01-01"))


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
            elif name != "location":
                assert getattr(seen, name) == getattr(record, name), (viewer.role, name)


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
