"""Caps on what one query may ask for, checked before anything runs.

Depth, aliases and tokens use strawberry's limiters. The cost estimate is ours: every field costs
1, and a field that returns many items multiplies what is under it by how many it may return
(`first`, or the page cap when `first` is a variable; a fixed fan-out for plain lists). Page sizes
are checked by the resolvers; the time budget by the web app (`directory.web`).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

from directory.errors import BadArgument, NotFound
from directory.store.listing import MAX_PAGE

MAX_DEPTH = 10
MAX_ALIASES = 20
MAX_TOKENS = 1500
MAX_COST = 20_000
DEFAULT_FIRST = 20
# Lists without `first`: how many items one may hold, at most in practice.
LIST_FANOUT = {"services": 20, "links": 20, "coverage": 1, "groups": 1, "places": 250, "taxonomy": 1,
               "providers": 20, "referralPaths": 10, "steps": 6, "findPartners": 10, "funding": 3,
               "donorFunding": 3, "capacity": 2, "donorTotals": 3}
PAGED = {"organisations", "services", "search", "coverageGaps"}
PAGE_DEFAULT = {"coverageGaps": 500}


class CostLimit(ValidationRule):
    """Rejects an operation whose estimated cost is over MAX_COST."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        fragments = {f.name.value: f for f in self.context.document.definitions
                     if isinstance(f, FragmentDefinitionNode)}
        cost = _cost(node.selection_set, fragments, set())
        if cost > MAX_COST:
            self.report_error(GraphQLError(
                f"the query's estimated cost is {cost}, over the limit of {MAX_COST}: ask for fewer items per page "
                "or fewer nested lists", node))


def _multiplier(field: FieldNode, top_level: bool) -> int:
    name = field.name.value
    if name in PAGED and (top_level or name != "services"):
        for arg in field.arguments or ():
            if arg.name.value == "first":
                return int(arg.value.value) if isinstance(arg.value, IntValueNode) else MAX_PAGE
        return PAGE_DEFAULT.get(name, DEFAULT_FIRST)
    return LIST_FANOUT.get(name, 1)


def _cost(selection_set: SelectionSetNode | None, fragments: dict[str, Any], seen: set[str],
          top_level: bool = True) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            inner = _cost(selection.selection_set, fragments, seen, top_level=False)
            total += 1 + _multiplier(selection, top_level) * inner
        elif isinstance(selection, InlineFragmentNode):
            total += _cost(selection.selection_set, fragments, seen, top_level)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen or name not in fragments:  # cycles are reported by GraphQL's own rules
                continue
            total += _cost(fragments[name].selection_set, fragments, seen | {name}, top_level)
    return total


def _unexpected(error: GraphQLError) -> bool:
    """Errors the client caused keep their message; any other could carry internals, so it is masked."""
    original = error.original_error
    return original is not None and not isinstance(original, BadArgument | NotFound | ValueError)


EXTENSIONS: list[Any] = [
    # A client sends the same few documents over and over: parse and validate each once. The
    # caps above are properties of the document, so a cached verdict stays right.
    lambda: ParserCache(maxsize=512),
    lambda: ValidationCache(maxsize=512),
    lambda: MaskErrors(should_mask_error=_unexpected,
                       error_message="the request failed inside the service; nothing was changed"),
    lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
    lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
    lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    lambda: AddValidationRules([CostLimit]),
]
