"""The `directory` command, run as a user would run it."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from directory.base.clock import now
from directory.cli import parser
from directory.cli.runner import Reporter
from directory.domain.taxonomy import BUILT_IN, CODE
from directory.exchange import demo
from directory.jobs.tables import Column, Table
from directory.store import Peer, Store, running_store
from tests.helpers import ORG_TAGS, csv_bytes, org

DIRECTORY = [sys.executable, "-m", "directory.cli"]


def run(*args: str, data: Path, check: bool = True, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    """The command in its own process; `columns` is the terminal width it believes it has (COLUMNS)."""
    env = {**os.environ, "COLUMNS": str(columns)} if columns else {k: v for k, v in os.environ.items()
                                                                   if k != "COLUMNS"}
    proc = subprocess.run([*DIRECTORY, "--data", str(data), "--id", "test", *args], capture_output=True,
                          text=True, timeout=300, check=False, env=env)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_help_documents_every_verb() -> None:
    out = subprocess.run([*DIRECTORY, "--help"], capture_output=True, text=True, check=True).stdout
    verbs = parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for verb, sub in verbs.items():
        assert verb in out
        assert sub.format_help().strip()


def test_commands_start_and_stop_their_own_store_when_none_runs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (tmp_path / "orgs.csv").write_bytes(csv_bytes(ORG_TAGS, [org("alpha"), org("beta")]))
    imported = run("import", str(tmp_path / "orgs.csv"), data=data)
    assert "2 organisations" in imported.stdout
    assert re.search(r"^sent 2 of 2 rows .*; [\d.]+ rows/s over ", imported.stderr, re.M), imported.stderr
    assert "rows/s" not in imported.stdout  # progress goes to stderr: stdout may be piped
    assert running_store(data) is None  # stopped again afterwards
    run("export", "--output", str(tmp_path / "hsds"), data=data)
    names = [o["name"] for o in json.loads((tmp_path / "hsds" / "organizations.json").read_text())]
    assert names == ["Alpha", "Beta"]


@pytest.mark.anyio
async def test_importing_the_same_file_again_says_nothing_changed(store: Store, data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "orgs.csv").write_bytes(csv_bytes(ORG_TAGS, [org("gamma")]))
    first = await asyncio.to_thread(run, "import", str(tmp_path / "orgs.csv"), data=data_dir)
    assert "imported: 1 organisations, 0 services, 0 links changed\n" in first.stdout
    again = await asyncio.to_thread(run, "import", str(tmp_path / "orgs.csv"), data=data_dir)
    assert "0 links changed: every row is as the store already holds it" in again.stdout


@pytest.mark.anyio
async def test_an_export_while_an_import_is_unfinished_says_it_holds_only_part(store: Store, data_dir: Path,
                                                                               tmp_path: Path) -> None:
    """An operator's walk: an import killed after its organisations exported "2500 organisations, 0
    services" with no word that the import had not finished."""
    run_id = await store.begin_import(["/somewhere/services.csv"], set())
    half = await asyncio.to_thread(run, "export", "--output", str(tmp_path / "out"), data=data_dir)
    assert "an import or a restore has not finished" in half.stderr and "directory status" in half.stderr
    await store.finish_import(run_id)
    whole = await asyncio.to_thread(run, "export", "--output", str(tmp_path / "again"), data=data_dir)
    assert "has not finished" not in whole.stderr


def test_commands_talk_to_a_running_store(data_dir: Path, tmp_path: Path) -> None:
    # data_dir has the session's store running on it.
    before = running_store(data_dir)
    assert "embedded store running" in run("status", data=data_dir).stdout
    run("backup", "--output", str(tmp_path / "b.jsonl"), data=data_dir)
    assert running_store(data_dir) == before  # not stopped, not replaced
    assert json.loads((tmp_path / "b.jsonl").read_text().splitlines()[0])["format"] == "protection-directory-backup"


