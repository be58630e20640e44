"""The three jobs as pages: partners for a local group, coverage gaps for a donor, referral chains
for an INGO desk. Each form's fields are the job's options by their one spelling
(`directory.jobs.questions`), so the page asks exactly what GraphQL, the maps and the CLI ask; the
answer is the same `Table` the CLI prints and writes as CSV, shown as an HTML table. Its headings
and its reasons (`directory.jobs.reasons`) are in the page's language: each through gettext, the
codes in a reason by their names, where the CLI and the CSV keep the English text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from directory.base import budget
from directory.base.budget import Busy, OverBudget
from directory.base.scope import viewer_in
from directory.domain.errors import BadArgument, NotFound
from directory.domain.viewer import Viewer
from directory.jobs import gaps, partners, questions
from directory.jobs.paths import MAX_HOPS
from directory.jobs.referrals import Question as ReferralQuestion
from directory.jobs.referrals import referral_paths
from directory.jobs.referrals import table as referral_table
from directory.jobs.rules import UNKNOWN_RESPONSE_HOURS, UNKNOWN_TRUST
from directory.jobs.tables import Column, Table, organisation_names
from directory.store import Filter, Store
from directory.web.pages import forms, i18n, words
from directory.web.pages.problems import said
from directory.web.pages.reading import Reading, written_number
from directory.web.pages.render import language_of, page
from directory.web.pages.routes import choices
from directory.web.pages.typed_names import NAMED, by_name, places_read

log = logging.getLogger(__name__)

# Each flag as a cell shows it, in words a donor reads (msgids of pages.po), and what it rests on.
FLAGS = {"no_provider": "No provider you may see", "no_local_provider": "Only region- or world-wide providers reach it",
         "single_provider": "One provider you may see: if it stops, none you may see is left",
         "stale": "No provider verified in the last year", "unfunded": "No funding you may see reaches a provider",
         "capacity_expired": "Capacity figures are out of date",
         "only_peers": "Only peer directories' records say it is covered"}
FLAG_MEANINGS = {
    "no_provider": "none of the organisations you may see offers the service there, present or remote; one not "
                   "shared with you may",
    "no_local_provider": "the providers reach the place only through a region or the whole world: none names the "
                         "place, its country or one of its provinces",
    "single_provider": "exactly one organisation you may see offers the service there",
    "stale": "none of the providers was verified, or confirmed its capacity, in the last 365 days",
    "unfunded": "no funding of the last three years that you may see reaches any of the providers; funders often "
                "keep their grants hidden, so there may be some you are not shown",
    "capacity_expired": "the providers recorded what they can take on, but none confirmed it in the last 90 days",
    "only_peers": "every provider you may see there is a record received from a peer directory, none is one of "
                  "this directory's own: check with the providers before counting the place as covered",
}

# What the gap table's columns count, for a donor reading them (msgids of pages.po), by heading.
COLUMNS = {"Score": "0 to 100: higher where fewer providers reach the place and the need is greater",
           "Flags": "what to look at first (below)",
           "Present": "organisations delivering the service in the place, or, for relocation and exile support, taking "
                      "defenders from it",
           "Remote": "organisations reaching the place remotely only",
           # "Local" before: it counted a Mexican group reaching Nicaragua remotely, read as a group there
           "Country-specific": "of the providers present or remote, those whose services name the place, its country "
                               "or one of its provinces, based there or not",
           "Wide": "of the providers present or remote, those reaching it only through a region or the whole world",
           "Need": "the need indicators' weight, 0 to 1; where none is known it counts as 0.5",
           "Median h": "the middle of the providers' fastest response times, in hours",
           "Newest": "the newest verification or capacity confirmation among the providers",
           "Capacity": "what the providers can take on, confirmed in the last 90 days (members and stewards only)",
           "Funding": "the funding reaching the providers in the last three years that you may see, per currency",
           "Who provides it": "the first providers by name, those naming the place first; "
                              "the CSV lists every one by its id",
           "Donor funding": "asked with a donor: its funding reaching the providers, per currency",
           "Named": "in the CSV only: the ids of the providers “Who provides it” names",
           "Top donor share": "in the CSV only: per currency, the share of the funding its largest donor gives, 0 to 1",
           "Concentration": "in the CSV only: per currency, how few donors give the funding (the sum of the squares "
                            "of their shares), 0 to 1; 1 is one donor",
           "Providers": "in the CSV only: the ids of every provider, those present first",
           "Flags in words": "in the CSV only: the flags as this page names them; the column “Flags” holds "
                             "their codes, for programs"}
# the partners' printed columns, said in words; the score's weights filled in from `partners.WEIGHTS`
PARTNER_COLUMNS = {
    "Score": "0 to 1: what it offers of what you asked (weighed %(complementarity)s), whether it works where you "
             "asked (%(coverage)s), how near it is (%(distance)s), networks and vetters in common (%(networks)s), a "
             "language in common (%(language)s), how fast it answers (%(response)s) and how lately it was "
             "confirmed (%(freshness)s)",
    "Complementarity": "0 to 1: the share of the services you asked for that it offers",
    "Networks": "0 to 1: the networks and vetters you share with it, 0.5 for each",
    "Km": "between your organisation's point, as you may see it, and its published point, where both have one",
    "Why": "what the score rests on, in words"}
# the referral chains' printed columns; what a chain counts for what is not recorded filled in (`jobs.rules`)
REFERRAL_COLUMNS = {
    "Hops": "the referrals along the chain",
    "Response h": "hours: each referral's response time and the provider's fastest, added up; one not recorded "
                  "counts as %(hours)s (the reasons say which)",
    "Trust": "0 to 1: each referral's trust, multiplied; one not recorded counts as %(trust)s",
    "Chain": "from the organisation asked to a provider that can act",
    "Why": "each referral, then the provider, and what they rest on"}


@dataclass(frozen=True)
class Field:
    """One form field: the job's option, its label (a msgid), and how it is chosen."""

    name: str
    label: str
    widget: str  # service_type(s) | country | region | group | language | organisation | order | number | text
    unknown: str | None = None  # a msgid: what to do when the organisation typed is not found


