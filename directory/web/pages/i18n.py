"""Which language a page speaks, and its gettext catalogues.

The language is the one asked for in the query (`?lang=es`, from the switch on every page, kept in
a cookie), else the browser's `Accept-Language`, else English. Catalogues are the `.po` files under
`directory/web/locales/<lang>/LC_MESSAGES/` (`pages.po` for the pages' own words, `taxonomy.po`
for the taxonomy's labels and definitions), compiled in memory once: nothing to build before
serving. Names of countries and languages come from Babel's CLDR data in the page's language.
Record text (names, descriptions, how to ask) stays as its publisher wrote it.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Mapping
from importlib import resources

import pycountry
from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from directory.domain import places
from directory.domain.errors import Message, Plural, worded

LANGUAGES = ("en", "es", "fr", "ar", "ru")
NAMES = {"en": "English", "es": "Español", "fr": "Français", "ar": "العربية", "ru": "Русский"}
RIGHT_TO_LEFT = frozenset({"ar"})
DOMAINS = ("pages", "taxonomy")
COOKIE = "pd_lang"


def chosen(asked: str | None, cookie: str | None, accept: str | None) -> str:
    """The page's language: asked for, then remembered, then the browser's first we speak."""
    for wanted in (asked, cookie):
        if wanted in LANGUAGES:
            return wanted
    for part in sorted(_ranges(accept or ""), key=lambda r: -r[1]):
        primary = part[0].split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return "en"


def _ranges(header: str) -> list[tuple[str, float]]:
    out = []
    for item in header.split(",")[:20]:
        tag, _, params = item.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag:
            out.append((tag.strip(), weight))
    return out


@functools.cache
def translations(language: str) -> NullTranslations:
    """The page's and the taxonomy's catalogues for a language; English has none (msgids are English)."""
    if language == "en":
        return NullTranslations()
    merged: Translations | None = None
    folder = resources.files("directory.web").joinpath("locales", language, "LC_MESSAGES")
    for domain in DOMAINS:
        source = folder.joinpath(f"{domain}.po")
        if not source.is_file():
            continue
        catalog = read_po(io.BytesIO(source.read_bytes()), locale=language, domain=domain)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        found = Translations(compiled, domain=domain)
        merged = found if merged is None else merged.merge(found)
    return merged or NullTranslations()


@functools.cache
def msgids() -> frozenset[str]:
    """Every string the pages translate: the msgids of another language's catalogues, which each
    hold them all (the catalogue test sees to it). What is not among them is a record's or a
    steward's words (a term they added), never a template's."""
    folder = resources.files("directory.web").joinpath("locales", LANGUAGES[1], "LC_MESSAGES")
    found: set[str] = set()
    for domain in DOMAINS:
        source = folder.joinpath(f"{domain}.po")
        if source.is_file():
            found.update(m.id for m in read_po(io.BytesIO(source.read_bytes())) if isinstance(m.id, str) and m.id)
    return frozenset(found)


@functools.cache
def locale(language: str) -> Locale:
    return Locale.parse(language)


def direction(language: str) -> str:
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"


def filled(template: Message, values: Mapping[str, object], language: str,
           numbers: Mapping[str, object] | None = None) -> str:
    """A literal message with `%(name)s` placeholders, in `language`, its values filled in; in English
    when the translation lost or misspelt a placeholder. A plural's form follows the number it is by,
    from `numbers` where the values are already written as the page writes numbers. In a right-to-left
    language each text value is set apart (Unicode's isolates), so a code or a Latin name keeps its own
    direction inside the sentence: "civic-space-restriction" read as "restriction-space-civic" otherwise."""
    if language in RIGHT_TO_LEFT:
        values = {k: _Isolated(v) if isinstance(v, str) else v for k, v in values.items()}
    try:
        if isinstance(template, Plural):
            return translations(language).ngettext(*template[:2], _count((numbers or values)[template.by])) % values
        return translations(language).gettext(template) % values
    except (KeyError, ValueError, TypeError):
        return worded(template, values, numbers)


class _Isolated(str):
    """A text value set apart in a right-to-left sentence, quoted (`%(x)r`) or not (`%(x)s`): the
    isolates go around the quotes, never inside them as escapes."""

    def __str__(self) -> str:
        return f"\u2068{str.__str__(self)}\u2069"

    def __repr__(self) -> str:
        return f"\u2068{str.__repr__(self)}\u2069"


def _count(number: object) -> int:
    """A count for gettext's plural rules, which know only whole numbers: what is counted here is
    characters, items, days, donors. Anything else reads in English."""
    if isinstance(number, bool) or not isinstance(number, int | float) or not float(number).is_integer():
        raise TypeError(f"{number!r} is not a whole number")
    return int(number)


# how a language separates the items of a list, and its parts: Arabic has its own comma and semicolon
_COMMAS = {"ar": ("\u060c ", "\u061b "), "fr": (", ", "\u202f; ")}  # French spaces a semicolon as a colon


def comma(language: str) -> str:
    return _COMMAS.get(language, (", ", "; "))[0]


def semicolon(language: str) -> str:
    return _COMMAS.get(language, (", ", "; "))[1]


def colon(language: str) -> str:
    """What separates a label from what it labels: French sets a (narrow, unbreakable) space before it."""
    return "\u202f: " if language == "fr" else ": "


def country_name(code: str, language: str) -> str | None:
    """A country's name in the page's language (CLDR), or None when CLDR has none."""
    return locale(language).territories.get(code)


@functools.cache
def _subdivision_names(language: str) -> gettext.NullTranslations:
    """iso-codes' names of ISO 3166-2 subdivisions in `language`, as pycountry ships them."""
    return gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=[language], fallback=True)


def subdivision_name(name: str, language: str, code: str = "") -> str:
    """A subdivision's name in the page's language where iso-codes has one ("Западно-Казахстанская
    область"), else where CLDR has one (every Arabic name: iso-codes has none, and a Sudanese
    group read "Central Darfur"), else as its source names it ("Batys Qazaqstan oblysy")."""
    if language == "en":
        return name
    translated = _subdivision_names(language).gettext(name)
    return translated if translated != name else places.subdivision_names(language).get(code, name)


def language_name(code: str, language: str) -> str | None:
    return locale(language).languages.get(code)
