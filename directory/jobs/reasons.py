"""Why a job ranked what it ranked, in words a page can translate and a terminal prints in English.

A `Reason` is the English text the CLI, the CSV and GraphQL have always shown ("offers legal-aid",
"delivers in CO"), and it also keeps the template it was made from ("offers %(types)s") and the
values filled in. It is a `str` on purpose: every channel that took a reason as text (GraphQL's
`[String!]!`, the maps' JSON, the tables) goes on getting the same English string, while the pages
translate `template` with gettext and show the values as people read them. Values named `types`
(service-type codes), `place` (a place code), `places` (place codes) and `languages` (language
codes) hold codes that a page shows by name; a `Money` is grouped by thousands as the page's
language groups them; the others are shown as they are (numbers, dates, organisation names).

Each template is written once, as the literal first argument of `Reason(...)` in the jobs' modules,
where the pages' catalogue extractor (`directory.web.pages.catalogue`) finds it.

A `Joined` is several reasons (or texts) read as one, like a table cell: its English text is the
items joined by its separator, and a page translates each item.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from directory.domain.errors import Message, worded


class Money(int):
    """A sum of money, rounded to a whole unit: its thousands grouped ("12,000"; a page groups them
    as its language does, "12 000" in French), where a count or a year is written bare."""

    __slots__ = ()


def english(value: object) -> str:
    """A value as the English text shows it: floats as `:g`, amounts grouped, lists joined by commas."""
    if isinstance(value, Money):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(english(v) for v in value)
    return str(value)


class Reason(str):
    """One reason: its English text, and the template and values it was made from."""

    __slots__ = ("_template", "_values")
    _template: Message
    _values: dict[str, object]

    def __new__(cls, template: Message, /, **values: object) -> Reason:
        made = super().__new__(cls, worded(template, {k: english(v) for k, v in values.items()}, values))
        object.__setattr__(made, "_template", template)
        object.__setattr__(made, "_values", dict(values))
        return made

    @property
    def template(self) -> Message:
        """The msgid: the English text with `%(name)s` where each value goes."""
        return self._template

    @property
    def values(self) -> Mapping[str, object]:
        return dict(self._values)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a Reason does not change")

    def __reduce__(self) -> tuple[Any, ...]:  # copies and pickles keep the template and values
        return _reason, (self._template, self._values)


def _reason(template: Message, values: dict[str, object]) -> Reason:
    return Reason(template, **values)


class Joined(str):
    """Several items read as one: the English text is them joined by `separator`."""

    __slots__ = ("_items", "_separator")
    _items: tuple[str, ...]
    _separator: str

    def __new__(cls, items: Iterable[str], separator: str) -> Joined:
        kept = tuple(items)
        made = super().__new__(cls, separator.join(kept))
        object.__setattr__(made, "_items", kept)
        object.__setattr__(made, "_separator", separator)
        return made

    @property
    def items(self) -> tuple[str, ...]:
        return self._items

    @property
    def separator(self) -> str:
        return self._separator

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a Joined does not change")

    def __reduce__(self) -> tuple[Any, ...]:
        return Joined, (self._items, self._separator)


def templates(value: object) -> set[Message]:
    """Every template in a reason, a joined one or a list of them (nested values included)."""
    if isinstance(value, Reason):
        return {value.template} | {t for v in value.values.values() for t in templates(v)}
    if isinstance(value, Joined):
        return {t for item in value.items for t in templates(item)}
    if isinstance(value, list | tuple):
        return {t for item in value for t in templates(item)}
    return set()
