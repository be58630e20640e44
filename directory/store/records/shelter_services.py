"""Shelters' services and safe houses, held to what their provider publishes of its place
(threat model V17).

Where a shelter hosts defenders is where it is, and a safe house is where defenders stay: a
shelter publishing only its country whose service records one subdivision, or a group publishing
only its country whose safe house does, would show that subdivision on the service, in every
listing by place, in the gap matrix and in the reasons the jobs give. So no write may leave such a
service (of a `taxonomy.SENSITIVE_KINDS` provider, or of a `taxonomy.SHELTERING_TYPES` type)
recording a place that tells more than its provider's published location (`location.tells_more`):
our own writes are refused, naming the service and place, or the provider whose change of place,
precision or kind would make them tell more (`writes.execute`, `Transaction.finer_places`); a
peer's such services are not kept (`federation.received`); and services written before the rule
are held to it at start (`Store.hold_shelters`).

What a provider publishes is read as the store keeps it: its precision, its published subdivision
and whether a point is published (`pub_subdivision`, `pub_latitude`) say how far inside its country
it is (`location.shown_level`): only its country, its region (where a district would say more:
threat model R21), or its point to 11 km or finer (where no place says more).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from directory.domain import places
from directory.domain.errors import Problem
from directory.domain.location import ADDRESS, ANY_PLACE, level_shown, public_address, shown_level, tells_more
from directory.domain.model import Intake, Organisation, Presence, Service
from directory.domain.taxonomy import SENSITIVE_KINDS, SHELTERING_TYPES
from directory.store.engine.cypher import cypher
from directory.store.engine.graph import Graph, Tx
from directory.store.records.place_codes import place_entries
from directory.store.records.shelters import KINDS

TYPES = sorted(SHELTERING_TYPES)
PART = 5000  # organisations one statement reads before a write: a list of ids far below 16 MB a message
_SHOWN = "o.precision AS precision, o.pub_subdivision AS subdivision, o.pub_latitude IS NOT NULL AS point"
_HELD = "(o.kind IN $kinds OR s.type IN $types)"  # the services the rule holds
_FOUND = f"""RETURN o.id AS organisation, o.name AS organisation_name, s.id AS id, s.name AS name,
       s.publisher AS publisher, s.coverage_codes AS coverage, s.origin_codes AS origins, s.intake AS intake,
       {_SHOWN}"""
# every held service of these providers, those publishing a point too: an address anyone may see
# tells more whatever its provider publishes (`location.ADDRESS`)
SERVICES_OF = cypher("shelter_services.of", f"""
UNWIND $ids AS id
MATCH (o:Organisation {{id: id}})-[:OFFERS]->(s:Service) WHERE {_HELD}
{_FOUND}
""")
# at start, every service the rule holds: a shelter's (by kind), then the safe houses of any other
EVERY_OF_SHELTERS = cypher("shelter_services.every_of_shelters", f"""
MATCH (o:Organisation) WHERE o.kind IN $kinds
MATCH (o)-[:OFFERS]->(s:Service)
{_FOUND}
""")
EVERY_SHELTERING = cypher("shelter_services.every_sheltering", f"""
MATCH (s:Service) WHERE s.type IN $types
MATCH (o:Organisation)-[:OFFERS]->(s) WHERE NOT o.kind IN $kinds
{_FOUND}
""")
# before a write: the stored providers its services name, and the stored services of its organisations
PROVIDERS = cypher("shelter_services.providers", f"""
UNWIND $ids AS id
MATCH (o:Organisation {{id: id}})
RETURN o.id AS id, o.name AS name, o.kind AS kind, {_SHOWN}
""")
STORED = cypher("shelter_services.stored", """
UNWIND $ids AS id
MATCH (o:Organisation {id: id})-[:OFFERS]->(s:Service) WHERE id IN $shelters OR s.type IN $types
RETURN id AS organisation, o.name AS organisation_name, s.id AS id, s.name AS name, s.type AS type,
       s.coverage_codes AS coverage, s.origin_codes AS origins, s.intake AS intake
""")


@dataclass(frozen=True)
class FinerPlace:
    """A place a held service records that tells more than its provider publishes."""

    service: str
    organisation: str
    place: str
    column: str
    by_provider: bool  # the provider's own change (place, precision, kind) makes it tell more, not the service's
    service_name: str = ""
    organisation_name: str = ""
    shown: int = 0  # how far inside its country the provider publishes it is (`location.shown_level`)

    def peer_reason(self) -> str:
        """Why a peer's service is not kept, for our log: the field, never the place it hides."""
        which = "its provider's new place, precision or kind" if self.by_provider else "the service"
        if self.place == ADDRESS:
            return (f"gives in {self.column} a way to ask anyone may see that can give an address (in person, by "
                    "post, through a partner or other), which would show where its provider is "
                    f"(a shelter's services and a safe house show where defenders stay; {which} made it so); not "
                    "kept: `directory peer resync` takes it again once the peer has corrected it")
        return (f"records a place in {self.column} finer than its provider publishes of its own place "
                f"(a shelter's services and a safe house show where defenders stay; {which} made it so); not "
                "kept: `directory peer resync` takes it again once the peer has corrected it")


