"""A member edits its own organisation's services in a form, and adds new ones; a steward any.

The form is the service's fields as an edit takes them (`store.Edit`, the validators' names): its
type, visibility, coverage, defender groups, what a grant pays for and the languages a request may
be made in chosen from labelled options (places and languages by name, in the page's language), its
intake channels and open calls as rows of fields (`edit_rows`), the rest typed. A new service's
visibility is chosen, never assumed. Saving an edit sends the revision the form was opened at
(`edit_form`). A service or organisation the viewer may not change reads as one it cannot see.

`routes` are every edit form's: the services' here, the organisation's own and its links'
(`editing_organisation`, `links`).
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from directory.base.scope import viewer_in
from directory.domain import places, validation
from directory.domain.errors import Problem
from directory.domain.location import shows_inside
from directory.domain.model import INTAKE_KINDS, Organisation, Service, Status
from directory.domain.taxonomy import SENSITIVE_KINDS
from directory.domain.viewer import Viewer
from directory.store import Edit, EditRefused, Store, new_id, service_fields
from directory.web.pages import edit_form, edit_rows, editing_organisation
from directory.web.pages.edit_form import Typed, items
from directory.web.pages.problems import field_reasons
from directory.web.pages.render import INSIDE, language_of, named, page
from directory.web.pages.routes import choices

# The fields the form edits, with how each is typed: a line, a text, one of labelled options, any
# of them (sets: their order is not kept), or rows of fields.
TEXTS = ("name", "description", "eligibility", "application_process", "exclusions", "status_reason")
LINES = ("response_hours", "capacity", "capacity_unit", "capacity_confirmed", "cost", "hours", "status_since",
         "status_source", "verified_on", "verified_by", "verified_source")
ROWS = ("intake", "windows")
# changed by two people at once, asked about rather than saved over each other (`edit_form.saved`)
TOGETHER = ("visibility", "type", "intake", "present_in", "reaches", "origins")
ONE = ("type", "visibility", "status")
MANY = ("present_in", "reaches", "origins", "groups", "purposes", "languages", "intake_languages")
LABELS = edit_form.LABELS  # every edit form's, read by the catalogue here
# the fields in the order the form shows them, which a refusal's problems follow
IN_FORM = ("name", "description", "eligibility", "application_process", "exclusions", "type", "purposes", "visibility",
           "status", "status_reason", "present_in", "reaches", "origins", "groups", *LINES,
           "intake", "languages", "intake_languages", "windows")


def values_of(s: Service) -> dict[str, str]:
    """A service as the form shows it: the row an edit is checked as (`store.service_fields`)."""
    row = service_fields(s)
    row.update({name: sorted(row.get(name) or []) for name in MANY})  # as a form sends them back
    return edit_form.shown(row, (*TEXTS, *LINES, *ROWS, *ONE, *MANY))


async def _read(request: Request) -> tuple[Typed, dict[str, list[edit_rows.Row]]]:
    """The form, and its rows as typed; each list of rows also as its items, one a line, among the
    values (so a stale form's are compared with the record's, and shown beside them)."""
    typed = await edit_form.read(request)
    rows = {name: edit_rows.typed(typed.chosen, name) for name in ROWS}
    typed.values.update({name: "\n".join(text for _, text in edit_rows.kept(name, rows[name])) for name in ROWS})
    return typed, rows


def _fields(typed: Typed, rows: dict[str, list[edit_rows.Row]]) -> dict[str, Any]:
    """What was typed as an edit's fields: every field of the form, so one emptied is emptied; but
    a choice left out keeps its value (an empty visibility would be the default, maybe wider)."""
    fields: dict[str, Any] = {name: typed.values.get(name, "") for name in (*TEXTS, *LINES)}
    fields.update({name: typed.values[name] for name in ONE if typed.values.get(name)})
    fields.update({name: [text for _, text in edit_rows.kept(name, rows[name])] for name in ROWS})
    fields.update({name: typed.chosen.get(name, []) for name in MANY})
    return fields


async def _service(store: Store, viewer: Viewer, record_id: str) -> Service | None:
    """The service, if this viewer may change it: otherwise None, as for one that does not exist."""
    found = (await store.services_by_id(viewer, [record_id])).get(record_id)
    return found if found is not None and viewer.may_write(found.organisation) else None


# The groups of the places a service may record, as the form offers them (the template translates them).
REGIONS, COUNTRIES, RECORDED = "Regions", "Countries", "Already recorded"


def _places(language: str, typed: dict[str, str], choices: dict[str, list[tuple[str, str]]],
            provider: Organisation | None) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The places a service may cover, by name in the page's language, in groups (code of the
    group's country or "", group, places): regions, every country, the subdivisions of its
    provider's country (none for a shelter that publishes only its country: its services may not
    record them, threat model V17), and any other place it covers already, so saving keeps it."""
    country = provider.location.country if provider and provider.location else None
    inside = provider is not None and (provider.kind not in SENSITIVE_KINDS or shows_inside(provider.location))
    subdivisions = [(p.code, p.name) for p in places.subdivisions_of(country)] if country and inside else []
    groups = [("", REGIONS, named(choices["region"], "place", language)),
              ("", COUNTRIES, named(choices["country"], "place", language)),
              (country or "", INSIDE, named(subdivisions, "place", language))]
    offered = {code for _, _, listed in groups for code, _ in listed}
    kept = {c for name in ("present_in", "reaches", "origins") for c in items(typed.get(name, ""))} - offered
    groups.append(("", RECORDED, named([(code, code) for code in sorted(kept)], "place", language)))
    return [group for group in groups if group[2]]


