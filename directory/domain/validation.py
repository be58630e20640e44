"""Turning untrusted input rows into records, collecting every problem instead of stopping at one.

CSV and HSDS imports both hand rows here as `Row`s: a line number and, for each field, the column
it came from and its raw value (text from CSV, JSON values from HSDS). A row with any problem
yields no record; the importer then refuses the whole file, listing every problem.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

import pycountry

from directory.domain import channels, fields, places
from directory.domain.errors import BadArgument, Message, Plural, Problem
from directory.domain.model import (
    INTAKE_KINDS,
    LINK_DEFAULT_VISIBILITY,
    LINK_TYPES,
    STATUS_ALIASES,
    Coverage,
    Intake,
    Link,
    Location,
    Organisation,
    Precision,
    Presence,
    Service,
    Status,
    Verification,
    Visibility,
    Window,
)
from directory.domain.taxonomy import DEFENDER_GROUP, GRANT_TYPES, ORGANISATION_KIND, SENSITIVE_KINDS, SERVICE_TYPE

LOCAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$")
CHANNEL_KINDS = ("email", "signal", "whatsapp", "telegram", "phone", "pgp", "matrix", "wire", "session",
                 "threema", "url", "form")
ORG_ID_SCHEME = re.compile(r"^[A-Z]{2}-[A-Z0-9]{2,}$")
# "15.000", "1.500.000", "+15.000": `Checker.number`; never "0.125" (no thousands start with 0)
GROUPED_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(\.\d{3})+")
# Lengths and list sizes come from the one declaration of each field (`directory.domain.fields`).
_O, _S = fields.ORGANISATION, fields.SERVICE


def plain(number: float) -> str:
    """A bound as people write it: 1000000, not 1e+06; 0.5 as it is."""
    return str(int(number)) if float(number).is_integer() else f"{number:.15g}"


def _bound(value: int | None) -> int:
    assert value is not None, "a field declared without its bound"
    return value


_LIMITS = {"name": _O["name"].chars, "alias": _O["aliases"].chars, "description": _O["description"].chars,
           "website": _O["website"].chars, "channel": _O["contact_channels"].chars,
           "identifier": _O["identifiers"].chars, "text": fields.TEXT, "source": _O["source"].chars}
LIMITS: dict[str, int] = {name: _bound(limit) for name, limit in _LIMITS.items()}
SEP = "|"
# The most items a list field may hold: each is searched, matched and drawn, so an unbounded list
# (thousands of aliases in one record) costs every reader. Others: DEFAULT_ITEMS.
_ITEMS = {"aliases": _O["aliases"].items, "identifiers": _O["identifiers"].items,
          "contact_channels": _O["contact_channels"].items, "languages": _O["languages"].items,
          "groups": _S["groups"].items, "present_in": _S["coverage"].items, "reaches": _S["coverage"].items,
          "origins": _S["origins"].items, "purposes": _S["purposes"].items, "intake": _S["intake"].items,
          "windows": _S["windows"].items, "intake_languages": _S["intake_languages"].items, "vetted_by": 20}
MAX_ITEMS: dict[str, int] = {name: _bound(limit) for name, limit in _ITEMS.items()}
DEFAULT_ITEMS = 100
_VISIBILITIES = tuple(v.value for v in Visibility)
_PRECISIONS = tuple(p.value for p in Precision)
_STATUSES = frozenset(s.value for s in Status)
_JOINERS = "\u200c\u200d"  # zero-width non-joiner and joiner: needed between letters of many scripts


@functools.cache
def _hidden() -> re.Pattern[str]:
    """Characters a reader cannot see, or that change how what follows is shown: controls (but tab
    and newline), format characters (bidi overrides and isolates, zero-width spaces, soft hyphens,
    tags), surrogates and private use. Built once, from the Unicode database Python carries."""
    planes = [*range(0x30000), *range(0xE0000, 0xE1000)]
    found = [chr(c) for c in planes if unicodedata.category(chr(c)) in ("Cc", "Cf")
             and chr(c) not in "\t\n" + _JOINERS]
    return re.compile("[" + "".join(re.escape(c) for c in found) + "\ud800-\udfff\ue000-\uf8ff"
                      "\U000f0000-\U0010ffff]")


def _joined(value: str, at: int) -> bool:
    """A joiner between two letters or marks of a non-Latin script, where it shapes the text."""
    def letter(i: int) -> bool:
        return 0 <= i < len(value) and not value[i].isascii() and unicodedata.category(value[i])[0] in "LM"
    return letter(at - 1) and letter(at + 1)


NO_COLUMNS: Mapping[str, str] = MappingProxyType({})


def _code_point(char: str) -> str:
    return f"U+{ord(char):04X}"


@dataclass
class Row:
    line: int
    fields: dict[str, tuple[str, Any]]  # field name -> (column label, raw value)
    record: str = ""
    # field name -> its column label where the row has no value for it (a column the file lacks, a
    # short row): a problem names the column as the file would, never our field (one mapping per file)
    columns: Mapping[str, str] | None = None

    def column(self, name: str) -> str:
        """How the input names field `name`."""
        found = self.fields.get(name)
        return found[0] if found is not None else (self.columns or NO_COLUMNS).get(name, name)


@dataclass
class Vocabulary:
    """The taxonomy terms in force, read from the store before validating."""

    terms: dict[str, set[str]]

    def has(self, scheme: str, code: str) -> bool:
        return code in self.terms.get(scheme, set())

    def require(self, scheme: str, code: str, argument: str) -> None:
        """For query arguments: BadArgument naming the argument, the value and the nearest valid
        codes when `code` is not a term. Every channel's filters go through here, so an unknown
        value is never quietly a filter that matches nothing."""
        if not self.has(scheme, code):
            valid = sorted(self.terms.get(scheme, set()))
            named = {"code": code, "scheme": scheme.replace("-", " ")}
            if near := _near(code, valid):
                raise BadArgument(argument, "%(code)r is not a known %(scheme)s code; did you mean %(near)s?",
                                  near=", ".join(repr(v) for v in near), **named)
            if len(valid) <= 30:
                raise BadArgument(argument, "%(code)r is not a known %(scheme)s code; valid: %(valid)s",
                                  valid=", ".join(valid), **named)
            raise BadArgument(argument, "%(code)r is not a known %(scheme)s code; the taxonomy query lists the valid "
                              "codes", **named)


def _near(value: str, valid: list[str]) -> list[str]:
    """The valid codes nearest to `value`: by spelling, or containing it; at most three."""
    wanted = "-".join(value.lower().replace("_", " ").split())
    near = difflib.get_close_matches(wanted, valid, n=3, cutoff=0.6)
    return near + [v for v in valid if wanted and wanted in v and v not in near][:3 - len(near)]


def _iso_day(value: str) -> str | None:
    """YYYY-MM-DD, the one spelling the store keeps; None for anything else (Python also reads
    20250110 and 2025W021 as dates, which compare wrongly as text)."""
    value = _ascii_digits(value.strip())
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day.isoformat() if day.isoformat() == value else None


def unambiguous(number: object) -> object:
    """A number as a file may hold it and `Checker.number` read it back the same: a sum of 750.125
    (three decimals, as Kuwaiti dinars have) written "750.1250", never read as thousands (an
    attacker's read: an export no longer imported back)."""
    text = str(number) if isinstance(number, float) else None
    return text + "0" if text is not None and GROUPED_THOUSANDS.fullmatch(text) else number


def _ascii_digits(value: str) -> str:
    """Digits of any script as ASCII ones (Arabic-Indic, say): a number in them was read (Python's
    `float` reads every script's), a date refused (an Arabic walk)."""
    return "".join(str(unicodedata.digit(c)) if not c.isascii() and c.isdecimal() else c for c in value)


def require_day(value: str, argument: str) -> str:
    """A YYYY-MM-DD day for a query argument, or BadArgument naming it."""
    found = _iso_day(value)
    if found is None:
        raise BadArgument(argument, "%(value)r is not a date (YYYY-MM-DD)", value=value)
    return found


def require_status(value: str, argument: str) -> str:
    """A service status for a query argument, read as an import reads it (`inactive` is paused)."""
    word = value.strip().lower()
    if word in STATUS_ALIASES:
        return STATUS_ALIASES[word].value
    if word not in _STATUSES:
        raise BadArgument(argument, "%(value)r is not one of %(valid)s", value=value, valid=", ".join(Status))
    return word


def require_text(value: str, argument: str, limit: int) -> str:
    """A line of free text for an argument (a token's label), stripped, by the rules a record's text
    follows: bounded, and nothing in it a reader would not see; on one line, as a list prints it.
    BadArgument naming the first thing wrong."""
    checker = Checker(Row(0, {argument: (argument, value)}), "")
    found = checker.text(argument, limit)
    if checker.problems:
        reason, values = checker.problems[0].template, dict(checker.problems[0].values)  # a `fail`'s literal
        raise BadArgument(argument, reason, **values)
    if (at := next((n for n, char in enumerate(found) if char in "\t\n"), None)) is not None:
        raise BadArgument(argument, "holds a tab or a line break (position %(at)s): write it on one line", at=at + 1)
    return found


def require_language(code: str, argument: str) -> str:
    """A language code for a query argument (`places.language_code`); BadArgument naming the value
    and the nearest codes (by code, or by the language's English name) when it is not one."""
    found = places.language_code(code)
    if found is not None:
        return found
    names = places.language_names()
    by_name = [c for c, name in names.items() if name.lower() == code.strip().lower()]
    near = by_name or difflib.get_close_matches(code.lower(), sorted(names), n=3, cutoff=0.6)
    if near:
        raise BadArgument(argument, "%(code)r is not an ISO 639-1 or ISO 639-3 language code; did you mean %(near)s?",
                          code=code, near=", ".join(f"{c!r} ({names[c]})" for c in near))
    raise BadArgument(argument, "%(code)r is not an ISO 639-1 or ISO 639-3 language code", code=code)


def asked_language(code: str | None, argument: str) -> str | None:
    """The language a question narrows to (`require_language`): None for none, and for `mul`, which
    asks for any language and so narrows nothing."""
    if code is None or not code.strip():
        return None
    found = require_language(code, argument)
    return None if found == places.ANY_LANGUAGE else found


@dataclass
class Checker:
    """Validates the fields of one row, recording problems against its line and columns."""

    row: Row
    directory_id: str
    problems: list[Problem] = field(default_factory=list)
    latest_day: str | None = None  # a verification after this day is refused (`local_latest_day`)

    @property
    def own(self) -> bool:
        """This directory's own write (an import, an edit), which alone is given `latest_day`: held to
        the rules a peer's record is spared (no day after today, each channel of its kind's shape),
        as a peer's record is its directory's word, and dropping it would withdraw what we held."""
        return self.latest_day is not None

    def _raw(self, name: str) -> tuple[str, Any]:
        return self.row.fields.get(name) or (self.row.column(name), None)

    def fail(self, name: str, reason: Message, /, **values: object) -> None:
        """`reason` is literal, its `values` in `%(name)s` placeholders: a msgid the pages translate."""
        self.problems.append(Problem.of(self.row.line, self._raw(name)[0], reason, self.row.record, **values))

    def text(self, name: str, limit: int, required: bool = False) -> str:
        _, raw = self._raw(name)
        value = "" if raw is None else raw if isinstance(raw, str) else str(raw)
        value = value.strip()
        if required and not value:
            self.fail(name, "is required")
        elif len(value) > limit:
            self.fail(name, Plural("is %(length)s characters long, at most %(most)s is allowed",
                                   "is %(length)s characters long, at most %(most)s are allowed", "most"),
                      length=len(value),
                      most=limit)
        else:
            self._visible(name, value)
        return value

    def _visible(self, name: str, value: str) -> bool:
        """Whether `value` may be stored as text, failing it if not: what a reader would not see would
        make one record look like another, or reorder what an operator's terminal shows."""
        if value.isascii() and value.isprintable():
            return True
        if (m := _hidden().search(value)) is not None:
            self.fail(name, "contains control characters or characters that cannot be seen (%(char)s at position "
                            "%(at)s)", char=_code_point(m.group()), at=m.start() + 1)
            return False
        for at, char in enumerate(value):
            if char in _JOINERS and not _joined(value, at):
                self.fail(name, "contains a zero-width joiner (%(char)s) at position %(at)s that joins no letters",
                          char=_code_point(char), at=at + 1)
                return False
        return True

    def items(self, name: str) -> list[str]:
        _, raw = self._raw(name)
        if raw is None or raw == "":
            return []
        if isinstance(raw, list):
            found = [str(x).strip() for x in raw if str(x).strip()]
            # One rule for every channel: a file writes a list in one cell, split at SEP, so an item
            # holding SEP would come back as two (and the second could read as another visibility).
            if any(SEP in item for item in found):
                self.fail(name, "an item holds %(separator)r, which separates the items of a list in a CSV cell",
                          separator=SEP)
                return []
        else:
            found = [x.strip() for x in str(raw).split(SEP) if x.strip()]
        limit = MAX_ITEMS.get(name, DEFAULT_ITEMS)
        if len(found) > limit:
            self.fail(name, Plural("holds %(count)s items, at most %(most)s is allowed",
                                   "holds %(count)s items, at most %(most)s are allowed", "most"),
                      count=len(found), most=limit)
            return []
        if not all(self._visible(name, item) for item in found):
            return []
        return found

    def record_id(self, name: str, required: bool = True) -> str:
        value = self.text(name, 200, required=required)
        if not value:
            return ""
        prefix, _, local = value.rpartition(":")
        if prefix and prefix != self.directory_id:
            self.fail(name, "%(value)r belongs to directory %(prefix)r; this directory is %(ours)r and imports only "
                            "its own records", value=value, prefix=prefix, ours=self.directory_id)
            return ""
        if not LOCAL_ID.match(local):
            self.fail(name, "%(value)r is not a valid id (letters, digits, . _ ~ -, at most 128)", value=value)
            return ""
        return f"{self.directory_id}:{local}"

    def term(self, name: str, scheme: str, vocab: Vocabulary, required: bool = True) -> str:
        value = self.text(name, 100, required=required)
        if value and not vocab.has(scheme, value):
            self._unknown_term(name, value, scheme, vocab)
        return value

    def _unknown_term(self, name: str, value: str, scheme: str, vocab: Vocabulary) -> None:
        """Said with what to write instead: the nearest codes, the scheme the code is of (an
        operator's file gave a defender group as a service type), or where the codes are listed."""
        other = next((s for s in sorted(vocab.terms) if s != scheme and value in vocab.terms[s]), None)
        if other is not None:
            self.fail(name, "%(value)r is a %(other)s code, not a %(scheme)s code", value=value, other=other,
                      scheme=scheme)
        elif near := _near(value, sorted(vocab.terms.get(scheme, set()))):
            self.fail(name, "%(value)r is not a known %(scheme)s code; did you mean %(near)s?", value=value,
                      scheme=scheme, near=", ".join(repr(v) for v in near))
        else:
            self.fail(name, "%(value)r is not a known %(scheme)s code; the taxonomy lists them (`directory "
                            "taxonomy list`, or the taxonomy page)", value=value, scheme=scheme)

    def _not_a_country(self, name: str, value: str) -> None:
        if meant := places.country_named(value):
            self.fail(name, "%(code)r is not an ISO 3166-1 country code; %(name)s is %(meant)s", code=value,
                      name=places.countries()[meant].name, meant=meant)
        else:
            self.fail(name, "%(code)r is not an ISO 3166-1 country code", code=value)

    def choice(self, name: str, options: tuple[str, ...], default: str) -> str:
        value = self.text(name, 50) or default
        if value not in options:
            self.fail(name, "%(value)r is not one of %(valid)s", value=value, valid=", ".join(options))
            return default
        return value

    def number(self, name: str, low: float, high: float, counted: bool = False) -> float | None:
        """`counted`: a sum or a count, which a point between groups of three digits may have written
        in thousands ("15.000" for fifteen thousand in much of Latin America and Europe: an
        operator's walk read fifteen); refused, never guessed. A point, a latitude's, stays decimal."""
        _, raw = self._raw(name)
        if raw is None or raw == "":
            return None
        if counted and isinstance(raw, str) and GROUPED_THOUSANDS.fullmatch(raw.strip()):
            self.fail(name, "%(value)r may be thousands written with a point: write the number with nothing "
                            "between thousands (15000), or with its decimals (15.0)", value=raw)
            return None
        try:
            value = float(raw)
        except (TypeError, ValueError):
            if isinstance(raw, str) and "," in raw:  # "0,32": a decimal comma, or a thousands one; never guessed
                self.fail(name, "%(value)r is not a number: write it with a point for decimals and nothing between "
                                "thousands (0.32, 1000.5)", value=raw)
            else:
                self.fail(name, "%(value)r is not a number", value=raw)
            return None
        if math.isnan(value) or not low <= value <= high:
            self.fail(name, "%(value)r is outside %(low)s to %(high)s", value=raw, low=plain(low), high=plain(high))
            return None
        return value

    def integer(self, name: str, low: int, high: int) -> int | None:
        value = self.number(name, low, high, counted=True)
        if value is not None and value != int(value):
            self.fail(name, "%(value)r is not a whole number", value=value)
            return None
        return None if value is None else int(value)

    def day(self, name: str) -> str:
        """A day as YYYY-MM-DD, whatever ISO 8601 spelling it came in (the store compares days as text)."""
        value = self.text(name, 10)
        if value:
            found = _iso_day(value)
            if found is None:
                self.fail(name, "%(value)r is not a date (YYYY-MM-DD)", value=value)
                return ""
            return found
        return value

    def past_day(self, name: str) -> str:
        """A day something happened (a verification, a confirmation, a change of status): not after
        `latest_day` where this directory writes it, so a date typed ahead never stays fresh."""
        found = self.day(name)
        if found and self.latest_day and found > self.latest_day:
            self.fail(name, "%(value)r is after today: record it once it has happened", value=found)
        return found

    def boolean(self, name: str) -> bool | None:
        _, raw = self._raw(name)
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "yes", "1", "y"):
            return True
        if text in ("false", "no", "0", "n"):
            return False
        self.fail(name, "%(value)r is not yes or no", value=raw)
        return None

    def _listed_wrongly(self, name: str, value: str) -> bool:
        """A list written with commas or semicolons where `|` separates (an operator's walk: "'es, en'
        is not a language code" said not how to write two)."""
        if re.search(r"[,;]", value):
            self.fail(name, "%(value)r holds several values: separate them with | (es|en)", value=value)
            return True
        return False

    def languages(self, name: str) -> list[str]:
        out = []
        for code in self.items(name):
            found = places.language_code(code)
            if found is None and self._listed_wrongly(name, code):
                continue
            if found is None:
                self.fail(name, "%(code)r is not an ISO 639-1 or ISO 639-3 language code (mul: any language)",
                          code=code)
            else:
                out.append(found)
        return sorted(set(out))

    def codes(self, name: str, scheme: str, vocab: Vocabulary) -> list[str]:
        out = []
        for code in self.items(name):
            if vocab.has(scheme, code):
                out.append(code)
            elif not self._listed_wrongly(name, code):
                self._unknown_term(name, code, scheme, vocab)
        return sorted(set(out))

    def status(self, name: str) -> Status:
        value = self.text(name, 50).lower() or Status.ACTIVE.value
        if value in STATUS_ALIASES:
            return STATUS_ALIASES[value]
        if value not in _STATUSES:
            self.fail(name, "%(value)r is not one of %(valid)s", value=value, valid=", ".join(Status))
            return Status.ACTIVE
        return Status(value)

    def intake(self, name: str) -> list[Intake]:
        """`[VISIBILITY ]KIND:VALUE` items; an item that names no visibility is the network's."""
        out = []
        for n, item in enumerate(self.items(name), 1):  # named by place, not value, as `_channels` does
            first, _, rest = item.partition(" ")
            visibility = first.lower() if first.lower() in _VISIBILITIES else Visibility.NETWORK.value
            channel = rest.strip() if first.lower() in _VISIBILITIES else item
            kind, sep, value = channel.partition(":")
            if not sep or kind.strip().lower() not in INTAKE_KINDS or not value.strip():
                self.fail(name, "item %(n)s is not [public|network|restricted] KIND:VALUE with KIND one of %(kinds)s",
                          n=n, kinds=", ".join(INTAKE_KINDS))
            elif len(channel) > _bound(_S["intake"].chars):
                self.fail(name, Plural("a channel is %(length)s character long, at most %(most)s",
                                       "a channel is %(length)s characters long, at most %(most)s", "length"),
                          length=len(channel), most=_S["intake"].chars)
            elif _reachable(self, name, n, kind.strip().lower(), value.strip()):
                out.append(Intake(kind.strip().lower(), value.strip(), Visibility(visibility)))
        return out

    def windows(self, name: str) -> list[Window]:
        """`OPENS/CLOSES[ note]` items, dates as YYYY-MM-DD; CLOSES may be left empty."""
        out = []
        for item in self.items(name):
            span, _, note = item.partition(" ")
            opens, sep, closes = span.partition("/")
            first, last = _iso_day(opens), _iso_day(closes) if closes else ""
            # a form's row says which of its days is wrong; an import's cell, its syntax too
            if not sep:
                self.fail(name, "%(value)r is not OPENS/CLOSES with dates as YYYY-MM-DD, then a note", value=item)
            elif not opens:
                self.fail(name, "%(value)r has no opening day (YYYY-MM-DD)", value=item)
            elif first is None:
                self.fail(name, "%(value)r opens on %(day)r, which is not a day written YYYY-MM-DD", value=item,
                          day=opens)
            elif last is None:
                self.fail(name, "%(value)r closes on %(day)r, which is not a day written YYYY-MM-DD", value=item,
                          day=closes)
            elif last and last < first:
                self.fail(name, "%(value)r closes before it opens", value=item)
            elif len(item) > _bound(_S["windows"].chars):
                self.fail(name, Plural("a window is %(length)s character long, at most %(most)s",
                                       "a window is %(length)s characters long, at most %(most)s", "length"),
                          length=len(item), most=_S["windows"].chars)
            else:
                out.append(Window(first, last, note.strip()))
        return sorted(out, key=lambda w: (w.opens, w.closes, w.note))

    def verification(self) -> Verification:
        limit = _bound(_O["verified"].chars)
        return Verification(self.past_day("verified_on"), self.text("verified_by", limit),
                            self.text("verified_source", limit))

    def country(self, name: str) -> str | None:
        value = self.text(name, 100)
        if not value:
            return None
        code = places.country_code(value) if len(value) <= 3 else None
        if code is None:
            self._not_a_country(name, value)
        return code

    def place_codes(self, name: str) -> list[str]:
        """Countries, subdivisions and areas: `world`, `region:NAME`, `subregion:NAME`,
        `intermediate:NAME`, an M49 code, or a named region (`central-america`)."""
        out = []
        for value in self.items(name):
            if self._listed_wrongly(name, value):
                continue
            if value.lower() == "world" or ":" in value or value.isdigit():
                if (code := places.area_code(value)) is None:
                    self.fail(name, "%(code)r is not world, region:NAME, subregion:NAME, a UN M49 area code or a named "
                                    "region", code=value)
            elif len(value) <= 3:
                if (code := places.country_code(value)) is None:
                    self.fail(name, "%(code)r is not an ISO 3166-1 country code", code=value)
            elif (code := places.subdivision_code(value) or places.area_code(value)) is None:
                if places.country_named(value):
                    self._not_a_country(name, value)
                else:
                    self.fail(name, "%(code)r is not an ISO 3166-1 country or ISO 3166-2 subdivision code, nor a "
                                    "named region", code=value)
            if code is not None:
                out.append(code)
        return sorted(set(out))


