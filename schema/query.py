"""The Query root. Resolvers are thin: they ask the store, which applies the viewer."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from directory.domain.errors import BadArgument
from directory.domain.ids import record_id_of
from directory.domain.places import place_list
from directory.domain.taxonomy import DEFENDER_GROUP, SCHEMES
from directory.store import MAX_PAGE, Page, Store
from schema.context import Context
from schema.gaps import GapQuery
from schema.inputs import ListFilter, SearchKind, SortOrder
from schema.partners import PartnerQuery
from schema.referrals import ReferralQuery
from schema.types import (
    Node,
    Organisation,
    OrganisationConnection,
    OrganisationEdge,
    PageInfo,
    Place,
    ProviderCount,
    SearchConnection,
    SearchHit,
    Service,
    ServiceConnection,
    ServiceEdge,
    Term,
)


def _page_info(page: Page | Any, after: str | None) -> PageInfo:
    return PageInfo(has_next_page=page.has_next, has_previous_page=after is not None,
                    start_cursor=page.cursors[0] if page.cursors else None,
                    end_cursor=page.cursors[-1] if page.cursors else None)


def _wants_total(info: Info[Context, None]) -> bool:
    """Counting costs a second query: only run it when the client asked for `totalCount`."""
    return any(s.name == "totalCount" for f in info.selected_fields for s in f.selections
               if hasattr(s, "name"))


@strawberry.type
class Query(PartnerQuery, GapQuery, ReferralQuery):
    @strawberry.field(description="Any record by its global id; null if there is none this viewer may see.")
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node | None:
        type_name, _, record_id = str(id).partition(":")
        if type_name == "Organisation":
            org = await info.context.organisations.load(record_id)
            return Organisation.of(org) if org else None
        if type_name == "Service":
            found = await info.context.store.services_by_id(info.context.viewer, [record_id])
            return Service.of(found[record_id]) if record_id in found else None
        return None

    @strawberry.field(description="One organisation by record or global id; null if there is none this viewer "
                                  "may see.")
    async def organisation(self, info: Info[Context, None], id: strawberry.ID) -> Organisation | None:
        org = await info.context.organisations.load(record_id_of(str(id), "Organisation"))
        return Organisation.of(org) if org else None

    @strawberry.field(description="One service by record or global id; null if there is none this viewer may see.")
    async def service(self, info: Info[Context, None], id: strawberry.ID) -> Service | None:
        record_id = record_id_of(str(id), "Service")
        found = await info.context.store.services_by_id(info.context.viewer, [record_id])
        return Service.of(found[record_id]) if record_id in found else None

    @strawberry.field(description=f"Organisations, a Relay connection; at most {MAX_PAGE} a page. Sorting by "
                                  "distance needs `filter.near`.")
    async def organisations(self, info: Info[Context, None], filter: ListFilter | None = None,
                            sort: SortOrder = SortOrder.NAME, first: int = 20,
                            after: str | None = None) -> OrganisationConnection:
        _check_first(first)
        page = await info.context.store.list_organisations(
            info.context.viewer, filter.to_store() if filter else None, first, after, sort.to_store(),
            count=_wants_total(info))
        for o in page.items:  # nested fields that lead back to these organisations need no query
            info.context.organisations.prime(o.id, o)
        edges = [OrganisationEdge(node=Organisation.of(o), cursor=c, distance_km=d)
                 for o, c, d in zip(page.items, page.cursors, page.distances_km, strict=True)]
        return OrganisationConnection(total_count=page.total, edges=edges, page_info=_page_info(page, after))

    @strawberry.field(description=f"Services, a Relay connection; at most {MAX_PAGE} a page.")
    async def services(self, info: Info[Context, None], filter: ListFilter | None = None,
                       sort: SortOrder = SortOrder.NAME, first: int = 20,
                       after: str | None = None) -> ServiceConnection:
        _check_first(first)
        page = await info.context.store.list_services(
            info.context.viewer, filter.to_store() if filter else None, first, after, sort.to_store(),
            count=_wants_total(info))
        edges = [ServiceEdge(node=Service.of(s), cursor=c, distance_km=d)
                 for s, c, d in zip(page.items, page.cursors, page.distances_km, strict=True)]
        return ServiceConnection(total_count=page.total, edges=edges, page_info=_page_info(page, after))

    @strawberry.field(description="Full-text search over names, aliases and descriptions, typo tolerant for names; "
                                  "best first.")
    async def search(self, info: Info[Context, None], text: str, kinds: list[SearchKind] | None = None,
                     first: int = 20, after: str | None = None) -> SearchConnection:
        _check_first(first)
        wanted = tuple(dict.fromkeys(k.value for k in kinds)) if kinds else ("organisation", "service")
        page = await info.context.store.search(info.context.viewer, text, wanted, first, after)
        edges = []
        for hit, c in zip(page.hits, page.cursors, strict=True):
            record = page.records[(hit.kind, hit.id)]
            edges.append(SearchHit(
                score=hit.score, cursor=c,
                organisation=Organisation.of(record) if hit.kind == "organisation" else None,
                service=Service.of(record) if hit.kind == "service" else None))
        return SearchConnection(total_count=page.total, edges=edges, page_info=_page_info(page, after))

    @strawberry.field(description="Countries (or the given countries and subdivisions, or one country's "
                                  "subdivisions) with the providers this viewer may see, per service type.")
    async def places(self, info: Info[Context, None], codes: list[str] | None = None, country: str | None = None,
                     group: str | None = None) -> list[Place]:
        wanted = place_list(codes, country)
        store: Store = info.context.store
        await store.require_terms(("group", DEFENDER_GROUP, group))
        counts = await store.jobs.provider_counts(info.context.viewer, wanted, group)
        return [Place(code=p.code, name=p.name, kind=p.kind, country=p.country, region=p.region,
                      subregion=p.subregion,
                      providers=[ProviderCount(service_type=c.service_type, present=c.present, remote=c.remote)
                                 for c in counts[p.code]])
                for p in wanted]

    @strawberry.field(description="Taxonomy terms with their labels: organisation-kind, service-type, "
                                  "defender-group.")
    async def taxonomy(self, info: Info[Context, None], scheme: str | None = None) -> list[Term]:
        if scheme is not None and scheme not in SCHEMES:  # never an empty list read as "no terms"
            raise BadArgument("scheme", "%(code)r is not a taxonomy scheme; valid: %(valid)s", code=scheme,
                              valid=", ".join(SCHEMES))
        return [Term(scheme=t.scheme, code=t.code, label=t.label, description=t.description)
                for t in await info.context.store.terms() if scheme is None or t.scheme == scheme]


def _check_first(first: int) -> None:
    if not 0 <= first <= MAX_PAGE:
        raise BadArgument("first", "must be between 0 and %(most)s", most=MAX_PAGE)

