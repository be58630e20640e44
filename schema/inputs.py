"""GraphQL input types and argument enums."""

from __future__ import annotations

from enum import Enum

import strawberry

from directory.store import Filter, Near, Sort
from schema.types import LinkType, Precision, Visibility


@strawberry.input(description="Within `radiusKm` of a point, judged by each record's published location.")
class NearInput:
    latitude: float
    longitude: float
    radius_km: float


@strawberry.input(description="All given conditions must hold. Places are ISO 3166 codes; the rest taxonomy codes.")
class ListFilter:
    kind: str | None = strawberry.field(default=None, description="Organisation kind (the provider's, for services).")
    service_type: str | None = strawberry.field(
        default=None, description="Of this type, or (for grants) paying for it: relocation finds the grants that "
                                  "pay for relocation.")
    country: str | None = strawberry.field(default=None, description="Based in, or offering a service there.")
    subdivision: str | None = strawberry.field(default=None, description="ISO 3166-2, e.g. CO-ANT.")
    region: str | None = strawberry.field(
        default=None, description="region:Africa, subregion:Western Asia, intermediate:Eastern Africa, an M49 code, "
                                  "or a named region (mena, osce, "
                                  "central-america...: the taxonomy of places in the README).")
    group: str | None = strawberry.field(default=None, description="Defender group served by one of its services.")
    language: str | None = strawberry.field(
        default=None, description="ISO 639-1 or 639-3 code (spa reads as es): a service's languages or those it "
                                  "takes requests in, or, listing none, its organisation's; an organisation's "
                                  "languages. A record listing mul (any language) matches every language; mul asked "
                                  "narrows nothing.")
    verified: bool | None = strawberry.field(
        default=None, description="Vetted, in a link this directory published, by an organisation you may see.")
    updated_since: str | None = strawberry.field(default=None, description="ISO 8601 date or date and time.")
    organisation: str | None = strawberry.field(
        default=None, description="Services of this provider (record id); of organisations, it alone if it matches.")
    status: str | None = strawberry.field(default=None, description="Services: active, paused or closed.")
    taking_requests: bool | None = strawberry.field(
        default=None, description="Services: active, and inside an intake window if they have any, on `today`.")
    today: str | None = strawberry.field(default=None, description="The day `takingRequests` is asked for, "
                                                                   "YYYY-MM-DD; today when not given.")
    near: NearInput | None = None

    def to_store(self) -> Filter:
        near = Near(self.near.latitude, self.near.longitude, self.near.radius_km) if self.near else None
        values = {k: v for k, v in vars(self).items() if k != "near"}
        return Filter(**values, near=near)


@strawberry.enum
class SortOrder(Enum):
    NAME = "name"
    DISTANCE = "distance"
    RESPONSE_TIME = "response_time"
    UPDATED = "updated"

    def to_store(self) -> Sort:
        return Sort(self.value)


@strawberry.enum
class SearchKind(Enum):
    ORGANISATION = "organisation"
    SERVICE = "service"


@strawberry.input(description="An organisation's fields. On update, fields left out keep their value.")
class OrganisationInput:
    name: str | None = strawberry.UNSET
    kind: str | None = strawberry.UNSET
    visibility: Visibility | None = strawberry.UNSET
    aliases: list[str] | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    website: str | None = strawberry.UNSET
    languages: list[str] | None = strawberry.UNSET
    contact_channels: list[str] | None = strawberry.UNSET
    identifiers: list[str] | None = strawberry.UNSET
    country: str | None = strawberry.UNSET
    subdivision: str | None = strawberry.UNSET
    latitude: float | None = strawberry.UNSET
    longitude: float | None = strawberry.UNSET
    precision: Precision | None = strawberry.UNSET
    source: str | None = strawberry.UNSET
    verified_on: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="YYYY-MM-DD, not after today. Verification is a steward's to record: a member's change of "
                    "it (on, by or source) is FORBIDDEN.")
    verified_by: str | None = strawberry.UNSET
    verified_source: str | None = strawberry.UNSET


