"""From filters, as the web routes and the `directory map` command receive them, to a drawn map.

The filter names are the GraphQL arguments of the matching fields (`organisations`,
`coverageGaps`, `referralPaths`), declared once for the jobs in `directory.jobs.questions`, so a
question asked of the API can be drawn as it is. Values
are strings; lists are comma-separated. An unknown filter or a bad value is a `BadArgument`
naming it, never a guess.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from directory.base.config import Settings
from directory.domain import places, validation
from directory.domain.errors import BadArgument
from directory.domain.taxonomy import DEFENDER_GROUP, ORGANISATION_KIND, SERVICE_TYPE
from directory.domain.viewer import Viewer
from directory.jobs import questions
from directory.jobs.gaps import GapQuestion
from directory.jobs.referrals import Question
from directory.store import PointFilter, Store
from maps.directory_map import directory_map
from maps.gaps_map import funding_map, gap_map, one_service_type
from maps.page import Options
from maps.referral_map import referral_map

# A map of a job takes the job's own options (`directory.jobs.questions`), plus what only a map has.
GAP_MAP_ONLY = ("metric",)
FUNDING_MAP_ONLY = ("currency",)


@dataclass(frozen=True)
class MapKind:
    name: str
    title: str
    filters: tuple[str, ...]
    draw: Callable[[Store, Viewer, Mapping[str, str], Settings, Options], Awaitable[str]]
    required: tuple[str, ...] = ()  # the filters it cannot be drawn without (its form offers no "Any")


def _country(args: Mapping[str, str], name: str = "country") -> str | None:
    value = args.get(name)
    if value is None:
        return None
    return places.require_country(value, name)


def _job_args(args: Mapping[str, str], own: tuple[str, ...]) -> dict[str, str]:
    return {k: v for k, v in args.items() if k not in own}


async def _require(store: Store, args: Mapping[str, str], pairs: tuple[tuple[str, str], ...]) -> None:
    await store.require_terms(*((name, scheme, args.get(name)) for name, scheme in pairs))


async def _directory(store: Store, viewer: Viewer, args: Mapping[str, str], settings: Settings,
                     options: Options) -> str:
    await _require(store, args, (("kind", ORGANISATION_KIND), ("serviceType", SERVICE_TYPE), ("group", DEFENDER_GROUP)))
    where = PointFilter(kind=args.get("kind"), country=_country(args), service_type=args.get("serviceType"),
                        group=args.get("group"))
    return await directory_map(store, viewer, where, options)


def _gap_question(args: Mapping[str, str], own: tuple[str, ...]) -> GapQuestion:
    question: GapQuestion = questions.GAPS.ask(_job_args(args, own))
    one_service_type(question)
    return question


async def _gaps(store: Store, viewer: Viewer, args: Mapping[str, str], settings: Settings, options: Options) -> str:
    return await gap_map(store, viewer, _gap_question(args, GAP_MAP_ONLY), args.get("metric", "score"), options)


async def _funding(store: Store, viewer: Viewer, args: Mapping[str, str], settings: Settings,
                   options: Options) -> str:
    currency = None
    if args.get("currency"):  # one it does not know would draw no funding anywhere, as if there were none
        if (currency := validation.currency_code(args["currency"])) is None:
            raise BadArgument("currency", "%(value)r is not an ISO 4217 currency code",
                              value=args["currency"].strip()[:20])
    return await funding_map(store, viewer, _gap_question(args, FUNDING_MAP_ONLY), currency, options)


async def _referrals(store: Store, viewer: Viewer, args: Mapping[str, str], settings: Settings,
                     options: Options) -> str:
    question: Question = questions.REFERRALS.ask(args)
    return await referral_map(store, viewer, question, options)


KINDS: dict[str, MapKind] = {
    "directory": MapKind("directory", "Organisations and services", ("serviceType", "group", "country", "kind"),
                         _directory),
    "gaps": MapKind("gaps", "Coverage gaps", (*questions.GAPS.names, *GAP_MAP_ONLY), _gaps, ("serviceTypes",)),
    "referrals": MapKind("referrals", "Referral chains", questions.REFERRALS.names, _referrals,
                         tuple(o.name for o in questions.REFERRALS.options if o.required)),
    "funding": MapKind("funding", "Funding against gaps", (*questions.GAPS.names, *FUNDING_MAP_ONLY), _funding,
                       ("serviceTypes",)),
}


def chosen(kind: str, names: Iterable[str]) -> MapKind:
    """The map kind asked for, if it takes every filter named; BadArgument naming the first it does not."""
    if kind not in KINDS:
        raise BadArgument("map", "%(value)r is not one of %(options)s", value=kind, options=", ".join(KINDS))
    found = KINDS[kind]
    for name in names:
        if name not in found.filters:
            raise BadArgument(name, "is not a filter of the %(map)s map; it takes %(options)s", map=kind,
                              options=", ".join(found.filters))
    return found


async def draw(kind: str, store: Store, viewer: Viewer, args: Mapping[str, str], settings: Settings,
               options: Options) -> str:
    """The map's whole HTML page."""
    return await chosen(kind, args).draw(store, viewer, {k: v for k, v in args.items() if v != ""}, settings,
                                         options)
