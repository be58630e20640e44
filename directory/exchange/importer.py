"""Imports: validate every row, check every reference, then write.

A file with any invalid row changes nothing. The error lists every bad row of every file with its
line, column and reason. Records are upserted by id, so importing the same file twice leaves the
directory as the first import did (same revisions, same timestamps).

Up to `one_transaction(store)` rows, an import is one transaction. Validation (CPU-bound Python) runs in a
worker thread while the transaction writes the chunks already validated (the graph server works
on the other core). References to organisations that are not in the files are checked at the end
*inside the same transaction*, so no concurrent delete slips between check and write; any problem
raises inside the transaction function and the driver rolls everything back.

A larger import would need the whole transaction in the store's memory (100k organisations with
their services and links took 6 GB of ArcadeDB heap; a fresh store's default 512 MB took 29,947 rows
in one and ran out at 38,641). So it is staged: everything is validated
first (a problem still means nothing is written), then written in transactions of `STAGE_ROWS`
(or fewer, as the store's heap allows, and fewer again where their words would give the
full-text indexes more than `TRANSACTION_TERMS` in one: an import one transaction would hold
is then staged too) records under an `ImportRun` marker. If the machine fails half-way, `directory status` names the
unfinished import, and running the same import again completes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from directory.base.bulk import paused_gc
from directory.base.clock import now
from directory.base.progress import QUIET, Progress
from directory.domain import validation
from directory.domain.errors import BadArgument, Problem, StoreError, StoreUnavailable, ValidationFailed
from directory.domain.model import Link, Organisation, Service, Visibility
from directory.domain.taxonomy import SHELTERING_TYPES
from directory.domain.validation import Row, Vocabulary
from directory.domain.viewer import STEWARD, Viewer
from directory.exchange.left_out import keep_what_files_leave_out
from directory.formats import hsds, hxl, iati, indicators
from directory.formats.parsed import Batch, Parsed
from directory.store import (
    TRANSACTION_TERMS,
    FinerPlace,
    Prepared,
    Store,
    Transaction,
    WriteCounts,
    index_terms,
    prepare,
    shelter_problems,
)

# a file's rows in, records out
__all__ = ["ATOMIC_ROWS", "Batch", "Parsed", "import_iati", "import_inputs", "one_transaction", "read_csv",
           "read_files", "run", "validate"]

CHUNK = 2000
ATOMIC_ROWS = 100_000  # at most, on any store
# Rows the embedded store's heap holds in one transaction, per MB beyond what it needs for itself: a
# fresh 512m store took about 120 new rows a MB beyond its first 256 MB, but rows changing records it
# holds take more (15,109 such rows, at 60 a MB, ran a 512m store out of memory): a fifth of it.
ROWS_PER_MB, HEAP_OWN_MB = 25, 256


def one_transaction(store: Store) -> int:
    """The most rows one import's transaction may hold on this store: the embedded one holds a
    transaction in its heap, so it takes as many as its heap allows; Neo4j, `ATOMIC_ROWS`."""
    if store.embedded is None:
        return ATOMIC_ROWS
    return max(1000, min(ATOMIC_ROWS, (store.embedded.heap_megabytes - HEAP_OWN_MB) * ROWS_PER_MB))
STAGE_ROWS = 20_000
log = logging.getLogger("directory.import")
ORDER = {"organisations": 0, "services": 1, "links": 2}


@dataclass
class _Reference:
    """A reference to an organisation that is not in the files: checked against the store at the end."""

    target: str
    source: str
    line: int
    column: str
    record: str


@dataclass
class _Outcome:
    problems: list[Problem] = field(default_factory=list)
    references: list[_Reference] = field(default_factory=list)




class _Validator:
    """Validates inputs in order (organisations first) and yields chunks of valid records."""

    def __init__(self, inputs: list[Parsed], directory_id: str, vocab: Vocabulary, progress: Progress) -> None:
        self.inputs = sorted(inputs, key=lambda p: ORDER.get(p.kind, len(ORDER)))
        self.directory_id = directory_id
        self.vocab = vocab
        self.latest_day = validation.local_latest_day()  # an import is this directory's own write
        self.progress = progress
        # a file's own problems (a column, a row too long) come first; its other rows are still checked
        self.outcome = _Outcome([replace(p, source=p.source or i.source) for i in self.inputs for p in i.problems])
        self.seen: dict[tuple[str, str], tuple[str, int]] = {}
        self.organisations: set[str] = set()

    def _note(self, source: str, found: list[Problem]) -> None:
        self.outcome.problems.extend(replace(p, source=source) for p in found)

    def _once(self, kind: str, key: str, source: str, row: Row, column: str) -> bool:
        if (kind, key) in self.seen:
            first = self.seen[(kind, key)]
            self._note(source, [Problem.of(row.line, row.column(column), "%(id)r appears twice; first at %(file)s "
                                           "line %(line)s", key, id=key, file=first[0], line=first[1])])
            return False
        self.seen[(kind, key)] = (source, row.line)
        return True

    def placed(self, finer: list[FinerPlace]) -> list[Problem]:
        """Shelters' services recording places that tell more than their shelters publish, as problems
        of the lines that wrote them: the service's, or the shelter's when its change exposed it."""
        if not finer:
            return []
        rows = {(p.source, r.line): r for p in self.inputs for r in p.rows}  # columns as each file names them
        out = []
        for f, problem in shelter_problems(finer):
            source, line = self.seen.get(("org", f.organisation) if f.by_provider else ("service", f.service), ("", 0))
            row = rows.get((source, line))
            out.append(replace(problem, line=line, source=source,
                               column=row.column(problem.column) if row else problem.column))
        return out

    def _refer(self, target: str, source: str, row: Row, field_name: str) -> None:
        if target not in self.organisations:
            self.outcome.references.append(_Reference(target, source, row.line, row.column(field_name), row.record))

    def _still_checked(self, kind: str, source: str, row: Row) -> None:
        """A row refused for one of its fields is still checked against the others, so one pass names
        every problem (an operator's walk fixed 23, then met 4 more): its id once in the import (an
        organisation's counted as there, so what names it is not also refused), and the
        organisations it names."""
        if kind == "organisations" and row.record and self._once("org", row.record, source, row, "id"):
            self.organisations.add(row.record)
        elif kind == "services" and row.record:
            self._once("service", row.record, source, row, "id")
        reread = validation.Checker(row, self.directory_id)  # its own problems were said with the row's
        for name in {"services": ("organisation",), "links": ("source", "target")}.get(kind, ()):
            if target := reread.record_id(name, required=False):
                self._refer(target, source, row, name)

    def chunks(self) -> Iterator[tuple[str, list[Any], int]]:
        """(kind, valid records, how many rows they came from)."""
        for parsed in self.inputs:
            pending: list[Any] = []
            rows = 0
            for n, row in enumerate(parsed.rows, 1):
                pending.extend(self._validate(parsed, row))
                rows += 1
                if len(pending) >= CHUNK:
                    yield parsed.kind, pending, rows
                    pending, rows = [], 0
                if n % 20000 == 0:
                    self.progress.count(f"{parsed.source}: validated", n, "rows", len(parsed.rows))
            if pending:
                yield parsed.kind, pending, rows

    def _validate(self, parsed: Parsed, row: Row) -> list[Any]:
        source = parsed.source
        if parsed.kind == "organisations":
            org, vetted, found = validation.organisation(row, self.directory_id, self.vocab, self.latest_day)
            self._note(source, found)
            if org is None:
                self._still_checked(parsed.kind, source, row)
                return []
            if not self._once("org", org.id, source, row, "id"):
                return []
            self.organisations.add(org.id)
            for link in vetted:  # vouchers may come later in the same file: checked at the end
                self.outcome.references.append(_Reference(link.target, source, row.line,
                                                          row.column("vetted_by"), org.id))
            return [org, *vetted]
        if parsed.kind == "services":
            svc, found = validation.service(row, self.directory_id, self.vocab, self.latest_day)
            self._note(source, found)
            if svc is None:
                self._still_checked(parsed.kind, source, row)
                return []
            if not self._once("service", svc.id, source, row, "id"):
                return []
            self._refer(svc.organisation, source, row, "organisation")
            return [svc]
        found_link, found = validation.link(row, self.directory_id, self.latest_day)
        self._note(source, found)
        if found_link is None:
            self._still_checked(parsed.kind, source, row)
            return []
        if not self._once(
                "link", f"{found_link.type} {found_link.source} {found_link.target} {found_link.key}", source,
                row, "type"):
            return []
        self._refer(found_link.source, source, row, "source")
        self._refer(found_link.target, source, row, "target")
        return [found_link]


def _split(records: list[Any]) -> tuple[list[Organisation], list[Service], list[Link]]:
    orgs = [r for r in records if isinstance(r, Organisation)]
    services = [r for r in records if isinstance(r, Service)]
    links = [r for r in records if isinstance(r, Link)]
    return orgs, services, links


async def run(store: Store, inputs: list[Parsed], progress: Progress = QUIET,
              atomic_rows: int | None = None, viewer: Viewer = STEWARD) -> WriteCounts:
    """Validate and write `inputs`; ValidationFailed lists every problem and nothing is written.
    Up to `atomic_rows` rows (by default as many as `one_transaction` says), in one transaction; more, staged."""
    most = one_transaction(store) if atomic_rows is None else atomic_rows
    async with store.importing(lambda: progress("another import, or a publish of the feeds, is writing to this "
                                                "data folder: waiting for it")):
        with paused_gc():
            if await keep_what_files_leave_out(store, viewer, inputs):
                progress("columns a file does not have keep what the directory holds for the records it names")
            counts = None
            if sum(len(p.rows) for p in inputs) <= most:
                try:
                    counts = await _run_atomic(store, inputs, progress, viewer)
                except _TooManyTerms:  # nothing of it committed: written in parts instead
                    progress("its words are too many for the search indexes in one transaction: writing it in parts")
            if counts is None:
                counts = await _run_staged(store, inputs, progress, viewer)
    return counts  # each transaction noted its restricted records as changed by `viewer` (`Store.transaction`)


class _TooManyTerms(Exception):
    """An import that one transaction would hold, but for the terms its words give the full-text
    indexes (`TRANSACTION_TERMS`): rolled back, then staged."""


def _within_terms(directory_id: str, records: list[Any]) -> list[Prepared]:
    """A part's records as rows, in as many transactions as keep each within `TRANSACTION_TERMS`: a
    part of a thousand organisations named in ideographs would give the indexes millions of terms
    (a peer's page of ninety ran the embedded store out of memory)."""
    rows = prepare(directory_id, *_split(records))
    if len(records) == 1 or index_terms(rows) <= TRANSACTION_TERMS:
        return [rows]
    half = len(records) // 2
    return _within_terms(directory_id, records[:half]) + _within_terms(directory_id, records[half:])


async def _run_staged(store: Store, inputs: list[Parsed], progress: Progress, viewer: Viewer) -> WriteCounts:
    batch = await validate(store, inputs, progress)
    # the files by where they are, so running the same import from another folder, or by another
    # path to them, finishes what the first left (a crash read: the marker stayed, paths compared as typed)
    # a provider of a public safe house is a shelter from the part that writes it on, not only once
    # the part writing its safe house commits (`shelters.refresh`); kept on the run's marker, so a
    # process opening the store meanwhile, or after this one died, holds it too (a crash read)
    sheltering = {s.organisation for s in batch.services
                  if s.type in SHELTERING_TYPES and s.visibility is Visibility.PUBLIC}
    run_id = await store.begin_import([_where(p.source) for p in inputs], sheltering)
    counts = WriteCounts()
    part = min(STAGE_ROWS, one_transaction(store))
    parts = [(kind, records[i:i + part], min(i + part, len(records)), len(records))
             for kind, records in (("organisations", batch.organisations), ("services", batch.services),
                                   ("links", batch.links))
             for i in range(0, len(records), part)]

    def prepare_part(n: int) -> Awaitable[list[Prepared]]:
        return asyncio.ensure_future(asyncio.to_thread(_within_terms, store.directory_id, parts[n][1]))

    upcoming = prepare_part(0) if parts else None
    coming = {s.id for s in batch.services}
    written = 0  # parts committed
    try:
        for n, (kind, _, done, total) in enumerate(parts):
            assert upcoming is not None
            prepared = await upcoming
            upcoming = prepare_part(n + 1) if n + 1 < len(parts) else None  # built while this part is written
            for rows in prepared:
                # each part stamped as it is written, not when the import began: what a part changed is
                # then never much older than its commit, for readers of what changed since (`publish`)
                async def work(tx: Transaction, rows: Prepared = rows, stamp: str = now()) -> WriteCounts:
                    return await tx.write_prepared(rows, stamp)

                # a shelter made coarser in one part, its services in a later one (checked whole by `validate`)
                counts += await store.transaction(work, viewer, coming=coming, sheltering=sheltering)
                written += 1
            progress.count("wrote", done, kind, total)
    except BaseException as failed:
        if written == 0:  # nothing of it committed: nothing to finish by running it again
            await _quietly(store.finish_import(run_id))
        # a later part that never came leaves a shelter coarser than its stored services: held now,
        # not at the next start (a process killed here, or a store that fails again, is held then)
        try:
            await store.hold_shelters()
        except Exception as exc:  # most often the store that failed the import: its error follows, once
            log.error("holding shelters' services after a failed staged import failed (%s: %s); held at the next "
                      "start", type(exc).__name__, exc)
        if written and type(failed) in (StoreError, StoreUnavailable):  # "it was not made" is of one part
            raise type(failed)(f"{failed}; but {written} of this import's {len(parts)} parts were written before "
                               "it (`directory status` names the import): running the same import again "
                               "completes it") from failed
        if written and isinstance(failed, Exception):  # a full disk, say: its own words follow (a crash read)
            progress(f"{written} of this import's {len(parts)} parts were written before it failed (`directory "
                     "status` names the import): running the same import again, once the cause is mended, "
                     "completes it")
        raise
    await store.finish_import(run_id)
    return counts


def _where(source: str) -> str:
    """A file's absolute path, for a file there is; any other source's name as it is given."""
    path = Path(source)
    return str(path.resolve()) if path.is_file() else source


async def _quietly(step: Awaitable[None]) -> None:
    """A step of cleaning up after a failure, which must not hide that failure."""
    try:
        await step
    except Exception as exc:  # most often the store that failed the import: its error follows
        log.error("cleaning up after a failed import failed (%s: %s)", type(exc).__name__, exc)


async def _run_atomic(store: Store, inputs: list[Parsed], progress: Progress, viewer: Viewer) -> WriteCounts:
    vocab = await store.vocabulary()
    validator = _Validator(inputs, store.directory_id, vocab, progress)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any, int]] = asyncio.Queue()
    total = sum(len(p.rows) for p in inputs)

    def produce() -> None:
        try:
            for chunk in validator.chunks():
                loop.call_soon_threadsafe(queue.put_nowait, chunk)
            loop.call_soon_threadsafe(queue.put_nowait, ("done", None, 0))
        except BaseException as exc:  # handed to the writer, which raises it
            loop.call_soon_threadsafe(queue.put_nowait, ("error", exc, 0))

    consumed: list[tuple[str, Any, int]] = []  # replayed if the driver retries the transaction
    stamp = now()

    async def chunks() -> Any:
        for item in consumed:
            yield item
        while not consumed or consumed[-1][0] not in ("done", "error"):
            item = await queue.get()
            consumed.append(item)
            yield item

    async def work(tx: Transaction) -> WriteCounts:
        counts = WriteCounts()
        sent = 0
        organisations: list[Organisation] = []
        services: list[Service] = []
        async for kind, records, rows in chunks():
            if kind == "error":
                raise records
            if kind == "done":
                break
            orgs, svcs, links = _split(records)
            organisations += orgs
            services += svcs
            if not validator.outcome.problems:  # once something is wrong, only keep validating
                prepared = prepare(store.directory_id, orgs, svcs, links)
                if tx.terms + index_terms(prepared) > TRANSACTION_TERMS:  # counted before the store holds them
                    raise _TooManyTerms()
                counts += await tx.write_prepared(prepared, stamp)
                sent += rows
                progress.count("sent", sent, "rows", total, note="to the store (one transaction, committed at the end)")
        # shelters' places checked as a check checks them (`validate`), the records a problem stopped
        # from being written included; what only the writes could show, once none is found
        placed = validator.placed(await store.finer_before(organisations, services))
        if not placed and not validator.outcome.problems:
            placed = validator.placed(await tx.finer_places())
        await _check(store, validator, inputs, tx, placed)
        return counts

    producer = loop.run_in_executor(None, produce)
    try:
        counts = await store.transaction(work, viewer)
    finally:
        await producer
    progress(f"wrote {counts.organisations} organisations, {counts.services} services and {counts.links} links "
             "in one transaction")
    return counts


