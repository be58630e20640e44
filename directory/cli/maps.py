"""`directory map KIND name=value ... --output FILE.html`: a map as one standalone HTML file.

The filters are the same as the /maps routes' (the GraphQL argument names). The file carries
Leaflet, its styles and the basemap inline, so it opens on a machine with no network. Like the
job verbs, it draws what the public sees unless `--as ORG` or `--audience all` says otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from directory.base.config import Settings
from directory.base.files import write_private
from directory.base.terminal import out
from directory.cli.jobs import viewer_from
from directory.cli.runner import own_id, run_with_store, verb
from directory.domain.errors import BadArgument
from directory.jobs import questions
from directory.store import Store
from maps import assets
from maps.page import Options
from maps.questions import KINDS, draw


def _filters(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise BadArgument(pair, "a filter is written name=value, e.g. serviceType=legal-aid")
        out[name] = value
    return out


def cmd_map(args: argparse.Namespace, settings: Settings) -> None:
    assets.check()
    viewer = viewer_from(args)
    filters = {name: own_id(value, settings.directory_id) if name in questions.ORGANISATION_OPTIONS else value
               for name, value in _filters(args.filters).items()}
    options = Options(inline=True, tiles=settings.map_tiles, tiles_attribution=settings.map_tiles_attribution)

    async def work(store: Store) -> str:
        return await draw(args.kind, store, viewer, filters, settings, options)

    page: str = run_with_store(settings, work)
    write_private(Path(args.output), page)  # owner-only: a steward's or member's map shows non-public records
    out(f"{args.kind} map written to {args.output} ({len(page.encode()) / 1e6:.1f} MB)", file=sys.stderr)


def add_verbs(sub: Any) -> None:
    s = verb(sub, "map", "draw a map to a standalone HTML file (directory, gaps, referrals, funding)",
             "directory map gaps serviceTypes=legal-aid country=CO --output gaps-co.html",
             "directory map referrals from=local:fict-lakeside-rights serviceType=safe-house country=TZ "
             "--audience all -o paths.html")
    s.add_argument("kind", choices=sorted(KINDS), help="which map")
    s.add_argument("filters", nargs="*", metavar="NAME=VALUE",
                   help="filters as in /maps and GraphQL, e.g. serviceType=legal-aid country=CO")
    s.add_argument("--output", "-o", required=True, metavar="FILE.html", help="where to write the page")
    s.add_argument("--as", dest="as_org", metavar="ORG", help="draw it as a member of this organisation sees it")
    s.add_argument("--audience", choices=["public", "all"], default="public",
                   help="without --as: what the public sees (default) or everything (steward)")
    s.set_defaults(func=cmd_map)
