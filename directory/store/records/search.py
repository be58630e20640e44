"""Full-text search over names, aliases and descriptions, typo tolerant for names.

The server's full-text index (Lucene on both backends, see `backends.py`) finds candidates: every
word of the query must match a name or alias (exactly, as a prefix, or within one or two typos)
or a description word. Only candidates the viewer may see come back from the query.

A name's word is found whole or by its start as an exact term of `search_prefixes`, which holds
every start of three letters or more of each word and shorter words whole (derived at write time):
a prefix term (`word*`) scanned the index's whole dictionary as a fuzzy one does (2.5 ms on
ArcadeDB's service index at 10k, matching nothing; an exact term 0.3 ms), and every query word had
one. Its words are split as the query's are (runs of word characters): the server's analyser keeps
"l'Homme" one word, so "droits de l'homme", asked as `l` and `homme`, found no name at all. A
description's words are asked the same way, in `search_description`.

Typos are tried last and only where needed, as a fuzzy term scans the index's whole dictionary
(15 to 45 ms on ArcadeDB at 10k records, even matching nothing; an exact term costs 0.5 ms). The
exact query runs first. Only when it finds none of our records of any kind does `FOUND_ORGANISATIONS` /
`FOUND_SERVICES` ask, per kind, which words match on their own one of our records the viewer may
see (a peer's record holding the word as typed must not keep ours from being found with a typo): one
statement reads each word's `PROBE` best matches, and for each word not found among them a second
reads all of them (also for a word that matched nothing, so that hidden and missing take the same
statements), so the answer is exact though which matches come first is not ours to
decide (Lucene's score counts hidden records). `to_fuzz` then fuzzes only the words not found,
and no fuzzy query runs when every word was found (they exist, only not together) or a word too
short to fuzz was not (nothing can match it). A word found as written is taken as written. The
check sees only what the search may show, so a hidden record cannot decide which words are fuzzed.

The fuzzed words are first allowed one typo (a letter left out, added, changed, or two swapped),
asked as exact terms: `search_deletions` holds each fuzzable name word less one letter, each way
(`writes.name_deletions`), and two words one typo apart are then one of the other's deletions or
share one. Only if that finds none of our records, and a fuzzed word is long enough for two edits,
does a fuzzy term ask for two (with the one-typo terms, so it finds all they did). So a word is
taken with the fewest typos that find one of ours, as it is taken as written when it is found
so. Sharing a deletion also matches a few pairs two edits apart (a letter moved: "grupo" and
"rupos"); those rank as the score below says.

Nothing that depends on hidden records decides what a viewer gets. Lucene's score does (its word
statistics count every record in the index), so it is not used at all: the query orders the
visible candidates by a coarse score of their own names (each query word found whole in a name
counts 3, as a prefix 2, otherwise 1), then ours before peers', then id, keeps the first `MAX_HITS`
with at most `PEER_SHARE` from any one peer, and counts them all; the exact score is computed here
from each candidate's own visible text, and on a tie ours come first again. A peer signs its
records, not their truth: one sending 520 copies of our organisation's name would otherwise fill
every candidate's place with its own, ahead of ours by id. Which visible
records come back, and in which order, is thus the same whatever hidden records exist.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from directory.base import budget
from directory.domain.errors import BadArgument, Plural
from directory.store.engine.cypher import cypher, visible
from directory.store.records.writes import MAX_WORD, analysed_terms, deletions, fuzzable, joined_words, words_in

MAX_WORDS = 8
MAX_HITS = 500  # candidates ranked per record type, best by their names first; refine the query to see past them
PEER_SHARE = 100  # at most this many of them from any one peer, so one cannot crowd out ours or another's
PROBE = 20  # a word's best matches read to learn whether the viewer may see one; all only if these are all hidden

_COARSE = """reduce(t = 0, w IN $words | t + CASE WHEN w IN coalesce(n.name_words, []) THEN 3
         WHEN size(w) >= 3 AND any(x IN coalesce(n.name_words, []) WHERE x STARTS WITH w) THEN 2 ELSE 1 END)"""
# Candidates in order (coarse score, ours before peers', id), each publisher's cut at its share (ours at
# MAX_HITS, a peer's at PEER_SHARE), then all in that order again, cut at MAX_HITS; `total` counts all,
# `own` ours among them. Only ids and scores are ordered and collected, and the text `rank` scores is
# read for the candidates kept, matched again by id: ArcadeDB weighs a collect by all it holds, and
# collecting every candidate's text was refused once a peer's 32 MiB of the largest records matched.
# `rank` puts them in order. No candidates leave no row at all (UNWIND of nothing): `Store.search`
# reads that as none.
_CANDIDATES = """WITH n.id AS id, n.publisher AS publisher, {coarse} AS coarse,
  CASE WHEN n.publisher = $me THEN 0 ELSE 1 END AS foreign
