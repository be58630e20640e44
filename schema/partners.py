"""`findPartners`: organisations that offer what an organisation (or a group saying where and what it
needs) lacks, ranked with the reasons."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from directory.domain.ids import record_id_of
from directory.jobs import partners
from schema.context import Context
from schema.types import Organisation, Service


@strawberry.type(description="Each part of a partner's score, 0 to 1 before weighting (weights in the README).")
class PartnerScore:
    complementarity: float
    coverage: float
    distance: float
    networks: float
    language: float
    response: float
    freshness: float


@strawberry.type
class PartnerMatch:
    organisation_id: str
    score: float
    breakdown: PartnerScore
    offered_types: list[str] = strawberry.field(description="The asked service types this partner offers.")
    distance_km: float | None = strawberry.field(
        description="From the asker's point as the viewer sees it to this partner's published point; null if "
                    "either is unknown.")
    reasons: list[str]
    service_ids: strawberry.Private[list[str]]

    @strawberry.field
    async def organisation(self, info: Info[Context, None]) -> Organisation | None:
        found = await info.context.organisations.load(self.organisation_id)
        return Organisation.of(found) if found else None

    @strawberry.field(description="The partner's services that fill the asked types.")
    async def services(self, info: Info[Context, None]) -> list[Service]:
        offered = await info.context.services.load(self.organisation_id)
        return [Service.of(s) for s in offered if s.id in self.service_ids]

    @classmethod
    def of(cls, p: partners.Partner) -> PartnerMatch:
        return cls(organisation_id=p.organisation, score=p.score, breakdown=PartnerScore(**p.parts),
                   offered_types=p.offered_types, distance_km=p.distance_km, reasons=[str(r) for r in p.reasons],
                   service_ids=p.services)


@strawberry.type
class PartnerQuery:
    @strawberry.field(description=(
        "Organisations offering what an organisation (the viewer's own by default) lacks or asks for, reaching "
        "its country (or within `radiusKm` of its published point), serving its defender groups, sharing a "
        f"language, not yet partnered; best first, at most {partners.MAX_FIRST}. Without an organisation, "
        "`country` and `serviceTypes` say where and what is needed (a group not yet in the directory can ask). "
        "`language` and `group` say for whom, in place of the organisation's own languages and groups: partners "
        "that speak it and serve it."))
    async def find_partners(self, info: Info[Context, None], organisation: strawberry.ID | None = None,
                            service_types: list[str] | None = None, country: str | None = None,
                            radius_km: float | None = None, first: int = 10, language: str | None = None,
                            group: str | None = None) -> list[PartnerMatch]:
        question = partners.PartnerQuestion(
            organisation=record_id_of(str(organisation), "Organisation") if organisation else None,
            service_types=service_types, country=country, radius_km=radius_km, first=first, language=language,
            group=group)
        found = await partners.find_partners(info.context.store, info.context.viewer, question)
        return [PartnerMatch.of(p) for p in found]
