"""Files that may hold non-public records are owner-only: no group or other permission bit anywhere.

The data folder of a store (database, logs, secrets, audit log) and everything the CLI writes for
a steward (backup, exports with every record, a map, a job's CSV), also over files that existed
before with mode 0644 and in a data folder an older version left group and world readable.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from directory.base.audit import AuditLog
from directory.base.files import private_open, tighten
from directory.domain.viewer import STEWARD
from directory.store import EmbeddedStore
from federation import identity
from federation.keys import SigningKey

DIRECTORY = [sys.executable, "-m", "directory.cli"]


def loose(root: Path) -> list[str]:
    """Every file or folder under `root` (itself included) that group or others may use."""
    found = []
    for folder, _, files in os.walk(root):
        for entry in (folder, *(os.path.join(folder, f) for f in files)):
            mode = os.lstat(entry).st_mode
            if not stat.S_ISLNK(mode) and mode & 0o077:
                found.append(f"{entry} {stat.filemode(mode)}")
    return found


def wide(path: Path, text: str = "old\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o644)
    return path


def test_the_store_and_every_cli_output_are_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for folder in (data, data / "logs", data / "old-stuff"):  # an install from before: group and world readable
        folder.mkdir(mode=0o755, exist_ok=True)
        folder.chmod(0o755)
    wide(data / "logs" / "store-process.log")
    wide(data / "old-stuff" / "notes.txt")
    out = tmp_path / "out"  # the steward's own folder: we leave its mode alone, but not what we put in it
    existing = [wide(out / "backup.jsonl"), wide(out / "all" / "organisations.csv"),
                wide(out / "hsds" / "organizations.json"), wide(out / "map.html"), wide(out / "gaps.csv")]
    (out / "all").chmod(0o755)
    server = EmbeddedStore(data, heap="512m").attach()  # started from this process, whose umask is not 077
    try:
        def cli(*args: str) -> str:
            proc = subprocess.run([*DIRECTORY, "--data", str(data), "--id", "test", *args], capture_output=True,
                                  text=True, timeout=300)
            assert proc.returncode == 0, proc.stderr
            return proc.stdout

        cli("demo")
        cli("backup", "--output", str(out / "backup.jsonl"))
        cli("export", "--format", "csv", "--audience", "all", "--output", str(out / "all"))
        cli("export", "--format", "hsds", "--audience", "all", "--output", str(out / "hsds"))
        cli("export", "--format", "hsds", "--output", str(out / "new" / "public"))  # folders it makes itself
        cli("map", "directory", "--audience", "all", "--output", str(out / "map.html"))
        printed = cli("gaps", "--audience", "all", "--csv", str(out / "gaps.csv"))
        assert "Need from defender-risk: " in printed  # where the need figures come from, under the table
        assert loose(data) == []
    finally:
        server.stop()
    assert all(path.stat().st_size > 10 for path in existing)  # written over, not beside
    assert "Casa Respiro" in (out / "all" / "organisations.csv").read_text()  # they do hold restricted records
    assert loose(data) == [] and [e for e in loose(out) if not e.startswith(f"{out} ")] == []


def test_an_existing_wide_file_is_narrowed_before_anything_is_written(tmp_path: Path) -> None:
    path = wide(tmp_path / "f.txt")
    with private_open(path, "w", encoding="utf-8") as f:
        assert stat.S_IMODE(os.fstat(f.fileno()).st_mode) == 0o600
        f.write("secret")
    with private_open(path, "a", encoding="utf-8") as f:
        f.write(" more")
    assert path.read_text() == "secret more" and stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("unnamed", [True, False], ids=["unnamed", "on-a-file-system-without-unnamed-files"])
def test_a_file_whose_writer_fails_or_is_killed_leaves_no_part_of_itself(
        tmp_path: Path, unnamed: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Was a hole (a crash read): a `backup` killed while writing left `FILE.tmp`, owner-only but
    holding restricted records nobody knew were there; an export that failed left its `.*.tmp` files."""
    from directory.base import files

    if unnamed:
        assert files._unnamed(tmp_path / "x") is not None  # this file system makes them (ext4, tmpfs, xfs)
    else:
        monkeypatch.setattr(files, "_unnamed", lambda path: None)
    target = wide(tmp_path / "backup.jsonl", "the last backup\n")
    killed = ("import os, sys\nfrom pathlib import Path\nfrom directory.base import files\n"
              f"{'' if unnamed else 'files._unnamed = lambda path: None'}\n"
              "with files.private_replacing(Path(sys.argv[1])) as f:\n"
              "    f.write('Casa Respiro\\n' * 10000)\n    f.flush()\n    os._exit(9)\n")
    assert subprocess.run([sys.executable, "-c", killed, str(target)], timeout=60).returncode == 9
    assert target.read_text() == "the last backup\n"
    left = [p for p in tmp_path.iterdir() if p != target]
    if unnamed:  # nothing at all
        assert left == []
    else:  # a hidden file beside it, owner-only
        assert [p.name.startswith(".backup.jsonl.") and stat.S_IMODE(p.stat().st_mode) == 0o600 for p in left] == [True]
        left[0].unlink()

    with pytest.raises(RuntimeError), files.private_replacing(target) as f:
        f.write("half of it")
        raise RuntimeError("the store stopped answering")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.jsonl"]
    assert target.read_text() == "the last backup\n"
    with files.private_replacing(target) as f:
        f.write("the new backup\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.jsonl"]
    assert target.read_text() == "the new backup\n" and stat.S_IMODE(target.stat().st_mode) == 0o600