def _visibility(c: Checker, default: Visibility) -> Visibility:
    return Visibility(c.choice("visibility", _VISIBILITIES, default.value))


def _reachable(c: Checker, name: str, n: int, kind: str, value: str) -> bool:
    """A way to reach someone has the shape of its kind, or someone in danger writes to nobody: an
    email address, a number, a username, a web address. A reason names the item by its place, never
    its value. Kinds without a shape (post, in person, through a partner, other) take any text; a
    peer's record is its directory's word (`Checker.own`)."""
    if not c.own or channels.shaped(kind, value):
        return True
    if kind == "email":
        c.fail(name, "item %(n)s is not an email address (name@domain)", n=n)
    elif kind in ("phone", "hotline", "sms"):
        c.fail(name, "item %(n)s is not a phone number (digits, maybe a leading +, spaces, dots, dashes or brackets)",
               n=n)
    elif kind == "whatsapp":
        c.fail(name, "item %(n)s is not a WhatsApp number or link", n=n)
    elif kind == "signal":
        c.fail(name, "item %(n)s is not a Signal number, username (name.01) or link", n=n)
    elif kind == "telegram":
        c.fail(name, "item %(n)s is not a Telegram number, username or link", n=n)
    elif kind == "matrix":
        c.fail(name, "item %(n)s is not a Matrix address (@name:server) or link", n=n)
    else:
        c.fail(name, "item %(n)s is not a web address (such as https://example.org/ask)", n=n)
    return False


