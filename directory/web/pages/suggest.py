"""The filters a name search's words name, offered beside its results.

Someone new types what they need into the only text box they see: "legal aid kenya", "journalists",
"psychosocial". The name search finds the organisations whose names or descriptions hold those
words, which is rarely all that offer legal aid in Kenya; the browse form below it would find them,
by service and country. So the words are read against the form's own choices (service types,
countries, defenders served, kinds, languages), as the page shows them in its language and in
English, and the choices they name are offered as one click. Only public labels are read: the
taxonomy and the names of places and languages.

A country is also named by its other names (`also_called`: "République démocratique du Congo",
"Кыргызстан"), every choice by what the pages' other languages call it ("asistencia jurídica" on
the English page), and a service by words people also write for it (`ALSO_WRITTEN`:
"психологическая", "релокация"), less closely than by the words the form shows, so "federation"
still names a kind of organisation before the Russian Federation.

A word names a choice when it is one of the choice's words, or, at half the weight, when the two
share their first four letters or more and the shorter has at most two more ("lawyer" and "Lawyers
and judges", "юридическую" and "Юридическая помощь", "lgbt" and "LGBTIQ defenders"), or when both
have five letters or more and differ by one typo ("reubicasion", "sicosocial", "Colonbia"). A word
found whole in some choices names only those ("الكونغو" both Congos, not Hong Kong's "كونغ"). Each word
names choices of one field only, the one it names most closely. A word many choices share weighs
less ("relocation" names three services a third each), and a field whose best choices tie more
than `MOST_TIED` ways ("support") offers none of them.
"""

from __future__ import annotations

import functools
import gettext
import re
from collections import Counter
from dataclasses import dataclass

import pycountry

from directory.web.pages.i18n import LANGUAGES
from directory.web.pages.render import named, sortable

# the browse form's fields: (the form's name, the choices' key, how the page names them)
FIELDS = (("serviceType", "service_type", "term"), ("country", "country", "place"), ("group", "group", "term"),
          ("kind", "kind", "term"), ("language", "language", "language"))
MOST_TIED = 3
OTHER_NAME = 0.75  # a word of a country's other name only names it less closely than a label's word
MOST_WORDS = 12  # of a text, read against the choices (each is compared with about 600 words)
SHORTEST_START = 4  # letters two words must share from their start to name each other at half weight
SHORTEST_TYPO = 5  # letters the shorter of two words one typo apart must have to name each other at half weight
MOST_LEFT = 2  # letters the shorter of them may have beyond what they share ("lawyer", "юридическую")
_WORD = re.compile(r"\w+")
_ARTICLES = ("وال", "بال", "لل", "ال", "و")  # Arabic's article and "and", written as part of the word
# Words every part of this field's vocabulary shares, or none names a choice by ("human rights
# defenders", "international"), and words too common to name anything, in the pages' languages;
# those of two letters or fewer are left out anyway.
_SHARED = """
and for the with from human rights defender defenders international national organisation organization
derechos humanos defensores defensoras defensor defensora internacional nacional organizacion los las del
por con para una que droits humains homme defenseurs defenseures defenseur internationale nationale des
les aux pour avec dans par права прав правам человека правозащитники правозащитницы правозащитников
международная национальное организация для при или как это حقوق الإنسان المدافعين المدافعون
"""


@dataclass(frozen=True)
class Filter:
    field: str  # the browse form's field
    code: str
    label: str  # as the page shows it


def words(text: str) -> tuple[str, ...]:
    """A text's words as they are compared: no accents, any case, an Arabic word without its
    article, three letters or more, none of the field's shared words."""
    return tuple(w for w in map(_stem, _WORD.findall(sortable(text))) if len(w) >= 3 and w not in _COMMON)


def _stem(word: str) -> str:
    for article in _ARTICLES:
        if word.startswith(article) and len(word) - len(article) >= 3:
            return word[len(article):]
    return word


