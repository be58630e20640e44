"""A verified page's entries written into our graph, in the publisher's namespace, with provenance.

Everything is checked before the transaction starts. Each body must be the record its signed
entry names, or the page is refused. Then it is read as an import reads a row
(`federation.received`): a body that fails, a service of an organisation we do not hold from
this publisher, or a link to one, is dropped with its reason and its earlier revision withdrawn.
Then one transaction writes the records as the publisher's (`publisher` = its directory id),
purges tombstoned and dropped ones, keeps each record's revision, and moves the cursor: all of
the page, or none of it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from directory.base.clock import now
from directory.domain.model import Link, Organisation, Service, link_ends
from directory.domain.validation import Vocabulary, reach
from directory.store import TRANSACTION_TERMS, ReceivedPage, Store, index_terms, peer_record_key, prepare
from federation import received
from federation.bodies import BadBody, as_audience, link_id
from federation.feed import Accepted, Refused, Verified

MAX_SHOWN = 200  # characters of a peer's record id in a drop's reason
PAGE_REACH = 100_000
"""The places and types the services of one page may reach in all (`validation.reach`), as one
transaction writes them: a page of a thousand generated services reaches about 6,000. A heavier one
is asked for again in fewer entries (`sync`), down to one, which `validation.MAX_REACH` bounds."""
PAGE_TERMS = TRANSACTION_TERMS
"""The terms the records of one page may give the full-text indexes in all (`index_terms`), as one
transaction writes them. A heavier page is asked for again in fewer entries (`sync`), down to one,
which the fields' own limits bound."""
MAX_REASON = 600


@dataclass
class Batch:
    organisations: list[Organisation] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    provenance: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    purged: dict[str, list[Any]] = field(default_factory=lambda: {"organisation": [], "service": [], "link": []})
    # by (kind, id): the newest, with the bytes of the body kept (`size`: 0 for none, None for as it was)
    revisions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)  # entries verified but not written, and why
    reach: int = 0  # the places and types its services reach in all (`PAGE_REACH`)
    not_taken: int = 0  # entries naming records beyond the peer's limit (`sync.beyond_limit`)
    first_not_taken: int | None = None  # the first of them in the log

    def bytes_moved(self, held: Mapping[tuple[str, str], int]) -> int:
        """How the bytes we keep of the peer change with this batch, given the bytes `held` of each
        record it names that we keep (`Peer.max_bytes`)."""
        return sum((r["size"] if r["size"] is not None else held.get(record, 0)) - held.get(record, 0)
                   for record, r in self.revisions.items())

    def drop(self, kind: str, record_id: str, seq: int, reason: str, named: bool = True) -> None:
        """Not written, and the record's earlier revision withdrawn: what the peer now says of it
        is not something we can show, and showing what it said before would be older than the peer.
        The reason is the peer's text: quoted and cut short, so it cannot forge or flood a log line."""
        which = f" ({record_id[:MAX_SHOWN]!r})" if named else ""
        # its services go with an organisation (nothing shows a service without it), and its log does
        # not send them again: said, with what brings them back
        more = (", nor its services we held (`directory peer resync` takes them again once it sends a sound"
                " revision)") if kind == "organisation" else ""
        self.dropped.append(f"entry {seq}{which}: {reason[:MAX_REASON]}; not written{more}")
        if (kind, record_id) in self.revisions:
            self.revisions[(kind, record_id)]["size"] = 0
        if kind != "link":
            self.purged[kind].append(record_id)
        elif (ends := link_ends(record_id)) is not None:
            self.purged[kind].append(ends)
        self.provenance.pop((kind, record_id), None)


def _signed_id(kind: str, body: Any) -> str | None:
    """The id a body says it is, as its entry must name it; None when it does not say."""
    if not isinstance(body, dict):
        return None
    if kind != "link":
        return body.get("id") if isinstance(body.get("id"), str) else None
    parts = [body.get("source"), body.get("link_type"), body.get("target"), body.get("key")]
    texts = [p for p in parts if isinstance(p, str)]
    return " ".join(texts).rstrip() if len(texts) == len(parts) else None


def _read(origin: str, audience: str, e: Accepted, vocab: Vocabulary) -> Organisation | Service | Link:
    """The record an entry carries, checked as an import checks a row; BadBody says why not.
    Read, it must still be the record its entry names: an id that only matches once trimmed, or a
    link whose key is filled in on reading, would be written under an id the peer never signed."""
    found: Organisation | Service | Link
    if e.kind == "organisation":
        found = as_audience(received.organisation(e.body, origin, vocab, e.seq), audience)
    elif e.kind == "service":
        found = as_audience(received.service(e.body, origin, vocab, e.seq), audience)
    else:
        found = received.link(e.body, origin, e.seq)
    read_as = link_id(found) if isinstance(found, Link) else found.id
    if read_as != e.id:
        raise BadBody(e.id, "id", f"reads as {read_as[:MAX_SHOWN]!r}, not the signed id")
    return found


MAX_ENTRY_ID = 600  # a link's id: two record ids (each at most 63 + 1 + 128), its type and a key of 200