def _channels(c: Checker) -> list[str]:
    """Contact channels. A reason names the item by its place, never its value: a channel is
    network-only, and reasons travel to logs and to whoever sent the row (a peer's drop report)."""
    out = []
    for n, item in enumerate(c.items("contact_channels"), 1):
        kind, sep, value = item.partition(":")
        if not sep or kind.strip().lower() not in CHANNEL_KINDS or not value.strip():
            c.fail("contact_channels", "item %(n)s is not KIND:VALUE with KIND one of %(kinds)s", n=n,
                   kinds=", ".join(CHANNEL_KINDS))
        elif len(item) > LIMITS["channel"]:
            c.fail("contact_channels", Plural("a channel is %(length)s character long, at most %(most)s",
                                              "a channel is %(length)s characters long, at most %(most)s", "length"),
                   length=len(item), most=LIMITS["channel"])
        elif _reachable(c, "contact_channels", n, kind.strip().lower(), value.strip()):
            out.append(f"{kind.strip().lower()}:{value.strip()}")
    return out


def _identifiers(c: Checker) -> list[str]:
    out = []
    for item in c.items("identifiers"):
        scheme, sep, value = item.partition(":")
        if not sep or not ORG_ID_SCHEME.match(scheme) or not value or len(item) > LIMITS["identifier"]:
            c.fail("identifiers", "%(value)r is not SCHEME:IDENTIFIER with an org-id.guide scheme such as GB-CHC",
                   value=item)
        else:
            out.append(f"{scheme}:{value}")
    return out


