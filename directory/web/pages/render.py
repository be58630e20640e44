"""Templates in the page's language, and the headers every page carries.

One Jinja environment per language, each with its gettext catalogues installed (`i18n`), and
autoescaping on: record text is whatever a publisher wrote, so it is always escaped. A page loads
nothing but this service's own stylesheet: no script, no font, no image from anywhere else
(`POLICY`), and no page is kept by the browser or a proxy (`no-store`): a page may show network
or restricted records, and what someone looked for is theirs.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from typing import Any
from urllib.parse import urlencode

import pycountry
from babel.dates import format_date
from babel.numbers import format_decimal, get_currency_name
from babel.support import NullTranslations
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from directory.base.scope import viewer_in
from directory.domain import places, taxonomy
from directory.web.pages import forms, i18n, words

POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
          "base-uri 'none'")
KEPT_PARAMS = 20  # of the address's query, that the language switch keeps
HEADERS = {"Content-Security-Policy": POLICY, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
           "X-Content-Type-Options": "nosniff", "Vary": "Accept-Language, Cookie"}


@functools.cache
def environment(language: str) -> Environment:
    env = Environment(loader=PackageLoader("directory.web", "templates"), autoescape=select_autoescape(),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    translated = i18n.translations(language)
    env.install_gettext_callables(  # type: ignore[attr-defined]
        functools.partial(_gettext, translated), translated.ngettext, newstyle=True)
    env.globals.update(words=words, place_name=functools.partial(place_name, language=language),
                       comma=i18n.comma(language), semicolon=i18n.semicolon(language), colon=i18n.colon(language),
                       language_name=functools.partial(language_label, language=language), reach=reach,
                       typed_value=functools.partial(typed_value, language=language), row_field=row_field,
                       carried_unshown=CARRIED_UNSHOWN)
    env.filters["options"] = functools.partial(options, language=language)
    env.filters["place_options"] = functools.partial(place_options, language=language)
    env.filters["day"] = functools.partial(day, language=language)
    env.filters["number"] = functools.partial(number, language=language)
    env.filters["named"] = functools.partial(named, language=language)
    return env


def _gettext(translated: NullTranslations, message: str) -> str:
    """A template's `_()`: a msgid in the page's language; anything else (a term's label a steward
    added, passed through `_` as the built-in ones are) as text. Jinja takes what `_` returns as
    markup and formats it with `%`: a label holding `<b>` was drawn as markup, one holding `%` failed
    the page."""
    if message in i18n.msgids():
        return translated.gettext(message)
    return escape(message).replace("%", "%%")


_DIALLED = re.compile(r"^\+?[0-9][0-9 ().-]{4,30}$")
# one address and nothing else: a mailto: link's "?" adds headers ("?bcc=" copies the mail elsewhere
# unseen), "," and ";" more recipients, "%" hides either
_MAILED = re.compile(r"^[^@\s<>\"?,;%&#/\\]+@[^@\s<>\"?,;%&#/\\]+\.[^@\s<>\"?,;%&#/\\]+$")
_ADDRESSED = re.compile(r"^https?://[^\s<>\"]+$", re.IGNORECASE)


def reach(kind: str, value: str) -> str | None:
    """Where a way to ask for help leads when tapped: a phone or hotline number dialled, an SMS, an
    e-mail, a web form's page; None for any other kind, or a value of another shape (shown as text).
    A defender in danger on a phone should not have to copy a number by hand."""
    value = value.strip()
    if kind in ("phone", "hotline", "sms") and _DIALLED.match(value):
        digits = ("+" if value.startswith("+") else "") + re.sub(r"[^0-9]", "", value)
        return f"{'sms' if kind == 'sms' else 'tel'}:{digits}"
    if kind == "email" and _MAILED.match(value):
        return f"mailto:{value}"
    if kind in ("web-form", "url", "form") and _ADDRESSED.match(value):
        return value
    return None


def named(options: Iterable[tuple[str, str]], kind: str, language: str) -> list[tuple[str, str]]:
    """A form's choices as (code, what the page shows), in the order of what it shows in this
    language: "term" labels through gettext, "place" and "language" codes by their names. Kept
    per language and list, as every form draws the same few lists again and again."""
    return list(_named(tuple(options), kind, language))


@functools.lru_cache(maxsize=256)
def _named(options: tuple[tuple[str, str], ...], kind: str, language: str) -> tuple[tuple[str, str], ...]:
    def shown(code: str, text: str) -> str:
        if kind == "place":
            return place_name(code, language)
        if kind == "language":
            return language_label(code, language)
        return i18n.translations(language).gettext(text)

    return tuple(sorted(((code, shown(code, text)) for code, text in options), key=lambda item: sortable(item[1])))


def options(choices: Iterable[tuple[str, str]], kind: str, chosen: str | Iterable[str] | None,
            language: str) -> Markup:
    """A select's `<option>`s in the order `named` gives, those `chosen` selected (one value or several,
    in any case, as a question reads them: "co" asks about Colombia, so Colombia shows chosen).
    Each list is escaped once per language and list: the browse form draws about 350 options on every
    page, each a few template calls before (measured at 10k: about 1 ms of a page's 10 ms of Python)."""
    picked = {c.casefold() for c in ([chosen] if isinstance(chosen, str) else chosen or ())}
    return Markup("").join(_SELECTED.format(code, text) if code.casefold() in picked else tag
                           for code, text, tag in _option_tags(tuple(choices), kind, language))


INSIDE = "In %(country)s"  # a country's subdivisions, as a group of a place select's options
REGIONS = "World regions"  # the UN's (M49), as a group of the browse form's place options


def place_options(countries: Iterable[tuple[str, str]], chosen: str | Iterable[str] | None, language: str,
                  regions: bool = False) -> Markup:
    """A place select's options: the countries, and after the one chosen (alone or by one of its
    subdivisions) its subdivisions by name, as a group. A group in Kisumu looks for help near it,
    not only in Kenya; the whole of ISO 3166-2 in every form would weigh on a slow line, so a
    country's parts are offered once it is chosen, with no script: choose, ask, then narrow.
    `regions`: the UN's world regions first, as a group (the browse form: who works around a
    country where nobody offers what is needed)."""
    picked = [chosen] if isinstance(chosen, str) else list(chosen or ())
    if regions:
        label = i18n.translations(language).gettext(REGIONS)
        areas = options(world_regions(), "place", picked, language)
        return Markup('<optgroup label="{}">{}</optgroup>').format(label, areas) + place_options(
            countries, picked, language)
    country = next((places.part_of(c.strip().upper()) or c.strip().upper() for c in picked if c.strip()), "")
    parts = tuple((p.code, p.name) for p in places.subdivisions_of(country) if p.code not in places.WHOLE_COUNTRIES)
    if not parts:
        return options(countries, "place", picked, language)
    label = i18n.translations(language).gettext(INSIDE) % {"country": place_name(country, language)}
    group = Markup('<optgroup label="{}">{}</optgroup>').format(label, options(parts, "place", picked, language))
    chosen_codes = {c.casefold() for c in picked}
    out = []
    for code, text, tag in _option_tags(tuple(countries), "place", language):
        out.append(_SELECTED.format(code, text) if code.casefold() in chosen_codes else tag)
        if code == country:
            out.append(group)
    return Markup("").join(out)


def world_regions() -> tuple[tuple[str, str], ...]:
    """The UN's regions and sub-regions (M49), the whole world left out: any place is no filter."""
    return tuple((code, area.name) for code, area in places.areas().items() if code != places.WORLD)


_OPTION = Markup('<option value="{}">{}</option>')
_SELECTED = Markup('<option value="{}" selected>{}</option>')


@functools.lru_cache(maxsize=256)
def _option_tags(choices: tuple[tuple[str, str], ...], kind: str, language: str) -> tuple[tuple[str, str, Markup], ...]:
    return tuple((code, text, _OPTION.format(code, text)) for code, text in _named(choices, kind, language))


# ISO 4217's codes no grant is paid in: precious metals, bond markets' units of account, the
# testing code and "no currency" (a walk found them offered for a map of grants)
NO_MONEY = frozenset({"XAU", "XAG", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA", "XTS", "XXX", "XAD"})


@functools.lru_cache(maxsize=16)
def currencies(language: str) -> tuple[tuple[str, str], ...]:
    """ISO 4217 currencies as (code, "its name (code)") in `language` (CLDR's names, through Babel),
    in the order of their names: a form chooses one instead of typing its code."""
    named = [(c.alpha_3, f"{get_currency_name(c.alpha_3, locale=language)} ({c.alpha_3})")
             for c in pycountry.currencies if c.alpha_3 not in NO_MONEY]
    return tuple(sorted(named, key=lambda item: sortable(item[1])))


def sortable(name: str) -> str:
    """A name as it sorts among others: without its accents (Éwé among the E), any case."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()


def place_name(code: str, language: str) -> str:
    """A place as people read it: countries and UN M49 areas in the page's language (CLDR names
    both), named regions from the pages' catalogue, subdivisions as iso-codes names them in it, or
    as their sources name them."""
    found = places.place(code)
    if found is None:
        return code
    if found.kind == "named":
        return i18n.translations(language).gettext(found.name)
    if found.kind == "subdivision":
        return i18n.subdivision_name(found.name, language, code)
    # an area CLDR does not name (the Channel Islands) from the pages' catalogue
    name = i18n.country_name(code, language) or i18n.translations(language).gettext(found.name)
    return name[:1].upper() + name[1:] if language == "en" else name  # CLDR's English says "world"


# A carried form's fields whose values were chosen from a list, by what names them (`typed_value`):
# places, languages, a taxonomy's scheme, or the pages' own words.
_CHOSEN: dict[str, str | dict[str, str]] = {
    **dict.fromkeys(("country", "subdivision", "region", "present_in", "origins", "reaches"), "place"),
    **dict.fromkeys(("language", "languages", "intake_languages"), "language"),
    **dict.fromkeys(("type", "serviceType", "serviceTypes", "purpose", "purposes"), taxonomy.SERVICE_TYPE),
    **dict.fromkeys(("group", "groups"), taxonomy.DEFENDER_GROUP), "kind": taxonomy.ORGANISATION_KIND,
    "visibility": words.VISIBILITY, "precision": words.PRECISION, "status": words.STATUS, "order": words.ORDERS}
_TERMS = {(t.scheme, t.code): t.label for t in taxonomy.BUILT_IN}


# A carried form's fields a person never typed: the form's own bookkeeping, not shown as typed
CARRIED_UNSHOWN = frozenset({"revision", "key", "once", "once_seal"})
# The service form's rows (ways to ask, open calls): `intake_kind_2` is the second way's "How"
_ROW_FIELD = re.compile(r"^(intake|windows)_(kind|value|visibility|opens|closes|note)_(\d{1,3})$")
ROW_COLUMNS = {"kind": "How", "value": "Where", "visibility": "Who may see it", "opens": "Opens on",
                "closes": "Closes on", "note": "Note"}
_ROW_CHOSEN: dict[str, str | dict[str, str]] = {"intake_kind": words.INTAKE, "intake_visibility": words.VISIBILITY}


def row_field(name: str) -> tuple[str, str, str] | None:
    """A field of one of the service form's rows as the form labels it: (the rows' field, the row's
    number, the column's label), each a msgid but the number; None for any other field."""
    found = _ROW_FIELD.match(name)
    return (found.group(1), found.group(3), ROW_COLUMNS[found.group(2)]) if found else None


def typed_value(name: str, value: str, language: str) -> str:
    """A value of a form carried through signing in as the form showed it: a chosen place, language,
    service or kind by its name ("Tanzania", not "TZ"); what was typed, and an organisation's id, as
    it is. A value of several codes (`KE-30, KE-47`) is named code by code."""
    row = _ROW_FIELD.match(name)
    kind = _ROW_CHOSEN.get(f"{row.group(1)}_{row.group(2)}") if row else _CHOSEN.get(name)
    if kind is None or not value:
        return value
    gettext = i18n.translations(language).gettext
    if isinstance(kind, dict):  # the pages' own words for it
        return gettext(kind.get(value, value))

    def one(code: str) -> str:
        if kind == "place":
            return place_name(code, language)
        if kind == "language":
            return language_label(code, language)
        term = _TERMS.get((kind, code))  # a term the taxonomy was given later: its code
        return gettext(term) if term else code

    return i18n.comma(language).join(one(code.strip()) for code in value.split(",")) if "," in value else one(value)


def day(value: str, language: str) -> str:
    """A day (YYYY-MM-DD) as the page's language writes it ("1 de marzo de 2026"); in English as
    stored, the one spelling every channel shares; anything else as it is."""
    if language == "en" or not isinstance(value, str):
        return value
    try:
        return format_date(date.fromisoformat(value[:10]), "long", locale=i18n.locale(language))
    except ValueError:
        return value


def number(value: object, language: str) -> object:
    """A count as the page's language groups its digits ("1 215" in French, "1.215" in Spanish)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return format_decimal(value, locale=i18n.locale(language))
    return value


def language_label(code: str, language: str) -> str:
    return i18n.language_name(code, language) or places.language_names().get(code, code)


def language_of(request: Request) -> str:
    return i18n.chosen(request.query_params.get("lang"), request.cookies.get(i18n.COOKIE),
                       request.headers.get("accept-language"))


DEFAULT_NAME = "Protection Directory"


def site_name(request: Request, language: str) -> str:
    """The directory's name on its pages: `DIRECTORY_NAME` as the operator wrote it, or the
    default, translated (an operator's walk set a network's name and saw it only in the discovery
    document)."""
    name: str = request.app.state.settings.directory_name
    return i18n.translations(language).gettext(DEFAULT_NAME) if name == DEFAULT_NAME else name


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    """The template rendered in the request's language, with the pages' headers. A language asked
    for in the query (the switch) is remembered in a cookie. The switch keeps the address's question,
    never a form's: what was typed in a form stays out of addresses (and so of histories and logs)."""
    language = language_of(request)
    csrf = request.scope.get("csrf")
    # never repeating a long input back
    kept = [(name, value) for name, value in request.query_params.multi_items()[:KEPT_PARAMS]
            if name != "lang" and len(name) + len(value) <= forms.FIELD_LENGTH]
    body = environment(language).get_template(template).render(
        language=language, direction=i18n.direction(language), site=site_name(request, language),
        languages=i18n.NAMES, path=request.url.path,
        # the same address: a query alone, so the link never repeats a path (`//elsewhere/` is another site)
        switched=lambda code: "?" + urlencode([*kept, ("lang", code)], safe=":,"),
        viewer=viewer_in(request.scope), signed_in=csrf is not None,
        session_ended=request.scope.get("session_ended", False),
        csrf_field=lambda: Markup('<input type="hidden" name="csrf" value="{}">').format(csrf) if csrf else "",
        **values)
    response = HTMLResponse(body, status_code=status, headers={**HEADERS, "Content-Language": language})
    if request.query_params.get("lang") in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, language, max_age=365 * 24 * 3600, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
    return response