_COMMON = frozenset(map(_stem, _WORD.findall(sortable(_SHARED))))


def suggest(text: str, choices: dict[str, list[tuple[str, str]]], language: str) -> list[tuple[Filter, ...]]:
    """The filters the text names: every field's one best choice together; where a field's best
    tie (at most `MOST_TIED`), each of them with those, one suggestion apiece ("relocation kenya":
    each relocation service, in Kenya). Empty when the words name nothing."""
    asked = words(text)[:MOST_WORDS]
    if not asked:
        return []
    indexes = [(field, _index(tuple(choices.get(key, ())), kind, language)) for field, key, kind in FIELDS]
    claimed = _claimed(asked, indexes)
    settled: list[Filter] = []
    open_: list[Filter] = []
    for field, index in indexes:
        best = _best(claimed[field], index)
        if len(best) == 1:
            settled.append(Filter(field, *best[0]))
        elif len(best) <= MOST_TIED:
            open_ += [Filter(field, code, label) for code, label in best]
    if not open_:
        return [tuple(settled)] if settled else []
    order = [field for field, _, _ in FIELDS]
    return [tuple(sorted([*settled, choice], key=lambda f: order.index(f.field))) for choice in open_]


def _claimed(asked: tuple[str, ...], indexes: list[tuple[str, _Index]]) -> dict[str, tuple[str, ...]]:
    """Each word for the field it names most closely (whole before by its start), the first in
    `FIELDS` on a tie: "Kenya" names a country, not Kinyarwanda by its start; "relocation" the
    services before a kind of organisation; "español" the language, not Spain."""
    out: dict[str, list[str]] = {field: [] for field, _ in indexes}
    for word in asked:
        strengths = [max((_match(word, mine, index) * (OTHER_NAME if mine in index.other_names else 1.0)
                          for mine in index.shared), default=0.0) for _, index in indexes]
        if (strongest := max(strengths)) > 0:
            out[indexes[strengths.index(strongest)][0]].append(word)
    return {field: tuple(found) for field, found in out.items()}


def _best(asked: tuple[str, ...], index: _Index) -> list[tuple[str, str]]:
    if not asked:
        return []
    scores: dict[int, float] = {}
    whole = {at for at, (_, _, own) in enumerate(index.options) if own.intersection(asked)}
    for at, (_, _, own) in enumerate(index.options):
        if whole and at not in whole:  # a word found whole names its choices, not those it only resembles
            continue
        score = sum(max(_match(word, mine, index) for word in asked) / index.shared[mine] for mine in own)
        if score:
            scores[at] = score
    if not scores:
        return []
    top = max(scores.values())
    return [index.options[at][:2] for at, score in scores.items() if score == top]


def _match(word: str, mine: str, index: _Index) -> float:
    if word == mine:
        return 1.0
    if mine in index.foreign:  # another language's word names a choice only whole ("line" is not "línea")
        return 0.0
    shorter = min(len(word), len(mine))
    shared = next((at for at in range(shorter) if word[at] != mine[at]), shorter)
    if shared >= SHORTEST_START and shorter - shared <= MOST_LEFT:
        return 0.5
    return 0.5 if shorter >= SHORTEST_TYPO and _one_typo(word, mine, shared) else 0.0


def _one_typo(word: str, mine: str, same: int) -> bool:
    """Whether two words differ by one letter left out, added or changed, or two side by side
    swapped ("reubicasion", "sicosocial", "Colonbia"); `same` letters from their start are equal."""
    if abs(len(word) - len(mine)) > 1:
        return False
    if len(word) == len(mine):
        return word[same + 1:] == mine[same + 1:] or (
            word[same + 2:] == mine[same + 2:] and word[same:same + 2] == mine[same:same + 2][::-1])
    shorter, longer = (word, mine) if len(word) < len(mine) else (mine, word)
    return shorter[same:] == longer[same + 1:]


