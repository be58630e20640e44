"""The one door to the store: every read and write of records, for every channel.

Nothing outside `directory.store` sees a raw node, a driver or a transaction: reads return `model`
records already filtered by visibility, with fields the viewer may not see emptied and locations
published at the precision the viewer may see, and note the restricted records they gave in the
audit log. Sub-objects group the rest by concern: `jobs` (the reads behind gaps, partners and
referral paths), `peers`, `feeds` and `roots` (federation), `backups`, `tokens`. Writes
(`records/writes.py`) are idempotent upserts by id.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from directory.base import budget
from directory.base.audit import AuditLog
from directory.base.clock import now
from directory.domain.errors import BadArgument, Conflict, NotFound, ValidationFailed
from directory.domain.location import held_to
from directory.domain.model import (
    Indicator,
    Link,
    Organisation,
    Service,
    Visibility,
)
from directory.domain.taxonomy import BUILT_IN_KEYS, DEFENDER_GROUP, ORGANISATION_KIND, SERVICE_TYPE, Term, check_code
from directory.domain.validation import Vocabulary, asked_language
from directory.domain.viewer import STEWARD, Viewer
from directory.store.backup import Backups
from directory.store.engine import layout
from directory.store.engine.backends import fulltext_index
from directory.store.engine.embedded import EmbeddedStore
from directory.store.engine.graph import Graph, Tx, make_driver
from directory.store.engine.schema import LABEL_GROUPS, schema_version
from directory.store.federation import Feeds, Peers, Roots, sameas
from directory.store.federation.received import forget_services
from directory.store.jobs import JobReads
from directory.store.records import identifiers, mapping, needs, projection, search, shelter_services, shelters
from directory.store.records.edits import (
    Edit,
    Editor,
    Saved,
    audit_id,
    link_fields,
    service_fields,
)
from directory.store.records.joining import JoinRequests
from directory.store.records.listing import (
    MAX_PAGE,
    Filter,
    Page,
    Sort,
    after_tie,
    count_statement,
    cursor,
    given,
    read_page,
    require_sort,
    source_of,
    statement,
    uncursor,
)
from directory.store.records.projection import Shape
from directory.store.records.reads import (
    ADD_TERM,
    BEGIN_IMPORT,
    EVER_USED,
    EXISTING_ORGANISATIONS,
    FINISH_IMPORT,
    GET_ORGANISATIONS,
    GET_SERVICES,
    LINKS,
    SERVICES_OF,
    SUPERSEDE_IMPORTS,
    TERM,
    TERMS,
    UNFINISHED_IMPORTS,
    link_records,
    organisation_of,
    service_of,
)
from directory.store.records.search import Hit
from directory.store.records.shelter_services import FinerPlace
from directory.store.records.tokens import Tokens
from directory.store.records.writes import (
    Prepared,
    WriteCounts,
    execute,
    index_terms,
    organisation_values,
    prepare,
    shelter_candidates,
)
from directory.store.shown import ANSWERING, Shown

R = TypeVar("R")


@dataclass
class SearchPage:
    hits: list[Hit]
    records: dict[tuple[str, str], Any]  # by (kind, id): records, or what a `Shape` projected
    total: int
    has_next: bool
    cursors: list[str]


def _over_current(edit: Edit, read: Callable[[Tx], Awaitable[R | None]],
                  fields_of: Callable[[R], dict[str, Any]]) -> Edit:
    """An update: its fields are to be laid over the record `read` finds inside the edit's
    transaction, under its lock (`Edit.current`)."""
    async def current(tx: Tx) -> dict[str, Any]:
        found = await read(tx)
        return fields_of(found) if found is not None else {}

    return replace(edit, current=current)


def _search_page(shown: list[Hit], records: dict[tuple[str, str], Any], total: int,
                 has_next: bool) -> SearchPage:
    shown = [h for h in shown if (h.kind, h.id) in records]  # a record hidden or deleted meanwhile
    return SearchPage(hits=shown, records=records, total=total, has_next=has_next,
                      cursors=[search.cursor(h) for h in shown])


class Transaction:
    """What a caller may do inside one write transaction (`Store.transaction`): all of it commits,
    or none. Work may run more than once if the driver retries it. What it wrote is noted in the
    audit log once it commits, so no caller has to remember to."""

    def __init__(self, store: Store, tx: Tx, sheltering: frozenset[str] = frozenset()) -> None:
        self._store = store
        self._tx = tx
        self._sheltering = sheltering  # providers of public safe houses a later part of an import writes
        self.written = WriteCounts()
        self.terms = 0  # what its writes gave the full-text indexes (`index_terms`), held until it commits
        # written since shelters' services were last held to their shelters' places (`finer_places`)
        self._organisations: set[str] = set()
        self._services: dict[str, str] = {}

    async def write(self, organisations: list[Organisation], services: list[Service], links: list[Link],
                    stamp: str) -> WriteCounts:
        return await self.write_prepared(prepare(self._store.directory_id, organisations, services, links), stamp)

    async def write_prepared(self, rows: Prepared, stamp: str) -> WriteCounts:
        """Rows built beforehand (`prepare`), so building the next part overlaps writing this one."""
        counts = await execute(self._store.graph, self._tx, rows, stamp, self._store.shelter_minimum,
                               hold_shelters=False, coming_shelters=self._sheltering)
        shelters, services = shelter_candidates(rows)
        self._organisations |= shelters
        self._services.update(services)
        self.written += counts
        self.terms += index_terms(rows)
        return counts

    async def finer_places(self, coming: Collection[str] = ()) -> list[FinerPlace]:
        """The places this transaction's writes leave a shelter's services recording that tell more
        than the shelter publishes (`shelter_services.finer_places`); `coming`: services a later
        transaction of the same import writes again. Checked once all of it is written, so one import
        may make a shelter coarser and its services with it; the transaction checks again before it
        commits whatever was written after this call."""
        organisations, services = self._organisations, self._services
        self._organisations, self._services = set(), {}
        return await shelter_services.finer_places(self._store.graph, self._tx, organisations, services, coming)

    async def existing_organisations(self, ids: list[str]) -> set[str]:
        """As `Store.existing_organisations`, seeing this transaction's own writes."""
        return await self._store.existing_organisations(ids, self._tx)


