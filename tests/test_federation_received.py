"""A peer that signs everything correctly and sends records no import would take.

Each case is given as a body the peer signs, then what we expect: the entry is dropped with a
reason naming the record and member, nothing of it is written (an earlier revision is withdrawn),
and every page and query stays whole for everyone else. Also: values sent as the spec carries
them (decimals as strings) come back as numbers, and no link of a peer reaches our records.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from directory.domain import places
from directory.domain.model import Coverage, Location, Organisation, Precision, Presence, Service
from directory.domain.viewer import ANONYMOUS, STEWARD
from directory.exchange import exports
from directory.store import Filter, Store
from directory.store.engine.cypher import cypher
from federation import bodies
from federation.canonical import canonical
from federation.keys import format_time
from federation.sync import Outcome, Syncer
from tests.conftest import LiveServer
from tests.feeds import Publisher
from tests.helpers import Api, load, org
from tests.helpers import service as csv_service
from tests.peer_server import Peer

pytestmark = pytest.mark.anyio
P = "peer.example"
CLOCK = datetime(2026, 11, 21, 12, 30, tzinfo=UTC)


def organisation(local: str, **change: Any) -> dict[str, Any]:
    o = Organisation(id=f"{P}:{local}", name=local.title(), kind="local-group", languages=["es"],
                     location=Location(4.61, -74.08, Precision.LOCALITY, "CO", "CO-DC"))
    body = bodies.organisation_body(o, "public")
    for name, value in change.items():
        if name in ("latitude", "longitude", "precision", "country"):
            body["location"][name] = value
        else:
            body[name] = value
    return body


def service(local: str, owner: str = "casa", **change: Any) -> dict[str, Any]:
    s = Service(id=f"{P}:{local}", organisation=f"{P}:{owner}", name="Legal aid", type="legal-aid",
                response_hours=12.0, coverage=[Coverage("CO", Presence.PRESENT)], groups=["journalists"])
    return dict(bodies.service_body(s, "public"), **change)


def link(kind: str, source: str, target: str, key: str = "", **properties: Any) -> dict[str, Any]:
    return {"type": "link", "link_type": kind, "source": source, "target": target, "visibility": "public",
            "key": key, "properties": properties}


def add_link(p: Publisher, body: dict[str, Any]) -> None:
    record = f"{body['source']} {body['link_type']} {body['target']} {body['key']}".rstrip()
    p.add(record.removeprefix(f"{P}:"), body=body, kind="link")


# Each bad entry: (kind, local id or link body, body, what the reason says).
BAD_ORGANISATIONS = {
    "nan-exact": (dict(precision="exact", latitude="nan"), "'nan' is not a decimal number"),
    "inf-locality": (dict(latitude="inf"), "'inf' is not a decimal number"),
    "nan-admin": (dict(precision="admin_area", longitude="NaN"), "'NaN' is not a decimal number"),
    "far-north": (dict(latitude="1000"), "outside -90 to 90"),
    "warlord": (dict(kind="warlord"), "'warlord' is not a known organisation-kind code"),
    "nameless": (dict(name=""), "name is required"),
    "nowhere": (dict(country="ZZ"), "'ZZ' is not an ISO 3166-1 country code"),
    "reversed": (dict(name="Front Line Defenders\u202e"), "U+202E"),
    "nul": (dict(name="Casa\x00Luz"), "U+0000"),
    "zero-width": (dict(name="Front\u200bLine Defenders"), "U+200B"),
    "escape": (dict(description="\x1b]0;owned\x07"), "U+001B"),
}
BAD_SERVICES = {
    "minus-capacity": (dict(capacity=-5), "outside 0 to"),
    "minus-hours": (dict(response_hours="-1000"), "outside 0 to 8760"),
    "string-capacity": (dict(capacity="5"), "capacity is missing or not an integer"),
}
BAD_LINKS = [
    (link("OFFERS", f"{P}:casa", f"{P}:other"), "'OFFERS' is not one of"),
    (link("PARTNERS_WITH", f"{P}:other", f"{P}:ghost"), f"'{P}:ghost' is not one of the publisher's organisations"),
    (link("FUNDS", f"{P}:donor", "test:group", "2026", amount="250000", currency="EUR", year=2026),
     "outside the publisher's namespace"),
    (link("VETTED_BY", f"{P}:casa", "test:ours"), "outside the publisher's namespace"),
]


def hostile_publisher() -> Publisher:
    p = Publisher(directory=P)
    p.add("donor", body=organisation("donor", kind="donor"))
    p.add("casa", body=organisation("casa"))
    p.add("other", body=organisation("other"))
    p.add("countrywide", body=organisation("countrywide", precision="country", latitude="6.2031",
                                          longitude="-75.5921"))
    for local, (change, _) in BAD_ORGANISATIONS.items():
        p.add(local, body=organisation(local, **change))
    p.add("casa-legal", body=service("casa-legal"), kind="service")
    p.add("ghost-legal", body=service("ghost-legal", owner="ghost"), kind="service")
    for local, (change, _) in BAD_SERVICES.items():
        p.add(local, body=service(local, **change), kind="service")
    add_link(p, link("FUNDS", f"{P}:donor", f"{P}:casa", "2026", amount="250000", currency="EUR", year=2026))
    add_link(p, link("REFERS_TO", f"{P}:other", f"{P}:casa", trust="0.8", response_hours="24", formal=True))
    add_link(p, link("VETTED_BY", f"{P}:casa", f"{P}:donor"))
    for body, _ in BAD_LINKS:
        add_link(p, body)
    return p


async def pull(store: Store, peer: Peer, url: str) -> Outcome:
    from directory.store.federation import peers

    if await peers.one(store.graph, P, missing_ok=True) is None:
        root = canonical(peer.roots[0]).decode()
        await peers.add(store.graph, peers.Peer(P, url, "sha256:given-out-of-band", root, 1, False, 100,
                                                "2026-11-21T00:00:00Z"))
    [outcome] = await Syncer(store, clock=lambda: CLOCK).sync_all(force=True)
    assert outcome.error == "", outcome.error
    return outcome


async def test_every_unsound_record_is_dropped_with_its_reason_and_the_rest_is_merged(store: Store) -> None:
    await load(store, [org("group"), org("ours")])
    peer = Peer(hostile_publisher())
    with LiveServer(app=peer.app()) as server:
        outcome = await pull(store, peer, server.url)
    reasons = "\n".join(outcome.reasons)
    expected = ([(f"{P}:{k}", why) for k, (_, why) in {**BAD_ORGANISATIONS, **BAD_SERVICES}.items()]
                + [(f"{P}:ghost-legal", f"organisation '{P}:ghost' is not one of the publisher's organisations")]
                + [(f"{b['source']} {b['link_type']} {b['target']} {b['key']}".rstrip(), why) for b, why in BAD_LINKS])
    for record, why in expected:
        line = next((r for r in outcome.reasons if f"({record!r}" in r), "")
        assert why in line, f"{record}: expected {why!r} in the reasons:\n{reasons}"
    assert outcome.dropped == len(expected)
    assert outcome.entries == len(peer.publisher.items) - len(expected)  # what was merged, not what was read
    found = await store.organisations_by_id(STEWARD, [f"{P}:{k}" for k in [*BAD_ORGANISATIONS, "casa", "donor"]])
    assert sorted(found) == [f"{P}:casa", f"{P}:donor"]
    services = await store.list_services(STEWARD, Filter(), first=100)
    assert [s.id for s in services.items] == [f"{P}:casa-legal"]


async def test_no_peer_link_reaches_our_records_or_counts_as_our_vetting(store: Store) -> None:
    await load(store, [org("group"), org("ours")])
    peer = Peer(hostile_publisher())
    with LiveServer(app=peer.app()) as server:
        await pull(store, peer, server.url)
    for viewer in (ANONYMOUS, STEWARD):
        touching = await store.links_of(viewer, ["test:group", "test:ours"], "in")
        touching += await store.links_of(viewer, ["test:group", "test:ours"], "out")
        assert touching == []
    verified = await store.list_organisations(STEWARD, Filter(verified=True), first=100)
    assert verified.items == []  # the peer's vetting of its own record is kept, and is not ours
    kept = await store.links_of(STEWARD, [f"{P}:casa"], "out")
    assert ("VETTED_BY", f"{P}:donor") in [(x.type, x.target) for x in kept]


async def test_decimals_sent_as_strings_are_numbers_to_every_job_and_page(store: Store, api: Api,
                                                                           live_server: LiveServer) -> None:
    await load(store, [org("group"), org("ours")])
    peer = Peer(hostile_publisher())
    with LiveServer(app=peer.app()) as server:
        await pull(store, peer, server.url)
    [grant] = [x for x in await store.links_of(ANONYMOUS, [f"{P}:donor"], "out") if x.type == "FUNDS"]
    assert grant.properties["amount"] == 250000.0
    [referral] = [x for x in await store.links_of(ANONYMOUS, [f"{P}:other"], "out") if x.type == "REFERS_TO"]
    assert (referral.properties["trust"], referral.properties["response_hours"]) == (0.8, 24.0)
    gaps = await api.gql('{ coverageGaps(codes: ["CO"], serviceTypes: ["legal-aid"]) { totalCells '
                         'cells { providerIds } } }')
    assert "errors" not in gaps and f"{P}:casa" in gaps["data"]["coverageGaps"]["cells"][0]["providerIds"]
    paths = await api.gql('query($from: ID) { referralPaths(from: $from, serviceType: "legal-aid", country: "CO") '
                          '{ organisationIds } }', **{"from": f"{P}:other"})
    assert "errors" not in paths
    assert [f"{P}:other", f"{P}:casa"] in [p["organisationIds"] for p in paths["data"]["referralPaths"]]
    async with httpx.AsyncClient(base_url=live_server.url, timeout=120) as client:
        for page in ("/maps/directory", "/maps/gaps?serviceTypes=legal-aid&country=CO",
                     "/maps/funding?serviceTypes=legal-aid&country=CO",
                     f"/maps/referrals?serviceType=legal-aid&country=CO&from={P}:other"):
            answer = await client.get(page)
            assert answer.status_code == 200, (page, answer.text[:300])


async def test_a_point_is_stored_at_the_precision_its_body_states_for_every_viewer(store: Store) -> None:
    peer = Peer(hostile_publisher())
    with LiveServer(app=peer.app()) as server:
        await pull(store, peer, server.url)
    colombia = places.countries()["CO"]
    for viewer in (ANONYMOUS, STEWARD):  # a steward (and an export of everything) sees what is stored
        loc = (await store.organisations_by_id(viewer, [f"{P}:countrywide"]))[f"{P}:countrywide"].location
        assert loc is not None and (loc.latitude, loc.longitude) == (colombia.latitude, colombia.longitude)


async def test_an_unsound_new_revision_withdraws_the_record(store: Store) -> None:
    p = Publisher(directory=P)
    p.add("casa", body=organisation("casa"))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await pull(store, peer, server.url)
        assert f"{P}:casa" in await store.organisations_by_id(ANONYMOUS, [f"{P}:casa"])
        p.add("casa", revision=2, body=organisation("casa", kind="warlord"))
        outcome = await pull(store, peer, server.url)
    assert outcome.dropped == 1 and "warlord" in outcome.reasons[0]
    assert await store.organisations_by_id(STEWARD, [f"{P}:casa"]) == {}


async def test_records_received_before_these_checks_are_taken_again_through_them(store: Store) -> None:
    from directory.store.engine.schema import SET_VERSION, VERSION, ensure_schema
    from directory.store.federation import peers

    await load(store, [org("ours")])
    p = Publisher(directory=P)
    p.add("casa", body=organisation("casa"))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await pull(store, peer, server.url)
        await store.graph.write("MATCH (n:Organisation {id: $id}) SET n.kind = 'warlord'", id=f"{P}:casa")
        await store.graph.write(SET_VERSION, version=7)  # a data folder from before versions 8 and 9
        await ensure_schema(store.graph, store.embedded)
        assert sorted(await store.organisations_by_id(STEWARD, ["test:ours", f"{P}:casa"])) == ["test:ours"]
        assert await peers.feed_state(store.graph, P, "public") is None
        assert await peers.one(store.graph, P) is not None  # the pinned root stays
        again = await pull(store, peer, server.url)
    assert again.entries == 1
    casa = (await store.organisations_by_id(STEWARD, [f"{P}:casa"]))[f"{P}:casa"]
    assert casa.kind == "local-group"
    assert (await store.graph.read("MATCH (v:SchemaVersion) RETURN v.version AS v"))[0]["v"] == VERSION


async def test_a_dropped_organisation_takes_its_services_and_resync_takes_them_when_we_can(
        store: Store, settings: Any) -> None:
    from tests.test_hostile_peer import cli

    p = Publisher(directory=P)
    p.add("casa", body=organisation("casa"))
    p.add("casa-legal", body=service("casa-legal"), kind="service")
    p.add("casa", revision=2, body=organisation("casa", kind="faith-group"))  # a code our taxonomy lacks
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        outcome = await pull(store, peer, server.url)
        assert outcome.dropped == 2 and "'faith-group' is not a known organisation-kind code" in outcome.reasons[0]
        assert f"organisation '{P}:casa' is not one of the publisher's organisations we hold" in outcome.reasons[1]
        assert (await store.list_services(STEWARD, Filter(), first=10)).items == []
        await store.add_term("organisation-kind", "faith-group", "Faith-based group")
        today = datetime.now(UTC)  # the command runs on the real clock
        peer.checkpoint = p.checkpoint(issued=format_time(today), expires=format_time(today + timedelta(days=1)))
        again = await asyncio.to_thread(cli, settings, "peer", "resync", P)
    assert again.returncode == 0, again.stderr
    assert "2 entries merged, 0 dropped" in again.stdout  # the third, an older revision, passed over
    casa = (await store.organisations_by_id(STEWARD, [f"{P}:casa"]))[f"{P}:casa"]
    assert casa.kind == "faith-group"
    assert [s.id for s in (await store.list_services(STEWARD, Filter(), first=10)).items] == [f"{P}:casa-legal"]


async def test_an_organisation_dropped_says_its_services_went_with_it_and_a_resync_brings_them_back(
        store: Store) -> None:
    p = Publisher(directory=P)
    p.add("casa", body=organisation("casa"))
    p.add("casa-legal", body=service("casa-legal"), kind="service")
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await pull(store, peer, server.url)
        assert [s.id for s in (await store.list_services(STEWARD, Filter(), first=10)).items] == [f"{P}:casa-legal"]
        p.add("casa", revision=2, body=organisation("casa", kind="warlord"))
        dropped = await pull(store, peer, server.url)
        assert "nor its services we held" in dropped.reasons[0] and "peer resync" in dropped.reasons[0]
        assert (await store.list_services(STEWARD, Filter(), first=10)).items == []
        p.add("casa", revision=3, body=organisation("casa", name="Casa Sound Again"))
        await pull(store, peer, server.url)
        assert (await store.list_services(STEWARD, Filter(), first=10)).items == []  # its log sent them once
        await store.peers.read_again(P)
        await pull(store, peer, server.url)
    assert [s.id for s in (await store.list_services(STEWARD, Filter(), first=10)).items] == [f"{P}:casa-legal"]


async def test_a_quarantined_or_stale_peers_records_count_in_no_job(store: Store) -> None:
    # a peer's invented providers filled our gaps and topped our partner answers even once it was
    # quarantined: the jobs are about who can act now, and such a peer's records no longer count
    from directory.jobs.gaps import GapQuestion, coverage_gaps
    from directory.jobs.partners import PartnerQuestion, find_partners

    await load(store, [org("ours")])
    p = Publisher(directory=P)
    for i in range(3):
        p.add(f"clinic{i}", body=organisation(f"clinic{i}", name=f"Invented Clinic {i}"))
        p.add(f"clinic{i}-legal", body=service(f"clinic{i}-legal", owner=f"clinic{i}"), kind="service")
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await pull(store, peer, server.url)

    async def counted() -> tuple[int, list[str]]:
        gaps = await coverage_gaps(store, ANONYMOUS, GapQuestion(codes=["CO"], service_types=["legal-aid"]))
        partners = await find_partners(store, ANONYMOUS, PartnerQuestion(service_types=["legal-aid"], country="CO"),
                                       as_viewer=False)
        return len(gaps.cells[0].present), [found.organisation for found in partners]

    assert await counted() == (3, [f"{P}:clinic{i}" for i in range(3)])
    await store.peers.mark_stale(P, True)  # what a quarantine, or a checkpoint past its expiry, does
    assert await counted() == (0, [])
    shown = await store.organisation(ANONYMOUS, f"{P}:clinic0")  # still shown on its page, marked
    assert shown.provenance is not None and shown.provenance.stale
    await store.peers.mark_stale(P, False)  # a sync that verifies a fresh checkpoint counts them again
    assert (await counted())[0] == 3


async def test_a_gap_covered_only_by_peers_records_says_so_on_every_channel(
        store: Store, live_server: LiveServer) -> None:
    """A peer signs its records, not their truth: a place its invented clinics alone cover is flagged
    `only_peers` in the matrix, the page and the API; one of our own providers there, or a place the
    peer does not reach, is not."""
    from directory.jobs.gaps import Flag, GapQuestion, coverage_gaps

    await load(store, [org("ours", "Our Clinic", **{"#country+code": "PE"})],
               [csv_service("ours-legal", "ours", **{"#country+code+present": "PE"})])
    p = Publisher(directory=P)
    for i in range(2):
        p.add(f"clinic{i}", body=organisation(f"clinic{i}", name=f"Invented Clinic {i}"))
        p.add(f"clinic{i}-legal", body=service(f"clinic{i}-legal", owner=f"clinic{i}",
                                               coverage=[{"place": "CO", "presence": "present"},
                                                         {"place": "PE", "presence": "remote"}]), kind="service")
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await pull(store, peer, server.url)
    matrix = await coverage_gaps(store, ANONYMOUS, GapQuestion(codes=["CO", "PE", "EC"], service_types=["legal-aid"]))
    flags = {c.place: c.flags for c in matrix.cells}
    assert len(next(c for c in matrix.cells if c.place == "CO").present) == 2  # counted, as R12 says
    assert Flag.ONLY_PEERS in flags["CO"]
    assert Flag.ONLY_PEERS not in flags["PE"]  # ours is there too
    assert Flag.ONLY_PEERS not in flags["EC"] and Flag.NO_PROVIDER in flags["EC"]  # nobody's word either way
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        page = await client.post("/gaps", data={"region": "005", "serviceTypes": "legal-aid"})  # South America
        rows = {place: row for row in re.findall(r'<tr role="row">.*?</tr>', page.text, re.S)
                for place in ("Colombia", "Peru") if f"<bdi>{place}</bdi>" in row}
        assert "Only peer directories" in rows["Colombia"]
        assert "Only peer directories" not in rows["Peru"]
    answer = await Api(live_server.url).data(
        '{ coverageGaps(codes: ["CO", "PE"], serviceTypes: ["legal-aid"]) { cells { place flags } } }')
    assert {c["place"]: "ONLY_PEERS" in c["flags"] for c in answer["coverageGaps"]["cells"]} == {"CO": True,
                                                                                                 "PE": False}


async def test_a_peers_copy_of_our_name_is_told_apart_by_its_directory_in_choices_and_answers(
        store: Store, live_server: LiveServer) -> None:
    from directory.jobs.tables import organisation_names

    await load(store, [org("clinic", "Kampala Justice Clinic")])
    p = Publisher(directory=P)
    p.add("clinic", body=organisation("clinic", name="Kampala Justice Clinic"))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await pull(store, peer, server.url)
    names = await organisation_names(store, ANONYMOUS, {"test:clinic", f"{P}:clinic"})
    assert names == {"test:clinic": "Kampala Justice Clinic", f"{P}:clinic": f"Kampala Justice Clinic · {P}"}
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        asked = await client.post("/referrals", data={"from": "Kampala Justice Clinic", "serviceType": "legal-aid",
                                                      "country": "CO"})
    assert "Which organisation did you mean?" in asked.text
    assert "<bdi>Kampala Justice Clinic</bdi>" in asked.text
    assert f"<bdi>Kampala Justice Clinic · {P}</bdi>" in asked.text


async def test_what_a_public_feed_may_not_carry_is_not_kept_from_one_that_carries_it(store: Store) -> None:
    # a public feed carries no contact channel and no capacity: a peer that sent some anyway (by
    # mistake, or to have them shown to our members as if a partner had shared them) does not
    p = Publisher(directory=P)
    p.add("casa", body=organisation("casa", contact_channels=["signal:+00 111 2222"]))
    p.add("casa-legal", body=service("casa-legal", capacity=7, capacity_unit="cases",
                                     intake=["public hotline:+00 1", "network email:desk@casa.example"]),
          kind="service")
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        outcome = await pull(store, peer, server.url)
    assert outcome.dropped == 0
    casa = (await store.organisations_by_id(STEWARD, [f"{P}:casa"]))[f"{P}:casa"]
    assert casa.contact_channels == []
    legal = (await store.services_by_id(STEWARD, [f"{P}:casa-legal"]))[f"{P}:casa-legal"]
    assert (legal.capacity, legal.capacity_unit) == (None, "")
    assert [str(i) for i in legal.intake] == ["public hotline:+00 1"]


async def test_a_peer_removed_and_added_again_is_read_from_the_start(store: Store) -> None:
    from directory.store.federation import peers

    p = Publisher(directory=P)
    p.add("casa", body=organisation("casa"))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await pull(store, peer, server.url)
        await peers.remove(store.graph, P)
        p.add("casa", revision=2, body=organisation("casa", name="Casa Luz"))
        outcome = await pull(store, peer, server.url)  # before: "a replay" at the first entry, for ever
    assert outcome.entries == 2
    assert (await store.organisations_by_id(STEWARD, [f"{P}:casa"]))[f"{P}:casa"].name == "Casa Luz"


def _three_shelters() -> Publisher:
    """A peer publishing three public shelters in Colombia, at country precision: enough to be placed."""
    p = Publisher(directory=P)
    for i in range(3):
        p.add(f"shelter{i}", body=organisation(f"shelter{i}", name=f"Peer Shelter {i}", kind="shelter",
                                               precision="country", latitude=None, longitude=None))
    return p


async def test_a_peers_shelters_never_decide_whether_the_public_may_place_ours(store: Store,
                                                                              live_server: LiveServer) -> None:
    await load(store, [org("safe", "Refugio Unico", **{"#org+type": "shelter", "#meta+visibility": "public",
                                      "#geo+precision": "country"})])
    alone = await store.organisation(ANONYMOUS, "test:safe")
    assert alone.location is None or alone.location.country is None  # one public shelter in CO: not placed
    p = _three_shelters()
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await pull(store, peer, server.url)
    ours = await store.organisation(ANONYMOUS, "test:safe")
    assert ours.location is None or ours.location.country is None
    theirs = await store.organisation(ANONYMOUS, f"{P}:shelter0")  # three of the peer's own: placed
    assert theirs.location is not None and theirs.location.country == "CO"
    async with httpx.AsyncClient(base_url=live_server.url, timeout=120) as client:
        page = (await client.get("/maps/directory")).text
    assert "Refugio Unico" not in page and "Peer Shelter 0" in page


async def test_a_peers_shelter_withdrawn_leaves_the_others_it_counted_with_unplaced(store: Store) -> None:
    # three of the peer's public shelters in Colombia are placed; one withdrawn (or dropped), the two
    # left would single themselves out: the public loses their place in the same page's write
    p = _three_shelters()
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await pull(store, peer, server.url)
        placed = await store.organisation(ANONYMOUS, f"{P}:shelter1")
        assert placed.location is not None and placed.location.country == "CO"
        p.add("shelter0", revision=2, op="tombstone")
        await pull(store, peer, server.url)
    for left in ("shelter1", "shelter2"):
        shown = await store.organisation(ANONYMOUS, f"{P}:{left}")
        assert shown.location is None or shown.location.country is None, left
        kept = await store.organisation(STEWARD, f"{P}:{left}")
        assert kept.location is not None and kept.location.country == "CO"


async def test_an_export_holds_no_peer_record_it_may_not_pass_on_nor_a_link_to_one(store: Store,
                                                                                    tmp_path: Path) -> None:
    await load(store, [org("ours", "Our Group")])
    p = Publisher(directory=P)
    p.add("kept", body=organisation("kept", name="Passed On Group"), redistribute=True)
    p.add("other", body=organisation("other", name="Another Passed On Group"), redistribute=True)
    p.add("private", body=organisation("private", name="Not Passed On Group"), redistribute=False)
    p.add("private-legal", body=service("private-legal", owner="private"), kind="service", redistribute=False)
    # each record's own flag: a peer may let us pass on an organisation but not one of its services or links
    p.add("kept-legal", body=service("kept-legal", owner="kept"), kind="service", redistribute=True)
    p.add("kept-care", body=service("kept-care", owner="kept"), kind="service", redistribute=False)
    for target in ("other", "private"):
        body = link("REFERS_TO", f"{P}:kept", f"{P}:{target}")
        p.add(f"kept REFERS_TO {P}:{target}", body=body, kind="link", redistribute=True)
    p.add(f"other REFERS_TO {P}:kept", body=link("REFERS_TO", f"{P}:other", f"{P}:kept"), kind="link",
          redistribute=False)
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await pull(store, peer, server.url)
    assert (await store.organisation(ANONYMOUS, f"{P}:private")).name == "Not Passed On Group"  # shown here
    await exports.export_csv(store, STEWARD, tmp_path / "csv")
    written = "".join(f.read_text(encoding="utf-8") for f in sorted((tmp_path / "csv").glob("*.csv")))
    assert "Passed On Group" in written and "Our Group" in written
    assert f"{P}:private" not in written and "Not Passed On Group" not in written
    links = (tmp_path / "csv" / "links.csv").read_text(encoding="utf-8")
    peer_links = [line for line in links.splitlines() if P in line]
    assert len(peer_links) == 1 and f"{P}:other" in peer_links[0]  # kept -> other alone
    assert f"{P}:kept-legal" in written and f"{P}:kept-care" not in written
    await exports.export_hsds(store, STEWARD, tmp_path / "hsds")
    written = "".join(f.read_text(encoding="utf-8") for f in sorted((tmp_path / "hsds").glob("*.json")))
    assert "Passed On Group" in written and "Not Passed On Group" not in written and "private-legal" not in written
    assert "kept-care" not in written and "kept-legal" in written


@pytest.mark.parametrize("field, many, reason", [
    ("aliases", [f"alias {i}" for i in range(51)], "aliases holds 51 items, at most 50"),
    ("identifiers", [f"XM-DAC:{i}" for i in range(21)], "identifiers holds 21 items, at most 20"),
])
async def test_a_list_longer_than_an_import_takes_is_dropped(store: Store, field: str, many: list[str],
                                                              reason: str) -> None:
    p = Publisher(directory=P)
    p.add("casa", body=organisation("casa", **{field: many}))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        outcome = await pull(store, peer, server.url)
    assert outcome.dropped == 1 and reason in outcome.reasons[0]


async def test_what_a_drop_reports_is_quoted_cut_short_and_on_one_line(store: Store) -> None:
    p = Publisher(directory=P)
    forged = "x\nWARNING directory.federation: peer other.example quarantined\x1b[31m" + "y" * 20_000
    p.add(forged, body=organisation(forged))
    p.add("casa ", body=organisation("casa "))  # an id that only matches once trimmed
    p.add("casa", body=dict(organisation("casa"), type="service"))  # a body that says it is something else
    p.add("lonely-tombstone", op="tombstone", kind="link")  # a link id that is no link id
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        outcome = await pull(store, peer, server.url)
    assert outcome.dropped == 4
    assert all("\n" not in r and "\x1b" not in r and len(r) < 1000 for r in outcome.reasons)
    assert "reads as 'peer.example:casa', not the signed id" in outcome.reasons[1]
    assert "type is not 'organisation'" in outcome.reasons[2]
    assert "is not a link id" in outcome.reasons[3]
    assert await store.organisations_by_id(STEWARD, [f"{P}:casa", f"{P}:casa "]) == {}


async def test_an_id_longer_than_any_this_software_gives_is_dropped_and_kept_nowhere(store: Store) -> None:
    """A peer's entry id is kept as its revision's key whatever the entry carries: a 200 KB one was
    stored, and a 1 MB one made the store refuse the page's commit, the peer's sync stuck there."""
    p = Publisher(directory=P)
    p.add("z" * 200_000, op="tombstone")
    p.add("casa", body=organisation("casa"))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        outcome = await pull(store, peer, server.url)
    assert outcome.error == "" and outcome.dropped == 1 and "an id of 200,013 characters" in outcome.reasons[0]
    assert len(outcome.reasons[0]) < 1000
    keys = await store.graph.read(cypher("tests.peer_keys", "MATCH (r:PeerRecord) RETURN max(size(r.key)) AS n"))
    assert keys[0]["n"] < 1000
    assert f"{P}:casa" in await store.organisations_by_id(STEWARD, [f"{P}:casa"])


async def test_a_record_now_marked_for_another_audience_is_withdrawn_without_naming_it(store: Store) -> None:
    p = Publisher(directory=P)
    p.add("casa", body=organisation("casa"))
    peer = Peer(p)
    with LiveServer(app=peer.app()) as server:
        await pull(store, peer, server.url)
        p.add("casa", revision=2, body=organisation("casa", visibility="network"))  # wrong: a tombstone is due
        outcome = await pull(store, peer, server.url)
    assert outcome.dropped == 1 and "marked 'network'" in outcome.reasons[0] and "casa" not in outcome.reasons[0]
    assert await store.organisations_by_id(STEWARD, [f"{P}:casa"]) == {}


async def test_a_peer_removed_while_its_page_was_on_its_way_gets_nothing_written(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from directory.store.federation import peers
    from federation import merge

    p = Publisher(directory=P)
    p.add("casa", body=organisation("casa"))
    peer = Peer(p)
    resolve = merge.resolve

    async def slow_then_removed(store: Store, b: Any) -> None:  # the page took longer than the lease
        await resolve(store, b)
        await peers.note(store.graph, P, lease_until="2000-01-01T00:00:00Z")
        await peers.remove(store.graph, P)

    monkeypatch.setattr(merge, "resolve", slow_then_removed)
    with LiveServer(app=peer.app()) as server:
        root = canonical(peer.roots[0]).decode()
        await peers.add(store.graph, peers.Peer(P, server.url, "sha256:given-out-of-band", root, 1, False, 100,
                                                "2026-11-21T00:00:00Z"))
        [outcome] = await Syncer(store, clock=lambda: CLOCK).sync_all(force=True)
    assert outcome.entries == 0 and "removed" in outcome.error
    assert await peers.one(store.graph, P, missing_ok=True) is None
    assert await peers.feed_state(store.graph, P, "public") is None
    assert await store.organisations_by_id(STEWARD, [f"{P}:casa"]) == {}
