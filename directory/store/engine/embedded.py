"""Finding, starting, watching and stopping the embedded store process.

Every command works whether or not the service runs on the same data folder: `attach()` talks to
a running store when `store.json` names a live one, and otherwise starts one that the caller owns
and stops afterwards. A store started by someone else is never stopped by us.

Every process using the store holds a shared lock on `store.clients` while it does. The one that
started the store stops it only when nobody else holds it; otherwise it leaves it to stop by
itself once the last of them lets go (SIGUSR1 tells it so), as it does when its starter dies. A
store stopping holds the lock exclusively, so a command arriving then waits and starts another:
two commands started together share one store, whichever ends first.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from directory.base.files import UMASK, private_open
from directory.domain.errors import DataFolderInUse, StoreUnavailable
from directory.store.engine import layout

START_TIMEOUT = 90.0
# Seconds a running store may go without answering before it is taken for hung (out of memory,
# say) and, if we started it, stopped and started again. A store only slow for a while (a long
# collection, a full queue of connections, a stop signal) is left alone: a second one started
# beside it fails on its folder, which the first still holds.
STALL_LIMIT = 120.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Bolt's opening: its magic, then the versions asked for (5.x ranges, 4.4, 4.3, none). The store
# answers with the one it speaks: something in the JVM, not only the kernel, took the connection.
_BOLT_HELLO = bytes.fromhex("6060b017" "00040405" "00000404" "00000304" "00000000")


def _connects(port: int) -> bool:
    """Whether anything takes a connection on the port: a store stopped or hung still does, until its
    queue of them is full (`_answers` asks more)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _answers(port: int, timeout: float = 1.0) -> bool:
    """Whether the store answers Bolt's handshake within `timeout`. A connection alone is not an
    answer: the kernel accepts connections for a store stopped or hung (out of memory, say) until
    its queue of them is full, so a hung store went unrestarted until then (a crash read)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            conn.sendall(_BOLT_HELLO)
            answer = b""
            while len(answer) < 4:
                chunk = conn.recv(4 - len(answer))
                if not chunk:
                    return False
                answer += chunk
            return answer != b"\x00\x00\x00\x00"
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _runtime(data: Path) -> dict[str, int] | None:
    """What the store running on this folder wrote of itself; None when there is none, or when the
    file was written for another folder: a copy of a live data folder carries its `store.json`, and
    a command on the copy must not reach the original's store (and write there)."""
    try:
        info = {key: int(value) for key, value in json.loads(layout.runtime_file(data).read_text()).items()}
        folder = os.stat(data)
    except (OSError, ValueError, TypeError, AttributeError):
        return None
    return info if (info.get("dev"), info.get("ino")) == (folder.st_dev, folder.st_ino) else None


def running_store(data: Path) -> dict[str, int] | None:
    """The pid and port of a live store on this data folder that answers. One whose starter is gone
    stays while a process uses it (it holds `store.clients`), and stops within a second or two once
    none does."""
    info = _runtime(data)
    if info and _alive(info["pid"]) and _answers(info["bolt_port"]):
        return info
    return None


def _join(data: Path, deadline: float) -> IO[str]:
    """A shared lock on `store.clients`, held while this process uses the store: the store does not
    stop under it. Waits while a store is stopping (it holds the lock exclusively)."""
    handle = open(layout.clients_file(data), "a+")  # held until `stop`
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                raise StoreUnavailable("the embedded store on this folder is stopping and did not stop "
                                       f"within {START_TIMEOUT:.0f} s") from None
            time.sleep(0.1)


