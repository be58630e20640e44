"""The `directory` verbs for the three jobs: `partners`, `gaps`, `referrals`; and the IATI funding
import (`import --format iati`) that feeds a donor's view of the gaps.

Each prints a table that fits the terminal, never cutting the name that answers the question, and,
with `--csv FILE`, writes the same answer, whole, as HXL-tagged CSV. Like `export`, they answer for
the public unless told otherwise: `--as ORG` answers as a member of that organisation would see it,
`--audience all` as a steward. An empty answer says on stderr for whom it was computed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from directory.base.config import Settings
from directory.base.files import write_private
from directory.base.terminal import out
from directory.cli.runner import run_with_store, verb
from directory.domain.viewer import ANONYMOUS, STEWARD, Viewer
from directory.formats import iati
from directory.jobs import gaps, partners, paths
from directory.jobs.referrals import Question, referral_paths
from directory.jobs.referrals import table as referral_table
from directory.jobs.tables import Column, Table
from directory.store import Store


def viewer_from(args: argparse.Namespace) -> Viewer:
    if args.as_org:
        return Viewer("member", args.as_org, who="cli")
    return STEWARD if args.audience == "all" else ANONYMOUS


def viewer_named(args: argparse.Namespace) -> str:
    """Whom an answer was computed for, in words: the public, a member of ORG, or a steward."""
    if getattr(args, "as_org", None):
        return f"a member of {args.as_org} (--as {args.as_org})"
    return "a steward (--audience all)" if args.audience == "all" else "the public"


def say_empty(args: argparse.Namespace, nothing: str) -> None:
    """On stderr: an empty answer, for whom it was computed, and how to ask as someone who sees more."""
    if getattr(args, "as_org", None):
        how = ("records restricted to other organisations were not counted; without --as, `--audience all` "
               "answers as a steward")
    elif args.audience == "all":
        how = "every record was counted"
    elif hasattr(args, "as_org"):
        how = ("records shared only with the network or restricted were not counted: `--as ORG` answers as a "
               "member of ORG would see it, `--audience all` as a steward")
    else:
        how = "records shared only with the network or restricted were not counted: `--audience all` counts them"
    out(f"directory {args.verb}: {nothing} for {viewer_named(args)}; {how}", file=sys.stderr)


def _show(table: Table, args: argparse.Namespace, nothing: str, full: Table | None = None) -> None:
    """Print the table; write `full` (or the same table) as CSV when asked; say so when it is empty."""
    out(table.render(), end="")
    if args.csv:
        write_private(Path(args.csv), (full or table).csv())  # owner-only: it may hold non-public records
        out(f"written to {args.csv}", file=sys.stderr)
    if not (full or table).rows:
        say_empty(args, nothing)


async def _names(store: Store, viewer: Viewer, ids: set[str]) -> dict[str, str]:
    found = await store.organisations_by_id(viewer, sorted(ids))
    return {i: o.name for i, o in found.items()}


def cmd_referrals(args: argparse.Namespace, settings: Settings) -> None:
    viewer = viewer_from(args)
    question = Question(service_type=args.service, country=args.country, source=args.from_org, group=args.group,
                        language=args.language, k=args.k, max_hops=args.max_hops,
                        order=paths.PathOrder.named(args.by, "--by"))

    async def work(store: Store) -> Table:
        found = await referral_paths(store, viewer, question)
        names = await _names(store, viewer, {o for p in found for o in p.organisations})
        return referral_table(found, names).keep("Chain")  # it ends with the provider

    _show(run_with_store(settings, work), args, "no referral chains found")


def cmd_gaps(args: argparse.Namespace, settings: Settings) -> None:
    viewer = viewer_from(args)
    question = gaps.GapQuestion(codes=args.places.split(",") if args.places else None, country=args.country,
                                region=args.region, service_types=args.service, group=args.group,
                                indicators=args.indicator, donor=args.donor)
    matrix: gaps.GapMatrix = run_with_store(settings, lambda store: gaps.coverage_gaps(store, viewer, question))
    _show(gaps.table(matrix, args.top).keep("Place"), args, "no places and service types to score", gaps.table(matrix))
    out(f"{len(matrix.cells)} cells; need weighed by: {', '.join(matrix.indicators) or 'no indicators'}",
        file=sys.stderr)
    for t in matrix.donor_totals:
        out(f"{args.donor}: {t.currency} {t.amount:,.0f} in {t.grants} grants reaching {t.cells} cells; "
            f"{t.currency} {t.to_high_gap_cells:,.0f} to providers in cells scoring {gaps.HIGH_GAP:g} or more")


def cmd_partners(args: argparse.Namespace, settings: Settings) -> None:
    viewer = viewer_from(args)
    question = partners.PartnerQuestion(organisation=args.org, service_types=args.service, country=args.country,
                                        radius_km=args.radius_km, first=args.first)

    async def work(store: Store) -> Table:
        found = await partners.find_partners(store, viewer, question)
        return partners.table(found, await _names(store, viewer, {p.organisation for p in found})).keep("Organisation")

    _show(run_with_store(settings, work), args, "no partners found")


def import_iati(args: argparse.Namespace, settings: Settings) -> None:
    """Funding from IATI activity files: all matched transactions in one transaction, or none."""
    transactions = [t for name in args.files for t in iati.parse(Path(name).read_bytes(), name)]

    async def work(store: Store) -> iati.Outcome:
        outcome = iati.to_links(transactions, await store.identifier_index(), set(args.public_from or []))
        if not args.check and outcome.links:
            await store.upsert([], [], outcome.links)
        return outcome

    outcome: iati.Outcome = run_with_store(settings, work)
    public = sum(1 for link in outcome.links if link.visibility.value == "public")
    out(f"{len(transactions)} funding transactions; {outcome.matched} matched into {len(outcome.links)} funding "
        f"links ({public} public, {len(outcome.links) - public} restricted)"
        f"{'; nothing was written' if args.check else ''}")
    if outcome.unmatched:
        out(f"{outcome.skipped} left out: these identifiers match no organisation (add them as #org+code):")
        report = Table([Column("Identifier", "#org+code", keep=True), Column("Name in the file", "#org+name", 50),
                        Column("As", "#meta+role"), Column("Transactions", "#indicator+transactions")])
        for u in outcome.unmatched:
            report.add(u.ref, u.name + (" (several organisations hold it)" if u.several else ""),
                       sorted(u.roles), u.transactions)
        out(report.render(), end="")


def _common(s: argparse.ArgumentParser) -> None:
    s.add_argument("--as", dest="as_org", metavar="ORG", help="answer as a member of this organisation would see it")
    s.add_argument("--audience", choices=["public", "all"], default="public",
                   help="without --as: what the public sees (default) or everything (steward)")
    s.add_argument("--csv", metavar="FILE", help="also write the answer as HXL-tagged CSV")


def add_verbs(sub: Any) -> None:
    s = verb(sub, "referrals", "the best chains of referrals to providers of a service in a place",
             "directory referrals --as local:fict-lakeside-rights --service safe-house --country TZ",
             "directory referrals --from local:fict-lakeside-rights --service safe-house --country TZ "
             "--audience all --by fastest_response --csv paths.csv")
    s.add_argument("--from", dest="from_org", metavar="ORG", help="where the chains start (default: the --as org)")
    s.add_argument("--service", required=True, help="service type code, e.g. legal-aid")
    s.add_argument("--country", required=True, help="ISO 3166-1 country or ISO 3166-2 subdivision code")
    s.add_argument("--group", help="defender group code the provider must serve")
    s.add_argument("--language", help="ISO 639-1 code the provider must speak")
    s.add_argument("-k", type=int, default=3, help=f"how many chains (1 to {paths.MAX_K}; default 3)")
    s.add_argument("--max-hops", type=int, default=4, help=f"longest chain (0 to {paths.MAX_HOPS}; default 4)")
    s.add_argument("--by", choices=[o.value for o in paths.PathOrder], default=paths.PathOrder.FEWEST_HOPS.value,
                   help="which counts first (default fewest_hops)")
    _common(s)
    s.set_defaults(func=cmd_referrals)

    s = verb(sub, "partners", "organisations that offer what an organisation lacks, best first",
             "directory partners --as local:fict-kampala-legal --service medical-care --first 4",
             "directory partners --org local:fict-kampala-legal --radius-km 500 --audience all --csv partners.csv")
    s.add_argument("--org", metavar="ORG", help="the organisation looking for partners (default: the --as org)")
    s.add_argument("--service", action="append", help="a service type it asks for (repeat; default: all it lacks)")
    s.add_argument("--country", help="where partners must reach (default: the organisation's country)")
    s.add_argument("--radius-km", type=float, help="instead of a country: within this distance of its published point")
    s.add_argument("--first", type=int, default=10, help=f"how many (1 to {partners.MAX_FIRST}; default 10)")
    _common(s)
    s.set_defaults(func=cmd_partners)

    s = verb(sub, "gaps", "coverage gaps: places by service types, weighted by need, worst first",
             "directory gaps --places KE,UG,TZ --service legal-aid --service psychosocial-support --top 5",
             "directory gaps --region region:Africa --donor local:fict-solidarity-fund --audience all --csv gaps.csv")
    where = s.add_mutually_exclusive_group()
    where.add_argument("--places", help="comma-separated country or subdivision codes (default: every country)")
    where.add_argument("--country", help="this country's subdivisions")
    where.add_argument("--region", help="the countries of a UN M49 area: region:Africa, subregion:Western Asia, 419")
    s.add_argument("--service", action="append", help="a service type code (repeat for more; default: all)")
    s.add_argument("--group", help="only services open to this defender group")
    s.add_argument("--indicator", action="append", help="a need indicator name (repeat; default: all imported)")
    s.add_argument("--donor", metavar="ORG", help="show where this donor's funding goes")
    s.add_argument("--top", type=int, default=30, help="how many cells to print (default 30; the CSV has all)")
    _common(s)
    s.set_defaults(func=cmd_gaps)
