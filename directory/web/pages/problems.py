"""A refused question as a person reads it: the field by the label its form gives it, the reason in
the page's language, and a record not found in the same words whether it is missing or hidden.

A literal reason (with `%(name)s` placeholders for its values) of a `BadArgument`, an
`EditRefused` or a `Problem` (`Problem.of`, `Checker.fail`) is a msgid of the pages' catalogue:
`catalogue.argument_templates` extracts every one made where a page can meet it. A reason written
another way, or a translation that lost a placeholder, reads in English.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from directory.domain.errors import BadArgument, Message, NotFound, Problem
from directory.domain.taxonomy import SERVICE_TYPES
from directory.store import EditRefused
from directory.web.pages import i18n

NOT_FOUND = "Nothing was found for %(id)s, or it is not shared with you."
SHOWN_ID = 100  # characters of what was asked for that a refusal repeats
LISTED = frozenset({"valid", "options", "kinds", "near", "names"})  # values the service lists itself, shown whole
TERMS = frozenset({"type", "grants"})  # values that are service type codes (`validation`), shown by their labels
_TYPE_LABELS = {t.code: t.label for t in SERVICE_TYPES}
# where a page can meet a refusal: the folders `catalogue.argument_templates` reads
REFUSING = ("directory/domain", "directory/exchange", "directory/formats", "directory/jobs", "directory/store",
            "directory/web/pages", "maps")


def said(refused: BadArgument | NotFound, language: str, labels: Mapping[str, str]) -> str:
    """`refused` in `language`; `labels` are the form's, by argument name (English msgids)."""
    if isinstance(refused, NotFound):
        return in_language(NOT_FOUND, {"id": refused.record_id}, language)
    words = i18n.translations(language)
    field = words.gettext(labels[refused.argument]) if refused.argument in labels else _short(refused.argument)
    return f"{field}{i18n.colon(language)}{in_language(refused.template, refused.values, language)}"


def field_reasons(found: Iterable[Problem], language: str, order: Iterable[str] = ()) -> list[tuple[str, str]]:
    """Each problem of a refused form as (its field, its reason in `language`), in the order the form
    shows its fields (`order`, field names; a row's problem by its list's place), others after."""
    place = {name: n for n, name in enumerate(order)}
    ranked = sorted(found, key=lambda p: place.get(p.column.split(" ", 1)[0], len(place)))
    return [(p.column, in_language(p.template or p.reason, dict(p.values), language)) for p in ranked]


def edit_problems(refused: EditRefused) -> list[Problem]:
    """Why the store refused an edit, field by field; a record it did not find reads as any other
    record not found, whether missing or hidden."""
    if refused.problems:
        return refused.problems
    field = refused.field or ""
    if refused.code == "NOT_FOUND" and "id" in refused.values:
        return [not_found(field, str(refused.values["id"]))]
    return [Problem(0, field, refused.message, template=refused.template, values=tuple(refused.values.items()))]


def not_found(field: str, record_id: str) -> Problem:
    """A record a field names that is not there for this viewer: missing or hidden, in the same words."""
    return Problem.of(0, field, NOT_FOUND, id=record_id)


def in_language(template: Message, values: Mapping[str, object], language: str) -> str:
    """A literal reason in `language`, its values filled in (what was typed cut to `SHOWN_ID`), a
    service type by its name (`TERMS`)."""
    if not values and isinstance(template, str):
        return i18n.translations(language).gettext(template)
    return i18n.filled(template, {name: _labelled(value, language) if name in TERMS
                                  else value if name in LISTED else _short(value) for name, value in values.items()},
                       language)


def _labelled(value: object, language: str) -> object:
    """Service type codes, one or several joined by ", ", by their labels in `language`: "Psychosocial
    support", not psychosocial-support. A code the taxonomy does not hold is shown as it is."""
    if not isinstance(value, str):
        return value
    words = i18n.translations(language)
    return i18n.comma(language).join(words.gettext(_TYPE_LABELS[code]) if code in _TYPE_LABELS else str(_short(code))
                                     for code in value.split(", "))


def _short(value: object) -> object:
    """What was typed, as much of it as a refusal repeats (a crafted form can send kilobytes)."""
    return value[:SHOWN_ID] + "…" if isinstance(value, str) and len(value) > SHOWN_ID else value