def _aliases(c: Checker) -> list[str]:
    aliases = c.items("aliases")
    for alias in aliases:
        if len(alias) > LIMITS["alias"]:
            c.fail("aliases", Plural("an alias is %(length)s character long, at most %(most)s are allowed",
                                     "an alias is %(length)s characters long, at most %(most)s are allowed", "length"),
                   length=len(alias), most=LIMITS["alias"])
    return aliases


def _location(c: Checker, kind: str) -> Location | None:
    country = c.country("country")
    subdivision = c.text("subdivision", 10).upper() or None
    if subdivision and places.subdivision_code(subdivision) is None:
        c.fail("subdivision", "%(code)r is not an ISO 3166-2 subdivision code", code=subdivision)
        subdivision = None
    elif subdivision and country and not subdivision.startswith(country + "-"):
        c.fail("subdivision", "%(place)s is not in %(country)s", place=places.labelled(subdivision),
               country=places.labelled(country))
        subdivision = None
    elif subdivision and not country:
        country = subdivision.split("-")[0]
    lat = c.number("latitude", -90, 90)
    lon = c.number("longitude", -180, 180)
    lat_given = c._raw("latitude")[1] not in (None, "")
    lon_given = c._raw("longitude")[1] not in (None, "")
    if lat_given != lon_given:
        c.fail("latitude" if not lat_given else "longitude", "latitude and longitude go together: give both or neither")
    if lat is not None and lon is not None and places.misplaced(country, subdivision, lat, lon):
        # a point left from before the country or province changed would be published as if it were
        # there ("within about 11 km of where it is"), and read as where the organisation is. Said
        # without the point or where it is: a peer's record is checked before its point is coarsened,
        # and what a sync refuses goes to its log
        c.fail("latitude", "the point is not in %(place)s: correct the point or the place, or leave the point out",
               place=places.labelled(subdivision or country or ""))
    default = Precision.COUNTRY if kind in SENSITIVE_KINDS else Precision.LOCALITY
    precision = Precision(c.choice("precision", _PRECISIONS, default.value))
    if country is None and lat is None:
        return None
    return Location(lat, lon, precision, country, subdivision)


