"""The docs cannot drift from the code: every hashtag, verb, option and setting is documented."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from directory import demo, hxl
from directory.cli import parser
from directory.config import _VARIABLES
from directory.store.records import Store
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
