"""A member edits its own organisation's services in a form; a steward any.

The form is the service's fields as an edit takes them (`store.Edit`, the validators' names), each
list one item per line. Saving sends the revision the form was opened at: if the service changed
since, nothing is written, and the page shows what it says now beside what was typed, with the new
revision, so the person decides. A service the viewer may not change reads as one it cannot see.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from directory.base.scope import viewer_in
from directory.domain.model import Service, Status
from directory.domain.viewer import Viewer
from directory.store import Edit, EditRefused, Store, service_fields
from directory.web.pages import forms
from directory.web.pages.render import page

# The fields the form edits, with how each is typed: a line, a text, or a list (one item per line).
TEXTS = ("name", "description", "eligibility", "application_process", "exclusions", "status_reason")
LINES = ("hours", "status_since", "status_source", "verified_on", "verified_by", "verified_source")
LISTS = ("intake", "windows", "intake_languages", "purposes")
LABELS = {"name": "Name", "description": "Description", "eligibility": "Who can ask",
          "application_process": "How to ask", "exclusions": "Not for", "status": "Status",
          "status_since": "Status since (YYYY-MM-DD)", "status_reason": "Why", "status_source": "Source of the status",
          "hours": "Hours", "intake": "Where to ask: one per line, as VISIBILITY KIND:VALUE (public hotline:+00 000)",
          "windows": "Open calls: one per line, as OPENS/CLOSES note (2027-01-15/2027-02-28 spring call)",
          "intake_languages": "Languages a request may be made in: codes, one per line (mul: any)",
          "purposes": "What a grant pays for: service type codes, one per line",
          "verified_on": "Verified on (YYYY-MM-DD)", "verified_by": "Verified by",
          "verified_source": "Verified against"}


def values_of(s: Service) -> dict[str, str]:
    """A service as the form shows it: the row an edit is checked as (`store.service_fields`), each
    list one item per line."""
    row = service_fields(s)
    return {name: "\n".join(row[name]) if isinstance(row[name], list) else "" if row[name] is None else str(row[name])
            for name in (*TEXTS, *LINES, *LISTS, "status")}


async def _service(store: Store, viewer: Viewer, record_id: str) -> Service | None:
    """The service, if this viewer may change it: otherwise None, as for one that does not exist."""
    found = (await store.services_by_id(viewer, [record_id])).get(record_id)
    return found if found is not None and viewer.may_write(found.organisation) else None


def _form(request: Request, s: Service, typed: dict[str, str], revision: int, status: int = 200,
          **more: Any) -> Response:
    return page(request, "edit-service.html", status=status, s=s, typed=typed, revision=revision, labels=LABELS,
                texts=TEXTS, lines=LINES, lists=LISTS, statuses=[x.value for x in Status], **more)


async def edit_form(request: Request) -> Response:
    viewer = viewer_in(request.scope)
    found = await _service(request.app.state.store, viewer, request.path_params["record_id"])
    if found is None or found.provenance is None:
        return page(request, "missing.html", status=404)
    return _form(request, found, values_of(found), found.provenance.revision)


async def save(request: Request) -> Response:
    store: Store = request.app.state.store
    viewer = viewer_in(request.scope)
    found = await _service(store, viewer, request.path_params["record_id"])
    if found is None:
        return page(request, "missing.html", status=404)
    typed = {k: "\n".join(v) for k, v in (await forms.read(request)).items()}
    given = typed.pop("revision", "")
    revision = int(given) if given.isdigit() else 0
    fields: dict[str, Any] = {"id": found.id}
    for name in (*TEXTS, *LINES, "status"):
        fields[name] = typed.get(name, "")
    for name in LISTS:
        fields[name] = [line.strip() for line in typed.get(name, "").splitlines() if line.strip()]
    try:
        await store.save_service(viewer, Edit(fields, {n: n for n in fields}), revision)
    except EditRefused as refused:
        if refused.code == "REVISION_CONFLICT":
            now = (await store.services_by_id(viewer, [found.id]))[found.id]
            current = values_of(now)
            return _form(request, now, typed, refused.current_revision or 0, 409, conflict=current,
                         changed=[n for n in current if current[n] != typed.get(n, "")])
        return _form(request, found, typed, revision, 400,
                     problems=[(p.column, p.reason) for p in refused.problems] or [(refused.field, refused.message)])
    return RedirectResponse(f"/organisations/{found.organisation}", status_code=303)


routes = [Route("/services/{record_id:path}/edit", edit_form, methods=["GET"]),
          Route("/services/{record_id:path}/edit", save, methods=["POST"])]
