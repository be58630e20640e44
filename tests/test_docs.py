"""The docs cannot drift from the code: every hashtag, verb, option and setting is documented."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from directory.base.config import _VARIABLES
from directory.cli import parser
from directory.exchange import demo
from directory.formats import hxl
from directory.store import Store
from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_every_hashtag_is_in_the_csv_format_doc() -> None:
    doc = (ROOT / "docs" / "csv-hxl.md").read_text()
    for tags in hxl.KINDS.values():
        for tag in tags:
            assert f"`{tag}`" in doc, tag


def test_every_cli_verb_and_option_is_in_the_readme() -> None:
    verbs = parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for verb, sub in verbs.items():
        assert f"directory {verb}" in README, verb
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert re.search(rf"directory {verb}[^\n]*{re.escape(option)}", README), f"{verb} {option}"


def test_every_setting_is_in_the_readme() -> None:
    for _, variable, _ in _VARIABLES:
        assert variable in README, variable


def test_every_check_and_test_the_threat_model_cites_exists() -> None:
    doc = (ROOT / "docs" / "threat-model.md").read_text()
    cited = set(re.findall(r"`((?:directory|federation|schema|maps|tests)/[\w/.-]+\.py)(?:::([\w.]+))?`", doc))
    assert len(cited) > 100
    for path, name in sorted(cited):
        assert (ROOT / path).is_file(), f"docs/threat-model.md cites {path}, which is not there"
        if name:  # a function, class, method or constant: `file::name` or `file::Class.name`
            last = name.split(".")[-1]
            found = re.search(rf"^\s*(?:async def|def|class) {last}\b|^\s*{last}\s*[:=]", (ROOT / path).read_text(),
                              re.M)
            assert found, f"docs/threat-model.md cites {path}::{name}, which is not there"


def test_no_doc_or_test_reads_anything_outside_the_repository() -> None:
    outside = "../" + "shared"  # the notes and files a clone does not have
    texts = [ROOT / "README.md", ROOT / "DEVELOPERS.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "tests").glob("*.py")]
    assert [str(path) for path in texts if outside in path.read_text()] == []


@pytest.mark.anyio
async def test_every_graphql_example_in_the_readme_runs(store: Store, live_server: LiveServer) -> None:
    await demo.load(store)
    examples = re.findall(r"```graphql\n(.*?)```", README, re.S)
    assert len(examples) >= 3
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        for example in examples:  # the README uses the default directory id, the tests "test"
            body = (await client.post("/graphql", json={"query": example.replace('"local:', '"test:')})).json()
            assert "errors" not in body, (example, body)
            assert body["data"]
