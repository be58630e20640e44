"""The embedded store's own process: ArcadeDB with its Bolt plugin, bound to 127.0.0.1.

Started by `directory.store.engine.embedded`, never imported by the service: a JVM inside the service
process would make forking and a second worker impossible (see the graph-store notes). It holds
an exclusive lock on the data folder for its whole life, announces its port in `store.json` once
it answers, and stops cleanly on SIGTERM or SIGINT; once its parent is gone (or lets it go with
SIGUSR1), it stops when no process uses it any more (none holds `store.clients`). It runs with
umask 077 and, once it holds the lock, takes group and other permissions off everything already in
the data folder, so the database, logs and secrets are owner-only (0600 files, 0700 folders).

Exit status 3 means the data folder is in use by another process.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from directory.base.files import UMASK, tighten
from directory.store.engine import layout

IN_USE = layout.IN_USE
STOP_SECONDS = 60.0

_LOGGING = """\
handlers=java.util.logging.FileHandler
java.util.logging.FileHandler.pattern={pattern}
java.util.logging.FileHandler.limit=10000000
java.util.logging.FileHandler.count=3
java.util.logging.FileHandler.formatter=java.util.logging.SimpleFormatter
.level=INFO
"""


def _lock(data: Path) -> object:
    handle = open(layout.lock_file(data), "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"the data folder {data} is in use by another process", file=sys.stderr)
        sys.exit(IN_USE)
    return handle


def _write_runtime(data: Path, bolt_port: int, http_port: int, parent: int) -> None:
    tmp = layout.runtime_file(data).with_suffix(".tmp")
    folder = os.stat(data)  # which folder this is: a copy of it (`cp -a`) holds this file too
    tmp.write_text(json.dumps({"pid": os.getpid(), "bolt_port": bolt_port, "http_port": http_port,
                               "parent": parent, "dev": folder.st_dev, "ino": folder.st_ino}))
    os.replace(tmp, layout.runtime_file(data))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="directory-store")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--heap", default="512m")
    parser.add_argument("--bolt-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--parent", type=int, default=0, help="stop when this process is gone")
    parser.add_argument("--statement-timeout", type=float, default=0.0,
                        help="seconds any one statement may run; 0: no limit")
    args = parser.parse_args(argv)

    # SIGTERM or SIGINT from now on, even while the JVM starts, ends in a clean stop once it has
    # started: with -Xrs the JVM leaves both signals to this handler instead of running its
    # shutdown hooks under a half-started engine (which crashed the process in native code).
    stop, released = threading.Event(), threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGUSR1, lambda *_: released.set())  # its starter is done with it
    os.umask(UMASK)  # everything this process and its JVM create is owner-only
    data: Path = args.data.resolve()
    lock = _lock(data)  # noqa: F841 - held until the process ends
    tighten(data)  # data folders made before files were owner-only: no group or other bits anywhere
    logging_conf = layout.logs_dir(data) / "jvm-logging.properties"
    logging_conf.write_text(_LOGGING.format(pattern=str(layout.logs_dir(data) / "arcadedb.%g.log")))
    # A JVM crash report holds memory and paths: with the store's logs, owner-only, never in the
    # working folder of whoever started the service.
    os.environ["ARCADEDB_JVM_ERROR_FILE"] = str(layout.logs_dir(data) / "hs_err_pid%p.log")

    from arcadedb_embedded import ArcadeDBServer  # the JVM starts here, after the lock is ours

    server = ArcadeDBServer(
        str(layout.arcadedb_root(data)),
        layout.read_password(data),
        {
            "host": "127.0.0.1",
            "http_port": args.http_port,
            "server_plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "bolt_port": args.bolt_port,
            "bolt_host": "127.0.0.1",
        },
        # ArcadeDB ignores a Bolt client's transaction timeout and finishes a statement whose client
        # went away: its own command timeout is what bounds a runaway statement.
        # Out of memory, the store stops rather than hang half-alive (a client waited for a commit
        # without end): what was committed is in its journal, and `serve` starts it again.
        jvm_kwargs={"heap_size": args.heap, "jvm_args": [
            f"-Djava.util.logging.config.file={logging_conf}",
            f"-Darcadedb.command.timeout={round(args.statement_timeout * 1000)}",
            "-XX:+ExitOnOutOfMemoryError", "-Xrs"]},
    )
    code = 0
    try:
        try:
            server.start()
        except Exception as exc:  # ArcadeDB's own lock: another kind of process holds the folder
            if "Lock" in str(exc):
                print(f"the data folder {data} is in use by another process: {exc}", file=sys.stderr, flush=True)
                os._exit(IN_USE)  # nothing of ours started: nothing to stop
            raise
        _serve(server, data, args, stop, released)
    except BaseException:  # whatever failed once the JVM runs, the process ends: its threads would keep it
        traceback.print_exc()  # into store-process.log
        code = 1
    finally:
        # a store that cannot stop within STOP_SECONDS (wedged) still lets its folder go: its journal
        # holds what was committed
        threading.Timer(STOP_SECONDS, os._exit, args=(1,)).start()
        try:
            layout.runtime_file(data).unlink(missing_ok=True)
            server.stop()
        finally:
            os._exit(code)  # the JVM's non-daemon threads must not keep the process alive


def _serve(server: Any, data: Path, args: argparse.Namespace, stop: threading.Event,
           released: threading.Event) -> None:
    """Open the database, say where the store listens, and serve until told to stop, or until its
    starter is gone or done with it and no process uses it."""
    try:
        server.get_database(layout.DATABASE)
    except Exception:
        server.create_database(layout.DATABASE)
    if not stop.is_set():  # told to stop while starting: stop without announcing a port
        _write_runtime(data, args.bolt_port, args.http_port, args.parent)
        print(f"store ready on 127.0.0.1:{args.bolt_port}", flush=True)
    clients = open(layout.clients_file(data), "a+")  # its lock is held until the process ends
    while not stop.wait(1.0):
        if (released.is_set() or (args.parent and os.getppid() != args.parent)) and _unused(clients):
            break


def _unused(clients: Any) -> bool:
    """No process holds `store.clients`: taken exclusively, and kept so while the store stops, so a
    command arriving meanwhile waits, then starts a store of its own."""
    try:
        fcntl.flock(clients, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


if __name__ == "__main__":
    main()
