"""The one clock: timestamps are stored as ISO 8601 UTC text, identical on both servers and
lossless in backups."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> str:
    return store_time(datetime.now(UTC))


def store_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
