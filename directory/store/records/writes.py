"""Writing records: idempotent upserts by id, inside a transaction the caller owns.

A record whose content hash did not change keeps its revision and `updated_at`; a changed one gets
`revision + 1`, a new timestamp, and its owned relationships (BASED_IN, OFFERS, AVAILABLE_IN,
SERVES) replaced. Rows go to the server in batches of `BATCH` (2,000 measured fastest on ArcadeDB).

Each record also keeps a revision and update time per view (`viewer.py`): the network view (no
recorded location, only the published one) and the public view (nor network-only fields). Each
moves only when what that view shows changed, so moving a point inside its published cell, or
changing a capacity, is no news to the public. After organisations are written, shelters'
withheld places are worked out again (`store.shelters`).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from directory.domain.errors import ValidationFailed
from directory.domain.fields import ORGANISATION, SERVICE, Place, itemised, shown_in
from directory.domain.location import SHOWS_SUBDIVISION, published, shown_level
from directory.domain.model import (
    LINK_PROPERTIES,
    LINK_TYPES,
    OPEN_END,
    Intake,
    Link,
    Location,
    Organisation,
    Precision,
    Service,
    Verification,
    link_id,
)
from directory.domain.taxonomy import BUILT_IN, SENSITIVE_KINDS, SERVICE_TYPE, SHELTERING_TYPES
from directory.domain.viewer import SEES
from directory.store.engine.backends import FULLTEXT_FIELDS
from directory.store.engine.cypher import cypher
from directory.store.engine.graph import Graph, Tx
from directory.store.records import shared_nodes, shelter_services, shelters
from directory.store.records.place_codes import place_codes


def _hash(props: dict[str, Any]) -> str:
    kept = {k: v for k, v in props.items() if k not in _ADDED_IN_10 or v not in (None, "", [])}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# Per view: the revision and time move only when the view's hash changed to one the view may see.
# While a view may not see the record its hash is HIDDEN and nothing moves, so a record first shown
# to the public after edits made while restricted shows as revision 1 there, not as its history.
# SET items apply in order, so each view's hash is compared before it is replaced.
HIDDEN = ""
_VIEWS = f"""
    n.network_revision = CASE WHEN n.network_hash = r.views.network OR r.views.network = '{HIDDEN}'
                              THEN coalesce(n.network_revision, 0) ELSE coalesce(n.network_revision, 0) + 1 END,
    n.network_updated_at = CASE WHEN n.network_hash = r.views.network OR r.views.network = '{HIDDEN}'
                                THEN n.network_updated_at ELSE $now END,
    n.public_revision = CASE WHEN same_public OR r.views.public = '{HIDDEN}' THEN coalesce(n.public_revision, 0)
                             ELSE coalesce(n.public_revision, 0) + 1 END,
    n.public_updated_at = CASE WHEN same_public OR r.views.public = '{HIDDEN}' THEN n.public_updated_at ELSE $now END,
    n.network_hash = r.views.network, n.public_hash = r.views.public, n.unplaced_hash = r.views.unplaced"""
# The public view of a shelter whose place is withheld (`store.shelters`), or of its services,
# holds no place: its "unplaced" hash is the one compared.
def _noted(record: str) -> str:
    """Whether a write goes to the audit log (`WriteCounts.audited`): restricted before or after, or
    who may see the record changed (`was`: its visibility before)."""
    return f"('restricted' IN [was, {record}.visibility] OR (was IS NOT NULL AND was <> {record}.visibility))"


_SAME_PUBLIC = """coalesce(CASE WHEN withheld THEN n.unplaced_hash = r.views.unplaced
                         ELSE n.public_hash = r.views.public END, false) AS same_public"""
UPSERT_ORGANISATIONS = cypher("writes.upsert_organisations", f"""
UNWIND $rows AS r
MERGE (n:Organisation {{id: r.id}})
WITH n, r, (n.hash IS NULL OR n.hash <> r.hash) AS changed, n.kind AS kind_before, n.visibility AS was,
     n.precision AS precise_was
WHERE changed
WITH n, r, kind_before, was, precise_was, coalesce(n.place_withheld, false) AS withheld
WITH n, r, kind_before, was, precise_was, {_SAME_PUBLIC}
SET n += r.props, n.hash = r.hash, n.revision = coalesce(n.revision, 0) + 1, n.updated_at = $now,{_VIEWS}
RETURN n.id AS id, r.place AS place, n.revision AS revision, [kind_before, n.kind] AS kinds,
       {_noted("n")} OR (was IS NOT NULL AND coalesce(precise_was, '') <> coalesce(n.precision, '')) AS audited
