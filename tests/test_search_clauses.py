"""A full-text query stays within Lucene's 1,024 clauses as the server counts them (Neo4j keeps the
limit; ArcadeDB sets none, so the store's own tests would not notice).

Lucene's standard tokenizer (Unicode's word boundaries, the analyser of both servers' full-text
indexes) makes a term of each Han or Hiragana character and breaks between Katakana, Thai-like
scripts and other letters ("カタカナabc" is `カタカナ` and `abc`, "aアbイ" four terms). A word it
splits must not be fuzzed: each of its typo terms would be split again, and one fifty-letter word
"aアbイ..." asked with one typo came to about 5,000 clauses. `_lucene_terms` is a reference for the
scripts used here, checked against Lucene 10.5.2's StandardAnalyzer from the embedded store's jars;
the last test asks Lucene itself where a Java runtime that runs a source file is installed.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from directory.store.records import search
from directory.store.records.writes import MAX_WORD, analysed_terms, fuzzable

pytestmark = pytest.mark.pure

_HAN = [(0x3007, 0x3007), (0x3021, 0x3029), (0x3038, 0x303A), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
        (0xF900, 0xFAFF), (0x20000, 0x3134F)]
_HIRAGANA = [(0x3041, 0x309F), (0x1B001, 0x1B11F)]
_KATAKANA = [(0x30A0, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F)]
_SOUTH_EAST_ASIAN = [(0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF)]


def _class(c: str) -> str:
    for name, ranges in (("han", _HAN), ("hiragana", _HIRAGANA), ("katakana", _KATAKANA),
                         ("sa", _SOUTH_EAST_ASIAN)):
        if any(lo <= ord(c) <= hi for lo, hi in ranges):
            return name
    return "letter"


def _lucene_terms(word: str) -> int:
    """The terms Lucene's standard tokenizer makes of one of our words (`\\w+`), for these scripts."""
    terms, before = 0, None
    for c in word:
        kind = _class(c)
        if kind in ("han", "hiragana") or kind != before:
            terms += 1
        before = kind
    return terms


def _server_clauses(query: str) -> int:
    """The clauses of a query as Lucene counts them: each analysed term, a fuzzy term's expansions."""
    terms = [t.strip("+() ").split(":", 1)[1] for t in query.replace(") +(", " OR ").split(" OR ")]
    return sum(search.FUZZY_EXPANSIONS if "~" in t else _lucene_terms(t) for t in terms)


# (word, the terms Lucene 10.5.2's StandardAnalyzer makes of it)
SPLIT = [("人权观察", 4), ("abc中def", 3), ("правозащита", 1), ("ニンゲン", 1),
         ("カタカナabc", 2), ("aアaアaアaア", 8), ("ｱaｲb", 4), ("\u3007\u3007", 2), ("\u3021\u3022\u3023", 3),
         ("\U0001B001\U0001B002", 2)]


@pytest.mark.parametrize(("word", "terms"), SPLIT)
def test_the_reference_is_what_lucene_makes(word: str, terms: int) -> None:
    assert _lucene_terms(word) == terms


@pytest.mark.parametrize(("word", "terms"), SPLIT)
def test_a_word_is_counted_at_no_fewer_terms_than_the_server_makes_and_fuzzed_only_if_whole(word: str,
                                                                                          terms: int) -> None:
    assert analysed_terms(word) >= terms
    assert not fuzzable(word) or terms == 1


def _mixed(rng: random.Random, n: int = MAX_WORD) -> str:
    kana = "".join(map(chr, range(0x30A2, 0x30F3)))
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz" if i % 2 == 0 else kana) for i in range(n))


def _worst() -> list[list[str]]:
    rng = random.Random(5)
    han_marks = "".join(map(chr, [0x3007, *range(0x3021, 0x302A), *range(0x3038, 0x303B)]))
    return [[_mixed(rng)],  # one word of Latin and Katakana
            [_mixed(rng) for _ in range(search.MAX_WORDS)],
            ["".join(rng.choice(han_marks) for _ in range(MAX_WORD)) for _ in range(search.MAX_WORDS)]]


