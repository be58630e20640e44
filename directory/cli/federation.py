"""`directory federation init | rotate | show`: the directory's identity for federation.

`init` makes three root keys (any two sign a root) and one online key, signs root version 1 and
prints the fingerprint to give peers out of band. The root keys go to `--root-keys DIR`, to be
moved offline at once; `rotate` needs them back to sign the next version (new online keys, and
with `--new-root-keys` new root keys too).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from directory.base.clock import now
from directory.base.config import Settings
from directory.base.terminal import out
from directory.cli.runner import run_with_store, verb
from directory.domain.errors import Conflict, DirectoryError
from directory.store import Store
from federation import identity
from federation.canonical import canonical, parse
from federation.keys import SigningKey, read_root
from federation.publish import Publisher


def cmd_init(args: argparse.Namespace, settings: Settings) -> None:
    folder = Path(args.root_keys)
    if folder.exists() and any(folder.iterdir()):
        raise Conflict(f"{folder} is not empty; root keys are never overwritten")

    async def work(store: Store) -> str:
        if await store.roots.latest() is not None:
            raise Conflict("this directory already has a root of trust; use `directory federation rotate`")
        root_keys = [SigningKey.generate() for _ in range(identity.ROOT_KEYS)]
        online = [SigningKey.generate()]
        envelope = identity.first_root(settings.directory_id, root_keys, online, args.days)
        identity.write_keys(folder, root_keys)
        identity.write_keys(settings.federation_keys, online)
        await store.roots.save(1, canonical(envelope).decode(), now())
        return read_root(envelope).fingerprint

    fingerprint = run_with_store(settings, work)
    out(f"root of trust, version 1, for {settings.directory_id}\nfingerprint: {fingerprint}")
    out(f"the {identity.ROOT_KEYS} root keys are in {folder}: move them off this machine now "
        f"(any {identity.ROOT_THRESHOLD} of them sign the next root); online key in {settings.federation_keys}",
        file=sys.stderr)


def cmd_rotate(args: argparse.Namespace, settings: Settings) -> None:
    old_keys = identity.read_keys(Path(args.root_keys))
    new_root_keys = [SigningKey.generate() for _ in range(identity.ROOT_KEYS)] if args.new_root_keys else old_keys
    online = [SigningKey.generate()]

    async def work(store: Store) -> tuple[int, str]:
        found = await store.roots.latest()
        if found is None:
            raise DirectoryError("this directory has no root of trust yet; run `directory federation init`")
        current = read_root(parse(found[1].encode(), "the stored root"))
        envelope = identity.rotated_root(current, old_keys, new_root_keys, online, args.days)
        if args.new_root_keys:
            identity.write_keys(Path(args.new_root_keys), new_root_keys)
        # In an order a kill at any step survives: the new key beside the old (both sign meanwhile,
        # and a reader counts only the keys its root names); the root, marked as still to re-sign the
        # feeds, which the next publish finishes if this is killed (entries signed by the old key
        # would be refused by new peers); then the old keys go, and sign no more.
        identity.write_keys(settings.federation_keys, online)
        version = current.version + 1
        await store.roots.save(version, canonical(envelope).decode(), now(), resign=True)
        await Publisher(store, online).resign()
        await store.roots.resigned(version)
        identity.remove_keys(settings.federation_keys, keep={k.id for k in online})
        return version, read_root(envelope).fingerprint

    version, fingerprint = run_with_store(settings, work)
    out(f"root of trust, version {version}; peers follow it from version {version - 1}")
    out(f"fingerprint (for new peers): {fingerprint}")


def cmd_show(args: argparse.Namespace, settings: Settings) -> None:
    async def work(store: Store) -> tuple[int, str] | None:
        return await store.roots.latest()

    found = run_with_store(settings, work)
    if found is None:
        out("no root of trust yet: `directory federation init`")
        return
    root = read_root(parse(found[1].encode(), "the stored root"))
    out(f"directory {root.directory}, root version {root.version}, expires {root.expires}")
    out(f"fingerprint: {root.fingerprint}")
    out(f"root keys: {len(root.root_keys)} (threshold {root.root_threshold}); online keys: "
        f"{', '.join(sorted(root.online_keys))}")


def add_verbs(sub: Any) -> Any:
    s = verb(sub, "federation", "the directory's root of trust and feeds: init, rotate, show, publish",
             "directory federation init --root-keys /media/usb/alpha-root", "directory federation show")
    verbs = s.add_subparsers(dest="federation_verb", required=True, metavar="ACTION")
    v = verb(verbs, "init", "make root and online keys, sign root version 1, print the fingerprint",
             "directory federation init --root-keys /media/usb/alpha-root",
             "directory federation init --root-keys /media/usb/alpha-root --days 730")
    v.add_argument("--root-keys", required=True, metavar="DIR", help="an empty folder for the root keys (then offline)")
    v.add_argument("--days", type=int, default=identity.ROOT_DAYS, help="how long the root is valid (default 365)")
    v.set_defaults(func=cmd_init)
    v = verb(verbs, "rotate", "sign the next root version with new online keys (and new root keys)",
             "directory federation rotate --root-keys /media/usb/alpha-root",
             "directory federation rotate --root-keys /media/usb/alpha-root --new-root-keys /media/usb/alpha-root-2")
    v.add_argument("--root-keys", required=True, metavar="DIR", help="the folder of the current root keys")
    v.add_argument("--new-root-keys", metavar="DIR", help="also replace the root keys; new ones go here")
    v.add_argument("--days", type=int, default=identity.ROOT_DAYS, help="how long the root is valid (default 365)")
    v.set_defaults(func=cmd_rotate)
    v = verb(verbs, "show", "print the root's version, expiry and fingerprint", "directory federation show")
    v.set_defaults(func=cmd_show)
    return verbs
