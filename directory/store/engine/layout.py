"""Where the embedded store keeps its files inside the data folder.

    DATA/
      arcadedb/            the database (ArcadeDB's root path)
      secrets/bolt-password  random, owner-only (0600), made on first start
      logs/                JVM and launcher logs
      store.lock           held by the running store process
      store.json           port and pid of the running store, and which folder, while it runs
      schema.lock          held by a command bringing the schema up to date
      import.lock          held by an import while it writes
      serve.lock           held by the one `directory serve` of the folder
      store.clients        locked shared by every process using the store (`embedded`)
"""

from __future__ import annotations

import asyncio
import fcntl
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import IO

from directory.base.files import private_folder, secret_text
from directory.domain.errors import Conflict, DataFolderInUse

# The launcher's exit when the folder is another process's (not 3: the JVM's when out of memory).
# Here, not in the launcher: the package importing the launcher before `python -m` runs it warned
# of "unpredictable behaviour" in every store's log (an operator's walk).
IN_USE = 75

DATABASE = "directory"
LOCK_POLL = 0.25  # seconds between tries of a lock another process holds
USER = "root"


def prepare(data: Path) -> None:
    """Create the folder tree with owner-only permissions (0700), and the password on first use."""
    private_folder(data)
    for sub in ("arcadedb", "secrets", "logs"):
        private_folder(data / sub)
    # two commands starting together on a new folder both get the one password
    secret_text(password_file(data), lambda: secrets.token_urlsafe(24))


@contextmanager
def migrating(data: Path) -> Iterator[None]:
    """Held while a process brings the schema up to date: two commands started together on a new
    folder would otherwise both create the same indexes, and one of them fail."""
    with open(data / "schema.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def serving(data: Path) -> Iterator[None]:
    """Held by `directory serve` while it runs: on the embedded store one app process serves a data
    folder (two would each restart the store, publish and pull on their own clock); more app
    processes go against Neo4j. A second is refused at once, naming why."""
    private_folder(data)
    with open(data / "serve.lock", "a+") as handle:
        if not _took(handle):
            raise DataFolderInUse(f"another `directory serve` is serving {data}: on the embedded store one app "
                                  "process serves a data folder (for more, use Neo4j: DIRECTORY_NEO4J_URI)") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@asynccontextmanager
async def importing(data: Path, waiting: Callable[[], None], wait: bool = True) -> AsyncIterator[None]:
    """Held while an import writes, so imports on one folder write one after the other: two large
    ones writing at once twice left ArcadeDB's indexes damaged (every search failing after, a crash
    probe found; an engine fault we cannot mend from here); a publish cycle holds it too
    (`federation.publish`). `waiting` is told when another holds it; without `wait`, Conflict."""
    with open(data / "import.lock", "a+") as handle:
        told = False
        # polled, not a blocking flock in a thread: a waiter cancelled (a service stopping) stops
        while not _took(handle):
            if not wait:
                raise Conflict("an import is writing to this data folder")
            if not told:
                waiting()
                told = True
            await asyncio.sleep(LOCK_POLL)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def import_running(data: Path) -> bool:
    """Whether an import, or a publish of the feeds, holds the folder's import lock now (`importing`)."""
    path = data / "import.lock"
    if not path.exists():
        return False
    with open(path, "a+") as handle:
        if not _took(handle):
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _took(handle: IO[str]) -> bool:
    """The lock on the open file, taken now; False if another open of it holds it."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def arcadedb_root(data: Path) -> Path:
    return data / "arcadedb"


def password_file(data: Path) -> Path:
    return data / "secrets" / "bolt-password"


def read_password(data: Path) -> str:
    return password_file(data).read_text().strip()


def logs_dir(data: Path) -> Path:
    return data / "logs"


def clients_file(data: Path) -> Path:
    return data / "store.clients"


def lock_file(data: Path) -> Path:
    return data / "store.lock"


def runtime_file(data: Path) -> Path:
    return data / "store.json"