@pytest.mark.parametrize("one_typo", [True, False])
@pytest.mark.parametrize("n", range(3))
def test_a_query_of_mixed_scripts_stays_within_the_limit(one_typo: bool, n: int) -> None:
    words = _worst()[n]
    assert search.words(" ".join(words)) == words  # a query anyone may send
    query = search.lucene_query(words, True, one_typo=one_typo)
    assert _server_clauses(query) <= search.MAX_CLAUSES
    assert query.count("+(") == len(words)  # every word still asked for


def _long_words(rng: random.Random, letters: str, n: int = search.MAX_WORDS) -> list[str]:
    return ["".join(rng.choice(letters) for _ in range(MAX_WORD)) for _ in range(n)]


@pytest.mark.parametrize("one_typo", [True, False])
def test_the_longest_queries_of_each_script_stay_within_the_limit(one_typo: bool) -> None:
    rng = random.Random(3)
    han = "".join(map(chr, range(0x4E00, 0x4E00 + 400)))
    worst = [_long_words(rng, "abcdefghijklmnopqrstuvwxyz"), _long_words(rng, han),
             _long_words(rng, "abcdefghij" + han), ["a" + "\u3042" * (MAX_WORD - 1)] * search.MAX_WORDS,
             _long_words(rng, "абвгдежзийклмнопрстуфхцчшщ", 3) + _long_words(rng, han, 5)]
    for words in worst:
        for asked in (False, True, words[:3]):
            query = search.lucene_query(words, asked, one_typo=one_typo)
            assert _server_clauses(query) <= search.MAX_CLAUSES, (words[0][:5], asked)
            assert query.count("+(") == len(words)


def test_typo_tolerance_is_taken_only_as_far_as_the_limit_needs_fuzzy_terms_first() -> None:
    latin = _long_words(random.Random(3), "abcdefghijklmnopqrstuvwxyz")
    one = search.lucene_query(latin, True, one_typo=True)
    assert all(f"search_deletions:{w}" in one for w in latin)  # within the limit: no word loses a typo
    fuzzy = search.lucene_query([*latin[:7], "brigdes"], True)  # each long word about 151 terms
    assert _server_clauses(fuzzy) <= search.MAX_CLAUSES
    assert all(f"search_deletions:{w}" in fuzzy for w in latin[:7])  # all the one-typo query found
    assert "brigdes~2" in fuzzy and 0 < fuzzy.count("~") < 8  # the longest words' fuzzy terms went first


_LUCENE = r"""
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.document.*;
import org.apache.lucene.index.*;
import org.apache.lucene.queryparser.classic.QueryParser;
import org.apache.lucene.search.*;
import org.apache.lucene.store.ByteBuffersDirectory;
import java.nio.file.*;

public class Clauses {
  public static void main(String[] a) throws Exception {
    StandardAnalyzer an = new StandardAnalyzer(CharArraySet.EMPTY_SET);
    ByteBuffersDirectory dir = new ByteBuffersDirectory();
    try (IndexWriter w = new IndexWriter(dir, new IndexWriterConfig(an))) {
      Document d = new Document(); d.add(new TextField("search_names", "x", Field.Store.NO)); w.addDocument(d);
    }
    IndexSearcher s = new IndexSearcher(DirectoryReader.open(dir));
    for (int i = 0; i < a.length; i++) {
      String q = Files.readString(Paths.get(a[i]));
      try { s.search(new QueryParser("search_names", an).parse(q), 1); System.out.println("ok"); }
      catch (Exception e) { System.out.println(e.getClass().getSimpleName()); }
    }
  }
}
"""


def _javas() -> tuple[list[Path], str] | None:
    """Java runtimes that may run a single source file (21 or later, with a compiler), and Lucene's jars
    as the embedded store ships them."""
    try:
        import arcadedb_embedded
    except ImportError:
        return None
    home = Path(arcadedb_embedded.__file__).parent
    jars = sorted((home / "jars").glob("lucene-*.jar"))
    javas = [p for p in [home / "jre" / "bin" / "java", *sorted(Path("/usr/lib/jvm").glob("*/bin/java"))]
             if p.exists()]
    return (javas, ":".join(map(str, jars))) if javas and jars else None


