"""The Query root. Resolvers are thin: they ask the store, which applies the viewer."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext, Info

from directory.errors import NotFound
from directory.store.records import MAX_PAGE
from directory.store.records import OrganisationFilter as StoreFilter
from schema.context import Context
from schema.types import (
    Organisation,
    OrganisationConnection,
    OrganisationEdge,
    OrganisationFilter,
    PageInfo,
)

log = logging.getLogger("directory.graphql")


@strawberry.type
class Query:
    @strawberry.field(description="One organisation by its directory id; null if there is none this viewer may see.")
    async def organisation(self, info: Info[Context, None], id: strawberry.ID) -> Organisation | None:
        try:
            return Organisation.of(await info.context.store.organisation(info.context.viewer, str(id)))
        except NotFound:
            return None

    @strawberry.field(description=f"Organisations sorted by name, a Relay connection; at most {MAX_PAGE} a page.")
    async def organisations(self, info: Info[Context, None], filter: OrganisationFilter | None = None,
                            first: int = 20, after: str | None = None) -> OrganisationConnection:
        if first < 0 or first > MAX_PAGE:
            raise ValueError(f"first must be between 0 and {MAX_PAGE}")
        where = StoreFilter(**vars(filter)) if filter else StoreFilter()
        page = await info.context.store.list_organisations(info.context.viewer, where, first, after)
        edges = [OrganisationEdge(node=Organisation.of(o), cursor=c)
                 for o, c in zip(page.items, page.cursors, strict=True)]
        return OrganisationConnection(
            total_count=page.total, edges=edges,
            page_info=PageInfo(has_next_page=page.has_next, has_previous_page=after is not None,
                               start_cursor=page.cursors[0] if page.cursors else None,
                               end_cursor=page.cursors[-1] if page.cursors else None),
        )


class DirectorySchema(strawberry.Schema):
    """strawberry logs every error with the query and its variables; ours may name people at risk,
    so only the kind of error is logged."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            original = error.original_error
            log.info("GraphQL request failed: %s", type(original).__name__ if original else "GraphQLError")


schema = DirectorySchema(query=Query)
