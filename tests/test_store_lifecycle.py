"""The embedded store process: private, loopback-only, single owner, and durable across a crash."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from directory.base.config import Settings
from directory.domain.errors import DataFolderInUse, StatementTimedOut
from directory.domain.model import Organisation
from directory.domain.viewer import STEWARD
from directory.store import EmbeddedStore, open_store, running_store
from directory.store.engine import layout
from directory.store.engine.cypher import cypher
from directory.store.engine.launcher import IN_USE


def listening_addresses(port: int) -> set[str]:
    """Local addresses listening on `port`, from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_store_listens_on_loopback_only_with_an_owner_only_password(tmp_path: Path) -> None:
    server = EmbeddedStore(tmp_path / "data", heap="256m").attach()
    try:
        assert server.owned
        loopback = {"0100007F", "0000000000000000FFFF00000100007F"}
        info = running_store(server.data)
        assert info is not None
        for port in (info["bolt_port"], info["http_port"]):  # ArcadeDB always opens HTTP too
            assert listening_addresses(port) and listening_addresses(port) <= loopback
        assert stat.S_IMODE(os.stat(layout.password_file(server.data)).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(server.data).st_mode) == 0o700
        assert len(layout.read_password(server.data)) >= 24
        assert any(p.name.startswith("arcadedb.") for p in layout.logs_dir(server.data).iterdir())
        assert not (Path.cwd() / "log").exists()  # JVM logs stay in the data folder
    finally:
        server.stop()
    assert running_store(server.data) is None


def test_a_second_store_on_the_same_folder_is_refused_clearly(tmp_path: Path) -> None:
    server = EmbeddedStore(tmp_path / "data", heap="256m").attach()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "directory.store.engine.launcher", "--data", str(server.data), "--bolt-port", "1",
             "--http-port", "2"], capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == IN_USE and "in use by another process" in proc.stderr
        # A client on the same folder talks to the running store instead of starting another.
        again = EmbeddedStore(server.data).attach()
        assert not again.owned and again.bolt_port == server.bolt_port
    finally:
        server.stop()


