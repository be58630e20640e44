"""Caps on what one query may ask for, checked before anything runs.

Depth, aliases, fields and an estimated cost are measured on the operation as it would run, with
every fragment spread expanded: a fragment spread twice at each of 30 levels asks for 2^30
fields, and is refused as such. The walk itself is linear in the document: each fragment's
shape is worked out once and reused wherever it is spread (the limiters it replaces walked every
spread again and took exponential time on exactly that document). Tokens are capped by the
parser, before any walk.

The cost: every field costs 1, and a field that returns many items multiplies what is under it by
how many it may return (`first`, or the page cap when `first` is a variable; a fixed fan-out for
plain lists). Page sizes are checked by the resolvers; the time budget and the bound on expensive
work by the web app (`directory.web`, `schema.work`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)

from directory.base.budget import Busy, OverBudget
from directory.domain.errors import BadArgument, NotFound, StatementTimedOut
from directory.store import MAX_PAGE

MAX_DEPTH = 10
MAX_ALIASES = 20
MAX_FIELDS = 2_000  # fields after fragment expansion, list fan-out not counted
MAX_TOKENS = 1500
MAX_COST = 20_000
DEFAULT_FIRST = 20
_CEILING = 10**12  # counts saturate here: a nested doubling must not build huge integers
# Lists without `first`: how many items one may hold, at most in practice.
LIST_FANOUT = {"services": 20, "links": 20, "coverage": 1, "groups": 1, "places": 250, "taxonomy": 1,
               "providers": 20, "referralPaths": 10, "steps": 6, "funding": 3,
               "donorFunding": 3, "capacity": 2, "donorTotals": 3}
PAGED = {"organisations", "services", "search", "coverageGaps", "findPartners"}
PAGE_DEFAULT = {"coverageGaps": 500, "findPartners": 10}
PAGE_CAP = {"findPartners": 50}  # the others: MAX_PAGE (coverageGaps holds a slot and caps its cells itself)


@dataclass(frozen=True)
class Shape:
    """What a selection set asks for once every fragment in it is expanded."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0
    cost: int = 0
    roots: frozenset[str] = frozenset()  # the operation's root fields, also those reached through fragments

    def __add__(self, other: Shape) -> Shape:
        return Shape(max(self.depth, other.depth), _cap(self.aliases + other.aliases),
                     _cap(self.fields + other.fields), _cap(self.cost + other.cost), self.roots | other.roots)


def _cap(n: int) -> int:
    return min(n, _CEILING)


class _Walk:
    """Shapes of selection sets in one document, each fragment's computed once per context."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.done: dict[tuple[str, bool], Shape] = {}
        self.open: set[str] = set()

    def selection_set(self, node: SelectionSetNode | None, top_level: bool) -> Shape:
        total = Shape()
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                total += self.field(selection, top_level)
            elif isinstance(selection, InlineFragmentNode):
                total += self.selection_set(selection.selection_set, top_level)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.spread(selection.name.value, top_level)
        return total

    def spread(self, name: str, top_level: bool) -> Shape:
        key = (name, top_level)
        if key in self.done:
            return self.done[key]
        if name in self.open or name not in self.fragments:  # cycles and unknown names: GraphQL's own rules
            return Shape()
        self.open.add(name)
        try:
            shape = self.selection_set(self.fragments[name].selection_set, top_level)
        finally:
            self.open.discard(name)
        self.done[key] = shape
        return shape

    def field(self, node: FieldNode, top_level: bool) -> Shape:
        inner = self.selection_set(node.selection_set, top_level=False)
        # Introspection (`__schema`, `__type`) is the schema's own description: no depth of ours.
        depth = 0 if node.name.value.startswith("__") else 1 + inner.depth if node.selection_set else 0
        return Shape(depth=depth, aliases=_cap(inner.aliases + (1 if node.alias else 0)),
                     fields=_cap(inner.fields + 1), cost=_cap(1 + _multiplier(node, top_level) * inner.cost),
                     roots=frozenset({node.name.value}) if top_level else frozenset())


def shape(document: DocumentNode, operation: OperationDefinitionNode) -> Shape:
    """The operation's depth, aliases, fields, estimated cost and root fields, fragments expanded."""
    return _Walk(document).selection_set(operation.selection_set, top_level=True)


