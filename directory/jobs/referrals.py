"""Referral paths for an INGO: the best chains of trusted referrals to a provider that can act.

A provider can act when a service of the asked type is active and reaches the place (delivered
there, or reaching it remotely), serves the asked defender group and speaks the asked language,
takes requests today (inside one of its intake windows, if it has any: a grant between two open
calls cannot take the referral, as `Service.taking_requests` says), and has not confirmed, within
CAPACITY_VALID_DAYS, that it has no capacity left. Each hop and the
provider come with the reasons they qualify, so a person can judge the chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from directory.base import budget
from directory.domain import places
from directory.domain.errors import BadArgument, NotFound, Plural
from directory.domain.model import Referral, open_on
from directory.domain.taxonomy import DEFENDER_GROUP, SERVICE_TYPE
from directory.domain.validation import asked_language
from directory.domain.viewer import Viewer
from directory.jobs.paths import Chain, PathOrder, best_chains, check_arguments
from directory.jobs.reasons import Joined, Reason
from directory.jobs.rules import (
    CAPACITY_VALID_DAYS,
    STALE_AFTER_DAYS,
    UNKNOWN_RESPONSE_HOURS,
    UNKNOWN_TRUST,
    capacity_current,
    confirmed_full,
    is_stale,
    today,
)
from directory.jobs.tables import Column, Table
from directory.store import ReferralOffer as Offer
from directory.store import Store

TRUST_PLACES = 6  # a product of up to six trusts of two decimals each: six places tell chains apart


@dataclass(frozen=True)
class Step:
    referral: Referral
    reasons: list[Reason]


@dataclass(frozen=True)
class ReferralPath:
    rank: int
    chain: Chain
    steps: list[Step]
    offers: list[Offer]  # the provider's qualifying services
    reasons: list[Joined]  # why the provider qualifies: one per qualifying service

    @property
    def organisations(self) -> tuple[str, ...]:
        return self.chain.organisations

    @property
    def trust(self) -> float:
        """The chain's trust as every channel gives it: a table and GraphQL must not disagree."""
        return round(self.chain.trust, TRUST_PLACES)


@dataclass(frozen=True)
class Question:
    """What an INGO asks: who can give this service in this place, reached through whom."""

    service_type: str
    country: str
    source: str | None = None  # the viewer's own organisation when not given
    group: str | None = None
    language: str | None = None
    k: int = 3
    max_hops: int = 4
    order: PathOrder = PathOrder.FEWEST_HOPS


async def referral_paths(store: Store, viewer: Viewer, question: Question,
                         on: date | None = None) -> list[ReferralPath]:
    """The k best chains, best first. Empty when no provider is reachable within the hop limit."""
    with store.answer(viewer):  # what its reads gave is noted only once the chains are the viewer's
        return await _paths(store, viewer, question, on or today())


async def _paths(store: Store, viewer: Viewer, q: Question, on: date) -> list[ReferralPath]:
    check_arguments(q.k, q.max_hops)
    source = q.source or viewer.organisation
    if not source:
        raise BadArgument("from", "name the organisation the chains start from (a member's own is used when "
                                   "none is named)")
    vocabulary = await store.vocabulary()
    vocabulary.require(SERVICE_TYPE, q.service_type, "serviceType")
    if q.group is not None:
        vocabulary.require(DEFENDER_GROUP, q.group, "group")
    language = asked_language(q.language, "language")
    where = places.one_place(q.country.strip(), "country")
    try:
        seen = await store.jobs.referral_graph(viewer, source, q.service_type, where, q.max_hops, q.group, language)
    except NotFound as missing:  # the chains' start: named as the question named it
        raise NotFound(missing.kind, missing.record_id, "from") from None
    offers: dict[str, list[Offer]] = {}
    for offer in seen.offers:
        if open_on(offer.windows, on.isoformat()) and not confirmed_full(offer.capacity, offer.capacity_confirmed, on):
            offers.setdefault(offer.provider, []).append(offer)
    providers = {p: _fastest(found) for p, found in offers.items()}
    chains = await budget.in_thread(best_chains, source, seen.referrals, providers, q.order, q.k, q.max_hops)
    vetted = await store.jobs.vetters(viewer, sorted({o for c in chains for o in c.organisations[1:]}))
    return [ReferralPath(rank, chain, [Step(r, _hop_reasons(r, vetted.get(r.target, []), on)) for r in chain.referrals],
                         offers[chain.provider], _provider_reasons(offers[chain.provider], where, on))
            for rank, chain in enumerate(chains, start=1)]


def _fastest(offers: list[Offer]) -> float | None:
    known = [o.response_hours for o in offers if o.response_hours is not None]
    return min(known) if known else None