def test_lucene_itself_takes_every_stage_of_these_queries(tmp_path: Path) -> None:
    found = _javas()
    if found is None:
        pytest.skip("no Java runtime with Lucene to ask")
    javas, classpath = found
    (tmp_path / "Clauses.java").write_text(_LUCENE)
    files = []
    latin = ["".join(random.Random(n).choice("abcdefghijklmnopqrstuvwxyz") for _ in range(MAX_WORD))
             for n in range(search.MAX_WORDS)]
    for n, words in enumerate([*_worst(), latin]):  # the last, of Latin letters, is the control: Lucene takes it
        for stage, query in (("one", search.lucene_query(words, True, one_typo=True)),
                             ("fuzzy", search.lucene_query(words, True))):
            files.append(tmp_path / f"q{n}_{stage}")
            files[-1].write_text(query, encoding="utf-8")
    for java in javas:  # the first that compiles and runs the source (the store's JRE has no compiler)
        ran = subprocess.run([str(java), "-cp", classpath, str(tmp_path / "Clauses.java"), *map(str, files)],
                             capture_output=True, text=True, timeout=300)
        if ran.returncode == 0:
            break
    else:
        pytest.skip("no Java runtime here runs a source file against Lucene 10")
    answers = dict(zip((f.name for f in files), ran.stdout.split(), strict=True))
    assert answers == {f.name: "ok" for f in files}  # Neo4j (Lucene 9) refuses each "TooManyClauses" alike


def test_a_writes_terms_for_the_indexes_are_counted_at_no_fewer_than_the_server_makes() -> None:
    """`index_terms` bounds what one transaction gives the full-text indexes (a peer's page is asked
    for again in fewer entries over `merge.PAGE_TERMS`): never below Lucene's count, and a word of
    ideographs a term a character (fifty aliases of 300 ran the embedded store out of memory)."""
    from directory.domain.model import Organisation, Visibility
    from directory.store import index_terms, prepare
    from directory.store.engine.backends import FULLTEXT_FIELDS
    from directory.store.records.writes import words_in

    chance = random.Random(5)
    ideographs = ["".join(chr(0x4E00 + chance.randrange(20_000)) for _ in range(300)) for _ in range(50)]
    heavy = Organisation("local:heavy", "Org", "local-group", Visibility.PUBLIC, aliases=ideographs)
    plain = Organisation("local:plain", "Defenders of the South (fictional)", "local-group", Visibility.PUBLIC,
                         aliases=["DDS"], description="Legal aid, l'accompagnement and care for defenders.")
    for o in (heavy, plain, Organisation("local:mixed", "人权观察 カタカナabc", "local-group", Visibility.PUBLIC)):
        rows = prepare("local", [o], [], [])
        props = rows.organisations[0]["props"]
        lucene = sum(_lucene_terms(w) for f in FULLTEXT_FIELDS["Organisation"] for w in words_in(props.get(f)))
        assert index_terms(rows) >= lucene > 0, o.id
    assert index_terms(prepare("local", [heavy], [], [])) > 50 * 300  # each alias's every character
    plain_props = prepare("local", [plain], [], []).organisations[0]["props"]
    words = sum(len(words_in(plain_props.get(f))) for f in FULLTEXT_FIELDS["Organisation"])
    assert words <= index_terms(prepare("local", [plain], [], [])) <= words + 1  # and the names' separator
    # the analyser makes a term of each emoji, which are no word's (an attacker's read counted 2 for 15,000)
    smiling = Organisation("local:smile", "Org", "local-group", Visibility.PUBLIC, aliases=["\U0001F600" * 300] * 50)
    assert index_terms(prepare("local", [smiling], [], [])) >= 50 * 300
