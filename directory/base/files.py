"""Files that may hold non-public records are owner-only: files 0600, folders 0700.

Every writer of such a file goes through here: backups, exports (`--audience all` holds
restricted records; a public export is written the same way), job answers and maps written by the
CLI, the audit log, federation key files, and the embedded store's data folder. A file is made
owner-only when it is opened, before anything is written, also when it already existed with
wider modes; a folder we create is 0700 from the start, never briefly wider. The CLI and the store
process also run with umask 077, so whatever else they (or the JVM) create is owner-only too, and
`tighten` fixes data folders made by older versions.
"""

from __future__ import annotations

import errno
import functools
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal, TextIO, overload

FILE = 0o600
FOLDER = 0o700
UMASK = 0o077


def private_folder(path: Path) -> Path:
    """Make `path` (and any missing parents) with mode 0700; an existing folder of ours becomes 0700."""
    missing = []
    for folder in (path, *path.parents):
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER)
        except FileExistsError:
            pass
        os.chmod(folder, FOLDER)  # mkdir's mode is masked by the umask; this is not
    if path.stat().st_uid == os.geteuid():
        os.chmod(path, FOLDER)
    return path


@overload
def private_open(path: Path, mode: Literal["w", "a"] = "w", **kwargs: Any) -> TextIO: ...
@overload
def private_open(path: Path, mode: Literal["wb", "ab"], **kwargs: Any) -> BinaryIO: ...


def private_open(path: Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """`open(path, mode)` for writing ("w", "a", "wb", "ab"), the file owner-only before a byte is written."""
    if mode.rstrip("b") not in ("w", "a"):
        raise ValueError(f"private_open writes; got mode {mode!r}")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    fd = os.open(path, flags, FILE)
    try:
        os.fchmod(fd, FILE)  # an existing file keeps its mode through os.open: narrow it now
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


@contextmanager
def private_replacing(path: Path, mode: Literal["w"] = "w", **kwargs: Any) -> Iterator[TextIO]:
    """A new owner-only text file that takes `path`'s place only if the block ends without an error.

    It is written unnamed (`O_TMPFILE`) where the file system allows, and named only once whole: a
    process killed while writing a backup leaves nothing behind (it left `FILE.tmp`, owner-only but
    holding restricted records nobody knew were there). Elsewhere it is written under a hidden name
    beside `path`, removed on any error."""
    with private_replacing_all([path], mode, **kwargs) as (f,):
        yield f


@contextmanager
def private_replacing_all(paths: list[Path], mode: Literal["w"] = "w", **kwargs: Any) -> Iterator[list[TextIO]]:
    """`private_replacing` for files that belong together (an export's organisations, services and
    links): none takes its place until every one is whole. Each took its place as its own block
    ended, so an export failing on a full disk left the new links beside the old organisations (a
    crash read). Refused before anything is written, naming the path as given, when its folder is
    missing or not a folder, or the path is a folder."""
    for path in paths:
        _check_place(path)
    pending: list[_Pending] = []
    try:
        for path in paths:
            fd, named = _unnamed(path), None
            if fd is None:
                named = _hidden(path)
                fd = _open_at(path, functools.partial(os.open, named, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE))
            pending.append(_Pending(path, os.fdopen(fd, mode, **kwargs), named))
        yield [p.file for p in pending]
        for p in pending:  # every one whole and named before any takes its place
            p.file.flush()
            if p.named is None:  # the unnamed file, given a name beside its place
                named = _hidden(p.path)
                _open_at(p.path, functools.partial(_name, p.file.fileno(), named))
                p.named = named
        while pending:
            p = pending[0]
            p.file.close()
            assert p.named is not None
            os.replace(p.named, p.path)
            pending.pop(0)
    finally:
        for p in pending:
            try:
                p.file.close()  # its last bytes may meet the full disk that stopped it: nothing to keep
            except OSError:
                pass
            if p.named is not None:
                p.named.unlink(missing_ok=True)


@dataclass
class _Pending:
    path: Path
    file: TextIO
    named: Path | None  # its hidden name beside `path`, once it has one


def _check_place(path: Path) -> None:
    """The errors writing would meet, raised now and about the path as the operator gave it."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not path.parent.exists():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
    if not path.parent.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))


def _open_at(path: Path, make: Callable[[], Any]) -> Any:
    """`make()`, with an error about a hidden file beside `path` said about `path` itself."""
    try:
        return make()
    except OSError as exc:
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None


def _hidden(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")


def _name(fd: int, path: Path) -> None:
    """linkat(2) through /proc, following its link to the open file (os.link alone calls link(2), which
    would link the /proc entry itself)."""
    proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(str(fd), path, src_dir_fd=proc, follow_symlinks=True)
    finally:
        os.close(proc)


# What open(2) says where a file system makes no unnamed files (older kernels: EISDIR).
_NO_UNNAMED = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL}


def _unnamed(path: Path) -> int | None:
    """An owner-only file with no name in `path`'s folder, or None where that cannot be made; any
    other error (no such folder, no permission, a read-only or full file system) about `path`."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag or not Path("/proc/self/fd").is_dir():
        return None
    try:
        return os.open(path.parent, flag | os.O_WRONLY, FILE)
    except OSError as exc:
        if exc.errno in _NO_UNNAMED:
            return None
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None


def write_private(path: Path, text: str, encoding: str = "utf-8") -> None:
    """`path.write_text(text)`, owner-only, whole or not at all (`private_replacing`)."""
    with private_replacing(path, "w", encoding=encoding) as f:
        f.write(text)


def secret_text(path: Path, make: Callable[[], str]) -> str:
    """A secret kept in an owner-only file, made by `make` on first use: written whole under another
    name, then linked in place, so processes starting together all read the one secret and none
    reads a file not yet written."""
    if not path.exists():
        private_folder(path.parent)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(make())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: theirs is the secret
        finally:
            tmp.unlink()
    return path.read_text().strip()


class DamagedSecret(Exception):
    """A key file that does not hold what it must: never used, never replaced without a word."""


SECRET_BYTES = 32


def secret_bytes(path: Path) -> bytes:
    """A random 32-byte key kept in an owner-only file, made on first use (`secret_text`). A file
    that holds anything else (empty, cut short, not hex) is refused, naming it: a crash read found
    an empty one taken as no key (each process then made its own, and sessions ended at a restart)
    and a short one would have been a key a store's reader could guess."""
    text = secret_text(path, lambda: os.urandom(SECRET_BYTES).hex())
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != SECRET_BYTES:
        raise DamagedSecret(f"{path} does not hold a key ({SECRET_BYTES * 2} hexadecimal digits): restore it from "
                            "a copy (every app process must share the same one), or delete it to make a new one, "
                            "which ends every session")
    return key


def tighten(folder: Path) -> None:
    """Take group and other permissions off every file and folder under `folder` (symlinks untouched)."""
    for root, _, files in os.walk(folder):  # every folder is a root once; symlinked folders are not walked
        for entry in (root, *(os.path.join(root, name) for name in files)):
            st = os.lstat(entry)
            if st.st_mode & UMASK and not stat.S_ISLNK(st.st_mode):
                os.chmod(entry, stat.S_IMODE(st.st_mode) & ~UMASK)
