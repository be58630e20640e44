"""GraphQL types: thin views over the records the store already filtered for the viewer."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from directory import model
from schema.context import Context


@strawberry.enum
class Visibility(Enum):
    PUBLIC = "public"
    NETWORK = "network"
    RESTRICTED = "restricted"


@strawberry.enum
class Precision(Enum):
    EXACT = "exact"
    LOCALITY = "locality"
    ADMIN_AREA = "admin_area"
    COUNTRY = "country"
    HIDDEN = "hidden"


@strawberry.enum
class Presence(Enum):
    PRESENT = "present"
    REMOTE = "remote"


@strawberry.type(description="Who published a record, its revision and when it last changed.")
class Provenance:
    publisher: str
    revision: int
    updated_at: str


@strawberry.type(description="A location at the precision this viewer may see; never more precise.")
class Location:
    latitude: float | None
    longitude: float | None
    precision: Precision
    country: str | None
    subdivision: str | None


@strawberry.type
class Coverage:
    place: str
    presence: Presence


@strawberry.type
class Service:
    id: strawberry.ID
    name: str
    type: str
    description: str
    eligibility: str
    capacity: int | None = strawberry.field(description="Network members only; null for anonymous viewers.")
    capacity_unit: str
    capacity_confirmed: str
    response_hours: float | None
    languages: list[str]
    cost: str
    status: str
    coverage: list[Coverage]
    groups: list[str]
    visibility: Visibility
    provenance: Provenance

    @classmethod
    def of(cls, s: model.Service) -> Service:
        assert s.provenance is not None
        return cls(
            id=strawberry.ID(s.id), name=s.name, type=s.type, description=s.description, eligibility=s.eligibility,
            capacity=s.capacity, capacity_unit=s.capacity_unit, capacity_confirmed=s.capacity_confirmed,
            response_hours=s.response_hours, languages=s.languages, cost=s.cost, status=s.status,
            coverage=[Coverage(place=c.place, presence=Presence(c.presence.value)) for c in s.coverage],
            groups=s.groups, visibility=Visibility(s.visibility.value),
            provenance=Provenance(publisher=s.provenance.publisher, revision=s.provenance.revision,
                                  updated_at=s.provenance.updated_at),
        )


@strawberry.type
class Organisation:
    id: strawberry.ID
    name: str
    kind: str
    aliases: list[str]
    description: str
    website: str
    languages: list[str]
    contact_channels: list[str] = strawberry.field(description="Network members only; empty for anonymous viewers.")
    identifiers: list[str]
    location: Location | None
    source: str
    visibility: Visibility
    provenance: Provenance

    @strawberry.field(description="The services this organisation offers that the viewer may see.")
    async def services(self, info: Info[Context, None]) -> list[Service]:
        return [Service.of(s) for s in await info.context.services.load(str(self.id))]

    @classmethod
    def of(cls, o: model.Organisation) -> Organisation:
        assert o.provenance is not None
        loc = o.location
        return cls(
            id=strawberry.ID(o.id), name=o.name, kind=o.kind, aliases=o.aliases, description=o.description,
            website=o.website, languages=o.languages, contact_channels=o.contact_channels,
            identifiers=o.identifiers, source=o.source, visibility=Visibility(o.visibility.value),
            location=Location(latitude=loc.latitude, longitude=loc.longitude, precision=Precision(loc.precision.value),
                              country=loc.country, subdivision=loc.subdivision) if loc else None,
            provenance=Provenance(publisher=o.provenance.publisher, revision=o.provenance.revision,
                                  updated_at=o.provenance.updated_at),
        )


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class OrganisationEdge:
    node: Organisation
    cursor: str


@strawberry.type
class OrganisationConnection:
    total_count: int
    edges: list[OrganisationEdge]
    page_info: PageInfo


@strawberry.input(description="All given conditions must hold.")
class OrganisationFilter:
    kind: str | None = None
    service_type: str | None = None
    country: str | None = strawberry.field(default=None, description="Based in, or offering a service there.")
    group: str | None = strawberry.field(default=None, description="Defender group served by one of its services.")
    language: str | None = None
