"""Partners for a local group: who offers what it lacks, near it, for its people, in its language.

The group asks as an organisation in the directory (the viewer's own by default), or, not yet
listed or not knowing its id, by saying only where (`country`) and what it needs (`serviceTypes`).
Candidates must offer at least one of the service types asked for (for an organisation, by default,
every type it does not offer itself), reach the country (or, for an organisation, have a published
point within a radius), serve one of the organisation's defender groups or be open to all, share a
language where both record languages, and not be partnered with it already. `group` and `language`
narrow further, for an organisation on top of its own groups and languages: a service counts when it
serves the group or names none (open to all), and when it is offered in the language (or records
none and its organisation speaks it), as for referral paths. The score (0 to 1) is a weighted sum;
each part is returned so a person can see why:

    complementarity 0.30  share of the asked types the candidate offers there
    coverage        0.15  1 delivered in the place, 0.5 only reaching it remotely
    distance        0.10  1 / (1 + km / 250) from the asker's point as the viewer sees it (recorded for
                          its own members and stewards) to the candidate's published point;
                          0.5 if either is unknown
    networks        0.15  networks and vetters in common (or the organisation itself as vetter), 0.5 each
    language        0.10  1 when a language is shared (the asked one counts), 0.5 when either records none
    response        0.10  1 / (1 + hours / 24) for the fastest service offered; 0 if none is recorded
    freshness       0.10  1 - days since last verified (the organisation or the service) / 730, not below 0;
                          0 if never verified

Asked without an organisation there is nothing of the asker's own to weigh, so those parts read:
complementarity over the asked types only (no own services to subtract), networks 0 (no network to
share), distance 0.5 (neutral: no point to measure from, so no radius either), language 1 when a
language was asked (every candidate then speaks it) else 0.5; coverage, response and freshness as
above. The ranking is the same, so an organisation's answer and a group's compare.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from directory.base import budget
from directory.domain import places
from directory.domain.errors import BadArgument, NotFound
from directory.domain.taxonomy import DEFENDER_GROUP, SERVICE_TYPE
from directory.domain.validation import require_language
from directory.domain.viewer import Viewer
from directory.jobs.reasons import Joined, Reason
from directory.jobs.rules import age_days, day_of, today
from directory.jobs.tables import Column, Table
from directory.store import Candidate, PartnerOffer, Store

WEIGHTS = {"complementarity": 0.30, "coverage": 0.15, "distance": 0.10, "networks": 0.15, "language": 0.10,
           "response": 0.10, "freshness": 0.10}
MAX_FIRST = 50
MAX_RADIUS_KM = 2000.0


@dataclass(frozen=True)
class PartnerQuestion:
    organisation: str | None = None  # the viewer's own by default; none: say country and serviceTypes
    service_types: list[str] | None = None  # default: every type the organisation does not offer
    country: str | None = None  # default: the organisation's country
    radius_km: float | None = None  # instead of a country: published points within this distance
    first: int = 10
    language: str | None = None  # a language code the partner must speak
    group: str | None = None  # a defender group code the partner must serve


@dataclass(frozen=True)
class Partner:
    organisation: str
    score: float
    parts: dict[str, float]  # each part 0..1, before weighting
    services: list[str]  # the candidate's services that fill the asked types
    offered_types: list[str]
    distance_km: float | None
    reasons: list[Reason]


@dataclass(frozen=True)
class _Asker:
    """Who asks, as far as it narrows and weighs the answer: an organisation as the viewer sees it,
    or nobody (a group that says only where and what it needs)."""

    id: str | None = None
    country: str | None = None
    point: tuple[float | None, float | None] = (None, None)
    offered: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    networks: frozenset[str] = frozenset()  # what it is a member of or vetted by


async def find_partners(store: Store, viewer: Viewer, q: PartnerQuestion, on: date | None = None) -> list[Partner]:
    on = on or today()
    if not 1 <= q.first <= MAX_FIRST:
        raise BadArgument("first", f"must be between 1 and {MAX_FIRST}")
    asker = await _asker(store, viewer, q.organisation or viewer.organisation)
    if asker.id is None and not q.service_types:
        raise BadArgument("serviceTypes", "is required without an organisation: say which services you look for "
                                          "(or name your organisation)")
    vocabulary = await store.vocabulary()
    wanted = sorted(q.service_types or (vocabulary.terms.get(SERVICE_TYPE, set()) - asker.offered))
    for t in wanted:
        vocabulary.require(SERVICE_TYPE, t, "serviceTypes")
    if q.group is not None:
        vocabulary.require(DEFENDER_GROUP, q.group, "group")
    language = require_language(q.language, "language") if q.language is not None else None
    if not wanted:
        return []
    where, candidates = await _candidates(store, viewer, asker, q, wanted)
    partnered, networks = await _links(store, viewer, asker.id)
    asker = replace(asker, networks=networks)
    candidates = [c for c in candidates if c.id not in partnered]
    theirs: dict[str, set[str]] = {}
    if asker.id is not None:  # nobody asking shares no network: no need to read the candidates'
        for link in await store.links_of(viewer, [c.id for c in candidates], "out"):
            if link.type in ("MEMBER_OF", "VETTED_BY"):
                theirs.setdefault(link.source, set()).add(link.target)
    names = {}
    common_ids = {t for c in candidates for t in _common(asker, theirs.get(c.id, set()))}
    if common_ids:
        names = {i: o.name for i, o in (await store.organisations_by_id(viewer, sorted(common_ids))).items()}

    def rank() -> list[Partner]:
        out = []
        for n, c in enumerate(candidates):
            if n % 500 == 0:
                budget.check()
            partner = _score(c, asker, wanted, q.group, language, theirs.get(c.id, set()), names, where,
                             q.radius_km, on)
            if partner is not None:
                out.append(partner)
        out.sort(key=lambda p: (-p.score, p.organisation))
        return out[:q.first]

    return await budget.in_thread(rank)  # pure scoring: other requests go on meanwhile


async def _asker(store: Store, viewer: Viewer, organisation: str | None) -> _Asker:
    """The organisation asking, its services and place as the viewer sees them; nobody when none is named."""
    if not organisation:
        return _Asker()
    found = await store.organisations_by_id(viewer, [organisation])
    if organisation not in found:
        raise NotFound("organisation", organisation)
    source = found[organisation]
    own = (await store.services_of(viewer, [organisation]))[organisation]
    return _Asker(organisation, source.location.country if source.location else None,
                  (source.location.latitude, source.location.longitude) if source.location else (None, None),
                  frozenset(s.type for s in own if s.status == "active"),
                  frozenset(g for s in own for g in s.groups),
                  frozenset(source.languages) | {lang for s in own for lang in s.languages})


async def _candidates(store: Store, viewer: Viewer, asker: _Asker, q: PartnerQuestion,
                      wanted: list[str]) -> tuple[places.Place | None, list[Candidate]]:
    """Where the partners must reach (None for a radius) and the candidates the viewer may see there."""
    # nobody asking: no record's id is empty, so "" leaves nobody out (a null would leave every candidate
    # out: `o.id <> null` is never true)
    source = asker.id or ""
    if q.radius_km is not None:
        if not 0 < q.radius_km <= MAX_RADIUS_KM:
            raise BadArgument("radiusKm", f"must be more than 0 and at most {MAX_RADIUS_KM:g}")
        latitude, longitude = asker.point
        if latitude is None or longitude is None:
            raise BadArgument("radiusKm", "the organisation publishes no point to measure from; ask by country"
                              if asker.id else "needs an organisation's published point to measure from; without "
                                               "one, ask by country")
        return None, await store.jobs.partners_near(viewer, source, wanted, latitude, longitude, q.radius_km)
    code = q.country or asker.country
    if not code:
        raise BadArgument("country", "is required: the organisation records no country" if asker.id else
                          "is required without an organisation: say where partners must reach "
                          "(or name your organisation)")
    where = places.one_place(code.strip(), "country")
    return where, await store.jobs.partners_reaching(viewer, source, wanted, where)


async def _links(store: Store, viewer: Viewer, me: str | None) -> tuple[set[str], frozenset[str]]:
    """The asker's partners already (left out) and the networks and vetters it belongs to."""
    if me is None:
        return set(), frozenset()
    links = await store.links_of(viewer, [me], "out") + await store.links_of(viewer, [me], "in")
    partnered = {link.target if link.source == me else link.source for link in links if link.type == "PARTNERS_WITH"}
    return partnered, frozenset(link.target for link in links
                                if link.source == me and link.type in ("MEMBER_OF", "VETTED_BY"))


