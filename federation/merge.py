"""A verified page's entries written into our graph, in the publisher's namespace, with provenance.

Everything is checked before the transaction starts: each body is read strictly and must be the
record its signed entry names (an organisation or service whose id is the entry's, a service of
one of the publisher's organisations, a link from one of them). Then one transaction writes the
records as the publisher's (`publisher` = its directory id), purges tombstoned ones, keeps each
record's revision, and moves the cursor: all of the page, or none of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from directory.model import Link, Organisation, Service
from directory.store import peers
from directory.store.graph import Tx
from directory.store.records import Store
from directory.store.writes import now, write_records
from federation.bodies import BadBody, read_link, read_organisation, read_service
from federation.feed import Accepted, Refused, Verified
from federation.publish import link_id


@dataclass
class Batch:
    organisations: list[Organisation] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    provenance: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    purged: dict[str, list[Any]] = field(default_factory=lambda: {"organisation": [], "service": [], "link": []})
    revisions: dict[str, dict[str, Any]] = field(default_factory=dict)  # by PeerRecord key: the newest


def _checked(origin: str, e: Accepted) -> Organisation | Service | Link:
    assert e.body is not None
    try:
        record: Organisation | Service | Link
        if e.kind == "organisation":
            record = read_organisation(e.body)
            named = record.id
        elif e.kind == "service":
            service = read_service(e.body)
            record, named = service, service.id
            if not service.organisation.startswith(f"{origin}:"):
                raise Refused(f"entry {e.seq}: service {e.id} belongs to {service.organisation!r}, "
                              f"outside the publisher's namespace")
        else:
            link = read_link(e.body)
            record, named = link, link_id(link)
    except BadBody as exc:
        raise Refused(f"entry {e.seq}: {exc}") from None
    if named != e.id:
        raise Refused(f"entry {e.seq}: the body is {named!r}, not the signed {e.id!r}")
    return record


def batch(origin: str, audience: str, verified: Verified) -> Batch:
    """What the page changes, each record at its last entry in the page; refuses a body that lies."""
    out = Batch()
    last: dict[tuple[str, str], Accepted] = {}
    for e in verified.entries:
        last[(e.kind, e.id)] = e
        key = peers.record_key(origin, audience, e.kind, e.id)
        out.revisions[key] = {"key": key, "revision": e.revision, "live": e.op == "upsert"}
    cp = verified.checkpoint["signed"]
    fetched = now()
    for (kind, record_id), e in last.items():
        if e.op == "tombstone":
            out.purged[kind].append(_link_ends(record_id) if kind == "link" else record_id)
            continue
        if e.body is None:  # the publisher purged this body since: a tombstone for it follows in the log
            continue
        record = _checked(origin, e)
        if isinstance(record, Organisation):
            out.organisations.append(record)
        elif isinstance(record, Service):
            out.services.append(record)
        else:
            out.links.append(record)
        out.provenance[(kind, record_id)] = {
            "feed_audience": audience, "feed_seq": e.seq, "feed_revision": e.revision,
            "feed_checkpoint": f"{cp['size']}:{cp['root']}", "fetched_at": fetched,
            "redistribute": e.redistribute, "feed_stale": False,
        }
    return out


def _link_ends(record_id: str) -> dict[str, str]:
    source, kind, target, *key = record_id.split(" ", 3)
    return {"source": source, "type": kind, "target": target, "key": key[0] if key else ""}


async def write(store: Store, tx: Tx, origin: str, audience: str, b: Batch) -> None:
    """Write a batch inside the page's transaction (the caller moves the cursor in the same one)."""
    graph = store.graph
    await write_records(graph, tx, origin, b.organisations, b.services, b.links, now(), store.shelter_minimum)
    org_rows = [{"id": i, "feed": f} for (k, i), f in b.provenance.items() if k == "organisation"]
    service_rows = [{"id": i, "feed": f} for (k, i), f in b.provenance.items() if k == "service"]
    link_rows = [dict(_link_ends(i), feed=f) for (k, i), f in b.provenance.items() if k == "link"]
    if org_rows:
        await graph.run(tx, peers.SET_ORGANISATION_PROVENANCE, rows=org_rows)
    if service_rows:
        await graph.run(tx, peers.SET_SERVICE_PROVENANCE, rows=service_rows)
    if link_rows:
        await graph.run(tx, peers.SET_LINK_PROVENANCE, rows=link_rows)
    if b.purged["link"]:
        await graph.run(tx, peers.PURGE_LINKS, rows=b.purged["link"], peer=origin)
    if b.purged["service"]:
        await graph.run(tx, peers.PURGE_SERVICES, ids=b.purged["service"], peer=origin)
    if b.purged["organisation"]:
        await graph.run(tx, peers.PURGE_ORGANISATIONS, ids=b.purged["organisation"], peer=origin)
    if b.revisions:
        await graph.run(tx, peers.SET_RECORD_REVISIONS, rows=list(b.revisions.values()))
