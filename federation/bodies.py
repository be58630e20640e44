"""A record as a feed body: what one audience may see of it, in JSON with no floats.

A body is made for one audience, from the record as the store gives it to a viewer of that
audience, so it never holds more than that viewer would see: a published location (never the
recorded point), contact channels and capacity only in the network feed, and of a service's intake
channels only those whose own visibility the audience reaches (public ones in the public feed,
public and network ones in the network feed, restricted ones never). A restricted record has no
body: it never enters a feed. Decimal values (coordinates, response hours, amounts, trust)
travel as strings, because canonical JSON carries no floats (docs/federation.md).

Reading a peer's body back into a record is `federation.received`: the same checks as an import.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar

from directory.domain import model
from directory.domain.errors import FederationError
from directory.domain.fields import ORGANISATION, SERVICE, Field, empty_values, shown_in
from directory.domain.model import LINK_PROPERTIES, Link, Location, Organisation, Service, Verification, Visibility
from directory.domain.viewer import SEES

R = TypeVar("R", Organisation, Service)

# How each kind of link property travels: numbers as decimal strings, as every decimal does.
TRAVELS_AS = {"text": "text", "number": "decimal", "integer": "integer", "boolean": "boolean"}


class BadBody(FederationError):
    def __init__(self, record: str, member: str, reason: str) -> None:
        super().__init__(f"{record}: {member} {reason}")
        self.record = record
        self.member = member
        self.reason = reason


def decimal(value: float | None) -> str | None:
    return None if value is None else repr(float(value))


def _location(loc: Location | None) -> dict[str, Any] | None:
    if loc is None:
        return None
    return {"latitude": decimal(loc.latitude), "longitude": decimal(loc.longitude), "precision": loc.precision.value,
            "country": loc.country, "subdivision": loc.subdivision}


def _shareable(visibility: Visibility, audience: str, record: str) -> None:
    if visibility not in SEES[audience]:
        raise BadBody(record, "visibility", f"is {visibility.value}: it never enters the {audience} feed")


def _for(audience: str, declared: dict[str, Field], record: Organisation | Service) -> dict[str, Any]:
    """Fields the feed's audience may not see (`directory.domain.fields`), emptied, and of a field
    whose items each have a visibility (intake channels) the items it may see: the store gave the
    record as a viewer of that audience sees it, and this holds even if it had not."""
    empty = empty_values(type(record))
    out = {name: getattr(record, name) if shown_in(audience, field) else empty[name]
           for name, field in declared.items()}
    for name, field in declared.items():
        if field.itemised:
            out[name] = [item for item in out[name] if item.visibility in SEES[audience]]
    return out


def as_audience(record: R, audience: str) -> R:
    """A peer's record as the feed it came in may carry it: what that audience may not see emptied,
    by the rule our own bodies are made by (`_for`). A public feed carries no contact channel, no
    capacity and no network intake channel; a peer that sent some anyway does not get them shown."""
    declared = ORGANISATION if isinstance(record, Organisation) else SERVICE
    return replace(record, **_for(audience, declared, record))


def _added(members: dict[str, Any]) -> dict[str, Any]:
    """Members added to the format after its first version, left out while empty: a record that has
    none keeps the body, and so the feed entry, it had (readers take a missing one as empty)."""
    return {name: value for name, value in members.items() if value not in ("", [], None)}


def _verified(v: Verification) -> dict[str, Any]:
    return _added({"verified_on": v.on, "verified_by": v.by, "verified_source": v.source})


def organisation_body(o: Organisation, audience: str) -> dict[str, Any]:
    """`o` as read for a viewer of `audience` (its location already published)."""
    _shareable(o.visibility, audience, o.id)
    f = _for(audience, ORGANISATION, o)
    return {"type": "organisation", "id": o.id, "name": o.name, "kind": o.kind, "visibility": o.visibility.value,
            "aliases": f["aliases"], "description": f["description"], "website": f["website"],
            "languages": f["languages"], "contact_channels": f["contact_channels"], "identifiers": f["identifiers"],
            "location": _location(f["location"]), "source": f["source"], **_verified(f["verified"])}


def service_body(s: Service, audience: str) -> dict[str, Any]:
    _shareable(s.visibility, audience, s.id)
    f = _for(audience, SERVICE, s)
    return {"type": "service", "id": s.id, "organisation": s.organisation, "name": s.name, "service_type": s.type,
            "visibility": s.visibility.value, "description": s.description, "eligibility": s.eligibility,
            "capacity": f["capacity"], "capacity_unit": f["capacity_unit"],
            "capacity_confirmed": f["capacity_confirmed"],
            "response_hours": decimal(s.response_hours), "languages": s.languages, "cost": s.cost,
            "status": s.status.value,
            "coverage": [{"place": c.place, "presence": c.presence.value} for c in s.coverage], "groups": s.groups,
            **_added({"status_since": f["status_since"], "status_reason": f["status_reason"],
                      "status_source": f["status_source"], "origins": f["origins"], "purposes": f["purposes"],
                      "application_process": f["application_process"], "intake": [str(i) for i in f["intake"]],
                      "hours": f["hours"], "windows": [str(w) for w in f["windows"]],
                      "intake_languages": f["intake_languages"], "exclusions": f["exclusions"]}),
            **_verified(f["verified"])}


def link_id(link: Link) -> str:
    """A link's record id in a feed: its source, type, target and key."""
    return model.link_id(link.source, link.type, link.target, link.key)


def link_body(link: Link, audience: str) -> dict[str, Any]:
    record = f"{link.source} {link.type} {link.target}"
    _shareable(link.visibility, audience, record)
    properties: dict[str, Any] = {}
    for name, value in sorted(link.properties.items()):
        if name not in LINK_PROPERTIES:
            continue
        if LINK_PROPERTIES[name] == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
            properties[name] = decimal(value)
        elif value is None or isinstance(value, (str, bool, int)):
            properties[name] = value
        else:
            raise BadBody(record, f"properties.{name}", f"is a {type(value).__name__}, not a string or number")
    return {"type": "link", "link_type": link.type, "source": link.source, "target": link.target,
            "visibility": link.visibility.value, "key": link.key, "properties": properties}