def test_a_bad_file_exits_with_every_problem_and_writes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rows = [org("a", **{"#country+code": "XX"}), org("b"), org("b")]
    (tmp_path / "bad.csv").write_bytes(csv_bytes(ORG_TAGS, rows))
    proc = run("import", str(tmp_path / "bad.csv"), data=data, check=False)
    assert proc.returncode == 2
    assert "line 3, column #country+code" in proc.stderr and "line 5" in proc.stderr
    assert "nothing was changed" in proc.stderr and "Traceback" not in proc.stderr
    run("export", "--output", str(tmp_path / "out"), "--audience", "all", data=data)
    assert json.loads((tmp_path / "out" / "organizations.json").read_text()) == []


def test_generate_writes_csv_files_that_import_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run("generate", "--orgs", "300", "--seed", "7", "--output", str(tmp_path / "gen"), data=data)
    out = run("import", *(str(tmp_path / "gen" / f) for f in ("organisations.csv", "services.csv", "links.csv")),
              data=data).stdout
    assert "300 organisations" in out


class Served:
    """`directory serve --demo` in its own process, on a free port."""

    def __init__(self, data: Path) -> None:
        from tests.conftest import free_port

        self.data, self.port = data, free_port()
        self.proc = subprocess.Popen([*DIRECTORY, "--data", str(data), "serve", "--demo", "--port", str(self.port)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_healthy(self, seconds: float = 120) -> None:
        import time

        import httpx

        deadline = time.monotonic() + seconds
        while True:
            assert self.proc.poll() is None, self.proc.stderr.read() if self.proc.stderr else ""
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not become healthy"
            time.sleep(0.5)

    def query(self, text: str) -> dict[str, Any]:
        import httpx

        return httpx.post(f"http://127.0.0.1:{self.port}/graphql", json={"query": text}, timeout=30).json()

    def stop(self) -> None:
        import signal

        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)


FLD = '{ organisation(id: "local:front-line-defenders") { name services { type } } }'


def test_serve_with_demo_answers_graphql_and_stops_its_store(tmp_path: Path) -> None:
    served = Served(tmp_path / "data")
    try:
        served.wait_healthy()
        body = served.query(FLD)
        assert body["data"]["organisation"]["name"] == "Front Line Defenders"
        assert "emergency-grant" in {s["type"] for s in body["data"]["organisation"]["services"]}
    finally:
        served.stop()
    assert running_store(served.data) is None


def test_serve_restarts_a_store_that_died_and_keeps_its_data(tmp_path: Path) -> None:
    import os
    import signal
    import time

    served = Served(tmp_path / "data")
    try:
        served.wait_healthy()
        first = running_store(served.data)
        assert first is not None
        os.kill(first["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 120
        while (again := running_store(served.data)) is None or again["pid"] == first["pid"]:
            assert time.monotonic() < deadline, "the store was not restarted"
            time.sleep(0.5)
        served.wait_healthy()
        body = served.query(FLD)
        assert body["data"]["organisation"]["name"] == "Front Line Defenders"
    finally:
        served.stop()
    assert running_store(served.data) is None


def test_a_malformed_hsds_folder_exits_with_file_path_and_reason_and_writes_nothing(data_dir: Path,
                                                                                      tmp_path: Path) -> None:
    good = {"id": "00000000-0000-4000-8000-0000000000a1", "name": "Unwritten Valid Organisation", "description": "d"}
    bad = dict(good, id="00000000-0000-4000-8000-0000000000a2", locations="Bogotá", attributes=[{"value": 5}])
    service = {"id": "00000000-0000-4000-8000-0000000000b1", "name": "Legal aid", "status": "active",
               "organization_id": good["id"], "service_areas": {"extent": "CO"}}
    cases = {
        "deep": (b"[" * 200_000 + b"]" * 200_000, None,
                 ["organizations.json, line 1, column 65: is nested deeper than 64 levels"]),
        "types": (json.dumps([good, bad], indent=1).encode(), None,
                  ["organizations.json, line 7, column $[1].locations: is a string; HSDS wants an array here",
                   "organizations.json, line 7, column $[1].attributes[0].value: is a number; HSDS wants a string"]),
        "not-utf8": (b'[{"name": "Caf\xe9"}]', None, ["organizations.json, line 1, column 15: is not UTF-8 text"]),
        "not-json": (b'[{"name": "A",}]', None, ["organizations.json, line 1, column 15: is not valid JSON"]),
        "top": (b'"organisations"', None,
                ["organizations.json, line 1, column $: is a string; an HSDS file is a JSON array of organization"]),
        "services": (json.dumps([good]).encode(), json.dumps([service], indent=1).encode(),
                     ["services.json, line 2, column $[0].service_areas: is an object; HSDS wants an array here"]),
    }
    for name, (organisations, services, expected) in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "organizations.json").write_bytes(organisations)
        if services is not None:
            (folder / "services.json").write_bytes(services)
        proc = run("import", "--format", "hsds", str(folder), "--default-kind", "national-ngo", data=data_dir,
                   check=False)
        assert proc.returncode == 2, (name, proc.stderr)
        assert "Traceback" not in proc.stderr and "nothing was changed" in proc.stderr, (name, proc.stderr)
        for text in expected:
            assert f"{folder}{os.sep}{text}" in proc.stderr, (name, text, proc.stderr)
    run("export", "--format", "hsds", "--output", str(tmp_path / "out"), "--audience", "all", data=data_dir)
    assert "Unwritten Valid Organisation" not in (tmp_path / "out" / "organizations.json").read_text()


def test_a_path_of_the_wrong_kind_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "hsds.json"
    not_a_folder.write_text("[]")
    (tmp_path / "folder").mkdir()
    for args in (["import", "--format", "hsds", str(not_a_folder)], ["import", str(tmp_path / "folder")]):
        done = subprocess.run([sys.executable, "-m", "directory.cli", "--data", str(tmp_path / "data"), *args],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 2 and "cannot use" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_ctrl_c_is_said_in_a_line_not_a_traceback(tmp_path: Path) -> None:
    """Was a traceback (a crash read): Ctrl-C in a long command, a staged import among them."""
    import signal
    import time

    proc = subprocess.Popen([*DIRECTORY, "--data", str(tmp_path / "data"), "--id", "test", "generate", "--orgs",
                             "20000"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    said = ""
    deadline = time.monotonic() + 240
    while "generated" not in said and time.monotonic() < deadline:  # building is done: it is writing
        said += proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    rest = proc.communicate(timeout=120)[1]
    assert proc.returncode == 130, said + rest
    assert "interrupted; what it had committed stays" in rest and "Traceback" not in rest, rest
    assert running_store(tmp_path / "data") is None  # its store stopped on the way out


def _parsers(p: argparse.ArgumentParser, path: str = "directory") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every verb's parser, and every action's under `federation` and `peer`."""
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{path} {name}", sub
                yield from _parsers(sub, f"{path} {name}")


@pytest.mark.pure
def test_every_verb_has_examples_that_parse_and_every_option_says_what_it_means() -> None:
    found = dict(_parsers(parser()))
    assert {"directory generate", "directory peer proposals", "directory federation init"} <= set(found)
    for path, sub in found.items():
        text = sub.format_help()
        examples = re.findall(r"^  (directory .*)$", text.split("\nexamples:\n")[-1], re.M)
        assert "\nexamples:\n" in text and examples, f"{path} --help shows no example"
        verb, *action = path.split()[1:]
        for example in examples:
            parsed = parser().parse_args(shlex.split(example)[1:])  # a real command line: exits 2 if not
            assert parsed.verb == verb and action in ([], [getattr(parsed, f"{verb}_verb", None)]), (path, example)
        for action in sub._actions:
            if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                assert action.help, f"{path} {'/'.join(action.option_strings) or action.dest} has no help text"
    generate = " ".join(found["directory generate"].format_help().split())  # as one line, however wrapped
    assert "--orgs N" in generate and "how many organisations" in generate
    assert "--seed S" in generate and "the same seed builds the same directory" in generate


@pytest.mark.pure
def test_a_table_at_a_narrow_width_keeps_the_name_that_matters_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    chain = "Lakeside Rights Watch (fictional) > Nairobi Defenders Health Desk (fictional) > Harbour House (fictional)"
    offers = "safe-house; relocation-regional"
    why = "formal referral agreement, trust 0.9, answers referrals within 24 h"

    def table() -> Table:
        found = Table([Column("Rank", "#meta+rank"), Column("Chain", "#org+name+chain", 70),
                       Column("Offers", "#sector", 40), Column("Why", "#meta+reasons", 80)])
        found.add(1, chain, offers, why)
        found.add(22, "A > B", "legal-aid", "short")
        return found

    wide = table().keep("Chain").render(width=300)
    assert why in wide and offers in wide and "…" not in wide
    assert chain not in table().render(width=300)  # unmarked, the chain is cut to its column's 70 characters
    narrow = table().keep("Chain").render(width=60)
    assert chain in narrow  # whole: wider than its column's 70 characters and than the terminal
    assert "  safe-…  forma…" in narrow and "  legal…  short" in narrow  # the others, as narrow as they go
    fits = table().keep("Chain").render(width=len(chain) + len(offers) + 30)  # room for all but the last column
    assert offers in fits and why not in fits and max(map(len, fits.splitlines())) <= len(chain) + len(offers) + 30
    monkeypatch.setenv("COLUMNS", "60")  # the terminal's width, when none is given
    assert table().keep("Chain").render() == narrow
    # to a pipe or a file, no width given: every value whole (an operator's walk read `revok…` in a log)
    monkeypatch.delenv("COLUMNS")
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    piped = table().render()
    assert chain in piped and why in piped and "…" not in piped
    rows = list(csv.reader(table().keep("Chain").csv().splitlines()))
    assert rows[2] == ["1", chain, offers, why] and rows[3] == ["22", "A > B", "legal-aid", "short"]  # CSV: whole


@pytest.mark.pure
def test_progress_lines_carry_a_rate_and_the_time_left_at_most_once_a_second(
        capsys: pytest.CaptureFixture[str]) -> None:
    clock = [100.0]
    progress = Reporter(clock=lambda: clock[0])
    progress("orgs.csv: 10000 organisations rows")
    for sent in range(1000, 10001, 1000):  # a chunk every quarter of a second
        clock[0] += 0.25
        progress.count("sent", sent, "rows", 10000, note="to the store")
    progress("wrote 3 organisations in one transaction")
    progress.count("backed up", 5000, "lines")
    out, err = capsys.readouterr()
    assert out == ""  # stdout may be piped into a file or a tool
    lines = err.splitlines()
    assert lines[0] == "orgs.csv: 10000 organisations rows"
    sent = [line for line in lines if line.startswith("sent ")]
    assert [line.split(" rows to")[0] for line in sent] == ["sent 1000 of 10000", "sent 5000 of 10000",
                                                            "sent 9000 of 10000", "sent 10000 of 10000"]
    assert sent[0] == "sent 1000 of 10000 rows to the store; 4000 rows/s, about 2.2 s left"
    assert all(re.search(r"; \d+ rows/s, about [\d.]+ s left$", line) for line in sent[:-1]), sent
    assert sent[-1] == "sent 10000 of 10000 rows to the store; 4000 rows/s over 2.5 s"
    assert lines[-2] == "wrote 3 organisations in one transaction"  # said once: no rate to speak of
    assert re.fullmatch(r"backed up 5000 lines; \d+ lines/s", lines[-1])

    read = [0, 1000]  # a restore: its time left from how much of the file was read
    restore = Reporter(clock=lambda: clock[0], position=lambda: (read[0], read[1]))
    clock[0] += 2
    read[0] = 250
    restore.count("restored", 400, "records", note="(300 organisations, 100 services)")
    assert capsys.readouterr().err == ("restored 400 records (300 organisations, 100 services); 200 records/s, "
                                       "about 6.0 s left\n")


async def _proposal(store: Store) -> None:
    """One of our organisations and a peer's sharing an identifier, and the peer itself."""
    from tests.test_hostile_peer import OURS, THEIRS, peer_records

    await store.upsert([OURS], [], [])
    await peer_records(store, THEIRS)
    await store.peers.add(Peer("peer.example", "https://peer.example", "sha256:0", "{}", 1, False, 100, now()))


@pytest.mark.anyio
async def test_every_list_prints_a_header(store: Store, data_dir: Path) -> None:
    await _proposal(store)
    await store.tokens.create("steward", None, "test of the token list")
    headers = {("token", "list"): ["Id", "Role", "Organisation", "Created", "State", "Label"],
               ("taxonomy", "list"): ["Scheme", "Code", "Label", "Definition"],
               ("audit",): ["At", "Who", "Role", "Action", "Kind", "Ids"],
               ("peer", "list"): ["peer", "url", "audience", "precedence", "root", "last", "success", "state",
                                  "last", "error"],
               ("peer", "proposals"): ["Ours", "Our", "name", "Theirs", "Their", "name", "Shared", "identifier"]}
    done = await asyncio.gather(*(asyncio.to_thread(run, *verb, data=data_dir) for verb in headers))
    for (verb, header), proc in zip(headers.items(), done, strict=True):
        assert proc.stdout.splitlines()[0].split() == header, (verb, proc.stdout)
    tokens, taxonomy, _, peers, proposals = (proc.stdout for proc in done)
    assert "test of the token list" in tokens and "legal-aid" in taxonomy
    assert "peer.example\thttps://peer.example\tpublic\t" in peers
    assert re.search(r"^test:fld +Front Line Defenders +peer.example:fld +Front Line Defenders +ie-cro:593190",
                     proposals, re.M), proposals


@pytest.mark.anyio
async def test_referrals_keep_the_provider_whole_and_an_empty_answer_names_its_viewer(store: Store, data_dir: Path,
                                                                                       tmp_path: Path) -> None:
    await demo.load(store)
    ask = ("referrals", "--from", "test:fict-lakeside-rights", "--service-type", "safe-house")
    found = await asyncio.to_thread(run, *ask, "--country", "TZ", "--audience", "all", "--csv",
                                    str(tmp_path / "paths.csv"), data=data_dir, columns=60)
    rows = list(csv.DictReader((tmp_path / "paths.csv").read_text().splitlines()[:1] +
                               (tmp_path / "paths.csv").read_text().splitlines()[2:]))
    assert rows and all(" > " in row["Chain"] for row in rows)
    for row in rows:  # each chain, ending with its provider, printed whole on the narrow terminal
        assert re.search(rf"^ +{row['Rank']} .*  {re.escape(row['Chain'])}  ", found.stdout, re.M), found.stdout
        assert row["Why"] not in found.stdout  # the reasons were shortened instead (the CSV has them whole)
    assert "no referral chains" not in found.stderr

    public, member, steward = await asyncio.gather(
        asyncio.to_thread(run, *ask, "--country", "AQ", data=data_dir),
        asyncio.to_thread(run, *ask, "--country", "AQ", "--as", "test:fict-lakeside-rights", data=data_dir),
        asyncio.to_thread(run, *ask, "--country", "AQ", "--audience", "all", data=data_dir))
    for proc in (public, member, steward):
        assert "(none)" in proc.stdout and "no referral chains found for " not in proc.stdout
    assert "no referral chains found for the public;" in public.stderr
    assert "`--as ORG`" in public.stderr and "`--audience all`" in public.stderr
    assert "no referral chains found for a member of test:fict-lakeside-rights" in member.stderr
    assert "no referral chains found for a steward (--audience all); every record was counted" in steward.stderr

    # an id as the operator types it, without its directory, is this directory's, as an import reads it
    bare = await asyncio.to_thread(run, "referrals", "--from", "fict-lakeside-rights", "--service-type",
                                   "safe-house", "--country", "AQ", "--as", "fict-lakeside-rights", data=data_dir)
    assert "no referral chains found for a member of test:fict-lakeside-rights" in bare.stderr


@pytest.mark.anyio
async def test_a_peers_limits_are_shown_and_changed_and_never_below_one(store: Store, data_dir: Path) -> None:
    await store.peers.add(Peer("peer.example", "https://peer.example", "sha256:0", "{}", 1, False, 100, now()))
    shown = await asyncio.to_thread(run, "peer", "show", "peer.example", data=data_dir)
    assert "records held 0 of at most 250,000 (`directory peer limit peer.example N`)" in shown.stdout
    assert "their bodies 0 bytes of at most 16.0 MiB (`directory peer limit peer.example --max-bytes SIZE`)" \
        in shown.stdout
    changed = await asyncio.to_thread(run, "peer", "limit", "peer.example", "1200", data=data_dir)
    assert changed.returncode == 0 and "at most 1,200 records are taken from it; it has 0 now" in changed.stdout
    assert (await store.peers.one("peer.example")).max_records == 1200
    for size, given in (("256m", 256 * 1024 ** 2), ("1GiB", 1024 ** 3), ("500000", 500_000)):
        changed = await asyncio.to_thread(run, "peer", "limit", "peer.example", "--max-bytes", size, data=data_dir)
        assert changed.returncode == 0 and "1,200 records" in changed.stdout
        assert (await store.peers.one("peer.example")).max_bytes == given
    assert "at most 488.3 KiB" not in changed.stdout and "at most 500,000 bytes of their bodies" in changed.stdout
    for verb in (("peer", "limit", "peer.example", "0"), ("peer", "add", "https://x.example", "--fingerprint",
                                                          "sha256:0", "--max-records", "-5")):
        refused = await asyncio.to_thread(run, *verb, data=data_dir, check=False)
        assert refused.returncode != 0 and "must be at least 1" in refused.stderr, refused
    for verb in (("peer", "limit", "peer.example", "--max-bytes", "0"), ("peer", "limit", "peer.example"),
                 ("peer", "limit", "peer.example", "--max-bytes", "lots"),
                 ("peer", "add", "https://x.example", "--fingerprint", "sha256:0", "--max-bytes", "-1m")):
        refused = await asyncio.to_thread(run, *verb, data=data_dir, check=False)
        assert refused.returncode != 0 and ("--max-bytes" in refused.stderr or "records" in refused.stderr), refused
    assert (await store.peers.one("peer.example")).max_records == 1200
    assert (await store.peers.one("peer.example")).max_bytes == 500_000
    missing = await asyncio.to_thread(run, "peer", "limit", "nobody.example", "10", data=data_dir, check=False)
    assert missing.returncode != 0 and "nobody.example" in missing.stderr


@pytest.mark.anyio
async def test_a_removal_that_did_not_finish_is_said_and_finished_by_running_it_again(store: Store,
                                                                                       data_dir: Path) -> None:
    """`peer remove` killed half-way left the peer listed as "ok" with half its records, and each sync
    said another process was syncing it for an hour (a crash read): it is said, with what finishes it."""
    from datetime import UTC, datetime, timedelta

    from directory.store.federation import peers

    await store.peers.add(Peer("peer.example", "https://peer.example", "sha256:0", "{}", 1, False, 100, now()))
    moment = datetime.now(UTC)
    assert await peers.claim(store.graph, "peer.example", peers.REMOVING, peers._time(moment),
                             peers._time(moment + timedelta(hours=1)))  # as a removal killed after it began
    hint = "`directory peer remove peer.example` finishes it"
    listed = await asyncio.to_thread(run, "peer", "list", data=data_dir)
    assert "being-removed" in listed.stdout and hint in listed.stdout
    shown = await asyncio.to_thread(run, "peer", "show", "peer.example", data=data_dir)
    assert "being-removed" in shown.stdout and hint in shown.stdout
    synced = await asyncio.to_thread(run, "peer", "sync", "peer.example", data=data_dir, check=False)
    assert "peer.example is being removed, or a removal of it did not finish" in synced.stdout, synced
    removed = await asyncio.to_thread(run, "peer", "remove", "peer.example", data=data_dir)
    assert removed.returncode == 0 and not await store.peers.all()


@pytest.mark.anyio
async def test_a_term_added_is_listed_and_the_steward_is_told_terms_are_public(store: Store, data_dir: Path) -> None:
    added = await asyncio.to_thread(run, "taxonomy", "add", "--scheme", "defender-group", "--code", "street-vendors",
                                    "--label", "Street vendors' rights defenders", data=data_dir)
    assert "added defender-group/street-vendors" in added.stdout
    assert "terms are public" in added.stderr  # it names no place, no people at risk there (threat model M7)
    listed = await asyncio.to_thread(run, "taxonomy", "list", data=data_dir)
    assert "street-vendors" in listed.stdout


@pytest.mark.anyio
async def test_taxonomy_add_takes_only_codes_shaped_as_the_built_in_ones_and_says_what_it_did(
        store: Store, data_dir: Path) -> None:
    """Was a walk's finding: `--code 'Bad Code'` was added (and an import then took a service of that
    type), adding a term again with a new label said "added" over the old one, and a built-in term's
    new label said "added" while the store took the program's label back when next opened."""
    async def add(code: str, label: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(run, "taxonomy", "add", f"--code={code}", "--label", label, data=data_dir,
                                       check=False)

    for bad in ("Bad Code", "Funeral-Support", "funeral_support", "funeral--support", "-funeral", "funeral-",
                "entierro-ñ", "a" * 65):
        refused = await add(bad, "Bad")
        why = "code: is longer than 64 characters" if len(bad) > 64 else "is not a term code"
        assert refused.returncode == 2 and why in refused.stderr, (bad, refused.stderr)
    assert not {t.code for t in await store.terms()} & {"Bad Code", "Funeral-Support", "funeral_support"}
    assert all(CODE.fullmatch(t.code) for t in BUILT_IN)  # the one rule is the shape the built-in codes have
    assert "added service-type/funeral-support" in (await add("funeral-support", "Support with funerals")).stdout
    same = await add("funeral-support", "Support with funerals")
    assert same.returncode == 0 and "service-type/funeral-support is already there, unchanged" in same.stdout
    renamed = await add("funeral-support", "Funerals")
    assert renamed.returncode == 0 and "added" not in renamed.stdout
    assert "label changed from 'Support with funerals' to 'Funerals'" in renamed.stdout
    hijacked = await add("legal-aid", "Hijacked label")
    assert hijacked.returncode == 2 and "built-in term" in hijacked.stderr and "unchanged" in hijacked.stderr
    labels = {t.code: t.label for t in await store.terms()}
    assert labels["legal-aid"] == "Legal aid" and labels["funeral-support"] == "Funerals"


@pytest.mark.pure
def test_status_help_says_it_names_unfinished_imports_and_restores() -> None:
    verbs = parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert "name unfinished imports and restores" in " ".join(verbs["status"].format_help().split())


def test_output_read_only_in_part_ends_the_command_quietly(tmp_path: Path) -> None:
    """Was a walk's finding: `directory audit | head` printed "directory audit: Broken pipe"."""
    audit = tmp_path / "data" / "audit"
    audit.mkdir(parents=True, mode=0o700)
    entry = {"at": "2025-01-01T00:00:00Z", "who": "token-1", "role": "steward", "action": "read",
             "kind": "organisation"}
    (audit / "restricted-host-1.jsonl").write_text(
        "".join(json.dumps({**entry, "ids": [f"test:org{i}"]}) + "\n" for i in range(20_000)))
    proc = subprocess.Popen([*DIRECTORY, "--data", str(tmp_path / "data"), "audit"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith("At")
    proc.stdout.close()  # as `head -1` does: the rest (about 2 MB) has nowhere to go
    said = proc.stderr.read()
    assert proc.wait(timeout=120) in (0, 141) and said == "", said


@pytest.mark.pure
def test_missing_map_assets_are_said_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Helper-found: without `make setup`'s npm files, `directory map` printed a traceback."""
    from directory.cli import main
    from maps import assets

    monkeypatch.setattr(assets, "FILES", {"leaflet.js": tmp_path / "absent" / "leaflet.js"})
    with pytest.raises(SystemExit) as ended:
        main(["--data", str(tmp_path / "data"), "map", "directory", "--output", str(tmp_path / "map.html")])
    said = capsys.readouterr().err.strip()
    assert ended.value.code == 2 and "\n" not in said and "map assets are missing" in said and "make setup" in said


def test_a_job_argument_refused_is_named_by_its_flag(tmp_path: Path) -> None:
    """An operator's walk: `gaps --service-types legalaid` answered "serviceTypes: ...", GraphQL's name."""
    gaps = run("gaps", "--service-types", "legalaid", data=tmp_path / "data", check=False)
    assert gaps.returncode == 2 and "directory gaps: --service-types: 'legalaid'" in gaps.stderr, gaps.stderr
    hops = run("referrals", "--service-type", "legal-aid", "--country", "TZ", "--max-hops", "9",
               data=tmp_path / "data", check=False)
    assert hops.returncode == 2 and "directory referrals: --max-hops: " in hops.stderr, hops.stderr
