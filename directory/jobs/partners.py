"""Partners for a local group: who offers what it lacks, near it, for its people, in its language.

The group asks as an organisation in the directory (the viewer's own by default, but not from the
pages' form: `find_partners`), or, not yet listed or not knowing its id, by saying only where
(`country`) and what it needs (`serviceTypes`).
Candidates must offer at least one of the service types asked for (for an organisation, by default,
every type it does not offer itself), reach the country (relocation and exile support naming where
defenders may come from: take them from there, wherever it hosts them; or, for an organisation, have
a published point within a radius), serve one of the organisation's defender groups or be open to
all, offer such a service in a language the organisation speaks (one it lists, or its organisation's
when it lists none; no language recorded on either side narrows nothing), and not be partnered with
it already. A service
that confirmed it has no capacity left does not count (`rules.confirmed_full`, as for referral
paths). `group` and `language` say for whom, in place of the organisation's own groups and
languages: a service counts when it serves the group or names none (open to all), and when it is
offered in the language (or records none and its organisation speaks it), as for referral paths. The
score (0 to 1) is a weighted sum; each part is returned so a person can see why:

    complementarity 0.30  share of the asked types the candidate offers there
    coverage        0.15  1 delivered in the place (or taking defenders from it), 0.5 only reaching it remotely
    distance        0.10  1 / (1 + km / 250) from the asker's point as the viewer sees it (recorded for
                          its own members and stewards) to the candidate's published point;
                          0.5 if either is unknown or published at country precision only
    networks        0.15  networks and vetters in common (or the organisation itself as the candidate's
                          vetter or network), 0.5 each
    language        0.10  1 when a language is shared (the asked one counts), 0.5 when either records none
    response        0.10  1 / (1 + hours / 24) for the fastest service offered; 0 if none is recorded
    freshness       0.10  1 - days since last verified (the organisation or the service) / 730, not below 0;
                          0 if never verified

Asked without an organisation there is nothing of the asker's own to weigh, so those parts read:
complementarity over the asked types only (no own services to subtract), networks 0 (no network to
share), distance 0.5 (neutral: no point to measure from, so no radius either), language 1 when a
language was asked (every candidate then speaks it) else 0.5; coverage, response and freshness as
above. The ranking is the same, so an organisation's answer and a group's compare.

At 100,000 organisations a country can have thousands of candidates (every worldwide service reaches
it). The store reads only the services that fit (`_fits`), and the networks part is read only for the
candidates it could still bring among the first (`_contenders`): neither changes an answer
(`tests/test_partner_candidates.py` compares them with reading and scoring everything).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import NamedTuple

from directory.base import budget
from directory.domain import places
from directory.domain.errors import BadArgument, NotFound
from directory.domain.model import Organisation, Precision
from directory.domain.taxonomy import DEFENDER_GROUP, SERVICE_TYPE
from directory.domain.validation import asked_language
from directory.domain.viewer import Viewer
from directory.jobs.reasons import Joined, Reason
from directory.jobs.rules import age_days, confirmed_full, day_of, today
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


async def find_partners(store: Store, viewer: Viewer, q: PartnerQuestion, on: date | None = None,
                        as_viewer: bool = True) -> list[Partner]:
    """The best partners for the organisation asking: the one named, else the viewer's own (unless
    `as_viewer` is False: the pages ask as nobody when their organisation field is left empty, as
    its label says, so a member's own groups and languages never narrow an answer unseen)."""
    if not 1 <= q.first <= MAX_FIRST:
        raise BadArgument("first", "must be between 1 and %(most)s", most=MAX_FIRST)
    # the asking organisation is read, and noted, before the answer: an error about it ("records no
    # country") tells the viewer of it even when no partner is given; its services are read inside
    source = await _asking(store, viewer, q.organisation or (viewer.organisation if as_viewer else None))
    with store.answer(viewer):  # what the other reads gave is noted only once the partners are the viewer's
        return await _find(store, viewer, q, await _asker(store, viewer, source), on or today())


