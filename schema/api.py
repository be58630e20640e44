"""The executable schema: the Query and Mutation roots, the limits, and error handling.

Errors the client caused (a bad argument, a cap exceeded) come back as GraphQL errors with a
clear message. Anything else is logged by its type only (what a user sent may name people at
risk) and answered with a generic message, never a stack trace.
"""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from directory.domain.errors import BadArgument, Conflict, NotFound, ValidationFailed
from schema.limits import EXTENSIONS
from schema.mutation import Mutation
from schema.query import Query
from schema.types import Organisation, Service
from schema.work import ErrorCodes, ExpensiveWork

log = logging.getLogger("directory.graphql")
# what the person asking did wrong, not the service: said to them, logged only at INFO
_ASKED_AMISS = (BadArgument, NotFound, Conflict, ValidationFailed, GraphQLError)


class DirectorySchema(strawberry.Schema):
    """strawberry logs every error with the query and its variables; ours may name people at risk,
    so only the kind of error is logged."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            original = error.original_error
            if original is None or isinstance(original, _ASKED_AMISS):  # the client's to correct: kept quiet
                log.info("GraphQL request failed: %s", type(original).__name__ if original else "GraphQLError")
            else:  # the service's or the store's: an operator must see it (a damaged index, a store gone)
                log.warning("GraphQL request failed inside the service: %s", type(original).__name__)


schema = DirectorySchema(query=Query, mutation=Mutation, types=[Organisation, Service],
                         extensions=[*EXTENSIONS, ExpensiveWork, ErrorCodes])
