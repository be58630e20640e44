"""Every Cypher statement of the store passes Neo4j's own parser; a broken one would not."""

from __future__ import annotations

from tools.lint_cypher import lint, statements


def test_every_registered_statement_is_valid_neo4j_5_cypher() -> None:
    queries = statements()
    assert len(queries) > 40
    code, output = lint(queries)
    assert code == 0, output


def test_the_lint_catches_errors_and_removed_syntax() -> None:
    code, output = lint({"broken": "MATCH (n RETURN n", "removed": "MATCH (n) WHERE exists(n.name) RETURN n"})
    assert code == 1
    assert '"name":"broken"' in output and '"name":"removed"' in output
