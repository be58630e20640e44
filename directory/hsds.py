"""Open Referral HSDS 3.0: export organisations and services, and import them back.

HSDS requires UUIDs for ids, so an exported record's id is a UUID derived from its directory id
(uuid5), and the directory id itself travels with it: in `organization.uri` for organisations,
and as HSDS attributes for services. Everything HSDS has no field for (organisation kind, service
type, defender groups, response time, capacity, visibility, presence or remote reach) travels as
attributes whose taxonomy is `protection-directory/<name>`, the extension mechanism HSDS offers.
An import of a foreign HSDS file uses the HSDS UUIDs as local ids.
"""

from __future__ import annotations

import functools
import json
import uuid
from typing import Any

from directory import places, taxonomy
from directory.errors import Problem, ValidationFailed
from directory.importer import Parsed
from directory.model import Organisation, Presence, Service
from directory.validation import Row

NAMESPACE = uuid.UUID("5b0c6a5e-59a3-4c1e-9c51-2f0f4a7c1d10")
URN = "urn:protection-directory:"
TAX = "protection-directory/"


def hsds_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def _attribute(link_id: str, link_type: str, scheme: str, code: str, name: str, value: str | None = None,
               description: str = "") -> dict[str, Any]:
    term_id = hsds_id("term", scheme, code)
    attr = {
        "id": hsds_id("attribute", link_id, scheme, code),
        "link_id": link_id, "link_type": link_type, "link_entity": link_type, "taxonomy_term_id": term_id,
        "taxonomy_term": {"id": term_id, "code": code, "name": name, "description": description or name,
                          "taxonomy": TAX + scheme},
    }
    if value is not None:
        attr["value"] = value
    return attr


def _place_name(code: str) -> str:
    place = places.place(code)
    return place.name if place else code


@functools.cache
def _labels() -> dict[tuple[str, str], str]:
    return {(t.scheme, t.code): t.label for t in taxonomy.BUILT_IN}


def organisation_to_hsds(org: Organisation) -> dict[str, Any]:
    oid = hsds_id("organisation", org.id)
    labels = _labels()
    out: dict[str, Any] = {
        "id": oid, "name": org.name, "description": org.description or org.name, "uri": URN + org.id,
        "organization_identifiers": [
            {"id": hsds_id("identifier", org.id, ident), "organization_id": oid, "identifier_type": "org-id",
             "identifier_scheme": ident.split(":", 1)[0], "identifier": ident.split(":", 1)[1]}
            for ident in org.identifiers],
        "attributes": [
            _attribute(oid, "organization", taxonomy.ORGANISATION_KIND, org.kind,
                       labels.get((taxonomy.ORGANISATION_KIND, org.kind), org.kind)),
            _attribute(oid, "organization", "visibility", org.visibility.value, org.visibility.value),
        ] + [_attribute(oid, "organization", "language", lang, lang) for lang in org.languages],
    }
    if org.aliases:
        out["alternate_name"] = " | ".join(org.aliases)
    if org.website:
        out["website"] = org.website
    loc = org.location
    if loc and (loc.latitude is not None or loc.country):
        lid = hsds_id("location", org.id)
        location: dict[str, Any] = {
            "id": lid, "location_type": "physical", "organization_id": oid,
            "attributes": [_attribute(lid, "location", "precision", loc.precision.value, loc.precision.value)],
        }
        if loc.latitude is not None:
            location["latitude"], location["longitude"] = loc.latitude, loc.longitude
        code = loc.subdivision or loc.country
        if code:
            location["external_identifier"], location["external_identifier_type"] = code, "ISO 3166"
            location["name"] = _place_name(code)
        out["locations"] = [location]
    emails = [c.split(":", 1)[1] for c in org.contact_channels if c.startswith("email:")]
    if emails:
        out["email"] = emails[0]
    return out


def service_to_hsds(svc: Service) -> dict[str, Any]:
    sid = hsds_id("service", svc.id)
    labels = _labels()
    attrs = [
        _attribute(sid, "service", "record-id", svc.id, "Protection Directory record id"),
        _attribute(sid, "service", taxonomy.SERVICE_TYPE, svc.type,
                   labels.get((taxonomy.SERVICE_TYPE, svc.type), svc.type)),
        _attribute(sid, "service", "visibility", svc.visibility.value, svc.visibility.value),
    ] + [_attribute(sid, "service", taxonomy.DEFENDER_GROUP, g, labels.get((taxonomy.DEFENDER_GROUP, g), g))
         for g in svc.groups]
    if svc.response_hours is not None:
        attrs.append(_attribute(sid, "service", "response-hours", "hours", "Typical response time in hours",
                                value=repr(svc.response_hours)))
    if svc.capacity is not None:
        attrs.append(_attribute(sid, "service", "capacity", svc.capacity_unit or "units", "Capacity",
                                value=str(svc.capacity)))
        if svc.capacity_confirmed:
            attrs.append(_attribute(sid, "service", "capacity-confirmed", "date", "Capacity last confirmed",
                                    value=svc.capacity_confirmed))
    out: dict[str, Any] = {
        "id": sid, "organization_id": hsds_id("organisation", svc.organisation), "name": svc.name,
        "status": svc.status, "attributes": attrs,
        "languages": [{"id": hsds_id("language", svc.id, lang), "service_id": sid, "code": lang}
                      for lang in svc.languages],
        "service_areas": [
            {"id": hsds_id("area", svc.id, c.place), "service_id": sid,
             "name": _place_name(c.place),
             "description": "present" if c.presence is Presence.PRESENT else "remote",
             "extent": c.place, "extent_type": "UN M49" if c.place.isdigit() else "ISO 3166"}
            for c in svc.coverage],
    }
    if svc.description:
        out["description"] = svc.description
    if svc.eligibility:
        out["eligibility_description"] = svc.eligibility
    if svc.cost:
        out["fees_description"] = svc.cost
    return out


