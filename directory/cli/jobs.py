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
from directory.exchange import importer
from directory.jobs import gaps, partners, questions
from directory.jobs.referrals import Question, referral_paths
from directory.jobs.referrals import table as referral_table
from directory.jobs.tables import Column, Table, organisation_names
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


def show(table: Table, args: argparse.Namespace, nothing: str, full: Table | None = None) -> None:
    """Print the table; write `full` (or the same table) as CSV when asked; say so when it is empty."""
    out(table.render(), end="")
    for note in table.notes:
        out(note)
    if args.csv:
        write_private(Path(args.csv), (full or table).csv())  # owner-only: it may hold non-public records
        out(f"written to {args.csv}", file=sys.stderr)
    if not (full or table).rows:
        say_empty(args, nothing)


def _ask(asking: questions.Asking, args: argparse.Namespace) -> Any:
    """The job's question from its flags, read as every channel reads it (`jobs.questions`)."""
    return asking.ask({o.name: getattr(args, o.name) for o in asking.options if getattr(args, o.name) is not None})


def _options(s: argparse.ArgumentParser, asking: questions.Asking, one_of: tuple[str, ...] = ()) -> None:
    """The job's options as flags: the same words as the GraphQL arguments (`maxHops` is `--max-hops`)."""
    exclusive = s.add_mutually_exclusive_group() if one_of else None
    for o in asking.options:
        where: Any = exclusive if o.name in one_of else s
        if o.kind in ("texts", "codes"):
            where.add_argument(o.flag, dest=o.name, metavar=_metavar(o), action="append", required=o.required,
                               help=f"{o.help}; repeat it, or separate codes with commas")
        else:
            where.add_argument(o.flag, dest=o.name, metavar=_metavar(o), required=o.required, help=o.help)


def _metavar(o: questions.Option) -> str:
    return "ORG" if o.kind == "organisation" else o.flag[2:].upper().replace("-", "_").removesuffix("S")


def cmd_referrals(args: argparse.Namespace, settings: Settings) -> None:
    viewer = viewer_from(args)
    question: Question = _ask(questions.REFERRALS, args)

    async def work(store: Store) -> Table:
        with store.answer(viewer):  # the chains and their names: one answer, one audit line per kind
            found = await referral_paths(store, viewer, question)
            names = await organisation_names(store, viewer, {o for p in found for o in p.organisations})
        return referral_table(found, names).keep("Chain")  # it ends with the provider

    show(run_with_store(settings, work), args, "no referral chains found")


def cmd_gaps(args: argparse.Namespace, settings: Settings) -> None:
    viewer = viewer_from(args)
    question: gaps.GapQuestion = _ask(questions.GAPS, args)

    async def work(store: Store) -> tuple[gaps.GapMatrix, dict[str, str]]:
        with store.answer(viewer):
            matrix = await gaps.coverage_gaps(store, viewer, question)
            return matrix, await organisation_names(store, viewer, gaps.named_ids(matrix.cells, matrix.donor))

    matrix, names = run_with_store(settings, work)
    show(gaps.table(matrix, args.top, names).keep("Place"), args, "no places and service types to score",
         gaps.table(matrix, names=names))
    scored = len(matrix.cells)
    out(f"{scored} cell{'s' * (scored != 1)}; need weighed by: {', '.join(matrix.indicators) or 'no indicators'}",
        file=sys.stderr)
    for t in matrix.donor_totals:
        grants, cells = f"{t.grants} grant{'s' * (t.grants != 1)}", f"{t.cells} cell{'s' * (t.cells != 1)}"
        out(f"{question.donor}: {t.currency} {t.amount:,.0f} in {grants} reaching {cells}; "
            f"{t.currency} {t.to_high_gap_cells:,.0f} to providers in cells scoring {gaps.HIGH_GAP:g} or more")


def cmd_partners(args: argparse.Namespace, settings: Settings) -> None:
    viewer = viewer_from(args)
    question: partners.PartnerQuestion = _ask(questions.PARTNERS, args)

    async def work(store: Store) -> Table:
        with store.answer(viewer):
            found = await partners.find_partners(store, viewer, question)
            names = await organisation_names(store, viewer, {p.organisation for p in found})
        return partners.table(found, names, question.service_types or ()).keep("Organisation")

    show(run_with_store(settings, work), args, "no partners found")


def import_iati(args: argparse.Namespace, settings: Settings) -> None:
    """Funding from IATI activity files: all matched transactions in one transaction, or none."""
    found, outcome = run_with_store(
        settings, lambda store: importer.import_iati(store, args.files, set(args.public_from or []), args.check))
    public = sum(1 for link in outcome.links if link.visibility.value == "public")
    out(f"{found} funding transactions; {outcome.matched} matched into {len(outcome.links)} funding "
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


def common_flags(s: argparse.ArgumentParser) -> None:
    s.add_argument("--as", dest="as_org", metavar="ORG", help="answer as a member of this organisation would see it")
    s.add_argument("--audience", choices=["public", "all"], default="public",
                   help="without --as: what the public sees (default) or everything (steward)")
    s.add_argument("--csv", metavar="FILE", help="also write the answer as HXL-tagged CSV")


def add_verbs(sub: Any) -> None:
    s = verb(sub, "referrals", "the best chains of referrals to providers of a service in a place",
             "directory referrals --as local:fict-lakeside-rights --service-type safe-house --country TZ",
             "directory referrals --from local:fict-lakeside-rights --service-type safe-house --country TZ "
             "--audience all --order fastest_response --csv paths.csv")
    _options(s, questions.REFERRALS)
    common_flags(s)
    s.set_defaults(func=cmd_referrals)

    s = verb(sub, "partners", "organisations that offer what an organisation lacks, best first; without an "
             "organisation, what a group needs where it works",
             "directory partners --as local:fict-kampala-legal --service-types medical-care --first 4",
             "directory partners --organisation local:fict-kampala-legal --radius-km 500 --audience all "
             "--csv partners.csv",
             "directory partners --country UG --service-types relocation-regional,medical-care --language en "
             "--group women")
    _options(s, questions.PARTNERS)
    common_flags(s)
    s.set_defaults(func=cmd_partners)

    s = verb(sub, "gaps", "coverage gaps: places by service types, weighted by need, worst first",
             "directory gaps --codes KE,UG,TZ --service-types legal-aid,psychosocial-support --top 5",
             "directory gaps --region region:Africa --donor local:fict-solidarity-fund --audience all --csv gaps.csv")
    _options(s, questions.GAPS, one_of=("codes", "country", "region"))
    s.add_argument("--top", type=int, default=30, help="how many cells to print (default 30; the CSV has all)")
    common_flags(s)
    s.set_defaults(func=cmd_gaps)