def _gone_within(data: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if running_store(data) is None:
            return True
        time.sleep(0.2)
    return False


def test_a_store_left_by_a_killed_process_stays_while_it_is_used_then_goes(tmp_path: Path) -> None:
    """A service killed (SIGKILL) leaves its store to stop by itself once nobody uses it; a command
    attaching at once uses it (or a new one, if it had already gone), and it stays under it."""
    data = tmp_path / "data"
    starter = subprocess.Popen(
        [sys.executable, "-c", "import sys, time, pathlib\nfrom directory.store import EmbeddedStore\n"
         "EmbeddedStore(pathlib.Path(sys.argv[1]), heap='256m').attach()\nprint('up', flush=True)\ntime.sleep(600)",
         str(data)], stdout=subprocess.PIPE, text=True)
    try:
        assert starter.stdout is not None and starter.stdout.readline().strip() == "up"
        left = running_store(data)
        assert left is not None
        starter.kill()
        starter.wait()
        again = EmbeddedStore(data, heap="256m").attach()  # at once: the orphan still answers
        try:
            used = running_store(data)
            assert used is not None and again.healthy()
            time.sleep(3)  # the store looks for its users every second: it stays under ours
            assert running_store(data) == used and again.healthy()
        finally:
            again.stop()
        assert _gone_within(data, 10)  # nobody uses it any more: it stops by itself
    finally:
        if starter.poll() is None:
            starter.kill()


def test_the_command_that_started_the_store_ending_first_leaves_it_to_the_others(tmp_path: Path) -> None:
    """Was a bug (a crash probe): a command that joined a store another command had started lost it
    when that one ended ("Security.Unauthorized", a backup not written, an import half done)."""
    first = EmbeddedStore(tmp_path / "data", heap="256m").attach()
    second = EmbeddedStore(tmp_path / "data", heap="256m").attach()
    assert first.owned and not second.owned and second.bolt_port == first.bolt_port
    first.stop()  # the starter is done: the other still uses the store
    time.sleep(3)
    assert second.healthy() and running_store(second.data) is not None
    second.stop()
    assert _gone_within(second.data, 10)  # the last user done: it stopped by itself


def test_a_folder_locked_by_a_foreign_process_gives_a_clear_error(tmp_path: Path) -> None:
    import fcntl

    data = tmp_path / "data"
    layout.prepare(data)
    holder = subprocess.Popen([sys.executable, "-c",
                               "import fcntl,sys,time; f=open(sys.argv[1],'a'); fcntl.flock(f, fcntl.LOCK_EX); "
                               "print('locked', flush=True); time.sleep(60)", str(layout.lock_file(data))],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout and holder.stdout.readline().strip() == "locked"
        with pytest.raises(DataFolderInUse, match="in use by another process"):
            EmbeddedStore(data, heap="256m").attach()
    finally:
        holder.kill()
        holder.wait()
    assert fcntl  # the lock is an flock, released with the holder


def test_committed_changes_survive_a_crash_of_the_store(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", directory_id="crash", store_heap="256m")
    server = EmbeddedStore(settings.data_dir, heap="256m").attach()

    async def write() -> None:
        async with open_store(settings) as store:
            await store.upsert([Organisation(id="crash:kept", name="Kept", kind="local-group")], [], [])

    async def read() -> str:
        async with open_store(settings) as store:
            return (await store.organisation(STEWARD, "crash:kept")).name

    try:
        asyncio.run(write())
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
        assert not server.healthy()
        assert server.restart_if_dead()
        assert asyncio.run(read()) == "Kept"
    finally:
        server.stop()


def test_a_store_not_answering_is_waited_for_then_if_hung_started_again(tmp_path: Path) -> None:
    """Was a hole: a store stalled for a moment (its queue of connections full) was taken for dead;
    a second was started beside it, which failed on the folder the first still held, and the
    service's watch over the store ended with that error, so a later crash was never recovered.
    And one hung (stopped here) was taken for healthy while the kernel still accepted connections
    for it: the check is now Bolt's handshake, which only the store itself answers (a crash read)."""
    settings = Settings(data_dir=tmp_path / "data", directory_id="stall", store_heap="256m")
    server = EmbeddedStore(settings.data_dir, heap="256m").attach()
    first = server.process
    assert first is not None
    try:
        assert server.healthy()
        os.kill(first.pid, signal.SIGSTOP)
        with socket.create_connection(("127.0.0.1", server.bolt_port), timeout=1.0):
            pass  # the kernel still takes a connection for it
        assert not server.healthy()
        assert not server.restart_if_dead()  # not answering for a moment: waited for, still ours
        assert server.process is first and first.poll() is None and server.unanswered_since is not None
        assert server.restart_if_dead(stall_limit=0)  # not answering for longer than the limit: hung
        assert first.poll() is not None and server.process is not None and server.process is not first
        assert server.healthy()

        async def write_and_read() -> str:
            async with open_store(settings) as store:
                await store.upsert([Organisation(id="stall:on", name="Still on", kind="local-group")], [], [])
                return (await store.organisation(STEWARD, "stall:on")).name

        assert asyncio.run(write_and_read()) == "Still on"
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGCONT)
        server.stop()


def test_the_services_watch_over_its_store_outlives_a_failed_start() -> None:
    class Failing:
        uri, starts = "bolt://127.0.0.1:1", 0

        def restart_if_dead(self) -> bool:
            self.starts += 1
            if self.starts == 1:
                raise DataFolderInUse("the data folder is in use by another process")
            return self.starts == 2

    said: list[str] = []

    async def watch() -> None:
        from directory.store import Store

        store = Store.__new__(Store)
        store.embedded = Failing()  # type: ignore[assignment]
        task = asyncio.create_task(store.keep_embedded_alive(0.01, said.append))
        while len(said) < 2 and not task.done():
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(watch())
    assert said == ["the embedded store could not be started again: the data folder is in use by another process",
                    "the embedded store had stopped; it was started again"]


MANY = cypher("tests.many_organisations",
               "UNWIND range(1, $n) AS i CREATE (:Organisation {id: 'x' + i, name: 'n' + i})")
PAIRS = cypher("tests.organisation_pairs", """
MATCH (a:Organisation) MATCH (b:Organisation) WHERE a.name < b.name RETURN count(*) AS n
""")
ONE = cypher("tests.one_organisation", "MATCH (a:Organisation {id: $id}) RETURN a.name AS name")


def test_the_store_stops_a_statement_past_its_time_limit_and_goes_on(tmp_path: Path) -> None:
    # the folder is made and filled under the usual limit: on a slow machine, making the schema and its
    # places can take a statement past one second, which is not what this test is about
    made = Settings(data_dir=tmp_path / "data", directory_id="test", store_heap="384m")
    settings = Settings(data_dir=tmp_path / "data", directory_id="test", store_heap="384m", store_statement_timeout=1)

    async def make() -> None:
        async with open_store(made) as store:
            await store.graph.write(MANY, n=4000)

    async def run() -> None:
        async with open_store(settings) as store:
            with pytest.raises(StatementTimedOut, match="ran past its time limit"):
                await store.graph.read(PAIRS)  # 8 million pairs: several seconds of work
            assert await store.graph.read(ONE, id="x1") == [{"name": "n1"}]  # and the store goes on

    asyncio.run(make())
    asyncio.run(run())


def test_a_page_says_so_when_the_store_does_not_answer_in_time_and_answers_again_after(tmp_path: Path) -> None:
    """Was a hole: with the store stalled, a page waited without end (GraphQL stopped at its budget);
    one whose store could not be reached was a bare 500."""
    import httpx

    from tests.conftest import LiveServer

    settings = Settings(data_dir=tmp_path / "data", directory_id="stall", store_heap="256m", time_budget=1.0)
    with LiveServer(settings) as server:
        info = running_store(settings.data_dir)
        assert info is not None
        env = {**os.environ, "DIRECTORY_DATA": str(settings.data_dir), "DIRECTORY_ID": "stall"}
        made = subprocess.run([sys.executable, "-m", "directory.cli", "token", "create", "--role", "steward"], env=env,
                              capture_output=True, timeout=120, check=True)
        bearer = {"Authorization": f"Bearer {made.stdout.decode().splitlines()[0]}"}
        os.kill(info["pid"], signal.SIGSTOP)
        try:
            started = time.monotonic()
            answer = httpx.get(server.url + "/organisations/stall:someone", headers={"accept-language": "es"},
                               timeout=60)
            waited = time.monotonic() - started
            # a crash read: with a token, the lookup of the token itself waited two minutes for a bare 500
            started = time.monotonic()
            signed = httpx.get(server.url + "/organisations/stall:someone",
                               headers={"accept-language": "es", **bearer}, timeout=200)
            asked = httpx.post(server.url + "/graphql", json={"query": "{ taxonomy { code } }"}, headers=bearer,
                               timeout=200)
            waited_signed = (time.monotonic() - started) / 2
            assert httpx.get(server.url + "/health", timeout=30).json()["status"] == "slow"  # there, not answering
        finally:
            os.kill(info["pid"], signal.SIGCONT)
        assert answer.status_code == 503 and answer.headers["retry-after"] == "60", answer.text
        assert "Sin respuesta a tiempo" in answer.text and "bolt" not in answer.text.lower()
        assert waited < 1.0 + 5.0 + 3.0  # the budget, the margin a job's own budget has, and slack
        assert signed.status_code == 503 and "Sin respuesta a tiempo" in signed.text, signed.text
        assert asked.status_code == 503 and asked.json()["errors"][0]["extensions"]["code"] == "STORE_UNAVAILABLE"
        assert waited_signed < 1.0 + 5.0 + 3.0
        again = httpx.get(server.url + "/organisations/stall:someone", timeout=60)
        assert again.status_code == 404  # the store answers again: so do the pages
        os.kill(info["pid"], signal.SIGKILL)  # gone: said so, until the service has started it again
        assert httpx.get(server.url + "/health", timeout=30).json()["status"] == "unavailable"
        asked = httpx.post(server.url + "/graphql", json={"query": '{ organisation(id: "stall:x") { name } }'},
                           timeout=30).json()
        assert asked["errors"][0]["extensions"]["code"] == "STORE_UNAVAILABLE", asked  # not "ask for less"


FILL = cypher("tests.fill_the_heap", """
UNWIND range(1, 2000) AS a UNWIND range(1, $n) AS b
WITH a * 100000 + b AS i
CREATE (:Organisation {id: 'x' + toString(i), name: 'a long enough name ' + toString(i),
                       description: 'some text to fill the heap with ' + toString(i)})
""")


def test_a_store_out_of_memory_stops_rather_than_hang_its_clients(tmp_path: Path) -> None:
    """Was a hole: an import too large for the heap left the store half-alive, its client waiting
    for the commit without end; the store now stops (`serve` starts it again) and the client is told."""
    from directory.domain.errors import StoreUnavailable

    settings = Settings(data_dir=tmp_path / "data", directory_id="oom", store_heap="256m")
    server = EmbeddedStore(settings.data_dir, heap="256m").attach()

    async def fill() -> None:
        async with open_store(settings) as store:
            await store.graph.write(FILL, n=2500)  # five million nodes in one transaction

    try:
        with pytest.raises(StoreUnavailable):
            asyncio.run(fill())
        assert server.process is not None and server.process.wait(timeout=30) != 0
        assert "OutOfMemoryError" in (layout.logs_dir(settings.data_dir) / "store-process.log").read_text()
        assert server.restart_if_dead() and server.healthy()  # its journal holds what was committed
    finally:
        server.stop()


def _launch(data: Path, cwd: Path) -> subprocess.Popen[str]:
    from directory.store.engine.embedded import _free_port

    layout.prepare(data)
    return subprocess.Popen(
        [sys.executable, "-m", "directory.store.engine.launcher", "--data", str(data), "--heap", "256m",
         "--bolt-port", str(_free_port()), "--http-port", str(_free_port())],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})


def _wait_for_the_lock(data: Path) -> None:
    """Until the launcher holds the folder's lock: from there on it has its signal handlers."""
    import fcntl

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(layout.lock_file(data), "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return
            fcntl.flock(handle, fcntl.LOCK_UN)
        time.sleep(0.02)
    raise AssertionError("the launcher never took the lock")


@pytest.mark.parametrize("after", [0.0, 0.5, 1.0])
def test_a_store_told_to_stop_while_it_starts_stops_cleanly(tmp_path: Path, after: float) -> None:
    """Was a crash: SIGTERM while the JVM was starting ran its shutdown hooks under the half-started
    engine, which died in native code and left a crash report in the starter's working folder."""
    data, cwd = tmp_path / "data", tmp_path / "cwd"
    cwd.mkdir()
    store = _launch(data, cwd)
    _wait_for_the_lock(data)
    time.sleep(after)  # the JVM is starting
    store.send_signal(signal.SIGTERM)
    assert store.wait(timeout=90) == 0  # a clean stop, not a death by signal or a crash
    assert running_store(data) is None and not list(cwd.iterdir())
    again = EmbeddedStore(data, heap="256m").attach()  # the folder is free and sound
    try:
        assert again.owned and again.healthy()
    finally:
        again.stop()


def test_a_crash_report_of_the_store_stays_in_its_owner_only_logs(tmp_path: Path) -> None:
    """A JVM crash report holds memory contents and paths: it must not land in whatever folder the
    service was started from."""
    data, cwd = tmp_path / "data", tmp_path / "cwd"
    cwd.mkdir()
    store = _launch(data, cwd)
    assert store.stdout is not None and "ready" in store.stdout.readline()
    store.send_signal(signal.SIGSEGV)  # the JVM takes it for a crash of its own and reports it
    assert store.wait(timeout=90) != 0
    reports = [p for p in layout.logs_dir(data).iterdir() if p.name.startswith("hs_err_pid")]
    assert reports and not list(cwd.iterdir())
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in reports)


def test_a_copy_of_a_live_data_folder_does_not_reach_the_original_store(tmp_path: Path) -> None:
    """Was a hole (a crash probe): `cp -a data copy` carries `store.json`, naming the original's live
    store, and a command on the copy (an import of test data, say) wrote into the original."""
    import shutil

    server = EmbeddedStore(tmp_path / "data", heap="256m").attach()
    try:
        copy = tmp_path / "copy"
        layout.prepare(copy)
        shutil.copy2(layout.runtime_file(server.data), layout.runtime_file(copy))
        assert running_store(server.data) is not None
        assert running_store(copy) is None  # the file names another folder's store: none runs here
    finally:
        server.stop()


def test_a_store_that_fails_once_its_jvm_runs_ends_and_says_where_to_look(tmp_path: Path) -> None:
    """Was a hang (a crash probe): with `store.json` unwritable, the store's main thread failed, the
    JVM's threads kept the process alive, deaf to SIGTERM, and the caller waited out its 90 s."""
    from directory.domain.errors import StoreUnavailable

    data = tmp_path / "data"
    layout.prepare(data)
    layout.runtime_file(data).mkdir()  # where the store announces itself cannot be written
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"stopped during start-up \(exit 1\); see .*store-process.log"):
        EmbeddedStore(data, heap="256m").attach()
    assert time.monotonic() - started < 60
    assert "IsADirectoryError" in (layout.logs_dir(data) / "store-process.log").read_text()


