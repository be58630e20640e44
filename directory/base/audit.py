"""The audit log: who was shown or changed which restricted record, and when.

One JSON object per line, appended to a file only the service's user can read. It records
token ids and record ids, never query text: no search term of anyone is kept. Each web process
writes its own file (the name carries the host and process id), so scaled-out processes never
contend for one file; collect them like any log.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from directory.base.clock import now
from directory.base.files import private_folder, private_open
from directory.domain.viewer import Viewer


class AuditLog:
    def __init__(self, folder: Path) -> None:
        private_folder(folder)
        self.path = folder / f"restricted-{socket.gethostname()}-{os.getpid()}.jsonl"
        self._lock = threading.Lock()

    def record(self, viewer: Viewer, action: str, kind: str, ids: Iterable[str]) -> None:
        ids = sorted(set(ids))
        if not ids:
            return
        line = json.dumps({"at": now(), "who": viewer.who or viewer.role, "role": viewer.role,
                           "organisation": viewer.organisation, "action": action, "kind": kind, "ids": ids})
        with self._lock:
            with private_open(self.path, "a", encoding="utf-8") as f:
                # a line cut short (a full disk) ends no line: the next starts on a line of its own
                f.write(("\n" if _cut_short(self.path) else "") + line + "\n")


def _cut_short(path: Path) -> bool:
    """Whether the file's last line lacks its end: a write the disk had no room to finish."""
    try:
        with open(path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) != b"\n"
    except OSError:  # empty, or not there yet
        return False


def read_all(folder: Path) -> list[dict[str, Any]]:
    """Every entry in a folder's audit files (for `directory audit` and the tests)."""
    return read_counted(folder)[0]


def read_counted(folder: Path) -> tuple[list[dict[str, Any]], int]:
    """Every entry, and how many lines could not be read (cut short when the disk was full: a crash
    read found `directory audit` failing on such a line, every time, until it was edited out)."""
    out, unreadable = [], 0
    for path in sorted(folder.glob("restricted-*.jsonl")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line) if line else None
            except ValueError:
                entry, unreadable = None, unreadable + 1
            if isinstance(entry, dict) and "at" in entry:
                out.append(entry)
            elif line and entry is not None:
                unreadable += 1
    return sorted(out, key=lambda e: str(e["at"])), unreadable
