"""Which operations are expensive, the slot they must hold, and the codes clients act on.

An operation is expensive when it asks a job or the place counts (they read every service the
viewer may see) or when its estimated cost (`limits.shape`) is high. It runs only while holding
one of the process's slots for expensive work (`directory.base.budget.Slots`); when none frees up in
a short wait it is answered with the error code BUSY and `retryAfterSeconds`, and nothing runs.

Errors a client can act on carry `extensions.code`: BUSY, TIME_BUDGET, BAD_ARGUMENT, NOT_FOUND.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

from directory.base.budget import Busy, OverBudget
from directory.domain.errors import BadArgument, NotFound, StatementTimedOut, StoreUnavailable
from schema.limits import shape

STORE_UNAVAILABLE = "STORE_UNAVAILABLE"  # the store took no connection: try again in a minute

EXPENSIVE_FIELDS = frozenset({"coverageGaps", "places", "findPartners", "referralPaths"})
EXPENSIVE_COST = 2_000


def _operation(context: Any) -> OperationDefinitionNode | None:
    document = context.graphql_document
    if document is None:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if context.operation_name:
        operations = [o for o in operations if o.name and o.name.value == context.operation_name]
    return operations[0] if len(operations) == 1 else None


def expensive(context: Any) -> bool:
    operation = _operation(context)
    return operation is not None and costly(context.graphql_document, operation)


def costly(document: DocumentNode, operation: OperationDefinitionNode) -> bool:
    """Whether the operation asks a job or the place counts, or is estimated to cost much."""
    found = shape(document, operation)
    return bool(found.roots & EXPENSIVE_FIELDS) or found.cost >= EXPENSIVE_COST


class ExpensiveWork(SchemaExtension):
    """Holds a slot for expensive work around the execution of an expensive operation."""

    async def on_execute(self) -> AsyncIterator[None]:
        slots = getattr(self.execution_context.context, "slots", None)
        if slots is None or not expensive(self.execution_context):
            yield
            return
        try:
            give_back = await slots.take()
        except Busy as busy:  # answered without running: a result set here skips execution
            self.execution_context.result = GraphQLExecutionResult(
                data=None, errors=[GraphQLError(str(busy), original_error=busy, extensions=_code(busy))])
            yield
            return
        try:
            yield
        finally:
            give_back()


def _code(original: BaseException | None) -> dict[str, Any] | None:
    if isinstance(original, Busy):
        return {"code": "BUSY", "retryAfterSeconds": original.retry_after}
    if isinstance(original, OverBudget | StatementTimedOut):
        return {"code": "TIME_BUDGET"}
    if isinstance(original, BadArgument):
        return {"code": "BAD_ARGUMENT", "argument": original.argument}
    if isinstance(original, NotFound):
        return {"code": "NOT_FOUND", **({"argument": original.argument} if original.argument else {})}
    if isinstance(original, StoreUnavailable):
        return {"code": STORE_UNAVAILABLE}
    return None


class ErrorCodes(SchemaExtension):
    """Puts a machine-readable code on the errors a client can act on."""

    def on_operation(self) -> Any:
        try:
            yield
        except GraphQLError as unreadable:  # raised through the hooks: the parser's, a document it cannot read
            if not (unreadable.extensions or {}).get("code"):
                unreadable.extensions = {**(unreadable.extensions or {}), "code": "GRAPHQL_PARSE_FAILED"}
            raise
        context = self.execution_context
        result = context.result
        for error in [*((result.errors if result else None) or []), *(context.pre_execution_errors or [])]:
            if not isinstance(error, GraphQLError) or (error.extensions or {}).get("code"):
                continue
            found = _code(error.original_error)
            if found is None and error.path is None and (error.original_error is None
                                                         or isinstance(error.original_error, GraphQLError)):
                # the document's own fault: unreadable, or not valid against the schema (an integrator's walk
                # found these alone without a code to act on)
                found = {"code": "GRAPHQL_PARSE_FAILED" if context.graphql_document is None
                         else "GRAPHQL_VALIDATION_FAILED"}
            if found:
                error.extensions = {**(error.extensions or {}), **found}
