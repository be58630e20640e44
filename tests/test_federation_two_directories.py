"""Two real `directory serve` processes on loopback, federating both ways, set up as the README says.

alpha runs the demo data; beta imports a few records, one of them the same organisation as one of
alpha's (a shared identifier). Each adds the other as a network partner by fingerprint. Then:
both audiences arrive where they should and restricted records nowhere; a tombstone purges; a key
rotation is followed; beta is killed in the middle of a long sync and finishes after a restart;
alpha goes down and beta keeps its records and notes the failure.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.helpers import ORG_TAGS, csv_bytes, org

DIRECTORY = [sys.executable, "-m", "directory.cli"]


class Directory:
    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.data = root / name
        self.port = free_port()
        self.env = dict(os.environ, DIRECTORY_DATA=str(self.data), DIRECTORY_ID=name, DIRECTORY_PORT=str(self.port),
                        DIRECTORY_FEDERATION_INTERVAL="5", DIRECTORY_STORE_HEAP="384m")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        done = subprocess.run([*DIRECTORY, *args], env=self.env, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode()

    def start(self, *args: str) -> None:
        self.process = subprocess.Popen([*DIRECTORY, "serve", *args], env=self.env, stderr=subprocess.PIPE)
        until(lambda: httpx.get(f"{self.url}/health", timeout=2).status_code == 200, f"{self.name} to start")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(timeout=60)
        self.process = None

    def gql(self, query: str, token: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = httpx.post(f"{self.url}/graphql", json={"query": query}, headers=headers, timeout=30).json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    def has(self, record: str, token: str | None = None) -> bool:
        found = self.gql(f'{{ organisation(id: "Organisation:{record}") {{ recordId }} }}', token)
        return found["organisation"] is not None


def until(check: Any, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, AssertionError, KeyError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"waited {seconds:g} s for {what}")


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Directory, Directory]]:
    alpha, beta = Directory("alpha", tmp_path), Directory("beta", tmp_path)
    yield alpha, beta
    for d in (alpha, beta):
        if d.process is not None:
            d.stop(signal.SIGKILL)


def cursor_of(d: Directory) -> tuple[int, int]:
    """beta's cursor in alpha's feed and the size of the checkpoint it holds."""
    cursor, size = d.cli("peer", "show", "alpha").split("cursor ")[1].split(" of checkpoint size ")
    return int(cursor), int(size.split()[0])


def fingerprint(output: str) -> str:
    return next(line.split()[1] for line in output.splitlines() if line.startswith("fingerprint"))


def test_two_directories_federate_both_ways(pair: tuple[Directory, Directory], tmp_path: Path) -> None:
    alpha, beta = pair
    # set-up as in the README: identities, data, then each adds the other by fingerprint
    alpha_print = fingerprint(alpha.cli("federation", "init", "--root-keys", str(tmp_path / "alpha-root")))
    beta_print = fingerprint(beta.cli("federation", "init", "--root-keys", str(tmp_path / "beta-root")))
    orgs = tmp_path / "beta.csv"
    orgs.write_bytes(csv_bytes(ORG_TAGS, [
        org("lakeside", "Lakeside Rights (beta's record)", **{"#org+code": "XX-FICT:LAKESIDE-RIGHTS"}),
        org("beta-net", "Beta Network Member", **{"#meta+visibility": "network"}),
        org("beta-secret", "Beta Secret Shelter", **{"#meta+visibility": "restricted"}),
    ]))
    beta.cli("import", str(orgs))
    alpha.start("--demo")
    beta.start()
    alpha.cli("peer", "add", beta.url, "--fingerprint", beta_print, "--network")
    beta.cli("peer", "add", alpha.url, "--fingerprint", alpha_print, "--network", "--precedence", "10")
    steward = beta.cli("token", "create", "--role", "steward").splitlines()[0]
    alpha_steward = alpha.cli("token", "create", "--role", "steward").splitlines()[0]

    # both audiences, both ways; restricted records nowhere
    until(lambda: beta.has("alpha:fict-kampala-legal", steward), "alpha's network records at beta")
    until(lambda: alpha.has("beta:beta-net", alpha_steward), "beta's network records at alpha")
    assert beta.has("alpha:fict-lakeside-rights") and not beta.has("alpha:fict-kampala-legal")  # anonymous
    assert not beta.has("alpha:fict-casa-respiro", steward) and not alpha.has("beta:beta-secret", alpha_steward)
    unsigned = httpx.get(f"{alpha.url}/federation/feeds/network?after=0", timeout=10)
    assert unsigned.status_code == 403 and "Casa" not in unsigned.text

    # provenance, and the same organisation in two directories: proposed by the shared identifier,
    # merged by precedence once a steward confirms it
    query = ('{ organisation(id: "Organisation:beta:lakeside") { sameAs { basis proposed organisation { recordId '
             'provenance { publisher feedEntry feedCheckpoint fetchedAt } } } merged { field publisher } } }')
    node = beta.gql(query, steward)["organisation"]
    [other] = node["sameAs"]
    assert other["organisation"]["recordId"] == "alpha:fict-lakeside-rights"
    assert other["basis"] == "identifier xx-fict:lakeside-rights" and other["proposed"]
    assert other["organisation"]["provenance"]["publisher"] == "alpha"
    assert other["organisation"]["provenance"]["feedCheckpoint"] and other["organisation"]["provenance"]["fetchedAt"]
    assert {f["publisher"] for f in node["merged"]} == {"beta"}  # a proposal merges nothing
    assert "alpha:fict-lakeside-rights" in beta.cli("peer", "proposals")
    beta.cli("peer", "same-as", "beta:lakeside", "alpha:fict-lakeside-rights")
    node = beta.gql(query, steward)["organisation"]
    assert [(s["basis"], s["proposed"]) for s in node["sameAs"]] == [("steward", False)]
    fields = {f["field"]: f["publisher"] for f in node["merged"]}
    assert fields["name"] == "beta" and fields["description"] == "alpha"  # ours first; alpha fills what we lack

    # a peer's records never re-enter our own feeds
    public_feed = httpx.get(f"{beta.url}/federation/feeds/public?after=0", timeout=10).text
    assert "alpha:" not in public_feed and "beta:lakeside" in public_feed
    # a place in the log written past what the store's driver takes, or in other digits, is a bad request
    for query in ("after=99999999999999999999", "after=%D9%A1", "limit=-1", "after=1.5"):
        assert httpx.get(f"{beta.url}/federation/feeds/public?{query}", timeout=10).status_code == 400, query

    # a tombstone at alpha purges the record at beta
    revision = alpha.gql('{ organisation(id: "Organisation:alpha:fict-mindanao-peace") { provenance { revision } } }',
                         alpha_steward)["organisation"]["provenance"]["revision"]
    alpha.gql(f'mutation {{ deleteOrganisation(id: "Organisation:alpha:fict-mindanao-peace", revision: {revision}) '
              '{ deleted } }', alpha_steward)
    until(lambda: not beta.has("alpha:fict-mindanao-peace", steward), "the tombstone to reach beta")

    # alpha rotates its online key while serving; beta follows the new root and keeps pulling
    alpha.cli("federation", "rotate", "--root-keys", str(tmp_path / "alpha-root"))
    until(lambda: "root v2" in beta.cli("peer", "list"), "beta to follow alpha's rotation")
    before = cursor_of(beta)
    more = tmp_path / "alpha-more.csv"
    more.write_bytes(csv_bytes(ORG_TAGS, [org(f"bulk-{i:04d}", f"Bulk {i}") for i in range(6000)]))
    alpha.cli("import", str(more))

    # beta killed once part of the new entries (six pages) is committed, restarted: everything arrives once
    until(lambda: cursor_of(beta)[0] > before[1], "beta to be part-way through alpha's new entries", 90)
    beta.stop(signal.SIGKILL)
    beta.start()  # its scheduled sync resumes from the last committed page once the dead one's lease lapses

    def caught_up() -> bool:
        cursor, size = cursor_of(beta)
        return cursor == size and beta.has("alpha:bulk-5999")

    until(caught_up, "beta to finish the interrupted sync", 180)
    assert beta.has("alpha:bulk-0000") and beta.has("alpha:bulk-5999")

    # alpha goes down: beta notes the failure and keeps alpha's records
    alpha.stop()

    def sync_once() -> subprocess.CompletedProcess[bytes]:
        """`peer sync`, once beta's own scheduled sync (every 5 s) does not hold the lease."""
        for _ in range(30):
            done = subprocess.run([*DIRECTORY, "peer", "sync", "alpha"], env=beta.env, capture_output=True,
                                  timeout=120)
            if b"another process is syncing this peer now" not in done.stdout:
                return done
            time.sleep(1)
        raise AssertionError("beta's scheduled sync held alpha's lease for 30 tries")

    failed = sync_once()
    assert failed.returncode == 1 and "alpha" in failed.stdout.decode()
    assert "last error" in beta.cli("peer", "list") and beta.has("alpha:fict-lakeside-rights")
