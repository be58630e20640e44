"""GraphQL object types: thin views over the records the store already filtered for the viewer."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from directory.base.clock import now
from directory.domain import model
from directory.domain.validation import require_day
from directory.store import merged_view
from schema.context import Context, LinkKey


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


@strawberry.enum(description="The relationships between organisations.")
class LinkType(Enum):
    REFERS_TO = "REFERS_TO"
    PARTNERS_WITH = "PARTNERS_WITH"
    MEMBER_OF = "MEMBER_OF"
    FUNDS = "FUNDS"
    VETTED_BY = "VETTED_BY"
    DELIVERS_FOR = "DELIVERS_FOR"
    ENGAGES_WITH = "ENGAGES_WITH"


@strawberry.enum
class Direction(Enum):
    OUTGOING = "out"
    INCOMING = "in"


def global_id(type_name: str, record_id: str) -> strawberry.ID:
    """Relay ids name the type, so one `node(id)` finds any record: `Organisation:local:fld`."""
    return strawberry.ID(f"{type_name}:{record_id}")


@strawberry.interface(description="Anything with a global id, fetched again with `node(id)`.")
class Node:
    id: strawberry.ID


@strawberry.type(description="Who published a record, its revision and when it last changed.")
class Provenance:
    publisher: str = strawberry.field(description="The directory that published the record (its id namespace).")
    revision: int = strawberry.field(description="The publisher's revision of the record.")
    updated_at: str
    feed_audience: str | None = strawberry.field(
        default=None, description="For a record from a peer: the feed it came in (public or network).")
    feed_entry: int | None = strawberry.field(
        default=None, description="For a record from a peer: the sequence number of its entry in that feed.")
    feed_checkpoint: str | None = strawberry.field(
        default=None, description="For a record from a peer: the signed checkpoint it was verified against, "
                                  "as size:root.")
    fetched_at: str | None = strawberry.field(default=None, description="For a record from a peer: when we fetched it.")
    redistribute: bool | None = strawberry.field(
        default=None, description="For a record from a peer: whether the peer lets it be passed on.")
    stale: bool = strawberry.field(
        default=False, description="The peer's feed expired without being re-signed: the record may be out of date.")

    @classmethod
    def of(cls, p: model.Provenance | None) -> Provenance:
        assert p is not None, "the store sets provenance on every record it reads"
        return cls(publisher=p.publisher, revision=p.revision, updated_at=p.updated_at,
                   feed_audience=p.feed_audience, feed_entry=p.feed_entry, feed_checkpoint=p.feed_checkpoint,
                   fetched_at=p.fetched_at, redistribute=p.redistribute, stale=p.stale)


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


@strawberry.type(description="Who checked a record against which source, and when (not when it was last written).")
class Verification:
    on: str | None = strawberry.field(description="The day it was checked, YYYY-MM-DD.")
    by: str
    source: str = strawberry.field(description="What it was checked against, usually the provider's public page.")

    @classmethod
    def of(cls, v: model.Verification) -> Verification:
        return cls(on=v.on or None, by=v.by, source=v.source)


@strawberry.type(description="One way to ask a service for help. Each has its own visibility: a public hotline is "
                             "shown to anyone, a network-only Signal number only to members.")
class IntakeChannel:
    kind: str = strawberry.field(description=f"One of {', '.join(model.INTAKE_KINDS)}.")
    value: str
    visibility: Visibility


@strawberry.type(description="A period when a service takes requests: an open call, an intake round.")
class IntakeWindow:
    opens: str
    closes: str | None = strawberry.field(description="Null when it has no closing date.")
    note: str


@strawberry.type
class Service(Node):
    record_id: str = strawberry.field(description="The directory's own id, as in imports and exports.")
    organisation_id: str
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
    status: str = strawberry.field(description="active, paused or closed: only an active service takes requests.")
    status_since: str | None
    status_reason: str
    status_source: str
    coverage: list[Coverage] = strawberry.field(description="Where it is delivered; for relocation, where defenders "
                                                            "are hosted.")
    origins: list[str] = strawberry.field(description="For relocation and exile support: where defenders may come "
                                                      "from. Empty when it does not say.")
    groups: list[str]
    purposes: list[str] = strawberry.field(description="Service types a grant pays for (a search for one finds it).")
    application_process: str = strawberry.field(description="How to ask for help, in the provider's words.")
    intake: list[IntakeChannel] = strawberry.field(description="The ways to ask that this viewer may see.")
    hours: str
    intake_windows: list[IntakeWindow]
    intake_languages: list[str] = strawberry.field(description="Languages a request may be made in; mul: any.")
    exclusions: str = strawberry.field(description="Who or what it does not serve.")
    verified: Verification
    visibility: Visibility
    provenance: Provenance
    record: strawberry.Private[model.Service]

    @strawberry.field(description="Active, and inside one of its intake windows if it has any, on `on` "
                                  "(YYYY-MM-DD; today when not given).")
    def taking_requests(self, on: str | None = None) -> bool:
        return self.record.taking_requests(require_day(on, "on") if on else now()[:10])

    @strawberry.field(description="The provider, if this viewer may see it (a service is only shown with it).")
    async def organisation(self, info: Info[Context, None]) -> Organisation | None:
        found = await info.context.organisations.load(self.organisation_id)
        return Organisation.of(found) if found else None

    @classmethod
    def of(cls, s: model.Service) -> Service:
        return cls(
            id=global_id("Service", s.id), record_id=s.id, organisation_id=s.organisation, name=s.name, type=s.type,
            description=s.description, eligibility=s.eligibility, capacity=s.capacity, capacity_unit=s.capacity_unit,
            capacity_confirmed=s.capacity_confirmed, response_hours=s.response_hours, languages=s.languages,
            cost=s.cost, status=s.status.value, status_since=s.status_since or None, status_reason=s.status_reason,
            status_source=s.status_source,
            coverage=[Coverage(place=c.place, presence=Presence(c.presence.value)) for c in s.coverage],
            origins=s.origins, groups=s.groups, purposes=s.purposes, application_process=s.application_process,
            intake=[IntakeChannel(kind=i.kind, value=i.value, visibility=Visibility(i.visibility.value))
                    for i in s.intake],
            hours=s.hours, intake_windows=[IntakeWindow(opens=w.opens, closes=w.closes or None, note=w.note)
                                           for w in s.windows],
            intake_languages=s.intake_languages, exclusions=s.exclusions, verified=Verification.of(s.verified),
            visibility=Visibility(s.visibility.value), provenance=Provenance.of(s.provenance), record=s,
        )


@strawberry.type(description="A relationship between two organisations that the viewer may see, with both ends.")
class Link:
    type: LinkType
    source_id: str
    target_id: str
    key: str
    visibility: Visibility
    response_hours: float | None = None
    formal: bool | None = None
    trust: float | None = None
    confirmed: str | None = None
    amount: float | None = None
    currency: str | None = None
    year: int | None = None
    purpose: str | None = None
    stored_revision: strawberry.Private[int] = 0

    @strawberry.field(description="The revision to name when changing or deleting it. 0 unless the viewer sees "
                                  "the link whatever its visibility (a steward, or a member of either end), "
                                  "so no change made while it was hidden from the viewer shows in it.")
    def revision(self, info: Info[Context, None]) -> int:
        # A link has no per-view revision (an organisation's is kept per view, `viewer.py`): its count
        # of changes would tell a public viewer of a published link that it was changed while restricted.
        viewer = info.context.viewer
        return self.stored_revision if viewer.may_write(self.source_id) or viewer.may_write(self.target_id) else 0

    @strawberry.field
    async def source(self, info: Info[Context, None]) -> Organisation | None:
        found = await info.context.organisations.load(self.source_id)
        return Organisation.of(found) if found else None

    @strawberry.field
    async def target(self, info: Info[Context, None]) -> Organisation | None:
        found = await info.context.organisations.load(self.target_id)
        return Organisation.of(found) if found else None

    @classmethod
    def of(cls, link: model.Link) -> Link:
        p = link.properties
        return cls(
            type=LinkType(link.type), source_id=link.source, target_id=link.target, key=link.key,
            visibility=Visibility(link.visibility.value),
            response_hours=_float(p.get("response_hours")), formal=_bool(p.get("formal")),
            trust=_float(p.get("trust")), confirmed=_str(p.get("confirmed")), amount=_float(p.get("amount")),
            currency=_str(p.get("currency")), year=_int(p.get("year")), purpose=_str(p.get("purpose")),
            stored_revision=link.revision,
        )


def _float(v: object) -> float | None:
    return float(v) if isinstance(v, int | float) else None


def _int(v: object) -> int | None:
    return int(v) if isinstance(v, int | float) else None


def _bool(v: object) -> bool | None:
    return v if isinstance(v, bool) else None


def _str(v: object) -> str | None:
    return str(v) if v is not None else None


@strawberry.type
class Organisation(Node):
    record_id: str = strawberry.field(description="The directory's own id, as in imports and exports.")
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
    verified: Verification
    visibility: Visibility
    provenance: Provenance

    @strawberry.field(description="The services this organisation offers that the viewer may see.")
    async def services(self, info: Info[Context, None]) -> list[Service]:
        return [Service.of(s) for s in await info.context.services.load(self.record_id)]

    @strawberry.field(description="Its links the viewer may see: referrals, partnerships, memberships, funding "
                                  "and vetting. Funding is restricted unless the donor published it.")
    async def links(self, info: Info[Context, None], direction: Direction = Direction.OUTGOING,
                    types: list[LinkType] | None = None) -> list[Link]:
        found = await info.context.links.load(LinkKey(self.record_id, direction.value))
        wanted = {t.value for t in types} if types else None
        return [Link.of(x) for x in found if wanted is None or x.type in wanted]

    @strawberry.field(description="Other records of this organisation that the viewer may see, each with its own "
                                  "provenance: confirmed by a steward, or (for stewards only) proposed by a shared "
                                  "org-id.guide identifier (`proposed`), which a steward has yet to confirm or reject.")
    async def same_as(self, info: Info[Context, None]) -> list[SameAs]:
        claims = (await info.context.same_as.load(self.record_id)).claims
        found = await info.context.organisations.load_many([c.organisation for c in claims])
        return [SameAs(organisation=Organisation.of(o), basis=c.basis, proposed=c.proposed)
                for c, o in zip(claims, found, strict=True) if o is not None]

    @strawberry.field(description="How many records a shared org-id.guide identifier proposes as this "
                                  "organisation (for stewards; 0 for others). `sameAs` lists the first 20 of them.")
    async def same_as_proposed(self, info: Info[Context, None]) -> int:
        return (await info.context.same_as.load(self.record_id)).proposed

    @strawberry.field(description="This organisation as its visible records a steward confirmed as one describe "
                                  "it: each field from the first record that has it, our own first, then peers by "
                                  "the precedence their steward gave them. Never the newest across publishers; "
                                  "never a record only proposed by a shared identifier.")
    async def merged(self, info: Info[Context, None]) -> list[MergedField]:
        claims = [c for c in (await info.context.same_as.load(self.record_id)).claims if not c.proposed]
        found = await info.context.organisations.load_many([self.record_id, *(c.organisation for c in claims)])
        records = [o for o in found if o is not None]
        view = merged_view(records, info.context.store.directory_id, await info.context.peer_ranks())
        return [MergedField(field=f.name, values=f.values, publisher=f.publisher, record_id=f.record) for f in view]

    @classmethod
    def of(cls, o: model.Organisation) -> Organisation:
        loc = o.location
        return cls(
            id=global_id("Organisation", o.id), record_id=o.id, name=o.name, kind=o.kind, aliases=o.aliases,
            description=o.description, website=o.website, languages=o.languages, contact_channels=o.contact_channels,
            identifiers=o.identifiers, source=o.source, verified=Verification.of(o.verified),
            visibility=Visibility(o.visibility.value),
            location=Location(latitude=loc.latitude, longitude=loc.longitude, precision=Precision(loc.precision.value),
                              country=loc.country, subdivision=loc.subdivision) if loc else None,
            provenance=Provenance.of(o.provenance),
        )


@strawberry.type(description="Another record of the same organisation, confirmed by a steward or only proposed.")
class SameAs:
    organisation: Organisation
    basis: str = strawberry.field(description="`steward` (confirmed) or `identifier CODE` (a shared org-id.guide "
                                              "identifier: proposed only).")
    proposed: bool = strawberry.field(description="True until a steward confirms it (`directory peer same-as`); "
                                                  "nothing of a proposed record is in `merged`.")


@strawberry.type(description="One field of the merged view, and the record it was taken from.")
class MergedField:
    field: str
    values: list[str]
    publisher: str
    record_id: str


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
    distance_km: float | None = strawberry.field(
        default=None, description="With `near`: distance from its published point; null if matched by country.")


@strawberry.type
class ServiceEdge:
    node: Service
    cursor: str
    distance_km: float | None = strawberry.field(
        default=None, description="With `near`: the provider's distance from its published point.")


@strawberry.type(description="A page of organisations. `totalCount` counts what this viewer may see.")
class OrganisationConnection:
    total_count: int | None
    edges: list[OrganisationEdge]
    page_info: PageInfo


@strawberry.type(description="A page of services. `totalCount` counts what this viewer may see.")
class ServiceConnection:
    total_count: int | None
    edges: list[ServiceEdge]
    page_info: PageInfo


@strawberry.type(description="A search hit: an organisation or a service, and how well it matches.")
class SearchHit:
    score: float = strawberry.field(description="0 to 1, from the record's own visible text only.")
    organisation: Organisation | None
    service: Service | None
    cursor: str


@strawberry.type
class SearchConnection:
    total_count: int
    edges: list[SearchHit]
    page_info: PageInfo


@strawberry.type(description="A taxonomy term: organisation kinds, service types and defender groups.")
class Term:
    scheme: str
    code: str
    label: str
    description: str = strawberry.field(description="What the term means, in one line.")


@strawberry.type(description="How many providers this viewer may see offer a service type in a place.")
class ProviderCount:
    service_type: str
    present: int = strawberry.field(description="Providers delivering the service in the place.")
    remote: int = strawberry.field(description="Providers reaching the place remotely only.")


@strawberry.type(description="A country or subdivision, with the providers that cover it.")
class Place:
    code: str
    name: str
    kind: str
    country: str | None
    region: str
    subregion: str
    providers: list[ProviderCount]