async def _form(request: Request, organisation: str, typed: dict[str, str], s: Service | None = None,
                revision: int = 0, status: int = 200, rows: dict[str, list[edit_rows.Row]] | None = None,
                **more: Any) -> Response:
    """The form, its rows as typed (`rows`) or as the record has them; a refusal's reasons name the
    row they are about, and a stale form's rows are shown beside the record's as lines to read."""
    if rows is None:
        rows = {name: edit_rows.stored(name, typed.get(name, "")) for name in ROWS}
    offered, language = await choices(request.app.state.store), language_of(request)
    provider = await edit_form.organisation(request.app.state.store, viewer_in(request.scope), organisation)
    if "problems" in more:
        more["problems"] = field_reasons([edit_rows.named(p.column, rows[p.column], p) if p.column in ROWS else p
                                          for p in more["problems"]], language, IN_FORM)
    if "conflict" in more:
        more["said"] = {name: (edit_rows.stored(name, more["conflict"][name]),
                               [row for row in rows[name] if edit_rows.item(name, row)]) for name in ROWS}
    return page(request, "edit-service.html", status=status, s=s, organisation=organisation, typed=typed,
                revision=revision, labels=LABELS, texts=TEXTS, lines=LINES,
                rows={name: edit_rows.shown(name, rows[name]) for name in ROWS}, intake_kinds=INTAKE_KINDS,
                statuses=[x.value for x in Status], choices=offered,
                places=_places(language, typed, offered, provider),
                # a provider that publishes only its country: a shelter is offered no province, and no safe
                # house may record one (threat model V17): said, not left to guess
                only_country=None if provider is None or shows_inside(provider.location)
                else "shelter" if provider.kind in SENSITIVE_KINDS else "other",
                spoken=edit_form.languages(offered["language"], typed.get("intake_languages", ""), language),
                given_in=edit_form.languages(offered["language"], typed.get("languages", ""), language),
                action=f"/services/{s.id}/edit" if s else f"/organisations/{organisation}/services/new", **more)


async def edit_form_page(request: Request) -> Response:
    viewer = viewer_in(request.scope)
    found = await _service(request.app.state.store, viewer, request.path_params["record_id"])
    if found is None or found.provenance is None:
        return page(request, "missing.html", status=404)
    values = values_of(found)
    return await _form(request, found.organisation, values, found, found.provenance.revision,
                       opened=edit_form.fingerprint(values))