class Given:
    """What an answer's reads gave its viewer so far (`Store.answer`): noted at `give`, each read once."""

    def __init__(self, store: Store, viewer: Viewer, outer: tuple[Viewer, Shown] | None) -> None:
        self.store, self.viewer, self.outer = store, viewer, outer
        self.shown = Shown()

    def give(self) -> None:
        taken = Shown()
        taken.ids, self.shown.ids = self.shown.ids, {}
        self.store._note_given(self.viewer, taken, self.outer)


class Store:
    """The directory's records in the graph, for one process."""

    def __init__(self, graph: Graph, directory_id: str, embedded: EmbeddedStore | None = None,
                 audit: AuditLog | None = None, shelter_minimum: int = 3, session_key: bytes | None = None) -> None:
        self.graph = graph
        self.directory_id = directory_id
        self.embedded = embedded
        self.audit = audit
        self.shelter_minimum = shelter_minimum  # see `store.shelters`
        self.tokens = Tokens(graph, session_key)
        self.join_requests = JoinRequests(graph, directory_id)
        self._editor = Editor(graph, directory_id, shelter_minimum)
        self.jobs = JobReads(graph, self.note)
        self.peers = Peers(graph, shelter_minimum, self.note)
        self.feeds = Feeds(graph)
        self.roots = Roots(graph)
        self.backups = Backups(graph, directory_id, shelter_minimum, self.importing)
        self._vocabulary: Vocabulary | None = None

    def importing(self, waiting: Callable[[], None], wait: bool = True) -> AbstractAsyncContextManager[None]:
        """Held while an import writes: on the embedded store, one import at a time on its folder
        (`layout.importing`); Neo4j takes concurrent imports as it takes any concurrent writes."""
        return layout.importing(self.embedded.data, waiting, wait) if self.embedded is not None else nullcontext()

    @property
    def backend(self) -> str:
        return self.graph.backend

    def note(self, viewer: Viewer, shown: Shown, action: str = "read") -> None:
        """Note the restricted records a read gave a viewer in the audit log, one line per kind; for a
        read made inside `answer` for the same viewer, once that answer is given."""
        answering = ANSWERING.get()
        if action == "read" and answering is not None and answering[0] == viewer:
            answering[1].merge(shown)
            return
        if self.audit is not None:
            for kind, ids in sorted(shown.ids.items()):
                self.audit.record(viewer, action, kind, ids)

    @contextmanager
    def answer(self, viewer: Viewer) -> Iterator[Given]:
        """A job's answer worked out for `viewer`: what every read inside gives it (records, the jobs'
        reads, in tasks started inside too) is noted together, one line per kind, when the block ends
        (or sooner, at `Given.give`: a GraphQL answer as it starts going out, so the lines are there
        when the client has it), and not at all when it fails first. A gap matrix reads in parts while
        it folds, partners and referral paths score after reading: a fold, a scoring or the deadline
        failing after a read gives the viewer nothing, and the log must not say it was given those
        records."""
        given = Given(self, viewer, ANSWERING.get())
        token = ANSWERING.set((viewer, given.shown))
        try:
            yield given
        finally:
            ANSWERING.reset(token)
        given.give()

    def _note_given(self, viewer: Viewer, shown: Shown, outer: tuple[Viewer, Shown] | None) -> None:
        """An answer's reads, given: merged into the answer it is part of (the same viewer's), or noted."""
        if outer is not None and outer[0] == viewer:
            outer[1].merge(shown)
        elif self.audit is not None:
            for kind, ids in sorted(shown.ids.items()):
                self.audit.record(viewer, "read", kind, ids)

    def _shown(self, viewer: Viewer, kind: str, records: Iterable[Organisation | Service | Link]) -> None:
        shown = Shown()
        shown.records(kind, records)
        self.note(viewer, shown)

    async def transaction(self, work: Callable[[Transaction], Awaitable[R]], viewer: Viewer = STEWARD,
                          coming: Collection[str] = (), sheltering: Collection[str] = ()) -> R:
        """Run `work` in one write transaction through the door; once it commits, the restricted
        records it changed are noted as changed by `viewer` (imports are run by stewards). Before it
        commits, shelters' services are held to what the shelters publish (`Transaction.finer_places`).
        `coming`, `sheltering`: services, and providers of public safe houses, that a later
        transaction of the same import writes."""
        attempts: list[Transaction] = []

        async def attempt(tx: Tx) -> R:
            # the driver may run it again: the last one committed
            attempts.append(Transaction(self, tx, frozenset(sheltering)))
            result = await work(attempts[-1])
            if finer := await attempts[-1].finer_places(coming):
                raise ValidationFailed("the records written", [p for _, p in shelter_services.problems(finer)])
            return result

        result = await self.graph.write_tx(attempt)
        self.written(viewer, attempts[-1].written)
        return result

    async def approve_join(self, viewer: Viewer, request_id: str, visibility: str | None = None) -> Organisation:
        """List the organisation a waiting join request proposes and mark the request approved: both
        in one transaction, so two stewards approving at once make one record, and a failure makes none."""
        vocab = await self.vocabulary()

        async def work(tx: Transaction) -> Organisation:
            record = await self.join_requests.approve(tx._tx, viewer, request_id, visibility, vocab)
            await tx.write([record], [], [], now())
            return record

        return await self.transaction(work, viewer)

    async def schema_version(self) -> int:
        return await schema_version(self.graph)

    async def identifier_index(self) -> dict[str, str | None]:
        """Registered identifiers (org-id.guide) to the organisation holding each (`records.identifiers`)."""
        return await identifiers.index(self.graph)

    async def write_indicators(self, indicators: list[Indicator], viewer: Viewer = STEWARD) -> int:
        """Need indicators, all in one transaction; those restricted before or after noted in the
        audit log as changed by `viewer`, as a restricted record's change is."""
        restricted = await needs.write(self.graph, indicators)
        if self.audit is not None:
            self.audit.record(viewer, "change", "indicator", restricted)
        return len(indicators)

    async def finer_before(self, organisations: list[Organisation], services: list[Service]) -> list[FinerPlace]:
        """What writing these records would leave a shelter's services recording finer than the
        shelter publishes (`shelter_services.finer_before`), checked before any is written."""
        return await shelter_services.finer_before(self.graph, organisations, services)

    async def hold_shelters(self) -> list[str]:
        """Services written before a shelter's services were held to what it publishes of its place
        (threat model V17, R21), held now: ours written again with each such place's country or region
        (`location.held_to`), a peer's not kept (the peer's to correct, as a new one is not,
        `received`). Run at every start and after a restore; the ids."""
        found = await shelter_services.written_finer(self.graph)
        if not found:
            return []
        ids = sorted(i for i, (publisher, _) in found.items() if publisher == self.directory_id)
        rows = await self.graph.read_plain(GET_SERVICES, ids=ids, **STEWARD.params) if ids else []
        ours = [held_to(service_of(r["s"], STEWARD, r["unplaced"]), found[r["s"]["id"]][1]) for r in rows]
        theirs: dict[str, list[str]] = defaultdict(list)
        for record, (publisher, _) in sorted(found.items()):
            if publisher != self.directory_id:
                theirs[publisher].append(record)

        async def work(tx: Transaction) -> None:
            if ours:  # as a steward's change: a restricted one leaves its audit line
                await tx.write([], ours, [], now())
            for publisher, ids in theirs.items():
                await forget_services(self.graph, tx._tx, publisher, ids, self.shelter_minimum)

        await self.transaction(work)
        return sorted(found)

    async def refresh_shelters(self) -> int:
        """Decide again which shelters share their place with too few others (`records.shelters`)."""
        return await shelters.refresh_now(self.graph, self.shelter_minimum, now())

    async def keep_embedded_alive(self, every: float, said: Callable[[str], None]) -> None:
        """Start the embedded store again whenever it stops, following a folder another process took."""
        embedded = self.embedded
        if embedded is None:
            return
        while True:
            await asyncio.sleep(every)
            uri = embedded.uri
            try:
                if await asyncio.to_thread(embedded.restart_if_dead):
                    said("the embedded store had stopped; it was started again")
                    if embedded.uri != uri:  # another command's store took the folder first: follow it
                        old, self.graph.driver = self.graph.driver, make_driver(embedded.uri, embedded.auth)
                        await old.close()
            except Exception as exc:  # the watch goes on: the next look may find the folder free
                said(f"the embedded store could not be started again: {exc}")

    def _changed(self, viewer: Viewer, kind: str, saved: Saved[Any], action: str = "change") -> None:
        """Note in the audit log a change to a record that was restricted before or after it, or
        that changed who may see it or how precisely its place is published (`edits._noted`):
        who, which record, when; never what changed. A deleted organisation takes its restricted
        services with it: those are noted too."""
        if self.audit is not None:
            self.audit.record(viewer, action, kind, [saved.id] if saved.restricted else [])
            self.audit.record(viewer, action, "service", saved.restricted_services)
            for other in sorted({k for k, _ in saved.moved}):  # shelters it placed for the public, or withheld
                self.audit.record(viewer, "change", other, [i for k, i in saved.moved if k == other])

    # edits: one record at a time, checked against the revision the client read (`edits.py`)

    async def save_organisation(self, viewer: Viewer, edit: Edit, revision: int | None) -> Organisation | None:
        """Create (revision None) or update an organisation; the record as the viewer now sees it.
        An update's fields are laid over the record as it is under the edit's lock."""
        async def read_back(tx: Tx, record_id: str) -> Organisation | None:
            rows = await self.graph.run(tx, GET_ORGANISATIONS, ids=[record_id], **viewer.params)
            return organisation_of(rows[0]["n"], viewer) if rows else None

        if revision is not None:
            record_id = str(edit.fields["id"])
            edit = _over_current(edit, lambda tx: read_back(tx, record_id), organisation_values)
        saved = await self._editor.save_organisation(viewer, edit, await self.vocabulary(), revision, read_back)
        self._changed(viewer, "organisation", saved, "create" if revision is None else "change")
        return saved.record

    async def save_service(self, viewer: Viewer, edit: Edit, revision: int | None) -> Service | None:
        async def read_back(tx: Tx, record_id: str) -> Service | None:
            rows = await self.graph.run(tx, GET_SERVICES, ids=[record_id], **viewer.params)
            return service_of(rows[0]["s"], viewer, rows[0]["unplaced"]) if rows else None

        if revision is not None:
            record_id = str(edit.fields["id"])
            edit = _over_current(edit, lambda tx: read_back(tx, record_id), service_fields)
        saved = await self._editor.save_service(viewer, edit, await self.vocabulary(), revision, read_back)
        self._changed(viewer, "service", saved, "create" if revision is None else "change")
        return saved.record

    async def save_link(self, viewer: Viewer, edit: Edit, revision: int | None) -> Link | None:
        async def read_back(tx: Tx, source: str) -> list[Link]:
            return link_records(await self.graph.run(tx, LINKS["out"], ids=[source], **viewer.params))

        wanted = (edit.fields["type"], edit.fields["target"], edit.fields.get("key") or "")

        async def this_link(tx: Tx) -> Link | None:
            return next((x for x in await read_back(tx, str(edit.fields["source"]))
                         if (x.type, x.target, x.key) == wanted), None)

        if revision is not None:
            edit = _over_current(edit, this_link, link_fields)
        saved = await self._editor.save_link(viewer, edit, revision, read_back)
        self._changed(viewer, "link", saved, "create" if revision is None else "change")
        return next((x for x in saved.record if audit_id(x) == saved.id), None)

    async def delete(self, viewer: Viewer, kind: str, record_id: str, revision: int) -> None:
        """Delete an organisation (with its services) or a service, leaving tombstones."""
        self._changed(viewer, kind, await self._editor.delete(viewer, kind, record_id, revision), "delete")

    async def delete_link(self, viewer: Viewer, link: Link, revision: int) -> None:
        self._changed(viewer, "link", await self._editor.delete_link(viewer, link, revision), "delete")

    # writes

    async def upsert(self, organisations: list[Organisation], services: list[Service],
                     links: list[Link]) -> WriteCounts:
        """Write validated records in one transaction: all of them, or none."""
        stamp = now()
        return await self.transaction(lambda tx: tx.write(organisations, services, links, stamp))

    def written(self, viewer: Viewer, counts: WriteCounts) -> None:
        """Note in the audit log (who, which, when) the records a bulk write changed that were
        restricted before or after, or whose visibility or published precision it changed: an
        import is audited as an edit is (`WriteCounts.audited`)."""
        if self.audit is not None:
            for kind in ("organisation", "service", "link"):
                self.audit.record(viewer, "change", kind, [i for k, i in counts.audited if k == kind])

    async def add_term(self, scheme: str, code: str, label: str, description: str | None = None) -> Term | None:
        """Add a term, or reword one a steward added (`description` None keeps its definition);
        returns the term as it was before, None when it is new. A code not of the built-ins' shape
        is refused (`taxonomy.check_code`), and so is rewording a built-in term: the store takes
        this program's words for it again when opened."""
        check_code(code)
        key = f"{scheme}/{code}"

        async def work(tx: Tx) -> Term | None:
            found = await self.graph.run(tx, TERM, key=key)
            before = Term(scheme, code, found[0]["label"], found[0]["description"] or "") if found else None
            after = Term(scheme, code, label, before.description if before and description is None
                         else description or "")
            if (scheme, code) in BUILT_IN_KEYS or (found and found[0]["built_in"]):
                if after != before:
                    raise Conflict(f"{key} is a built-in term: its label and definition come with this program "
                                   "and cannot be changed here; it is unchanged")
                return before
            if after != before:
                await self.graph.run(tx, ADD_TERM, key=key, scheme=scheme, code=code, label=after.label,
                                     description=after.description)
            return before

        before = await self.graph.write_tx(work)
        await self.graph.write(LABEL_GROUPS)
        return before

    async def begin_import(self, sources: list[str], sheltering: Collection[str] = ()) -> str:
        """Mark a staged import as running; `finish_import` marks it done. `sheltering`: the
        providers of public safe houses it writes, shelters from its first part on for every
        process (`shelters.refresh`) until the import is finished, or superseded by one that is."""
        run_id = f"import-{now()}"
        await self.graph.write(BEGIN_IMPORT, id=run_id, sources=sources, now=now(), sheltering=sorted(sheltering))
        return run_id

    async def finish_import(self, run_id: str) -> None:
        """Mark a staged import done, and with it the earlier unfinished runs of the same sources:
        running the same import again to the end wrote everything they left unwritten."""
        stamp = now()

        async def work(tx: Tx) -> None:
            done = await self.graph.run(tx, FINISH_IMPORT, id=run_id, now=stamp)
            if not done:
                return
            sources, started = sorted(done[0]["sources"]), done[0]["started_at"]
            earlier = [r["id"] for r in await self.graph.run(tx, UNFINISHED_IMPORTS)
                       if r["id"] != run_id and sorted(r["sources"]) == sources and r["started_at"] <= started]
            if earlier:
                await self.graph.run(tx, SUPERSEDE_IMPORTS, ids=earlier, by=run_id, now=stamp)

        await self.graph.write_tx(work)

    async def unfinished_imports(self) -> list[dict[str, Any]]:
        return await self.graph.read(UNFINISHED_IMPORTS)

    # reads

    async def is_empty(self) -> bool:
        """True when the store holds no organisation and no record was ever deleted from it."""
        return not (await self.graph.read(EVER_USED))[0]["used"]

    async def vocabulary(self) -> Vocabulary:
        terms: dict[str, set[str]] = {}
        for scheme, code, _, _ in (await self.graph.read_plain(TERMS))[0]["terms"]:
            terms.setdefault(scheme, set()).add(code)
        self._vocabulary = Vocabulary(terms)
        return self._vocabulary

    async def require_terms(self, *wanted: tuple[str, str, str | None]) -> None:
        """Check filter values, each (argument, scheme, value), against the taxonomy: BadArgument
        naming the argument, the value and the nearest valid codes. The one check every channel's
        filters go through. Terms are read again only when a value is not among those last read,
        so a term added by another process is never refused."""
        vocabulary = self._vocabulary
        if vocabulary is None or not all(vocabulary.has(s, v) for _, s, v in wanted if v is not None):
            vocabulary = await self.vocabulary()
        for argument, scheme, value in wanted:
            if value is not None:
                vocabulary.require(scheme, value, argument)

    async def terms(self) -> list[Term]:
        rows = (await self.graph.read_plain(TERMS))[0]["terms"]
        terms = (Term(scheme, code, label, description or "") for scheme, code, label, description in rows)
        return sorted(terms, key=lambda t: (t.scheme, t.code))

    async def existing_organisations(self, ids: list[str], tx: Tx | None = None) -> set[str]:
        """Which of these organisation ids exist, whatever their visibility (for import checks).

        Inside a write transaction (`tx`), this sees the transaction's own writes."""
        if tx is not None:
            return {r["id"] for r in await self.graph.run(tx, EXISTING_ORGANISATIONS, ids=ids)}
        return {r["id"] for r in await self.graph.read(EXISTING_ORGANISATIONS, ids=ids)}

    async def organisation(self, viewer: Viewer, record_id: str) -> Organisation:
        found = await self.organisations_by_id(viewer, [record_id])
        if record_id not in found:
            raise NotFound("organisation", record_id)
        return found[record_id]

    async def organisations_by_id(self, viewer: Viewer, ids: list[str]) -> dict[str, Organisation]:
        rows = await self.graph.read_plain(GET_ORGANISATIONS, ids=ids, **viewer.params)
        found = {r["n"]["id"]: organisation_of(r["n"], viewer) for r in rows}
        self._shown(viewer, "organisation", found.values())
        return found

    async def list_organisations(self, viewer: Viewer, where: Filter | None = None, first: int = 20,
                                 after: str | None = None, sort: Sort = Sort.NAME, count: bool = True) -> Page:
        """One page of organisations; `first` is capped at MAX_PAGE."""
        return await self._page("organisation", viewer, where or Filter(), min(first, MAX_PAGE), after, sort, count)

    async def list_services(self, viewer: Viewer, where: Filter | None = None, first: int = 20,
                            after: str | None = None, sort: Sort = Sort.NAME, count: bool = True) -> Page:
        """One page of services; `first` is capped at MAX_PAGE."""
        return await self._page("service", viewer, where or Filter(), min(first, MAX_PAGE), after, sort, count)

    async def each_organisation(self, viewer: Viewer, where: Filter | None = None,
                                page: int = 1000) -> AsyncIterator[list[Organisation]]:
        """Every organisation the viewer may see, in pages, for exports."""
        after = None
        while True:
            result = await self._page("organisation", viewer, where or Filter(), page, after, Sort.NAME, False)
            if result.items:
                yield result.items
            if not result.has_next:
                return
            after = result.cursors[-1]

    async def _page(self, kind: str, viewer: Viewer, where: Filter, first: int, after: str | None, sort: Sort,
                    count: bool) -> Page:
        after_id, params = await self._listing(viewer, where, first, after, sort)
        counted = count and after_id is None  # counted in the same statement, from the same match
        rows, total = read_page(await self.graph.read_plain(
            statement(kind, sort, where, after_id is not None, counted), **params))
        if count and not counted:
            total = int((await self.graph.read_plain(count_statement(kind, where), **params))[0]["total"])
        shown = rows[:first]  # each: the record, its place withheld, distance, sort key
        items: list[Any] = [organisation_of(r[0], viewer) if kind == "organisation" else
                            service_of(r[0], viewer, r[1]) for r in shown]
        self._shown(viewer, kind, items)
        return Page(items=items, total=total if count else None, has_next=len(rows) > first,
                    cursors=[cursor(sort, r[3], r[0]["id"]) for r in shown],
                    distances_km=[None if r[2] is None else round(r[2] / 1000, 1) for r in shown])

    async def _listing(self, viewer: Viewer, where: Filter, first: int, after: str | None,
                       sort: Sort) -> tuple[str | None, dict[str, Any]]:
        """A listing's checks, and its statement's parameters (with `limit` one over the page, to
        tell whether another follows)."""
        if first < 0:
            raise BadArgument("first", "must not be negative")
        await self.require_terms(
            ("kind", ORGANISATION_KIND, where.kind), ("serviceType", SERVICE_TYPE, where.service_type),
            ("group", DEFENDER_GROUP, where.group))
        asked_language(where.language, "language")
        require_sort(sort, where)
        after_key, after_id = uncursor(sort, after)
        return after_id, dict(where.params(), **viewer.params, me=self.directory_id, after_key=after_key,
                              after_tie=after_tie(self.directory_id, after_id), limit=first + 1)

    # reads shaped by what was asked (`records.projection`): plain values, no records built

    def _projected(self, viewer: Viewer, shape: Shape, values: list[Any]) -> None:
        """Locations as the viewer may see them, coverage as items, and the restricted records given noted."""
        if not (projection.audits(viewer) or projection.finishes(shape)):
            return
        shown = Shown()
        for kind, record_id in projection.finished(values, viewer):
            shown.add(kind, [record_id])
        self.note(viewer, shown)

    async def project(self, viewer: Viewer, shape: Shape, ids: list[str], **params: Any) -> dict[str, Any]:
        """Records by id as `shape` asks, by id. One the viewer may not see is absent, as one that
        does not exist. `params`: those the shape names (the link types asked for)."""
        projection.check(shape)
        rows = await self.graph.read_plain(projection.by_id(shape, projection.audits(viewer)), ids=ids,
                                           **params, **viewer.params)
        found = {r["id"]: r["v"] for r in rows}
        self._projected(viewer, shape, list(found.values()))
        return found

    async def project_page(self, viewer: Viewer, shape: Shape, where: Filter | None = None, first: int = 20,
                           after: str | None = None, sort: Sort = Sort.NAME, count: bool = False,
                           **params: Any) -> Page:
        """A listing's page (`list_organisations`, `list_services`) as `shape` asks: its items are
        plain values. The page and its count are read in one statement (in two, in one
        transaction, after a cursor)."""
        projection.check(shape)
        where = where or Filter()
        first = min(first, MAX_PAGE)
        after_id, args = await self._listing(viewer, where, first, after, sort)
        args.update(params)
        counted = count and after_id is None  # counted in the same statement, from the same match
        rows_of = projection.listing(shape, sort, source_of(shape.kind, where), given(where, after_id is not None),
                                     projection.audits(viewer), counted)
        if count and not counted:  # a later page's count: a second statement, in the same transaction
            async def work(tx: Tx) -> tuple[list[list[Any]], int]:
                rows, _ = read_page(await self.graph.run_plain(tx, rows_of, **args))
                counted = await self.graph.run_plain(tx, count_statement(shape.kind, where), **args)
                return rows, int(counted[0]["total"])

            rows, total = await self.graph.read_tx(work)
        else:
            rows, total = read_page(await self.graph.read_plain(rows_of, **args))
        shown = rows[:first]  # each: id, distance, sort key, projection
        self._projected(viewer, shape, [r[3] for r in shown])
        return Page(items=[r[3] for r in shown], total=total if count else None, has_next=len(rows) > first,
                    cursors=[cursor(sort, r[2], r[0]) for r in shown],
                    distances_km=[None if r[1] is None else round(r[1] / 1000, 1) for r in shown])

    async def links_from(self, viewer: Viewer, organisation_ids: list[str]) -> list[Link]:
        return await self.links_of(viewer, organisation_ids, "out")

    async def links_of(self, viewer: Viewer, organisation_ids: list[str], direction: str) -> list[Link]:
        """Links leaving (`out`) or reaching (`in`) these organisations that the viewer may see: the
        link itself and both ends. A member sees its own organisation's links (its funding, say)
        whatever their visibility."""
        links = link_records(await self.graph.read_plain(LINKS[direction], ids=organisation_ids, **viewer.params))
        self._shown(viewer, "link", links)
        return links

    async def services_by_id(self, viewer: Viewer, ids: list[str]) -> dict[str, Service]:
        """Services the viewer may see, with a provider the viewer may see."""
        rows = await self.graph.read_plain(GET_SERVICES, ids=ids, **viewer.params)
        found = {r["s"]["id"]: service_of(r["s"], viewer, r["unplaced"]) for r in rows}
        self._shown(viewer, "service", found.values())
        return found

    async def search(self, viewer: Viewer, text: str, kinds: tuple[str, ...] = ("organisation", "service"),
                     first: int = 20, after: str | None = None) -> SearchPage:
        """Ranked hits the viewer may see, with their records; see `search.py` for the rules."""
        shown, total, has_next = await self._hits(viewer, text, kinds, first, after)
        orgs = await self.organisations_by_id(viewer, [h.id for h in shown if h.kind == "organisation"])
        services = await self.services_by_id(viewer, [h.id for h in shown if h.kind == "service"])
        records: dict[tuple[str, str], Any] = {
            **{("organisation", i): o for i, o in orgs.items()}, **{("service", i): s for i, s in services.items()}}
        return _search_page(shown, records, total, has_next)

    async def search_projected(self, viewer: Viewer, text: str, shapes: dict[str, Shape], first: int = 20,
                               after: str | None = None) -> SearchPage:
        """`search` over the kinds `shapes` names, each hit's record as its kind's shape asks."""
        shown, total, has_next = await self._hits(viewer, text, tuple(shapes), first, after)
        records: dict[tuple[str, str], Any] = {}
        for kind, shape in shapes.items():
            wanted = [h.id for h in shown if h.kind == kind]
            if wanted:
                records.update({(kind, i): v for i, v in (await self.project(viewer, shape, wanted)).items()})
        return _search_page(shown, records, total, has_next)

    async def _hits(self, viewer: Viewer, text: str, kinds: tuple[str, ...], first: int,
                    after: str | None) -> tuple[list[Hit], int, bool]:
        """The page's hits, how many matched, and whether more follow."""
        if not 0 <= first <= MAX_PAGE:
            raise BadArgument("first", "must be between 0 and %(most)s", most=MAX_PAGE)
        query_words = search.words(text)
        found: dict[str, tuple[int, int, list[Hit]]] = {}  # kind: how many matched, how many ours, the first
        fuzz: dict[str, list[str] | None] = {}
        # As written, then within one typo, then with fuzzy terms, each while none of ours was found (every
        # word must match, so a typo anywhere leaves the query before empty; a peer's records must not keep
        # ours from being found). Each query finds all that the one before it did, so its answer replaces it.
        for typos in ("none", "one", "fuzzy"):
            if any(own for _, own, _ in found.values()):
                break
            for kind in kinds:
                if typos == "none":
                    lucene = search.lucene_query(query_words, fuzzy=False)
                else:
                    if kind not in fuzz:
                        fuzz[kind] = await self._to_fuzz(viewer, kind, query_words)
                    words = fuzz[kind]
                    if words is None or (typos == "fuzzy" and not search.beyond_one_typo(words)):
                        continue  # nothing to fuzz, or nothing a fuzzy term could add: it would find no more
                    lucene = search.lucene_query(query_words, words, one_typo=typos == "one")
                found[kind] = await self._kind_hits(viewer, kind, query_words, lucene)
        if not any(total for total, _, _ in found.values()) and (latin := search.in_latin_letters(text)) is not None:
            # written in Cyrillic or Greek, and found as written by none the viewer may see: in Latin letters
            return await self._hits(viewer, latin, kinds, first, after)
        hits = [h for _, _, ranked in found.values() for h in ranked]
        remaining = search.after(hits, after)
        return remaining[:first], sum(total for total, _, _ in found.values()), len(remaining) > first

    async def _kind_hits(self, viewer: Viewer, kind: str, query_words: list[str],
                         lucene: str) -> tuple[int, int, list[Hit]]:
        """How many records of one kind the Lucene query finds for the viewer, how many of them are
        ours, and the first ranked."""
        statement_ = search.SEARCH_ORGANISATIONS if kind == "organisation" else search.SEARCH_SERVICES
        rows = await self.graph.read_plain(statement_, index=self._search_index(kind), text=lucene,
                                           words=query_words, limit=search.MAX_HITS,
                                           share=search.PEER_SHARE, me=self.directory_id, **viewer.params)
        if not rows:  # no candidate at all
            return 0, 0, []
        ranked = await budget.in_thread(search.rank, query_words, kind, rows[0]["top"])  # pure, and slow
        return int(rows[0]["total"]), int(rows[0]["own"]), ranked

    async def _to_fuzz(self, viewer: Viewer, kind: str, query_words: list[str]) -> list[str] | None:
        """For a kind whose exact query found none of ours, the words to allow typos in: only those
        that match none of our records the viewer may see on their own (`search.to_fuzz`); None when
        a query with typos could find no more."""
        return search.to_fuzz(query_words, await self._found_words(viewer, kind, query_words))

    async def _found_words(self, viewer: Viewer, kind: str, query_words: list[str]) -> set[str]:
        """The words that match on their own one of our records of this kind that the viewer may see
        (a peer's must not keep a word from being fuzzed to find ours): looked for among each word's
        best `search.PROBE` matches, then among all for the words whose best were hidden or a peer's."""
        probe, every = search.FOUND_ORGANISATIONS if kind == "organisation" else search.FOUND_SERVICES
        index = self._search_index(kind)
        found, unsure = search.probed(await self.graph.read_plain(
            probe, index=index, checks=search.checks(query_words), probe=search.PROBE, me=self.directory_id,
            **viewer.params))
        if unsure:
            found |= search.probed(await self.graph.read_plain(
                every, index=index, checks=search.checks(unsure), me=self.directory_id, **viewer.params))[0]
        return found

    def _search_index(self, kind: str) -> str:
        return fulltext_index(self.graph.backend, "Organisation" if kind == "organisation" else "Service")

    async def map_points(self, viewer: Viewer, where: mapping.PointFilter) -> mapping.MapPoints:
        """Organisations as points for a map (see `store.mapping` for what a viewer may see)."""
        found = await mapping.map_points(self.graph, viewer, where, self.shelter_minimum)
        shown = Shown()
        shown.add("organisation", [p.id for p in found.points if p.visibility == Visibility.RESTRICTED.value])
        self.note(viewer, shown, "map")
        return found

    async def same_as(self, viewer: Viewer, ids: list[str]) -> dict[str, sameas.SameAsOf]:
        """Other directories' records of the same organisations, as far as the viewer may see them."""
        return await sameas.same_as(self.graph, viewer.params, ids, proposed=viewer.role == "steward",
                                    me=self.directory_id)

    async def services_of(self, viewer: Viewer, organisation_ids: list[str]) -> dict[str, list[Service]]:
        rows = await self.graph.read_plain(SERVICES_OF, ids=organisation_ids, **viewer.params)
        out: dict[str, list[Service]] = {oid: [] for oid in organisation_ids}
        for r in rows:
            svc = service_of(r["s"], viewer, r["unplaced"])
            out.setdefault(svc.organisation, []).append(svc)
        self._shown(viewer, "service", [s for services in out.values() for s in services])
        return out
