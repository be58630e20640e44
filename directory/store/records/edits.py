"""Changing one record at a time for a viewer: create, update with a revision check, delete.

Each edit is one write transaction: read the current record, check that the viewer may see it
(else it reads as missing) and may write it; then take the write lock of the organisation that
owns the record, read the revision again under that lock and compare it with the one the client
says it read; then validate the whole record as an import would, write it, and read it back.
Anything wrong, and nothing changes.

Why the lock: both servers run transactions at read committed, so a revision read by one
statement and written by a later one can be overwritten in between (two clients both read
revision 4, both write "revision 5"; one change is lost). Neo4j serialises writers of a node on
its write lock, taken by the first `SET` and held to the end of the transaction; a read made
after it sees the last committed revision. ArcadeDB detects the second writer of the same node
at commit and the driver retries the whole transaction, which then reads the new revision and
refuses. Every edit of an organisation's records locks that organisation, so its services and
links are covered too, and link creation cannot race itself into duplicates. The lock is a new
random value written to the organisation and committed with the edit: ArcadeDB's check at commit
sees only records whose content a transaction changed, and a lock set and removed again in the
same transaction (as it once was) left two creations of one link both committed.

That is not enough on ArcadeDB, whose optimistic check at commit covers only what a transaction
wrote: a service read (not written) before another edit's commit is read afresh when written
after it. So each write also checks
itself: an update reads the revision it wrote and refuses unless it wrote over the one the
client read (`_wrote_over`), and a delete deletes only the revision the client read. Both
servers therefore give: a stale revision writes nothing.

Deleting leaves a `Tombstone` (kind, id, the revision it died at, when, publisher) that
federation carries to peers so they delete their copies too.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from directory.base.clock import now
from directory.domain import validation
from directory.domain.errors import Message, Plural, Problem, ValidationFailed, worded
from directory.domain.model import Link, Organisation, Precision, Service, Verification, link_id
from directory.domain.taxonomy import SHELTERING_TYPES
from directory.domain.validation import Row, Vocabulary
from directory.domain.viewer import Viewer
from directory.store.engine.cypher import cypher, link_visible, visible
from directory.store.engine.graph import Graph, Tx
from directory.store.records import shared_nodes, shelters, tokens
from directory.store.records.writes import LOCK_PROPERTY, WriteCounts, service_values, write_records


class EditRefused(Exception):
    """Why an edit did not happen; `code` is one of the GraphQL `ErrorCode`s."""

    def __init__(self, code: str, message: Message, /, field: str | None = None,
                 current_revision: int | None = None, problems: list[Problem] | None = None,
                 **values: object) -> None:
        """`message` is literal, its `values` in `%(name)s` placeholders: a msgid the pages translate."""
        self.template = message
        self.values = values
        self.message = worded(message, values)
        super().__init__(self.message)
        self.code = code
        self.field = field
        self.current_revision = current_revision
        self.problems = problems or []


def not_found(kind: str, record_id: str, field: str = "id") -> EditRefused:
    """The same words whether the record is missing or hidden from this viewer; `field`: the input
    that named it (a service's `organisation`, a link's other end)."""
    return EditRefused("NOT_FOUND", "no %(kind)s with id %(id)r", field, kind=kind, id=record_id)


CURRENT = {
    "organisation": cypher("edits.current_organisation", f"""
MATCH (n:Organisation {{id: $id}})
RETURN n.revision AS revision, n.owner AS owner, n.visibility AS visibility, {visible('n')} AS visible,
       [n.verified_on, n.verified_by, n.verified_source] AS verified, n.precision AS precision
"""),
    "service": cypher("edits.current_service", f"""
MATCH (n:Service {{id: $id}})<-[:OFFERS]-(o:Organisation)
RETURN n.revision AS revision, n.owner AS owner, n.visibility AS visibility,
       {visible('n')} AND {visible('o')} AS visible, [n.verified_on, n.verified_by, n.verified_source] AS verified,
       o.id AS provider, n.type AS type
