"""A directory's identity: `directory federation init | rotate | show`, the roots it serves, and
a peer following them from the fingerprint alone."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from directory.base.config import Settings
from directory.store import Store
from federation.canonical import parse
from federation.identity import read_keys
from federation.keys import Untrusted, first_root, next_root
from tests.conftest import LiveServer
from tests.test_iati import DIRECTORY


async def directory(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command in its own process, with the online keys where `settings` says."""
    env = {**os.environ, "DIRECTORY_FEDERATION_KEYS": str(settings.federation_keys)}
    return await asyncio.to_thread(subprocess.run, [*DIRECTORY, "--data", str(settings.data_dir), "--id", "test",
                                                    *args], capture_output=True, text=True, check=True, env=env)

pytestmark = pytest.mark.anyio


def fingerprint_in(output: str) -> str:
    return next(line.split(": ", 1)[1] for line in output.splitlines() if "fingerprint" in line)


async def test_a_peer_follows_rotations_from_the_fingerprint_alone(store: Store, settings: Settings,
                                                                   live_server: LiveServer, tmp_path: Path) -> None:
    env = Settings(data_dir=settings.data_dir, directory_id="test", federation_key_dir=tmp_path / "online")
    init = await directory(env, "federation", "init", "--root-keys", str(tmp_path / "root"))
    pinned = fingerprint_in(init.stdout)
    keys = list((tmp_path / "root").glob("*.key"))
    assert len(keys) == 3 and all(stat.S_IMODE(k.stat().st_mode) == 0o600 for k in keys)
    first_online = {k.id for k in read_keys(tmp_path / "online")}

    await directory(env, "federation", "rotate", "--root-keys", str(tmp_path / "root"))
    await directory(env, "federation", "rotate", "--root-keys", str(tmp_path / "root"),
                    "--new-root-keys", str(tmp_path / "root2"))
    shown = await directory(env, "federation", "show")
    assert "root version 3" in shown.stdout

    async with httpx.AsyncClient(base_url=live_server.url) as client:
        discovery = (await client.get("/.well-known/protection-directory.json")).json()
        assert discovery["directory"] == "test" and discovery["root"]["version"] == 3
        chain = [(await client.get(f"/federation/roots/{v}.json")).content for v in (1, 2, 3)]
        assert (await client.get("/federation/roots/4.json")).status_code == 404
        # a version past what the store's driver takes, or in other digits, is a missing one (it was a 500,
        # and `\u0661` served version 1 at a second address: a hostile peer's read)
        for odd in ("99999999999999999999", "9007199254740992", "%D9%A1", "-1", "0", "1e3"):
            missing = await client.get(f"/federation/roots/{odd}.json")
            assert missing.status_code == 404 and "no root version" in missing.text, odd
    root = first_root(parse(chain[0]), pinned)
    for document in chain[1:]:
        root = next_root(root, parse(document))
    assert root.version == 3
    assert not set(root.online_keys) & first_online  # rotated away
    assert {k.id for k in read_keys(tmp_path / "online")} == set(root.online_keys)
    assert discovery["root"]["fingerprint"] == root.fingerprint != pinned  # the root keys changed in version 3
    with pytest.raises(Untrusted, match="does not follow"):
        next_root(first_root(parse(chain[0]), pinned), parse(chain[2]))  # a skipped version


async def test_init_beside_a_running_service_turns_its_feeds_on_without_a_restart(
        store: Store, settings: Settings, tmp_path: Path) -> None:
    """An operator's walk: `federation init` while `directory serve` ran said it was done, and the
    service went on with no feeds ("no public feed here") until it was started again. The online
    keys in a folder of this test's own: damaged below, they must not be the session's (a full run
    had every later `peer sync` refused by them)."""
    from dataclasses import replace

    own = replace(settings, federation_key_dir=tmp_path / "online")
    before = {k.name: k.read_bytes() for k in settings.federation_keys.glob("*.key")}
    with LiveServer(own) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.get("/.well-known/protection-directory.json")).json()["feeds"] == {}
            assert (await client.get("/federation/feeds/public?after=0")).status_code == 404
            await directory(own, "federation", "init", "--root-keys", str(tmp_path / "root"))
            await directory(own, "federation", "publish")
            discovered = (await client.get("/.well-known/protection-directory.json")).json()
            assert set(discovered["feeds"]) == {"public", "network"}
            page = await client.get("/federation/feeds/public?after=0")
            assert page.status_code == 200, page.text
            # a key damaged while it serves: nothing signed, said in a line (it was a 500 and a traceback)
            for key in own.federation_keys.glob("*.key"):
                key.write_text("garbage")
            damaged = await client.get("/federation/feeds/public?after=0")
            assert damaged.status_code == 503 and "cannot be signed" in damaged.text
    assert {k.name: k.read_bytes() for k in settings.federation_keys.glob("*.key")} == before  # untouched


