"""Issue 14: a hostile peer that signs everything correctly. Its directory id cannot reach into another
namespace or pass for ours (A); a record sharing our identifier proposes, never merges, until a steward
confirms (B); and what it sends cannot drive the operator's terminal, in CLI output or in logs (C)."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from directory.base.clock import now
from directory.base.config import Settings
from directory.base.terminal import SafeFormatter, out, safe
from directory.domain import ids
from directory.domain.errors import ConfigError
from directory.domain.model import Organisation, Visibility
from directory.domain.viewer import ANONYMOUS
from directory.store import Store
from directory.store.federation import peers, sameas
from directory.store.records.writes import write_records
from federation.canonical import canonical
from federation.keys import Untrusted, first_root, next_root, seal
from tests.conftest import LiveServer
from tests.feeds import Publisher
from tests.helpers import Api
from tests.peer_server import Peer
from tests.test_iati import DIRECTORY

EVIL = "\x1b]0;evil\x07\u202e"
CYRILLIC_TEST = "t\u0435st"  # "test" with a Cyrillic ie (U+0435): our id in these tests is "test"


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command in its own process, against the session's store, as directory `test`."""
    return subprocess.run([*DIRECTORY, "--data", str(settings.data_dir), "--id", "test", *args],
                          capture_output=True, text=True, check=False, timeout=120)


# A. Peer ids


@pytest.mark.parametrize("good", ["test", "alpha", "network-a.example", "fld2", "a", "x" * 63, "a-b.c-d"])
def test_a_valid_directory_id_passes(good: str) -> None:
    assert ids.check(good) == good


@pytest.mark.parametrize(("bad", "reason"), [
    ("victim:evil", "':' separates"), (CYRILLIC_TEST, "not ASCII"), ("fr\u043entline", "not ASCII"),
    ("Alpha", "lower-case"), ("-alpha", "starting and ending"), ("alpha-", "starting and ending"),
    ("a..b", "starting and ending"), ("a.-b", "starting and ending"), ("al pha", "lower-case"),
    ("al_pha", "lower-case"), ("x" * 64, "longer than 63"), ("", "non-empty"), ("evil\x1b[2J", "lower-case"),
])
def test_an_invalid_directory_id_is_refused_naming_it_and_why(bad: str, reason: str) -> None:
    with pytest.raises(ids.BadDirectoryId) as refused:
        ids.check(bad)
    assert reason in str(refused.value) and ascii(bad) in str(refused.value)
    assert "\x1b" not in str(refused.value) and "\u0435" not in str(refused.value)  # shown escaped