def batch(origin: str, audience: str, verified: Verified, vocab: Vocabulary,
          beyond_limit: Collection[tuple[str, str]] = (),
          over_budget: Mapping[tuple[str, str], str] | None = None) -> Batch:
    """What the page changes, each record at its last entry in the page.

    A body that is not the record its signed entry names refuses the page (the publisher signed
    a lie); a body that is that record but fails our checks is dropped, with the reason. Records
    `beyond_limit` (kind, id) are neither written nor remembered; those `over_budget` (records we
    hold whose new body would take the peer past its bytes) are dropped with the reason given."""
    out = Batch()
    last: dict[tuple[str, str], Accepted] = {}
    for e in verified.entries:
        if e.superseded:  # a newer revision we hold stays, and stays remembered
            continue
        if (e.kind, e.id) in beyond_limit:
            out.not_taken += 1
            out.first_not_taken = e.seq if out.first_not_taken is None else out.first_not_taken
            continue
        if len(e.id) > MAX_ENTRY_ID:  # kept nowhere, not even as its revision's key (a 1 MB one stuck a sync)
            out.dropped.append(f"entry {e.seq} ({e.id[:MAX_SHOWN]!r}): an id of {len(e.id):,} characters, over "
                               f"{MAX_ENTRY_ID}; not written")
            continue
        last[(e.kind, e.id)] = e
        key = peer_record_key(origin, audience, e.kind, e.id)
        out.revisions[(e.kind, e.id)] = {"key": key, "revision": e.revision, "live": e.op == "upsert",
                                         "leaf": e.leaf, "size": None if e.as_it_was else e.size}
    cp = verified.checkpoint["signed"]
    fetched = now()
    for (kind, record_id), e in last.items():
        purge_key: Any = link_ends(record_id) if kind == "link" else record_id
        if purge_key is None:
            out.drop(kind, record_id, e.seq, "is not a link id (SOURCE TYPE TARGET [KEY])")
            continue
        if e.withheld:  # the id stays out of the reason: the publisher should not have shared the record
            out.drop(kind, record_id, e.seq, e.withheld, named=False)
            continue
        if over_budget and (kind, record_id) in over_budget:
            out.drop(kind, record_id, e.seq, over_budget[(kind, record_id)])
            continue
        if e.op == "tombstone":
            out.purged[kind].append(purge_key)
            continue
        if e.as_it_was:
            continue
        if _signed_id(kind, e.body) != record_id:
            said = str(_signed_id(kind, e.body))[:MAX_SHOWN]
            raise Refused(f"entry {e.seq}: the body is {said!r}, not the signed {record_id[:MAX_SHOWN]!r}")
        try:
            record = _read(origin, audience, e, vocab)
        except BadBody as exc:
            out.drop(kind, record_id, e.seq, f"{exc.member} {exc.reason}")
            continue
        if isinstance(record, Organisation):
            out.organisations.append(record)
        elif isinstance(record, Service):
            out.services.append(record)
            out.reach += reach(record)
        else:
            out.links.append(record)
        out.provenance[(kind, record_id)] = {
            "feed_audience": audience, "feed_seq": e.seq, "feed_revision": e.revision,
            "feed_checkpoint": f"{cp['size']}:{cp['root']}", "fetched_at": fetched,
            "redistribute": e.redistribute, "feed_stale": False,
        }
    return out


async def resolve(store: Store, b: Batch) -> None:
    """Drop services and links whose organisations are neither in the page nor already received
    from this publisher (after the page's purges): nothing is written that points at nothing."""
    def seq(kind: str, record_id: str) -> int:
        return int(b.provenance.get((kind, record_id), {}).get("feed_seq", -1))

    purged = set(b.purged["organisation"])
    wanted = sorted({s.organisation for s in b.services} | {e for x in b.links for e in (x.source, x.target)})
    known = (await store.existing_organisations(wanted) - purged) | {o.id for o in b.organisations}
    kept_services = []
    for s in b.services:
        if s.organisation in known:
            kept_services.append(s)
        else:
            b.drop("service", s.id, seq("service", s.id), f"organisation {s.organisation!r} is not one of the "
                                                          "publisher's organisations we hold")
    kept_links = []
    for x in b.links:
        missing = [end for end in (x.source, x.target) if end not in known]
        if missing:
            b.drop("link", link_id(x), seq("link", link_id(x)), f"{missing[0]!r} is not one of the publisher's "
                                                                  "organisations we hold")
        else:
            kept_links.append(x)
    b.services, b.links = kept_services, kept_links


def page(origin: str, b: Batch) -> ReceivedPage:
    """What the store writes of a batch, in the page's transaction (`Store.peers.write_page`), its
    records as rows once: pure Python, so built in a thread, and their terms counted (`PAGE_TERMS`)."""
    return ReceivedPage(b.organisations, b.services, b.links, b.provenance, b.purged, list(b.revisions.values()),
                        prepare(origin, b.organisations, b.services, b.links))


def terms(page: ReceivedPage) -> int:
    """The terms a page's records give the full-text indexes (`PAGE_TERMS`)."""
    return index_terms(page.rows) if page.rows is not None else 0