@dataclass
class EmbeddedStore:
    """A connection target for the embedded store, and the process if we started it."""

    data: Path
    heap: str = "512m"
    port: int = 0
    statement_timeout: float = 120.0  # seconds any one statement may run in the store; 0: no limit
    process: subprocess.Popen[bytes] | None = None
    bolt_port: int = 0
    http_port: int = 0
    unanswered_since: float | None = None  # monotonic time of the first check it did not answer
    client: IO[str] | None = None  # our shared lock on `store.clients` while we use the store

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def auth(self) -> tuple[str, str]:
        return (layout.USER, layout.read_password(self.data))

    @property
    def heap_megabytes(self) -> int:
        """The store's heap (`512m`, `2g`) in MB."""
        amount, unit = int(self.heap[:-1]), self.heap[-1].lower()
        return amount * 1024 if unit == "g" else amount

    @property
    def owned(self) -> bool:
        return self.process is not None

    def attach(self) -> EmbeddedStore:
        """Use the running store on the data folder, or start one."""
        layout.prepare(self.data)
        if self.client is None:
            self.client = _join(self.data, time.monotonic() + START_TIMEOUT)
        info = running_store(self.data)
        if info:
            self.bolt_port, self.http_port = info["bolt_port"], info["http_port"]
            return self
        self._start()
        return self

    def _start(self) -> None:
        if importlib.util.find_spec("arcadedb_embedded") is None:
            raise StoreUnavailable("the embedded store needs ArcadeDB: pip install 'protection-directory[embedded]', "
                                   "or set DIRECTORY_NEO4J_URI to use Neo4j")
        bolt = self.port or self.bolt_port or _free_port()
        http = _free_port()
        log = private_open(layout.logs_dir(self.data) / "store-process.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "directory.store.engine.launcher", "--data", str(self.data),
             "--heap", self.heap, "--bolt-port", str(bolt), "--http-port", str(http),
             "--statement-timeout", str(self.statement_timeout),
             "--parent", str(os.getpid())],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
            umask=UMASK,  # the store's files (and the JVM's) are owner-only
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                self.process = None
                if code == layout.IN_USE:
                    # Another store may be starting on this folder right now: wait for it.
                    other = self._wait_for_other(deadline)
                    if other:
                        self.bolt_port, self.http_port = other["bolt_port"], other["http_port"]
                        return
                    raise DataFolderInUse(
                        f"the data folder {self.data} is in use by another process that is not a "
                        "Protection Directory store; stop it or choose another DIRECTORY_DATA")
                raise StoreUnavailable(
                    f"the embedded store stopped during start-up (exit {code}); see "
                    f"{layout.logs_dir(self.data) / 'store-process.log'}")
            info = running_store(self.data)
            if info and int(info["pid"]) == self.process.pid:
                self.bolt_port, self.http_port = bolt, http
                return
            time.sleep(0.1)
        self.stop()
        raise StoreUnavailable(f"the embedded store did not start within {START_TIMEOUT:.0f} s")

    def _wait_for_other(self, deadline: float) -> dict[str, int] | None:
        end = min(deadline, time.monotonic() + 30)
        while time.monotonic() < end:
            info = running_store(self.data)
            if info:
                return info
            time.sleep(0.2)
        return None

    def healthy(self) -> bool:
        """Whether the store answers (Bolt's handshake)."""
        if self.process is not None and self.process.poll() is not None:
            return False
        return _answers(self.bolt_port)

    def reachable(self) -> bool:
        """Whether the store is there at all, answering or not: a store only slow to answer (or hung,
        which the watchdog restarts in time) is told apart from one gone (`/health`: slow, not unavailable)."""
        if self.process is not None and self.process.poll() is not None:
            return False
        return _connects(self.bolt_port)

    def restart_if_dead(self, stall_limit: float = STALL_LIMIT) -> bool:
        """Start the store again on the same port if it died, or if the one we started has not
        answered for `stall_limit` seconds. True when it had to. One still running that answers
        nothing for less is waited for, as is one another process started (not ours to stop)."""
        if self.healthy():
            self.unanswered_since = None
            return False
        if self._running():
            since = self.unanswered_since = self.unanswered_since or time.monotonic()
            if self.process is None or time.monotonic() - since < stall_limit:
                return False
            self._end(self.process, wait=5.0)  # hung: its folder is free once it is gone
            self.process = None
        self.unanswered_since = None
        self.process = None
        self.attach() if running_store(self.data) else self._start()
        return True

    def _running(self) -> bool:
        """Whether the store's process is alive, answering or not: ours, or the one named in the folder."""
        if self.process is not None:
            return self.process.poll() is None
        info = _runtime(self.data)
        return info is not None and _alive(info["pid"])

    def stop(self, wait: float = 30.0) -> None:
        """We are done with the store. One we started is stopped (killed if it has not stopped within
        `wait` seconds) unless another process uses it: then it stops by itself once the last one
        is done. Anybody else's is left running."""
        proc, self.process = self.process, None
        client, self.client = self.client, None
        try:
            if proc is None or proc.poll() is not None:
                return
            if client is not None:
                try:  # nobody else uses it: held exclusively while it stops, so nobody joins meanwhile
                    fcntl.flock(client, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    proc.send_signal(signal.SIGUSR1)  # others do: stop once the last lets go
                    return
            self._end(proc, wait)
        finally:
            if client is not None:
                client.close()

    @staticmethod
    def _end(proc: subprocess.Popen[bytes], wait: float) -> None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