""")
CLEAR_BASED_IN = cypher("writes.clear_based_in", """
UNWIND $ids AS oid
MATCH (n:Organisation {id: oid})-[old:BASED_IN]->(:Place)
DELETE old
""")
LINK_BASED_IN = cypher("writes.link_based_in", """
UNWIND $rows AS r
MATCH (n:Organisation {id: r.id})
MATCH (p:Place {code: r.place})
CREATE (n)-[:BASED_IN]->(p)
""")
CLEAR_IDENTIFIED = cypher("writes.clear_identified", """
UNWIND $ids AS oid
MATCH (n:Organisation {id: oid})-[old:IDENTIFIED_AS]->(:OrgIdentifier)
DELETE old
""")
LINK_IDENTIFIED = cypher("writes.link_identified", """
UNWIND $rows AS r
MATCH (n:Organisation {id: r.id})
MERGE (i:OrgIdentifier {code: r.code})
CREATE (n)-[:IDENTIFIED_AS]->(i)
""")
# A change to a service holding a restricted intake channel, before or after, is audited as a change
# to a restricted record is; an organisation's change of published precision too (`edits._noted`).
UPSERT_SERVICES = cypher("writes.upsert_services", f"""
UNWIND $rows AS r
MERGE (n:Service {{id: r.id}})
WITH n, r, (n.hash IS NULL OR n.hash <> r.hash) AS changed, n.visibility AS was, coalesce(n.intake, []) AS asked,
     [n.type, n.organisation] AS before
WHERE changed
OPTIONAL MATCH (o:Organisation {{id: r.props.organisation}})
WITH n, r, was, asked, before, coalesce(o.place_withheld, false) AS withheld
WITH n, r, was, asked, before, {_SAME_PUBLIC}
SET n += r.props, n.hash = r.hash, n.revision = coalesce(n.revision, 0) + 1, n.updated_at = $now,{_VIEWS}
RETURN n.id AS id, n.revision AS revision, [before[1], n.organisation] AS providers, [before[0], n.type] AS types,
       {_noted("n")} OR any(i IN asked + coalesce(n.intake, []) WHERE i STARTS WITH 'restricted ') AS audited
""")
CLEAR_SERVICE_LINKS = cypher("writes.clear_service_links", """
UNWIND $ids AS sid
MATCH (s:Service {id: sid})
OPTIONAL MATCH (s)-[old:AVAILABLE_IN|TAKES_FROM|SERVES|REACHES]->()
DELETE old
WITH DISTINCT s
OPTIONAL MATCH (s)<-[offer:OFFERS]-(:Organisation)
DELETE offer
""")
LINK_OFFERS = cypher("writes.link_offers", """
UNWIND $rows AS r
MATCH (o:Organisation {id: r.organisation})
MATCH (s:Service {id: r.id})
CREATE (o)-[:OFFERS]->(s)
""")
# Each AVAILABLE_IN has a twin REACHES to the place's node for the service's type, and one to its node
# for each other type the service pays for (a grant's purposes, `cypher.type_offered`): a question about
# some types in a place (partners, a listing by type) starts from those, not from every service the place
# holds. Partners asks for the services *of* a type and checks `s.type` again. In a subdivision, each
# also has a twin to its country's node of the type for what lies inside it (`in:UG legal-aid`), so a
# listing by country or region looks up each country once, not each of its subdivisions (Uganda has 139).
# the types a service counts for (`cypher.type_offered`), each once
_REACHED = "[s.type] + [t IN coalesce(s.purposes, []) WHERE t <> s.type]"
REACH = """
WITH s, p, a
UNWIND """ + _REACHED + """ AS reached
MERGE (k:Reach {key: p.code + ' ' + reached})
CREATE (s)-[:REACHES {presence: a.presence}]->(k)
WITH s, p, a, reached WHERE p.kind = 'subdivision'
MERGE (w:Reach {key: 'in:' + p.country + ' ' + reached})
CREATE (s)-[:REACHES {presence: a.presence}]->(w)
"""
# Each TAKES_FROM a subdivision has a twin to its country's node of the services taking defenders from
# inside it, for the same listings; partner questions and the gap matrix read no origin twin.
ORIGIN_REACH = """
WITH s, p WHERE p.kind = 'subdivision'
UNWIND """ + _REACHED + """ AS reached
MERGE (w:Reach {key: 'from:' + p.country + ' ' + reached})
CREATE (s)-[:REACHES]->(w)
"""
LINK_COVERAGE = cypher("writes.link_coverage", """
UNWIND $rows AS r
MATCH (s:Service {id: r.service})
MATCH (p:Place {code: r.place})
CREATE (s)-[a:AVAILABLE_IN {presence: r.presence}]->(p)""" + REACH)
# Relocation and exile support: the places defenders may come from (coverage: where they are hosted).
LINK_ORIGINS = cypher("writes.link_origins", """
UNWIND $rows AS r
MATCH (s:Service {id: r.service})
MATCH (p:Place {code: r.place})
CREATE (s)-[:TAKES_FROM]->(p)""" + ORIGIN_REACH)
LINK_GROUPS = cypher("writes.link_groups", """
UNWIND $rows AS r
MATCH (s:Service {id: r.service})
MATCH (g:DefenderGroup {code: r.group})
CREATE (s)-[:SERVES]->(g)
""")
# The owner's lock (`edits`): a new value committed on the organisation a link goes from whenever a
# writer creates one, so that on ArcadeDB two transactions creating the same link conflict at commit
# (its check sees only records a transaction changed) and the one run again finds the link made.
LOCK_PROPERTY = "edit_lock"
UPSERT_LINKS = {
    t: cypher(f"writes.upsert_{t.lower()}", f"""