@dataclass(frozen=True)
class Job:
    path: str
    title: str  # msgid
    intro: str  # msgid
    asking: questions.Asking
    fields: tuple[Field, ...]
    answer: Callable[[Store, Viewer, Any], Awaitable[Table]]


async def _partners(store: Store, viewer: Viewer, q: partners.PartnerQuestion) -> Table:
    # the organisation field left empty asks as nobody, as its label says; a member's form opens
    # with its organisation filled in (`_given`), to be seen and cleared
    found = await partners.find_partners(store, viewer, q, as_viewer=False)
    return partners.table(found, await organisation_names(store, viewer, {p.organisation for p in found}),
                          q.service_types or ())


async def _gaps(store: Store, viewer: Viewer, q: gaps.GapQuestion) -> Table:
    matrix = await gaps.coverage_gaps(store, viewer, q)
    unseen = gaps.hide_unseen_funding(matrix)
    names = await organisation_names(store, viewer, gaps.named_ids(matrix.cells[:GAP_ROWS], matrix.donor))
    table = gaps.table(matrix, GAP_ROWS, names)
    if unseen:  # said once above the answer (`_page`), not under it
        table.notes.insert(0, UNSEEN_FUNDING)
    return table


async def _referrals(store: Store, viewer: Viewer, q: Any) -> Table:
    found = await referral_paths(store, viewer, q)
    return referral_table(found, await organisation_names(store, viewer, {o for p in found for o in p.organisations}))


