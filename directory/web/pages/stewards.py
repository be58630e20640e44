"""The stewards' pages: requests to be listed, API tokens, and importing a file.

These do from a browser what `directory token` and `directory import` do on the server, with the
same rules and the same error report. Anyone who is not a signed-in steward gets the missing
page: the pages do not say that they exist.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import replace
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from directory.base.scope import viewer_in
from directory.domain.errors import BadArgument, NotFound, StoreUnavailable, ValidationFailed
from directory.exchange import importer
from directory.store import Store
from directory.web.pages import forms
from directory.web.pages.problems import field_reasons, said
from directory.web.pages.render import language_of, page
from directory.web.pages.typed_names import NAMED, exact_organisation

log = logging.getLogger("directory.web")

MAX_UPLOAD = 8 * 1024 * 1024  # larger imports go through `directory import` on the server
MAX_FILES = 3  # organisations, services and links
SHOWN_PROBLEMS = 500


# the import form's label, for what an import refuses about the files as a whole (`importer`)
FILE_LABELS = {"file": "Files", "files": "Files"}
# the token form's labels, by field: a refusal names the field as the form does
TOKEN_LABELS = {"organisation": "Organisation (its name or id), for a member",
                "org": "Organisation (its name or id), for a member", "label": "Label (who holds it)"}


def stewards_only(view: Callable[[Request, Store], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def guarded(request: Request) -> Response:
        if viewer_in(request.scope).role != "steward":
            if request.method == "POST" and request.scope.get("csrf") is None:  # signed out since the form was
                # given: `SignedOut` keeps what was typed, as on every page (else a form of nobody's: missing)
                try:
                    if request.headers.get("content-type", "").startswith("multipart/form-data"):
                        await forms.read_upload(request, MAX_UPLOAD, MAX_FILES)
                    else:
                        await forms.read(request)
                except BadArgument:  # an upload that cannot be read: nobody's form, as below
                    pass
            return page(request, "missing.html", status=404)
        return await view(request, request.app.state.store)
    return guarded


async def _desk(request: Request, store: Store, status: int = 200, **more: Any) -> Response:
    """The desk: requests to be listed and tokens, with what the last action said (`more`)."""
    viewer = viewer_in(request.scope)
    tokens = await store.tokens.list()
    names = {i: o.name for i, o in (await store.organisations_by_id(
        viewer, sorted({t.organisation for t in tokens if t.organisation}))).items()}
    return page(request, "stewards.html", status=status, requests=await store.join_requests.list(viewer),
                tokens=tokens, names=names, **more)


@stewards_only
async def desk(request: Request, store: Store) -> Response:
    return await _desk(request, store)


@stewards_only
async def new_token(request: Request, store: Store) -> Response:
    asked = forms.first(await forms.read(request))
    role = asked.get("role", "member")
    organisation = asked.get("organisation") or None
    try:
        if organisation and role == "member":  # by its name or its id, as a link's other end is typed
            organisation, found = await exact_organisation(store, viewer_in(request.scope), organisation)
            if organisation is None and not found:
                raise NotFound("organisation", asked["organisation"])
            if organisation is None:
                more = "; …" if len(found) > NAMED else ""
                raise BadArgument("organisation", "%(typed)s is the name of no organisation exactly; it finds "
                                  "%(names)s. Type one of these names as it is written, or its id",
                                  typed=asked["organisation"],
                                  names="; ".join(f"{o.name} ({o.id})" for o in found[:NAMED]) + more)
        _token_id, token = await store.tokens.create(role, organisation if role == "member" else None,
                                                     asked.get("label", ""))
    except (BadArgument, NotFound) as exc:
        problem = said(exc, language_of(request), TOKEN_LABELS)
        return await _desk(request, store, 400, problem=problem, typed=asked)  # what was typed stays
    return page(request, "token-made.html", token=token, role=role, organisation=organisation)


@stewards_only
async def revoke(request: Request, store: Store) -> Response:
    """Asks first, then revokes: a revoked token cannot be restored, and its holder may be far away
    waiting on a safe channel for a new one."""
    asked = forms.first(await forms.read(request))
    token_id = request.path_params["token_id"]
    token = next((t for t in await store.tokens.list() if t.id == token_id and not t.revoked_at), None)
    if token is None:
        return page(request, "missing.html", status=404)
    if asked.get("confirmed") != "yes":
        named = (await store.organisations_by_id(viewer_in(request.scope), [token.organisation])).get(
            token.organisation) if token.organisation else None
        return page(request, "confirm.html", token=token, organisation_name=named.name if named else None)
    try:
        await store.tokens.revoke(token_id)
    except NotFound:
        return page(request, "missing.html", status=404)
    return await _desk(request, store, revoked=token_id)


@stewards_only
async def import_form(request: Request, store: Store) -> Response:
    return page(request, "import.html", samples=SAMPLES)


# A file of each kind with every column in use (the demo's, which `directory demo` loads): a steward
# starting a file of their own copies its hashtag row.
SAMPLES = {"organisations.csv": "Organisations", "services.csv": "Services", "links.csv": "Links",
           "indicators.csv": "Need indicators"}


@stewards_only
async def sample(request: Request, store: Store) -> Response:
    name = request.path_params["name"]
    if name not in SAMPLES:
        return page(request, "missing.html", status=404)
    return Response(resources.files("directory.exchange.demo").joinpath(name).read_bytes(),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="example-{name}"',
                             "Cache-Control": "no-store"})


@stewards_only
async def import_files(request: Request, store: Store) -> Response:
    """As `directory import`: every row of every file checked, every problem listed with its file,
    line and column, and nothing written unless all of it is right."""
    try:
        fields, files = await forms.read_upload(request, MAX_UPLOAD, MAX_FILES)
        if not files:
            raise BadArgument("file", "choose one to three CSV (HXL) files")
        inputs = [await asyncio.to_thread(importer.read_csv, _name(name), data) for name, data in files]
        check = fields.get("check") == "yes"
        counts = await importer.import_inputs(store, inputs, check, viewer=viewer_in(request.scope))
    except ValidationFailed as failed:
        shown = failed.problems[:SHOWN_PROBLEMS]
        reasons = field_reasons(shown, language_of(request))
        return page(request, "import.html", status=400, samples=SAMPLES,
                    problems=[replace(p, reason=r) for p, (_, r) in zip(shown, reasons, strict=True)],
                    more=max(0, len(failed.problems) - SHOWN_PROBLEMS), total=len(failed.problems))
    except BadArgument as exc:
        return page(request, "import.html", status=400, samples=SAMPLES,
                    problem=said(exc, language_of(request), FILE_LABELS))
    except StoreUnavailable:  # the import runs past the pages' deadline (`deadline.UNBOUNDED`): said here
        log.warning("the store stopped answering during an import from the stewards' page")
        return page(request, "import.html", status=503, samples=SAMPLES, store_stopped=True)
    return page(request, "import.html", samples=SAMPLES, counts=counts, check=check, names=[n for n, _ in files])


def _name(filename: str) -> str:
    """The uploaded file's own name, as the error report names it: no folders, bounded."""
    return os.path.basename(filename.replace("\\", "/"))[:100] or "upload.csv"


routes = [Route("/stewards", desk, methods=["GET"]), Route("/stewards/tokens", new_token, methods=["POST"]),
          Route("/stewards/tokens/{token_id}/revoke", revoke, methods=["POST"]),
          Route("/stewards/import", import_form, methods=["GET"]),
          Route("/stewards/import/examples/{name}", sample, methods=["GET"]),
          Route("/stewards/import", import_files, methods=["POST"])]