@strawberry.input(description="One way to ask for help, with who may see it (network when not given).")
class IntakeChannelInput:
    kind: str
    value: str
    visibility: Visibility = Visibility.NETWORK

    def as_text(self) -> str:
        return f"{self.visibility.value} {self.kind}:{self.value}"


@strawberry.input(description="An intake window or open call: dates as YYYY-MM-DD; no closing date for open-ended.")
class IntakeWindowInput:
    opens: str
    closes: str | None = None
    note: str = ""

    def as_text(self) -> str:
        return f"{self.opens}/{self.closes or ''}" + (f" {self.note}" if self.note else "")


@strawberry.input(description="A service's fields. On update, fields left out keep their value.")
class ServiceInput:
    name: str | None = strawberry.UNSET
    type: str | None = strawberry.UNSET
    visibility: Visibility | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    eligibility: str | None = strawberry.UNSET
    capacity: int | None = strawberry.UNSET
    capacity_unit: str | None = strawberry.UNSET
    capacity_confirmed: str | None = strawberry.field(
        default=strawberry.UNSET, description="The day the capacity was last confirmed (YYYY-MM-DD); a new "
                                              "capacity given without it is confirmed today.")
    response_hours: float | None = strawberry.UNSET
    languages: list[str] | None = strawberry.UNSET
    cost: str | None = strawberry.UNSET
    status: str | None = strawberry.field(
        default=strawberry.UNSET, description="active, paused or closed; a new status given without "
                                              "statusSince is as of today.")
    present_in: list[str] | None = strawberry.field(default=strawberry.UNSET,
                                                    description="Coverage: places the service is delivered in.")
    reaches: list[str] | None = strawberry.field(default=strawberry.UNSET,
                                                 description="Coverage: places it reaches remotely.")
    groups: list[str] | None = strawberry.field(default=strawberry.UNSET, description="Defender groups served.")
    status_since: str | None = strawberry.UNSET
    status_reason: str | None = strawberry.UNSET
    status_source: str | None = strawberry.UNSET
    origins: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Relocation and exile support: places defenders may come from.")
    purposes: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Service types a grant pays for.")
    application_process: str | None = strawberry.UNSET
    intake: list[IntakeChannelInput] | None = strawberry.UNSET
    hours: str | None = strawberry.UNSET
    windows: list[IntakeWindowInput] | None = strawberry.UNSET
    intake_languages: list[str] | None = strawberry.UNSET
    exclusions: str | None = strawberry.UNSET
    verified_on: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="YYYY-MM-DD, not after today. Verification is a steward's to record: a member's change of "
                    "it (on, by or source) is FORBIDDEN.")
    verified_by: str | None = strawberry.UNSET
    verified_source: str | None = strawberry.UNSET


@strawberry.input(description="Which link: its type, both ends (record ids) and key (funding: the year).")
class LinkRef:
    type: LinkType
    source: str
    target: str
    key: str = ""


@strawberry.input(description="A link's properties. On update, fields left out keep their value.")
class LinkInput:
    visibility: Visibility | None = strawberry.UNSET
    confirmed: str | None = strawberry.UNSET
    response_hours: float | None = strawberry.UNSET
    formal: bool | None = strawberry.UNSET
    trust: float | None = strawberry.UNSET
    amount: float | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    year: int | None = strawberry.UNSET
    purpose: str | None = strawberry.UNSET


def given(value: object) -> dict[str, object]:
    """The fields a client set, by our field name, with enums as their codes."""
    out: dict[str, object] = {}
    for name, v in vars(value).items():
        if v is strawberry.UNSET:
            continue
        if isinstance(v, list):
            v = [x.as_text() if hasattr(x, "as_text") else x for x in v]
        out[name] = v.value if isinstance(v, Enum) else v
    return out
