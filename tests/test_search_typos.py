"""Typos in a search: only the words that match no record the viewer may see are fuzzed, and
hidden records never decide which ones those are."""

from __future__ import annotations

from typing import Any

import pytest

from directory.store import Store
from directory.store.records import search
from tests.helpers import Api, load, org, service

SEARCH = """query($text: String!, $kinds: [SearchKind!]) { search(text: $text, first: 50, kinds: $kinds) {
  totalCount edges { score organisation { recordId } service { recordId } } } }"""


async def _answer(api: Api, text: str, token: str | None = None, **more: Any) -> dict[str, Any]:
    data: dict[str, Any] = (await api.data(SEARCH, token, text=text, **more))["search"]
    return data


def _ids(answer: dict[str, Any]) -> list[str]:
    return [(e["organisation"] or e["service"])["recordId"] for e in answer["edges"]]


@pytest.mark.anyio
async def test_search_fuzzes_a_misspelt_word_that_only_hidden_records_hold(store: Store, api: Api) -> None:
    await load(store, [org("national", "National Defenders Network")])
    before = await _answer(api, "natonal defenders")
    await load(store, [org("watch", "Natonal Watch", **{"#meta+visibility": "restricted"}),
                       org("trust", "Natonal Defenders Trust", **{"#meta+visibility": "network"})])
    after = await _answer(api, "natonal defenders")
    assert _ids(after) == ["test:national"]
    assert after == before
    _, steward = await store.tokens.create("steward", None)  # who sees them finds "natonal" as written
    assert _ids(await _answer(api, "natonal defenders", steward)) == ["test:trust"]


@pytest.mark.anyio
async def test_search_fuzzes_a_service_word_that_only_services_of_hidden_providers_hold(store: Store,
                                                                                        api: Api) -> None:
    await load(store, [org("open"), org("closed", **{"#meta+visibility": "restricted"})], [
        service("shown", "open", **{"#service+name": "National accompaniment"}),
        service("unseen", "closed", **{"#service+name": "Natonal shelter"})])
    answer = await _answer(api, "natonal accompaniment", kinds=["SERVICE"])
    assert _ids(answer) == ["test:shown"]


@pytest.mark.anyio
async def test_search_takes_a_word_found_as_written_as_written(store: Store, api: Api) -> None:
    await load(store, [org("rivers", "Rivers Alliance"), org("mountain", "Mountain Watch"),
                       org("rivera", "Rivera Mountain Fund")])
    # Each word names a visible record, none both: no typo is assumed, though "rivers" is near "rivera".
    before = await _answer(api, "rivers mountain")
    assert before == {"totalCount": 0, "edges": []}
    assert _ids(await _answer(api, "rivera mountain")) == ["test:rivera"]
    assert _ids(await _answer(api, "riveras mountain")) == ["test:rivera"]  # not found as written: fuzzed
    await load(store, [org("both", "Rivers Mountain Trust", **{"#meta+visibility": "restricted"})])
    assert await _answer(api, "rivers mountain") == before


@pytest.mark.anyio
async def test_search_finds_a_word_as_written_behind_more_hidden_matches_than_it_probes(store: Store,
                                                                                       api: Api) -> None:
    # Short hidden names rank first for "natonal", filling the first PROBE matches; the visible one
    # after them still counts, so "natonal" is taken as written and not fuzzed into "national".
    await load(store, [org(f"h{i:02}", "Natonal", **{"#meta+visibility": "restricted"})
                       for i in range(search.PROBE + 5)])
    await load(store, [org("long", "Natonal Rivers Mountains Valley Delta Coast Group"),
                       org("national", "National Defenders Network")])
    assert await _answer(api, "natonal defenders") == {"totalCount": 0, "edges": []}
    assert _ids(await _answer(api, "natonal rivers")) == ["test:long"]


def test_probed_settles_a_word_only_when_a_visible_match_was_seen_or_every_match_read() -> None:
    rows = [{"word": "seen", "matched": search.PROBE, "seen": 1}, {"word": "none", "matched": 0, "seen": 0},
            {"word": "few", "matched": 3, "seen": 0}, {"word": "unsure", "matched": search.PROBE, "seen": 0}]
    assert search.probed(rows) == ({"seen"}, ["unsure"])


def test_lucene_query_fuzzes_only_the_words_named() -> None:
    assert search.lucene_query(["natonal", "line"], ["natonal"]) == (
        "+(search_prefixes:natonal OR description:natonal OR search_names:natonal~2) "
        "+(search_prefixes:line OR description:line)")
    assert search.lucene_query(["line"], fuzzy=True) == (
        "+(search_prefixes:line OR description:line OR search_names:line~1)")
    assert search.lucene_query(["ex"], fuzzy=True) == "+(search_prefixes:ex OR description:ex)"  # a short word whole
    assert search.checks(["line", "line"]) == [{"word": "line", "text": search.lucene_query(["line"], False)}]


@pytest.mark.parametrize(("found", "fuzzed"), [
    ({"line"}, ["natonal"]),
    (set(), ["natonal", "line"]),
    ({"natonal", "line"}, None),  # both exist, not together: a typo would not explain it
])
def test_to_fuzz_names_the_words_not_found_as_written(found: set[str], fuzzed: list[str] | None) -> None:
    assert search.to_fuzz(["natonal", "line", "line"], found) == fuzzed


def test_to_fuzz_gives_up_when_a_word_too_short_to_fuzz_was_not_found() -> None:
    assert search.to_fuzz(["natonal", "xyz"], {"natonal"}) is None
    assert search.to_fuzz(["natonal", "xyz"], {"xyz"}) == ["natonal"]
