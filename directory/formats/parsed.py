"""What reading a file gives, before any of it is checked against the store or written."""

from __future__ import annotations

from dataclasses import dataclass, field

from directory.domain.errors import Problem
from directory.domain.model import Link, Organisation, Service
from directory.domain.validation import Row


@dataclass
class Parsed:
    """Rows of one input, already read from their file format, and the problems of the input itself
    (an unknown column, a row too long): an import lists them with every row's and writes nothing."""

    source: str
    kind: str  # organisations | services | links | indicators; empty when the file did not say
    rows: list[Row]
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Batch:
    organisations: list[Organisation] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