def problems(finer: list[FinerPlace]) -> list[tuple[FinerPlace, Problem]]:
    """Each as a problem of the record to change, beside the first place it is about: a service's
    place, on the service's field; the services a provider's change would expose, one problem each
    on the provider's precision, naming its places (the advice is never to publish more)."""
    out = [(f, Problem.of(0, f.column, "a way to ask in person, by post, through a partner or \u201cOther\u201d that "
                          "anyone may see can give an address, which would show where %(organisation)s shelters "
                          "defenders: where a "
                          "shelter's services or a safe house work is where people at risk stay. Show that channel to "
                          "the network, or to fewer", f.service, organisation=f.organisation_name or f.organisation)
            if f.place == ADDRESS else
            Problem.of(0, f.column, "%(place)s would show where %(organisation)s shelters defenders, and it "
                          "publishes only its country: where a shelter's services or a safe house work is where "
                          "people at risk stay. Record %(country)s instead", f.service,
                          place=places.labelled(f.place), organisation=f.organisation_name or f.organisation,
                          country=places.labelled(places.part_of(f.place) or ""))
            if f.shown == 0 else
            Problem.of(0, f.column, "%(place)s would show where %(organisation)s shelters defenders more closely than "
                       "it publishes its own place: where a shelter's services or a safe house work is where people "
                       "at risk stay. Record %(coarser)s instead", f.service, place=places.labelled(f.place),
                       organisation=f.organisation_name or f.organisation,
                       coarser=places.labelled(places.no_finer_than(f.place, f.shown))))
           for f in finer if not f.by_provider]
    exposed: dict[tuple[str, str], list[FinerPlace]] = {}
    for f in finer:
        if f.by_provider and f.place == ADDRESS:
            label = "\u201c" + f.service_name + "\u201d (" + f.service + ")"
            out.append((f, Problem.of(
                0, "precision", "its service %(service)s has a way to ask in person, by post, through a partner or "
                "\u201cOther\u201d that anyone may see, which can give an address and would show where this "
                "organisation shelters defenders: show that channel to the network first", f.organisation,
                service=label)))
        elif f.by_provider:
            exposed.setdefault((f.organisation, f.service), []).append(f)
    for (organisation, service), found in exposed.items():
        named = ", ".join(dict.fromkeys(places.labelled(f.place) for f in found))
        label = "\u201c" + found[0].service_name + "\u201d (" + service + ")"
        out.append((found[0], Problem.of(
            0, "precision", "its service %(service)s records %(places)s, which would show where this organisation "
            "shelters defenders once it publishes only its country: where a shelter's services or a safe house "
            "work is where people at risk stay. Record that service no finer than its country first", organisation,
            service=label, places=named) if found[0].shown == 0 else Problem.of(
            0, "precision", "its service %(service)s records %(places)s, which would show where this organisation "
            "shelters defenders more closely than it would publish its own place: where a shelter's services or a "
            "safe house work is where people at risk stay. Record that service no finer than %(coarser)s first",
            organisation, service=label, places=named,
            coarser=places.labelled(places.no_finer_than(found[0].place, found[0].shown)))))
    return out


def _places(coverage: str | None, origins: str | None, intake: list[str] | None = None) -> list[tuple[str, str]]:
    """A service's stored place codes (`place_codes`), each with the field that records it, and
    `ADDRESS` for an intake channel anyone may see that says where to go or write to."""
    return ([(code, "present_in" if presence == "present" else "reaches") for code, presence in place_entries(coverage)]
            + [(code, "origins") for code, _ in place_entries(origins)]
            + ([(ADDRESS, "intake")] if public_address(map(Intake.of, intake or [])) else []))


def _fields(s: Service) -> list[tuple[str, str]]:
    """A service's places, each with the field that records it, as `_places` reads them stored."""
    return ([(c.place, "present_in" if c.presence is Presence.PRESENT else "reaches") for c in s.coverage]
            + [(o, "origins") for o in s.origins] + ([(ADDRESS, "intake")] if public_address(s.intake) else []))


def held(kind: str | None, service_type: str | None) -> bool:
    """Whether the rule holds a service: a shelter's, or a safe house of any provider."""
    return kind in SENSITIVE_KINDS or service_type in SHELTERING_TYPES


