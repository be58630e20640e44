"""What reading a file gives, before any of it is checked against the store or written."""

from __future__ import annotations

from dataclasses import dataclass, field

from directory.domain.model import Link, Organisation, Service
from directory.domain.validation import Row


@dataclass
class Parsed:
    """Rows of one input, already read from their file format."""

    source: str
    kind: str  # organisations | services | links
    rows: list[Row]


@dataclass
class Batch:
    organisations: list[Organisation] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