ORDER BY coarse DESC, foreign, id
WITH publisher, collect([coarse, foreign, id]) AS rows
WITH sum(size(rows)) AS total, sum(CASE WHEN publisher = $me THEN size(rows) ELSE 0 END) AS own,
  collect(rows[0..CASE WHEN publisher = $me THEN $limit ELSE $share END]) AS shares
UNWIND shares AS share
UNWIND share AS row
WITH total, own, row
ORDER BY row[0] DESC, row[1], row[2]
WITH total, own, collect(row) AS found
UNWIND found[0..$limit] AS row
MATCH (n:{label} {{id: row[2]}})
WHERE {visible}
RETURN total, own, collect([row[1], row[2], n.name, {aliases}, coalesce(n.description, '')]) AS top
"""
SEARCH_ORGANISATIONS = cypher("search.organisations", f"""
CALL db.index.fulltext.queryNodes($index, $text) YIELD node
WITH node AS n
WHERE n:Organisation AND {visible('n')}
{_CANDIDATES.format(coarse=_COARSE, label="Organisation", aliases="coalesce(n.aliases, [])", visible=visible('n'))}""")
SEARCH_SERVICES = cypher("search.services", f"""
CALL db.index.fulltext.queryNodes($index, $text) YIELD node
WITH node AS n
WHERE n:Service AND {visible('n')}
MATCH (o:Organisation {{id: n.organisation}})
WHERE {visible('o')}
{_CANDIDATES.format(coarse=_COARSE, label="Service", aliases="[]", visible=visible('n'))}""")
# For each word (`$checks`: its exact clause as `text`, see `checks`): how many records it matches on its own,
# and how many of those are ours and the viewer may see, filtered as the search above filters (a peer's
# record holding a word must not keep it from being fuzzed to find ours). ArcadeDB scores and loads
# every match even under `LIMIT 1`, so the first statement reads only a word's `$probe` best matches (half
# the time for a common word); `probed` says which words need the second, which reads them all.
_FOUND = """UNWIND $checks AS check
CALL (check) {{
  CALL db.index.fulltext.queryNodes($index, check.text{options}) YIELD node
  WITH node AS n
  {seen}
}}
RETURN check.word AS word, matched, seen"""
_SEEN_ORGANISATIONS = f"""RETURN count(n) AS matched,
    count(CASE WHEN n:Organisation AND {visible('n')} AND n.publisher = $me THEN 1 END) AS seen"""
_SEEN_SERVICES = f"""OPTIONAL MATCH (o:Organisation {{id: n.organisation}})
    WHERE n:Service AND {visible('n')} AND {visible('o')} AND n.publisher = $me
  RETURN count(n) AS matched, count(o) AS seen"""
FOUND_ORGANISATIONS = (
    cypher("search.found_organisations", _FOUND.format(options=", {limit: $probe}", seen=_SEEN_ORGANISATIONS)),
    cypher("search.found_organisations_all", _FOUND.format(options="", seen=_SEEN_ORGANISATIONS)))
FOUND_SERVICES = (
    cypher("search.found_services", _FOUND.format(options=", {limit: $probe}", seen=_SEEN_SERVICES)),
    cypher("search.found_services_all", _FOUND.format(options="", seen=_SEEN_SERVICES)))


# Cyrillic and Greek letters as most of the directory's Latin names write them (BGN/PCGN-like, with the
# letters of Ukrainian, Belarusian, Kazakh, Kyrgyz, Tajik and the South Slavic languages): a Russian
# walk typed Ala-Too in Cyrillic letters for "Ala-Too Students for Rights" and found nothing
_LATIN = str.maketrans({
    **dict(zip("абвгдезийклмнопрстуфыэ", "abvgdeziyklmnoprstufye", strict=True)),
    "ё": "e", "ж": "zh", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ь": "", "ю": "yu",  # noqa: RUF001
    "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u", "ә": "a", "ғ": "gh", "қ": "q", "ң": "ng",  # noqa: RUF001
    "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "ҳ": "h", "ҷ": "j", "ӣ": "i", "ӯ": "u", "ђ": "dj", "ј": "j",  # noqa: RUF001
    "љ": "lj", "њ": "nj", "ћ": "c", "џ": "dz", "ѓ": "gj", "ќ": "kj", "ѕ": "dz",  # noqa: RUF001
    **dict(zip("αβγδεζηικλμνξοπρσςτυφω", "avgdeziiklmnxoprsstyfo", strict=True)),
    "θ": "th", "χ": "ch", "ψ": "ps", "ά": "a", "έ": "e", "ή": "i", "ί": "i", "ό": "o", "ύ": "y", "ώ": "o",
    "ϊ": "i", "ϋ": "y", "ΐ": "i", "ΰ": "y",
})


def in_latin_letters(text: str) -> str | None:
    """A text with its Cyrillic and Greek letters written in Latin ones; None when it has none, or a
    word would grow too long to search for ("щ" is four letters: an attacker's read turned a search
    that found nothing into an error)."""
    if not any("\u0370" <= c <= "\u04ff" for c in text):
        return None
    latin = text.lower().translate(_LATIN)
    return latin if all(len(w) <= MAX_WORD for w in words_in(latin)) else None


def searchable(text: str) -> str:
    """A text as a search takes it: its first `MAX_WORDS` words (a name can be longer than a search)."""
    return " ".join(words_in(text)[:MAX_WORDS])


def words(text: str) -> list[str]:
    found = words_in(text)
    if not found:
        raise BadArgument("text", "give at least one word to search for")
    if len(found) > MAX_WORDS:
        raise BadArgument("text", Plural("at most %(most)s word", "at most %(most)s words", "most"), most=MAX_WORDS)
    if any(len(w) > MAX_WORD for w in found):
        raise BadArgument("text", Plural("a word is longer than %(most)s character",
                                           "a word is longer than %(most)s characters", "most"), most=MAX_WORD)
    return found


def _typos(word: str) -> int:
    """ArcadeDB's fuzzy query counts swapped letters as two edits (Neo4j's as one), so words of
    six letters or more allow two, which tolerates one swap on both servers. Numbers are exact."""
    if not fuzzable(word):
        return 0
    return 1 if len(word) < 6 else 2


def lucene_query(query_words: list[str], fuzzy: bool | Collection[str] = True, one_typo: bool = False) -> str:
    """Every word must match. Words are `\\w+` only, so nothing in them is Lucene syntax.

    `fuzzy` says which words may also match with typos (True: all long enough; False: none):
    with `one_typo`, within one typo, asked as exact terms of the names' words less a letter
    (`writes.name_deletions`); else with those terms and a fuzzy term for `_typos` edits, the
    expensive part of a query on both servers. `Store.search` asks without typos, then with one, then with fuzzy
    terms, each only while none of our records was found, and only for the words `to_fuzz` names.
    The query stays within `MAX_CLAUSES` (`_within_clauses`)."""
    fuzzed = _fuzzed(query_words, fuzzy)
    typo_terms = {w: _typo_terms(w, one_typo) for w in fuzzed if _typos(w)}
    _within_clauses(query_words, typo_terms)
    clauses = []
    for w in query_words:
        # A name's word, or its start from PREFIX_FROM letters on, is an exact term of `search_prefixes`
        # (`writes.name_prefixes`), split into words as the query is.
        alternatives = [f"search_prefixes:{w}", f"search_description:{w}", *typo_terms.get(w, ())]
        clauses.append(f"+({' OR '.join(alternatives)})")
    return " ".join(clauses)


MAX_CLAUSES = 1024  # Lucene's default limit on the terms of one query: Neo4j keeps it (ArcadeDB sets none)
FUZZY_EXPANSIONS = 50  # the terms a fuzzy term is rewritten into, at most (Lucene's default)


def _typo_terms(word: str, one_typo: bool) -> list[str]:
    """The terms finding `word` with one typo (or, without `one_typo`, `_typos` of them)."""
    # a letter left out of a name's word (the word is among its deletions), added (one of its deletions
    # is the name's word), or changed or swapped (both share a deletion)
    less = sorted(deletions(word))
    terms = [f"search_deletions:{word}", *(f"search_names:{d}" for d in less),
             *(f"search_deletions:{d}" for d in less)]
    if not one_typo:  # and what a fuzzy term adds: so this query finds all the one-typo one did
        terms.append(f"search_names:{word}~{_typos(word)}")
    return terms


def _within_clauses(query_words: list[str], typo_terms: dict[str, list[str]]) -> None:
    """Takes typo tolerance from the longest words until the query's terms, counted as the server may
    make them (`writes.analysed_terms`), are within MAX_CLAUSES: first the fuzzy terms, then the one-typo
    ones. Eight words of fifty letters asked with two typos came to 1,224 terms, and Neo4j would refuse
    the query. Exact terms alone stay within it: `words` allows eight words of fifty characters, at
    most a term a character in each of two fields."""
    def cost(terms: list[str]) -> int:
        return sum(FUZZY_EXPANSIONS if "~" in t else analysed_terms(t.split(":", 1)[1]) for t in terms)

    total = sum(2 * analysed_terms(w) for w in query_words) + sum(
        cost(typo_terms[w]) for w in query_words if w in typo_terms)
    for fuzzy_only in (True, False):
        for w in sorted(typo_terms, key=lambda w: (-cost(typo_terms[w]), w)):
            if total <= MAX_CLAUSES:
                return
            dropped = [t for t in typo_terms[w] if "~" in t or not fuzzy_only]
            typo_terms[w] = [t for t in typo_terms[w] if t not in dropped]
            total -= cost(dropped) * query_words.count(w)
            if not typo_terms[w]:
                del typo_terms[w]


def beyond_one_typo(fuzzed: Collection[str]) -> bool:
    """Whether a fuzzy query could find what the one-typo query did not: only a word allowed two edits."""
    return any(_typos(w) > 1 for w in fuzzed)


def _fuzzed(query_words: list[str], fuzzy: bool | Collection[str]) -> set[str]:
    if isinstance(fuzzy, bool):
        return set(query_words) if fuzzy else set()
    return set(fuzzy)


def checks(query_words: list[str]) -> list[dict[str, str]]:
    """`$checks` for `FOUND_ORGANISATIONS` / `FOUND_SERVICES`: each distinct word with its clause in
    the exact query, so "found on its own" means what the exact query means by a match."""
    return [{"word": w, "text": lucene_query([w], fuzzy=False)} for w in dict.fromkeys(query_words)]


def probed(rows: list[dict[str, Any]]) -> tuple[set[str], list[str]]:
    """From `FOUND_*` rows: the words found in a record the viewer may see, and those still unsure
    that only the second statement settles: every word not found, whether its first `PROBE` matches
    were all hidden or it matched nothing, so a word only hidden records hold takes the same
    statements as one no record holds (R9: what is left is each statement's cost, which grows with
    the records a word matches, hidden ones included)."""
    found = {r["word"] for r in rows if r["seen"]}
    return found, [r["word"] for r in rows if not r["seen"]]


def to_fuzz(query_words: list[str], found: Collection[str]) -> list[str] | None:
    """After an exact query found nothing, the words to try with typos: those not `found` on their
    own. None when a fuzzy query could find nothing: every word was found (they exist, only not
    together in a record the viewer may see), or one too short to fuzz was not (every word must match)."""
    missing = [w for w in dict.fromkeys(query_words) if w not in found]
    if not missing or not all(_typos(w) for w in missing):
        return None
    return missing


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance with transpositions, as Lucene's fuzzy query counts; > limit is `limit + 1`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _word_score(word: str, names: list[str], description: set[str]) -> float:
    best = 0.0
    for name_word in names:
        if name_word == word:
            return 1.0
        if len(word) >= 3 and name_word.startswith(word):
            best = max(best, 0.8)
        elif _typos(word):
            d = edit_distance(word, name_word, _typos(word))
            if d <= _typos(word):
                best = max(best, 0.9 - 0.2 * d)
    if best < 0.4 and word in description:
        best = 0.4
    return best


def score(query_words: list[str], name: str, aliases: list[str], description: str) -> float:
    """0 to 1: the mean of each word's best match (name exact 1, typo 0.7/0.5, prefix 0.8,
    description 0.4; two neighbouring words of a name joined count as one of its words, as the
    search finds them), and 1 when the query is a whole name or alias."""
    phrase = " ".join(query_words)
    titles = [name, *aliases]
    if any(" ".join(words_in(t)) == phrase for t in titles):
        return 1.0
    names = [w for t in titles for w in words_in(t)]
    names += [first + second for t in titles for first, second in joined_words(t)]  # "frontline": Front Line
    body = set(words_in(description))
    return round(sum(_word_score(w, names, body) for w in query_words) / len(query_words) * 0.95, 4)


def named_as_written(typed: str, name: str, aliases: list[str]) -> bool:
    """Whether every word typed is a word of the name or of an alias, whole or by its start (three
    letters or more), as someone types a name they know. A form takes such a name as the one
    organisation it finds; one found only through a typo or its description resembles what was
    typed ("Fundación Ford" finds "... Foundation for the Protection ...") and is offered, not taken."""
    asked = words_in(typed)
    titles = [name, *aliases]
    names = [w for t in titles for w in words_in(t)] + [a + b for t in titles for a, b in joined_words(t)]
    return bool(asked) and all(any(n == w or (len(w) >= 3 and n.startswith(w)) for n in names) for w in asked)


@dataclass(frozen=True)
class Hit:
    kind: str  # organisation | service
    id: str
    name: str
    score: float
    foreign: int = 0  # 1 for a peer's record: on a tie ours come first, so a peer's copies cannot bury ours

    @property
    def order(self) -> tuple[float, int, str, str, str]:
        return (-self.score, self.foreign, self.name, self.kind, self.id)


def rank(query_words: list[str], kind: str, found: list[list[Any]]) -> list[Hit]:
    """Hits from a search statement's `top`: [foreign, id, name, aliases, description] each."""
    hits = []
    for foreign, rid, name, aliases, description in found:
        budget.check()  # each: a record's aliases are bounded (validation.MAX_ITEMS), its score is not free
        hits.append(Hit(kind, rid, name, score(query_words, name, list(aliases), description), int(foreign)))
    return hits


def cursor(hit: Hit) -> str:
    return base64.urlsafe_b64encode(json.dumps(["search", *hit.order]).encode()).decode()


def after(hits: list[Hit], value: str | None) -> list[Hit]:
    """The hits after a cursor, in order."""
    ordered = sorted(hits, key=lambda h: h.order)
    if not value:
        return ordered
    try:
        tag, *key = json.loads(base64.urlsafe_b64decode(value.encode()))
        position = (float(key[0]), int(key[1]), str(key[2]), str(key[3]), str(key[4]))
    except (ValueError, TypeError, IndexError):
        raise BadArgument("after", "the cursor is not one this service gave out") from None
    if tag != "search":
        raise BadArgument("after", "the cursor belongs to a different listing")
    return [h for h in ordered if h.order > position]