JOBS = {
    "partners": Job("/partners", "Find partners",
                    "Organisations that offer what yours lacks, where you work, best first, with the reasons.",
                    questions.PARTNERS,
                    (Field("organisation", "Your organisation (its name or id), or leave empty and say where "
                                           "and what you need", "organisation",
                           "Not listed here yet? Leave this field empty and say where and what you need."),
                     Field("serviceTypes", "Services you are looking for", "service_types"),
                     Field("country", "Where", "country"),
                     Field("group", "Defenders served", "group"),
                     Field("language", "Language", "language")), _partners),
    "gaps": Job("/gaps", "Coverage gaps",
                "Where services are missing, weighted by need: the worst gaps first.",
                questions.GAPS,
                (Field("region", "Region", "region"),
                 Field("codes", "Or countries and provinces, separated by commas (names or codes: Sudan, Yemen, "
                                "SD-KH)", "codes"),
                 Field("country", "Or one country, by its subdivisions", "country"),
                 Field("serviceTypes", "Services", "service_types"),
                 Field("group", "Defenders served", "group"),
                 Field("donor", "Set against a donor's funding (its name or id), if you like", "organisation",
                       "Type a donor's name as the directory writes it, or a part of it; or leave this field "
                       "empty.")), _gaps),
    "referrals": Job("/referrals", "Referral chains",
                     "The best chains of trusted referrals from an organisation to a provider that can act.",
                     questions.REFERRALS,
                     (Field("from", "From (an organisation's name or id)", "organisation",
                            "Chains start from an organisation listed here: type its name as the directory "
                            "writes it, or a part of it."),
                      Field("serviceType", "Service needed", "service_type"),
                      Field("country", "Where help is needed (delivered there, or taking defenders from there)",
                            "country"),
                      Field("group", "Defenders served", "group"),
                      Field("language", "Language", "language"),
                      Field("order", "Best by", "order"),
                      Field("maxHops", "At most this many referrals", "hops")), _referrals),
}
DEFAULT_HOPS = ReferralQuestion.max_hops
ORDERS = words.ORDERS


def _asked(job: Job, form: dict[str, list[str]]) -> dict[str, list[str]]:
    return {f.name: form[f.name] for f in job.fields if form.get(f.name)}


def _question(job: Job, asked: dict[str, list[str]]) -> Any:
    """The question as typed, its places named in any of the pages' languages read as their codes
    ("Soudan, Yemen" as "SD, YE"), as the maps' forms read them; the form keeps what was typed."""
    return job.asking.ask(places_read(asked))


GAP_ROWS = 200  # the gaps page shows the worst cells; its CSV has them all
GIVEN_VALUES = 50  # a link fills in at most this many values of a field, each at most `forms.FIELD_LENGTH`


async def _given(job: Job, request: Request) -> dict[str, list[str]]:
    """The form's fields as a link fills them in; nothing is asked until the person presses Ask.
    Partners and referral chains, opened with nothing filled in by a member, start from its
    organisation by name: the form shows whom it asks for (partners) or from (chains); the gaps,
    opened by a donor's member, are set against its own funding."""
    given = {f.name: [v[:forms.FIELD_LENGTH] for v in request.query_params.getlist(f.name)[:GIVEN_VALUES] if v]
             for f in job.fields}
    given = {name: values for name, values in given.items() if values}
    viewer = viewer_in(request.scope)
    asking = next(f.name for f in job.fields if f.widget == "organisation")
    if not given and viewer.organisation:
        own = (await request.app.state.store.organisations_by_id(viewer, [viewer.organisation])).get(
            viewer.organisation)
        if own is not None and (job.path != "/gaps" or own.kind == "donor"):
            given[asking] = [own.name]
    return await _named(request, job, given)  # an organisation's page links by id; the form shows its name


def empty_tables() -> list[Table]:
    """The three answers' tables without rows: their columns, whose printed headings the pages translate."""
    return [partners.table([], {}), gaps.table(gaps.GapMatrix([], [], donor="-")), referral_table([], {})]


UNSEEN_FUNDING = ("No funding you may see reaches any provider in this answer (funders often keep their grants "
                  "hidden), so no row is flagged for it, here or in the CSV.")