UNWIND $rows AS r
MATCH (a:Organisation {{id: r.source}})
MATCH (b:Organisation {{id: r.target}})
MERGE (a)-[l:{t} {{key: r.key}}]->(b)
ON CREATE SET a.{LOCK_PROPERTY} = randomUUID()
WITH l, r, (l.hash IS NULL OR l.hash <> r.hash) AS changed, l.visibility AS was
WHERE changed
SET l += r.props, l.hash = r.hash, l.revision = coalesce(l.revision, 0) + 1, l.updated_at = $now
RETURN count(l) AS changed,
       collect(CASE WHEN {_noted("l")} THEN [r.source, r.target, r.key] END) AS audited
""")
    for t in LINK_TYPES
}


# Properties the store derives from a record for its own queries; never part of the content hash.
_SEARCH_SEP = " \u2022 "


def _marks() -> str:
    """The marks written on letters (Unicode's Mn, Mc, Me: Devanagari's vowel signs and viramas,
    Arabic's vowels, Thai's), as ranges of a character class. Python's `\\w` leaves them out, so
    "मानवाधिकार" was five words ("म", "नव"...), where the servers' analysers keep one."""
    ranges: list[tuple[int, int]] = []
    for code in [*range(0x20000), *range(0xE0100, 0xE01F0)]:  # beyond the SMP: only variation selectors
        if unicodedata.category(chr(code)) in ("Mn", "Mc", "Me"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "") for a, b in ranges)


_WORD = re.compile(rf"[\w{_marks()}]+")
_LABELS = {(t.scheme, t.code): t.label for t in BUILT_IN}


def derived_organisation(record: str, props: dict[str, Any]) -> dict[str, Any]:
    """The names full-text search looks in, and the location anyone may see (for `near`, for the
    subdivision filter, for the views' hashes).

    The point is the published one (`location.published`), so proximity search and distance
    sorting can never tell more than the map does. Country precision has no point: it matches by
    country. A peer's record goes through the same rule: its point came published (the same rule
    gives the same point again), but its precision is enforced here, not trusted."""
    loc = _published(record, props)
    has_point = loc.precision in SHOWS_SUBDIVISION and loc.latitude is not None
    search_names = _SEARCH_SEP.join([props["name"], *(props.get("aliases") or [])])
    return {**search_fields(search_names, props.get("description")),
            "name_words": name_words(props["name"], *(props.get("aliases") or [])),
            "pub_latitude": loc.latitude if has_point else None,
            "pub_longitude": loc.longitude if has_point else None,
            "pub_subdivision": loc.subdivision if loc.precision in SHOWS_SUBDIVISION else None}


def words_in(text: str | None) -> list[str]:
    """A text's words as search compares them, in order: runs of word characters, lower case, with
    Turkish capital I with dot lowered to `i` as the server's analyser lowers it (Python's `lower()`
    adds a combining dot, so "İnsan" would not be found as "insan"), Latin letters without their
    accents, as people often type them ("Rio Claro" finds "Río Claro", "defenseurs" "défenseurs"),
    and Arabic and Hebrew without the vowel marks most writers leave out. The marks of a script are
    part of its words ("मानवाधिकार" is one word)."""
    text = (text or "").replace("\u0130", "I")
    if not text.isascii():  # one form for a letter and its marks, however typed ("í" or "i" and a mark)
        text = unicodedata.normalize("NFC", text)
    return [_unaccented(w.lower()) for w in _WORD.findall(text)]


def _unaccented(word: str) -> str:
    if word.isascii():
        return word
    out: list[str] = []
    for char in word:
        if out and out[-1].isascii() and unicodedata.combining(char):
            continue  # a mark NFC could not join to its Latin letter ("ẹ̀" is "ẹ" and a grave): dropped too
        if char in _OPTIONAL_MARKS:
            continue
        out.append(_base_letter(char))
    return "".join(out)


# Marks a writer may leave out, as most do: Arabic's short vowels and tatweel, Hebrew's points. "حقوق"
# finds "حُقوق"; a script's other marks (Devanagari's vowel signs) are letters of the word.
_OPTIONAL_MARKS = frozenset([*map(chr, range(0x064B, 0x0660)), "\u0670", "\u0640", *map(chr, range(0x0591, 0x05BE)),
                             "\u05BF", "\u05C1", "\u05C2", "\u05C4", "\u05C5", "\u05C7"])


@functools.lru_cache(maxsize=8192)
def _base_letter(char: str) -> str:
    """A Latin letter with marks on it ("í", "ñ", "ş") as the letter alone; any other character as it
    is: the marks of other scripts (Arabic's vowels, Devanagari's vowel signs) are part of the word,
    and letters such as "ø" or "ß" are letters of their own."""
    parts = unicodedata.normalize("NFKD", char)
    if len(parts) > 1 and parts[0].isascii() and parts[0].isalpha() and all(map(unicodedata.combining, parts[1:])):
        return parts[0]
    return char