def test_commands_started_together_on_a_new_folder_share_one_password_and_one_schema(tmp_path: Path) -> None:
    """Was a race (a crash probe): two commands on a new folder both made the password (one failed
    with FileExistsError, or read it half-written) and both created the same indexes (one failed)."""
    data = tmp_path / "data"
    script = ("import sys, pathlib\nfrom directory.cli import main\n"
              "sys.exit(main(['--data', sys.argv[1], '--id', 'race', 'taxonomy', 'list']))")
    runs = [subprocess.Popen([sys.executable, "-c", script, str(data)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = [(run.wait(timeout=300), run.stderr.read() if run.stderr else "") for run in runs]
    assert all(code == 0 for code, _ in outcomes), outcomes
    assert len(layout.read_password(data)) >= 24
    assert not [p for p in layout.password_file(data).parent.iterdir() if p.name.startswith(".")]  # no half-made one
    assert {p.name for p in layout.password_file(data).parent.iterdir()} == {"bolt-password", "session-key"}


@pytest.mark.pure
def test_a_write_kept_out_by_other_writes_says_so_and_to_run_it_again() -> None:
    """Was a bare code (a crash probe): an import under a stream of edits ended in "the graph store
    refused a statement (Neo.TransientError.Transaction.DeadlockDetected)" once its retries ran out."""
    from neo4j.exceptions import Neo4jError

    from directory.store.engine.graph import _translate

    deadlock = Neo4jError._hydrate_neo4j(code="Neo.TransientError.Transaction.DeadlockDetected", message="")
    said = str(_translate(deadlock))
    assert said.startswith("other writes to the same records kept this one out for 30 s")
    assert said.endswith("it was not made: run it again when fewer writes are going on")


@pytest.mark.pure
def test_a_statement_past_the_stores_memory_for_one_says_so_and_what_raises_it() -> None:
    """Was "the graph store refused a statement (Neo.DatabaseError.General.UnknownError)" (a crash
    read: a backup of organisations with thousands of links each, whatever the heap)."""
    from neo4j.exceptions import Neo4jError

    from directory.store.engine.graph import _translate

    over = Neo4jError._hydrate_neo4j(code="Neo.DatabaseError.General.UnknownError", message=(
        "Query heap budget exceeded: the in-heap ORDER BY would need more than the whole budget of 256.00MB"))
    said = str(_translate(over))
    assert "more memory than the graph store lets one statement use" in said and "DIRECTORY_STORE_HEAP" in said
    assert "ORDER BY" not in said


def test_a_second_serve_on_the_same_folder_is_refused_and_a_read_only_folder_is_said_plainly(
        tmp_path: Path) -> None:
    """Two `directory serve` on one embedded data folder would each restart the store, publish and
    pull on their own clock: the second is refused at once, naming why and what to use instead.
    A data folder the machine will not write to is said in a line, never a traceback."""
    data = tmp_path / "data"
    with layout.serving(data):  # one serves it now
        with pytest.raises(DataFolderInUse):
            with layout.serving(data):
                pass
        second = subprocess.run([sys.executable, "-m", "directory.cli", "--data", str(data), "serve", "--port",
                                 "1"], capture_output=True, text=True, timeout=60)
        assert second.returncode == 2 and "another `directory serve` is serving" in second.stderr
        assert "Neo4j" in second.stderr and "Traceback" not in second.stderr
    with layout.serving(data):  # and once it stopped, the next may
        pass
    # the machine refusing (here a name too long; a read-only or a full disk alike): one line, no traceback
    unusable = tmp_path / ("x" * 300) / "data"
    refused = subprocess.run([sys.executable, "-m", "directory.cli", "--data", str(unusable), "taxonomy", "list"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert refused.stderr.startswith("directory taxonomy: File name too long: "), refused.stderr


@pytest.mark.anyio
async def test_a_damaged_session_key_stops_the_web_app_not_the_operators_commands(
        store: object, settings: Settings, tmp_path: Path) -> None:
    """A crash read: an empty session-key file was taken as none; refused now, naming it. An
    attacker's read of that: refused by every command too, `status` and `backup` among them, which
    sign nobody in. Only the web app, which does, needs the key whole."""
    from dataclasses import replace

    from directory.domain.errors import ConfigError

    damaged = tmp_path / "session-key"
    damaged.write_text("")
    with_it = replace(settings, session_key_file=damaged)
    with pytest.raises(ConfigError, match="DIRECTORY_SESSION_KEY_FILE"):
        async with open_store(with_it, sessions=True):
            pass
    async with open_store(with_it) as opened:
        assert await opened.schema_version() >= 1
    assert damaged.read_text() == ""  # never replaced without a word
