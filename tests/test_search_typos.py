"""Typos in a search: only the words that match no record the viewer may see are fuzzed, and
hidden records never decide which ones those are."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from directory.domain.viewer import ANONYMOUS
from directory.store import Store
from directory.store.engine.cypher import REGISTRY
from directory.store.records import search
from directory.store.records.writes import MAX_WORD, fuzzable
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
    assert search.probed(rows) == ({"seen"}, ["none", "few", "unsure"])


@pytest.mark.anyio
async def test_a_word_only_hidden_records_hold_takes_the_statements_of_a_word_no_record_holds(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # the number and kind of statements a search runs must not tell hidden from missing (R9)
    await load(store, [org(f"v{i:02}", f"Velvetmoth Group {i}", **{"#meta+visibility": "restricted"})
                       for i in range(search.PROBE + 5)] + [org("open", "Open Group")])
    ran: list[str] = []
    names = {text: name for name, text in REGISTRY.items()}
    read_plain = store.graph.read_plain

    async def noting(query: str, **params: Any) -> list[dict[str, Any]]:
        ran.append(names.get(query, "?"))
        return await read_plain(query, **params)

    monkeypatch.setattr(store.graph, "read_plain", noting)
    statements = {}
    for word in ("velvetmoth", "quintaroxe", "velvetmoht"):
        ran.clear()
        page = await store.search(ANONYMOUS, word, ("organisation",))
        assert page.total == 0, word
        statements[word] = list(ran)
    assert statements["velvetmoth"] == statements["quintaroxe"] == statements["velvetmoht"]
    assert "search.found_organisations_all" in statements["quintaroxe"]


def test_lucene_query_fuzzes_only_the_words_named() -> None:
    text = search.lucene_query(["natonal", "line"], ["natonal"])
    assert text.startswith("+(search_prefixes:natonal OR search_description:natonal OR search_deletions:natonal OR ")
    assert text.endswith(" OR search_names:natonal~2) +(search_prefixes:line OR search_description:line)")
    assert search.lucene_query(["line"], fuzzy=True).endswith(" OR search_names:line~1)")
    # the fuzzy query holds the one-typo query's terms, so it finds all that one did
    one = search.lucene_query(["natonal"], True, one_typo=True)
    assert search.lucene_query(["natonal"], True) == one[:-1] + " OR search_names:natonal~2)"
    # a short word whole
    assert search.lucene_query(["ex"], fuzzy=True) == "+(search_prefixes:ex OR search_description:ex)"
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


def test_the_names_words_less_a_letter_hold_each_one_typo_away() -> None:
    from directory.store.records.writes import deletions, name_deletions

    assert name_deletions("Peace Brigades \u2022 PBI 2024") == " ".join(sorted(
        deletions("peace") | deletions("brigades")))  # short words and numbers are exact
    # a letter left out, added, changed, and two swapped: one of the name's deletions, or a shared one
    for typo in ("brigdes", "brigaades", "brigodes", "brigaeds"):
        assert typo in deletions("brigades") or "brigades" in deletions(typo) or deletions(typo) & deletions(
            "brigades"), typo


@pytest.mark.anyio
@pytest.mark.parametrize(("text", "expected"), [
    ("peace brigdes", ["test:pbi"]),  # a letter left out
    ("peace brigaades", ["test:pbi"]),  # one added
    ("peace brigodes", ["test:pbi"]),  # one changed
    ("peace brigaeds", ["test:pbi"]),  # two swapped
    ("acompanyment", ["test:acc"]),  # two typos in a long word: only a fuzzy term finds it
])
async def test_a_typo_is_found_by_exact_terms_and_two_by_a_fuzzy_one(store: Store, api: Api, text: str,
                                                                     expected: list[str]) -> None:
    await load(store, [org("pbi", "Peace Brigades International"), org("acc", "Accompaniment Network")])
    assert _ids(await _answer(api, text)) == expected
    one_typo = search.lucene_query(search.words(text), True, one_typo=True)
    matched = await store.graph.read(
        "CALL db.index.fulltext.queryNodes($index, $text) YIELD node RETURN node.id AS id",
        index=store._search_index("organisation"), text=one_typo)
    assert [r["id"] for r in matched] == ([] if text == "acompanyment" else expected)


@pytest.mark.anyio
async def test_what_one_typo_finds_is_taken_without_asking_for_two(store: Store, api: Api) -> None:
    await load(store, [org("one", "Brigades of Peace"), org("two", "Brigadas Rurales")])
    # "brigadez" is one typo from "brigades", two from "brigadas": the nearer is found alone
    assert _ids(await _answer(api, "brigadez")) == ["test:one"]
    assert sorted(_ids(await _answer(api, "brigadoz"))) == ["test:one", "test:two"]  # two from each


def test_lucene_query_asks_one_typo_as_exact_terms() -> None:
    text = search.lucene_query(["line", "brigdes"], ["brigdes"], one_typo=True)
    assert text.startswith("+(search_prefixes:line OR search_description:line) +(search_prefixes:brigdes OR "
                           "search_description:brigdes OR search_deletions:brigdes OR search_names:bigdes OR ")
    assert "~" not in text
    assert search.beyond_one_typo(["brigdes"]) and not search.beyond_one_typo(["lne", "natal"])


def test_a_word_the_server_may_split_is_asked_as_written() -> None:
    assert not any(map(fuzzable, ["人权观察", "にんげん", "ニンゲン", "ภาษาไทย"]))
    assert fuzzable("правозащита") and fuzzable("défenseurs") and fuzzable("مدافعون")
    assert search.lucene_query(["人权观察"], True) == "+(search_prefixes:人权观察 OR search_description:人权观察)"


@pytest.mark.anyio
async def test_han_and_the_longest_words_go_through_every_typo_stage(store: Store, api: Api) -> None:
    await load(store, [org("watch", "人权观察"), org("front", "Front Line Defenders")])
    assert _ids(await _answer(api, "人权观察"))[0] == "test:watch"
    # Nothing of ours holds these: each stage is asked in turn, none is refused.
    assert (await _answer(api, "鑫" * MAX_WORD + " 龘"))["totalCount"] == 0
    rng = random.Random(4)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(MAX_WORD)) for _ in range(8)]
    assert (await _answer(api, " ".join(words)))["totalCount"] == 0
    assert _ids(await _answer(api, "frnt line defendrs")) == ["test:front"]


@pytest.mark.anyio
async def test_a_name_typed_in_cyrillic_or_greek_finds_it_written_in_latin_letters(store: Store, api: Api) -> None:
    """A Russian walk typed Ala-Too in Cyrillic letters for "Ala-Too Students for Rights" and found nothing. What none
    the viewer may see holds as written is asked again in Latin letters; a name held in Cyrillic is
    found as written first, and a hidden record so written decides nothing for the public."""
    await load(store, [org("alatoo", "Ala-Too Students for Rights"), org("kaz", "Qazaqstan Lawyers"),
                       org("hidden", "Ала-Тоо Хаус", **{"#meta+visibility": "network"})])  # noqa: RUF001
    assert _ids(await _answer(api, "Ала-Тоо")) == ["test:alatoo"]  # noqa: RUF001
    assert _ids(await _answer(api, "Қазақстан")) == ["test:kaz"]  # Kazakh letters too
    assert _ids(await _answer(api, "Αλα-Τοο")) == ["test:alatoo"]  # and Greek  # noqa: RUF001
    _, member = await store.tokens.create("member", "test:alatoo")  # who sees the Cyrillic name finds it
    assert _ids(await _answer(api, "Ала-Тоо", member)) == ["test:hidden"]  # noqa: RUF001
    async with httpx.AsyncClient(base_url=api.url) as client:
        page = (await client.post("/", data={"text": "Ала-Тоо"})).text  # noqa: RUF001
    assert 'href="/organisations/test:alatoo"' in page
    # a word that grows past the longest searched for in Latin letters is not asked again so
    assert (await _answer(api, "\u0449" * 20))["totalCount"] == 0