BROWSED = 3  # an empty answer offers the browse form for at most this many of the services asked


def _services_and_country(asked: dict[str, list[str]]) -> tuple[list[str], str]:
    """The services an empty answer asked for (the first `BROWSED`, each once) and its country (a
    subdivision's), as typed: what the next questions it offers are about."""
    services = [t.strip() for given in (asked.get("serviceType") or asked.get("serviceTypes") or [])
                for t in given.split(",") if t.strip()]
    return list(dict.fromkeys(services))[:BROWSED], (asked.get("country") or [""])[0].strip().upper().split("-")[0]


async def _browse(store: Store, viewer: Viewer, asked: dict[str, list[str]]) -> list[dict[str, str]]:
    """The home page's browse form for each service asked (the first `BROWSED`) in the place's country,
    where it finds some organisation the viewer may see: when no chain or partner answers, who offers
    it there at all is the next question, and a way out that leads to nothing is none."""
    services, country = _services_and_country(asked)
    out = []
    for service in services:
        try:
            found = await store.list_organisations(viewer, Filter(service_type=service, country=country or None), 1)
        except BadArgument:  # not a code the browse form takes: nothing to offer
            continue
        if found.total:
            out.append({"serviceType": service, **({"country": country} if country else {})})
    return out


def _longer(job: Job, asked: dict[str, list[str]]) -> tuple[int, dict[str, list[str]]] | None:
    """For referral chains that found none, the same question allowing the longest chains asked
    (`paths.MAX_HOPS`): the hops given are a narrowing a person may not know they chose."""
    hops = (asked.get("maxHops") or [""])[0].strip()
    if job.path != "/referrals" or (hops.isdecimal() and int(hops) >= MAX_HOPS):
        return None
    return MAX_HOPS, {**asked, "maxHops": [str(MAX_HOPS)]}


def _gap_question(asked: dict[str, list[str]], browse: list[dict[str, str]]) -> dict[str, str] | None:
    """Where no organisation the viewer may see offers the services asked in the country asked (the
    browse form offers none), that is a gap: the gaps question for that country and those services,
    which says how it scores, and who reaches it from afar."""
    services, country = _services_and_country(asked)
    if browse or not services or not re.fullmatch(r"[A-Z]{2}", country):
        return None
    return {"country": country, "serviceTypes": ",".join(services)}


def _missing_gaps(table: Table, asked: dict[str, list[str]]) -> dict[str, str] | None:
    """For partners found, the gaps question for the services asked that none of them offers, in the
    country asked: the note says the gaps tell where it is missing, and a walk found no way there."""
    services, country = _services_and_country(asked)
    column = next(i for i, c in enumerate(table.columns) if c.tag == "#sector")
    offered = {t for row in table.rows for t in cast(list[str], row[column])}
    missing = [t for t in services if t not in offered]
    if not missing or not re.fullmatch(r"[A-Z]{2}", country):
        return None
    return {"country": country, "serviceTypes": ",".join(missing)}


async def _refers_nobody(store: Store, viewer: Viewer, asked: dict[str, list[str]]) -> dict[str, Any] | None:
    """For referral chains that found none from an organisation that refers nobody the viewer may
    see: its name and id, and whether the viewer may add a referral to it. Chains start from its
    referrals, and a desk with none recorded was only told to try a wider question (a walk)."""
    start = (asked.get("from") or [""])[0]
    found = (await store.organisations_by_id(viewer, [start])).get(start) if start else None
    if found is None or any(link.type == "REFERS_TO" for link in await store.links_from(viewer, [found.id])):
        return None
    return {"name": found.name, "id": found.id, "may_add": viewer.may_write(found.id)}


NARROWING = ("group", "language")  # what a person adds to narrow an answer, and may take away again