async def _find(store: Store, viewer: Viewer, q: PartnerQuestion, asker: _Asker, on: date) -> list[Partner]:
    if asker.id is None and not q.service_types:
        raise BadArgument("serviceTypes", "choose at least one, or name your organisation to look for what it "
                                          "lacks")
    vocabulary = await store.vocabulary()
    wanted = sorted(set(q.service_types or ()) or (vocabulary.terms.get(SERVICE_TYPE, set()) - asker.offered))
    for t in wanted:
        vocabulary.require(SERVICE_TYPE, t, "serviceTypes")
    if q.group is not None:
        vocabulary.require(DEFENDER_GROUP, q.group, "group")
    language = asked_language(q.language, "language")
    if not wanted:
        return []
    asker = _for_whom(asker, q.group, language)
    # the asker's links are small reads: the store takes them beside the candidates' large ones
    (where, candidates), (partnered, networks) = await asyncio.gather(
        _candidates(store, viewer, asker, q, wanted, language), _links(store, viewer, asker.id))
    asker = replace(asker, networks=networks)
    candidates = [c for c in candidates if c.id not in partnered]

    def assessed(c: Candidate, theirs: Ties) -> _Assessed | None:
        return _assess(c, asker, wanted, q.group, language, theirs, q.radius_km, on)

    # pure scoring in a worker thread, so other requests go on meanwhile
    contenders = await budget.in_thread(_contenders, candidates, assessed, asker, q.first)
    theirs = (await store.jobs.partner_networks(viewer, [c.id for c, _ in contenders])
              if asker.id is not None and contenders else {})  # nobody asking shares no network
    first = await budget.in_thread(_first, contenders, assessed, theirs, q.first)
    common = sorted({t for _, a in first for t in a.common})
    names = {i: o.name for i, o in (await store.organisations_by_id(viewer, common)).items()} if common else {}
    return [_partner(c, a, asker, names, where) for c, a in first]


Ties = Mapping[str, str]
"""What a candidate is tied to: target id to link type (`store.jobs.partners.ties`)."""
Assess = Callable[[Candidate, Ties], "_Assessed | None"]
NETWORKS_ROUNDING = 0.001  # far more than the rounding of the parts and the score (4 decimals) can move


def _contenders(candidates: list[Candidate], assessed: Assess, asker: _Asker,
                first: int) -> list[tuple[Candidate, _Assessed]]:
    """The candidates that qualify, each scored with no network in common, leaving out those that could
    not be among the first even with every network in common: only the rest need their networks read.

    A candidate's score can rise by at most the networks part (1 with two networks in common, 0.5 with
    one), and a little for rounding; one that then still scores below the `first`-th best score without
    networks has at least `first` candidates above it whatever their networks are."""
    found = []
    for n, c in enumerate(candidates):
        if n % 500 == 0:
            budget.check()
        scored = assessed(c, {})
        if scored is not None:
            found.append((c, scored))
    if asker.id is None or len(found) <= first:
        return found
    bar = sorted((a.score for _, a in found), reverse=True)[first - 1]
    most = WEIGHTS["networks"] * min(1.0, 0.5 * len(asker.networks | {asker.id})) + NETWORKS_ROUNDING
    return [(c, a) for c, a in found if a.score + most >= bar]


def _first(contenders: list[tuple[Candidate, _Assessed]], assessed: Assess, theirs: Mapping[str, Ties],
           first: int) -> list[tuple[Candidate, _Assessed]]:
    """The best `first` contenders with their networks weighed, best first (ties by id)."""
    out = []
    for n, (c, scored) in enumerate(contenders):
        if n % 500 == 0:
            budget.check()
        found = assessed(c, theirs[c.id]) if c.id in theirs else scored
        if found is not None:
            out.append((c, found))
    out.sort(key=lambda ca: (-ca[1].score, ca[0].id))
    return out[:first]


async def _asking(store: Store, viewer: Viewer, organisation: str | None) -> Organisation | None:
    """The organisation asking as the viewer sees it; None when none is named."""
    if not organisation:
        return None
    found = await store.organisations_by_id(viewer, [organisation])
    if organisation not in found:
        raise NotFound("organisation", organisation, "organisation")
    return found[organisation]


async def _asker(store: Store, viewer: Viewer, source: Organisation | None) -> _Asker:
    """Who asks, with its services as the viewer sees them; nobody when no organisation asks."""
    if source is None:
        return _Asker()
    own = (await store.services_of(viewer, [source.id]))[source.id]
    return _Asker(source.id, source.location.country if source.location else None, _point(source),
                  frozenset(s.type for s in own if s.status == "active"),
                  frozenset(g for s in own for g in s.groups),
                  frozenset(source.languages) | {lang for s in own for lang in s.languages})


def _point(source: Organisation) -> tuple[float | None, float | None]:
    """Where the asker is measured from: none when it publishes only its country (that point is the
    country's middle, which says nothing of where in it the asker is; a candidate publishing only its
    country has no point either) or nothing at all."""
    where = source.location
    if where is None or where.precision in (Precision.COUNTRY, Precision.HIDDEN):
        return None, None
    return where.latitude, where.longitude


