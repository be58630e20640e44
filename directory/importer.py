"""Imports: validate everything, check every reference, then write it all in one transaction.

A file with any invalid row changes nothing. The error lists every bad row of every file with its
line, column and reason. Records are upserted by id, so importing the same file twice leaves the
directory as the first import did (same revisions, same timestamps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from directory import validation
from directory.errors import Problem, ValidationFailed
from directory.model import Link, Organisation, Service
from directory.store.records import Store, WriteCounts
from directory.validation import Row

Progress = Callable[[str], None]


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


def _quiet(_: str) -> None:
    return None


async def validate(store: Store, inputs: list[Parsed], progress: Progress = _quiet) -> Batch:
    """Every record of every input, or ValidationFailed listing every problem."""
    vocab = await store.vocabulary()
    batch = Batch()
    problems: list[Problem] = []
    seen: dict[tuple[str, str], tuple[str, int]] = {}
    where: dict[int, tuple[str, Row]] = {}

    def note(source: str, found: list[Problem]) -> None:
        problems.extend(replace(p, source=source) for p in found)

    def once(kind: str, source: str, row: Row) -> bool:
        key = (kind, row.record)
        if row.record and key in seen:
            first = seen[key]
            note(source, [Problem(row.line, "id", f"{row.record!r} appears twice; first at {first[0]} line {first[1]}",
                                  row.record)])
            return False
        seen[key] = (source, row.line)
        return True

    for parsed in inputs:
        for n, row in enumerate(parsed.rows, 1):
            if parsed.kind == "organisations":
                org, vetted, found = validation.organisation(row, store.directory_id, vocab)
                note(parsed.source, found)
                if org and once("org", parsed.source, row):
                    batch.organisations.append(org)
                    for link in vetted:
                        where[id(link)] = (parsed.source, row)
                    batch.links.extend(vetted)
            elif parsed.kind == "services":
                svc, found = validation.service(row, store.directory_id, vocab)
                note(parsed.source, found)
                if svc and once("service", parsed.source, row):
                    where[id(svc)] = (parsed.source, row)
                    batch.services.append(svc)
            else:
                link, found = validation.link(row, store.directory_id)
                note(parsed.source, found)
                if link and once("link", parsed.source, Row(row.line, {}, f"{link.type} {link.source} {link.target} "
                                                                         f"{link.key}")):
                    where[id(link)] = (parsed.source, row)
                    batch.links.append(link)
            if n % 10000 == 0:
                progress(f"{parsed.source}: validated {n} of {len(parsed.rows)} rows")

    # References must point at organisations in this import or already in the store.
    wanted = {s.organisation for s in batch.services} | {x for lk in batch.links for x in (lk.source, lk.target)}
    known = {o.id for o in batch.organisations}
    known |= await store.existing_organisations(sorted(wanted - known))
    for svc in batch.services:
        if svc.organisation not in known:
            source, row = where[id(svc)]
            note(source, [Problem(row.line, row.fields.get("organisation", ("organisation",))[0],
                                  f"no organisation {svc.organisation!r} in this import or the directory", svc.id)])
    for link in batch.links:
        for end, name in ((link.source, "source"), (link.target, "target")):
            if end not in known:
                source, row = where[id(link)]
                column = row.fields.get(name, row.fields.get("vetted_by", (name,)))[0]
                note(source, [Problem(row.line, column,
                                      f"no organisation {end!r} in this import or the directory", row.record)])
    if problems:
        raise ValidationFailed(", ".join(sorted({p.source for p in problems})), problems)
    return batch


async def run(store: Store, inputs: list[Parsed], progress: Progress = _quiet) -> WriteCounts:
    batch = await validate(store, inputs, progress)
    progress(f"writing {len(batch.organisations)} organisations, {len(batch.services)} services, "
             f"{len(batch.links)} links in one transaction")
    return await store.upsert(batch.organisations, batch.services, batch.links)
