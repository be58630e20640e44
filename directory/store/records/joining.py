"""Requests to be listed: an organisation asks through a form; only stewards see it until one decides.

A request is not a record. It lives as a `JoinRequest` node that no record read, listing, map,
export, feed or backup touches; only `JoinRequests`, which answers stewards alone (anyone else is
told it does not exist). It holds the organisation as the requester typed it, checked as an import
row would be so that approving it cannot fail on its content, plus how a steward may reach them.

Anyone may ask, so asking is bounded: `PER_CLIENT` requests a day from one client, and at most
`PENDING_MAX` waiting in all. The client is kept only as a keyed hash (`JoinKey`, one random key per
store, shared by every app process; an IPv6 client by its /64), and only while its request waits.
A decision erases it with everything the requester typed: a declined request keeps only that it
was declined, when and by whom; an approved one its name and the record it made. Decided requests
are deleted after `KEPT_DAYS`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from directory.base.clock import now, store_time
from directory.domain.errors import NotFound, Plural, Problem
from directory.domain.model import Organisation
from directory.domain.validation import Row, Vocabulary, organisation
from directory.domain.viewer import Viewer
from directory.store.engine.cypher import cypher
from directory.store.engine.graph import Graph, Tx
from directory.store.records.edits import new_id

PER_CLIENT = 3  # requests a day from one client
PENDING_MAX = 200  # requests waiting for a steward, from everyone
KEPT_DAYS = 30  # a decided request is shown, then deleted
# What a request asks to be listed as: the organisation's fields an import row carries.
RECORD_FIELDS = ("name", "kind", "visibility", "country", "languages", "website", "description")
# What it adds for the steward only: how to reach them, and why they ask.
PRIVATE_FIELDS = {"contact": 300, "message": 2000}

KEY = cypher("joining.key", """
MERGE (k:JoinKey {name: 'clients'})
ON CREATE SET k.value = $value
RETURN k.value AS value
""")
# The first SET takes the key's write lock, so asks are counted one at a time: two at once cannot
# both pass a bound.
ASK = cypher("joining.ask", """
MATCH (k:JoinKey {name: 'clients'})
SET k.asked_at = $now
WITH k
OPTIONAL MATCH (mine:JoinRequest {client: $client}) WHERE mine.created_at > $since
WITH count(mine) AS mine
OPTIONAL MATCH (waiting:JoinRequest {status: 'pending'})
WITH mine, count(waiting) AS waiting
WHERE mine < $per_client AND waiting < $pending_max
CREATE (r:JoinRequest {id: $id, status: 'pending', created_at: $now, client: $client})
SET r += $fields
RETURN r.id AS id
""")
# A request sent again as it was (a form sent twice, a page reloaded) from the same client while
# the first waits is the first: taken under the same lock as a new one, so two sent at once make
# one. Only the same client's: another's answer must not tell whether such a request is waiting.
SAME = cypher("joining.same", """
MATCH (k:JoinKey {name: 'clients'})
SET k.asked_at = $now
WITH k
OPTIONAL MATCH (same:JoinRequest {status: 'pending', sent: $sent, client: $client})
RETURN same.id AS id
LIMIT 1
""")
COUNTS = cypher("joining.counts", """
OPTIONAL MATCH (mine:JoinRequest {client: $client}) WHERE mine.created_at > $since
RETURN count(mine) AS mine
""")
FORGET = cypher("joining.forget", """
MATCH (r:JoinRequest) WHERE r.status <> 'pending' AND r.decided_at < $since
DELETE r
""")
LIST = cypher("joining.list", """
MATCH (r:JoinRequest) WHERE r.status = 'pending' OR r.decided_at > $since
RETURN r {.*} AS r
ORDER BY r.created_at DESC
LIMIT 500
""")
GET = cypher("joining.get", "MATCH (r:JoinRequest {id: $id}) RETURN r {.*} AS r")
# The first SET takes the request's write lock, so two stewards deciding at once cannot both see
# it waiting: the second reads the first one's decision.
DECIDE = cypher("joining.decide", """
MATCH (r:JoinRequest {id: $id})
SET r.deciding = $now
WITH r WHERE r.status = 'pending'
SET r.status = $status, r.decided_at = $now, r.decided_by = $by, r.organisation = $organisation
REMOVE r.client, r.contact, r.message, r.sent, r.deciding, r.kind, r.visibility, r.country, r.languages, r.website,
       r.description
SET r.name = CASE WHEN $status = 'approved' THEN r.name ELSE null END
RETURN r.id AS id
""")


class TooMany(Exception):
    """Asking again now would pass a bound: `mine` is True for this client's daily bound, False for
    the bound on all waiting requests."""

    def __init__(self, mine: bool) -> None:
        super().__init__("this client asked too often today" if mine else "too many requests are waiting")
        self.mine = mine


class Refused(Exception):
    """What is wrong with a request, field by field; nothing was stored."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.column}: {p.reason}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class JoinRequest:
    id: str
    status: str  # pending | approved | declined
    created_at: str
    fields: dict[str, Any]  # RECORD_FIELDS as typed
    contact: str = ""
    message: str = ""
    decided_at: str | None = None
    decided_by: str | None = None
    organisation: str | None = None  # the record an approval made


@dataclass
class Asked:
    """A request's fields as typed: each record field's text, or a list for languages."""

    fields: dict[str, Any] = field(default_factory=dict)
    contact: str = ""
    message: str = ""


