"""The `directory` command, run as a user would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from directory.cli import parser
from directory.store import running_store
from tests.helpers import ORG_TAGS, csv_bytes, org

DIRECTORY = [sys.executable, "-m", "directory.cli"]


def run(*args: str, data: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*DIRECTORY, "--data", str(data), "--id", "test", *args], capture_output=True,
                          text=True, timeout=300, check=False)
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
    out = run("import", str(tmp_path / "orgs.csv"), data=data).stdout
    assert "2 organisations" in out
    assert running_store(data) is None  # stopped again afterwards
    run("export", "--output", str(tmp_path / "hsds"), data=data)
    names = [o["name"] for o in json.loads((tmp_path / "hsds" / "organizations.json").read_text())]
    assert names == ["Alpha", "Beta"]


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