def name_words(*names: str) -> list[str]:
    """The lower-case words of a record's names, which search ranks candidates by (`store.search`)."""
    return sorted({w for name in names for w in words_in(name)})


PREFIX_FROM = 3  # search takes a query word of this many letters or more as the start of a name's word
MAX_WORD = 50  # search refuses a longer query word, so no longer start or word one typo away is kept


def name_prefixes(search_names: str) -> str:
    """Every start of PREFIX_FROM letters or more of each word a search looks for in a record's names,
    and each shorter word whole, as words of their own: search finds `fron` in "Front Line" as an exact
    term of this field, where a prefix term (`fron*`) made the server walk its whole term dictionary
    (`store.search`). The words are split as a query is (`\\w+`), not as the server's analyser splits
    them, which keeps "l'Homme" one word: "l'homme" is asked as `l` and `homme`, both found here.
    Two neighbouring words of a name are also one word, as people often write them ("frontline" for
    "Front Line", "alhaq" for "Al-Haq"), with its starts that hold PREFIX_FROM letters of the second
    ("frontlin"); not a letter or a short word run together ("de l'", "de la"), which would make a
    short query word ("del") find names it is not in.
    Every word is kept whole (up to MAX_WORD letters), and all the starts of the name's; the aliases'
    starts, each alias's in order, only up to DERIVED_MAX characters (`kept`)."""
    name, *aliases = search_names.split(_SEARCH_SEP)
    words = {text: words_in(text) for text in (name, *aliases)}
    whole = {w[:MAX_WORD] for found in words.values() for w in found}

    def starts(names: list[str]) -> Iterator[str]:
        for text in names:
            for w in words[text]:
                yield from (w[:n] for n in range(min(PREFIX_FROM, len(w)), min(len(w), MAX_WORD)))
            for first, second in joined_words(text):
                joined = first + second
                yield from (joined[:n] for n in range(len(first) + min(PREFIX_FROM, len(second)),
                                                      min(len(joined), MAX_WORD) + 1))

    return " ".join(sorted(whole.union(starts([name]), kept((t for t in starts(aliases) if t not in whole),
                                                              DERIVED_MAX))))


# What a record's names may add to what the store keeps of it, beyond its words: the starts of its
# words (`name_prefixes`) and its words less a letter (`name_deletions`) grow with the square of a
# word's length, so fifty aliases of distinct fifty-letter words made 1.4 MB of starts and 2.3 MB
# of deletions of a 55 kB record (astral letters), and the store reads all of a record to read any
# of it: a peer's byte budget, which counts bodies, would have held 70 times itself. A name's are
# all kept (its length is bounded), its aliases' up to this many characters of each kind.
DERIVED_MAX = 8_000


def kept(terms: Iterable[str], limit: int) -> list[str]:
    """The distinct terms, in the order given, while they and a space each come to `limit` characters."""
    out: dict[str, None] = {}
    size = 0
    for term in terms:
        if term in out:
            continue
        size += len(term) + 1
        if size > limit:
            break
        out[term] = None
    return list(out)


def joined_words(name: str) -> list[tuple[str, str]]:
    """The neighbouring words of a name a search also takes as one (`name_prefixes`): each of two
    letters or more, five or more together."""
    return [(first, second) for first, second in itertools.pairwise(words_in(name))
            if min(len(first), len(second)) >= 2 and len(first) + len(second) >= 5]


FUZZ_FROM = 4  # search allows a typo in a word of this many letters or more (letters only, `fuzzable`)
# Scripts whose letters the servers' analyser (Lucene's standard tokenizer, by Unicode's word boundaries)
# does not keep in one word with the letters around them: Han, kana, Bopomofo and Yi make a word of each
# character ("人权观察" is asked as four terms, any of which matches), Katakana and the scripts of Thai,
# Lao, Myanmar, Khmer and the Tai languages words of their own runs ("カタカナabc" is two).
_SPLIT_SCRIPTS = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in (
    (0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x1950, 0x19FF), (0x1A20, 0x1AAF),
    (0x2E80, 0x2FDF), (0x2FF0, 0x4DBF), (0x4E00, 0x9FFF), (0xA000, 0xA4CF), (0xA9E0, 0xA9FF),
    (0xAA60, 0xAADF), (0xF900, 0xFAFF), (0xFF65, 0xFF9F), (0x16FE0, 0x18D8F), (0x1AFF0, 0x1B2FF),
    (0x20000, 0x323AF))) + "]")


def one_term(word: str) -> bool:
    """Whether the server's analyser surely keeps the word whole: letters (with their marks) of scripts
    it does not split. Otherwise it may make up to one term of each character."""
    return (word[:1].isalpha() and all(c.isalpha() or unicodedata.category(c)[0] == "M" for c in word)
            and not _SPLIT_SCRIPTS.search(word))


def fuzzable(word: str) -> bool:
    """Whether search tolerates a typo in this word: numbers are exact, short words too near others, and
    a word the server may split is not (split into its characters, it already matches a record sharing
    any one of them; and each of its typo terms would be split again, up to fifty terms each)."""
    return FUZZ_FROM <= len(word) <= MAX_WORD + 1 and one_term(word)


