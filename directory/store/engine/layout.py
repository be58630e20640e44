"""Where the embedded store keeps its files inside the data folder.

    DATA/
      arcadedb/            the database (ArcadeDB's root path)
      secrets/bolt-password  random, owner-only (0600), made on first start
      logs/                JVM and launcher logs
      store.lock           held by the running store process
      store.json           port and pid of the running store, while it runs
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from directory.base.files import private_folder

DATABASE = "directory"
USER = "root"


def prepare(data: Path) -> None:
    """Create the folder tree with owner-only permissions (0700), and the password on first use."""
    private_folder(data)
    for sub in ("arcadedb", "secrets", "logs"):
        private_folder(data / sub)
    pw = password_file(data)
    if not pw.exists():
        fd = os.open(pw, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(24))


def arcadedb_root(data: Path) -> Path:
    return data / "arcadedb"


def password_file(data: Path) -> Path:
    return data / "secrets" / "bolt-password"


def read_password(data: Path) -> str:
    return password_file(data).read_text().strip()


def logs_dir(data: Path) -> Path:
    return data / "logs"


def lock_file(data: Path) -> Path:
    return data / "store.lock"


def runtime_file(data: Path) -> Path:
    return data / "store.json"
