"""The package structure holds: the import contracts pass, fail on a back-edge, and no code outside
the store reaches past the door to the driver."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.pure

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("directory", "schema", "maps", "federation")
LINT = str(Path(sys.executable).with_name("lint-imports"))


def lint(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LINT, "--no-cache"], cwd=where, capture_output=True, text=True, check=False,
                          env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"})


def test_the_import_contracts_hold() -> None:
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("module", "edge"), [
    ("directory/domain/model.py", "import directory.store"),  # the domain reaching up to the store
    ("directory/jobs/rules.py", "from directory.store.engine import graph"),  # past the door
    ("maps/page.py", "import schema.types"),  # one interface into another
    ("federation/merkle.py", "import neo4j"),  # the driver outside the store
])
def test_a_back_edge_breaks_a_contract(tmp_path: Path, module: str, edge: str) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{edge}  # noqa\n")
    done = lint(tmp_path)
    assert done.returncode != 0 and "BROKEN" in done.stdout, done.stdout + done.stderr


def test_nothing_outside_the_store_touches_its_graph_or_driver() -> None:
    """The door's `graph` attribute is the store's own: the tests may probe it, the product may not."""
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path.is_relative_to(ROOT / "directory" / "store"):
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Attribute) and node.attr in ("graph", "driver", "_graph"):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    assert found == []


def test_federation_errors_are_one_tree_inside_the_project_errors() -> None:
    import importlib
    import inspect
    import pkgutil

    import federation
    from directory.domain.errors import DirectoryError, FederationError

    found = []
    for module in pkgutil.iter_modules(federation.__path__, "federation."):
        for name, value in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            if issubclass(value, Exception) and value.__module__ == module.name:
                found.append(name)
                assert issubclass(value, FederationError) and issubclass(value, DirectoryError), name
    assert {"Refused", "Untrusted", "NotCanonical", "BadBody", "Unreachable", "KeyFileError"} <= set(found)
