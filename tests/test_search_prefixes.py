"""A name's word is found by its start: the starts are words of their own in `search_prefixes`,
written with the record and filled in for a data folder from before (schema versions 12 and 13)."""

from __future__ import annotations

import random
import re

import pytest

from directory.domain.model import Organisation
from directory.domain.validation import LIMITS, MAX_ITEMS
from directory.domain.viewer import ANONYMOUS, STEWARD
from directory.store import Store
from directory.store.engine import backends, schema
from directory.store.engine.schema import SET_VERSION, ensure_schema
from directory.store.records import writes
from directory.store.records.writes import (
    BATCH,
    BATCH_CHARS,
    DERIVED_MAX,
    MAX_WORD,
    batches,
    name_deletions,
    name_prefixes,
)
from tests.helpers import load, org, service

pytestmark = pytest.mark.anyio


def test_the_starts_of_every_word_of_three_letters_or_more_and_shorter_words_whole() -> None:
    assert name_prefixes("Front Line \u2022 FLD") == "fld fro fron front frontlin frontline lin line"
    assert name_prefixes("PI \u2022 Ñandú 2024") == "202 2024 nan nand nandu nandu202 nandu2024 pi"  # as typed too
    assert name_prefixes("Ligue de l'Homme") == "de hom homm homme l lig ligu ligue liguede"  # split as a query is
    assert name_prefixes("Al-Haq") == "al alhaq haq"  # two words as one: not "del" from "de l'"
    assert name_prefixes("") == ""