async def test_init_refuses_to_run_twice_or_to_overwrite_keys(store: Store, settings: Settings,
                                                              tmp_path: Path) -> None:
    env = Settings(data_dir=settings.data_dir, directory_id="test", federation_key_dir=tmp_path / "online")
    await directory(env, "federation", "init", "--root-keys", str(tmp_path / "root"))
    with pytest.raises(subprocess.CalledProcessError) as again:
        await directory(env, "federation", "init", "--root-keys", str(tmp_path / "other"))
    assert "already has a root of trust" in again.value.stderr
    with pytest.raises(subprocess.CalledProcessError) as full:
        await directory(env, "federation", "init", "--root-keys", str(tmp_path / "root"))
    assert "not empty" in full.value.stderr


async def test_a_rotation_killed_while_it_signs_the_feeds_again_is_finished_by_the_next_publish(
        store: Store, settings: Settings, tmp_path: Path) -> None:
    """Was a hole (a crash read): `rotate` killed after it saved the new root, while it signed the
    feeds again, left entries signed only by the key the new root no longer names, which a new peer
    refuses; and the old key was gone before the root naming the new one was saved."""
    import sys

    from directory.store.engine.cypher import cypher
    from federation.keys import read_root, signers
    from tests.helpers import load, org

    env = Settings(data_dir=settings.data_dir, directory_id="test", federation_key_dir=tmp_path / "online")
    await directory(env, "federation", "init", "--root-keys", str(tmp_path / "root"))
    await load(store, [org("casa"), org("fund")])
    await directory(env, "federation", "publish")
    first = {k.id for k in read_keys(tmp_path / "online")}

    async def signed_by_the_latest_root() -> list[bool]:
        found = await store.roots.latest()
        assert found is not None
        root = read_root(parse(found[1].encode()))
        rows = await store.graph.read(cypher("tests.feed_entries", "MATCH (e:FeedEntry) RETURN e.entry AS entry"))
        assert rows
        return [bool(signers(parse(r["entry"].encode()), root.online_keys)) for r in rows]

    killed = ("import os, sys\nfrom federation import publish\n"
              "publish.Publisher.resign = lambda self: os._exit(9)\n"
              "from directory.cli import main\nmain(sys.argv[1:])\n")
    proc = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", killed, "--data", str(settings.data_dir), "--id", "test",
                         "federation", "rotate", "--root-keys", str(tmp_path / "root")],
        env={**os.environ, "DIRECTORY_FEDERATION_KEYS": str(tmp_path / "online")}, capture_output=True, timeout=120)
    assert proc.returncode == 9
    assert not any(await signed_by_the_latest_root())  # what a new peer would refuse
    assert first < {k.id for k in read_keys(tmp_path / "online")}  # the old key still signs beside the new
    published = await directory(env, "federation", "publish")
    assert "did not finish signing the feeds again" in published.stderr
    assert all(await signed_by_the_latest_root())
    await directory(env, "federation", "publish")
    assert all(await signed_by_the_latest_root())
    # the next rotation finishes, and the keys the latest root does not name are gone
    await directory(env, "federation", "rotate", "--root-keys", str(tmp_path / "root"))
    assert all(await signed_by_the_latest_root())
    found = await store.roots.latest()
    assert found is not None
    assert {k.id for k in read_keys(tmp_path / "online")} == set(read_root(parse(found[1].encode())).online_keys)


@pytest.mark.parametrize("held", ["", "c2hvcnQ", "not base64 at all!", "é"])
def test_a_damaged_online_key_is_named_and_never_read_as_no_keys(tmp_path: Path, held: str) -> None:
    """A crash read: a key file cut short stopped `serve` with PyNaCl's "The seed must be exactly 32
    bytes long", naming no file; one of the right length but other bytes read as "no online keys:
    run init", which init then refuses."""
    from federation.identity import DamagedKeyFile, write_keys
    from federation.keys import SigningKey
    from federation.service import online_keys

    folder = tmp_path / "online"
    (key,) = keys = [SigningKey.generate()]
    write_keys(folder, keys)
    path = folder / f"{key.id}.key"
    path.write_text(held, encoding="utf-8")
    with pytest.raises(DamagedKeyFile) as caught:
        read_keys(folder)
    assert str(path) in str(caught.value) and "restore the folder" in str(caught.value)
    with pytest.raises(DamagedKeyFile):
        online_keys(Settings(data_dir=tmp_path, directory_id="test", federation_key_dir=folder))
    assert online_keys(Settings(data_dir=tmp_path, directory_id="test", federation_key_dir=tmp_path / "none")) == []
