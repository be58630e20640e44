"""Need indicators: per-country (or per-subdivision) figures that weight coverage gaps by need.

No package carries a per-country risk indicator for human rights defenders, so users import their
own as HXL CSV: `#country+code`, optionally `#adm1+code`, `#indicator+name`, `#indicator+value`,
`#date+year`, `#meta+source`, optionally `#meta+visibility` (public by default). A higher value
means more need, and values are never negative; a year is this one or before (the latest year
weighs, so a year typed ahead would stand for ever). One row per indicator, place and year;
importing a row again replaces it.
"""

from __future__ import annotations

from datetime import date

from directory.domain import places
from directory.domain.errors import Problem, ValidationFailed
from directory.domain.model import Indicator, Visibility
from directory.domain.validation import Checker, Row

_VISIBILITIES = tuple(v.value for v in Visibility)


def validate(rows: list[Row], source: str) -> list[Indicator]:
    """Every row as an Indicator, or ValidationFailed listing every problem; nothing half-read."""
    out: list[Indicator] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for row in rows:
        c = Checker(row, "")
        name = c.text("name", 100, required=True)
        country_text = c.text("country", 3, required=True)
        country = places.country_code(country_text) if country_text else None
        if country_text and country is None:
            c.fail("country", "%(code)r is not an ISO 3166-1 country code", code=country_text)
        place = country
        sub_text = c.text("subdivision", 10)
        if sub_text:
            sub = places.subdivision_code(sub_text)
            if sub is None or (country and not sub.startswith(f"{country}-")):
                c.fail("subdivision", "%(code)r is not an ISO 3166-2 subdivision of %(country)r", code=sub_text,
                       country=country_text)
            place = sub
        value = c.number("value", 0, 1e15)
        if not c.text("value", 50):
            c.fail("value", "is required")
        year = c.integer("year", 1950, 2100)
        if not c.text("year", 10):
            c.fail("year", "is required")
        elif year is not None and year > date.today().year:  # a typo would win as the latest figure
            c.fail("year", "%(year)s has not begun: a need figure is one measured, of this year or before",
                   year=year)
            year = None
        origin = c.text("source", 500, required=True)
        visibility = c.choice("visibility", _VISIBILITIES, Visibility.PUBLIC.value)
        if c.problems or place is None or value is None or year is None:
            problems += c.problems
            continue
        indicator = Indicator(name, place, year, value, origin, Visibility(visibility))
        if indicator.key in seen:
            problems.append(Problem.of(row.line, "row", "repeats %(name)r for %(place)s in %(year)s (first on line "
                                                        "%(first)s)", name=name, place=place, year=year,
                                       first=seen[indicator.key]))
            continue
        seen[indicator.key] = row.line
        out.append(indicator)
    if problems:
        raise ValidationFailed(source, problems)
    return out
