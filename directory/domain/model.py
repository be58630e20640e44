"""The records of the directory, as plain values that every import, export and API shares.

A record here has already been validated (see `directory.domain.validation`): constructing one by hand
skips those checks, so only the validators and the store build them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Visibility(StrEnum):
    """Who may see a record. Ordered from most to least open."""

    PUBLIC = "public"
    NETWORK = "network"
    RESTRICTED = "restricted"


class Precision(StrEnum):
    """How precisely a location is published. Ordered from most to least precise."""

    EXACT = "exact"
    LOCALITY = "locality"
    ADMIN_AREA = "admin_area"
    COUNTRY = "country"
    HIDDEN = "hidden"


class Presence(StrEnum):
    """Whether a service is delivered in a place or reaches it remotely (OCHA's present/reach)."""

    PRESENT = "present"
    REMOTE = "remote"


LINK_TYPES = ("REFERS_TO", "PARTNERS_WITH", "MEMBER_OF", "FUNDS", "VETTED_BY")

# Default visibility of each link type when a file does not say: funding can endanger the
# funded, so it is restricted unless the donor chose to publish it.
LINK_DEFAULT_VISIBILITY = {
    "REFERS_TO": Visibility.NETWORK,
    "PARTNERS_WITH": Visibility.PUBLIC,
    "MEMBER_OF": Visibility.PUBLIC,
    "FUNDS": Visibility.RESTRICTED,
    "VETTED_BY": Visibility.NETWORK,
}


# The properties a link may carry, each with its kind (which ones a type takes: validation.link).
LINK_PROPERTIES = {"confirmed": "text", "response_hours": "number", "formal": "boolean", "trust": "number",
                   "amount": "number", "currency": "text", "year": "integer", "purpose": "text"}


@dataclass
class Location:
    latitude: float | None
    longitude: float | None
    precision: Precision
    country: str | None = None
    subdivision: str | None = None


@dataclass(frozen=True)
class Provenance:
    """Set by the store on records it reads: who published the record, which revision, when.

    For a record merged from a peer's feed, also the entry and checkpoint it came in, when it was
    fetched, whether the peer lets it be passed on, and whether the peer's feed has gone stale."""

    publisher: str
    revision: int
    updated_at: str
    feed_audience: str | None = None
    feed_entry: int | None = None
    feed_checkpoint: str | None = None
    fetched_at: str | None = None
    redistribute: bool | None = None
    stale: bool = False


@dataclass
class Organisation:
    id: str
    name: str
    kind: str
    visibility: Visibility = Visibility.PUBLIC
    aliases: list[str] = field(default_factory=list)
    description: str = ""
    website: str = ""
    languages: list[str] = field(default_factory=list)
    contact_channels: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    location: Location | None = None
    source: str = ""
    provenance: Provenance | None = None


@dataclass
class Coverage:
    place: str
    presence: Presence


@dataclass
class Service:
    id: str
    organisation: str
    name: str
    type: str
    visibility: Visibility = Visibility.PUBLIC
    description: str = ""
    eligibility: str = ""
    capacity: int | None = None
    capacity_unit: str = ""
    capacity_confirmed: str = ""
    response_hours: float | None = None
    languages: list[str] = field(default_factory=list)
    cost: str = ""
    status: str = "active"
    coverage: list[Coverage] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    provenance: Provenance | None = None


@dataclass
class Link:
    """A relationship between two organisations. Identified by type, source, target and key.

    The key is empty except where one pair may hold several links of a type (funding by year
    and purpose).
    """

    type: str
    source: str
    target: str
    visibility: Visibility
    key: str = ""
    properties: dict[str, object] = field(default_factory=dict)


SERVICE_STATUSES = ("active", "inactive", "defunct", "temporarily closed")


@dataclass(frozen=True)
class Referral:
    """One REFERS_TO link: `source` refers people to `target`."""

    source: str
    target: str
    response_hours: float | None = None
    trust: float | None = None
    formal: bool | None = None
    confirmed: str | None = None


@dataclass(frozen=True)
class Indicator:
    name: str
    place: str  # ISO 3166-1 alpha-2 country or ISO 3166-2 subdivision code
    year: int
    value: float
    source: str
    visibility: Visibility = Visibility.PUBLIC

    @property
    def key(self) -> str:
        return f"{self.name}|{self.place}|{self.year}"


def link_id(source: str, kind: str, target: str, key: str = "") -> str:
    """A link's record id (in feeds and the audit log): its source, type, target and key."""
    return f"{source} {kind} {target} {key}".rstrip()


def link_ends(record_id: str) -> dict[str, str] | None:
    """A link's record id as its ends, type and key; None when it is not one."""
    parts = record_id.split(" ", 3)
    if len(parts) < 3:
        return None
    source, kind, target, *key = parts
    return {"source": source, "type": kind, "target": target, "key": key[0] if key else ""}