def test_files_that_belong_together_take_their_places_together_or_not_at_all(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Was a hole (a crash read): an export's files each took their place as they were done, so one
    failing on a full disk left the new links beside the old organisations and services."""
    from directory.base import files

    paths = [wide(tmp_path / f"{kind}.csv", f"old {kind}\n") for kind in ("organisations", "services", "links")]
    real, named = files._name, []

    def full_disk_at_the_second(fd: int, path: Path) -> None:
        named.append(path)
        if len(named) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(fd, path)

    monkeypatch.setattr(files, "_name", full_disk_at_the_second)
    with pytest.raises(OSError) as full, files.private_replacing_all(paths) as written:
        for f, path in zip(written, paths, strict=True):
            f.write(f"new {path.stem}\n")
    assert full.value.filename == str(paths[1])  # said about the file asked for, not a hidden one
    assert [p.read_text() for p in paths] == [f"old {p.stem}\n" for p in paths]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)  # nothing hidden left
    monkeypatch.undo()
    with files.private_replacing_all(paths) as written:
        for f, path in zip(written, paths, strict=True):
            f.write(f"new {path.stem}\n")
    assert [p.read_text() for p in paths] == [f"new {p.stem}\n" for p in paths]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in paths)


def test_a_path_that_cannot_be_written_is_refused_first_and_named_as_given(tmp_path: Path) -> None:
    """Was: "no such file: nope/.b.jsonl.29054.bbb53c8a.tmp", and a folder given as the output was
    refused only once the whole backup had been written (a crash read)."""
    from directory.base.files import private_replacing

    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-file").write_text("x")
    for given, error in [(tmp_path / "nope" / "b.jsonl", FileNotFoundError), (tmp_path / "a-folder", IsADirectoryError),
                         (tmp_path / "a-file" / "b.jsonl", NotADirectoryError)]:
        wrote = []
        with pytest.raises(error) as refused, private_replacing(given) as f:
            wrote.append(f.write("everything"))
        assert refused.value.filename == str(given) and wrote == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "a-folder"]


def test_the_audit_log_and_key_files_are_owner_only_even_over_old_ones(tmp_path: Path) -> None:
    audit = tmp_path / "audit"
    audit.mkdir(mode=0o755)
    audit.chmod(0o755)
    log = AuditLog(audit)
    wide(log.path)
    log.record(STEWARD, "read", "organisation", ["test:a"])
    identity.write_keys(tmp_path / "secrets" / "federation-online", [SigningKey.generate()])
    assert loose(audit) == [] and loose(tmp_path / "secrets") == []


def test_tighten_fixes_an_old_data_folder(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for folder in (tmp_path / "a", tmp_path / "a" / "b"):
        folder.chmod(0o775)
    wide(tmp_path / "a" / "b" / "c").chmod(0o664)
    (tmp_path / "a" / "link").symlink_to("/etc/hostname")
    tighten(tmp_path / "a")
    assert loose(tmp_path / "a") == []
    assert stat.S_IMODE((tmp_path / "a" / "b" / "c").stat().st_mode) == 0o600
    assert stat.S_IMODE(Path("/etc/hostname").stat().st_mode) & 0o044  # a symlink's target is not ours to change