def analysed_terms(text: str) -> int:
    """At most how many terms the server's analyser makes of one of our words: one, or one a character."""
    return 1 if one_term(text) else len(text)


def deletions(word: str) -> set[str]:
    """The word with one letter left out, each way."""
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def name_deletions(search_names: str) -> str:
    """Each fuzzable word of a record's names with one letter left out, as words of their own: two words
    one typo apart (a letter left out, added, changed or two swapped) share one of these or are one,
    so search finds a typo with exact terms, where a fuzzy term walked the whole term dictionary. All
    of the name's; the aliases', each alias's in order, up to DERIVED_MAX characters (`kept`)."""
    name, *aliases = search_names.split(_SEARCH_SEP)
    own = {d for w in words_in(name) if fuzzable(w) for d in deletions(w)}
    words = dict.fromkeys(w for alias in aliases for w in words_in(alias))  # in order
    more = kept((d for w in words if fuzzable(w) for d in sorted(deletions(w)) if d not in own), DERIVED_MAX)
    return " ".join(sorted(own.union(more)))


def search_fields(search_names: str, description: str | None) -> dict[str, str]:
    """The derived properties full-text search asks (`store.search`), from a record's names and
    description. The description's words are split as a query is (the server's analyser keeps
    "l'accompagnement" one word, which "accompagnement" would not find)."""
    return {"search_names": search_names, "search_prefixes": name_prefixes(search_names),
            "search_deletions": name_deletions(search_names),
            "search_description": " ".join(dict.fromkeys(words_in(description)))}


def _published(record: str, props: dict[str, Any]) -> Location:
    return published(Location(props.get("latitude"), props.get("longitude"),
                              Precision(props.get("precision") or "hidden"), props.get("country"),
                              props.get("subdivision")), record)


# The stored properties a record's content (and so its hashes) is made of.
VERIFIED = ("verified_on", "verified_by", "verified_source")
ORGANISATION_CONTENT = ("name", "kind", "visibility", "owner", "publisher", "aliases", "description", "website",
                        "languages", "contact_channels", "identifiers", "latitude", "longitude", "precision",
                        "country", "subdivision", "source", *VERIFIED)
SERVICE_CONTENT = ("organisation", "owner", "publisher", "name", "type", "visibility", "description", "eligibility",
                   "capacity", "capacity_unit", "capacity_confirmed", "response_hours", "languages", "cost", "status",
                   "status_since", "status_reason", "status_source", "origins", "purposes", "application_process",
                   "intake", "hours", "windows", "intake_languages", "exclusions", *VERIFIED)
# Fields added in schema version 10: left out of a content hash while empty, so a record written
# before keeps its hashes, and its revisions, until one of them is given.
_ADDED_IN_10 = frozenset(SERVICE_CONTENT[SERVICE_CONTENT.index("status_since"):])

# A field stored as several properties.
_STORED = {"location": ("latitude", "longitude", "precision", "country", "subdivision"), "verified": VERIFIED}
_DECLARED = {"organisation": ORGANISATION, "service": SERVICE}


