"""The bounds on what a peer may send that had no test of their own (threat model R6): a body's
size, a proof's length, an envelope's signatures, the root versions followed in one sync, and the
bytes of a discovery document or root. Each is tried one past its bound, and where a peer could
sit exactly on it (a body, the signatures, a document), at the bound too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from directory.domain import fields
from directory.domain.model import (
    Coverage,
    Intake,
    Location,
    Organisation,
    Precision,
    Presence,
    Service,
    Verification,
    Window,
)
from directory.store import Store
from directory.store.federation import peers
from federation import bodies, fetch
from federation.canonical import canonical
from federation.feed import MAX_BODY_BYTES, MAX_PROOF, PeerState, Refused, verify_page
from federation.keys import MAX_SIGNATURES, SigningKey, Untrusted, seal, signers
from federation.sync import MAX_ROTATIONS, Syncer
from tests.conftest import LiveServer
from tests.feeds import Publisher
from tests.peer_server import Peer

NOW = datetime(2026, 11, 21, 12, 30, tzinfo=UTC)


def verify(p: Publisher, page: dict[str, Any]) -> Any:
    return verify_page(p.root, "public", page, PeerState(), NOW, lambda kind, record: None)


def body_of(size: int) -> dict[str, Any]:
    """A record's body whose canonical bytes are exactly `size` long."""
    body = {"id": "peer.example:big", "name": "Big", "visibility": "public", "description": ""}
    body["description"] = "x" * (size - len(canonical(body)))
    assert len(canonical(body)) == size
    return body


@pytest.mark.pure
def test_a_body_at_the_bound_is_read_and_one_byte_more_drops_its_entry_alone() -> None:
    at = Publisher()
    at.add("big", body=body_of(MAX_BODY_BYTES))
    assert [e.body is not None for e in verify(at, at.page()).entries] == [True]
    over = Publisher()
    over.add("big", body=body_of(MAX_BODY_BYTES + 1))
    over.add("small")
    entries = verify(over, over.page()).entries  # the page is read: one large entry must not stop a feed
    assert entries[0].body is None and "over the 512 KiB we read" in entries[0].withheld
    assert entries[1].body is not None and entries[1].withheld == ""
    lying = Publisher()
    lying.add("big", body=body_of(MAX_BODY_BYTES + 1))
    page = lying.page()
    page["entries"][0]["body"]["description"] += "y"  # not the body it signed: the page is refused
    with pytest.raises(Refused, match="does not match its hash"):
        verify(lying, page)


@pytest.mark.pure
def test_the_largest_records_our_checks_let_through_fit_in_a_body() -> None:
    # every text at its declared length (`domain.fields`) in characters of four UTF-8 bytes, every
    # list at its most items: an honest peer's bodies always read back
    def text(kind: dict[str, Any], name: str, less: int = 0) -> str:
        return "𝄞" * (kind[name].chars - less)

    def many(kind: dict[str, Any], name: str, value: str) -> list[str]:
        return [value] * kind[name].items

    o, s = fields.ORGANISATION, fields.SERVICE
    organisation = Organisation(
        id="peer.example:" + "a" * 100, name=text(o, "name"), kind="local-group",
        aliases=many(o, "aliases", text(o, "aliases")), description=text(o, "description"),
        website="https://x.example/" + text(o, "website", 18), languages=many(o, "languages", "a-long-code"),
        contact_channels=many(o, "contact_channels", text(o, "contact_channels")),
        identifiers=many(o, "identifiers", text(o, "identifiers")),
        location=Location(4.6, -74.1, Precision.EXACT, "CO", "CO-DC"), source=text(o, "source"),
        verified=Verification("2026-11-21", text(o, "verified"), text(o, "verified")))
    service = Service(
        id="peer.example:" + "s" * 100, organisation=organisation.id, name=text(s, "name"), type="legal-aid",
        description=text(s, "description"), eligibility=text(s, "eligibility"), capacity=10**9,
        capacity_unit=text(s, "capacity_unit"), capacity_confirmed="2026-11-21", response_hours=1e6,
        languages=many(s, "languages", "a-long-code"), cost=text(s, "cost"), status_since="2026-11-21",
        status_reason=text(s, "status_reason"), status_source=text(s, "status_source"),
        coverage=[Coverage(f"XX-{i:03}", Presence.REMOTE) for i in range(s["coverage"].items * 2)],  # both kinds
        origins=[f"XX-{i:03}" for i in range(s["origins"].items)], groups=many(s, "groups", "a-long-group-code"),
        purposes=many(s, "purposes", "a-long-service-type"), application_process=text(s, "application_process"),
        intake=[Intake("other", text(s, "intake", 6))] * s["intake"].items, hours=text(s, "hours"),
        windows=[Window("2026-01-01", "2026-12-31", text(s, "windows", 22))] * s["windows"].items,
        intake_languages=many(s, "intake_languages", "a-long-code"), exclusions=text(s, "exclusions"),
        verified=Verification("2026-11-21", text(s, "verified"), text(s, "verified")))
    for body in (bodies.organisation_body(organisation, "network"), bodies.service_body(service, "network")):
        assert len(canonical(body)) <= MAX_BODY_BYTES // 2, len(canonical(body))