async def _check(store: Store, validator: _Validator, inputs: list[Parsed], tx: Transaction | None = None,
                 placed: list[Problem] | None = None) -> None:
    """Raise ValidationFailed with every problem: the rows', shelters' places (`placed`) and
    references to missing organisations. A check and an import list the same ones."""
    references = validator.outcome.references
    # this import's own organisations are there whether or not they are written yet (a check, a
    # staged import, a voucher later in the file)
    wanted = sorted({ref.target for ref in references} - validator.organisations)
    existing = (await (tx or store).existing_organisations(wanted)) if wanted else set()
    problems = validator.outcome.problems + (placed or []) + [
        replace(Problem.of(ref.line, ref.column, "no organisation %(id)r in this import or the directory",
                           ref.record, id=ref.target), source=ref.source)
        for ref in references if ref.target not in existing and ref.target not in validator.organisations]
    if problems:
        kinds = {p.source: ORDER.get(p.kind, len(ORDER)) for p in inputs}
        problems.sort(key=lambda p: (kinds.get(p.source, 3), p.source, p.line))
        raise ValidationFailed(", ".join(sorted({p.source for p in problems})), problems)


async def validate(store: Store, inputs: list[Parsed], progress: Progress = QUIET) -> Batch:
    """Every record of every input, checked but not written (`directory import --check`)."""
    validator = _Validator(inputs, store.directory_id, await store.vocabulary(), progress)
    batch = Batch()
    for _, records, _rows in validator.chunks():
        orgs, services, links = _split(records)
        batch.organisations += orgs
        batch.services += services
        batch.links += links
    # a staged import writes in parts: a shelter's services are checked against it before the first
    finer = await store.finer_before(batch.organisations, batch.services)
    await _check(store, validator, inputs, placed=validator.placed(finer))
    return batch


