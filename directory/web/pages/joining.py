"""Asking to be listed, and the stewards' review of who asked.

Anyone may ask at `/join`; nothing of a request is shown to anyone but stewards, and nothing is
public until a steward approves it (`store.join_requests`, `store.approve_join`). Approving lists
the organisation at the visibility the steward confirms and, if asked, makes a member token for it,
shown once, to be handed over by a safe channel. The form is checked as an import row is, so the
requester sees each field's problem, and a request that passes can always be approved.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from directory.base.scope import viewer_in
from directory.domain.errors import NotFound
from directory.store import Asked, JoinRefused, JoinRequest, Store, TooMany
from directory.web.pages import forms
from directory.web.pages.problems import field_reasons
from directory.web.pages.render import language_of, page
from directory.web.pages.routes import choices
from directory.web.pages.stewards import stewards_only
from directory.web.pages.typed_names import organisations_named

ALIKE = 5  # organisations listed already whose names a waiting request's name finds, shown to the steward

LABELS = {"name": "Name of the organisation", "kind": "Kind of organisation", "country": "Country where it is based",
          "languages": "Languages it works in", "website": "Website (https://...)", "description": "What it does",
          "visibility": "Who may see it once listed", "contact": "How a steward can reach you safely",
          "message": "Anything a steward should know"}


async def _form(request: Request, typed: dict[str, str | list[str]], status: int = 200,
                problems: list[tuple[str, str]] | None = None, busy: bool | None = None) -> Response:
    """The form, filled in with what was typed: after a refusal, and when too many requests came
    (`busy`: whether from where this one came), so it can be sent again later, not typed again."""
    return page(request, "join.html", status=status, typed=typed, labels=LABELS, problems=problems or [],
                choices=await choices(request.app.state.store), busy=busy)


async def join_form(request: Request) -> Response:
    return await _form(request, {"visibility": "network"})


async def join(request: Request) -> Response:
    store: Store = request.app.state.store
    form = await forms.read(request, writes=False)
    typed: dict[str, str | list[str]] = dict(forms.first(form))
    typed["languages"] = form.get("languages", [])
    typed["website"] = forms.website(str(typed.get("website", "")))
    asked = Asked({k: typed.get(k, "") for k in ("name", "kind", "visibility", "country", "languages", "website",
                                               "description")},
                  str(typed.get("contact", "")), str(typed.get("message", "")))
    client = request.client.host if request.client else "unknown"
    try:
        await store.join_requests.ask(asked, client, await store.vocabulary())
    except JoinRefused as refused:
        return await _form(request, typed, 400, field_reasons(refused.problems, language_of(request), LABELS))
    except TooMany as many:
        return await _form(request, typed, 429, busy=many.mine)
    # to a page of its own, so reloading it (or going back to it) sends nothing again
    return RedirectResponse("/join/sent", status_code=303)


async def join_sent(request: Request) -> Response:
    return page(request, "join-sent.html")


@stewards_only
async def review(request: Request, store: Store) -> Response:
    """A waiting request, for a steward to approve or decline; anyone else finds nothing here."""
    try:
        found = await store.join_requests.get(viewer_in(request.scope), request.path_params["request_id"])
    except NotFound:
        return page(request, "missing.html", status=404)
    return await _review(request, store, found)


async def _review(request: Request, store: Store, found: JoinRequest, status: int = 200, **more: Any) -> Response:
    """A request as a steward reads it: the organisation it was listed as named, not only its id;
    and, while it waits, the organisations listed already whose names its name finds (a walk asked
    twice for one already listed, and the steward was not told)."""
    viewer = viewer_in(request.scope)
    listed = (await store.organisations_by_id(viewer, [found.organisation])).get(
        found.organisation) if found.organisation else None
    alike = await organisations_named(store, viewer, str(found.fields.get("name", "")), ALIKE) \
        if found.status == "pending" else None
    return page(request, "join-review.html", status=status, r=found, labels=LABELS, choices=await choices(store),
                listed=listed, alike=alike or [], **more)


@stewards_only
async def decide(request: Request, store: Store) -> Response:
    viewer = viewer_in(request.scope)
    request_id = request.path_params["request_id"]
    asked = forms.first(await forms.read(request))
    try:
        if asked.get("decision") != "approve":
            found = await store.join_requests.get(viewer, request_id)
            if found.status != "pending":
                return await _decided(request, store, request_id)
            if asked.get("decision") != "decline":  # neither button: the request again, undecided
                return await _review(request, store, found, 400)
            if asked.get("confirmed") != "yes":  # declining forgets how to reach them: asked once more
                return page(request, "confirm.html", r=found)
            await store.join_requests.decline(viewer, request_id)
            return RedirectResponse("/stewards", status_code=303)
        # how they asked to be reached, read before approving forgets it: the token goes there (a
        # steward's walk approved, was shown the token once, and had nobody to give it to)
        contact = (await store.join_requests.get(viewer, request_id)).contact
        record = await store.approve_join(viewer, request_id, asked.get("visibility") or None)
    except NotFound:
        return await _decided(request, store, request_id)
    except JoinRefused as refused:  # the taxonomy changed since it was asked: say what no longer holds
        found = await store.join_requests.get(viewer, request_id)
        return await _review(request, store, found, 400,
                             problems=field_reasons(refused.problems, language_of(request), LABELS))
    token = None
    if asked.get("token") == "yes":
        # labelled with who holds it, as a steward labels the tokens they make
        _token_id, token = await store.tokens.create("member", record.id, record.name[:200])
    return page(request, "join-approved.html", o=record, token=token, contact=contact)


async def _decided(request: Request, store: Store, request_id: str) -> Response:
    """A decision that came too late: another steward (or this one, twice) decided first, so say so
    and show what was decided; a request that is not there at all is missing."""
    try:
        found = await store.join_requests.get(viewer_in(request.scope), request_id)
    except NotFound:
        return page(request, "missing.html", status=404)
    return await _review(request, store, found, 409, decided_before=True)


routes = [Route("/join", join_form, methods=["GET"]), Route("/join", join, methods=["POST"]),
          Route("/join/sent", join_sent, methods=["GET"]),
          Route("/stewards/requests/{request_id}", review, methods=["GET"]),
          Route("/stewards/requests/{request_id}", decide, methods=["POST"])]