async def test_a_data_folder_from_version_19_gets_words_that_keep_their_marks(store: Store,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    await load(store, [org("hi", "मानवाधिकार रक्षक नेटवर्क")])
    assert await _found(store, "मानव") == ["test:hi"]
    # as version 19 left it: the words derived again split at each vowel sign, as Python's \w splits them
    monkeypatch.setattr(writes, "_WORD", re.compile(r"\w+"))
    await schema._search_words(store.graph, store.embedded)
    monkeypatch.undo()
    assert await _found(store, "मानव") == []
    await store.graph.write(SET_VERSION, version=19)
    assert await ensure_schema(store.graph, store.embedded) == 19
    assert await _found(store, "मानव") == ["test:hi"] and await _found(store, "मानवाधिकार") == ["test:hi"]


def test_two_words_written_as_one_rank_as_the_name_they_join() -> None:
    """"frontline" finds Front Line Defenders by its joined words: it ranks as a word of the name,
    above a record that only mentions the word in its description."""
    from directory.store.records.search import score

    joined = score(["frontline"], "Front Line Defenders", [], "")
    started = score(["frontlin"], "Front Line Defenders", [], "")
    mentioned = score(["frontline"], "Urgent Fund", [], "grants for frontline defenders")
    assert joined == 0.95 and started == 0.76 and mentioned == 0.38
    assert score(["delhomme"], "Ligue de l'Homme", [], "") == 0.0  # "de l'" is never run together


async def seed(store: Store) -> None:
    await load(store, [
        org("fld", "Front Line Defenders", **{"#org+name+alt": "Frontline"}),
        org("night", "Frontier Nights", **{"#meta+visibility": "restricted"}),
    ], [service("fld-grant", "fld", "emergency-grant", **{"#service+name": "Urgent grants"})])


async def _found(store: Store, text: str, viewer: object = ANONYMOUS) -> list[str]:
    page = await store.search(viewer, text, first=50)  # type: ignore[arg-type]
    return sorted(h.id for h in page.hits)


async def test_a_word_is_found_by_its_start_and_a_hidden_record_stays_hidden(store: Store) -> None:
    await seed(store)
    assert await _found(store, "fron def") == ["test:fld"]
    assert await _found(store, "frontl") == ["test:fld"]  # the start of an alias's word
    assert await _found(store, "urg gra") == ["test:fld-grant"]
    assert await _found(store, "fron") == ["test:fld"]  # the restricted one shares the start
    assert await _found(store, "fron", STEWARD) == ["test:fld", "test:night"]
    assert await _found(store, "fr def") == []  # two letters: a whole word only, and there is none


async def test_a_data_folder_from_before_gets_the_starts_and_its_index_again(store: Store) -> None:
    await seed(store)
    # as version 11 left it: no starts, and full-text indexes over names and descriptions only
    await store.graph.write("MATCH (n) WHERE n:Organisation OR n:Service REMOVE n.search_prefixes")
    assert store.embedded is not None
    await backends._embedded_sql(store.embedded, [
        *(f"DROP INDEX `{label}[{','.join(backends.FULLTEXT_FIELDS[label])}]`" for label in backends.FULLTEXT_FIELDS),
        *(f"CREATE PROPERTY {label}.description IF NOT EXISTS STRING" for label in backends.FULLTEXT_FIELDS),
        *(f"CREATE INDEX ON {label} (search_names, description) FULL_TEXT" for label in backends.FULLTEXT_FIELDS)])
    await store.graph.write(SET_VERSION, version=11)
    assert await ensure_schema(store.graph, store.embedded) == 11
    assert await _found(store, "fron def") == ["test:fld"]
    assert await _found(store, "urg") == ["test:fld-grant"]
    names = {i["name"] for i in await store.graph.read("SHOW INDEXES")}
    assert not any(name.endswith("[search_names,description]") for name in names), names


async def test_a_data_folder_from_version_12_gets_short_words_and_finds_names_with_apostrophes(store: Store) -> None:
    await load(store, [org("ldh", "Ligue des droits de l'Homme"), org("wl", "Women's Link Worldwide")])
    assert await _found(store, "droits de l'homme") == ["test:ldh"]
    assert await _found(store, "women's link") == ["test:wl"]
    # as version 12 left it: the starts of words of three letters or more only
    for rid, names in (("test:ldh", "Ligue des droits de l'Homme"), ("test:wl", "Women's Link Worldwide")):
        old = " ".join(w for w in name_prefixes(names).split() if len(w) >= 3)
        await store.graph.write("MATCH (n:Organisation {id: $id}) SET n.search_prefixes = $old", id=rid, old=old)
    assert await _found(store, "droits de l'homme") == []
    await store.graph.write(SET_VERSION, version=12)
    assert await ensure_schema(store.graph, store.embedded) == 12
    assert await _found(store, "droits de l'homme") == ["test:ldh"]
    assert await _found(store, "women's link") == ["test:wl"]


async def test_a_data_folder_from_version_13_gets_the_words_less_a_letter_and_its_index_again(store: Store) -> None:
    await seed(store)
    await load(store, [org("aide", "Aide Sahel", **{"#description": "Fonds pour l'accompagnement"})])
    assert await _found(store, "frnt") == ["test:fld"]
    assert await _found(store, "accompagnement") == ["test:aide"]
    # as version 13 left it: no words less a letter, and full-text indexes without them
    await store.graph.write("MATCH (n) WHERE n:Organisation OR n:Service "
                            "REMOVE n.search_deletions, n.search_description")
    assert store.embedded is not None
    three = backends.FORMER_FIELDS[1]
    await backends._embedded_sql(store.embedded, [
        *(f"DROP INDEX `{label}[{','.join(backends.FULLTEXT_FIELDS[label])}]`" for label in backends.FULLTEXT_FIELDS),
        *(f"CREATE PROPERTY {label}.description IF NOT EXISTS STRING" for label in backends.FULLTEXT_FIELDS),
        *(f"CREATE INDEX ON {label} ({', '.join(three)}) FULL_TEXT" for label in backends.FULLTEXT_FIELDS)])
    await store.graph.write(SET_VERSION, version=13)
    assert await ensure_schema(store.graph, store.embedded) == 13
    assert await _found(store, "frnt") == ["test:fld"]
    assert await _found(store, "urgnt") == ["test:fld-grant"]
    assert await _found(store, "accompagnement") == ["test:aide"]  # a description's word, split as a query is
    names = {i["name"] for i in await store.graph.read("SHOW INDEXES")}
    assert not any(name.endswith(f"[{','.join(three)}]") for name in names), names
    rows = await store.graph.read("MATCH (n:Organisation {id: 'test:fld'}) RETURN n.search_deletions AS d")
    assert "frnt" in rows[0]["d"].split()


def test_no_start_or_word_less_a_letter_is_kept_beyond_what_a_query_word_can_be() -> None:
    word = "a" * 30 + "b" * 40  # 70 letters: a query word has at most MAX_WORD
    assert max(len(w) for w in name_prefixes(word).split()) == MAX_WORD
    assert name_deletions(word) == ""
    assert name_deletions(word[:MAX_WORD + 1]) != ""  # one letter more than a query word: one typo away


def test_batches_hold_rows_by_count_and_by_size() -> None:
    small = [{"id": str(i)} for i in range(BATCH + 1)]
    assert [len(b) for b in batches(small)] == [BATCH, 1]
    large = [{"id": str(i), "text": "x" * (BATCH_CHARS // 3)} for i in range(4)]
    assert [len(b) for b in batches(large)] == [2, 2]
    assert [len(b) for b in batches([{"text": "x" * 2 * BATCH_CHARS}])] == [1]
    assert batches([]) == []


async def test_records_with_the_longest_names_validation_allows_are_written_and_found(store: Store) -> None:
    rng = random.Random(5)

    def text(limit: int) -> str:
        return " ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(49)) for _ in range(7))[:limit]

    records = [Organisation(id=f"test:big{i}", name=text(LIMITS["name"]), kind="local-group",
                            aliases=[text(LIMITS["alias"]) for _ in range(MAX_ITEMS["aliases"])]) for i in range(12)]
    await store.upsert(records, [], [])
    needle = records[5].aliases[-1].split()[2]
    assert await _found(store, needle) == ["test:big5"]  # every word of every alias, whole
    assert await _found(store, records[5].name.split()[2][:20]) == ["test:big5"]  # the name's starts, all
    assert await _found(store, records[5].aliases[0].split()[2][:20]) == ["test:big5"]
    # the last alias's starts are past what a record's names may add (DERIVED_MAX): not kept
    assert await _found(store, needle[:20]) == []


def test_what_a_records_names_add_to_it_is_bounded_and_the_names_come_first() -> None:
    # distinct words of MAX_WORD letters in every alias, at the most aliases validation allows: the
    # starts and deletions grew with the square of each word (1.4 MB and 2.3 MB in astral letters)
    rng = random.Random(7)
    for letters in ("abcdefghijklmnopqrstuvwxyz", [chr(0x1D4D0 + i) for i in range(26)]):
        def text(limit: int) -> str:
            words = ("".join(rng.choice(letters) for _ in range(MAX_WORD)) for _ in range(limit // MAX_WORD + 1))
            return " ".join(words)[:limit]

        name = text(LIMITS["name"])
        names = " \u2022 ".join([name, *(text(LIMITS["alias"]) for _ in range(MAX_ITEMS["aliases"]))])
        words = set(names.replace(" \u2022 ", " ").split())
        starts, less = name_prefixes(names).split(), name_deletions(names).split()
        assert words <= set(starts)  # every word whole
        own_starts, own_less = set(name_prefixes(name).split()), set(name_deletions(name).split())
        assert own_starts <= set(starts) and own_less <= set(less)  # the name's own, all of them
        assert len(" ".join(set(starts) - words - own_starts)) <= DERIVED_MAX
        assert len(" ".join(set(less) - own_less)) <= DERIVED_MAX
