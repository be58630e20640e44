"""`referralPaths`: the best chains of referrals from an organisation to providers that can act."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from directory.domain.ids import record_id_of
from directory.jobs import paths
from directory.jobs.referrals import Question, ReferralPath, referral_paths
from schema.context import Context
from schema.types import Organisation, Service

strawberry.enum(paths.PathOrder, name="PathOrder",
                description="What makes one referral chain better than another; ties go to the others in turn.")


@strawberry.type(description="One referral in a chain, with why it qualifies.")
class ReferralStep:
    from_id: strawberry.Private[str]
    to_id: strawberry.Private[str]
    response_hours: float | None
    trust: float | None
    formal: bool | None
    confirmed: str | None
    reasons: list[str]

    @strawberry.field(name="from")
    async def from_(self, info: Info[Context, None]) -> Organisation | None:
        found = await info.context.organisations.load(self.from_id)
        return Organisation.of(found) if found else None

    @strawberry.field
    async def to(self, info: Info[Context, None]) -> Organisation | None:
        found = await info.context.organisations.load(self.to_id)
        return Organisation.of(found) if found else None


@strawberry.type(description="A loop-free chain of referrals ending at a provider that can act.")
class ReferralChain:
    rank: int
    hops: int
    response_hours: float = strawberry.field(
        description="Every referral's response time and then the provider's; unknown ones count as 72 hours.")
    trust: float = strawberry.field(description="The product of the referrals' trust; unknown counts as 0.5.")
    organisation_ids: list[str] = strawberry.field(description="Record ids from the start to the provider.")
    steps: list[ReferralStep]
    provider_reasons: list[str] = strawberry.field(description="Why the provider at the end qualifies.")
    service_ids: strawberry.Private[list[str]]

    @strawberry.field(description="The organisations along the chain, from the start to the provider.")
    async def organisations(self, info: Info[Context, None]) -> list[Organisation]:
        found = await info.context.organisations.load_many(self.organisation_ids)
        return [Organisation.of(o) for o in found if o is not None]

    @strawberry.field
    async def provider(self, info: Info[Context, None]) -> Organisation | None:
        found = await info.context.organisations.load(self.organisation_ids[-1])
        return Organisation.of(found) if found else None

    @strawberry.field(description="The provider's services that qualify.")
    async def services(self, info: Info[Context, None]) -> list[Service]:
        offered = await info.context.services.load(self.organisation_ids[-1])
        return [Service.of(s) for s in offered if s.id in self.service_ids]

    @classmethod
    def of(cls, p: ReferralPath) -> ReferralChain:
        return cls(
            rank=p.rank, hops=p.chain.hops, response_hours=p.chain.response_hours, trust=p.trust,
            organisation_ids=list(p.organisations), provider_reasons=[str(r) for r in p.reasons],
            service_ids=[o.service for o in p.offers],
            steps=[ReferralStep(from_id=s.referral.source, to_id=s.referral.target,
                                response_hours=s.referral.response_hours, trust=s.referral.trust,
                                formal=s.referral.formal, confirmed=s.referral.confirmed,
                                reasons=[str(r) for r in s.reasons])
                   for s in p.steps])


@strawberry.type
class ReferralQuery:
    @strawberry.field(description=(
        "The k best loop-free chains of REFERS_TO links from an organisation (the viewer's own by default) to "
        "providers of a service reaching a country or subdivision. Only organisations and links this viewer may "
        f"see are walked. k: 1 to {paths.MAX_K}; maxHops: 0 to {paths.MAX_HOPS}."))
    async def referral_paths(self, info: Info[Context, None], service_type: str, country: str,
                             from_: Annotated[strawberry.ID | None, strawberry.argument(name="from")] = None,
                             group: str | None = None, language: str | None = None, k: int = 3, max_hops: int = 4,
                             order: paths.PathOrder = paths.PathOrder.FEWEST_HOPS) -> list[ReferralChain]:
        source = record_id_of(str(from_), "Organisation") if from_ else None
        question = Question(service_type=service_type, country=country, source=source, group=group,
                            language=language, k=k, max_hops=max_hops, order=order)
        found = await referral_paths(info.context.store, info.context.viewer, question)
        return [ReferralChain.of(p) for p in found]
