"""A record as a feed body: what one audience may see of it, in JSON with no floats.

A body is made for one audience, from the record as the store gives it to a viewer of that
audience, so it never holds more than that viewer would see: a published location (never the
recorded point), and contact channels and capacity only in the network feed. A restricted record
has no body: it never enters a feed. Decimal values (coordinates, response hours, amounts, trust)
travel as strings, because canonical JSON carries no floats (docs/federation.md).

Reading a body back checks every member's type and names the member that is wrong.
"""

from __future__ import annotations

from typing import Any

from directory.errors import DirectoryError
from directory.model import Coverage, Link, Location, Organisation, Precision, Presence, Service, Visibility

NETWORK_ONLY = ("contact_channels", "capacity", "capacity_unit", "capacity_confirmed")


class BadBody(DirectoryError):
    def __init__(self, record: str, member: str, reason: str) -> None:
        super().__init__(f"{record}: {member} {reason}")
        self.record = record
        self.member = member


def decimal(value: float | None) -> str | None:
    return None if value is None else repr(float(value))


def _location(loc: Location | None) -> dict[str, Any] | None:
    if loc is None:
        return None
    return {"latitude": decimal(loc.latitude), "longitude": decimal(loc.longitude), "precision": loc.precision.value,
            "country": loc.country, "subdivision": loc.subdivision}


def _shareable(visibility: Visibility, audience: str, record: str) -> None:
    if visibility is Visibility.RESTRICTED or (audience == "public" and visibility is not Visibility.PUBLIC):
        raise BadBody(record, "visibility", f"is {visibility.value}: it never enters the {audience} feed")


def organisation_body(o: Organisation, audience: str) -> dict[str, Any]:
    """`o` as read for a viewer of `audience` (its location already published)."""
    _shareable(o.visibility, audience, o.id)
    return {"type": "organisation", "id": o.id, "name": o.name, "kind": o.kind, "visibility": o.visibility.value,
            "aliases": o.aliases, "description": o.description, "website": o.website, "languages": o.languages,
            "contact_channels": o.contact_channels if audience == "network" else [],
            "identifiers": o.identifiers, "location": _location(o.location), "source": o.source}


def service_body(s: Service, audience: str) -> dict[str, Any]:
    _shareable(s.visibility, audience, s.id)
    network = audience == "network"
    return {"type": "service", "id": s.id, "organisation": s.organisation, "name": s.name, "service_type": s.type,
            "visibility": s.visibility.value, "description": s.description, "eligibility": s.eligibility,
            "capacity": s.capacity if network else None, "capacity_unit": s.capacity_unit if network else "",
            "capacity_confirmed": s.capacity_confirmed if network else "",
            "response_hours": decimal(s.response_hours), "languages": s.languages, "cost": s.cost,
            "status": s.status, "coverage": [{"place": c.place, "presence": c.presence.value} for c in s.coverage],
            "groups": s.groups}


def link_body(link: Link, audience: str) -> dict[str, Any]:
    record = f"{link.source} {link.type} {link.target}"
    _shareable(link.visibility, audience, record)
    properties: dict[str, Any] = {}
    for name, value in sorted(link.properties.items()):
        if isinstance(value, float):
            properties[name] = decimal(value)
        elif value is None or isinstance(value, (str, bool, int)):
            properties[name] = value
        else:
            raise BadBody(record, f"properties.{name}", f"is a {type(value).__name__}, not a string or number")
    return {"type": "link", "link_type": link.type, "source": link.source, "target": link.target,
            "visibility": link.visibility.value, "key": link.key, "properties": properties}


class _Reader:
    def __init__(self, body: dict[str, Any], record: str) -> None:
        self.body = body
        self.record = record

    def value(self, name: str, kinds: tuple[type, ...], optional: bool) -> Any:
        value = self.body.get(name)
        if value is None and optional:
            return None
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise BadBody(self.record, name, f"is missing or not a {' or '.join(k.__name__ for k in kinds)}")
        return value

    def text(self, name: str) -> str:
        return str(self.value(name, (str,), False))

    def maybe_text(self, name: str) -> str | None:
        value = self.value(name, (str,), True)
        return None if value is None else str(value)

    def texts(self, name: str) -> list[str]:
        items = self.value(name, (list,), False)
        if not all(isinstance(i, str) for i in items):
            raise BadBody(self.record, name, "holds something that is not a string")
        return list(items)

    def number(self, name: str) -> float | None:
        value = self.maybe_text(name)
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            raise BadBody(self.record, name, f"{value!r} is not a decimal number") from None

    def enum(self, name: str, kind: type[Any]) -> Any:
        value = self.text(name)
        try:
            return kind(value)
        except ValueError:
            raise BadBody(self.record, name, f"{value!r} is not one of {', '.join(k.value for k in kind)}") from None


def read_organisation(body: dict[str, Any]) -> Organisation:
    r = _Reader(body, str(body.get("id")))
    loc = body.get("location")
    location = None
    if loc is not None:
        if not isinstance(loc, dict):
            raise BadBody(r.record, "location", "is not an object")
        lr = _Reader(loc, r.record)
        location = Location(lr.number("latitude"), lr.number("longitude"), lr.enum("precision", Precision),
                            lr.maybe_text("country"), lr.maybe_text("subdivision"))
    return Organisation(id=r.text("id"), name=r.text("name"), kind=r.text("kind"),
                        visibility=r.enum("visibility", Visibility), aliases=r.texts("aliases"),
                        description=r.text("description"), website=r.text("website"), languages=r.texts("languages"),
                        contact_channels=r.texts("contact_channels"), identifiers=r.texts("identifiers"),
                        location=location, source=r.text("source"))


def read_service(body: dict[str, Any]) -> Service:
    r = _Reader(body, str(body.get("id")))
    coverage = []
    for item in r.value("coverage", (list,), False):
        if not isinstance(item, dict):
            raise BadBody(r.record, "coverage", "holds something that is not an object")
        cr = _Reader(item, r.record)
        coverage.append(Coverage(cr.text("place"), cr.enum("presence", Presence)))
    capacity = r.value("capacity", (int,), True)
    return Service(id=r.text("id"), organisation=r.text("organisation"), name=r.text("name"),
                   type=r.text("service_type"), visibility=r.enum("visibility", Visibility),
                   description=r.text("description"), eligibility=r.text("eligibility"), capacity=capacity,
                   capacity_unit=r.text("capacity_unit"), capacity_confirmed=r.text("capacity_confirmed"),
                   response_hours=r.number("response_hours"), languages=r.texts("languages"), cost=r.text("cost"),
                   status=r.text("status"), coverage=coverage, groups=r.texts("groups"))


def read_link(body: dict[str, Any]) -> Link:
    r = _Reader(body, f"{body.get('source')} {body.get('link_type')} {body.get('target')}")
    properties = r.value("properties", (dict,), False)
    for name, value in properties.items():
        if value is not None and not isinstance(value, (str, int, bool)):
            raise BadBody(r.record, f"properties.{name}", "is not a string, integer or boolean")
    return Link(type=r.text("link_type"), source=r.text("source"), target=r.text("target"),
                visibility=r.enum("visibility", Visibility), key=r.text("key"), properties=dict(properties))