@pytest.mark.pure
def test_a_proof_of_more_than_64_hashes_refuses_the_page_before_any_signature_is_checked() -> None:
    p = Publisher()
    for i in range(3):
        p.add(f"org{i}")
    page = p.page(0, 1)
    assert page["proof"] and len(page["proof"]) <= MAX_PROOF
    page["proof"] = [page["proof"][0]] * (MAX_PROOF + 1)
    with pytest.raises(Refused, match=f"at most {MAX_PROOF} hashes"):
        verify(p, page)


@pytest.mark.pure
def test_an_envelope_of_more_than_16_signatures_is_untrusted_before_any_is_verified() -> None:
    keys = [SigningKey.generate() for _ in range(MAX_SIGNATURES + 1)]
    known = {k.id: k.public for k in keys}
    signed = {"type": "pd-test", "n": 1}
    assert len(signers(seal(signed, keys[:MAX_SIGNATURES]), known)) == MAX_SIGNATURES
    with pytest.raises(Untrusted, match=f"at most {MAX_SIGNATURES}"):
        signers(seal(signed, keys), known)


def documents(sizes: dict[str, int]) -> Starlette:
    """A peer serving documents of the given sizes (bytes, JSON-ish), without declaring their length."""
    async def serve(request: Request) -> Response:
        size = sizes[request.url.path]

        async def chunks() -> Any:
            for start in range(0, size, 8192):
                yield b"x" * min(8192, size - start)

        return StreamingResponse(chunks(), media_type="application/json")

    return Starlette(routes=[Route(path, serve) for path in sizes])


@pytest.mark.anyio
async def test_a_discovery_document_or_root_over_256_kib_is_not_read_past_the_cap() -> None:
    paths = {"/.well-known/protection-directory.json": fetch.DOCUMENT_CAP,
             "/federation/roots/2.json": fetch.DOCUMENT_CAP + 1}
    with LiveServer(app=documents(paths)) as server:
        async with fetch.client() as http:
            whole = await fetch.get(http, f"{server.url}/.well-known/protection-directory.json", fetch.DOCUMENT_CAP)
            assert len(whole) == fetch.DOCUMENT_CAP
            with pytest.raises(fetch.Unreachable, match=f"more than the cap of {fetch.DOCUMENT_CAP} bytes"):
                await fetch.get(http, f"{server.url}/federation/roots/2.json", fetch.DOCUMENT_CAP)


@pytest.mark.anyio
async def test_a_root_version_more_than_20_ahead_is_not_followed(store: Store) -> None:
    p = Publisher()
    p.add("org0")
    peer = Peer(p, roots=[p.root_envelope()] * (1 + MAX_ROTATIONS + 1))  # announces version 22, pinned 1
    with LiveServer(app=peer.app()) as server:
        await peers.add(store.graph, peers.Peer(p.directory, server.url, "sha256:given-out-of-band",
                                                canonical(p.root_envelope()).decode(), 1, False, 100,
                                                "2026-11-21T00:00:00Z"))
        [outcome] = await Syncer(store, clock=lambda: NOW).sync_all(force=True)
    assert "root version 22 is not believable" in outcome.error
    assert not any(hit.startswith("/federation/") for hit in peer.hits)  # no root fetched, no page
    assert await store.existing_organisations([f"{p.directory}:org0"]) == set()
