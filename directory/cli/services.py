"""`directory services`: who a defender can ask for a kind of help in a place, and how to ask.

The same question as GraphQL's `services(filter: ...)`, through the same door and the same filter:
a grant that pays for relocation is found by `--service-type relocation-in-country`, and
`--taking-requests` leaves out paused and closed programmes and those outside their intake windows.
Intake channels are shown as this viewer may see them (a network-only Signal number is not shown
to the public).
"""

from __future__ import annotations

import argparse
from typing import Any

from directory.base.config import Settings
from directory.cli.jobs import common_flags, show, viewer_from
from directory.cli.runner import run_with_store, verb
from directory.domain.model import Service
from directory.jobs.tables import Column, Table, organisation_names
from directory.store import Filter, Store

# Flags and the store filter's fields: the same words as GraphQL's ListFilter (`serviceType`).
_FILTERS = (("--service-type", "service_type", "of this type, or a grant that pays for it"),
            ("--country", "country", "available in this country (ISO 3166-1)"),
            ("--subdivision", "subdivision", "available in this subdivision (ISO 3166-2)"),
            ("--region", "region", "available in this area: region:NAME, an M49 code or a named region"),
            ("--group", "group", "serving this defender group (or open to all)"),
            ("--language", "language", "in this language (ISO 639-1 or 639-3), or taking requests in it"),
            ("--kind", "kind", "offered by organisations of this kind"),
            ("--status", "status", "active, paused or closed"),
            ("--today", "today", "the day --taking-requests is asked for (YYYY-MM-DD)"))


def table(found: list[Service], names: dict[str, str]) -> Table:
    out = Table([Column("Provider", "#org+name", keep=True), Column("Service", "#service+name", 30),
                 Column("Type", "#sector"), Column("Status", "#status"),
                 Column("How to ask", "#contact+intake", 50), Column("Hours", "#service+hours", 16),
                 Column("Intake languages", "#service+lang+intake", 16),
                 Column("Application process", "#service+process", printed=False),
                 Column("Exclusions", "#service+exclusions", printed=False),
                 Column("Verified on", "#date+verified", printed=False),
                 Column("Service id", "#service+id", printed=False)])
    for s in found:
        out.add(names.get(s.organisation, s.organisation), s.name, s.type, s.status.value,
                [f"{i.kind}: {i.value}" for i in s.intake], s.hours, s.intake_languages, s.application_process,
                s.exclusions, s.verified.on, s.id)
    return out


def cmd_services(args: argparse.Namespace, settings: Settings) -> None:
    viewer = viewer_from(args)
    where = Filter(**{name: getattr(args, name) for _, name, _ in _FILTERS},
                   taking_requests=True if args.taking_requests else None)

    async def work(store: Store) -> Table:
        found: list[Service] = []
        after = None
        while len(found) < args.first:
            page = await store.list_services(viewer, where, min(100, args.first - len(found)), after, count=False)
            found += page.items
            if not page.has_next:
                break
            after = page.cursors[-1]
        return table(found, await organisation_names(store, viewer, {s.organisation for s in found}))

    show(run_with_store(settings, work), args, "no services found")


def add_verbs(sub: Any) -> None:
    s = verb(sub, "services", "services a defender can ask for help, with how to ask",
             "directory services --service-type emergency-grant --country HN --group journalists --taking-requests",
             "directory services --service-type relocation-in-country --region central-america --csv relocation.csv")
    for flag, name, help_text in _FILTERS:
        s.add_argument(flag, dest=name, help=help_text)
    s.add_argument("--taking-requests", action="store_true",
                   help="only active services, inside an intake window if they have any")
    s.add_argument("--first", type=int, default=50, help="how many services to list (default 50)")
    common_flags(s)
    s.set_defaults(func=cmd_services)
