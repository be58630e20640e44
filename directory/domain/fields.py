"""Each field of a record, declared once: who may see it, how long it may be, and its precision rule.

Every channel (GraphQL, maps, exports, feeds, CSV answers, the pages) reads records through the
store's door, which gives each one through `redact(record, viewer)`: a field the viewer's view of
that record does not reach is emptied, and a location is shown at the precision that view may see
(`directory.domain.location.published`). The store's job reads (capacity in a gap cell), the map
points (contact channels in a popup) and the feed bodies ask `shown_in(view, field)` of the same
declaration. The validators take their limits from it.

Audiences, from most to least open (`Viewer.view_of` says which view a viewer has of a record):
- public: anyone the record itself is visible to;
- network: members of any organisation, and the record's own members and stewards;
- owner: the owning organisation's members and stewards;
- steward: stewards only.

Adding a field: declare it in `model.py` and here; only the formats that name it (HXL, HSDS, the
feed body, the GraphQL type and input) genuinely differ.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any, TypeVar

from directory.domain.location import published
from directory.domain.model import Location, Organisation, Precision, Service
from directory.domain.viewer import SEES, Viewer


class Audience(StrEnum):
    PUBLIC = "public"
    NETWORK = "network"
    OWNER = "owner"
    STEWARD = "steward"


class Place(StrEnum):
    """How a field that says where a record is, or works, is shown."""

    NONE = "none"  # says nothing about where
    PUBLISHED = "published"  # a point: at the record's published precision unless the view is whole
    WITHHELD = "withheld"  # gone from the public view of a shelter too few others share a place with


@dataclass(frozen=True)
class Field:
    audience: Audience = Audience.PUBLIC
    chars: int | None = None  # the longest text (for a list: each item)
    items: int | None = None  # the most items of a list
    place: Place = Place.NONE
    merged: bool = False  # taken from other directories' records of the same organisation (`sameas`)
    itemised: bool = False  # each item carries its own visibility (`model.Intake`), shown per view


PUBLIC = Field()
TEXT = 2000

ORGANISATION: dict[str, Field] = {
    "id": PUBLIC, "visibility": PUBLIC, "provenance": PUBLIC,
    # in this order in the merged view (`store.federation.sameas`)
    "name": Field(chars=300, merged=True),
    "kind": Field(merged=True),
    "description": Field(chars=5000, merged=True),
    "website": Field(chars=500, merged=True),
    "languages": Field(items=50, merged=True),
    "identifiers": Field(chars=200, items=20, merged=True),
    "contact_channels": Field(Audience.NETWORK, chars=300, items=20, merged=True),
    "aliases": Field(chars=300, items=50, merged=True),
    "location": Field(place=Place.WITHHELD),
    "source": Field(chars=500),
    "verified": Field(chars=500),  # each of who and against what
}
SERVICE: dict[str, Field] = {
    "id": PUBLIC, "organisation": PUBLIC, "type": PUBLIC, "visibility": PUBLIC, "provenance": PUBLIC,
    "status": PUBLIC, "response_hours": PUBLIC, "status_since": PUBLIC, "hours": Field(chars=300),
    "status_reason": Field(chars=TEXT),
    "status_source": Field(chars=500),
    "name": Field(chars=300),
    "description": Field(chars=5000),
    "eligibility": Field(chars=TEXT),
    "cost": Field(chars=TEXT),
    "capacity": Field(Audience.NETWORK),
    "capacity_unit": Field(Audience.NETWORK, chars=TEXT),
    "capacity_confirmed": Field(Audience.NETWORK),
    "languages": Field(items=50),
    "groups": Field(items=50),
    "coverage": Field(items=500, place=Place.WITHHELD),
    "origins": Field(items=500, place=Place.WITHHELD),  # a shelter takes defenders from where it is, often
    "purposes": Field(items=20),
    "application_process": Field(chars=TEXT),
    "intake": Field(chars=300, items=20, itemised=True),
    "windows": Field(chars=300, items=20),
    "intake_languages": Field(items=50),
    "exclusions": Field(chars=TEXT),
    "verified": Field(chars=500),
}
DECLARED = {Organisation: ORGANISATION, Service: SERVICE}

# What each view reaches (`Viewer.view_of`): whole is a steward's or the owner's own.
_REACHES = {"public": {Audience.PUBLIC}, "network": {Audience.PUBLIC, Audience.NETWORK},
            "whole": {Audience.PUBLIC, Audience.NETWORK, Audience.OWNER}}


def shown_in(view: str, field: Field, steward: bool = False) -> bool:
    """Whether a viewer with this view of a record sees the field."""
    return field.audience in _REACHES[view] or (steward and field.audience is Audience.STEWARD)


def sees(viewer: Viewer, field: Field) -> bool:
    """Whether the viewer sees the field on records it does not own (job reads, map points)."""
    return shown_in(viewer.view, field, viewer.role == "steward")


def merged(declared: dict[str, Field]) -> tuple[str, ...]:
    return tuple(name for name, f in declared.items() if f.merged)


def itemised(declared: dict[str, Field]) -> tuple[str, ...]:
    """The fields whose items each carry a visibility (`Field.itemised`)."""
    return tuple(name for name, f in declared.items() if f.itemised)


R = TypeVar("R", Organisation, Service)
_EMPTY: dict[type, dict[str, Any]] = {}


def empty_values(kind: type) -> dict[str, Any]:
    """Each field's empty value, from the record type's own defaults."""
    if kind not in _EMPTY:
        out: dict[str, Any] = {}
        for f in fields(kind):
            out[f.name] = f.default_factory() if callable(f.default_factory) else f.default
        _EMPTY[kind] = out
    return _EMPTY[kind]


def redact(record: R, viewer: Viewer, place_withheld: bool = False) -> R:
    """The record as this viewer may see it. `place_withheld`: the record is (or belongs to) a
    shelter whose place too few others share (`store.records.shelters`), so the public sees
    neither where it is nor where its services work."""
    owner = record.id if isinstance(record, Organisation) else record.organisation
    view = viewer.view_of(owner)
    steward = viewer.role == "steward"
    empty = empty_values(type(record))
    changes: dict[str, Any] = {}
    for name, field in DECLARED[type(record)].items():
        if not shown_in(view, field, steward):
            changes[name] = empty[name]
        elif field.itemised:
            kept = [item for item in getattr(record, name) if item.visibility in SEES[view]]
            if len(kept) != len(getattr(record, name)):
                changes[name] = kept
        elif field.place is Place.WITHHELD and place_withheld and view == "public" and name != "location":
            changes[name] = empty[name]
        elif name == "location" and isinstance(record, Organisation) and record.location:
            shown = shown_location(record.location, record.id, view, place_withheld)
            if shown is not record.location:
                changes[name] = shown
    return replace(record, **changes) if changes else record


def shown_location(location: Location, record: str, view: str, place_withheld: bool = False,
                   point: bool = True) -> Location:
    """An organisation's location as a view of it shows it: recorded for the whole view, nothing
    for the public when its place is withheld (a shelter), else at its published precision
    (`point=False`: without a coarsened point, see `published`)."""
    if view == "whole":
        return location
    if place_withheld and view == "public":
        return Location(None, None, Precision.HIDDEN, None, None)
    return published(location, record, point)
