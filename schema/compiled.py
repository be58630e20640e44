"""Queries answered by one statement per root field, compiled from what they select.

Clients send the same few documents over and over: an organisation with its services, a page of a
listing, a search. Each document is parsed, validated (with the same rules and caps as every other
request) and compiled once into `Shape`s (`directory.store.records.projection`):
the store then reads exactly the selected fields as plain values, with the viewer's visibility in
the statement, and the answer is written from them without building a record or running a
resolver per field.

The compiler knows the root fields `organisation`, `service`, `organisations`, `services` and
`search` (in an operation not estimated costly: that one holds a slot for expensive work first,
`schema.work`), the fields of organisations, services and links that read the same in every
view, an organisation's location and a service's coverage (each shown as the view allows), and
the connections around them. Anything else (a field read as a record: contact
channels, capacity, provenance; fragments and directives; mutations, the jobs) is not compiled,
and the request goes to strawberry as before. A request that fails here for any reason also goes to
strawberry, which answers it with the proper error: the compiled path answers only what it
answers the same way (a test runs every document both ways, for every kind of viewer).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.utils.str_converters import to_snake_case

from directory.domain.ids import record_id_of
from directory.domain.model import LINK_TYPES
from directory.domain.viewer import Viewer
from directory.store import (
    MAX_PAGE,
    PROJECTED,
    Covered,
    End,
    Filter,
    Follow,
    Links,
    Located,
    Near,
    Page,
    Pick,
    SearchPage,
    Shape,
    Sort,
    Store,
)
from schema.limits import MAX_TOKENS, QueryShapeLimit
from schema.work import costly

PLANS = 512  # documents kept compiled, per process
_TYPE = {"organisation": "Organisation", "service": "Service"}
_RENAMED = {"recordId": "id", "organisationId": "organisation"}
_LINK_RENAMED = {"sourceId": "source", "targetId": "target", "type": "type", "key": "key"}


class NotCompiled(Exception):
    """The document asks for something the compiler does not know: strawberry answers it."""


@dataclass(frozen=True)
class Step:
    """One root field: how to read it and how to write its answer."""

    key: str
    root: str  # the root field's name
    node: FieldNode
    shape: Shape | None = None  # organisation, service, and the nodes of organisations and services
    shapes: dict[str, Shape] = field(default_factory=dict)  # search: a shape per kind
    connection: tuple[tuple[str, str, Any], ...] = ()  # (key, field, what is under it)
    counted: bool = False


@dataclass
class Plan:
    operation: OperationDefinitionNode
    links_field: GraphQLField  # Organisation.links, whose `types` each link step reads per request
    steps: list[Step] = field(default_factory=list)
    links: list[tuple[str, FieldNode]] = field(default_factory=list)  # (parameter, links node): the types asked


class Compiler:
    """Compiled plans for one schema, kept per document (the most recent PLANS). A plan holds no
    viewer: the statements its shapes make are kept per viewer class (`projection.by_id`)."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self.plans: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()
        self.answered = 0  # requests answered here, not by strawberry (tests read it)

    async def answer(self, store: Store, viewer: Viewer, body: bytes) -> bytes | None:
        """The response body for a request this compiler answers; None: let strawberry answer it."""
        try:
            request = json.loads(body)
            if not isinstance(request, dict) or not isinstance(request.get("query"), str):
                return None
            name, variables = request.get("operationName"), request.get("variables")
            if not isinstance(name, str | None) or not isinstance(variables, dict | None):
                return None  # strawberry words the refusal
            plan = self.plan(request["query"], name)
            if plan is None:
                return None
            data = await _run(plan, self.schema, store, viewer, variables or {})
        except Exception:  # strawberry answers it again, with its errors and their masking
            return None
        self.answered += 1
        return json.dumps({"data": data}).encode()

    def plan(self, query: str, operation: str | None) -> Plan | None:
        key = (query, operation)
        if key in self.plans:
            self.plans.move_to_end(key)
            return self.plans[key]
        try:
            found: Plan | None = self._compile(query, operation)
        except (NotCompiled, GraphQLError):
            found = None
        self.plans[key] = found
        if len(self.plans) > PLANS:
            self.plans.popitem(last=False)
        return found

    def _compile(self, query: str, operation_name: str | None) -> Plan:
        document = parse(query, max_tokens=MAX_TOKENS)
        if validate(self.schema, document, (*specified_rules, QueryShapeLimit)):
            raise NotCompiled("invalid")
        operation = _operation(document, operation_name)
        if costly(document, operation):  # it must hold a slot for expensive work (`schema.work`)
            raise NotCompiled("expensive")
        organisation = self.schema.get_type("Organisation")
        plan = Plan(operation, organisation.fields["links"])  # type: ignore[union-attr]
        for node in _fields(operation.selection_set):
            plan.steps.append(_root(node, plan))
        if sum(step.root != "__typename" for step in plan.steps) > 1:
            # A later root failing would leave an earlier one read (and noted as shown) for nothing.
            raise NotCompiled("more than one root field")
        return plan


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode:
    if any(not isinstance(d, OperationDefinitionNode) for d in document.definitions):
        raise NotCompiled("fragments")
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)
                  and (name is None or (d.name is not None and d.name.value == name))]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY or operations[0].directives:
        raise NotCompiled("operation")
    return operations[0]