def local_latest_day() -> str:
    """The last day a verification written here may carry: today, with a day's grace for time zones
    ahead of UTC. Only this directory's own writes are held to it: a peer's record keeps the day its
    directory gave, as it keeps everything else that directory says."""
    return date.fromordinal(datetime.now(UTC).date().toordinal() + 1).isoformat()


def currency_code(text: str) -> str | None:
    """An ISO 4217 code as typed (any case), or None: a grant's and the funding map's one test."""
    code = text.strip().upper()
    return code if len(code) == 3 and pycountry.currencies.get(alpha_3=code) is not None else None


def organisation(row: Row, directory_id: str, vocab: Vocabulary,
                 latest_day: str | None = None) -> tuple[Organisation | None, list[Link], list[Problem]]:
    c = Checker(row, directory_id, latest_day=latest_day)
    record_id = c.record_id("id")
    row.record = record_id
    kind = c.term("kind", ORGANISATION_KIND, vocab)
    default_vis = Visibility.NETWORK if kind in SENSITIVE_KINDS else Visibility.PUBLIC
    org = Organisation(
        id=record_id, name=c.text("name", LIMITS["name"], required=True), kind=kind,
        visibility=_visibility(c, default_vis),
        aliases=_aliases(c),
        description=c.text("description", LIMITS["description"]),
        website=c.text("website", LIMITS["website"]),
        languages=c.languages("languages"), contact_channels=_channels(c), identifiers=_identifiers(c),
        location=_location(c, kind), source=c.text("source", LIMITS["source"]), verified=c.verification(),
    )
    if org.website and not re.match(r"^https?://[^\s/$.?#].[^\s]*$", org.website):
        c.fail("website", "%(value)r is not a web address: write it whole, starting with https:// "
                           "(https://example.org)", value=org.website)
    links = []
    for voucher in c.items("vetted_by"):
        sub = Checker(Row(row.line, {"id": (c._raw("vetted_by")[0], voucher)}), directory_id)
        target = sub.record_id("id")
        c.problems.extend(sub.problems)
        if target:
            links.append(Link("VETTED_BY", record_id, target, LINK_DEFAULT_VISIBILITY["VETTED_BY"]))
    return (None if c.problems else org), links, c.problems