def _for_whom(asker: _Asker, group: str | None, language: str | None) -> _Asker:
    """A group or a language asked for says whom the help is for: it stands in for the organisation's
    own (a land defenders' collective asking for the woman journalist it shelters, in her language)."""
    return replace(asker, groups=frozenset() if group is not None else asker.groups,
                   languages=frozenset() if language is not None else asker.languages)


async def _candidates(store: Store, viewer: Viewer, asker: _Asker, q: PartnerQuestion, wanted: list[str],
                      language: str | None) -> tuple[places.Place | None, list[Candidate]]:
    """Where the partners must reach (None for a radius) and the candidates the viewer may see there, with
    only their services that fit (`_fits`: the store reads no other)."""
    fit = {"groups": asker.groups, "languages": asker.languages, "group": q.group, "language": language}
    # nobody asking: no record's id is empty, so "" leaves nobody out (a null would leave every candidate
    # out: `o.id <> null` is never true)
    source = asker.id or ""
    if q.radius_km is not None:
        if not 0 < q.radius_km <= MAX_RADIUS_KM:
            raise BadArgument("radiusKm", "must be more than 0 and at most %(most)s", most=format(MAX_RADIUS_KM, "g"))
        latitude, longitude = asker.point
        if latitude is None or longitude is None:
            if asker.id:
                raise BadArgument("radiusKm", "the organisation publishes no point to measure from; ask by country")
            raise BadArgument("radiusKm", "needs an organisation's published point to measure from; without one, "
                                          "ask by country")
        return None, await store.jobs.partners_near(viewer, source, wanted, latitude, longitude, q.radius_km, **fit)
    code = q.country or asker.country
    if not code:
        if asker.id:
            raise BadArgument("country", "is required: the organisation shows you no country")
        raise BadArgument("country", "say where partners must reach, or name your organisation to use its "
                                     "country")
    where = places.one_place(code.strip(), "country")
    return where, await store.jobs.partners_reaching(viewer, source, wanted, where, **fit)


async def _links(store: Store, viewer: Viewer, me: str | None) -> tuple[set[str], frozenset[str]]:
    """The asker's partners already (left out) and the networks and vetters it belongs to."""
    if me is None:
        return set(), frozenset()
    links = await store.links_of(viewer, [me], "out") + await store.links_of(viewer, [me], "in")
    partnered = {link.target if link.source == me else link.source for link in links if link.type == "PARTNERS_WITH"}
    return partnered, frozenset(link.target for link in links
                                if link.source == me and link.type in ("MEMBER_OF", "VETTED_BY"))


def _common(asker: _Asker, theirs: Ties) -> dict[str, str]:
    """Networks and vetters in common, or the asker itself as the candidate's vetter or network (with
    how the candidate is tied to each); none for nobody."""
    return {t: kind for t, kind in theirs.items() if t in asker.networks or t == asker.id} if asker.id else {}


def _fits(o: PartnerOffer, c: Candidate, asker: _Asker, group: str | None, language: str | None) -> bool:
    """A service counts when it serves one of the asker's groups and the asked one (or names none: open
    to all) and is offered in the language asked, or else in one the asker speaks (the one rule for
    languages: one it lists, or its organisation's when it lists none; a French-only line does not
    count for an English-speaking group because its head office speaks English). Where the service
    and its organisation record no language, or the asker none, nothing narrows. The store reads
    only such services, by the same rules (`store.jobs.partners`): change both together."""
    if o.groups and asker.groups and not asker.groups & set(o.groups):
        return False
    if o.groups and group is not None and group not in o.groups:
        return False
    if language is not None:
        return places.offered_in(language, o.languages, c.languages)
    return not asker.languages or places.offered_in_any(asker.languages, o.languages, c.languages)


class _Assessed(NamedTuple):
    """A candidate that qualifies: its score and what the score and the reasons rest on."""

    offers: list[PartnerOffer]  # those that fit
    types: list[str]
    present: bool
    distance: float | None
    shared: set[str] | frozenset[str]
    hours: list[float]
    confirmed: date | None
    common: dict[str, str]  # `_common`
    parts: dict[str, float]
    score: float