async def save(request: Request) -> Response:
    typed, rows = await _read(request)
    store: Store = request.app.state.store
    viewer = viewer_in(request.scope)
    found = await _service(store, viewer, request.path_params["record_id"])
    if found is None:
        return page(request, "missing.html", status=404)
    fields = edit_form.verification_kept(viewer, dict(_fields(typed, rows), id=found.id), found.verified)
    # what this person changed; a capacity or status typed anew is as of today (`store`'s `dated`)
    changes = edit_form.mine(typed, fields, (*ROWS, *MANY))

    async def save(changed: dict[str, Any], revision: int) -> None:
        await store.save_service(viewer, Edit(changed, {n: n for n in changed}), revision)

    async def now() -> dict[str, str] | None:
        again = await _service(store, viewer, found.id)
        return values_of(again) if again else None

    shown = await edit_form.saved(save, typed, changes, now, TOGETHER)
    if shown is None:
        return edit_form.to_organisation(found.organisation)
    # rows someone else changed meanwhile, and this person did not, as the record has them now
    rows = {name: rows[name] if name in changes else edit_rows.stored(name, typed.values.get(name, ""))
            for name in ROWS}
    return await _form(request, found.organisation, typed.values, found, rows=rows, **shown)


async def new_form(request: Request) -> Response:
    viewer = viewer_in(request.scope)
    found = await edit_form.organisation(request.app.state.store, viewer, request.path_params["record_id"])
    if found is None:
        return page(request, "missing.html", status=404)
    once = new_id(request.app.state.store.directory_id)
    return await _form(request, found.id, {"status": Status.ACTIVE.value}, **_once(request, found.id, once))


def _once(request: Request, organisation: str, record_id: str) -> dict[str, Any]:
    """The id a new service will have, given with the form and sealed, so the form sent twice (a
    double click, a reload) finds the service it made the first time instead of making another."""
    return {"once": record_id, "once_seal": request.app.state.store.tokens.seal("new-service", organisation,
                                                                                 record_id)}


def _given_id(request: Request, organisation: str, typed: Typed) -> str | None:
    """The sealed id the form was given, or None for a form without one or with one not ours."""
    once, seal = typed.values.pop("once", ""), typed.values.pop("once_seal", "")
    made = _once(request, organisation, once)["once_seal"]
    return once if once.startswith(request.app.state.store.directory_id + ":") and hmac.compare_digest(
        seal.encode(), made.encode()) else None


async def add(request: Request) -> Response:
    typed, rows = await _read(request)
    store: Store = request.app.state.store
    viewer = viewer_in(request.scope)
    found = await edit_form.organisation(store, viewer, request.path_params["record_id"])
    if found is None:
        return page(request, "missing.html", status=404)
    record_id = _given_id(request, found.id, typed) or new_id(store.directory_id)
    fields = edit_form.verification_kept(viewer, dict(_fields(typed, rows), id=record_id,
                                                      organisation=found.id), None)
    edit = Edit(fields, {n: n for n in fields})
    try:
        if "visibility" not in fields:  # never the default by accident: who may see it is chosen; said with
            # every other problem of the form at once, as a save would say them, not one round at a time
            _, others = validation.service(edit.row(), store.directory_id, await store.vocabulary(),
                                           validation.local_latest_day())
            unchosen = Problem.of(0, "visibility", "choose who may see it")
            raise EditRefused("INVALID", "choose who may see it", "visibility", problems=[unchosen, *others])
        try:
            await store.save_service(viewer, edit, None)
        except EditRefused as refused:
            made = await _service(store, viewer, record_id) if refused.code == "CONFLICT" else None
            if made is None or made.organisation != found.id:
                raise
            # this form's, sent again (back, changed, sent): what it says now is an edit of what it
            # made the first time, refused as a stale edit if someone changed that since
            await store.save_service(viewer, edit, 1)
    except EditRefused as refused:
        async def nothing() -> None:  # a new service has no revision to be stale
            return None

        return await _form(request, found.id, typed.values, rows=rows, **_once(request, found.id, record_id),
                           **await edit_form.refusal(refused, typed, nothing))
    return edit_form.to_organisation(found.id)


routes = [Route("/services/{record_id:path}/edit", edit_form_page, methods=["GET"]),
          Route("/services/{record_id:path}/edit", save, methods=["POST"]),
          Route("/organisations/{record_id}/services/new", new_form, methods=["GET"]),
          Route("/organisations/{record_id}/services/new", add, methods=["POST"]),
          *editing_organisation.routes]