def _without(job: Job, asked: dict[str, list[str]]) -> list[tuple[Field, str, dict[str, list[str]]]]:
    """For an empty answer, the same question without each narrowing given (the defender group, the
    language): each field, its value and the question left, so the page names what to let go of
    instead of only "try a wider question"."""
    return [(f, asked[f.name][0], {k: v for k, v in asked.items() if k != f.name})
            for f in job.fields if f.name in NARROWING and asked.get(f.name)]


async def _as_group(store: Store, viewer: Viewer,
                    asked: dict[str, list[str]]) -> tuple[str, dict[str, list[str]]] | None:
    """For partners asked as an organisation that found none, the same services and place asked as
    a group saying only where and what it needs: the organisation's defenders and languages, which
    narrowed the answer, no longer do. The organisation's name and that question; None where the
    question named no organisation or no service (what it lacks is its own)."""
    named, services = asked.get("organisation"), asked.get("serviceTypes")
    if not named or not services:
        return None
    found = (await store.organisations_by_id(viewer, named[:1])).get(named[0])
    if found is None:
        return None
    country = asked.get("country") or ([found.location.country] if found.location and found.location.country else [])
    if not country:
        return None
    rest = {k: v for k, v in asked.items() if k not in ("organisation", "country")}
    return found.name, {**rest, "country": country}


async def _page(request: Request, job: Job, asked: dict[str, list[str]], status: int = 200,
                table: Table | None = None, typed: dict[str, list[str]] | None = None, **more: Any) -> Response:
    """The job's page: its form filled in with `typed` (organisations by name: `_named`) or else
    `asked`, and the answer when there is one."""
    offered = await choices(request.app.state.store)
    if table is not None:
        if job.path == "/gaps" and UNSEEN_FUNDING in table.notes:
            table.notes.remove(UNSEEN_FUNDING)
            more.update(funding_unseen=UNSEEN_FUNDING)
        reading = Reading(language_of(request), dict(offered["service_type"]), dict(offered["group"]))
        shown = [i for i, c in enumerate(table.columns) if c.printed]
        names = _name_columns(table)
        more.update(headers=[table.columns[i].header for i in shown], total=table.total,
                    notes=[reading.text(n) for n in table.notes],
                    rows=[[_linked(row, i, names, reading) or reading.named(table.columns[i].tag, row[i])
                           for i in shown] for row in table.rows])
        if not table.rows and job.path in ("/referrals", "/partners"):
            browse = await _browse(request.app.state.store, viewer_in(request.scope), asked)
            more.update(browse=browse, without=_without(job, asked), longer=_longer(job, asked),
                        gap_question=_gap_question(asked, browse))
        if table.rows and job.path == "/partners":
            more.update(missing_gaps=_missing_gaps(table, asked))
        if not table.rows and job.path == "/partners":
            more.update(as_group=await _as_group(request.app.state.store, viewer_in(request.scope), asked))
        if not table.rows and job.path == "/referrals":
            nobody = await _refers_nobody(request.app.state.store, viewer_in(request.scope), asked)
            more.update(refers_nobody=nobody)
            if nobody:  # longer or wider chains from one that refers nobody are no chains: not offered (walks)
                more.update(longer=None, without=[])
    more.setdefault("problem_fields", set())
    return page(request, "job.html", status=status, job=job, asked=typed or asked, resolved=asked,
                choices=offered, orders=ORDERS, hops=range(1, MAX_HOPS + 1), default_hops=DEFAULT_HOPS,
                flags=FLAGS, flag_meanings=FLAG_MEANINGS, columns=_columns(job, language_of(request)),
                required=_required(job, viewer_in(request.scope)), type_labels=dict(offered["service_type"]),
                group_labels=dict(offered["group"]),
                **more)


def _required(job: Job, viewer: Viewer) -> set[str]:
    """The fields a question cannot be answered without, for this viewer: chains start from the
    member's own organisation when none is named, so for anyone else "from" is required too."""
    required = {o.name for o in job.asking.options if o.required}
    return required | ({"from"} if job.path == "/referrals" and not viewer.organisation else set())


