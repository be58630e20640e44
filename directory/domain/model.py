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


class Status(StrEnum):
    """Whether a service takes requests today: a paused or closed one is never offered as help."""

    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


# Words HSDS and files written before schema version 10 use for a status.
STATUS_ALIASES = {"inactive": Status.PAUSED, "temporarily closed": Status.PAUSED, "defunct": Status.CLOSED}

# DELIVERS_FOR: a member delivers a consortium's programme (member -> consortium).
# ENGAGES_WITH: "vertical articulation", a group working with a UN, regional or diplomatic mechanism.
LINK_TYPES = ("REFERS_TO", "PARTNERS_WITH", "MEMBER_OF", "FUNDS", "VETTED_BY", "DELIVERS_FOR", "ENGAGES_WITH")

# Default visibility of each link type when a file does not say: funding can endanger the
# funded, so it is restricted unless the donor chose to publish it.
LINK_DEFAULT_VISIBILITY = {
    "REFERS_TO": Visibility.NETWORK,
    "PARTNERS_WITH": Visibility.PUBLIC,
    "MEMBER_OF": Visibility.PUBLIC,
    "FUNDS": Visibility.RESTRICTED,
    "VETTED_BY": Visibility.NETWORK,
    "DELIVERS_FOR": Visibility.PUBLIC,
    # cooperating with the UN and regional mechanisms draws reprisals: restricted unless published
    "ENGAGES_WITH": Visibility.RESTRICTED,
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


@dataclass(frozen=True)
class Verification:
    """Who checked a record against which source, and when: distinct from when it was last written,
    so re-importing old data does not make it look fresh."""

    on: str = ""  # YYYY-MM-DD
    by: str = ""
    source: str = ""


@dataclass(frozen=True)
class Intake:
    """One way to ask a service for help. Each carries its own visibility: a public hotline may be
    shown to anyone while a Signal number stays with the network."""

    kind: str  # INTAKE_KINDS
    value: str
    visibility: Visibility = Visibility.NETWORK

    def __str__(self) -> str:
        return f"{self.visibility.value} {self.kind}:{self.value}"

    @classmethod
    def of(cls, text: str) -> Intake:
        """From its text form (`str`), as the store keeps it; the validators check it first."""
        visibility, _, channel = text.partition(" ")
        kind, _, value = channel.partition(":")
        return cls(kind, value, Visibility(visibility))


INTAKE_KINDS = ("phone", "hotline", "email", "web-form", "signal", "whatsapp", "telegram", "sms", "post",
                "in-person", "through-partner", "other")


OPEN_END = "9999-12-31"  # the closing day of an intake window that has none, where one is compared


@dataclass(frozen=True)
class Window:
    """A period when a service takes requests: an open call, an intake round."""

    opens: str  # YYYY-MM-DD
    closes: str = ""  # YYYY-MM-DD, or open-ended
    note: str = ""

    def __str__(self) -> str:
        return f"{self.opens}/{self.closes}" + (f" {self.note}" if self.note else "")

    @classmethod
    def of(cls, text: str) -> Window:
        span, _, note = text.partition(" ")
        opens, _, closes = span.partition("/")
        return cls(opens, closes, note)


def open_on(windows: list[Window], on: str) -> bool:
    """Whether requests are taken on day `on` (YYYY-MM-DD) by these intake windows: always, without
    any; else inside one. The store's listing asks the same (`engine.cypher.taking_requests`)."""
    return not windows or any(w.opens <= on <= (w.closes or OPEN_END) for w in windows)


def next_opening(windows: list[Window], on: str) -> str | None:
    """The day the next of these intake windows opens after `on`; None when none is planned."""
    return min((w.opens for w in windows if w.opens > on), default=None)


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
    verified: Verification = field(default_factory=Verification)
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
    status: Status = Status.ACTIVE
    status_since: str = ""  # YYYY-MM-DD
    status_reason: str = ""
    status_source: str = ""
    coverage: list[Coverage] = field(default_factory=list)  # where it is delivered; for relocation, hosted
    origins: list[str] = field(default_factory=list)  # for relocation and exile: where defenders may come from
    groups: list[str] = field(default_factory=list)
    purposes: list[str] = field(default_factory=list)  # service types a grant pays for
    application_process: str = ""
    intake: list[Intake] = field(default_factory=list)
    hours: str = ""
    windows: list[Window] = field(default_factory=list)
    intake_languages: list[str] = field(default_factory=list)
    exclusions: str = ""
    verified: Verification = field(default_factory=Verification)
    provenance: Provenance | None = None

    def taking_requests(self, on: str) -> bool:
        """Whether it takes requests on day `on` (YYYY-MM-DD): active, and in an intake window if it has
        any (`open_on`)."""
        return self.status is Status.ACTIVE and open_on(self.windows, on)

    def next_call(self, on: str) -> str | None:
        """The day its next intake window opens after `on`, None when none is planned (`next_opening`)."""
        return next_opening(self.windows, on)


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
    # the store's revision, as read: what an edit or a removal names; 0 for one not read from the store.
    # Not content: never a property, never hashed or published, and not part of equality.
    revision: int = field(default=0, compare=False)
    # for a peer's link, as read: whether the peer lets us pass it on (its entry's flag); None for ours
    redistribute: bool | None = field(default=None, compare=False)


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


def published_by(record: Organisation | Service, ours: str) -> str:
    """The directory that published a record: its provenance says, and one not read from the store
    (with none) is `ours`."""
    return record.provenance.publisher if record.provenance is not None else ours


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
