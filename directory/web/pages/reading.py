"""Answers as a person reads them in the page's language: reasons through gettext with their codes
by name, numbers and days as the language writes them. The job pages and the maps read through it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from babel.numbers import format_decimal, format_scientific

from directory.jobs import gaps
from directory.jobs.reasons import Joined, Money, Reason, english
from directory.web.pages import i18n
from directory.web.pages.render import day, language_label, place_name

NEED_UNKNOWN = "not known (counted as %(need)s)"


class Sentence(str):
    """A reason as a sentence of the page's language: laid out in the page's direction. A page sets
    other cells apart (`<bdi>`, direction from their first letter), but a sentence whose names are
    isolated (`i18n.filled`) and that starts with one has no letter of its own there, and an Arabic
    reason was laid out left to right."""

    sentence = True


@dataclass(frozen=True)
class Reading:
    """Reasons as a person reads them in the page's language: the template through gettext, then its
    values filled in, the codes (service types, places, languages) by their names."""

    language: str
    type_labels: dict[str, str]  # service-type code: its (English) label, a msgid of taxonomy.po
    group_labels: Mapping[str, str] = field(default_factory=dict)  # defender groups', likewise

    def cell(self, value: object) -> object:
        if isinstance(value, Reason | Joined):
            return Sentence(self.text(value))
        if isinstance(value, list):
            return [self.cell(v) for v in value]
        return value

    def named(self, tag: str, value: object) -> object:
        """A cell as people read it: a place and service types by their names, reasons translated,
        a number written as the page's language writes it (0,4246 in Spanish; `written_number`)."""
        if tag == "#country+code" and isinstance(value, str):
            return self._value("place", value)
        if tag == "#sector" and isinstance(value, str | list):
            return self._value("types", [value] if isinstance(value, str) else value)
        if tag.startswith("#date") and isinstance(value, str):  # as the page's language writes a day
            return day(value, self.language)
        if tag == "#indicator+need" and value is None:  # said, not left blank: the score counts it
            return i18n.filled(NEED_UNKNOWN, {"need": written_number(gaps.UNKNOWN_NEED, self.language)}, self.language)
        if isinstance(value, float):
            return written_number(value, self.language)
        return self.cell(value)

    def text(self, value: object) -> str:
        if isinstance(value, Joined):
            separator = {", ": i18n.comma(self.language), "; ": i18n.semicolon(self.language)}.get(
                value.separator, value.separator)
            return separator.join(self.text(item) for item in value.items)
        if not isinstance(value, Reason):
            return english(value)
        return i18n.filled(value.template, {name: self._value(name, v) for name, v in value.values.items()},
                           self.language, value.values)

    def _value(self, name: str, value: Any) -> str:
        if name == "types":
            return i18n.comma(self.language).join(self._translated(self.type_labels.get(code, code)) for code in value)
        if name == "groups":
            return i18n.comma(self.language).join(self._translated(self.group_labels.get(code, code)) for code in value)
        if name == "place":
            return place_name(value, self.language)
        if name == "places":
            return i18n.comma(self.language).join(place_name(code, self.language) for code in value)
        if name == "languages":
            return i18n.comma(self.language).join(language_label(code, self.language) for code in value)
        if isinstance(value, Money):  # "40 000" in French, where "40,000" reads as forty
            return format_decimal(int(value), locale=i18n.locale(self.language))
        if isinstance(value, float):  # "a 8.059,6 km", as the table's own column writes it
            return written_number(value, self.language)
        if name == "date" and isinstance(value, str):
            return day(value, self.language)
        return self.text(value)

    def _translated(self, message: str) -> str:
        return i18n.translations(self.language).gettext(message)


def written_number(value: float, language: str) -> str:
    """As `language` writes it, to ten decimals (a float's noise, 0.30000000000000004, is not a
    digit anyone gave); from a million billion on, in scientific notation, which Babel's decimal
    formatting cannot hold."""
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1e15:
        return format_scientific(value, locale=language)
    return format_decimal(value, format="#,##0.##########", locale=language)
