"""A refused question as a person reads it: the field by the label its form gives it, the reason in
the page's language, and a record not found in the same words whether it is missing or hidden.

A literal `BadArgument` reason (with `%(name)s` placeholders for its values) is a msgid of the
pages' catalogue: `catalogue.argument_templates` extracts every one raised where a page can meet
it. A reason written another way, or a translation that lost a placeholder, reads in English.
"""

from __future__ import annotations

from collections.abc import Mapping

from directory.domain.errors import BadArgument, NotFound
from directory.web.pages import i18n

NOT_FOUND = "Nothing was found for %(id)s, or it is not shared with you."
SHOWN_ID = 100  # characters of what was asked for that a refusal repeats
# where a page can meet a refusal: the folders `catalogue.argument_templates` reads
REFUSING = ("directory/jobs", "directory/store/records", "directory/web/pages", "maps")


def said(refused: BadArgument | NotFound, language: str, labels: Mapping[str, str]) -> str:
    """`refused` in `language`; `labels` are the form's, by argument name (English msgids)."""
    words = i18n.translations(language)
    if isinstance(refused, NotFound):
        return words.gettext(NOT_FOUND) % {"id": _short(refused.record_id)}
    field = words.gettext(labels[refused.argument]) if refused.argument in labels else _short(refused.argument)
    if not refused.values:
        return f"{field}: {words.gettext(refused.template)}"
    values = {name: _short(value) for name, value in refused.values.items()}
    try:
        reason = words.gettext(refused.template) % values
    except (KeyError, ValueError, TypeError):  # a translation that lost or misspelt a placeholder
        reason = refused.template % values
    return f"{field}: {reason}"


def _short(value: object) -> object:
    """What was typed, as much of it as a refusal repeats (a crafted form can send kilobytes)."""
    return value[:SHOWN_ID] + "…" if isinstance(value, str) and len(value) > SHOWN_ID else value