def read_files(file_format: str, files: list[str], kind: str | None = None, default_kind: str | None = None,
               progress: Progress = QUIET) -> list[Parsed]:
    """The rows of CSV (HXL) files, or of an HSDS 3.0 folder (`files[0]`), not yet checked."""
    if file_format == "hsds":
        folder = Path(files[0])
        organisations = folder / "organizations.json"
        orgs, ids = hsds.parse_organisations(organisations.read_bytes(), str(organisations), default_kind)
        inputs = [orgs]
        services = folder / "services.json"
        if services.exists():
            try:
                inputs.append(hsds.parse_services(services.read_bytes(), str(services), ids))
            except ValidationFailed as failed:  # listed with the organisations' problems, as a CSV file's are
                inputs.append(Parsed(str(services), "services", [], failed.problems))
        else:  # said: a folder copied without it would otherwise import as a directory without services
            progress(f"{services}: not found: organisations only, no services")
        return inputs
    inputs = []
    for name in files:
        inputs.append(read_csv(name, Path(name).read_bytes(), kind))
        read = inputs[-1]  # a file that could not be read said "0 unreadable rows" (an operator's walk)
        progress(f"{name}: {len(read.rows)} {read.kind} rows" if read.kind else f"{name}: could not be read (why is "
                 "listed with the other problems)")
    return inputs