MAX_REACH = 5_000
"""The places and types one service may reach (`reach`): each is a relationship the store writes and
a question reads. A service covering 1,000 subdivisions for 21 types was 54,000 of them, and a peer's
page of a hundred such ran the store out of memory. Covering every subdivision of a country, with
no purposes, is about 3,000 for the largest; a country or region is one place, however large."""


def reach(svc: Service) -> int:
    """What writing a service adds (`writes.REACH`, `writes.ORIGIN_REACH`): each place it covers, for
    its type and each other type it pays for, and each place defenders come from; a subdivision's
    again inside its country."""
    types = 1 + len({p for p in svc.purposes if p != svc.type})

    def inside(code: str) -> int:
        found = places.place(code)
        return 1 if found is not None and found.kind == "subdivision" else 0

    return (sum(1 + types * (1 + inside(c.place)) for c in svc.coverage)
            + sum(1 + types * inside(code) for code in svc.origins))


def service(row: Row, directory_id: str, vocab: Vocabulary,
            latest_day: str | None = None) -> tuple[Service | None, list[Problem]]:
    c = Checker(row, directory_id, latest_day=latest_day)
    record_id = c.record_id("id")
    row.record = record_id
    coverage = [Coverage(p, Presence.PRESENT) for p in c.place_codes("present_in")]
    present = {cov.place for cov in coverage}
    coverage += [Coverage(p, Presence.REMOTE) for p in c.place_codes("reaches") if p not in present]
    svc = Service(
        id=record_id, organisation=c.record_id("organisation"), name=c.text("name", LIMITS["name"], required=True),
        type=c.term("type", SERVICE_TYPE, vocab), visibility=_visibility(c, Visibility.PUBLIC),
        description=c.text("description", LIMITS["description"]), eligibility=c.text("eligibility", LIMITS["text"]),
        capacity=c.integer("capacity", 0, 1_000_000), capacity_unit=c.text("capacity_unit", 100),
        capacity_confirmed=c.past_day("capacity_confirmed"), response_hours=c.number("response_hours", 0, 24 * 365),
        languages=c.languages("languages"), cost=c.text("cost", LIMITS["text"]),
        status=c.status("status"), status_since=c.past_day("status_since"),
        status_reason=c.text("status_reason", LIMITS["text"]), status_source=c.text("status_source", LIMITS["source"]),
        coverage=sorted(coverage, key=lambda x: (x.place, x.presence.value)), origins=c.place_codes("origins"),
        groups=c.codes("groups", DEFENDER_GROUP, vocab), purposes=c.codes("purposes", SERVICE_TYPE, vocab),
        application_process=c.text("application_process", LIMITS["text"]), intake=c.intake("intake"),
        hours=c.text("hours", _bound(_S["hours"].chars)), windows=c.windows("windows"),
        intake_languages=c.languages("intake_languages"), exclusions=c.text("exclusions", LIMITS["text"]),
        verified=c.verification(),
    )
    if svc.purposes and svc.type and svc.type not in GRANT_TYPES:
        c.fail("purposes", "only a grant pays for other services: a service of type %(type)s has no purposes "
                           "(grant types: %(grants)s)", type=svc.type, grants=", ".join(GRANT_TYPES))
    if (reached := reach(svc)) > MAX_REACH:
        c.fail("present_in", "reaches %(n)s places and types, at most %(most)s: name a country or region rather "
                             "than each of its subdivisions, or fewer purposes", n=reached, most=MAX_REACH)
    return (None if c.problems else svc), c.problems