def _columns(job: Job, language: str) -> dict[str, str]:
    """What an answer's printed columns count, by heading: the gaps', the partners' with the score's
    weights and the referral chains' with what an unknown counts as, written in the page's language."""
    if job.path == "/gaps":
        return COLUMNS
    if job.path == "/referrals":
        unknown = {"hours": written_number(UNKNOWN_RESPONSE_HOURS, language),
                   "trust": written_number(UNKNOWN_TRUST, language)}
        return {heading: i18n.filled(said, unknown, language) for heading, said in REFERRAL_COLUMNS.items()}
    weights = {k: written_number(w, language) for k, w in partners.WEIGHTS.items()}
    return {heading: i18n.filled(said, weights, language) for heading, said in PARTNER_COLUMNS.items()}


def _field_of(job: Job, exc: BadArgument | NotFound, asked: dict[str, list[str]]) -> Field | None:
    """The form field a refusal is about: the argument's, or the organisation field holding what
    was not found."""
    if isinstance(exc, BadArgument):
        return next((f for f in job.fields if f.name == exc.argument), None)
    return next((f for f in job.fields if f.widget == "organisation" and exc.record_id in asked.get(f.name, [])),
                None)


@dataclass(frozen=True)
class Linked:
    """Organisations named in an answer, each opening its page: (name, its page's address) in order."""

    links: list[tuple[str, str]]
    separator: str = ""
    after: str = ""  # what follows the names ("and 4 more"), in the page's language


# An answer's column of names, the hidden column of their ids beside it, and how several are joined
# (a list's names in the page's language's way, "; " in English).
_NAMED = {"#org+name": ("#org+id", ""), "#org+name+chain": ("#org+id+chain", " > "),
          "#org+name+providers": ("#org+id+named", "; ")}


def _name_columns(table: Table) -> dict[int, tuple[int, str]]:
    """The answer's columns of names whose ids it also carries: name column -> (id column, separator)."""
    at = {c.tag: n for n, c in enumerate(table.columns)}
    return {at[name]: (at[ids], separator) for name, (ids, separator) in _NAMED.items() if name in at and ids in at}


def _linked(row: list[object], i: int, columns: dict[int, tuple[int, str]], reading: Reading) -> Linked | None:
    """A name cell as links to the organisations' pages (a chain's names are split as its ids are;
    a name that itself holds the separator leaves the cell as text). A list of names is followed by
    what is said after them ("and 4 more")."""
    if i not in columns:
        return None
    at, separator = columns[i]
    cell, id_cell = row[i], row[at]
    if isinstance(cell, list) and isinstance(id_cell, list):
        ids = [str(v) for v in id_cell]
        named, after = cell[:len(ids)], cell[len(ids):]
        return Linked([(str(name), "/organisations/" + quote(record_id, safe=":"))
                       for name, record_id in zip(named, ids, strict=True)], i18n.semicolon(reading.language),
                      " ".join(reading.text(a) for a in after))
    names = str(row[i]).split(separator) if separator else [str(row[i])]
    ids = str(row[at]).split(separator) if separator else [str(row[at])]
    if len(names) != len(ids):
        return None
    return Linked([(name, "/organisations/" + quote(record_id, safe=":"))
                   for name, record_id in zip(names, ids, strict=True)], separator)


