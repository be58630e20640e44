"""The `directory` command: one parser, one runner. Thin: each verb builds the same objects as the
web app and calls them (`records`, `jobs`, `maps`, `federation`, `peers` hold the verbs).

Every verb works whether or not the service is running on the same data folder: it talks to the
running store, or starts the embedded store itself and stops it afterwards.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from directory.base.config import Settings
from directory.base.files import UMASK
from directory.base.terminal import install_log_escaping, out, reader_gone
from directory.cli import federation, jobs, maps, peers, records, services
from directory.cli.runner import own_ids
from directory.domain.errors import BadArgument, DirectoryError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="directory",
        description="Protection Directory: the organisations that protect human rights defenders, as a graph.",
        epilog="Settings come from DIRECTORY_* environment variables (see README); --data and --id override two.",
    )
    p.add_argument("--data", help="data folder of the embedded store (DIRECTORY_DATA, default var/data)")
    p.add_argument("--id", dest="directory_id", help="this directory's id, the namespace of its records (DIRECTORY_ID)")
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    records.add_verbs(sub)
    jobs.add_verbs(sub)
    services.add_verbs(sub)
    maps.add_verbs(sub)
    peers.add_verbs(sub, federation.add_verbs(sub))
    return p


def _as_flag(exc: DirectoryError, args: argparse.Namespace) -> str:
    """An argument refused, named by the flag that gave it (`--service-types`, not GraphQL's
    `serviceTypes`), where the verb has one of that name."""
    if isinstance(exc, BadArgument):
        kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", exc.argument).lower()  # the jobs' flags keep GraphQL's names
        if exc.argument in vars(args) or kebab.replace("-", "_") in vars(args):
            return f"--{kebab}: {exc.reason}"
    return str(exc)


def main(argv: list[str] | None = None) -> None:
    os.umask(UMASK)  # whatever a verb writes (backups, exports, maps, the store's files) is owner-only
    install_log_escaping()  # a peer's id or error in a log line cannot drive the terminal either
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env(data_dir=Path(args.data) if args.data else None,
                                     directory_id=args.directory_id,
                                     host=getattr(args, "host", None), port=getattr(args, "port", None))
        own_ids(args, settings.directory_id)
        args.func(args, settings)
        sys.stdout.flush()  # here, where a reader gone is seen, not in the interpreter's last flush
    except BrokenPipeError as exc:
        if not reader_gone():  # a pipe of the command's own, not its output's: said as any other
            out(f"directory {args.verb}: {exc.strerror or exc}", file=sys.stderr)
            raise SystemExit(2) from None
        # `directory audit | head`: the reader has what it wanted; nothing to say, nowhere to say it. What
        # is left unwritten goes to /dev/null, so the interpreter's last flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(141) from None  # 128 + SIGPIPE, as a shell reports `yes | head`
    except DirectoryError as exc:
        out(f"directory {args.verb}: {_as_flag(exc, args)}", file=sys.stderr)
        raise SystemExit(2) from None
    except FileNotFoundError as exc:
        out(f"directory {args.verb}: no such file: {exc.filename}", file=sys.stderr)
        raise SystemExit(2) from None
    except (IsADirectoryError, NotADirectoryError, PermissionError) as exc:  # the operator's path, not our bug
        out(f"directory {args.verb}: cannot use {exc.filename}: {exc.strerror}", file=sys.stderr)
        raise SystemExit(2) from None
    except OSError as exc:  # the machine's: a read-only data folder, a full disk
        where = f": {exc.filename}" if exc.filename else ""
        out(f"directory {args.verb}: {exc.strerror or exc}{where}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:  # Ctrl-C: said in a line (it was a traceback), the store stopped on the way out
        out(f"directory {args.verb}: interrupted; what it had committed stays (`directory status` names an "
            "import or restore left unfinished, and how to complete it)", file=sys.stderr)
        raise SystemExit(130) from None
