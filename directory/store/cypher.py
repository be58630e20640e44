"""Every Cypher statement the service runs is declared here, by name, so CI can lint them all.

`cypher()` registers a statement at import time; `tools/lint_cypher.py` imports the store modules,
takes `REGISTRY` and checks each entry with Neo4j's own parser. Statements are static text with
`$parameters`; optional filters are written as `($x IS NULL OR ...)` rather than assembled, so
what is linted is exactly what runs.
"""

from __future__ import annotations

REGISTRY: dict[str, str] = {}


def cypher(name: str, text: str) -> str:
    if name in REGISTRY and REGISTRY[name] != text:
        raise ValueError(f"two Cypher statements are named {name!r}")
    REGISTRY[name] = text
    return text


def serves_group(var: str) -> str:
    """`$group` holds for a service: it serves that defender group, or names none (open to all)."""
    return (f"($group IS NULL OR NOT EXISTS {{ MATCH ({var})-[:SERVES]->(:DefenderGroup) }}\n"
            f"       OR EXISTS {{ MATCH ({var})-[:SERVES]->(g:DefenderGroup) WHERE g.code = $group }})")


def service_map(var: str) -> str:
    """A service's properties with its coverage and defender groups, as `records._service` reads them."""
    return (f"{var} {{.*,\n"
            f"  coverage: [({var})-[a:AVAILABLE_IN]->(p:Place) | {{place: p.code, presence: a.presence}}],\n"
            f"  groups: [({var})-[:SERVES]->(g:DefenderGroup) | g.code]\n}}")


def visible(var: str) -> str:
    """The visibility predicate for a node or relationship bound to `var`.

    Takes the parameters of `Viewer.params`: `$see`, the visibilities this viewer may see, and
    `$viewer_org`, whose own records the viewer sees whatever their visibility.
    """
    return f"({var}.visibility IN $see OR ({var}.owner IS NOT NULL AND {var}.owner = $viewer_org))"