def _fields(selection: SelectionSetNode | None) -> list[FieldNode]:
    """The selection's fields, when each is a plain field under its own response key."""
    out: list[FieldNode] = []
    keys: set[str] = set()
    for node in selection.selections if selection else ():
        if not isinstance(node, FieldNode) or node.directives:
            raise NotCompiled("fragment or directive")
        key = (node.alias or node.name).value
        if key in keys:
            raise NotCompiled("a response key twice")
        keys.add(key)
        out.append(node)
    return out


def _key(node: FieldNode) -> str:
    return (node.alias or node.name).value


def _root(node: FieldNode, plan: Plan) -> Step:
    name, key = node.name.value, _key(node)
    if name == "__typename":
        return Step(key, name, node)
    if name in ("organisation", "service"):
        return Step(key, name, node, shape=_record(name, node.selection_set, plan))
    if name in ("organisations", "services"):
        kind = name[:-1]
        parts, counted = _connection(node.selection_set, kind, plan, f"{_TYPE[kind]}Edge")
        nodes = [shape for _, what, edge in parts if what == "edges" for _, f, shape in edge if f == "node"]
        return Step(key, name, node, shape=nodes[0] if nodes else Shape(kind), connection=parts, counted=counted)
    if name == "search":
        parts, counted = _connection(node.selection_set, "search", plan, "SearchHit")
        shapes = {kind: Shape(kind) for kind in _TYPE}
        for _, what, inner in parts:
            if what == "edges":
                shapes.update({f: shape for _, f, shape in inner if f in _TYPE})
        return Step(key, name, node, shapes=shapes, connection=parts)
    raise NotCompiled(name)


def _connection(selection: SelectionSetNode | None, kind: str, plan: Plan,
                edge_type: str) -> tuple[tuple[tuple[str, str, Any], ...], bool]:
    parts: list[tuple[str, str, Any]] = []
    counted = False
    for node in _fields(selection):
        name = node.name.value
        if node.arguments:
            raise NotCompiled(name)
        if name == "edges":
            edges = tuple(_edge(e, kind, plan, edge_type) for e in _fields(node.selection_set))
            parts.append((_key(node), name, edges))
        elif name == "pageInfo":
            parts.append((_key(node), name, tuple((_key(p), p.name.value) for p in _fields(node.selection_set))))
        elif name in ("totalCount", "__typename"):
            counted = counted or name == "totalCount"
            parts.append((_key(node), name, None))
        else:
            raise NotCompiled(name)
    return tuple(parts), counted


def _edge(node: FieldNode, kind: str, plan: Plan, edge_type: str) -> tuple[str, str, Any]:
    name = node.name.value
    if node.arguments:
        raise NotCompiled(name)
    if kind == "search" and name in _TYPE:
        return _key(node), name, _record(name, node.selection_set, plan)
    if kind != "search" and name == "node":
        return _key(node), name, _record(kind, node.selection_set, plan)
    if name == "__typename":
        return _key(node), name, edge_type
    if name in ("cursor", "score" if kind == "search" else "distanceKm"):
        return _key(node), name, None
    raise NotCompiled(name)


def _record(kind: str, selection: SelectionSetNode | None, plan: Plan) -> Shape:
    parts: list[Pick | Follow | Links | Located | Covered] = []
    for node in _fields(selection):
        name, key = node.name.value, _key(node)
        if node.arguments and name != "links":
            raise NotCompiled(name)
        if name == "__typename":
            parts.append(Pick(key, constant=_TYPE[kind]))
        elif name == "id":
            parts.append(Pick(key, "id", prefix=f"{_TYPE[kind]}:"))
        elif name == "visibility":
            parts.append(Pick(key, "visibility", upper=True))
        elif kind == "organisation" and name == "services":
            parts.append(Follow(key, "services", _record("service", node.selection_set, plan)))
        elif kind == "service" and name == "organisation":
            parts.append(Follow(key, "provider", _record("organisation", node.selection_set, plan)))
        elif kind == "organisation" and name == "links":
            parts.append(_links(node, plan))
        elif kind == "organisation" and name == "location":
            parts.append(Located(key, tuple((_key(p), p.name.value) for p in _fields(node.selection_set))))
        elif kind == "service" and name == "coverage":
            parts.append(Covered(key, tuple((_key(p), p.name.value) for p in _fields(node.selection_set))))
        elif node.selection_set is None and _RENAMED.get(name, to_snake_case(name)) in PROJECTED[kind]:
            parts.append(Pick(key, _RENAMED.get(name, to_snake_case(name))))
        else:
            raise NotCompiled(f"{kind}.{name}")
    return Shape(kind, tuple(parts))