def _network(client: str) -> str:
    """Who asks, as far as a bound can tell: an IPv6 address by its /64 (one household or
    server has all of it), any other as it is."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return client
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _steward(viewer: Viewer, what: str = "") -> None:
    if viewer.role != "steward":
        raise NotFound("join request", what)


def _request(row: dict[str, Any]) -> JoinRequest:
    return JoinRequest(row["id"], row["status"], row["created_at"],
                       {k: row.get(k) for k in RECORD_FIELDS if row.get(k) not in (None, "", [])},
                       row.get("contact") or "", row.get("message") or "", row.get("decided_at"),
                       row.get("decided_by"), row.get("organisation"))


def proposed(fields: dict[str, Any], record_id: str, directory_id: str,
             vocab: Vocabulary) -> tuple[Organisation | None, list[Problem]]:
    """The organisation a request proposes, checked as an import row is."""
    cells = {k: (k, v) for k, v in fields.items() if k in RECORD_FIELDS}
    if fields.get("country"):  # a request names a country only: it is shown no more precisely
        cells["precision"] = ("precision", "country")
    record, _links, problems = organisation(Row(0, {"id": ("id", record_id), **cells}), directory_id, vocab)
    return record, problems


class JoinRequests:
    def __init__(self, graph: Graph, directory_id: str) -> None:
        self.graph = graph
        self.directory_id = directory_id
        self._key: bytes | None = None

    async def _client(self, client: str) -> str:
        if self._key is None:
            rows = await self.graph.write(KEY, value=secrets.token_hex(32))
            self._key = bytes.fromhex(rows[0]["value"])
        return hmac.new(self._key, _network(client).encode(), hashlib.sha256).hexdigest()[:32]

    async def ask(self, asked: Asked, client: str, vocab: Vocabulary) -> str:
        """Keep a request for the stewards; its id. Refused (naming each field) or TooMany: nothing kept."""
        _record, problems = proposed(asked.fields, f"{self.directory_id}:request", self.directory_id, vocab)
        for name, limit in PRIVATE_FIELDS.items():
            if len(getattr(asked, name)) > limit:
                problems.append(Problem.of(0, name, Plural("is longer than %(most)s character",
                                                           "is longer than %(most)s characters", "most"), most=limit))
        if not asked.contact:
            problems.append(Problem.of(0, "contact", "is required"))  # its label says what is needed
        if problems:
            raise Refused(problems)
        key = await self._client(client)
        since = store_time(datetime.now(UTC) - timedelta(days=1))
        stored = {k: v for k, v in asked.fields.items() if k in RECORD_FIELDS and v not in ("", [], None)}
        fields = {**stored, "contact": asked.contact, "message": asked.message}
        sent = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()

        async def work(tx: Tx) -> list[dict[str, Any]]:
            same = await self.graph.run(tx, SAME, now=now(), sent=sent, client=key)
            if same and same[0]["id"]:
                return same
            return await self.graph.run(tx, ASK, id=secrets.token_hex(8), now=now(), client=key, since=since,
                                        per_client=PER_CLIENT, pending_max=PENDING_MAX,
                                        fields={**fields, "sent": sent})

        rows = await self.graph.write_tx(work)
        if not rows:
            mine = (await self.graph.read(COUNTS, client=key, since=since))[0]["mine"]
            raise TooMany(mine >= PER_CLIENT)
        return str(rows[0]["id"])

    async def list(self, viewer: Viewer) -> list[JoinRequest]:
        """Waiting requests, and those decided in the last 30 days (stewards only); older decisions
        are deleted here, so a decided request is gone within 30 days of the next look."""
        _steward(viewer)
        since = store_time(datetime.now(UTC) - timedelta(days=KEPT_DAYS))
        await self.graph.write(FORGET, since=since)
        return [_request(r["r"]) for r in await self.graph.read(LIST, since=since)]

    async def get(self, viewer: Viewer, request_id: str) -> JoinRequest:
        _steward(viewer, request_id)
        rows = await self.graph.read(GET, id=request_id)
        if not rows:
            raise NotFound("join request", request_id)
        return _request(rows[0]["r"])

    async def decline(self, viewer: Viewer, request_id: str) -> None:
        """Mark a waiting request declined, forgetting its client, contact and message."""
        _steward(viewer, request_id)
        if not await self.graph.write(DECIDE, id=request_id, status="declined", now=now(), by=viewer.who,
                                      organisation=None):
            raise NotFound("waiting join request", request_id)

    async def approve(self, tx: Tx, viewer: Viewer, request_id: str, visibility: str | None,
                      vocab: Vocabulary) -> Organisation:
        """Inside the caller's transaction: the organisation a waiting request proposes (with the
        steward's choice of visibility), the request marked approved. The caller writes the record
        in the same transaction, so both happen or neither."""
        _steward(viewer, request_id)
        rows = await self.graph.run(tx, GET, id=request_id)
        if not rows or rows[0]["r"]["status"] != "pending":
            raise NotFound("waiting join request", request_id)
        fields = _request(rows[0]["r"]).fields
        record, problems = proposed({**fields, **({"visibility": visibility} if visibility else {})},
                                    new_id(self.directory_id),
                                    self.directory_id, vocab)
        if record is None:
            raise Refused(problems)
        if not await self.graph.run(tx, DECIDE, id=request_id, status="approved", now=now(), by=viewer.who,
                                    organisation=record.id):
            raise NotFound("waiting join request", request_id)
        return record