"""),
}
CURRENT_LINK = cypher("edits.current_link", f"""
MATCH (a:Organisation {{id: $source}})-[l]->(b:Organisation {{id: $target}})
WHERE type(l) = $type AND l.key = $key
RETURN l.revision AS revision, l.visibility AS visibility, {visible('a')} AND {visible('b')}
       AND {link_visible('l', 'a', 'b')} AS visible
""")
# The owner's write lock (see the module docstring); taken before the revision is read, and committed.
LOCK_OWNER = cypher("edits.lock_owner", f"""
MATCH (o:Organisation {{id: $owner}})
SET o.{LOCK_PROPERTY} = randomUUID()
RETURN o.id AS id
""")
ENDS_VISIBLE = cypher("edits.ends_visible", f"""
MATCH (n:Organisation)
WHERE n.id IN [$source, $target] AND {visible('n')}
RETURN count(n) AS n
""")
DELETE_SERVICES_OF = cypher("edits.delete_services_of", """
MATCH (:Organisation {id: $id})-[:OFFERS]->(s:Service)
WITH s, s.id AS id, s.revision AS revision, s.visibility AS visibility
DETACH DELETE s
RETURN id, revision, visibility
""")
# A delete deletes the revision the client read (none read as 0, as `_check_revision` reads it), or
# nothing (`Editor._wrote_over` says why).
DELETE_ORGANISATION = cypher("edits.delete_organisation", """
MATCH (n:Organisation {id: $id}) WHERE coalesce(n.revision, 0) = $revision
DETACH DELETE n
RETURN count(*) AS n
""")
DELETE_SERVICE = cypher("edits.delete_service", """
MATCH (s:Service {id: $id}) WHERE coalesce(s.revision, 0) = $revision
DETACH DELETE s
RETURN count(*) AS n
""")
DELETE_LINK = cypher("edits.delete_link", """
MATCH (:Organisation {id: $source})-[l]->(:Organisation {id: $target})
WHERE type(l) = $type AND l.key = $key AND coalesce(l.revision, 0) = $revision
DELETE l
RETURN count(*) AS n
""")
WRITTEN = {
    "organisation": cypher("edits.written_organisation",
                           "MATCH (n:Organisation {id: $id}) RETURN n.revision AS revision"),
    "service": cypher("edits.written_service", "MATCH (n:Service {id: $id}) RETURN n.revision AS revision"),
    "link": cypher("edits.written_link", """