def read_csv(name: str, data: bytes, kind: str | None = None) -> Parsed:
    """One CSV (HXL) file's rows, not yet checked, with the file's own problems (`hxl.parse`): listed
    with every other file's; `name` is how its problems will name it."""
    return hxl.parse(data, name, kind)


async def import_inputs(store: Store, inputs: list[Parsed], check: bool = False,
                        progress: Progress = QUIET, viewer: Viewer = STEWARD) -> WriteCounts | int:
    """Records (counts of what changed), or need indicators on their own (how many rows); with
    `check`, validated and counted only, nothing written."""
    if any(p.kind == "indicators" for p in inputs):
        if any(p.kind not in ("indicators", "") for p in inputs):
            raise BadArgument("files", "an import takes indicator files on their own, not with other kinds")
        found, problems = [], [q for p in inputs for q in p.problems]
        for p in inputs:  # every file's problems, not the first one's
            try:
                found += indicators.validate(p.rows, p.source)
            except ValidationFailed as failed:
                problems += failed.problems
        if problems:
            raise ValidationFailed(", ".join(dict.fromkeys(p.source for p in inputs)), problems)
        if not check:
            await store.write_indicators(found, viewer)
        return len(found)
    if check:
        if await keep_what_files_leave_out(store, viewer, inputs):
            progress("columns a file does not have keep what the directory holds for the records it names")
        batch = await validate(store, inputs, progress)
        return WriteCounts(len(batch.organisations), len(batch.services), len(batch.links))
    return await run(store, inputs, progress, viewer=viewer)


async def import_iati(store: Store, files: list[str], public_from: set[str],
                      check: bool = False) -> tuple[int, iati.Outcome]:
    """Funding from IATI activity files (how many transactions they hold, and what matched): every
    matched transaction in one write, or none."""
    transactions = [t for name in files for t in iati.parse(Path(name).read_bytes(), name)]
    outcome = iati.to_links(transactions, await store.identifier_index(), public_from)
    if not check and outcome.links:
        await store.upsert([], [], outcome.links)
    return len(transactions), outcome
