"""Which restricted records a read gave to a viewer: gathered by every read through the door
(records, maps, job reads), then written as one audit line per kind (`directory.base.audit`)."""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar

from directory.domain.fields import DECLARED, itemised
from directory.domain.model import Link, Organisation, Service, Visibility, link_id
from directory.domain.viewer import Viewer

RESTRICTED = Visibility.RESTRICTED.value


def record_id(record: Organisation | Service | Link) -> str:
    if isinstance(record, Link):
        return link_id(record.source, record.type, record.target, record.key)
    return record.id


class Shown:
    """Restricted record ids by kind (organisation, service, link), for one read."""

    def __init__(self) -> None:
        self.ids: dict[str, set[str]] = {}

    def add(self, kind: str, ids: Iterable[str]) -> None:
        self.ids.setdefault(kind, set()).update(ids)

    def merge(self, other: Shown) -> None:
        for kind, ids in other.ids.items():
            self.add(kind, ids)

    def records(self, kind: str, records: Iterable[Organisation | Service | Link]) -> None:
        """Note the restricted records given, and those giving a restricted item (an intake channel)."""
        self.add(kind, [record_id(r) for r in records if r.visibility is Visibility.RESTRICTED or _restricted_item(r)])


def _restricted_item(record: Organisation | Service | Link) -> bool:
    """The record as given holds an item restricted on its own (`fields.Field.itemised`)."""
    names = itemised(DECLARED[type(record)]) if type(record) in DECLARED else ()
    return any(item.visibility is Visibility.RESTRICTED for name in names for item in getattr(record, name))


ANSWERING: ContextVar[tuple[Viewer, Shown] | None] = ContextVar("answering", default=None)
"""The viewer a job is working out an answer for, and what the reads made for it gave so far
(`Store.answer`). A context variable, so the tasks a job starts for its reads hold it too."""
