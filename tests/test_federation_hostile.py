"""A hostile peer that signs everything correctly (issue 14, the protocol half): each case is given
what such a peer serves, and expects the reader to refuse it with its own error, or to quarantine
it with evidence, or to keep every other peer going. Pages and roots come from tests/feeds.py, which
signs what it is given; over HTTP they are served by tests/peer_server.py."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from directory.domain.model import Location, Organisation, Precision, Visibility
from directory.domain.viewer import STEWARD
from directory.store import Store
from directory.store.federation import peers
from federation import bodies, fetch, merkle, service
from federation.canonical import NotCanonical, canonical, parse
from federation.feed import (
    MAX_CHECKPOINT_VALIDITY,
    MAX_PAGE_ENTRIES,
    Equivocation,
    PeerState,
    Refused,
    verify_page,
)
from federation.fetch import Unreachable, signed_request
from federation.keys import (
    MAX_ROOT_AHEAD,
    Root,
    SigningKey,
    Untrusted,
    check_root_dates,
    first_root,
    format_time,
    next_root,
    parse_time,
    read_request,
    require,
    seal,
    unb64,
)
from federation.publish import PAGE_LIMIT
from federation.sync import Syncer, announced_version, named_records
from tests.conftest import LiveServer
from tests.feeds import Publisher
from tests.peer_server import Peer

pytestmark = pytest.mark.anyio
ORIGIN = "peer.example"
NOW = datetime(2026, 11, 21, 12, 30, tzinfo=UTC)  # tests/feeds.py issues checkpoints at 12:00
READERS_ERRORS = (Refused, Untrusted, NotCanonical)
SURROGATE = "\ud800"  # what the JSON escape \ud800 reads as: a lone surrogate, not Unicode text
# a value of every JSON type, and the edges a reader must not trip on
VALUES: list[Any] = [None, True, False, 0, -5, 2**53 - 1, "", "x", SURROGATE, "2026-W48-2T12:00:00Z",
                     [], [1, "a"], {}, {"a": SURROGATE}]
MISSING = object()  # the member removed


def nothing_stored(kind: str, record: str) -> int | None:
    return None


def publisher(n: int = 4) -> Publisher:
    p = Publisher()
    for i in range(n):
        p.add(f"org{i}")
    return p


# -- 1. whatever the members hold, only the reader's own errors come out -----------------------------

def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every member and item of a document, outermost first."""
    if isinstance(value, dict):
        for key in value:
            yield (*prefix, key)
            yield from paths(value[key], (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield (*prefix, i)
            yield from paths(item, (*prefix, i))


def mutated(document: Any, path: tuple[Any, ...], value: Any, keys: Callable[[tuple[Any, ...]], list[SigningKey]]
            ) -> Any:
    """The document with the member at `path` replaced (or removed), and every envelope around it signed
    again, as a hostile publisher would sign what it chose to write. A lone surrogate cannot be signed
    (its canonical bytes do not exist): that envelope keeps its old signatures."""
    out = copy.deepcopy(document)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    if value is MISSING:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(value)
    for i in range(len(path) - 1, -1, -1):
        if path[i] == "signed":
            envelope = out
            for step in path[:i]:
                envelope = envelope[step]
            if isinstance(envelope, dict) and isinstance(envelope.get("signed"), dict):
                try:
                    envelope["signatures"] = seal(envelope["signed"], keys(path[:i]))["signatures"]
                except NotCanonical:
                    pass
    return out


def cases(document: Any) -> Iterator[tuple[tuple[Any, ...], Any]]:
    for path in paths(document):
        for value in [*VALUES, MISSING]:
            yield path, value


def only_readers_errors(read: Callable[[Any], Any], document: Any) -> int:
    """Reads the document as parsed from its bytes (strict) and as handed over in memory, and returns how
    many were refused; anything but the reader's own errors fails the test, naming the case."""
    refused = 0
    try:
        data = canonical(document)
    except NotCanonical:  # a lone surrogate: the peer can only send it escaped, as JSON allows
        data = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    for attempt in (lambda: read(parse(data, "the document")), lambda: read(document)):
        try:
            attempt()
        except READERS_ERRORS:
            refused += 1
    return refused


def test_1_every_member_of_a_page_replaced_by_any_json_value_gives_only_the_readers_errors() -> None:
    p = publisher(6)
    kept = verify_page(p.root, "public", p.page(0, 2), PeerState(), NOW, nothing_stored).state
    page = p.page(2, 2)  # two entries, a consistency proof, a checkpoint, against a kept state
    assert page["proof"] and page["entries"][0]["body"]
    refused = total = 0
    for path, value in cases(page):
        document = mutated(page, path, value, lambda _: p.online)
        for state in (PeerState(), kept):
            try:
                refused += only_readers_errors(lambda d, s=state: (  # what sync reads first, then the page
                    named_records(d), verify_page(p.root, "public", d, s, NOW, nothing_stored)), document)
            except Exception as exc:
                raise AssertionError(f"{path} = {value!r}: {type(exc).__name__}: {exc}") from exc
            total += 2
    assert total > 1000 and refused > total * 0.7


def test_1_every_member_of_a_root_replaced_by_any_json_value_gives_only_the_readers_errors() -> None:
    p = Publisher()
    envelope = p.root_envelope()
    successor = dict(p.root.signed(), version=2)
    rotation = seal(successor, p.root_keys[:2])
    for path, value in cases(envelope):
        document = mutated(envelope, path, value, lambda _: p.root_keys[:2])
        try:
            only_readers_errors(lambda d: first_root(d, p.root.fingerprint), document)
        except Exception as exc:
            raise AssertionError(f"{path} = {value!r}: {type(exc).__name__}: {exc}") from exc
    for path, value in cases(rotation):
        document = mutated(rotation, path, value, lambda _: p.root_keys[:2])
        try:
            only_readers_errors(lambda d: next_root(p.root, d), document)
        except Exception as exc:
            raise AssertionError(f"{path} = {value!r}: {type(exc).__name__}: {exc}") from exc


def test_1_a_root_with_a_null_version_or_a_true_threshold_is_untrusted() -> None:
    p = Publisher()
    for member, value in (("version", None), ("root_threshold", True), ("directory", 5), ("expires", [])):
        signed = dict(p.root.signed(), **{member: value})
        with pytest.raises(Untrusted, match=member):
            first_root(seal(signed, p.root_keys[:2]), p.root.fingerprint)


def test_1_every_member_of_a_signed_request_replaced_by_any_json_value_gives_only_the_readers_errors() -> None:
    key = SigningKey.generate()
    path = "/federation/feeds/network?after=0"
    envelope = parse(unb64(signed_request("beta", "alpha", path, [key], NOW)["PD-Request"], "header"))

    def read(document: Any) -> None:
        read_request(document, "alpha", "GET", path, NOW, timedelta(minutes=5))
        require(document, {key.id: key.public}, 1, "the request")

    read(envelope)  # as signed, it reads
    for where, value in cases(envelope):
        try:
            only_readers_errors(read, mutated(envelope, where, value, lambda _: [key]))
        except Exception as exc:
            raise AssertionError(f"{where} = {value!r}: {type(exc).__name__}: {exc}") from exc


@pytest.mark.parametrize("raw", [
    b"[" * 200_000, b"\xff\xfe", b"null", b"[]", b'"root"', b'{"root": 5}', b'{"root": {"version": null}}',
    b'{"root": {"version": true}}', b'{"root": {"version": 0}}', b'{"root": {"version": "2"}}',
    b'{"root": {"version": 1e400}}', b'{"root": {"version": ' + b"9" * 5000 + b"}}",
    b'{"root": {"version": "\\ud800"}}', b'{"root": {"\\ud800": 1}}',
])
def test_1_a_discovery_document_of_any_shape_is_refused_by_the_reader(raw: bytes) -> None:
    with pytest.raises(Refused, match="does not say its root's version"):
        announced_version(raw, "https://peer.example")


def test_1_a_lone_surrogate_anywhere_is_not_canonical_never_a_unicode_error() -> None:
    for data in (b'{"a":"\\ud800"}', b'{"\\udfff":1}', b'["\\ud800\\ud800"]', b'{"a":{"b":["x\\udc00"]}}'):
        with pytest.raises(NotCanonical, match="lone surrogate"):
            parse(data, "a page")
    with pytest.raises(NotCanonical, match="lone surrogate"):
        canonical({"\U0001f600": SURROGATE})  # the slow path, for keys beyond the Basic Multilingual Plane


def test_1_an_entry_without_its_envelope_or_a_checkpoint_with_signatures_5_is_refused() -> None:
    p = publisher(2)
    page = p.page()
    page["entries"][1] = {"entry": [], "body": None}
    with pytest.raises(Refused, match="entry 1: not a signed entry"):
        verify_page(p.root, "public", page, PeerState(), NOW, nothing_stored)
    page = p.page()
    page["checkpoint"]["signatures"] = 5
    with pytest.raises(Refused, match="signatures are not a list"):
        verify_page(p.root, "public", page, PeerState(), NOW, nothing_stored)


# -- 2. a checkpoint or a root valid for too long ----------------------------------------------------

def test_2_a_checkpoint_valid_until_9999_is_refused_and_seven_days_is_the_longest() -> None:
    p = publisher(2)
    for expires in ("9999-12-31T23:59:59Z", format_time(datetime(2026, 11, 21, 12, tzinfo=UTC)
                                                        + MAX_CHECKPOINT_VALIDITY + timedelta(seconds=1))):
        with pytest.raises(Refused, match="within 7 days"):
            verify_page(p.root, "public", p.page(checkpoint=p.checkpoint(expires=expires)), PeerState(), NOW,
                        nothing_stored)
    longest = p.checkpoint(expires="2026-11-28T12:00:00Z")
    assert verify_page(p.root, "public", p.page(checkpoint=longest), PeerState(), NOW, nothing_stored).state.cursor == 2
    for backwards in ("2026-11-21T12:00:00Z", "2026-11-21T11:00:00Z"):  # expiring when issued, or before
        with pytest.raises(Refused, match="expires after it is issued"):
            verify_page(p.root, "public", p.page(checkpoint=p.checkpoint(expires=backwards)), PeerState(), NOW,
                        nothing_stored)


def test_2_a_root_valid_more_than_two_years_ahead_or_expired_is_refused() -> None:
    root = Publisher().root  # expires 2027-11-21: a year ahead of NOW
    check_root_dates(root, NOW)
    for expires in ("9999-12-31T23:59:59Z", format_time(NOW + MAX_ROOT_AHEAD + timedelta(seconds=1))):
        with pytest.raises(Untrusted, match="days ahead"):
            check_root_dates(Root(**{**root.__dict__, "expires": expires}), NOW)
    with pytest.raises(Untrusted, match="expired"):
        check_root_dates(root, datetime(2027, 11, 21, tzinfo=UTC))


# -- 3. the page limit -------------------------------------------------------------------------------

def test_3_a_page_of_more_than_1000_entries_is_refused_and_1000_is_read() -> None:
    assert MAX_PAGE_ENTRIES == PAGE_LIMIT == 1000  # what we serve is what we read
    p = publisher(MAX_PAGE_ENTRIES + 1)
    with pytest.raises(Refused, match="at most 1000"):
        verify_page(p.root, "public", p.page(0, MAX_PAGE_ENTRIES + 1), PeerState(), NOW, nothing_stored)
    done = verify_page(p.root, "public", p.page(0, MAX_PAGE_ENTRIES), PeerState(), NOW, nothing_stored)
    assert done.state.cursor == MAX_PAGE_ENTRIES


def test_3_a_page_below_its_checkpoint_with_no_entry_is_refused_not_fetched_forever() -> None:
    p = publisher(4)
    state = verify_page(p.root, "public", p.page(0, 2), PeerState(), NOW, nothing_stored).state
    empty = p.page(2, 2)
    empty["entries"] = []
    empty["proof"] = [h.hex() for h in merkle.consistency_proof(p.leaves(), 2)]  # a valid proof, and no progress
    with pytest.raises(Refused, match="no entry"):
        verify_page(p.root, "public", empty, state, NOW, nothing_stored)


# -- 4. times are RFC 3339 in UTC, one spelling ------------------------------------------------------

@pytest.mark.parametrize("text", ["2026-W48-2T12:00:00Z", "2026-325T12:00:00Z", "20261121T120000Z",
                                  "2026-11-21T12:00:00+00:00", "2026-11-21T12:00:00", "2026-11-21 12:00:00Z",
                                  "2026-11-21t12:00:00z", "2026-11-21T12:00Z", "2026-11-21T24:00:00Z",
                                  "2026-02-30T12:00:00Z", "2026-11-21T12:00:60Z",
                                  "\uff12\uff10\uff12\uff16-11-21T12:00:00Z", "2026-11-21T12:00:00.Z",
                                  "2026-11-21T12:00:00Z\n", "", SURROGATE, None, 5])
def test_4_anything_but_rfc_3339_utc_is_not_a_time(text: Any) -> None:
    with pytest.raises(Untrusted):
        parse_time(text, "issued")


def test_4_rfc_3339_utc_with_or_without_a_fraction_is_a_time() -> None:
    assert parse_time("2026-11-21T12:00:00Z", "t") == datetime(2026, 11, 21, 12, tzinfo=UTC)
    assert parse_time("2026-11-21T12:00:00.1234567Z", "t") == datetime(2026, 11, 21, 12, 0, 0, 123456, tzinfo=UTC)


def test_4_a_week_date_is_refused_in_checkpoints_roots_and_signed_requests() -> None:
    p = publisher(2)
    with pytest.raises(Refused, match="RFC 3339"):
        verify_page(p.root, "public", p.page(checkpoint=p.checkpoint(issued="2026-W47-6T12:00:00Z")), PeerState(),
                    NOW, nothing_stored)
    signed = dict(p.root.signed(), expires="2027-W47-7T00:00:00Z")
    with pytest.raises(Untrusted, match="RFC 3339"):
        first_root(seal(signed, p.root_keys[:2]), p.root.fingerprint)
    key = SigningKey.generate()
    request = seal({"type": "pd-request", "from": "beta", "to": "alpha", "method": "GET", "path": "/x",
                    "time": "2026-W47-6T12:30:00Z"}, [key])
    with pytest.raises(Untrusted, match="RFC 3339"):
        read_request(request, "alpha", "GET", "/x", NOW, timedelta(minutes=5))


# -- 5. revisions count from 1 -----------------------------------------------------------------------

@pytest.mark.parametrize("revision", [0, -5])
def test_5_a_revision_below_1_is_refused(revision: int) -> None:
    p = Publisher()
    p.add("a", revision=revision)
    with pytest.raises(Refused, match="below 1"):
        verify_page(p.root, "public", p.page(), PeerState(), NOW, nothing_stored)


# -- 6. the fork rule --------------------------------------------------------------------------------

def forked(p: Publisher, keep: int, size: int) -> Publisher:
    """The same keys, the first `keep` entries, then another history up to `size`."""
    fork = Publisher(directory=p.directory, root_keys=p.root_keys, online=p.online,
                     items=copy.deepcopy(p.items[:keep]))
    for i in range(keep, size):
        fork.add(f"other{i}", body=org_body(p.directory, f"other{i}"))
    return fork


def test_6_a_fork_seen_from_a_cursor_past_the_forked_size_is_equivocation() -> None:
    p = publisher(3)
    state = verify_page(p.root, "public", p.page(), PeerState(), NOW, nothing_stored).state  # caught up at 3
    fork = forked(p, 1, 5)  # entries 1 and 2 rewritten; the reader asks from 3
    with pytest.raises(Equivocation, match="does not extend"):
        verify_page(p.root, "public", fork.page(3), state, NOW, nothing_stored)


def test_6_what_is_not_evidence_of_a_fork_is_refused_not_quarantined() -> None:
    p = publisher(8)
    state = verify_page(p.root, "public", p.page(0, 3), PeerState(), NOW, nothing_stored).state  # a kept checkpoint
    honest = verify_page(p.root, "public", p.page(3, 5), state, NOW, nothing_stored).state
    p.add("org8")
    p.add("org9")
    bad_proof = p.page(8, 1)  # the proof is not signed: a wrong one is a broken page, not a fork
    bad_proof["proof"][0] = "0" * 64
    bad_entry = p.page(8)
    bad_entry["entries"][1]["entry"]["signatures"][0]["sig"] = p.items[0]["entry"]["signatures"][0]["sig"]
    bad_seq = p.page(8)
    bad_seq["entries"] = bad_seq["entries"][1:] + bad_seq["entries"][:1]
    for page in (bad_proof, bad_entry, bad_seq):
        with pytest.raises(Refused) as caught:
            verify_page(p.root, "public", page, honest, NOW, nothing_stored)
        assert not isinstance(caught.value, Equivocation), caught.value
    first = forked(p, 0, 3)  # nothing verified yet: signed entries that miss the root are only refused
    wrong = first.page(checkpoint=p.checkpoint(size=3))
    with pytest.raises(Refused) as caught:
        verify_page(p.root, "public", wrong, PeerState(), NOW, nothing_stored)
    assert not isinstance(caught.value, Equivocation)
    empty = p.page(checkpoint=p.checkpoint(size=0))
    empty["checkpoint"] = seal(dict(empty["checkpoint"]["signed"], root="ab" * 32), p.online)
    with pytest.raises(Refused, match="empty log") as caught:
        verify_page(p.root, "public", {**empty, "entries": []}, PeerState(), NOW, nothing_stored)
    assert not isinstance(caught.value, Equivocation)


# -- over HTTP: the sync -----------------------------------------------------------------------------

async def add(store: Store, peer: Peer, url: str, peer_id: str = ORIGIN) -> None:
    await peers.add(store.graph, peers.Peer(peer_id, url, "sha256:given-out-of-band",
                                            canonical(peer.roots[0]).decode(), 1, False, 100, "2026-11-21T00:00:00Z"))


def org_body(directory: str, local: str) -> dict[str, Any]:
    o = Organisation(id=f"{directory}:{local}", name=local.title(), kind="local-group", visibility=Visibility.PUBLIC,
                     languages=["es"], location=Location(4.6, -74.1, Precision.COUNTRY, "CO"))
    return bodies.organisation_body(o, "public")


def served(n: int = 3, directory: str = ORIGIN) -> Peer:
    p = Publisher(directory=directory)
    for i in range(n):
        p.add(f"org{i}", body=org_body(directory, f"org{i}"))
    return Peer(p)


async def lease_is_free(store: Store, peer_id: str) -> bool:
    return await peers.claim(store.graph, peer_id, "someone-else", format_time(NOW), format_time(NOW))


async def test_1_an_entry_that_is_an_empty_list_is_refused_with_backoff_over_http(store: Store) -> None:
    peer = served(3)
    peer.checkpoint = peer.publisher.checkpoint()
    peer.publisher.items[2] = {"entry": [], "body": None}  # signed checkpoint, one entry that is no entry
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [outcome] = await Syncer(store, clock=lambda: NOW).sync_all()
    assert outcome.error == "entry 2: not a signed entry"
    p = await peers.one(store.graph, ORIGIN)
    assert p is not None and p.failures == 1 and p.next_attempt > format_time(NOW)


class FrozenRoot(Publisher):
    @property
    def root(self) -> Root:
        return Root(**{**super().root.__dict__, "expires": "9999-12-31T23:59:59Z"})


async def test_2_a_peer_whose_root_is_valid_until_9999_is_refused_at_sync(store: Store) -> None:
    peer = Peer(FrozenRoot(directory=ORIGIN))
    peer.publisher.add("org0")
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [outcome] = await Syncer(store, clock=lambda: NOW).sync_all()
    assert "valid until 9999-12-31T23:59:59Z" in outcome.error and outcome.entries == 0


async def test_6_a_fork_past_the_cursor_quarantines_with_both_checkpoints_as_evidence(store: Store) -> None:
    peer = served(3)
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [first] = await Syncer(store, clock=lambda: NOW).sync_all()
        assert first.entries == 3
        peer.publisher = forked(peer.publisher, 1, 5)
        [outcome] = await Syncer(store, clock=lambda: NOW).sync_all(force=True)
    assert outcome.quarantined and "does not extend" in outcome.error
    p = await peers.one(store.graph, ORIGIN)
    assert p is not None and p.quarantined
    evidence = {k: parse(v.encode())["signed"] for k, v in json.loads(p.evidence).items()}
    assert (evidence["kept"]["size"], evidence["offered"]["size"]) == (3, 5)  # both signed, both kept


class Crashing(Syncer):
    """A sync that meets a bug for one peer: an exception of a type no handler expects."""

    async def _pull(self, http: Any, peer: peers.Peer, root: Root, outcome: Any) -> None:
        if peer.id == "crash.example":
            raise ZeroDivisionError("a bug met in \x1b[31mpeer-chosen text")
        await super()._pull(http, peer, root, outcome)


async def check_isolated(store: Store, run: Callable[[], Any], caplog: pytest.LogCaptureFixture) -> None:
    good, bad = served(3), served(1, "crash.example")
    with LiveServer(app=good.app()) as good_server, LiveServer(app=bad.app()) as bad_server:
        await add(store, good, good_server.url)
        await add(store, bad, bad_server.url, "crash.example")
        with caplog.at_level(logging.WARNING, logger="directory.federation"):
            await run()
        crashed = await peers.one(store.graph, "crash.example")
        fine = await peers.one(store.graph, ORIGIN)
        assert fine is not None and fine.last_error == "" and fine.last_success
        assert await store.organisations_by_id(STEWARD, [f"{ORIGIN}:org0"])  # the other peer synced
        assert crashed is not None and crashed.failures == 1 and crashed.next_attempt > format_time(NOW)
        assert crashed.last_error.startswith("ZeroDivisionError: a bug met in")
        assert await lease_is_free(store, "crash.example") and await lease_is_free(store, ORIGIN)
        ours = [r for r in caplog.records if r.name == "directory.federation"]
        logged = [r for r in ours if "crash.example" in r.getMessage()]
        assert logged and all(r.exc_info is None for r in ours)  # no traceback above debug
        assert "ZeroDivisionError" in logged[0].getMessage()
        await peers.release(store.graph, "crash.example", "someone-else")
        await peers.release(store.graph, ORIGIN, "someone-else")
        bad.hits.clear()
        outcomes = await Crashing(store, clock=lambda: NOW).sync_all()  # before its next attempt: not tried
        assert [o.peer for o in outcomes] == [ORIGIN] and bad.hits == []


async def test_7_a_crashing_peer_in_peer_sync_stops_no_other_and_is_backed_off(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> None:
        outcomes = {o.peer: o for o in await Crashing(store, clock=lambda: NOW).sync_all(force=True)}
        assert outcomes[ORIGIN].entries == 3 and outcomes[ORIGIN].error == ""
        assert outcomes["crash.example"].error.startswith("ZeroDivisionError")

    await check_isolated(store, run, caplog)


async def test_7_a_crashing_peer_in_the_serve_cycle_stops_no_other_and_is_backed_off(
        store: Store, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "Syncer", lambda store, keys: Crashing(store, keys, clock=lambda: NOW))

    async def run() -> None:
        pulls = await service.cycle(store, None, [])
        await asyncio.gather(*pulls)

    await check_isolated(store, run, caplog)


async def test_7_a_peer_whose_failure_cannot_even_be_noted_stops_no_other(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    note = peers.note

    async def broken_note(graph: Any, peer_id: str, **changes: Any) -> None:
        if peer_id == "crash.example":
            raise KeyError("the store failed too")
        await note(graph, peer_id, **changes)

    monkeypatch.setattr(peers, "note", broken_note)
    good, bad = served(3), served(1, "crash.example")
    with LiveServer(app=good.app()) as good_server, LiveServer(app=bad.app()) as bad_server:
        await add(store, good, good_server.url)
        await add(store, bad, bad_server.url, "crash.example")
        outcomes = {o.peer: o for o in await Crashing(store, clock=lambda: NOW).sync_all()}
    assert outcomes[ORIGIN].entries == 3
    # the failure first, then that it could not be noted (the outcome kept, with what it merged before)
    failed = outcomes["crash.example"].error
    assert failed.startswith("ZeroDivisionError") and "could not be noted: KeyError" in failed
    assert await lease_is_free(store, "crash.example")


async def test_1_a_gzip_stream_that_does_not_inflate_is_unreachable_not_a_crash() -> None:
    async def garbage(request: Any) -> Response:
        return Response(b"\x1f\x8b\x08\x00" + b"not deflate" * 10, headers={"Content-Encoding": "gzip"})

    app = Starlette(routes=[Route("/page", garbage)])
    with LiveServer(app=app) as server, pytest.raises(Unreachable, match="gzip"):
        async with fetch.client() as http:
            await fetch.get(http, f"{server.url}/page", fetch.PAGE_CAP)


@pytest.mark.parametrize("digits", [17, 4301, 50_000])
def test_an_integer_too_long_for_json_numbers_is_refused_before_python_converts_it(digits: int) -> None:
    with pytest.raises(NotCanonical, match=f"an integer of {digits} digits is beyond 2\\^53"):
        parse(b'{"a":' + b"7" * digits + b"}")


async def test_a_signed_request_holding_a_huge_integer_is_refused_not_a_server_error(
        store: Store, settings: Any, tmp_path: Any) -> None:
    import base64

    import httpx

    from directory.base.config import Settings
    from federation.identity import write_keys

    write_keys(tmp_path / "online", [SigningKey.generate()])  # a publishing directory: it serves feeds
    publishing = Settings(data_dir=settings.data_dir, directory_id="test", federation_key_dir=tmp_path / "online")
    header = base64.urlsafe_b64encode(b'{"a":' + b"1" * 5000 + b"}").rstrip(b"=").decode()
    with LiveServer(publishing) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            answer = await client.get("/federation/feeds/network?after=0", headers={"PD-Request": header})
    assert answer.status_code == 403


@pytest.mark.parametrize("expires, status", [(timedelta(days=30), 200), (timedelta(seconds=-1), 403)])
async def test_a_network_partner_whose_pinned_root_expired_reads_our_network_feed_no_more(
        store: Store, settings: Any, tmp_path: Any, expires: timedelta, status: int) -> None:
    import httpx

    from directory.base.config import Settings
    from federation.identity import write_keys

    write_keys(tmp_path / "online", [SigningKey.generate()])  # a publishing directory: it serves feeds
    publishing = Settings(data_dir=settings.data_dir, directory_id="test", federation_key_dir=tmp_path / "online")
    partner = Publisher(directory="beta")
    now = datetime.now(UTC)
    root = seal(dict(partner.root.signed(), expires=format_time(now + expires)), partner.root_keys[:2])
    await peers.add(store.graph, peers.Peer("beta", "https://beta.example", "sha256:given-out-of-band",
                                            canonical(root).decode(), 1, True, 100, format_time(now)))
    path = "/federation/feeds/network?after=0"
    with LiveServer(publishing) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            answer = await client.get(path, headers=signed_request("beta", "test", path, partner.online, now))
    assert answer.status_code == status, answer.text[:200]


async def test_a_slow_peer_holds_up_neither_the_serve_cycle_nor_another_peer(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "Syncer", lambda store, keys: Syncer(store, keys, clock=lambda: NOW))
    slow, fast = served(1, "slow.example"), served(3)
    slow.mode = "trickle"  # half a second a byte: a page takes minutes, each byte within every timeout
    with LiveServer(app=slow.app()) as slow_server, LiveServer(app=fast.app()) as fast_server:
        await add(store, slow, slow_server.url, "slow.example")
        await add(store, fast, fast_server.url)
        pulls = service.Pulls()
        started = await asyncio.wait_for(service.cycle(store, None, [], pulls), timeout=10)  # does not wait
        assert len(started) == 2
        await asyncio.wait_for(pulls.running[ORIGIN], timeout=60)
        assert await store.organisations_by_id(STEWARD, [f"{ORIGIN}:org0"])  # merged while the slow one trickles
        trickling = pulls.running["slow.example"]
        assert not trickling.done()
        again = await asyncio.wait_for(service.cycle(store, None, [], pulls), timeout=10)
        assert trickling not in again and pulls.running["slow.example"] is trickling  # not pulled twice
        await asyncio.gather(*again)
        trickling.cancel()
        await asyncio.gather(trickling, return_exceptions=True)
    assert await lease_is_free(store, "slow.example")


# -- 8. a page that reaches too far to write at once -------------------------------------------------

def wide_service(directory: str, local: str, places_: list[str]) -> dict[str, Any]:
    from directory.domain.model import Coverage, Presence, Service
    s = Service(id=f"{directory}:{local}", organisation=f"{directory}:org0", name=local.title(), type="legal-aid",
                visibility=Visibility.PUBLIC, coverage=[Coverage(p, Presence.PRESENT) for p in places_])
    return bodies.service_body(s, "public")


async def test_8_a_page_reaching_too_far_is_asked_for_again_in_fewer_entries_and_all_of_it_is_written(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every service within its own bound, but together more than one transaction should hold: the
    reader asks for smaller pages (nothing written from the heavy one) and merges every entry."""
    from directory.domain import places as known
    from directory.domain.validation import reach
    from federation import merge
    monkeypatch.setattr(merge, "PAGE_REACH", 500)
    subdivisions = [s.code for s in known.subdivisions_of("CO")][:30]  # each reached twice: 3 a place
    p = Publisher(directory=ORIGIN)
    p.add("org0", body=org_body(ORIGIN, "org0"))
    for i in range(12):
        p.add(f"s{i}", kind="service", body=wide_service(ORIGIN, f"s{i}", subdivisions))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [outcome] = await Syncer(store, clock=lambda: NOW).sync_all()
    assert not outcome.error and outcome.entries == 13 and outcome.dropped == 0
    assert any("limit=" in hit for hit in peer.hits)  # asked again in fewer entries
    written = (await store.services_of(STEWARD, [f"{ORIGIN}:org0"]))[f"{ORIGIN}:org0"]
    assert len(written) == 12 and all(reach(s) == 90 for s in written)


def heavy_for_the_indexes(monkeypatch: pytest.MonkeyPatch) -> Publisher:
    """Twelve organisations, each with six aliases of 300 ideographs (a term a character), and a
    page's bound on terms made small enough that they do not fit in one."""
    import random

    from federation import merge
    monkeypatch.setattr(merge, "PAGE_TERMS", 20_000)
    chance = random.Random(8)
    p = Publisher(directory=ORIGIN)
    for i in range(12):
        body = org_body(ORIGIN, f"org{i}")
        body["aliases"] = ["".join(chr(0x4E00 + chance.randrange(20_000)) for _ in range(300)) for _ in range(6)]
        p.add(f"org{i}", body=body)
    return p


def forgets_counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many services each transaction deleting a peer's services ahead of a page deleted."""
    from directory.store.federation import received
    forgotten: list[int] = []
    forget = received._forget_quietly

    async def counted(graph: Any, origin: str, ids: list[str], tx: Any) -> None:
        forgotten.append(len(ids))
        await forget(graph, origin, ids, tx)

    monkeypatch.setattr(received, "_forget_quietly", counted)
    return forgotten


async def test_8_a_page_of_ideographs_heavy_for_the_search_indexes_is_asked_for_again_in_fewer_entries(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile read: 90 organisations each with fifty aliases of 300 ideographs (60 kB a body, well
    inside every byte bound) gave the full-text indexes two million terms in one transaction and ran
    the embedded store out of memory on every sync. The page's terms are counted before anything is
    written (`merge.PAGE_TERMS`, made small here) and the page asked for again in fewer entries."""
    p = heavy_for_the_indexes(monkeypatch)
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [outcome] = await Syncer(store, clock=lambda: NOW).sync_all()
    assert not outcome.error and outcome.entries == 12 and outcome.dropped == 0
    assert any("limit=" in hit for hit in peer.hits)  # asked again in fewer entries
    held = await store.organisations_by_id(STEWARD, [f"{ORIGIN}:org{i}" for i in range(12)])
    assert len(held) == 12 and all(len(o.aliases) == 6 for o in held.values())


async def test_8_what_a_page_overwrites_or_purges_counts_as_what_it_writes(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile peer's read: records are unindexed, and their places deleted, in the transaction that
    overwrites or purges them, and only what a page wrote was counted. A page of tombstones of heavy
    records is asked for again in fewer entries, as the page that wrote them was."""
    p = heavy_for_the_indexes(monkeypatch)
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [first] = await Syncer(store, clock=lambda: NOW).sync_all()
        assert not first.error and first.entries == 12
        for i in range(12):
            p.add(f"org{i}", revision=2, op="tombstone")
        asked_before = len(peer.hits)
        [second] = await Syncer(store, clock=lambda: NOW).sync_all()
    assert not second.error and second.entries == 12
    assert any("limit=" in hit for hit in peer.hits[asked_before:])  # the tombstones in smaller pages
    assert await store.organisations_by_id(STEWARD, [f"{ORIGIN}:org{i}" for i in range(12)]) == {}


async def many_services_then(store: Store, p: Publisher, places_: list[str], then: Callable[[], None]) -> Any:
    """`p`'s organisation org0 given more services than one transaction deletes, each in `places_`,
    synced; then `then` changes the log, and the second sync's outcome."""
    for i in range(peers.PURGE_BATCH + 5):
        p.add(f"s{i}", kind="service", body=wide_service(ORIGIN, f"s{i}", places_))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [first] = await Syncer(store, clock=lambda: NOW).sync_all()
        assert not first.error and first.dropped == 0
        then()
        [second] = await Syncer(store, clock=lambda: NOW).sync_all()
    return second


async def test_8_an_organisations_tombstone_deletes_its_services_ahead_in_bounded_transactions(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile peer's read: one tombstone of an organisation with 400 services each reaching 4,600
    places and types deleted 1.85 million relationships in one transaction, 117 s of the store's 120:
    a few more and every retry would time out, and the peer's feed stop for good. Its services go
    first, their relationships a bounded number a transaction, then the services in batches."""
    from directory.domain import places as known
    forgotten = forgets_counted(monkeypatch)
    subdivisions = [s.code for s in known.subdivisions_of("CO")][:10]
    p = Publisher(directory=ORIGIN)
    p.add("org0", body=org_body(ORIGIN, "org0"))
    second = await many_services_then(store, p, subdivisions, lambda: p.add("org0", revision=2, op="tombstone"))
    assert not second.error and second.entries == 1
    assert forgotten == [peers.PURGE_BATCH, 5]  # in two transactions of their own before the page's
    assert await store.existing_organisations([f"{ORIGIN}:org0"]) == set()
    left = await store.graph.read("MATCH (s:Service) WHERE s.publisher = $p RETURN count(s) AS n", p=ORIGIN)
    unheld = await store.graph.read("MATCH (k:Reach) WHERE NOT EXISTS { (k)<-[:REACHES]-() } RETURN count(k) AS n")
    assert left[0]["n"] == 0 and unheld[0]["n"] == 0


async def test_8_a_lone_shelters_place_stays_withheld_while_its_tombstone_deletes_its_services_ahead(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """An attacker's read: the services deleted ahead worked the shelters' marks out again, so an
    organisation that was a shelter by its public safe house alone lost its withheld mark before the
    page's transaction deleted it, and the public saw its place; for good when that transaction
    failed. The marks wait for the page's transaction."""
    from directory.domain.viewer import ANONYMOUS
    p = Publisher(directory=ORIGIN)
    o = Organisation(id=f"{ORIGIN}:org0", name="Org0", kind="local-group", visibility=Visibility.PUBLIC,
                     languages=["es"], location=Location(4.6, -74.1, Precision.COUNTRY, "CO"))
    p.add("org0", body=bodies.organisation_body(o, "public"))
    p.add("s0", kind="service", body={**wide_service(ORIGIN, "s0", ["CO"]), "service_type": "safe-house"})
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [first] = await Syncer(store, clock=lambda: NOW).sync_all()
        assert not first.error and first.dropped == 0
        shown = (await store.organisations_by_id(ANONYMOUS, [f"{ORIGIN}:org0"]))[f"{ORIGIN}:org0"]
        assert shown.location is None or shown.location.precision is Precision.HIDDEN  # a lone shelter
        p.add("org0", revision=2, op="tombstone")

        async def failing(*_: Any, **__: Any) -> None:
            raise peers.Conflict("the lease passed to another process")

        monkeypatch.setattr(peers, "advance", failing)  # the page's transaction fails after the ahead ones
        [second] = await Syncer(store, clock=lambda: NOW).sync_all()
    assert second.error
    assert await store.services_by_id(STEWARD, [f"{ORIGIN}:s0"]) == {}  # deleted ahead
    still = (await store.organisations_by_id(ANONYMOUS, [f"{ORIGIN}:org0"])).get(f"{ORIGIN}:org0")
    assert still is not None and (still.location is None or still.location.precision is Precision.HIDDEN)


async def test_8_services_a_providers_change_exposes_are_dropped_ahead_in_bounded_transactions(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """An attacker's read: a one-entry page making an organisation of 120 services a shelter dropped
    them all in the page's transaction (`_hold_shelters`), unbounded. They go ahead, in batches, and
    each is still said not kept, with why."""
    from directory.domain import places as known
    forgotten = forgets_counted(monkeypatch)
    subdivisions = [s.code for s in known.subdivisions_of("CO")][:3]
    p = Publisher(directory=ORIGIN)
    group = Organisation(id=f"{ORIGIN}:org0", name="Org0", kind="local-group", visibility=Visibility.PUBLIC,
                         languages=["es"], location=Location(None, None, Precision.COUNTRY, "CO"))
    p.add("org0", body=bodies.organisation_body(group, "public"))
    second = await many_services_then(store, p, subdivisions, lambda: p.add(
        "org0", revision=2, body=bodies.organisation_body(replace(group, kind="shelter"), "public")))
    assert not second.error and forgotten == [peers.PURGE_BATCH, 5]
    assert len([r for r in second.reasons if "records a place in" in r]) >= 1
    assert (await store.services_of(STEWARD, [f"{ORIGIN}:org0"])).get(f"{ORIGIN}:org0", []) == []
    assert (await store.organisation(STEWARD, f"{ORIGIN}:org0")).kind == "shelter"


async def test_a_sync_failing_with_its_store_says_how_many_entries_it_merged_before(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash read: the store killed mid-sync after 4,000 entries were merged and committed, the
    sync said "0 entries merged": noting the failure failed too, and the outcome was made anew."""
    from federation.sync import Syncer as Pulling
    p = Publisher(directory=ORIGIN)
    for i in range(4):
        p.add(f"org{i}", body=org_body(ORIGIN, f"org{i}"))
    peer = Peer(p, page_size=2)
    fetched = 0
    fetch_page = Pulling._fetch

    async def dying(self: Any, *args: Any) -> bytes:
        nonlocal fetched
        fetched += 1
        if fetched > 1:
            raise fetch.Unreachable("the store and the network went together")
        return await fetch_page(self, *args)

    async def unnoted(*_: Any, **__: Any) -> None:
        raise fetch.Unreachable("the store is gone")

    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        monkeypatch.setattr(Pulling, "_fetch", dying)
        monkeypatch.setattr(store.peers, "note", unnoted)
        [outcome] = await Syncer(store, clock=lambda: NOW).sync_all()
    assert outcome.error and "could not be noted" in outcome.error
    assert outcome.entries == 2


@pytest.mark.pure
def test_services_purged_ahead_are_batched_by_count_and_by_terms() -> None:
    from directory.store.federation.received import batches
    from directory.store.records.writes import TRANSACTION_TERMS
    ids = [f"s{i}" for i in range(peers.PURGE_BATCH + 2)]
    assert [len(b) for b in batches(ids, {})] == [peers.PURGE_BATCH, 2]
    heavy = {"s0": TRANSACTION_TERMS, "s1": TRANSACTION_TERMS // 2, "s2": TRANSACTION_TERMS // 2, "s3": 1}
    assert batches(ids[:4], heavy) == [["s0"], ["s1", "s2"], ["s3"]]
    assert batches([], {}) == []


async def test_8_a_peer_sending_more_entries_than_asked_is_refused(store: Store,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from directory.domain import places as known
    from federation import merge
    monkeypatch.setattr(merge, "PAGE_REACH", 500)
    subdivisions = [s.code for s in known.subdivisions_of("CO")][:30]
    p = Publisher(directory=ORIGIN)
    p.add("org0", body=org_body(ORIGIN, "org0"))
    for i in range(12):
        p.add(f"s{i}", kind="service", body=wide_service(ORIGIN, f"s{i}", subdivisions))
    peer = Peer(p, mode="unlimited")
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [outcome] = await Syncer(store, clock=lambda: NOW).sync_all()
    assert "when asked for" in outcome.error
    assert (await store.services_of(STEWARD, [f"{ORIGIN}:org0"])).get(f"{ORIGIN}:org0", []) == []


async def test_8_a_service_reaching_more_than_its_bound_is_dropped_with_its_reason(store: Store) -> None:
    """520 subdivisions for six types: 6,760 places and types (a peer once sent 54,000 in one service)."""
    from directory.domain import places as known
    from directory.domain.model import Coverage, Presence, Service
    codes = sorted(s.code for c in known.countries() for s in known.subdivisions_of(c))[:520]
    assert len(codes) == 520
    s = Service(id=f"{ORIGIN}:wide", organisation=f"{ORIGIN}:org0", name="Wide", type="emergency-grant",
                visibility=Visibility.PUBLIC, purposes=["legal-aid", "medical-care", "relocation-regional",
                                                        "psychosocial-support", "digital-security"],
                coverage=[Coverage(c, Presence.PRESENT) for c in codes[:260]]
                + [Coverage(c, Presence.REMOTE) for c in codes[260:]])
    p = Publisher(directory=ORIGIN)
    p.add("org0", body=org_body(ORIGIN, "org0"))
    p.add("wide", kind="service", body=bodies.service_body(s, "public"))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await add(store, peer, server.url)
        [outcome] = await Syncer(store, clock=lambda: NOW).sync_all()
    assert outcome.dropped == 1 and "places and types, at most 5000" in outcome.reasons[0]
    assert (await store.services_of(STEWARD, [f"{ORIGIN}:org0"]))[f"{ORIGIN}:org0"] == []


async def test_a_peers_channels_are_its_word_and_kept_while_our_own_are_held_to_their_shape(store: Store) -> None:
    """A peer's contact channel in a form our imports refuse (`signal:hello world`) keeps its record
    (dropping it would withdraw what we held of a real organisation); ours is refused."""
    from directory.domain.errors import ValidationFailed
    from federation import received
    from tests.helpers import load, org
    body = {**org_body(ORIGIN, "org0"), "visibility": "network",
            "contact_channels": ["signal:hello world", "email:desk at example.org"]}
    held = received.organisation(body, ORIGIN, await store.vocabulary(), 0)
    assert held.contact_channels == ["signal:hello world", "email:desk at example.org"]
    with pytest.raises(ValidationFailed) as refused:
        await load(store, [org("ours", **{"#channel+contact": "signal:hello world"})])
    assert "item 1 is not a Signal number" in str(refused.value)