def _hop_reasons(r: Referral, vetters: list[str], on: date) -> list[Reason]:
    out = [Reason("formal referral agreement") if r.formal else Reason("informal referral") if r.formal is False
           else Reason("referral (agreement not recorded)")]
    out.append(Reason("trust %(trust)s", trust=float(r.trust)) if r.trust is not None else
               Reason("trust not recorded (counted as %(trust)s)", trust=float(UNKNOWN_TRUST)))
    out.append(Reason("answers referrals within %(hours)s h", hours=float(r.response_hours))
               if r.response_hours is not None else
               Reason("referral response time not recorded (counted as %(hours)s h)",
                      hours=float(UNKNOWN_RESPONSE_HOURS)))
    if r.confirmed and is_stale(r.confirmed, on):  # a referral path kept up two years ago may be gone
        out.append(Reason(Plural("link last confirmed %(date)s (older than %(days)s day)",
                                 "link last confirmed %(date)s (older than %(days)s days)", "days"),
                          date=r.confirmed[:10], days=STALE_AFTER_DAYS))
    elif r.confirmed:
        out.append(Reason("link confirmed %(date)s", date=r.confirmed))
    out += [Reason("vetted by %(organisation)s", organisation=name) for name in vetters]
    return out


def _provider_reasons(offers: list[Offer], where: places.Place, on: date) -> list[Joined]:
    """One per qualifying service: its reasons read as one (", " between them)."""
    out = []
    for o in offers:
        # the places it records that answered, not the one asked: "delivered in KE" would send a defender
        # in Nairobi to a service recorded only in Mombasa (KE-28)
        named = o.places or [where.code]
        parts = [Reason("service %(service)s delivered in %(places)s", service=o.name, places=named)
                 if o.present else
                 Reason("service %(service)s reaches %(places)s remotely", service=o.name, places=named)
                 if o.remote else
                 Reason("service %(service)s takes defenders from %(places)s", service=o.name, places=named)]
        # an unknown time says what the chain's total counted for it, as a hop's does
        parts.append(Reason("responds within %(hours)s h", hours=float(o.response_hours))
                     if o.response_hours is not None else
                     Reason("response time not recorded (counted as %(hours)s h)", hours=float(UNKNOWN_RESPONSE_HOURS)))
        if o.capacity is not None and capacity_current(o.capacity_confirmed, on):
            parts.append(Reason("capacity %(capacity)s confirmed %(date)s", capacity=o.capacity,
                                date=o.capacity_confirmed))
        elif o.capacity is not None and o.capacity_confirmed:
            parts.append(Reason(Plural("capacity last confirmed %(date)s (older than %(days)s day)",
                                       "capacity last confirmed %(date)s (older than %(days)s days)", "days"),
                                date=o.capacity_confirmed, days=CAPACITY_VALID_DAYS))
        elif o.capacity is not None:
            parts.append(Reason(Plural("capacity last confirmed never (older than %(days)s day)",
                                       "capacity last confirmed never (older than %(days)s days)", "days"),
                                days=CAPACITY_VALID_DAYS))
        parts.append(_confirmed(o.verified_on, on))
        out.append(Joined(parts, ", "))
    return out


def _confirmed(verified_on: str | None, on: date) -> Reason:
    """When the provider's service (else the provider) was last confirmed: a chain's first provider
    not checked for two years should not read as a fresh one."""
    if not verified_on:
        return Reason("never confirmed")
    if is_stale(verified_on, on):
        return Reason(Plural("last confirmed %(date)s (older than %(days)s day)",
                             "last confirmed %(date)s (older than %(days)s days)", "days"),
                      date=verified_on[:10], days=STALE_AFTER_DAYS)
    return Reason("last confirmed %(date)s", date=verified_on[:10])


def table(found: list[ReferralPath], names: dict[str, str]) -> Table:
    """The answer as rows: one per chain, its steps' reasons and the provider's joined."""
    out = Table([Column("Rank", "#meta+rank"), Column("Hops", "#indicator+hops"),
                 Column("Response h", "#indicator+response_hours"), Column("Trust", "#indicator+trust"),
                 Column("Chain", "#org+name+chain", 70), Column("Chain ids", "#org+id+chain", printed=False),
                 Column("Services", "#service+id", printed=False), Column("Why", "#meta+reasons", 80)])
    for p in found:
        why: list[str] = [Reason("%(source)s > %(target)s: %(why)s", why=Joined(s.reasons, ", "),
                                 source=names.get(s.referral.source, s.referral.source),
                                 target=names.get(s.referral.target, s.referral.target)) for s in p.steps]
        out.add(p.rank, p.chain.hops, p.chain.response_hours, p.trust,
                " > ".join(names.get(o, o) for o in p.organisations), " > ".join(p.organisations),
                [o.service for o in p.offers], Joined([*why, *p.reasons], " | "))
    return out
