"""Which restricted records a read gave to a viewer: gathered by every read through the door
(records, maps, job reads), then written as one audit line per kind (`directory.base.audit`)."""

from __future__ import annotations

from collections.abc import Iterable

from directory.domain.model import Link, Organisation, Service, Visibility, link_id

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

    def records(self, kind: str, records: Iterable[Organisation | Service | Link]) -> None:
        self.add(kind, [record_id(r) for r in records if r.visibility is Visibility.RESTRICTED])
