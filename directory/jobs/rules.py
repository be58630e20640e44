"""Thresholds the three jobs share, in one place so the README can quote them and tests can use them."""

from __future__ import annotations

from datetime import UTC, date, datetime

STALE_AFTER_DAYS = 365
"""A record not confirmed (written) for this long is stale."""

CAPACITY_VALID_DAYS = 90
"""Capacity is live information: a figure confirmed longer ago than this has expired."""

UNKNOWN_RESPONSE_HOURS = 72.0
"""The response time assumed where none is recorded: pessimistic, so unknown is never best."""

UNKNOWN_TRUST = 0.5
"""The trust assumed for a referral link that records none."""


def today() -> date:
    return datetime.now(UTC).date()


def day_of(stamp: str | None) -> date | None:
    """The day of an ISO date or timestamp as the store keeps them; None if absent or unreadable."""
    if not stamp:
        return None
    try:
        return date.fromisoformat(stamp[:10])
    except ValueError:
        return None


def age_days(stamp: str | None, on: date) -> int | None:
    day = day_of(stamp)
    return None if day is None else (on - day).days


def is_stale(stamp: str | None, on: date) -> bool:
    age = age_days(stamp, on)
    return age is None or age > STALE_AFTER_DAYS


def capacity_current(confirmed: str | None, on: date) -> bool:
    """Whether a capacity figure still counts: confirmed, and not longer ago than CAPACITY_VALID_DAYS."""
    age = age_days(confirmed, on)
    return age is not None and age <= CAPACITY_VALID_DAYS


def confirmed_full(capacity: int | None, confirmed: str | None, on: date) -> bool:
    """A service that confirmed, within CAPACITY_VALID_DAYS, that it has no capacity left: it cannot
    take a referral, so no job counts it as able to act (referral paths and partners leave it out,
    the gap matrix adds nothing for it, `gap_cells`). `capacity` is None for a viewer who may not
    see it: the public's answers never depend on a figure kept from them."""
    return capacity == 0 and capacity_current(confirmed, on)
