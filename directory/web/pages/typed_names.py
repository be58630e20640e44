"""An organisation typed into a form by its name, as people know it, or by its id: the job pages'
and the maps' one way of reading it; and a country typed by its name where codes go."""

from __future__ import annotations

import functools
import re
import unicodedata

from directory.domain import places
from directory.domain.errors import BadArgument, NotFound
from directory.domain.ids import own_id
from directory.domain.model import Organisation
from directory.domain.viewer import Viewer
from directory.jobs.questions import listed
from directory.jobs.tables import named as shown_name
from directory.store import Store, named_as_written, searchable
from directory.web.pages import i18n, suggest
from directory.web.pages.render import sortable

NAMED = 10  # organisations a name offers to choose from; one more found, the page says to type more of it


async def by_name(store: Store, viewer: Viewer, fields: list[str],
                  asked: dict[str, list[str]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """An organisation field (of `fields`) may hold a name, as people know it, or an id. A name that
    is one organisation's (or finds only one, by the words typed: `named_as_written`) becomes its
    id in `asked`; otherwise the organisations it finds (`NAMED`, and one more to say there are
    more), each as (name, the question's fields with it chosen), for the person to choose by
    posting them again: an answer about another organisation than meant reads as sure as the
    right one, and a question is never put in an
    address, where a shared computer's history would keep "a safe house for LGBTIQ defenders in
    Tanzania". Found as search finds them, for this viewer: a hidden organisation is never among them."""
    for name in fields:
        typed = asked.get(name, [""])[0]
        if not typed or await store.organisations_by_id(viewer, [typed]):
            continue
        if await store.organisations_by_id(viewer, [own := own_id(typed.strip(), store.directory_id)]):
            asked[name] = [own]  # a bare id, as the CLI takes it
            continue
        named = await organisations_named(store, viewer, typed, NAMED + 1)
        if named is None:  # too long a word for a name: it names no organisation
            raise NotFound("organisation", typed)
        exact = [o for o in named if o.name.casefold() == typed.casefold()]
        if len(exact) == 1 or (len(named) == 1 and named_as_written(typed, named[0].name, named[0].aliases)):
            asked[name] = [(exact or named)[0].id]
        elif named:  # each choice posts the rest of the question as it was asked (one found by a typo too)
            rest = [(other, v) for other, values in asked.items() if other != name for v in values]
            return [(shown_name(store, o), [*rest, (name, o.id)]) for o in named]
    return []


async def organisations_named(store: Store, viewer: Viewer, typed: str, most: int) -> list[Organisation] | None:
    """The organisations a name finds, as search finds them for this viewer (never a hidden one),
    best first, at most `most`; a name longer than a search takes by its first words. None when
    it can name none (no word, or a word longer than any name's)."""
    try:
        found = await store.search(viewer, searchable(typed), ("organisation",), most)
    except BadArgument:
        return None
    return [found.records[(h.kind, h.id)] for h in found.hits]


async def exact_organisation(store: Store, viewer: Viewer, typed: str) -> tuple[str | None, list[Organisation]]:
    """An organisation typed where something is written (a link's other end, a token's): an id, or
    the name of one organisation exactly (any case), as its id; otherwise None, with the
    organisations the name finds (`NAMED`, and one more to say there are more) to choose from, so a
    name that only resembles one (a typo, another word) is offered, never taken. Never a hidden one
    (`organisations_named`). Nothing typed is left to the store, which names the field."""
    if not typed.strip() or await store.organisations_by_id(viewer, [typed]):
        return typed, []
    # no bare id here (as `by_name` takes one): a word typed for a link is read as a name, never taken
    named = await organisations_named(store, viewer, typed.strip(), NAMED + 1) or []
    exact = [o for o in named if o.name.casefold() == typed.strip().casefold()]
    return (exact[0].id, []) if len(exact) == 1 else (None, named)


def place_codes(typed: str) -> str:
    """A list of places typed where codes go ("Kenia, CO-ANT, Ouganda"), each country named in any of
    the pages' languages as its code ("KE, CO-ANT, UG"), a list's last two joined by "and" as two
    ("Guatemala y El Salvador"), and each subdivision one name calls, whole: in Arabic or Cyrillic
    letters ("الخرطوم": SD-KH; an Arabic walk had it refused), in Latin letters where its country is
    in the list too ("Honduras, Francisco Morazán": a province's name alone is often a city's,
    "Santiago" the Dominican province, an attacker's read). A code, or anything else, as it was
    typed, for the question to name or refuse (with the subdivisions of that name to choose from)."""
    def country(part: str) -> str | None:
        if (found := places.place(part.upper())) is not None:
            return part if found.kind != "subdivision" else None
        return _countries_named().get(sortable(part))

    def apart(part: str) -> list[str]:
        pieces = _JOINED.split(part)
        return pieces if len(pieces) > 1 and all(map(country, pieces)) else [part]

    parts = [piece for part in listed(typed) for piece in apart(part)]
    named_countries = {c.upper() for c in map(country, parts) if c}

    def code(part: str) -> str:
        if places.place(part.upper()):
            return part
        if (found := country(part)) is not None:
            return found
        named = places.subdivisions_named(part, bare=False)
        if len(named) == 1 and (not _latin(part) or named[0].split("-")[0] in named_countries):
            return named[0]
        return part

    return ", ".join(code(part) for part in parts)


def places_read(asked: dict[str, list[str]]) -> dict[str, list[str]]:
    """A form's fields with its list of places (`codes`) read by `place_codes`: the one reading the
    gaps page and the maps' forms share."""
    return {name: [place_codes(v) for v in values] if name == "codes" else values for name, values in asked.items()}


_JOINED = re.compile(r"\s+(?:y|e|and|et|и)\s+", re.IGNORECASE)  # "Guatemala y El Salvador"


def _latin(text: str) -> bool:
    return all(not c.isalpha() or unicodedata.name(c, "").startswith("LATIN") for c in text)


# words a country's official name puts around its name, left out to find the name people write
# ("Республика Кыргызстан" is written "Кыргызстан")
_FORMAL = frozenset(sortable(w) for w in """republic of the république de du la république república de la
    республика""".split())


@functools.cache
def _countries_named() -> dict[str, str]:
    """Every country by its names in the pages' languages (CLDR's, and ISO 3166's name, official and
    common names with their iso-codes translations, as `suggest.also_called` reads them, with and
    without the words of a republic's title; "RDC", "США"), accents and case aside; a name two
    countries share names neither."""
    found: dict[str, set[str]] = {}
    names: dict[str, list[set[str]]] = {}  # each country's names, as sets of words
    holding: dict[str, set[str]] = {}  # each word, by the countries one of whose names holds it
    others: dict[str, set[str]] = {}  # ISO 3166's names and those less a title, by the countries they name
    for code in places.countries():
        for language in i18n.LANGUAGES:
            if cldr := i18n.country_name(code, language):
                found.setdefault(sortable(cldr), set()).add(code)
            for name in map(sortable, filter(None, [cldr or "", *suggest.other_names(code, language)])):
                said = name.replace(",", " ").split()
                names.setdefault(code, []).append(set(said))
                for word in said:
                    holding.setdefault(word, set()).add(code)
                bare = " ".join(w for w in said if w not in _FORMAL)
                for form in {name, bare} - {""}:
                    others.setdefault(form, set()).add(code)
    # an other name names its country only where no other country's name holds all its words
    # ("Korea" is both Koreas', "Congo" and "Конго" both Congos': none of them)
    for name, codes in others.items():
        wanted = set(name.split())
        rivals = set.intersection(*(holding.get(w, set()) for w in wanted)) - codes if wanted else set()
        if len(codes) == 1 and not any(wanted <= named for other in rivals for named in names[other]):
            found.setdefault(name, set()).update(codes)
    return {name: codes.pop() for name, codes in found.items() if len(codes) == 1}