# --- import -------------------------------------------------------------------------------------


def _terms(attrs: list[dict[str, Any]], scheme: str) -> list[dict[str, Any]]:
    out = []
    for a in attrs or []:
        term = a.get("taxonomy_term") or {}
        if term.get("taxonomy") == TAX + scheme:
            out.append({"code": term.get("code"), "value": a.get("value")})
    return out


def _first(attrs: list[dict[str, Any]], scheme: str, key: str = "code") -> Any:
    found = _terms(attrs, scheme)
    return found[0][key] if found else None


def _load(data: bytes, source: str) -> list[dict[str, Any]]:
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed(source, [Problem(0, "file", f"is not UTF-8 JSON: {exc}")]) from exc
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
        raise ValidationFailed(source, [Problem(0, "file", "is not a JSON array of HSDS objects")])
    return value


def parse_organisations(data: bytes, source: str, default_kind: str | None = None) -> tuple[Parsed, dict[str, str]]:
    """Rows for the validator, and the HSDS organisation UUID -> directory id of each."""
    rows, ids = [], {}
    for n, obj in enumerate(_load(data, source), 1):
        p = f"[{n - 1}]"
        uri = str(obj.get("uri") or "")
        record = uri[len(URN):] if uri.startswith(URN) else str(obj.get("id") or "")
        ids[str(obj.get("id"))] = record
        attrs = obj.get("attributes") or []
        locs = obj.get("locations") or []
        loc = locs[0] if locs else {}
        code = str(loc.get("external_identifier") or "") if loc.get("external_identifier_type") == "ISO 3166" else ""
        address = (loc.get("addresses") or [{}])[0]
        country_column = f"{p}.locations[0].external_identifier"
        if not code and address.get("country"):
            code, country_column = str(address["country"]), f"{p}.locations[0].addresses[0].country"
        fields = {
            "id": (f"{p}.id", record), "name": (f"{p}.name", obj.get("name")),
            "kind": (f"{p}.attributes", _first(attrs, taxonomy.ORGANISATION_KIND) or default_kind),
            "visibility": (f"{p}.attributes", _first(attrs, "visibility")),
            "aliases": (f"{p}.alternate_name", [a for a in str(obj.get("alternate_name") or "").split(" | ") if a]),
            "description": (f"{p}.description", obj.get("description")),
            "website": (f"{p}.website", obj.get("website")),
            "languages": (f"{p}.attributes", [t["code"] for t in _terms(attrs, "language")]),
            "identifiers": (f"{p}.organization_identifiers", [
                f"{i.get('identifier_scheme')}:{i.get('identifier')}"
                for i in obj.get("organization_identifiers") or []]),
            "contact_channels": (f"{p}.email", [f"email:{obj['email']}"] if obj.get("email") else []),
            "latitude": (f"{p}.locations[0].latitude", loc.get("latitude")),
            "longitude": (f"{p}.locations[0].longitude", loc.get("longitude")),
            "precision": (f"{p}.locations[0].attributes", _first(loc.get("attributes") or [], "precision")),
            "country": (country_column, code.split("-")[0] if code else None),
            "subdivision": (f"{p}.locations[0].external_identifier", code if "-" in code else None),
        }
        rows.append(Row(n, fields))
    return Parsed(source, "organisations", rows), ids


def parse_services(data: bytes, source: str, organisations: dict[str, str]) -> Parsed:
    rows = []
    for n, obj in enumerate(_load(data, source), 1):
        p = f"[{n - 1}]"
        attrs = obj.get("attributes") or []
        record = _first(attrs, "record-id") or str(obj.get("id") or "")
        org_uuid = str(obj.get("organization_id") or "")
        capacity = _terms(attrs, "capacity")
        areas = obj.get("service_areas") or []
        fields = {
            "id": (f"{p}.id", record), "organisation": (f"{p}.organization_id", organisations.get(org_uuid, org_uuid)),
            "name": (f"{p}.name", obj.get("name")), "type": (f"{p}.attributes", _first(attrs, taxonomy.SERVICE_TYPE)),
            "visibility": (f"{p}.attributes", _first(attrs, "visibility")),
            "description": (f"{p}.description", obj.get("description")),
            "eligibility": (f"{p}.eligibility_description", obj.get("eligibility_description")),
            "cost": (f"{p}.fees_description", obj.get("fees_description")),
            "status": (f"{p}.status", obj.get("status")),
            "languages": (f"{p}.languages",
                          [lang.get("code") for lang in obj.get("languages") or [] if lang.get("code")]),
            "groups": (f"{p}.attributes", [t["code"] for t in _terms(attrs, taxonomy.DEFENDER_GROUP)]),
            "response_hours": (f"{p}.attributes", _first(attrs, "response-hours", "value")),
            "capacity": (f"{p}.attributes", capacity[0]["value"] if capacity else None),
            "capacity_unit": (f"{p}.attributes", capacity[0]["code"] if capacity else None),
            "capacity_confirmed": (f"{p}.attributes", _first(attrs, "capacity-confirmed", "value")),
            "present_in": (f"{p}.service_areas", [a.get("extent") for a in areas if a.get("description") != "remote"]),
            "reaches": (f"{p}.service_areas", [a.get("extent") for a in areas if a.get("description") == "remote"]),
        }
        rows.append(Row(n, fields))
    return Parsed(source, "services", rows)