def _view(name: str) -> Callable[[Request], Awaitable[Response]]:
    job = JOBS[name]

    async def view(request: Request) -> Response:
        if request.method == "GET":  # a link fills the form in (an organisation's page, a name chosen)
            return await _page(request, job, await _given(job, request))
        asked: dict[str, list[str]] = {}
        try:
            asked = _asked(job, await forms.read(request, writes=False))
            required = _required(job, viewer_in(request.scope))
            missing = [f for f in job.fields if f.name in required and f.name not in asked]
            if missing:  # every one said at once: a round trip each is long on a slow line
                return await _refused(request, job, asked, [BadArgument(f.name, "is required") for f in missing])
            which = await by_name(request.app.state.store, viewer_in(request.scope),
                                  [f.name for f in job.fields if f.widget == "organisation"], asked)
            if which:
                return await _page(request, job, asked, which=which[:NAMED], more_named=len(which) > NAMED)
            question = _question(job, asked)
            store, viewer = request.app.state.store, viewer_in(request.scope)
            # the job and the names its table gives are one answer: one audit line per kind
            async with _expensive(request):
                with store.answer(viewer):
                    table = await job.answer(store, viewer, question)
        except (BadArgument, NotFound, Busy, TimeoutError, OverBudget) as exc:
            return await _unanswered(request, job, asked, exc)
        return await _page(request, job, asked, table=table, typed=await _named(request, job, asked),
                           map_links=_map_links(name, asked, question))

    return view


async def _named(request: Request, job: Job, asked: dict[str, list[str]]) -> dict[str, list[str]]:
    """What was asked as the form shows it again: each organisation by its name, however it was typed
    (an id, a name with a typo that found one), so the person sees whom the answer is about."""
    ids = {f.name: asked[f.name][0] for f in job.fields if f.widget == "organisation" and asked.get(f.name)}
    found = await request.app.state.store.organisations_by_id(viewer_in(request.scope), list(ids.values()))
    return {**asked, **{name: [found[i].name] for name, i in ids.items() if i in found}}


async def _unanswered(request: Request, job: Job, asked: dict[str, list[str]], exc: Exception) -> Response:
    """A question the job did not answer, said on its page in the page's language: what is wrong with
    it, or that the service is busy or the question too large; what was asked stays in the form."""
    if isinstance(exc, Busy):
        busy = await _page(request, job, asked, status=503, busy=exc.retry_after)
        busy.headers["Retry-After"] = str(exc.retry_after)
        return busy
    if isinstance(exc, BadArgument | NotFound):
        return await _refused(request, job, asked, [exc])
    log.warning("a %s page ran out of its time budget", job.path)
    return await _page(request, job, asked, status=503, too_slow=True)


async def _refused(request: Request, job: Job, asked: dict[str, list[str]],
                   refusals: list[BadArgument | NotFound]) -> Response:
    """The form again with what is wrong with it, each problem linked to the field it is about and
    that field marked; an organisation not found says what to do instead."""
    labels = {f.name: f.label for f in job.fields}
    problems, unknown = [], None
    for exc in refusals:
        field = _field_of(job, exc, asked)
        problems.append((field.name if field else None, said(exc, language_of(request), labels)))
        # an organisation not found, or not given where one is required: what to do instead (an Arabic
        # walk read only "required" under an empty "From")
        if field and field.unknown and (isinstance(exc, NotFound) or field.name not in asked):
            unknown = field.unknown
    return await _page(request, job, asked, status=400, problems=problems, unknown=unknown,
                       problem_fields={name for name, _ in problems if name})


def _expensive(request: Request) -> AbstractAsyncContextManager[None]:
    """A job's answer is expensive work, as over GraphQL and on the maps: a slot and the time budget."""
    return budget.expensive(request.app.state.slots, request.app.state.settings.time_budget)


MAPPED_TYPES = 8  # a gap answer links a map for each of at most this many service types asked for


def _map_links(name: str, asked: dict[str, list[str]], question: object) -> list[tuple[str, str]]:
    """The same question as gap maps, one per service type asked for (a map draws one): (its code,
    the map's address). None when no type or too many were asked for. The types are the question's,
    as it read them (one field may hold several, comma-separated), each a known code."""
    types = list(dict.fromkeys(getattr(question, "service_types", None) or []))
    if name != "gaps" or not 0 < len(types) <= MAPPED_TYPES:
        return []
    return [(t, "/maps/gaps?" + urlencode({k: t if k == "serviceTypes" else v[0] for k, v in asked.items()
                                           if k in ("serviceTypes", "codes", "country", "region", "group",
                                                    "donor")}))
            for t in types]