def test_our_own_directory_id_is_checked_at_start_up() -> None:
    for bad in ("victim:evil", CYRILLIC_TEST):
        with pytest.raises(ConfigError, match="DIRECTORY_ID"):
            Settings(directory_id=bad)
    proc = subprocess.run([*DIRECTORY, "peer", "list"], env={"DIRECTORY_ID": "victim:evil", "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "DIRECTORY_ID" in proc.stderr and "':' separates" in proc.stderr


@pytest.mark.parametrize(("candidate", "reason"), [
    ("frontline", "own id"), ("front1ine", "can be read as this directory's own id"),
    ("front-line", "can be read as"), ("fr0ntl1ne", "can be read as"),
    ("front", "prefix"), ("frontline-americas", "prefix"),
    ("alpha", "already the id of the peer 'alpha'"), ("a1pha", "can be read as the id of the peer 'alpha'"),
    ("alphabet", "prefix"), ("msf", "can be read as the id of the peer 'rnsf'"), ("vvitness", "can be read as"),
])
def test_a_new_peer_id_may_not_be_ours_a_prefix_or_confusable(candidate: str, reason: str) -> None:
    with pytest.raises(ids.BadDirectoryId, match=reason):
        ids.check_new_peer(candidate, "frontline", ["alpha", "rnsf", "witness"])


def test_a_new_peer_id_may_not_be_the_publisher_of_records_held_nor_read_as_one() -> None:
    for candidate, reason in [("local", "publisher of records"), ("1oca1", "can be read as the publisher"),
                              ("local-2", "prefix")]:
        with pytest.raises(ids.BadDirectoryId, match=reason):
            ids.check_new_peer(candidate, "frontline", ["alpha"], held=["local"])
    assert ids.check_new_peer("beta", "frontline", ["alpha"], held=["local"]) == "beta"


def test_distinct_peer_ids_pass() -> None:
    assert ids.check_new_peer("beta", "frontline", ["alpha", "rnsf"]) == "beta"
    assert ids.skeleton("Fr0nt-L1ne.org") == ids.skeleton("frontline.org")


def test_every_root_read_first_or_rotated_has_its_id_checked() -> None:
    for bad in ("victim:evil", "fr\u043entline"):
        publisher = Publisher(directory=bad)
        with pytest.raises(Untrusted, match="refused"):
            first_root(publisher.root_envelope(), publisher.root.fingerprint)
    good = Publisher(directory="peer.example")
    current = first_root(good.root_envelope(), good.root.fingerprint)
    rotated = Publisher(directory="peer.example:evil", root_keys=good.root_keys).root
    rotated = type(rotated)(rotated.directory, 2, rotated.expires, rotated.root_keys, rotated.root_threshold,
                            rotated.online_keys, rotated.online_threshold)
    with pytest.raises(Untrusted, match="':' separates"):
        next_root(current, seal(rotated.signed(), good.root_keys))


@pytest.fixture
def hostile() -> Iterator[Any]:
    """Serve a correctly signed root under any directory id: `hostile(directory_id) -> (url, fingerprint)`."""
    servers: list[LiveServer] = []

    def serve(directory_id: str) -> tuple[str, str]:
        publisher = Publisher(directory=directory_id)
        server = LiveServer(app=Peer(publisher).app()).__enter__()
        servers.append(server)
        return server.url, publisher.root.fingerprint

    yield serve
    for server in servers:
        server.__exit__()


@pytest.mark.anyio
async def test_peer_add_refuses_a_hostile_id_and_writes_nothing(store: Store, settings: Settings, hostile: Any) -> None:
    url, fingerprint = hostile("frontline")
    added = await asyncio.to_thread(cli, settings, "peer", "add", url, "--fingerprint", fingerprint)
    assert added.returncode == 0, added.stderr
    for bad, reason in [("victim:evil", "':' separates"), (CYRILLIC_TEST, "not ASCII"),
                        ("test", "this directory's own id"), ("te5t", "can be read as this directory's own id"),
                        ("testing", "prefix"), ("front1ine", "can be read as the id of the peer 'frontline'"),
                        ("frontline.org", "prefix")]:
        url, fingerprint = hostile(bad)
        refused = await asyncio.to_thread(cli, settings, "peer", "add", url, "--fingerprint", fingerprint)
        assert refused.returncode == 2, (bad, refused.stdout)
        assert ascii(bad) in refused.stderr and reason in refused.stderr, (bad, refused.stderr)
        assert "the peer was not added" in refused.stderr and "Traceback" not in refused.stderr
    assert [p.id for p in await peers.all_peers(store.graph)] == ["frontline"]


@pytest.mark.anyio
async def test_peer_add_refuses_the_id_of_records_held_under_an_earlier_id_of_ours(
        store: Store, settings: Settings, hostile: Any) -> None:
    """Was a hole (a hostile peer's read): records written as `local` (the demo's id), then DIRECTORY_ID
    changed; a peer whose root named `local` wrote over them (a restricted shelter made public and
    renamed), and `peer remove local` deleted every one of them."""
    shelter = Organisation(id="local:casa", name="Casa Respiro", kind="shelter", visibility=Visibility.RESTRICTED)

    async def work(tx: Any) -> None:
        await write_records(store.graph, tx, "local", [shelter], [], [], now(), store.shelter_minimum)

    await store.graph.write_tx(work)
    for bad, reason in [("local", "publisher of records this store holds ('local'"), ("1ocal", "can be read as"),
                        ("local.example", "prefix")]:
        url, fingerprint = hostile(bad)
        refused = await asyncio.to_thread(cli, settings, "peer", "add", url, "--fingerprint", fingerprint)
        assert refused.returncode == 2 and reason in refused.stderr, (bad, refused.stderr)
        assert "the peer was not added" in refused.stderr
    assert await peers.all_peers(store.graph) == []
    assert (await store.graph.read("MATCH (n:Organisation {id: 'local:casa'}) RETURN n.name AS name, "
                                   "n.visibility AS v")) == [{"name": "Casa Respiro", "v": "restricted"}]


@pytest.mark.anyio
async def test_our_id_may_not_become_a_peers(store: Store, settings: Settings, hostile: Any) -> None:
    """The other way round: DIRECTORY_ID changed to the id of a peer the folder pulls from would make
    its records and ours one (its sync writing over ours, `peer remove` deleting them): no command runs."""
    url, fingerprint = hostile("beta")
    assert (await asyncio.to_thread(cli, settings, "peer", "add", url, "--fingerprint", fingerprint)).returncode == 0
    for command in (("peer", "list"), ("taxonomy", "list")):
        refused = await asyncio.to_thread(subprocess.run, [*DIRECTORY, "--data", str(settings.data_dir), "--id",
                                                           "beta", *command], capture_output=True, text=True)
        assert refused.returncode == 2 and "DIRECTORY_ID" in refused.stderr, refused.stderr
        assert "'beta' is the id of a peer this data folder pulls from" in refused.stderr
        assert "Traceback" not in refused.stderr
    assert (await asyncio.to_thread(cli, settings, "peer", "list")).returncode == 0


# B. An identifier match proposes; a steward confirms or rejects

OURS = Organisation(id="test:fld", name="Front Line Defenders", kind="international-ngo",
                    website="https://www.frontlinedefenders.org", identifiers=["IE-CRO:593190"])
THEIRS = Organisation(id="peer.example:fld", name="Front Line Defenders", kind="international-ngo",
                      description="Emergency support for defenders at risk.", website="https://evil.example",
                      contact_channels=["signal:+15550100"], identifiers=["ie-cro:593190"])
MERGED = '''query($id: ID!) { organisation(id: $id) { sameAs { basis proposed organisation { recordId } }
  merged { field values publisher recordId } } }'''


async def peer_records(store: Store, *organisations: Organisation) -> None:
    async def work(tx: Any) -> None:
        await write_records(store.graph, tx, "peer.example", list(organisations), [], [], now(),
                            store.shelter_minimum)

    await store.graph.write_tx(work)


async def view(api: Api, token: str | None, record: str = "test:fld") -> tuple[list[Any], dict[str, Any]]:
    node = (await api.data(MERGED, token, id=record))["organisation"]
    return node["sameAs"], {f["field"]: (f["publisher"], f["values"]) for f in node["merged"]}


@pytest.mark.anyio
async def test_a_shared_identifier_merges_nothing_until_a_steward_confirms(store: Store, settings: Settings,
                                                                           api: Api) -> None:
    await store.upsert([OURS], [], [])
    await peer_records(store, THEIRS)
    _, steward = await store.tokens.create("steward", None, "test")

    for token in (None, steward):
        same, merged = await view(api, token)
        assert same == ([] if token is None else [{"basis": "identifier ie-cro:593190", "proposed": True,
                                                    "organisation": {"recordId": "peer.example:fld"}}])
        assert merged["website"] == ("test", ["https://www.frontlinedefenders.org"])
        assert "description" not in merged and "contact_channels" not in merged  # nothing of theirs
    same, merged = await view(api, steward, "peer.example:fld")  # nor the other way round
    assert same[0]["proposed"] and set(p for p, _ in merged.values()) == {"peer.example"}

    listed = await asyncio.to_thread(cli, settings, "peer", "proposals")
    assert "test:fld" in listed.stdout and "peer.example:fld" in listed.stdout and "ie-cro:593190" in listed.stdout

    confirmed = await asyncio.to_thread(cli, settings, "peer", "same-as", "test:fld", "peer.example:fld")
    assert confirmed.returncode == 0, confirmed.stderr
    same, merged = await view(api, steward)
    assert same == [{"basis": "steward", "proposed": False, "organisation": {"recordId": "peer.example:fld"}}]
    assert merged["website"] == ("test", ["https://www.frontlinedefenders.org"])  # ours first, still
    assert merged["description"] == ("peer.example", ["Emergency support for defenders at risk."])
    assert merged["contact_channels"] == ("peer.example", ["signal:+15550100"])
    _, anonymous = await view(api, None)
    assert "description" in anonymous and "contact_channels" not in anonymous  # channels: members only
    assert "no open proposals" in (await asyncio.to_thread(cli, settings, "peer", "proposals")).stdout


@pytest.mark.anyio
async def test_a_rejected_proposal_disappears(store: Store, settings: Settings, api: Api) -> None:
    await store.upsert([OURS], [], [])
    await peer_records(store, THEIRS)
    rejected = await asyncio.to_thread(cli, settings, "peer", "not-same-as", "peer.example:fld", "test:fld")
    assert rejected.returncode == 0, rejected.stderr
    for record in ("test:fld", "peer.example:fld"):
        same, _ = await view(api, None, record)
        assert same == []
    assert "no open proposals" in (await asyncio.to_thread(cli, settings, "peer", "proposals")).stdout
    # a steward who changes their mind confirms it; the rejection goes
    await asyncio.to_thread(cli, settings, "peer", "same-as", "test:fld", "peer.example:fld")
    same, merged = await view(api, None)
    assert [s["basis"] for s in same] == ["steward"] and merged["description"][0] == "peer.example"
    missing = await asyncio.to_thread(cli, settings, "peer", "not-same-as", "test:fld", "test:nowhere")
    assert missing.returncode == 2 and "no organisation with id 'test:nowhere'" in missing.stderr  # which one


@pytest.mark.anyio
async def test_anonymous_viewers_never_see_a_proposal_or_link_to_a_hidden_record(store: Store, api: Api) -> None:
    hidden = Organisation(id="test:fld-desk", name="FLD protection desk", kind="international-ngo",
                          visibility=Visibility.RESTRICTED, identifiers=["IE-CRO:593190"])
    network = Organisation(id="peer.example:fld-net", name="FLD (network record)", kind="international-ngo",
                           visibility=Visibility.NETWORK, identifiers=["IE-CRO:593190"])
    await store.upsert([OURS, hidden], [], [])
    await peer_records(store, network)
    await sameas.declare(store.graph, "test:fld", "test:fld-desk", "test", now())
    _, steward = await store.tokens.create("steward", None, "test")

    same, merged = await view(api, None)
    assert same == [] and {p for p, _ in merged.values()} == {"test"}
    same, _ = await view(api, steward)
    assert {(s["organisation"]["recordId"], s["proposed"]) for s in same} == {
        ("test:fld-desk", False), ("peer.example:fld-net", True)}
    assert (await sameas.proposals(store.graph, ANONYMOUS.params, "test")).total == 0


# C. Control characters never reach the terminal raw


def test_safe_escapes_controls_bidi_and_zero_width() -> None:
    assert safe(f"a{EVIL}\u200bb\x7f\x9b\n") == "a\\x1b]0;evil\\x07\\u202e\\u200bb\\x7f\\x9b\\x0a"
    assert safe("one\ttwo\nthree\r", lines=True) == "one\ttwo\nthree\\x0d"
    assert safe("Defensoras de Bogotá · 人権") == "Defensoras de Bogotá · 人権"
    buffer = io.StringIO()
    out("peer", EVIL, file=buffer)
    assert buffer.getvalue() == "peer \\x1b]0;evil\\x07\\u202e\n"


def test_log_lines_are_escaped() -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(SafeFormatter("%(message)s"))
    logger = logging.getLogger("directory.test-hostile")
    logger.addHandler(handler)
    try:
        logger.warning("sync of peer %s failed: %s", "peer.example", EVIL)
        logger.warning("peer %s: %s", "peer.example", "x\nWARNING directory.federation: forged")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("caught")
    finally:
        logger.removeHandler(handler)
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "sync of peer peer.example failed: \\x1b]0;evil\\x07\\u202e"
    assert lines[1] == "peer peer.example: x\\x0aWARNING directory.federation: forged"  # no forged line
    assert lines[2] == "caught" and lines[3].startswith("Traceback") and lines[-1] == "ValueError: boom"


@pytest.mark.anyio
async def test_peer_list_show_sync_and_their_log_lines_escape_what_a_peer_sent(store: Store, settings: Settings,
                                                                                tmp_path: Path) -> None:
    # a peer pinned before ids were checked: its id, and the error it provoked, carry escape sequences
    evil_id = f"old{EVIL}"
    root = canonical(Publisher(directory="peer.example").root_envelope()).decode()
    await peers.add(store.graph, peers.Peer(evil_id, "http://127.0.0.1:9", "sha256:x", root, 1, False, 100, now()))
    await peers.note(store.graph, evil_id, last_error=f"refused: {EVIL}", evidence=EVIL)
    await store.upsert([Organisation(id="test:a", name="A", kind="local-group", identifiers=["XX-FICT:1"])], [], [])
    await peer_records(store, Organisation(id="peer.example:a", name=f"A{EVIL}", kind="local-group",
                                           identifiers=["XX-FICT:1"]),
                       Organisation(id="peer.example:b", name="B", kind="local-group", identifiers=["XX-FICT:1"]))

    results = [await asyncio.to_thread(cli, settings, *args) for args in
               (("peer", "list"), ("peer", "show", evil_id), ("peer", "proposals"), ("peer", "sync", evil_id))]
    for proc in results:
        for stream in (proc.stdout, proc.stderr):
            assert "\x1b" not in stream and "\x07" not in stream and "\u202e" not in stream, proc.args
    listed, shown, proposals, synced = results
    assert "old\\x1b]0;evil\\x07\\u202e" in listed.stdout and "refused: \\x1b]0;evil\\x07\\u202e" in listed.stdout
    assert "evidence of equivocation: \\x1b]0;evil\\x07\\u202e" in shown.stdout
    assert "A\\x1b]0;evil\\x07\\u202e" in proposals.stdout
    assert synced.returncode == 1 and "old\\x1b]0;evil\\x07\\u202e:" in synced.stdout
    # the sync's failure is logged (directory.federation), escaped by the CLI's log handler
    assert "sync of peer old\\x1b]0;evil\\x07\\u202e failed" in synced.stderr, synced.stderr


def test_the_cli_installs_the_escaping_log_handler_once() -> None:
    code = ("import logging; from directory.base.terminal import install_log_escaping as i; "
            "assert i() is i(); logging.getLogger('directory.federation').warning('peer %s', '\\x1b]0;evil\\x07')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ})
    assert proc.stderr == "directory.federation WARNING: peer \\x1b]0;evil\\x07\n"


def test_an_id_the_earlier_rule_took_still_opens_its_data_folder_but_cannot_federate(tmp_path: Path) -> None:
    from federation.identity import first_root
    from federation.keys import SigningKey

    assert Settings(data_dir=tmp_path, directory_id="ngo-").directory_id == "ngo-"  # backups, serving: still work
    with pytest.raises(ConfigError):
        Settings(data_dir=tmp_path, directory_id="victim:evil")
    with pytest.raises(ids.BadDirectoryId, match="starting and ending with a letter or digit"):
        first_root("ngo-", [SigningKey.generate()], [SigningKey.generate()])