@dataclass(frozen=True)
class _Index:
    options: tuple[tuple[str, str, frozenset[str]], ...]  # code, label shown, its words (and the English label's)
    shared: Counter[str]  # how many options of the field hold each word
    other_names: frozenset[str] = frozenset()  # words only other names hold (`also_called`): named less closely
    foreign: frozenset[str] = frozenset()  # words only the pages' other languages hold: named only whole


@functools.lru_cache(maxsize=64)
def _index(choices: tuple[tuple[str, str], ...], kind: str, language: str) -> _Index:
    english = dict(named(choices, kind, "en"))
    shown = named(choices, kind, language)
    labelled = {code: frozenset(words(label)) | frozenset(words(english.get(code, label))) for code, label in shown}
    # the pages' other languages name a choice too, less closely: a newcomer lands on the page in the
    # language their browser asks for, and types in their own ("asistencia jurídica", "Kenia")
    elsewhere = [dict(named(choices, kind, other)) for other in LANGUAGES if other not in (language, "en")]
    also = {code: frozenset(words(also_called(code, language) if kind == "place" else ALSO_WRITTEN.get(code, "")))
            for code, _ in shown}
    foreign = {code: frozenset(words(" ".join(names.get(code, "") for names in elsewhere))) for code, _ in shown}
    options = tuple((code, label, labelled[code] | also[code] | foreign[code]) for code, label in shown)
    mine = frozenset().union(*labelled.values())
    return _Index(options, Counter(w for _, _, own in options for w in own),
                  frozenset().union(*also.values(), *foreign.values()) - mine,
                  frozenset().union(*foreign.values()) - mine - frozenset().union(*also.values()))


def also_called(code: str, language: str) -> str:
    """A country's other names, as people also write them: ISO 3166's name, official name and
    common name, in English and in `language` through the iso-codes translations pycountry carries
    ("République démocratique du Congo" where the page says Congo-Kinshasa, "Республика Кыргызстан"
    where it says Киргизия)."""
    return " ".join(other_names(code, language))


def other_names(code: str, language: str) -> list[str]:
    """`also_called`'s names, each whole, and each short name ("RDC") on its own."""
    found = pycountry.countries.get(alpha_2=code)
    if found is None:
        return []
    names = [getattr(found, a) for a in ("name", "official_name", "common_name") if getattr(found, a, None)]
    translated = _iso3166(language).gettext
    return list(dict.fromkeys([*names, *map(translated, names), *ABBREVIATED.get(code, "").split()]))


# Services as people also write them, in the pages' languages, where no label has the word (a walk
# typed "психологическая помощь" and "релокация"): named less closely than a label's own words.
_RELOCATION = "relocation relocalisation reubicacion релокация переезд"
ALSO_WRITTEN = {
    "psychosocial-support": "psychological psychologist psychologique psicologica psicologo психологическая "
                            "психологический психолог trauma traumatisme травма",
    "relocation-in-country": _RELOCATION, "relocation-regional": _RELOCATION, "relocation-abroad": _RELOCATION,
    "safe-house": "hebergement refugio убежище приют",
    "legal-aid": "lawyer abogado abogada avocat avocate адвокат юрист",
    "digital-security": "cybersecurity ciberseguridad cybersecurite кибербезопасность",
}

# Countries as people write them short, or by an old name, in the pages' languages, where ISO 3166
# gives no such name ("RDC" in Kinshasa's French, "ДРК" in Russian); of three letters or more, as
# words are compared.
ABBREVIATED = {"BY": "Белоруссия Biélorussie Bielorrusia",  # its old name, still written
               "CD": "RDC DRC ДРК", "CF": "RCA", "US": "USA EEUU США", "AE": "UAE ОАЭ",  # not "EAU": French water
               "KP": "DPRK RPDC КНДР", "ZA": "RSA ЮАР"}


@functools.lru_cache(maxsize=16)
def _iso3166(language: str) -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True)