def _links(node: FieldNode, plan: Plan) -> Links:
    direction = "out"
    types: str | None = None
    for argument in node.arguments or ():
        if argument.name.value == "direction":
            value = getattr(argument.value, "value", None)
            if value not in ("OUTGOING", "INCOMING"):  # a variable: the statement would depend on it
                raise NotCompiled("links(direction: $variable)")
            direction = "out" if value == "OUTGOING" else "in"
        elif argument.name.value == "types":
            types = f"link_types_{len(plan.links)}"
            plan.links.append((types, node))
    parts: list[Pick | End] = []
    for inner in _fields(node.selection_set):
        name, key = inner.name.value, _key(inner)
        if name in ("source", "target"):
            parts.append(End(key, name, _record("organisation", inner.selection_set, plan)))
        elif name == "__typename":
            parts.append(Pick(key, constant="Link"))
        elif name == "visibility":
            parts.append(Pick(key, "visibility", upper=True))
        elif name in _LINK_RENAMED:
            parts.append(Pick(key, _LINK_RENAMED[name]))
        else:
            raise NotCompiled(f"link.{name}")
    return Links(_key(node), direction, types, tuple(parts))


# --- running a plan -------------------------------------------------------------------------------


async def _run(plan: Plan, schema: GraphQLSchema, store: Store, viewer: Viewer,
               variables: dict[str, Any]) -> dict[str, Any]:
    coerced = get_variable_values(schema, plan.operation.variable_definitions or (), variables)
    if isinstance(coerced, list):
        raise NotCompiled("variables")
    params = {}
    for name, node in plan.links:
        asked = get_argument_values(plan.links_field, node, coerced).get("types")
        params[name] = [t.value for t in asked] if asked else list(LINK_TYPES)
    query = schema.query_type
    assert query is not None
    data: dict[str, Any] = {}
    for step in plan.steps:
        if step.root == "__typename":
            data[step.key] = "Query"
        else:
            args = get_argument_values(query.fields[step.root], step.node, coerced)
            data[step.key] = await _step(step, args, store, viewer, params)
    return data


async def _step(step: Step, args: dict[str, Any], store: Store, viewer: Viewer, params: dict[str, Any]) -> Any:
    if step.root in ("organisation", "service"):
        assert step.shape is not None
        record_id = record_id_of(str(args["id"]), _TYPE[step.root])
        return (await store.project(viewer, step.shape, [record_id], **params)).get(record_id)
    first, after = args.get("first", 20), args.get("after")
    if not 0 <= first <= MAX_PAGE:
        raise NotCompiled("first")
    if step.root == "search":
        kinds = [k.value for k in args.get("kinds") or ()] or list(_TYPE)
        shapes = {k: step.shapes[k] for k in _TYPE if k in kinds}
        return _search(step, await store.search_projected(viewer, args["text"], shapes, first, after), after)
    assert step.shape is not None
    page = await store.project_page(viewer, step.shape, _filter(args.get("filter")), first, after,
                                    Sort(args["sort"].value), step.counted, **params)
    return _page(step, page, after)


def _filter(raw: dict[str, Any] | None) -> Filter | None:
    if raw is None:
        return None
    values = {to_snake_case(k): v for k, v in raw.items()}
    near = values.pop("near", None)
    return Filter(**values, near=Near(near["latitude"], near["longitude"], near["radiusKm"]) if near else None)


def _page_info(parts: tuple[tuple[str, str], ...], cursors: list[str], has_next: bool,
               after: str | None) -> dict[str, Any]:
    values = {"hasNextPage": has_next, "hasPreviousPage": after is not None,
              "startCursor": cursors[0] if cursors else None, "endCursor": cursors[-1] if cursors else None,
              "__typename": "PageInfo"}
    return {key: values[name] for key, name in parts}


def _answered(step: Step, typename: str, total: int | None, cursors: list[str], has_next: bool,
                after: str | None, edges: list[dict[str, Any]]) -> dict[str, Any]:
    """A connection's answer from each edge's values by field name (an edge's `__typename` is in the plan)."""
    out: dict[str, Any] = {}
    for key, name, inner in step.connection:
        if name == "totalCount":
            out[key] = total
        elif name == "__typename":
            out[key] = typename
        elif name == "pageInfo":
            out[key] = _page_info(inner, cursors, has_next, after)
        else:
            out[key] = [{k: values[f] if f in values else held for k, f, held in inner} for values in edges]
    return out


def _page(step: Step, page: Page, after: str | None) -> dict[str, Any]:
    edges = [{"node": item, "cursor": cursor, "distanceKm": distance}
             for item, cursor, distance in zip(page.items, page.cursors, page.distances_km, strict=True)]
    return _answered(step, f"{_TYPE[step.root[:-1]]}Connection", page.total, page.cursors, page.has_next,
                       after, edges)


def _search(step: Step, page: SearchPage, after: str | None) -> dict[str, Any]:
    edges = [{"score": hit.score, "cursor": cursor, "__typename": "SearchHit",
              "organisation": page.records.get(("organisation", hit.id)) if hit.kind == "organisation" else None,
              "service": page.records.get(("service", hit.id)) if hit.kind == "service" else None}
             for hit, cursor in zip(page.hits, page.cursors, strict=True)]
    return _answered(step, "SearchConnection", page.total, page.cursors, page.has_next, after, edges)
