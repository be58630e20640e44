"""Each job's question, declared once: its options, their one spelling, and how text becomes a value.

An option's name is the GraphQL argument (`serviceType`, `maxHops`, `from`); the map pages and the
web pages take the same name as a filter, and the CLI the same words as a flag (`--service-type`,
`--max-hops`, `--from`). GraphQL's typed arguments build the question types directly; every other
channel hands `ask` the text it received. A test holds the four channels to this declaration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from directory.domain.errors import BadArgument
from directory.domain.ids import record_id_of
from directory.jobs.gaps import GapQuestion
from directory.jobs.partners import PartnerQuestion
from directory.jobs.paths import PathOrder
from directory.jobs.referrals import Question

# the commas people type between the items of a list: an Arabic keyboard's "،", a Chinese or
# Japanese one's full-width comma and "、" (an Arabic walk typed "بيرو، CO، CO-ANT", as the form's own hint wrote it)
_SEPARATORS = re.compile("[,\u060c\uff0c\u3001]")


def listed(text: str) -> list[str]:
    """The items of a list typed in one text, each trimmed, empty ones left out."""
    return [item.strip() for item in _SEPARATORS.split(text) if item.strip()]


@dataclass(frozen=True)
class Option:
    name: str  # the one spelling
    field: str  # the question's attribute
    kind: str  # text | texts | code | codes | int | float | order | organisation
    help: str
    required: bool = False

    @property
    def flag(self) -> str:
        """The CLI's spelling of the same words."""
        return "--" + re.sub(r"(?<!^)([A-Z])", r"-\1", self.name).lower()

    def read(self, value: str | Sequence[str]) -> Any:
        """A value as text (a list as several texts or one comma-separated text), or BadArgument."""
        texts = [value] if isinstance(value, str) else list(value)
        if self.kind in ("texts", "codes"):
            found = [t for text in texts for t in listed(text)]
            return found or None  # codes as typed: a refusal quotes them so (places read them in any case)
        if len(texts) != 1:
            raise BadArgument(self.name, "takes one value")
        text = texts[0].strip()
        try:
            if self.kind == "int":
                return int(text)
            if self.kind == "float":
                return float(text)
        except ValueError:
            if self.kind == "int":
                raise BadArgument(self.name, "%(value)r is not a whole number", value=text) from None
            raise BadArgument(self.name, "%(value)r is not a number", value=text) from None
        if self.kind == "order":
            return PathOrder.named(text, self.name)
        if self.kind == "organisation":
            return record_id_of(text, "Organisation")
        if self.kind == "code":  # a place code: the job checks it, in the one spelling
            return text.upper()
        return text


@dataclass(frozen=True)
class Asking:
    """One job's question type and its options."""

    job: str
    makes: type
    options: tuple[Option, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.options)

    def ask(self, args: Mapping[str, str | Sequence[str]]) -> Any:
        """The question from text values by option name; unknown names and bad values are a
        BadArgument naming them, never a guess. Empty values count as not given."""
        known = {o.name: o for o in self.options}
        for name in args:
            if name not in known:
                raise BadArgument(name, "is not an option of %(job)s; it takes %(options)s", job=self.job,
                                  options=", ".join(known))
        values = {}
        for option in self.options:
            given = args.get(option.name)
            if given is None or given == "" or (not isinstance(given, str) and not any(given)):
                if option.required:
                    raise BadArgument(option.name, "is required")
                continue
            values[option.field] = option.read(given)
        return self.makes(**values)


SERVICE_TYPE = "a service type code, e.g. legal-aid"
GROUP = "a defender group code the provider must serve"

REFERRALS = Asking("referral paths", Question, (
    Option("from", "source", "organisation", "where the chains start (default: the asker's organisation)"),
    Option("serviceType", "service_type", "text", SERVICE_TYPE, required=True),
    Option("country", "country", "code", "ISO 3166-1 country or ISO 3166-2 subdivision code", required=True),
    Option("group", "group", "text", GROUP),
    Option("language", "language", "text", "a language code the provider must speak"),
    Option("k", "k", "int", "how many chains (default 3)"),
    Option("maxHops", "max_hops", "int", "the longest chain, in referrals (default 4)"),
    Option("order", "order", "order", "which counts first: " + ", ".join(o.name for o in PathOrder)
           + " (default FEWEST_HOPS)"),
))
GAPS = Asking("coverage gaps", GapQuestion, (
    Option("codes", "codes", "codes", "country or subdivision codes (default: every country)"),
    Option("country", "country", "code", "this country's subdivisions"),
    Option("region", "region", "text", "the countries of a UN M49 area: region:Africa, subregion:Western Asia, 419"),
    Option("serviceTypes", "service_types", "texts", "service type codes (default: all)"),
    Option("group", "group", "text", GROUP),
    Option("indicators", "indicators", "texts", "need indicators to weigh by (default: all)"),
    Option("donor", "donor", "organisation", "a donor whose funding is set against the gaps"),
))
PARTNERS = Asking("partners", PartnerQuestion, (
    Option("organisation", "organisation", "organisation", "the organisation looking for partners "
           "(default: the asker's; without one, the country and service types are required)"),
    Option("serviceTypes", "service_types", "texts", "service type codes it asks for (default: all it lacks)"),
    Option("country", "country", "code", "where partners must reach (default: the organisation's country)"),
    Option("radiusKm", "radius_km", "float", "instead of a country: within this distance of its published point"),
    Option("first", "first", "int", "how many (default 10)"),
    Option("language", "language", "text", "a language code the partner must speak"),
    Option("group", "group", "text", "a defender group code the partner must serve"),
))
QUESTIONS = {"referralPaths": REFERRALS, "coverageGaps": GAPS, "findPartners": PARTNERS}  # by GraphQL field
ORGANISATION_OPTIONS = frozenset(o.name for a in QUESTIONS.values() for o in a.options if o.kind == "organisation")