async def gaps_csv(request: Request) -> Response:
    """The whole matrix the gaps page asked for, as HXL-tagged CSV (formulas neutralised)."""
    job = JOBS["gaps"]
    asked: dict[str, list[str]] = {}
    try:
        asked = _asked(job, await forms.read(request, writes=False))
        question = _question(job, asked)
        store, viewer = request.app.state.store, viewer_in(request.scope)
        async with _expensive(request):
            with store.answer(viewer):  # the matrix and its names: one answer, one audit line per kind
                matrix = await gaps.coverage_gaps(store, viewer, question)
                names = await organisation_names(store, viewer, gaps.named_ids(matrix.cells, matrix.donor))
    except (BadArgument, NotFound, Busy, TimeoutError, OverBudget) as exc:
        return await _unanswered(request, job, asked, exc)  # the gaps page, saying why, not a bare text
    offered = await choices(store)
    reading = Reading(language_of(request), dict(offered["service_type"]), dict(offered["group"]))
    gaps.hide_unseen_funding(matrix)  # as the page does: "unfunded" on every row reads as a fact in a spreadsheet
    table = gaps.table(matrix, names=names)
    # the byte order mark tells a spreadsheet the file is UTF-8 ("Asistencia jurídica", "كولومبيا")
    return Response("\ufeff" + _with_names(table, reading).csv(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{_csv_name(asked)}"',
                             "Cache-Control": "no-store"})


NAMED_CODES = {"#country+code": Column("Place name", "#country+name"),
               "#sector": Column("Service name", "#sector+name"),
               "#meta+flags": Column("Flags in words", "#meta+flags+name")}


def _with_names(table: Table, reading: Reading) -> Table:
    """The download as a person opens it in a spreadsheet: each place and service code also by its
    name, in the page's language, as the last columns (HXL `+name`), so a tool reading the columns
    it knows by position still finds them where they were."""
    coded = [(i, NAMED_CODES[c.tag]) for i, c in enumerate(table.columns) if c.tag in NAMED_CODES]
    out = Table([*table.columns, *(named for _, named in coded)], total=table.total, notes=table.notes)
    for row in table.rows:
        out.add(*row, *(_flags_said(row[i], reading.language) if table.columns[i].tag == "#meta+flags"
                        else reading.named(table.columns[i].tag, row[i]) for i, _ in coded))
    return out


def _flags_said(codes: object, language: str) -> str:
    """A cell's flags as the page names them, in its language (the CSV keeps their codes beside)."""
    gettext = i18n.translations(language).gettext
    if not isinstance(codes, list):
        return ""
    return i18n.semicolon(language).join(gettext(FLAGS.get(str(c), str(c))) for c in codes)


def _csv_name(asked: dict[str, list[str]]) -> str:
    """The download's name says the question ("gaps-419-emergency-grant.csv"), in the letters every
    file system keeps."""
    parts = [v for name in ("region", "country", "codes", "group", "serviceTypes") for v in asked.get(name, [])]
    said = re.sub(r"[^A-Za-z0-9]+", "-", "-".join(parts)).strip("-")
    if len(said) > 80:  # cut between words, never inside one ("relo"), and say more were asked
        said = said[:81].rsplit("-", 1)[0] + "-and-more"
    return f"gaps-{said}.csv" if said else "gaps.csv"


async def gaps_csv_asked_again(request: Request) -> Response:
    """A download's address opened again (a bookmark, a link shared): the form, filled in, to ask it."""
    return RedirectResponse("/gaps" + (f"?{request.url.query}" if request.url.query else ""), status_code=303)


routes = [Route(job.path, _view(name), methods=["GET", "POST"]) for name, job in JOBS.items()] + [
    Route("/gaps.csv", gaps_csv, methods=["POST"]), Route("/gaps.csv", gaps_csv_asked_again, methods=["GET"])]