def to_check(organisations: Iterable[tuple[str, int, str | None]], services: Iterable[tuple[str, str, Iterable[str]]]
             ) -> tuple[set[str], dict[str, str]]:
    """Of the records a write sends, those the rule could refuse: the organisations (id, how far
    inside its country it publishes it is, `location.shown_level`, kind) that some place says more
    of, or a shelter, whose services' addresses say more whatever it publishes (`location.ADDRESS`),
    and the services (id, provider, places) recording a part of a country or an address. The rest
    cannot break it, and cost no query."""
    coarse = {i for i, shown, kind in organisations if shown < ANY_PLACE or kind in SENSITIVE_KINDS}
    named = {i: organisation for i, organisation, codes in services
             if any(c == ADDRESS or places.part_of(c) for c in codes)}
    return coarse, named


def record_places(s: Service) -> list[str]:
    """The places a service records, for `to_check`."""
    return [code for code, _ in _fields(s)]


def row_places(props: dict[str, Any]) -> list[str]:
    """The places a written service row records (`place_codes`), for `to_check`."""
    return [code for code, _ in _places(props.get("coverage_codes"), props.get("origin_codes"), props.get("intake"))]


async def finer_places(graph: Graph, tx: Tx, organisations: Collection[str], services: dict[str, str],
                       coming: Collection[str] = ()) -> list[FinerPlace]:
    """After a write, inside its transaction: the places that tell more than their provider publishes
    recorded by the held services written (`services`: id to provider) and by every held service of
    the organisations written (`organisations`), whose place, precision or kind may have just
    changed, but those a later transaction of the same import writes again (`coming`)."""
    providers, later = set(organisations), set(coming)
    if not providers and not services:
        return []
    rows = await graph.run(tx, SERVICES_OF, ids=sorted(providers | set(services.values())), kinds=KINDS, types=TYPES)
    return [FinerPlace(r["id"], r["organisation"], code, column, r["id"] not in services, r["name"],
                       r["organisation_name"], shown)
            for r in rows if r["id"] in services or (r["organisation"] in providers and r["id"] not in later)
            for shown in [_shown(r)]
            for code, column in _places(r["coverage"], r["origins"], r["intake"]) if tells_more(code, shown)]


def _shown(row: dict[str, Any]) -> int:
    """`location.shown_level` of a provider as a statement read it (`_SHOWN`)."""
    return shown_level(row["precision"], row["subdivision"], bool(row["point"]))


async def finer_before(graph: Graph, organisations: list[Organisation], services: list[Service]) -> list[FinerPlace]:
    """`finer_places` for records not yet written, as the store would hold them once they all are:
    a staged import checks all of its parts before it writes the first."""
    kinds = {o.id: o.kind for o in organisations}
    shown = {o.id: level_shown(o.location) for o in organisations}
    names = {o.id: o.name for o in organisations}
    others = sorted({s.organisation for s in services} - names.keys())
    for r in await graph.read_plain(PROVIDERS, ids=others) if others else []:
        kinds[r["id"]], shown[r["id"]], names[r["id"]] = r["kind"], _shown(r), r["name"]
    found = [FinerPlace(s.id, s.organisation, code, column, False, s.name, names[s.organisation],
                        shown[s.organisation])
             for s in services if s.organisation in kinds and held(kinds[s.organisation], s.type)
             for code, column in _fields(s) if tells_more(code, shown[s.organisation])]
    # a shelter publishing its point too: an address anyone may see says more (`to_check`)
    coarse = sorted(i for i in {o.id for o in organisations} if shown[i] < ANY_PLACE or kinds[i] in SENSITIVE_KINDS)
    shelters = [i for i in coarse if kinds[i] in SENSITIVE_KINDS]  # by the kind the batch gives them
    written = {s.id for s in services}
    for start in range(0, len(coarse), PART):
        for r in await graph.read_plain(STORED, ids=coarse[start:start + PART], shelters=shelters, types=TYPES):
            if r["id"] not in written and held(kinds[r["organisation"]], r["type"]):
                here = shown[r["organisation"]]
                found += [FinerPlace(r["id"], r["organisation"], code, column, True, r["name"],
                                     names[r["organisation"]], here)
                          for code, column in _places(r["coverage"], r["origins"], r["intake"])
                          if tells_more(code, here)]
    return found


async def written_finer(graph: Graph) -> dict[str, tuple[str, int]]:
    """Every held service, written before the rule, recording a place that tells more than its
    provider publishes: its publisher and how far inside its country the provider publishes it is
    (`location.shown_level`), by id."""
    rows: list[dict[str, Any]] = [*await graph.read_plain(EVERY_OF_SHELTERS, kinds=KINDS),
                                  *await graph.read_plain(EVERY_SHELTERING, kinds=KINDS, types=TYPES)]
    return {r["id"]: (r["publisher"], shown) for r in rows for shown in [_shown(r)]
            if any(tells_more(code, shown) for code, _ in _places(r["coverage"], r["origins"], r["intake"]))}
