"""Partners for a local group: who offers what it lacks, near it, for its people, in its language.

Candidates must offer at least one of the service types asked for (by default, every type the
organisation does not offer itself), reach its country (or have a published point within a
radius), serve one of its defender groups or be open to all, share a language where both record
languages, and not be partnered with it already. The score (0 to 1) is a weighted sum; each part is
returned so a person can see why:

    complementarity 0.30  share of the asked types the candidate offers there
    coverage        0.15  1 delivered in the place, 0.5 only reaching it remotely
    distance        0.10  1 / (1 + km / 250) from the asker's point as the viewer sees it (recorded for
                          its own members and stewards) to the candidate's published point;
                          0.5 if either is unknown
    networks        0.15  networks and vetters in common (or the organisation itself as vetter), 0.5 each
    language        0.10  1 when a language is shared, 0.5 when either records none
    response        0.10  1 / (1 + hours / 24) for the fastest service offered; 0 if none is recorded
    freshness       0.10  1 - days since last verified (the organisation or the service) / 730, not below 0;
                          0 if never verified
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from directory.base import budget
from directory.domain import places
from directory.domain.errors import BadArgument, NotFound
from directory.domain.model import Organisation
from directory.domain.taxonomy import SERVICE_TYPE
from directory.domain.viewer import Viewer
from directory.jobs.reasons import Joined, Reason
from directory.jobs.rules import age_days, day_of, today
from directory.jobs.tables import Column, Table
from directory.store import Candidate, Store

WEIGHTS = {"complementarity": 0.30, "coverage": 0.15, "distance": 0.10, "networks": 0.15, "language": 0.10,
           "response": 0.10, "freshness": 0.10}
MAX_FIRST = 50
MAX_RADIUS_KM = 2000.0


@dataclass(frozen=True)
class PartnerQuestion:
    organisation: str | None = None  # the viewer's own by default
    service_types: list[str] | None = None  # default: every type it does not offer
    country: str | None = None  # default: the organisation's country
    radius_km: float | None = None  # instead of a country: published points within this distance
    first: int = 10


@dataclass(frozen=True)
class Partner:
    organisation: str
    score: float
    parts: dict[str, float]  # each part 0..1, before weighting
    services: list[str]  # the candidate's services that fill the asked types
    offered_types: list[str]
    distance_km: float | None
    reasons: list[Reason]


async def find_partners(store: Store, viewer: Viewer, q: PartnerQuestion, on: date | None = None) -> list[Partner]:
    on = on or today()
    if not 1 <= q.first <= MAX_FIRST:
        raise BadArgument("first", f"must be between 1 and {MAX_FIRST}")
    source_id = q.organisation or viewer.organisation
    if not source_id:
        raise BadArgument("organisation", "is required unless the viewer belongs to an organisation")
    found = await store.organisations_by_id(viewer, [source_id])
    if source_id not in found:
        raise NotFound("organisation", source_id)
    source = found[source_id]
    own = (await store.services_of(viewer, [source_id]))[source_id]
    vocabulary = await store.vocabulary()
    offered = {s.type for s in own if s.status == "active"}
    wanted = sorted(q.service_types or (vocabulary.terms.get(SERVICE_TYPE, set()) - offered))
    for t in wanted:
        vocabulary.require(SERVICE_TYPE, t, "serviceTypes")
    if not wanted:
        return []
    groups = {g for s in own for g in s.groups}
    languages = set(source.languages) | {lang for s in own for lang in s.languages}
    point = (source.location.latitude, source.location.longitude) if source.location else (None, None)

    if q.radius_km is not None:
        if not 0 < q.radius_km <= MAX_RADIUS_KM:
            raise BadArgument("radiusKm", f"must be more than 0 and at most {MAX_RADIUS_KM:g}")
        if point[0] is None or point[1] is None:
            raise BadArgument("radiusKm", "the organisation publishes no point to measure from; ask by country")
        candidates = await store.jobs.partners_near(viewer, source_id, wanted, point[0], point[1], q.radius_km)
        where = None
    else:
        code = q.country or (source.location.country if source.location else None)
        if not code:
            raise BadArgument("country", "is required: the organisation records no country")
        where = places.one_place(code.strip(), "country")
        candidates = await store.jobs.partners_reaching(viewer, source_id, wanted, where)

    links = await store.links_of(viewer, [source_id], "out") + await store.links_of(viewer, [source_id], "in")
    partnered = {link.target if link.source == source_id else link.source
                 for link in links if link.type == "PARTNERS_WITH"}
    mine = {link.target for link in links if link.source == source_id and link.type in ("MEMBER_OF", "VETTED_BY")}
    candidates = [c for c in candidates if c.id not in partnered]
    theirs: dict[str, set[str]] = {}
    for link in await store.links_of(viewer, [c.id for c in candidates], "out"):
        if link.type in ("MEMBER_OF", "VETTED_BY"):
            theirs.setdefault(link.source, set()).add(link.target)
    names = {}
    common_ids = {t for c in candidates for t in theirs.get(c.id, set()) & (mine | {source_id})}
    if common_ids:
        names = {i: o.name for i, o in (await store.organisations_by_id(viewer, sorted(common_ids))).items()}

    def rank() -> list[Partner]:
        out = []
        for n, c in enumerate(candidates):
            if n % 500 == 0:
                budget.check()
            partner = _score(c, source, wanted, groups, languages, point, theirs.get(c.id, set()), mine, names,
                             where, q.radius_km, on)
            if partner is not None:
                out.append(partner)
        out.sort(key=lambda p: (-p.score, p.organisation))
        return out[:q.first]

    return await budget.in_thread(rank)  # pure scoring: other requests go on meanwhile


def _score(c: Candidate, source: Organisation, wanted: list[str], groups: set[str], languages: set[str],
           point: tuple[float | None, float | None], theirs: set[str], mine: set[str], names: dict[str, str],
           where: places.Place | None, radius_km: float | None, on: date) -> Partner | None:
    offers = [o for o in c.offers if not groups or not o.groups or groups & set(o.groups)]
    if not offers:
        return None
    spoken = set(c.languages) | {lang for o in offers for lang in o.languages}
    if languages and spoken and not languages & spoken:
        return None
    distance = None
    if c.latitude is not None and c.longitude is not None and point[0] is not None and point[1] is not None:
        distance = round(places.distance_km(point[0], point[1], c.latitude, c.longitude), 1)
    if radius_km is not None and (distance is None or distance > radius_km):
        return None
    types = sorted({o.type for o in offers})
    present = any(o.present for o in offers) or radius_km is not None
    hours = [o.response_hours for o in offers if o.response_hours is not None]
    confirmed = max((d for d in [day_of(c.verified_on), *(day_of(o.verified_on) for o in offers)] if d), default=None)
    age = age_days(confirmed.isoformat(), on) if confirmed else None
    common = theirs & (mine | {source.id})
    parts = {
        "complementarity": len(types) / len(wanted),
        "coverage": 1.0 if present else 0.5,
        "distance": 0.5 if distance is None else 1 / (1 + distance / 250),
        "networks": min(1.0, 0.5 * len(common)),
        "language": 1.0 if languages & spoken else 0.5,
        "response": 1 / (1 + min(hours) / 24) if hours else 0.0,
        "freshness": 0.0 if age is None else max(0.0, 1 - age / 730),
    }
    parts = {k: round(v, 4) for k, v in parts.items()}
    reasons = [Reason("offers %(types)s", types=types)]
    if where is not None:
        reasons.append(Reason("delivers in %(place)s", place=where.code) if present else
                       Reason("reaches %(place)s remotely", place=where.code))
    if distance is not None:
        reasons.append(Reason("%(km)s km away (published points)", km=float(distance)))
    reasons += [Reason("vetted by this organisation") if t == source.id else
                Reason("in common: %(organisation)s", organisation=names.get(t, t)) for t in sorted(common)]
    if languages & spoken:
        reasons.append(Reason("speaks %(languages)s", languages=sorted(languages & spoken)))
    if hours:
        reasons.append(Reason("responds within %(hours)s h", hours=float(min(hours))))
    if confirmed:
        reasons.append(Reason("last confirmed %(date)s", date=confirmed.isoformat()))
    score = round(sum(WEIGHTS[k] * v for k, v in parts.items()), 4)
    return Partner(c.id, score, parts, sorted(o.service for o in offers), types, distance, reasons)


def table(found: list[Partner], names: dict[str, str]) -> Table:
    out = Table([Column("Rank", "#meta+rank"), Column("Organisation", "#org+name", 40),
                 Column("Id", "#org+id", printed=False), Column("Score", "#indicator+score"),
                 *(Column(k.capitalize(), f"#indicator+{k}", printed=k in ("complementarity", "networks"))
                   for k in WEIGHTS),
                 Column("Km", "#indicator+distance_km"), Column("Offers", "#sector", 40),
                 Column("Services", "#service+id", printed=False), Column("Why", "#meta+reasons", 70)])
    for rank, p in enumerate(found, start=1):
        out.add(rank, names.get(p.organisation, p.organisation), p.organisation, p.score,
                *(p.parts[k] for k in WEIGHTS), p.distance_km, p.offered_types, p.services, Joined(p.reasons, "; "))
    return out