class QueryShapeLimit(ValidationRule):
    """Refuses an operation deeper, wider or costlier than the caps, measured after expansion.

    One rule class for the whole life of the process, so strawberry's validation cache can keep
    its verdict per document."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        found = shape(self.context.document, node)
        name = node.name.value if node.name else "anonymous"
        for measured, limit, what in (
                (found.depth, MAX_DEPTH, f"'{name}' exceeds maximum operation depth of {MAX_DEPTH}"),
                (found.aliases, MAX_ALIASES, f"{found.aliases} aliases, over the limit of {MAX_ALIASES}"),
                (found.fields, MAX_FIELDS, f"{found.fields} fields once fragments are expanded, over the limit "
                                           f"of {MAX_FIELDS}"),
                (found.cost, MAX_COST, f"the query's estimated cost is {found.cost}, over the limit of {MAX_COST}: "
                                       "ask for fewer items per page or fewer nested lists")):
            if measured > limit:
                self.report_error(GraphQLError(what, node, extensions={"code": "QUERY_TOO_LARGE"}))


def _multiplier(field: FieldNode, top_level: bool) -> int:
    """How many items the field may return: its `first` (clamped to what the resolver accepts, so
    a negative or zero page cannot shrink the estimate), or the page cap when `first` is a
    variable, or a fixed fan-out."""
    name = field.name.value
    if name in PAGED and (top_level or name != "services"):
        return min(_page(field, name), _cells(field) if name == "coverageGaps" else _CEILING)
    return LIST_FANOUT.get(name, 1)


def _page(field: FieldNode, name: str) -> int:
    limit = PAGE_CAP.get(name, MAX_PAGE)
    for arg in field.arguments or ():
        if arg.name.value == "first":
            return min(max(int(arg.value.value), 1), limit) if isinstance(arg.value, IntValueNode) else limit
    return PAGE_DEFAULT.get(name, DEFAULT_FIRST)


def _cells(field: FieldNode) -> int:
    """The most cells a gap matrix can hold when the document lists its places and service types
    (`codes` by `serviceTypes`): six cells asked by the default page of 500 were refused as too
    costly. Unbounded otherwise (a region's or a country's places are counted by `first`)."""
    given = {arg.name.value: arg.value for arg in field.arguments or ()}
    codes, types = given.get("codes"), given.get("serviceTypes")
    if isinstance(codes, ListValueNode) and isinstance(types, ListValueNode) and codes.values and types.values:
        return len(codes.values) * len(types.values)  # an empty list asks for every place, or every type
    return _CEILING


_CLIENT_ERRORS = (BadArgument, NotFound, ValueError, OverBudget, Busy, StatementTimedOut)


def _unexpected(error: GraphQLError) -> bool:
    """Errors the client caused keep their message; any other could carry internals, so it is masked.
    graphql-core's own word is the client's only before anything ran (a variable's value, at no path):
    one raised while a result is made ("Expected value of type ... but got: <repr>") is ours."""
    original = error.original_error
    if isinstance(original, GraphQLError):
        return error.path is not None
    return original is not None and not isinstance(original, _CLIENT_ERRORS)


class OneOperation(SchemaExtension):
    """A document of several operations runs the one `operationName` names: strawberry would run
    the first unasked (an integrator's walk got the answer to a question it had not chosen)."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if context._provided_operation_name is None and document is not None and sum(
                isinstance(d, OperationDefinitionNode) for d in document.definitions) > 1:
            context.pre_execution_errors = [*(context.pre_execution_errors or []), GraphQLError(
                "Must provide operation name if query contains multiple operations.",
                extensions={"code": "GRAPHQL_VALIDATION_FAILED"})]
        yield


EXTENSIONS: list[Any] = [
    # A client sends the same few documents over and over: parse and validate each once. The
    # caps above are properties of the document, so a cached verdict stays right.
    lambda: ParserCache(maxsize=512),
    lambda: ValidationCache(maxsize=512),
    lambda: MaskErrors(should_mask_error=_unexpected,
                       error_message="the request failed inside the service; nothing was changed"),
    lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    lambda: AddValidationRules([QueryShapeLimit]),
    OneOperation,  # after the cache, which sets what validation found before the operation is read
]
