"""Lint every registered Cypher statement against Neo4j 5 with Neo4j's own parser.

Imports every module of `directory.store` (which registers its statements, and the samplers of
the statements it assembles from fragments: `engine/cypher.py`), sends them to
`tools/cypher-lint/lint.mjs`, and fails on any error or deprecation warning.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import directory.store
from directory.store.engine.cypher import REGISTRY, SAMPLERS

HERE = Path(__file__).resolve().parent


def statements() -> dict[str, str]:
    for module in pkgutil.walk_packages(directory.store.__path__, "directory.store."):
        if not module.name.endswith(".launcher"):
            importlib.import_module(module.name)
    found = dict(REGISTRY)
    for sampler in SAMPLERS:
        found.update(sampler())
    return found


def lint(queries: dict[str, str]) -> tuple[int, str]:
    node = shutil.which("node") or "node"
    proc = subprocess.run([node, str(HERE / "cypher-lint" / "lint.mjs")], input=json.dumps(queries),
                          capture_output=True, text=True, cwd=HERE / "cypher-lint", check=False)
    return proc.returncode, proc.stdout + proc.stderr


def main() -> None:
    code, output = lint(statements())
    print(output, end="")
    sys.exit(code)


if __name__ == "__main__":
    main()
