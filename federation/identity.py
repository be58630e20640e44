"""A directory's identity: its key files, its first root of trust and each rotation.

Root keys sign roots only and belong offline: `directory federation init` writes them to a folder
the steward is told to move off the machine, and `rotate` asks for it back. Online keys sign
entries and checkpoints; the service reads them from `Settings.federation_keys`. A key file is
`<keyid>.key` holding the base64url seed, readable by its owner only.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from directory.base.files import private_folder
from directory.domain import ids
from directory.domain.errors import FederationError
from federation.keys import Root, SigningKey, Untrusted, b64, format_time, next_root, seal, unb64

ROOT_KEYS = 3
ROOT_THRESHOLD = 2
ROOT_DAYS = 365


class KeyFileError(FederationError):
    """No online keys here: `directory federation init` has not been run."""


class DamagedKeyFile(FederationError):
    """A key file that holds no key, or not the one its name says: never taken for "no keys", whose
    advice (run init) init itself then refuses (a crash read)."""


def write_keys(folder: Path, keys: list[SigningKey]) -> None:
    private_folder(folder)
    for key in keys:
        path = folder / f"{key.id}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(b64(key.secret) + "\n")


def remove_keys(folder: Path, keep: set[str]) -> None:
    for path in folder.glob("*.key"):
        if path.stem not in keep:
            path.unlink()


def read_keys(folder: Path) -> list[SigningKey]:
    if not folder.is_dir():
        raise KeyFileError(f"no key folder at {folder}")
    keys = []
    for path in sorted(folder.glob("*.key")):
        try:
            key = SigningKey(unb64(path.read_text(encoding="ascii").strip(), str(path)))
            named = f"{key.id}.key" == path.name
        except (ValueError, Untrusted):  # not ASCII, not base64url, not 32 bytes
            named = False
        if not named:
            raise DamagedKeyFile(f"{path} does not hold the key its name says: restore the folder {folder} from "
                                 "its copy, or, if none is left, make new online keys with `directory federation "
                                 "rotate --root-keys FOLDER`")
        keys.append(key)
    if not keys:
        raise KeyFileError(f"no keys in {folder}")
    return keys


def expiry(days: int, now: datetime | None = None) -> str:
    return format_time((now or datetime.now(UTC)) + timedelta(days=days))


def first_root(directory: str, root_keys: list[SigningKey], online: list[SigningKey], days: int = ROOT_DAYS,
               threshold: int = ROOT_THRESHOLD) -> dict[str, Any]:
    """Root version 1 of this directory; BadDirectoryId for an id peers would refuse (one an earlier
    rule took, such as 'ngo-': such a directory cannot federate under it)."""
    ids.check(directory)
    root = Root(directory, 1, expiry(days), {k.id: k.public for k in root_keys}, threshold,
                {k.id: k.public for k in online}, 1)
    return seal(root.signed(), root_keys)


def rotated_root(current: Root, old_root_keys: list[SigningKey], new_root_keys: list[SigningKey],
                 online: list[SigningKey], days: int = ROOT_DAYS) -> dict[str, Any]:
    """Version + 1 signed by the old root keys and the new ones (the same keys when only online keys change)."""
    threshold = min(current.root_threshold, len(new_root_keys))
    new = Root(current.directory, current.version + 1, expiry(days), {k.id: k.public for k in new_root_keys},
               threshold, {k.id: k.public for k in online}, 1)
    signers = {k.id: k for k in [*old_root_keys, *new_root_keys]}
    envelope = seal(new.signed(), list(signers.values()))
    next_root(current, envelope)  # refuse to publish what a peer would refuse
    return envelope
