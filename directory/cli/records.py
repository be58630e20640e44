"""The verbs on records: serve, import, export, backup, restore, demo, generate, taxonomy, token,
audit, status."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from directory.base.config import Settings
from directory.base.files import private_replacing
from directory.base.terminal import out
from directory.cli import jobs as cli_jobs
from directory.cli.runner import Reporter, run_with_store, verb
from directory.domain.errors import DirectoryError, NotFound
from directory.domain.taxonomy import DEFENDER_GROUP, SERVICE_TYPE, Term
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from directory.exchange import demo, exports, importer
from directory.formats import hxl
from directory.jobs.tables import Column, Table
from directory.store import RESTORE_PART, Store, WriteCounts, import_running, serving

AUDIENCES = {"public": ANONYMOUS, "all": STEWARD}
GRACEFUL_SECONDS = 5
BACKUP_EVERY = 1000  # lines between two looks at the clock in a backup


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from directory.web import create_app

    with serving(settings):
        out(f"Protection Directory on http://{settings.host}:{settings.port}/graphql and /maps", file=sys.stderr)
        # no access log: requests could name people at risk. On SIGTERM, requests still running get a
        # few seconds to finish, then are cancelled: the process is gone well within 10 s.
        uvicorn.run(create_app(settings, load_demo=args.demo), host=settings.host, port=settings.port,
                    log_level="warning", access_log=False, timeout_graceful_shutdown=GRACEFUL_SECONDS)


def cmd_import(args: argparse.Namespace, settings: Settings) -> None:
    if args.format == "iati":
        cli_jobs.import_iati(args, settings)
        return

    async def work(store: Store) -> WriteCounts | int:
        progress = Reporter()
        inputs = importer.read_files(args.format, args.files, args.kind, args.default_kind, progress)
        return await importer.import_inputs(store, inputs, args.check, progress)

    counts = run_with_store(settings, work)
    if isinstance(counts, int):
        out(f"{'valid' if args.check else 'imported'}: {counts} need indicator rows"
            f"{'; nothing was written' if args.check else ''}")
        return
    if args.check:
        out(f"valid: {counts.organisations} organisations, {counts.services} services, {counts.links} links; "
            "nothing was written")
        return
    same = not (counts.organisations or counts.services or counts.links)
    out(f"imported: {counts.organisations} organisations, {counts.services} services, {counts.links} links "
        "changed" + (": every row is as the store already holds it" if same else ""))


def cmd_export(args: argparse.Namespace, settings: Settings) -> None:
    viewer: Viewer = AUDIENCES[args.audience]
    export = exports.export_hsds if args.format == "hsds" else exports.export_csv
    async def work(store: Store) -> tuple[dict[str, int], int]:
        unfinished = len(await store.unfinished_imports()) + len(await store.backups.unfinished())
        return await export(store, viewer, Path(args.output), Reporter()), unfinished

    counts, unfinished = run_with_store(settings, work)
    out(f"exported {', '.join(f'{n} {kind}' for kind, n in counts.items())} to {args.output}")
    if unfinished:  # an operator's walk: a half-written import exported as if whole
        out("an import or a restore has not finished: the export holds only what it wrote so far "
            "(`directory status` says how to complete it)", file=sys.stderr)
    if not any(counts.values()):
        cli_jobs.say_empty(args, "no records to export")


def cmd_backup(args: argparse.Namespace, settings: Settings) -> None:
    async def work(store: Store) -> int:
        progress = Reporter()
        n = 0
        # owner-only (it holds restricted records), and a backup that failed or was killed leaves no part of itself
        with private_replacing(Path(args.output), "w", encoding="utf-8") as f:
            async for line in store.backups.dump():
                f.write(line + "\n")
                n += 1
                if n % BACKUP_EVERY == 0:
                    progress.count("backed up", n, "lines")
        return n

    n = run_with_store(settings, work)
    out(f"backup written to {args.output} ({n} lines); it holds restricted records: keep it safe")


def cmd_restore(args: argparse.Namespace, settings: Settings) -> None:
    size = os.path.getsize(args.file)
    read = [0]  # characters read so far, about the bytes for the time left

    def counted(lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            read[0] += len(line)
            yield line
        read[0] = size  # read to the end, whatever the characters' bytes

    async def work(store: Store) -> dict[str, int]:
        progress = Reporter(position=lambda: (min(read[0], size), size))
        with open(args.file, encoding="utf-8") as f:
            # a part in one transaction, no larger than an import's on this store's heap
            part = min(RESTORE_PART, importer.one_transaction(store))
            counts = await store.backups.restore(counted(f), args.file, progress, part,
                                                 discard_unfinished=args.discard_unfinished)
        # a backup from before shelters' services were held to their shelter's place (threat model V17)
        counts["held"] = len(await store.hold_shelters())
        counts["rootless"] = int(await store.roots.latest() is None)
        return counts

    counts = run_with_store(settings, work)
    out(f"restored {counts['organisations']} organisations and {counts['services']} services"
        + (f", with {counts['indicators']} need indicator rows" if counts["indicators"] else "")
        + (f", skipped {counts['skipped']} records and links of other directories" if counts["skipped"] else "")
        + (f"; {counts['peers']} peer(s) will be read again from the start at their next sync" if counts["peers"]
           else "")
        + (f"; {counts['held']} service(s) of shelters recorded a subdivision their shelter does not publish: "
           "ours now record its country, a peer's were not kept" if counts["held"] else ""))
    if counts["rootless"]:  # a new data folder: what a backup does not hold is said where it is missed
        out("A backup holds records, not this directory's root of trust, feeds, peers or API tokens, and this "
            "data folder has none: `directory federation init` makes a new root, whose fingerprint each peer "
            "must be given before it removes and adds this directory again; add peers and make tokens again "
            "(docs/federation.md, \"A new data folder\").")


def cmd_demo(args: argparse.Namespace, settings: Settings) -> None:
    counts = run_with_store(settings, demo.load)
    out(f"demo data: {counts.organisations} organisations, {counts.services} services, {counts.links} links added; "
        "demo records already in the store were left as they are")


def cmd_generate(args: argparse.Namespace, settings: Settings) -> None:
    from directory.exchange import generate

    if args.output:
        out(f"building {args.orgs} organisations (seed {args.seed}) and writing them to {args.output}",
            file=sys.stderr, flush=True)
        generate.write_csv(Path(args.output), args.orgs, args.seed, settings.directory_id)
        out(f"wrote a synthetic directory of {args.orgs} organisations to {args.output}")
        return

    async def work(store: Store) -> WriteCounts:
        progress = Reporter()
        progress(f"building {args.orgs} organisations (seed {args.seed})")
        batch = generate.build(args.orgs, args.seed, settings.directory_id)
        progress(f"generated {len(batch.organisations)} organisations, {len(batch.services)} services, "
                 f"{len(batch.links)} links")
        return await generate.load(store, batch, progress, importer.one_transaction(store))

    counts = run_with_store(settings, work)
    out(f"loaded: {counts.organisations} organisations, {counts.services} services, {counts.links} links")


def cmd_taxonomy(args: argparse.Namespace, settings: Settings) -> None:
    if args.action == "add":
        if not args.code or not args.label:
            raise SystemExit("taxonomy add needs --scheme, --code and --label")
        before = run_with_store(settings, lambda s: s.add_term(args.scheme, args.code, args.label, args.description))
        out(_term_added(f"{args.scheme}/{args.code}", before, args.label, args.description))
        out("terms are public: every page's choices, the taxonomy page and GraphQL show its code, label and "
            "definition to anyone", file=sys.stderr)
        return
    table = Table([Column("Scheme", ""), Column("Code", "", keep=True), Column("Label", "", 40),
                   Column("Definition", "")])
    for term in run_with_store(settings, lambda s: s.terms()):
        table.add(term.scheme, term.code, term.label, term.description)
    out(table.render(), end="")


def _term_added(key: str, before: Term | None, label: str, description: str | None) -> str:
    """What `taxonomy add` did, in words: a steward re-running it must not read "added" over a rewording."""
    if before is None:
        return f"added {key}"
    changed = [f"label changed from {before.label!r} to {label!r}"] if label != before.label else []
    if description is not None and description != before.description:
        changed.append("definition changed")
    return f"{key}: {'; '.join(changed)}" if changed else f"{key} is already there, unchanged"


def cmd_token(args: argparse.Namespace, settings: Settings) -> None:
    if args.action == "create":
        if not args.role:
            raise DirectoryError("token create needs --role member|steward (and --org ID for a member)")
        org = args.org  # read as this directory's when bare (`runner.own_ids`)
        try:
            token_id, token = run_with_store(settings, lambda s: s.tokens.create(args.role, org, args.label or ""))
        except NotFound as exc:  # an operator's walk: the id alone said not what to do
            raise DirectoryError(f"{exc}: a member's token belongs to an organisation listed here; import it first, "
                                 "and give its id as `directory export` writes it") from None
        out(token)
        out(f"token {token_id} ({args.role}{' of ' + org if org else ''}): shown this once; only a hash is kept. "
            "Send it as `Authorization: Bearer <token>`.", file=sys.stderr)
    elif args.action == "revoke":
        if not args.token_id:  # said as any other mistake (status 2), not 1
            raise DirectoryError("token revoke needs the token id (see `directory token list`), or the whole token")
        public, at, now_revoked = run_with_store(settings, lambda s: s.tokens.revoke(args.token_id))
        out(f"revoked {public}" if now_revoked else f"{public} was already revoked on {at}")
    else:
        # the label says who holds a token: never cut
        table = Table([Column("Id", "", keep=True), Column("Role", ""), Column("Organisation", ""),
                       Column("Created", ""), Column("State", ""), Column("Label", "", keep=True)])
        for t in run_with_store(settings, lambda s: s.tokens.list()):
            table.add(t.id, t.role, t.organisation or "-", t.created_at,
                      f"revoked {t.revoked_at}" if t.revoked_at else "active", t.label)
        out(table.render(), end="")


def cmd_audit(args: argparse.Namespace, settings: Settings) -> None:
    from directory.base.audit import read_counted

    # not a `Table`: an entry is never cut, and one bulk write can name thousands of ids
    line = "{:27}  {:16} {:8} {:6} {:12} {}"
    out(line.format("At", "Who", "Role", "Action", "Kind", "Ids"))
    entries, unreadable = read_counted(settings.data_dir / "audit")
    for entry in entries:
        out(line.format(*(str(entry.get(k, "")) for k in ("at", "who", "role", "action", "kind")),
                        " ".join(map(str, entry.get("ids", [])))))
    if unreadable:
        out(f"{unreadable} line(s) of the audit files could not be read: cut short when the disk was full, "
            "or changed by hand; the entries above are the others", file=sys.stderr)


def cmd_status(args: argparse.Namespace, settings: Settings) -> None:
    from directory.store import running_store

    if settings.backend == "neo4j":
        out(f"backend: neo4j at {settings.neo4j_uri}")
    else:
        info = running_store(settings.data_dir.resolve())
        if info:
            out(f"embedded store running (pid {info['pid']}) on 127.0.0.1:{info['bolt_port']}")
        else:
            out(f"no store running on {settings.data_dir}")
    async def unfinished(store: Store) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return await store.unfinished_imports(), await store.backups.unfinished()

    imports, restores = run_with_store(settings, unfinished)
    busy = import_running(settings)
    if busy:  # an import (staged ones are listed below until they end) or a publish of the feeds
        out("an import or a publish of the feeds is writing to this data folder now")
    for run in imports:
        out(f"unfinished import started {run['started_at']} from {', '.join(run['sources'])}: "
            + ("it may be the one writing now; once nothing is, run the same import again to complete it" if busy
               else "run the same import again to complete it"))
    for run in restores:
        out(f"unfinished restore started {run['started_at']} from {run['source']}: `directory restore "
            "--discard-unfinished FILE` deletes every organisation and service, then restores")


def add_verbs(sub: Any) -> None:
    s = verb(sub, "serve", "run the web service (GraphQL at /graphql, maps at /maps, /health)",
             "directory serve --demo", "directory --data /srv/directory serve --host 0.0.0.0 --port 8000")
    s.add_argument("--host", help="address to listen on (DIRECTORY_HOST, default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port to listen on (DIRECTORY_PORT, default 8000)")
    s.add_argument("--demo", action="store_true", help="load the demo data first, into a store that never held records")
    s.set_defaults(func=cmd_serve)

    s = verb(sub, "import", "import CSV (HXL) files or an HSDS 3.0 folder; all or nothing",
             "directory import organisations.csv services.csv links.csv",
             "directory import --format hsds hsds-folder --default-kind national-ngo --check")
    s.add_argument("files", nargs="+", help="CSV files, or with --format hsds one folder")
    s.add_argument("--format", choices=["csv", "hsds", "iati"], default="csv",
                   help="csv (HXL; organisations, services, links or need indicators), hsds, or iati (funding)")
    s.add_argument("--public-from", action="append", metavar="REF",
                   help="iati: a publisher (reporting-org ref) that marked its funding public; repeat")
    s.add_argument("--kind", choices=sorted(hxl.KINDS), help="CSV kind, when the hashtags cannot tell")
    s.add_argument("--default-kind", help="HSDS: organisation kind for records that carry none")
    s.add_argument("--check", action="store_true", help="validate only; write nothing")
    s.set_defaults(func=cmd_import)

    s = verb(sub, "export", "export to HSDS 3.0 JSON or HXL CSV (public records only, unless --audience all)",
             "directory export --output hsds-out", "directory export --format csv --audience all --output everything")
    s.add_argument("--format", choices=["hsds", "csv"], default="hsds",
                   help="hsds: organizations.json and services.json (default); csv: the HXL files imports read")
    s.add_argument("--output", required=True, help="folder for organizations.json and services.json, or the CSV files")
    s.add_argument("--audience", choices=sorted(AUDIENCES), default="public",
                   help="public: what anyone may see (default); all: every record, restricted ones too")
    s.set_defaults(func=cmd_export)

    s = verb(sub, "backup", "write a full, lossless JSON Lines backup (holds restricted records)",
             "directory backup --output backups/directory-2025-01-31.jsonl")
    s.add_argument("--output", required=True, help="the backup file, written owner-only")
    s.set_defaults(func=cmd_backup)

    s = verb(sub, "restore", "restore a backup into an empty store",
             "directory --data var/fresh restore backups/directory-2025-01-31.jsonl",
             "directory restore --discard-unfinished backups/directory-2025-01-31.jsonl")
    s.add_argument("file", help="a backup written by `directory backup` of this directory")
    s.add_argument("--discard-unfinished", action="store_true",
                   help="after a restore that did not finish: delete every organisation and service first")
    s.set_defaults(func=cmd_restore)

    s = verb(sub, "demo", "add the demo records the store does not hold (real organisations and clearly "
                          "fictional ones); never changes one it holds", "directory demo")
    s.set_defaults(func=cmd_demo)

    s = verb(sub, "generate", "build a synthetic directory of any size, for tests and benchmarks",
             "directory generate --orgs 10000 --seed 7", "directory generate --orgs 300 --output generated")
    s.add_argument("--orgs", type=int, required=True, metavar="N",
                   help="how many organisations (services and links come with them)")
    s.add_argument("--seed", type=int, default=1, metavar="S",
                   help="seed of the random choices: the same seed builds the same directory (default 1)")
    s.add_argument("--output", metavar="DIR", help="write CSV files to this folder instead of loading them")
    s.set_defaults(func=cmd_generate)

    s = verb(sub, "taxonomy", "list the taxonomy, or add a service type or defender group",
             "directory taxonomy list",
             "directory taxonomy add --scheme service-type --code funeral-support --label 'Support with funerals'")
    s.add_argument("action", choices=["list", "add"], help="list every term, or add one")
    s.add_argument("--scheme", choices=[SERVICE_TYPE, DEFENDER_GROUP], default=SERVICE_TYPE,
                   help=f"add: which list the term joins (default {SERVICE_TYPE})")
    s.add_argument("--code", help="add: the new term's code, as imports and filters write it: lower-case ASCII "
                                  "letters and digits, words joined by dashes (funeral-support)")
    s.add_argument("--label", help="add: the new term's name, as people read it (a term you added: its new name)")
    s.add_argument("--description", help="add: what the term covers (left as it is when not given)")
    s.set_defaults(func=cmd_taxonomy)

    s = verb(sub, "token", "create, list or revoke API tokens (a token is printed once)",
             "directory token create --role member --org fict-kampala-legal --label 'Kampala desk'",
             "directory token list")
    s.add_argument("action", choices=["create", "list", "revoke"], help="what to do")
    s.add_argument("token_id", nargs="?", help="revoke: the token's id, or the whole token (one found leaked, say)")
    s.add_argument("--role", choices=["member", "steward"],
                   help="create: member (of the organisation --org names) or steward (sees every record)")
    s.add_argument("--org", help="the organisation a member token belongs to (record id)")
    s.add_argument("--label", help="a note on who holds the token")
    s.set_defaults(func=cmd_token)

    s = verb(sub, "audit", "show who was shown or changed restricted records, and when",
             "directory audit", "directory --data /srv/directory audit")
    s.set_defaults(func=cmd_audit)

    s = verb(sub, "status", "say whether a store is running on the data folder, and name unfinished imports and "
                            "restores (and how to complete them)",
             "directory status", "directory --data /srv/directory status")
    s.set_defaults(func=cmd_status)