def _assess(c: Candidate, asker: _Asker, wanted: list[str], group: str | None, language: str | None,
            theirs: Ties, radius_km: float | None, on: date) -> _Assessed | None:
    offers = [o for o in c.offers if _fits(o, c, asker, group, language)
              and not confirmed_full(o.capacity, o.capacity_confirmed, on)]
    if not offers:
        return None
    spoken = {lang for o in offers for lang in (o.languages or c.languages)}  # each as `_fits` reads it
    shared = places.in_common(asker.languages | ({language} if language else set()), spoken)
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
    score = round(sum(WEIGHTS[k] * v for k, v in parts.items()), 4)
    return _Assessed(offers, types, present, distance, shared, hours, confirmed, common, parts, score)


def _score(c: Candidate, asker: _Asker, wanted: list[str], group: str | None, language: str | None,
           theirs: Ties, names: dict[str, str], where: places.Place | None, radius_km: float | None,
           on: date) -> Partner | None:
    found = _assess(c, asker, wanted, group, language, theirs, radius_km, on)
    return None if found is None else _partner(c, found, asker, names, where)


def _partner(c: Candidate, a: _Assessed, asker: _Asker, names: dict[str, str], where: places.Place | None) -> Partner:
    """The candidate as a partner, with the reasons for its score (`names` of the networks in common)."""
    reasons = [Reason("offers %(types)s", types=a.types)]
    if where is not None:  # the places its services record that answered: Mombasa, not "delivers in KE"
        delivered = [o for o in a.offers if o.present and not o.takes_from]
        taking = [o for o in a.offers if o.takes_from]
        named = sorted({p for o in delivered or taking or a.offers for p in o.places}) or [where.code]
        reasons.append(Reason("delivers in %(places)s", places=named) if delivered else
                       Reason("takes defenders from %(places)s", places=named) if taking else
                       Reason("reaches %(places)s remotely", places=named))
    if all(o.groups for o in a.offers):  # a Spanish walk opened partners that serve only others to find so
        reasons.append(Reason("only for %(groups)s", groups=sorted({g for o in a.offers for g in o.groups})))
    if a.distance is not None:
        reasons.append(Reason("%(km)s km between where the two are based (the points you may see)",
                              km=shown_km(a.distance)))
    for t in sorted(a.common):
        if t != asker.id:
            reasons.append(Reason("in common: %(organisation)s", organisation=names.get(t, t)))
        elif a.common[t] == "VETTED_BY":
            reasons.append(Reason("vetted by this organisation"))
        else:
            reasons.append(Reason("a member of this network"))
    if a.shared:
        reasons.append(Reason("speaks %(languages)s", languages=sorted(a.shared)))
    if a.hours:
        reasons.append(Reason("responds within %(hours)s h", hours=float(min(a.hours))))
    if a.confirmed:
        reasons.append(Reason("last confirmed %(date)s", date=a.confirmed.isoformat()))
    return Partner(c.id, a.score, a.parts, sorted(o.service for o in a.offers), a.types, a.distance, reasons)


def shown_km(distance: float | None) -> float | None:
    """A distance between published (coarsened) points: no finer than a whole km once it is ten or
    more, in the reasons and the Km column alike (a walk read 9.102,9 beside "9.103 km")."""
    return None if distance is None else float(round(distance)) if distance >= 10 else float(distance)


def table(found: list[Partner], names: dict[str, str], asked: Sequence[str] = ()) -> Table:
    """The partners as a table; `asked`, the service types the question named: those no partner
    found offers are said in a note (a walk read a partner for relocation as one for everything)."""
    out = Table([Column("Rank", "#meta+rank"), Column("Organisation", "#org+name", 40),
                 Column("Id", "#org+id", printed=False), Column("Score", "#indicator+score"),
                 *(Column(k.capitalize(), f"#indicator+{k}", printed=k in ("complementarity", "networks"))
                   for k in WEIGHTS),
                 Column("Km", "#indicator+distance_km"), Column("Offers", "#sector", 40),
                 Column("Services", "#service+id", printed=False), Column("Why", "#meta+reasons", 70)])
    for rank, p in enumerate(found, start=1):
        out.add(rank, names.get(p.organisation, p.organisation), p.organisation, p.score,
                *(p.parts[k] for k in WEIGHTS), shown_km(p.distance_km), p.offered_types, p.services,
                Joined(p.reasons, "; "))
    offered = {t for p in found for t in p.offered_types}
    if found and (missing := [t for t in dict.fromkeys(asked) if t not in offered]):
        # a hand-worked check read "missing" where a language or a distance had left providers out
        out.notes = [Reason("None of these partners offers %(types)s, which you asked for: asking for it alone, or "
                            "with fewer conditions (language, group, distance), may find others; the coverage gaps "
                            "say where it is missing.", types=missing)]
    return out