def _common(asker: _Asker, theirs: set[str]) -> set[str]:
    """Networks and vetters in common, or the asker itself as the candidate's vetter; none for nobody."""
    return theirs & (asker.networks | {asker.id}) if asker.id else set()


def _fits(o: PartnerOffer, c: Candidate, asker: _Asker, group: str | None, language: str | None) -> bool:
    """A service counts when it serves one of the asker's groups and the asked one (or names none: open
    to all) and, when a language is asked, is offered in it (or records none and its organisation speaks it)."""
    if o.groups and asker.groups and not asker.groups & set(o.groups):
        return False
    if o.groups and group is not None and group not in o.groups:
        return False
    return language is None or language in (o.languages or c.languages)


def _score(c: Candidate, asker: _Asker, wanted: list[str], group: str | None, language: str | None,
           theirs: set[str], names: dict[str, str], where: places.Place | None, radius_km: float | None,
           on: date) -> Partner | None:
    offers = [o for o in c.offers if _fits(o, c, asker, group, language)]
    if not offers:
        return None
    spoken = set(c.languages) | {lang for o in offers for lang in o.languages}
    if asker.languages and spoken and not asker.languages & spoken:
        return None
    shared = (asker.languages | ({language} if language else set())) & spoken
    point = asker.point
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
    common = _common(asker, theirs)
    parts = {
        "complementarity": len(types) / len(wanted),
        "coverage": 1.0 if present else 0.5,
        "distance": 0.5 if distance is None else 1 / (1 + distance / 250),
        "networks": min(1.0, 0.5 * len(common)),
        "language": 1.0 if shared else 0.5,
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
    reasons += [Reason("vetted by this organisation") if t == asker.id else
                Reason("in common: %(organisation)s", organisation=names.get(t, t)) for t in sorted(common)]
    if shared:
        reasons.append(Reason("speaks %(languages)s", languages=sorted(shared)))
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