def _link_properties(c: Checker, link_type: str) -> tuple[str, dict[str, Any]]:
    props: dict[str, Any] = {}
    key = c.text("key", 100)
    confirmed = c.past_day("confirmed")
    if confirmed:
        props["confirmed"] = confirmed
    if link_type == "REFERS_TO":
        props["response_hours"] = c.number("response_hours", 0, 24 * 365)
        props["formal"] = c.boolean("formal")
        props["trust"] = c.number("trust", 0, 1)
    if link_type == "FUNDS":
        props["amount"] = c.number("amount", 0, 1e12, counted=True)
        written = c.text("currency", 100)  # one problem, quoting what was written ("dólares" was two, as "DÓLARES")
        currency = written.upper()
        if currency and currency_code(currency) is None:
            c.fail("currency", "%(value)r is not an ISO 4217 currency code (such as USD, EUR, COP)", value=written)
        elif props["amount"] is not None and not currency:
            c.fail("currency", "is required with an amount")
        props["currency"] = currency or None
        props["year"] = c.integer("year", 1950, 2100)
        props["purpose"] = c.text("purpose", LIMITS["text"]) or None
        key = key or str(props["year"] or "")
    return key, {k: v for k, v in props.items() if v is not None}


def link(row: Row, directory_id: str, latest_day: str | None = None) -> tuple[Link | None, list[Problem]]:
    c = Checker(row, directory_id, latest_day=latest_day)
    link_type = c.text("type", 20, required=True).upper()
    if link_type and link_type not in LINK_TYPES:
        c.fail("type", "%(value)r is not one of %(valid)s", value=link_type, valid=", ".join(LINK_TYPES))
    source, target = c.record_id("source"), c.record_id("target")
    row.record = f"{source} {link_type} {target}"
    if source and source == target:
        c.fail("target", "an organisation cannot link to itself")
    if link_type not in LINK_TYPES:
        return None, c.problems
    vis = _visibility(c, LINK_DEFAULT_VISIBILITY[link_type])
    key, props = _link_properties(c, link_type)
    return (None if c.problems else Link(link_type, source, target, vis, key, props)), c.problems