MATCH (:Organisation {id: $source})-[l]->(:Organisation {id: $target})
WHERE type(l) = $type AND l.key = $key
RETURN l.revision AS revision
"""),
}
TOMBSTONE = cypher("edits.tombstone", """
UNWIND $rows AS r
MERGE (t:Tombstone {key: r.key})
SET t.kind = r.kind, t.id = r.id, t.revision = r.revision, t.deleted_at = $now, t.publisher = $publisher
""")
CLEAR_TOMBSTONE = cypher("edits.clear_tombstone", "MATCH (t:Tombstone {key: $key}) DELETE t")
# The links an organisation's deletion takes with it, at either end: each leaves a tombstone, as a
# link deleted alone does, or our feeds would serve it as live for ever, its body readable, and the
# same link made again would never be sent. (Our links join our own organisations only: a peer's
# withdrawing or removal deletes none of them.)
_ENDS = {"from": ("(n)-[l]->(b:Organisation)", "n.id AS source, b.id AS target"),
         "to": ("(b:Organisation)-[l]->(n)", "b.id AS source, n.id AS target")}
TOMBSTONE_LINKS_OF = [cypher(f"edits.tombstone_links_{end}", f"""
MATCH (n:Organisation {{id: $id}})
MATCH {pattern}
WHERE l.publisher = $me AND l.revision IS NOT NULL
WITH DISTINCT l, {ends}
WITH l, 'link/' + type(l) + '/' + source + '/' + target + '/' + coalesce(l.key, '') AS key
MERGE (t:Tombstone {{key: key}})
SET t.kind = 'link', t.id = key, t.revision = l.revision + 1, t.deleted_at = $now, t.publisher = $me
""") for end, (pattern, ends) in _ENDS.items()]


@dataclass
class Edit:
    """A record's fields as an import row would carry them (`validation` field names).

    For an update, `current` reads the record's fields inside the edit's transaction, under the
    lock: the edit's fields are laid over them there, never over a copy read before (which a
    concurrent edit, or a lagging replica, could have made stale)."""

    fields: dict[str, Any]
    columns: dict[str, str] = field(default_factory=dict)  # field name -> the client's name for it
    current: Callable[[Tx], Awaitable[dict[str, Any]]] | None = None

    def row(self) -> Row:
        return Row(0, {k: (self.columns.get(k, k), v) for k, v in self.fields.items()})

    async def merged(self, tx: Tx, adjust: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None
                     ) -> Edit:
        """`adjust`: what the edit's fields become given the record's (`dated`)."""
        if self.current is None:
            return self
        held = await self.current(tx)
        return Edit({**held, **(adjust(self.fields, held) if adjust else self.fields)}, self.columns)


def dated(fields: dict[str, Any], held: dict[str, Any]) -> dict[str, Any]:
    """A service's fields as an edit (never an import) gives them: a capacity given anew is as of
    today, and so is a held service's status, unless a day is given with it. The figure someone just
    gave is what the service can take now (90 days later it no longer counts, `jobs.rules`), and a
    service paused now was paused today (a steward's walk read "since" nothing). Pages, the API and
    the CLI alike: an integrator's walk set capacity through the API and the gap matrix read it as
    out of date."""
    def said(value: Any) -> str:
        return "" if value is None else str(getattr(value, "value", value)).strip()

    out = dict(fields)
    for given, day, anew in (("capacity", "capacity_confirmed", True), ("status", "status_since", bool(held))):
        if (anew and given in fields and said(fields[given]) and said(fields[given]) != said(held.get(given))
                and said(fields.get(day)) in ("", said(held.get(day)))):
            out[day] = now()[:10]
    return out


def service_fields(s: Service) -> dict[str, Any]:
    """A service as the row an edit is checked as (`validation.service`)."""
    return {
        "id": s.id, **service_values(s),
        "present_in": [c.place for c in s.coverage if c.presence.value == "present"],
        "reaches": [c.place for c in s.coverage if c.presence.value == "remote"], "groups": s.groups,
        "origins": s.origins,
    }


def link_fields(link: Link) -> dict[str, Any]:
    return {"type": link.type, "source": link.source, "target": link.target, "key": link.key,
            "visibility": link.visibility.value, **link.properties}


def new_id(directory_id: str) -> str:
    """Ids of records made through the API come from the service, so a client can never probe
    whether an id it chose is taken by a record it may not see."""
    return f"{directory_id}:{secrets.token_hex(6)}"


def _check_revision(stored: int | None, revision: int, kind: str = "link", record_id: str = "") -> None:
    """Refuse to overwrite a record (or, with no id, a link) changed since the client read it."""
    current = int(stored or 0)
    if current != revision and record_id:
        raise EditRefused("REVISION_CONFLICT", "%(kind)s %(id)r is at revision %(current)s, not %(revision)s: read "
                          "it again and reapply your change", "revision", current_revision=current, kind=kind,
                          id=record_id, current=current, revision=revision)
    if current != revision:
        raise EditRefused("REVISION_CONFLICT", "the link is at revision %(current)s, not %(revision)s: read it again "
                          "and reapply your change", "revision", current_revision=current, current=current,
                          revision=revision)


def _check(problems: list[Problem]) -> None:
    if problems:
        raise EditRefused("INVALID", Plural("%(count)s problem, nothing was changed",
                                            "%(count)s problems, nothing was changed", "count"),
                          problems=problems, count=len(problems))


T = TypeVar("T")
ReadBack = Callable[[Tx, str], Awaitable[T]]  # reads the saved record inside the edit's transaction


@dataclass
class Saved(Generic[T]):
    """What an edit did: the record id, the record as the editor now sees it (read in the same
    transaction, so its revision is the one this edit wrote), and whether the record was
    restricted before or after (such changes go to the audit log)."""

    id: str
    record: T
    restricted: bool
    restricted_services: list[str] = field(default_factory=list)  # deleted with an organisation
    # other records the edit moved into or out of the public's sight: shelters whose place the
    # shelter minimum now shows or withholds (`shelters.refresh`), each audited as changed by it
    moved: list[tuple[str, str]] = field(default_factory=list)


def _verification(viewer: Viewer, current: dict[str, Any] | None, after: Verification) -> None:
    """A verification is a steward's word that someone checked the record: a member keeps it as it
    is and never writes one (its own claim would read as an independent check). That none is dated
    after today is the validators' (`validation.local_latest_day`)."""
    before = Verification(*(value or "" for value in current["verified"])) if current else Verification()
    if viewer.role != "steward" and after != before:
        raise EditRefused("FORBIDDEN", "only a steward records who verified a record and when", "verified_on")


def _others(counts: WriteCounts, kind: str, record_id: str) -> list[tuple[str, str]]:
    """What a write of one record audited besides it: the shelters it moved (`Saved.moved`)."""
    return [(k, i) for k, i in dict.fromkeys(counts.audited) if (k, i) != (kind, record_id)]


def _restricted(*visibilities: object) -> bool:
    return "restricted" in visibilities


def _noted(before: object, after: object, *moved: tuple[object, object]) -> bool:
    """Whether a change goes to the audit log: the record restricted before or after, or who may
    see it changed, or (`moved`) how precisely its place is published. A steward's walk made a
    network shelter public at exact precision and left no line."""
    return _restricted(before, after) or (before is not None and (before != after or any(a != b for a, b in moved)))


class Editor:
    def __init__(self, graph: Graph, directory_id: str, shelter_minimum: int) -> None:
        self.graph = graph
        self.directory_id = directory_id
        self.shelter_minimum = shelter_minimum

    async def _lock(self, tx: Tx, owner: str) -> None:
        await self.graph.run(tx, LOCK_OWNER, owner=owner)

    async def _current(self, tx: Tx, viewer: Viewer, kind: str, record_id: str,
                       revision: int | None) -> dict[str, Any] | None:
        """The record's revision, owner and visibility, refusing what the viewer may not see, write
        or overwrite. For an existing record the owner's write lock is held when this returns."""
        rows = await self.graph.run(tx, CURRENT[kind], id=record_id, **viewer.params)
        if not rows or not rows[0]["visible"]:
            if revision is None:
                return None
            raise not_found(kind, record_id)
        if not viewer.may_write(rows[0]["owner"]):
            raise EditRefused("FORBIDDEN", "you may change only your own organisation's records, not %(id)r",
                              id=record_id)
        if revision is None:
            raise EditRefused("CONFLICT", "%(kind)s %(id)r already exists", "id", kind=kind, id=record_id)
        # Only a record this viewer may write is locked: a hidden one answers before any lock is
        # waited for, exactly as a missing one does.
        await self._lock(tx, rows[0]["owner"])
        rows = await self.graph.run(tx, CURRENT[kind], id=record_id, **viewer.params)
        if not rows or not rows[0]["visible"]:  # deleted or hidden while we waited for the lock
            raise not_found(kind, record_id)
        current = rows[0]
        _check_revision(current["revision"], revision, kind, record_id)
        return current

    async def _wrote_over(self, tx: Tx, kind: str, revision: int | None, record_id: str = "", **key: str) -> None:
        """Refuse (so nothing is written) an update that wrote over another revision than the one
        its client read: another edit committed between this one's check and its write. Its own
        write is the next revision, or none if what it wrote was already there."""
        if revision is None:
            return
        rows = await self.graph.run(tx, WRITTEN[kind], id=record_id, **key)
        written = rows[0]["revision"] if rows else None
        if written not in (revision, revision + 1):
            _check_revision(None if written is None else written - 1, revision, kind, record_id)

    async def _deleted(self, tx: Tx, statement: str, kind: str, revision: int, record_id: str = "",
                       **key: str) -> None:
        """Delete the revision the client read, or refuse: another edit committed in between."""
        if (await self.graph.run(tx, statement, id=record_id, revision=revision, **key))[0]["n"]:
            return
        rows = await self.graph.run(tx, WRITTEN[kind], id=record_id, **key)
        if rows:
            _check_revision(rows[0]["revision"], revision, kind, record_id)
        if kind == "link":
            raise EditRefused("NOT_FOUND", "no such link", "target")
        raise not_found(kind, record_id)  # deleted meanwhile

    async def _write(self, tx: Tx, organisations: list[Organisation], services: list[Service],
                     links: list[Link]) -> WriteCounts:
        """An edit's records written; a place a shelter's service or safe house may not record
        (`shelter_services`) refuses the edit as any invalid field does."""
        try:
            return await write_records(self.graph, tx, self.directory_id, organisations, services, links, now(),
                                       self.shelter_minimum)
        except ValidationFailed as failed:
            _check([replace(p, source="") for p in failed.problems])
            raise

    def _organisation(self, edit: Edit, vocab: Vocabulary) -> tuple[Organisation, list[Link]]:
        org, links, problems = validation.organisation(edit.row(), self.directory_id, vocab,
                                                       validation.local_latest_day())
        _check(problems)
        assert org is not None
        return org, links

    async def save_organisation(self, viewer: Viewer, edit: Edit, vocab: Vocabulary, revision: int | None,
                                read_back: ReadBack[T]) -> Saved[T]:
        """Create (revision None) or update an organisation."""
        if revision is None and viewer.role != "steward":
            raise EditRefused("FORBIDDEN", "only stewards add organisations")
        record_id = str(edit.fields["id"])
        checked = None if edit.current else self._organisation(edit, vocab)  # a create is checked at once

        async def work(tx: Tx) -> Saved[T]:
            current = await self._current(tx, viewer, "organisation", record_id, revision)
            org, links = checked or self._organisation(await edit.merged(tx), vocab)
            if org.id != record_id:
                raise EditRefused("INVALID", "an organisation's id cannot change", "id")
            _verification(viewer, current, org.verified)
            await self.graph.run(tx, CLEAR_TOMBSTONE, key=f"organisation/{org.id}")
            counts = await self._write(tx, [org], [], links)
            await self._wrote_over(tx, "organisation", revision, org.id)
            before = current["visibility"] if current else None
            precision = (org.location.precision if org.location else Precision.HIDDEN).value
            return Saved(org.id, await read_back(tx, org.id),
                         _noted(before, org.visibility.value, (current["precision"] if current else None, precision)),
                         moved=_others(counts, "organisation", org.id))

        return await self.graph.write_tx(work)

    def _service(self, viewer: Viewer, edit: Edit, vocab: Vocabulary) -> Service:
        svc, problems = validation.service(edit.row(), self.directory_id, vocab, validation.local_latest_day())
        _check(problems)
        assert svc is not None
        if not viewer.may_write(svc.organisation):
            raise EditRefused("FORBIDDEN", "you may offer services only for your own organisation", "organisation")
        return svc

    async def save_service(self, viewer: Viewer, edit: Edit, vocab: Vocabulary, revision: int | None,
                           read_back: ReadBack[T]) -> Saved[T]:
        record_id = str(edit.fields["id"])
        checked = None if edit.current else self._service(viewer, replace(edit, fields=dated(edit.fields, {})), vocab)

        async def work(tx: Tx) -> Saved[T]:
            current = await self._current(tx, viewer, "service", record_id, revision)
            svc = checked or self._service(viewer, await edit.merged(tx, dated), vocab)
            if current is not None and current["owner"] != svc.organisation:
                raise EditRefused("INVALID", "a service cannot move to another organisation", "organisation")
            _verification(viewer, current, svc.verified)
            provider = await self.graph.run(tx, CURRENT["organisation"], id=svc.organisation, **viewer.params)
            if not provider or not provider[0]["visible"]:
                raise not_found("organisation", svc.organisation, "organisation")
            if current is None:  # a new service: its provider's lock keeps a concurrent delete out
                await self._lock(tx, svc.organisation)
            await self.graph.run(tx, CLEAR_TOMBSTONE, key=f"service/{svc.id}")
            counts = await self._write(tx, [], [svc], [])
            await self._wrote_over(tx, "service", revision, svc.id)
            before = current["visibility"] if current else None
            # restricted before or after, or holding a restricted intake channel before or after (`writes`)
            restricted = _noted(before, svc.visibility.value) or ("service", svc.id) in counts.audited
            return Saved(svc.id, await read_back(tx, svc.id), restricted, moved=_others(counts, "service", svc.id))

        return await self.graph.write_tx(work)

    async def save_link(self, viewer: Viewer, edit: Edit, revision: int | None,
                        read_back: ReadBack[T]) -> Saved[T]:
        link = _valid_link(edit, self.directory_id)  # its key fields are given whole, update or not
        owner = link_owner(link)
        if not viewer.may_write(owner):
            raise not_the_owner(link.type)
        key = {"type": link.type, "source": link.source, "target": link.target, "key": link.key}

        async def work(tx: Tx) -> Saved[T]:
            ends = await self.graph.run(tx, ENDS_VISIBLE, source=link.source, target=link.target, **viewer.params)
            if ends[0]["n"] < 2:
                raise not_found("organisation", *((link.target, "target") if owner == link.source
                                                  else (link.source, "source")))
            await self._lock(tx, owner)
            rows = await self.graph.run(tx, CURRENT_LINK, **key, **viewer.params)
            if rows and revision is None:
                raise EditRefused("CONFLICT", "that link already exists; update it instead", "target")
            written = link
            if revision is not None:
                if not rows or not rows[0]["visible"]:
                    raise EditRefused("NOT_FOUND", "no such link", "target")
                _check_revision(rows[0]["revision"], revision)
                written = _valid_link(await edit.merged(tx), self.directory_id)
            await self.graph.run(tx, CLEAR_TOMBSTONE, key=link_key(link))
            await self._write(tx, [], [], [written])
            await self._wrote_over(tx, "link", revision, **key)
            before = rows[0]["visibility"] if rows else None
            return Saved(audit_id(link), await read_back(tx, link.source),
                         _noted(before, written.visibility.value))

        return await self.graph.write_tx(work)

    async def delete(self, viewer: Viewer, kind: str, record_id: str, revision: int) -> Saved[None]:
        revoked: list[str] = []  # its members' tokens

        async def work(tx: Tx) -> Saved[None]:
            current = await self._current(tx, viewer, kind, record_id, revision)
            assert current is not None
            rows = [{"key": f"{kind}/{record_id}", "kind": kind, "id": record_id, "revision": revision + 1}]
            gone: list[dict[str, Any]] = []
            moved: list[str] = []
            held = await (shared_nodes.held_by(self.graph, tx, organisations=[record_id], services_of=[record_id])
                          if kind == "organisation" else shared_nodes.held_by(self.graph, tx, services=[record_id]))
            if kind == "organisation":
                for statement in TOMBSTONE_LINKS_OF:
                    await self.graph.run(tx, statement, id=record_id, me=self.directory_id, now=now())
                gone = await self.graph.run(tx, DELETE_SERVICES_OF, id=record_id)  # undone if refused below
                await self._deleted(tx, DELETE_ORGANISATION, kind, revision, record_id)
                members = await self.graph.run(tx, tokens.REVOKE_OF, organisation=record_id, now=now())
                revoked[:] = [str(r["id"]) for r in members]
                moved += await shelters.refresh(self.graph, tx, self.shelter_minimum, now())  # one shelter fewer?
                rows += [{"key": f"service/{s['id']}", "kind": "service", "id": s["id"],
                          "revision": int(s["revision"] or 0) + 1} for s in gone]
            else:
                await self._deleted(tx, DELETE_SERVICE, kind, revision, record_id)
                if current["type"] in SHELTERING_TYPES:  # its provider may have offered the public its only one
                    moved += await shelters.refresh(self.graph, tx, self.shelter_minimum, now(), [current["provider"]])
            await shared_nodes.drop_unheld(self.graph, tx, held)
            await self.graph.run(tx, TOMBSTONE, rows=rows, now=now(), publisher=self.directory_id)
            return Saved(record_id, None, _restricted(current["visibility"]),
                         [s["id"] for s in gone if s["visibility"] == "restricted"],
                         [("organisation", i) for i in dict.fromkeys(moved) if i != record_id])

        saved = await self.graph.write_tx(work)
        tokens.forget(revoked)  # none read before the commit is kept after it
        return saved

    async def delete_link(self, viewer: Viewer, link: Link, revision: int) -> Saved[None]:
        owner = link_owner(link)
        if not viewer.may_write(owner):
            raise not_the_owner(link.type)
        key = {"type": link.type, "source": link.source, "target": link.target, "key": link.key}

        async def work(tx: Tx) -> Saved[None]:
            rows = await self.graph.run(tx, CURRENT_LINK, **key, **viewer.params)
            if not rows or not rows[0]["visible"]:
                raise EditRefused("NOT_FOUND", "no such link", "target")
            await self._lock(tx, owner)
            rows = await self.graph.run(tx, CURRENT_LINK, **key, **viewer.params)
            if not rows or not rows[0]["visible"]:
                raise EditRefused("NOT_FOUND", "no such link", "target")
            _check_revision(rows[0]["revision"], revision)
            await self._deleted(tx, DELETE_LINK, "link", revision, **key)
            await self.graph.run(tx, TOMBSTONE, rows=[{"key": link_key(link), "kind": "link", "id": link_key(link),
                                                       "revision": revision + 1}],
                                 now=now(), publisher=self.directory_id)
            return Saved(audit_id(link), None, _restricted(rows[0]["visibility"]))

        return await self.graph.write_tx(work)


def _valid_link(edit: Edit, directory_id: str) -> Link:
    link, problems = validation.link(edit.row(), directory_id, validation.local_latest_day())
    _check(problems)
    assert link is not None
    return link


def link_key(link: Link) -> str:
    """A link's tombstone key (`schema`'s statements spell it alike)."""
    return f"link/{link.type}/{link.source}/{link.target}/{link.key}"


def audit_id(link: Link) -> str:
    """A link's id as reads, imports and feeds give it (`model.link_id`): one id in the audit log
    whichever channel read or changed the link."""
    return link_id(link.source, link.type, link.target, link.key)


def link_owner(link: Link) -> str:
    """Whose link it is: the vetter vouches (VETTED_BY points at the vetter); otherwise the source
    (the referrer, the partner that recorded it, the member, the donor)."""
    return link.target if link.type == "VETTED_BY" else link.source


def not_the_owner(link_type: str) -> EditRefused:
    """Refusing a link's write to anyone but the one organisation that writes it (`link_owner`)."""
    if link_type == "VETTED_BY":
        return EditRefused("FORBIDDEN", "a %(type)s link is written by the vetting organisation", type=link_type)
    return EditRefused("FORBIDDEN", "a %(type)s link is written by the organisation it starts from", type=link_type)