def _properties(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(p for name in names for p in _STORED.get(name, (name,)))


# What each view's hash leaves out, from the declaration (`domain.fields`): the fields that view
# does not reach, and for a shelter whose place is withheld from the public, where it is or works.
UNSEEN = {kind: {view: _properties(n for n, f in declared.items() if not shown_in(view, f))
                 for view in ("network", "public")} for kind, declared in _DECLARED.items()}
WITHHELD = {kind: _properties(n for n, f in declared.items() if f.place is Place.WITHHELD)
            for kind, declared in _DECLARED.items()}
# Fields whose items each carry a visibility: each view's hash holds only the items it shows.
ITEMISED = {kind: itemised(declared) for kind, declared in _DECLARED.items()}


def view_hashes(kind: str, record: str, content: dict[str, Any]) -> dict[str, str]:
    """The hash of a record's content as the network and the public see it: for an organisation
    with its published location instead of the recorded one; each without the fields its view
    does not reach; and the public's of a shelter too few share a place with, without its place."""
    seen = dict(content)
    if kind == "organisation":
        loc = _published(record, content)
        seen.update(latitude=loc.latitude, longitude=loc.longitude, precision=loc.precision.value,
                    country=loc.country, subdivision=loc.subdivision)
    hashes = {}
    for view in ("network", "public"):
        for name in UNSEEN[kind][view]:
            seen.pop(name, None)
        for name in ITEMISED[kind]:
            if name in seen:
                seen[name] = [i for i in seen[name] or [] if Intake.of(i).visibility in SEES[view]]
        hashes[view] = _hash(seen)
    for name in WITHHELD[kind]:
        seen.pop(name, None)
    hashes["unplaced"] = _hash(seen)
    # the views not shown the record at all ("unplaced" is the public's)
    visibility = content.get("visibility") or "public"
    hidden = [view for view in ("network", "public") if visibility not in SEES[view]]  # StrEnum: equal to its text
    return {**hashes, **dict.fromkeys(hidden + ["unplaced"] * ("public" in hidden), HIDDEN)}


def organisation_values(o: Organisation) -> dict[str, Any]:
    """An organisation as flat values: the stored properties, and the row an edit is checked as."""
    loc = o.location
    return {
        "id": o.id, "name": o.name, "kind": o.kind, "visibility": o.visibility.value, "aliases": o.aliases,
        "description": o.description, "website": o.website, "languages": o.languages,
        "contact_channels": o.contact_channels, "identifiers": o.identifiers, "source": o.source,
        **verified_values(o.verified),
        "country": loc.country if loc else None, "subdivision": loc.subdivision if loc else None,
        "latitude": loc.latitude if loc else None, "longitude": loc.longitude if loc else None,
        "precision": loc.precision.value if loc else None,
    }


def verified_values(v: Verification) -> dict[str, str | None]:
    return {"verified_on": v.on or None, "verified_by": v.by, "verified_source": v.source}


def service_values(svc: Service) -> dict[str, Any]:
    """A service's own fields as flat values (coverage, origins and groups are relationships)."""
    return {
        "organisation": svc.organisation, "name": svc.name, "type": svc.type, "visibility": svc.visibility.value,
        "description": svc.description, "eligibility": svc.eligibility, "capacity": svc.capacity,
        "capacity_unit": svc.capacity_unit, "capacity_confirmed": svc.capacity_confirmed or None,
        "response_hours": svc.response_hours, "languages": svc.languages, "cost": svc.cost,
        "status": svc.status.value, "status_since": svc.status_since or None, "status_reason": svc.status_reason,
        "status_source": svc.status_source, "purposes": svc.purposes,
        "application_process": svc.application_process, "intake": [str(i) for i in svc.intake],
        "hours": svc.hours, "windows": [str(w) for w in svc.windows], "intake_languages": svc.intake_languages,
        "exclusions": svc.exclusions, **verified_values(svc.verified),
    }


def identifier_codes(identifiers: list[str]) -> list[str]:
    """The `OrgIdentifier` codes of an organisation: identifiers compare case-insensitively."""
    return sorted({i.lower() for i in identifiers})


def _org_row(org: Organisation, publisher: str) -> dict[str, Any]:
    loc = org.location or Location(None, None, Precision.HIDDEN)
    props = {k: v for k, v in organisation_values(org).items() if k != "id"}
    props.update(owner=org.id, publisher=publisher, precision=loc.precision.value)
    content_hash = _hash(props)
    views = view_hashes("organisation", org.id, props)
    props.update(derived_organisation(org.id, props))
    return {"id": org.id, "props": props, "hash": content_hash, "views": views, "place": loc.subdivision or loc.country,
            "codes": identifier_codes(org.identifiers)}


def _service_row(svc: Service, publisher: str) -> dict[str, Any]:
    props = dict(service_values(svc), owner=svc.organisation, publisher=publisher)
    # Coverage, origins and groups live in relationships but count as content for the revision.
    content = dict(props, coverage=sorted(f"{c.place}/{c.presence.value}" for c in svc.coverage),
                   groups=sorted(svc.groups), origins=sorted(svc.origins))
    spans = [f"{w.opens}/{w.closes or OPEN_END}" for w in svc.windows]
    # a grant is found by what it pays for: a search for relocation finds one that pays for it
    paid_for = [_LABELS.get((SERVICE_TYPE, p), p.replace("-", " ")) for p in svc.purposes]
    search_names = _SEARCH_SEP.join([svc.name, *paid_for])
    return {"id": svc.id, "props": dict(props, **search_fields(search_names, svc.description),
                                        **place_codes(svc), name_words=name_words(svc.name),
                                        window_spans=spans),
            "hash": _hash(content),
            "views": view_hashes("service", svc.id, content)}


def _link_row(link: Link, publisher: str) -> dict[str, Any]:
    """A link as written: a property the link no longer has is written as null, which removes it
    (`SET l += ...`), so an edit that empties a trust or a note clears it; the hash is of what it has."""
    props = dict(link.properties, visibility=link.visibility.value, publisher=publisher)
    cleared = {name: None for name in LINK_PROPERTIES if name not in props}
    return {"source": link.source, "target": link.target, "key": link.key, "props": {**props, **cleared},
            "hash": _hash(props)}


@dataclass
class WriteCounts:
    organisations: int = 0
    services: int = 0
    links: int = 0
    # records changed that were restricted before or after, or whose visibility or published
    # precision changed, (kind, id): for the audit log (`edits._noted` is the edits' same rule)
    audited: list[tuple[str, str]] = field(default_factory=list)

    def __iadd__(self, other: WriteCounts) -> WriteCounts:
        self.organisations += other.organisations
        self.services += other.services
        self.links += other.links
        self.audited += other.audited
        return self


BATCH = 2000
BATCH_CHARS = 4_000_000  # and about this much text at most: the server refuses a message over 16 MB


def batches(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows in batches of BATCH, or fewer where their text is long (names, aliases and descriptions
    as long as validation allows, with their derived words), one row at least."""
    out: list[list[dict[str, Any]]] = [[]]
    chars = 0
    for row in rows:
        size = len(str(row))
        if out[-1] and (len(out[-1]) == BATCH or chars + size > BATCH_CHARS):
            out.append([])
            chars = 0
        out[-1].append(row)
        chars += size
    return out if rows else []


async def _batched(graph: Graph, tx: Tx, query: str, rows: list[dict[str, Any]], **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for batch in batches(rows):
        out.extend(await graph.run(tx, query, rows=batch, **params))
    return out


async def _each_batch(graph: Graph, tx: Tx, query: str, ids: list[str]) -> None:
    for i in range(0, len(ids), BATCH):
        await graph.run(tx, query, ids=ids[i:i + BATCH])


@dataclass
class Prepared:
    """The rows of one write, built in Python before any of it is sent.

    Building rows is pure Python and sending them is mostly waiting for the server, so a staged
    import prepares the next part in a thread while the current one is written."""

    organisations: list[dict[str, Any]]
    services: list[dict[str, Any]]
    offers: dict[str, dict[str, Any]]
    coverage: dict[str, list[dict[str, Any]]]
    groups: dict[str, list[dict[str, Any]]]
    origins: dict[str, list[dict[str, Any]]]
    links: dict[str, list[dict[str, Any]]]


def prepare(directory_id: str, organisations: list[Organisation], services: list[Service],
            links: list[Link]) -> Prepared:
    return Prepared(
        organisations=[_org_row(o, directory_id) for o in organisations],
        services=[_service_row(s, directory_id) for s in services],
        offers={s.id: {"id": s.id, "organisation": s.organisation} for s in services},
        coverage={s.id: [{"service": s.id, "place": c.place, "presence": c.presence.value} for c in s.coverage]
                  for s in services},
        groups={s.id: [{"service": s.id, "group": g} for g in s.groups] for s in services},
        origins={s.id: [{"service": s.id, "place": p} for p in s.origins] for s in services},
        links={t: [_link_row(link, directory_id) for link in links if link.type == t] for t in LINK_TYPES},
    )


TRANSACTION_TERMS = 400_000
"""The terms one transaction may give the full-text indexes (`index_terms`): on the embedded store's
default heap (512 MB) a write of a million was measured to fit and one of two million ran it out of
memory; a thousand generated organisations give about 120,000, and one organisation of ideographs
within every field's bound about 40,000. A peer's page over it is asked for again in fewer entries
(`federation.merge`); an import writes in more, smaller transactions (`exchange.importer`)."""


def index_terms(rows: Prepared) -> int:
    """At most how many terms the full-text indexes take from these rows (`analysed_terms`; a word of
    plain ASCII letters and digits is one). One transaction holds them all in the embedded store's
    heap, and a word of ideographs is a term a character: a peer's page of 90 organisations with
    fifty aliases of 300 ideographs each (2 million terms) ran a 512 MB heap out of memory."""
    return (sum(record_terms("Organisation", row["props"]) for row in rows.organisations)
            + sum(record_terms("Service", row["props"]) for row in rows.services))


_LONGEST_TERM = 255  # Lucene's standard tokenizer cuts a longer word into terms of this many characters
_NOT_WORDS = re.compile(r"[\w\s]+")


def record_terms(label: str, props: dict[str, Any]) -> int:
    """The terms one record's stored properties give the full-text indexes, as `index_terms` counts
    them: never fewer than the server's analyser makes (a word of ideographs a term a character, a
    long word a term each 255 characters), and outside words, in names written as they were, a term
    for each other character but plain ASCII's punctuation: the analyser makes a term of each emoji
    (an attacker's read: fifty aliases of 300 emoji each were fifteen thousand terms counted as two)."""
    total = 0
    for name in FULLTEXT_FIELDS[label]:
        text = props.get(name) or ""
        # the derived fields are words already, joined by spaces; the names are as written
        words = words_in(text) if name == "search_names" else text.split()
        # a word the analyser keeps whole is a term each 255 characters, any other a term a character
        total += sum(-(-len(word) // _LONGEST_TERM) if text.isascii() or one_term(word) else analysed_terms(word)
                     for word in words)
        if name == "search_names" and not text.isascii():
            total += sum(1 for c in _NOT_WORDS.sub("", text) if not c.isascii())
    return total


async def execute(graph: Graph, tx: Tx, rows: Prepared, stamp: str, shelter_minimum: int,
                  hold_shelters: bool = True, coming_shelters: frozenset[str] = frozenset()) -> WriteCounts:
    """Send prepared rows inside the caller's transaction. Services and links whose organisations
    do not exist are not written; the caller checks references with `existing_organisations`.
    `shelter_minimum`: see `store.shelters`. ValidationFailed when the write would leave a shelter's
    service recording a place finer than the shelter publishes (`shelter_services.finer_places`), unless
    `hold_shelters` is False: the caller checks once all of its writes are done. `coming_shelters`:
    organisations a later transaction of the same import gives a public safe house (`shelters.refresh`)."""
    counts = WriteCounts()
    if rows.organisations:
        changed = await _batched(graph, tx, UPSERT_ORGANISATIONS, rows.organisations, now=stamp)
        counts.organisations = len(changed)
        counts.audited += [("organisation", r["id"]) for r in changed if r["audited"]]
        sensitive = [r for r in changed if set(r["kinds"]) & SENSITIVE_KINDS]
        # an organisation of another kind offering a safe house is a shelter too (`shelters`)
        others = [r for r in changed if r not in sensitive]
        sheltering = [r["id"] for r in others if r["id"] in coming_shelters]
        if updated := [r["id"] for r in others if r["revision"] > 1]:  # a new one offers nothing yet
            sheltering += await shelters.offering_safe_houses(graph, tx, updated, stamp)
        if sensitive or sheltering:
            moved = await shelters.refresh(graph, tx, shelter_minimum, stamp,
                                           [r["id"] for r in sensitive if r["kinds"][1] not in SENSITIVE_KINDS]
                                           + sheltering, coming_shelters)
            counts.audited += [("organisation", i) for i in moved]  # placed for the public, or withheld, by it
        # A record at revision 1 was just created: it has no old relationships to clear.
        await _each_batch(graph, tx, CLEAR_BASED_IN, [r["id"] for r in changed if r["revision"] > 1])
        await _batched(graph, tx, LINK_BASED_IN, [r for r in changed if r["place"]])
        # identifiers as nodes: how the same organisation in several directories is found (docs/federation.md)
        codes = {r["id"]: r["codes"] for r in rows.organisations}
        updated = [r["id"] for r in changed if r["revision"] > 1]
        held = await shared_nodes.held_by(graph, tx, organisations=updated)
        await _each_batch(graph, tx, CLEAR_IDENTIFIED, updated)
        await _batched(graph, tx, LINK_IDENTIFIED,
                       [{"id": r["id"], "code": c} for r in changed for c in codes[r["id"]]])
        await shared_nodes.drop_unheld(graph, tx, held)  # an identifier no organisation holds any more
    if rows.services:
        written = await _batched(graph, tx, UPSERT_SERVICES, rows.services, now=stamp)
        changed_svc = {r["id"]: r["revision"] for r in written}
        counts.services = len(changed_svc)
        counts.audited += [("service", r["id"]) for r in written if r["audited"]]
        updated = [i for i, revision in changed_svc.items() if revision > 1]
        held = await shared_nodes.held_by(graph, tx, services=updated)
        await _each_batch(graph, tx, CLEAR_SERVICE_LINKS, updated)
        await _batched(graph, tx, LINK_OFFERS, [rows.offers[i] for i in changed_svc])
        await _batched(graph, tx, LINK_COVERAGE, [c for i in changed_svc for c in rows.coverage[i]])
        await _batched(graph, tx, LINK_GROUPS, [g for i in changed_svc for g in rows.groups[i]])
        await _batched(graph, tx, LINK_ORIGINS, [o for i in changed_svc for o in rows.origins[i]])
        # a safe house made, taken from the public or made another service: its provider may
        # have become a shelter for the public, or stopped being one (`shelters`)
        if providers := [p for r in written if set(r["types"]) & SHELTERING_TYPES for p in r["providers"] if p]:
            moved = await shelters.refresh(graph, tx, shelter_minimum, stamp, providers, coming_shelters)
            counts.audited += [("organisation", i) for i in moved]
        # a place's node of a type no service reaches any more, once both kinds of twin are made again
        await shared_nodes.drop_unheld(graph, tx, held)
    for link_type, link_rows in rows.links.items():
        for result in await _batched(graph, tx, UPSERT_LINKS[link_type], link_rows, now=stamp):
            counts.links += int(result["changed"])
            counts.audited += [("link", link_id(s, link_type, t, k)) for s, t, k in result["audited"]]
    if hold_shelters and (finer := await shelter_services.finer_places(graph, tx, *shelter_candidates(rows))):
        raise ValidationFailed("the records written", [p for _, p in shelter_services.problems(finer)])
    return counts


def shelter_candidates(rows: Prepared) -> tuple[set[str], dict[str, str]]:
    """The shelters and services of a write that the rule on shelters' places could refuse
    (`shelter_services.to_check`)."""
    return shelter_services.to_check(
        ((o["id"], shown_level(o["props"]["precision"], o["props"]["pub_subdivision"],
                               o["props"]["pub_latitude"] is not None), o["props"]["kind"])
         for o in rows.organisations),
        ((s["id"], s["props"]["organisation"], shelter_services.row_places(s["props"])) for s in rows.services))


async def write_records(graph: Graph, tx: Tx, directory_id: str, organisations: list[Organisation],
                        services: list[Service], links: list[Link], stamp: str, shelter_minimum: int,
                        hold_shelters: bool = True) -> WriteCounts:
    """Upsert records inside the caller's transaction (`directory_id`: their publisher)."""
    return await execute(graph, tx, prepare(directory_id, organisations, services, links), stamp, shelter_minimum,
                         hold_shelters)
