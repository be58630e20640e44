"""An organisation's links in forms: add one, change its visibility and properties, remove it.

Offered are the links the organisation writes: those from it, and a vouching by it (a VETTED_BY
link points at the vetter). The store decides whose a link is (`edits.link_owner`) and refuses any
other; `written_from` only chooses which forms to show.

Each link's forms carry the revision the page read (`Link.revision`), and a change or a removal
names it to the store: if the link changed since, the store writes nothing (REVISION_CONFLICT) and
the page shows what it says now beside what was typed, its form at the new revision, so saving
again keeps what was typed. A link the viewer may not see, or not change, reads as missing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from directory.base.scope import viewer_in
from directory.domain.errors import Problem
from directory.domain.model import LINK_TYPES, Link, Organisation, Visibility
from directory.domain.viewer import Viewer
from directory.store import Edit, EditRefused, Store
from directory.web.pages import edit_form, words
from directory.web.pages.edit_form import LABELS, Typed
from directory.web.pages.problems import edit_problems, field_reasons, not_found
from directory.web.pages.render import language_of, page
from directory.web.pages.typed_names import NAMED, exact_organisation

# The properties each type of link takes (`validation.link`), as its form offers them.
FIELDS = {t: ("visibility", "confirmed") for t in LINK_TYPES} | {
    "REFERS_TO": ("visibility", "confirmed", "response_hours", "formal", "trust"),
    "FUNDS": ("visibility", "confirmed", "amount", "currency", "year", "purpose")}


def written_from(link_type: str) -> str:
    """Which way a link the organisation writes goes, as its page reads it (`words.LINKS`)."""
    return "in" if link_type == "VETTED_BY" else "out"


@dataclass
class Ref:
    """Which link: its type, both ends and its key; `other` is the end that is not the organisation."""

    type: str
    source: str
    target: str
    key: str
    other: str

    def fields(self) -> dict[str, Any]:
        return {"type": self.type, "source": self.source, "target": self.target, "key": self.key}

    def columns(self) -> dict[str, str]:
        """The form's names for the link's fields, so a refusal names what was typed."""
        ends = {"source": "other" if self.source == self.other else "source",
                "target": "other" if self.target == self.other else "target"}
        return {"type": "link_type", **ends}


def _ref(organisation: str, typed: Typed) -> Ref | None:
    link_type = typed.values.get("link_type", "")
    if link_type not in LINK_TYPES:
        return None
    other = typed.values.get("other", "")
    source, target = (organisation, other) if written_from(link_type) == "out" else (other, organisation)
    return Ref(link_type, source, target, typed.values.get("key", ""), other)


@dataclass
class Listed:
    """A link the organisation writes, as its edit page shows it."""

    said: str  # how the page reads it (`words.LINKS`)
    link: Link
    other: Organisation
    values: dict[str, str]


def values_of(link: Link) -> dict[str, str]:
    return edit_form.shown({"visibility": link.visibility.value, **link.properties}, FIELDS[link.type])


async def listed(store: Store, viewer: Viewer, organisation: str) -> list[Listed]:
    """The links the organisation writes that the viewer may see (the store's read, as its page's)."""
    found = [("out", x) for x in await store.links_of(viewer, [organisation], "out") if written_from(x.type) == "out"]
    found += [("in", x) for x in await store.links_of(viewer, [organisation], "in") if written_from(x.type) == "in"]
    others = await store.organisations_by_id(viewer, sorted({x.target if way == "out" else x.source
                                                             for way, x in found}))
    return [Listed(words.LINKS[(way, x.type)], x, others[o], values_of(x))
            for way, x in found if (o := x.target if way == "out" else x.source) in others]


async def _find(store: Store, viewer: Viewer, organisation: str, ref: Ref) -> Listed | None:
    return next((x for x in await listed(store, viewer, organisation)
                 if (x.link.type, x.link.source, x.link.target, x.link.key) ==
                 (ref.type, ref.source, ref.target, ref.key)), None)


def _edit(ref: Ref, typed: Typed) -> Edit:
    """What was typed, for this type of link; a visibility left out keeps its value (or the type's)."""
    fields = ref.fields()
    for name in FIELDS[ref.type]:
        value = typed.values.get(name, "")
        if name != "visibility" or value:
            fields[name] = value
    return Edit(fields, {**{n: n for n in fields}, **ref.columns()})


def _problems(refused: EditRefused) -> list[Problem]:
    if refused.problems:
        return refused.problems
    # a missing or hidden end reads as `id`: it is the other organisation
    return [replace(p, column="other") if p.column in ("id", "target", "source") else p
            for p in edit_problems(refused)]


def for_forms() -> dict[str, Any]:
    """What a page showing link forms needs (`_link-forms.html`)."""
    return {"link_fields": FIELDS, "written_from": written_from, "link_types": LINK_TYPES, "labels": LABELS}


def _page(request: Request, organisation: Organisation, typed: dict[str, str], status: int, **more: Any) -> Response:
    if "problems" in more:
        more["problems"] = field_reasons(more["problems"], language_of(request))
    return page(request, "edit-link.html", status=status, o=organisation, typed=typed, **for_forms(), **more)


@dataclass
class Opened:
    """A link form as posted (its CSRF value checked first), for an organisation the viewer may change."""

    store: Store
    viewer: Viewer
    organisation: Organisation
    typed: Typed
    ref: Ref | None


async def _opened(request: Request) -> Opened | None:
    typed = await edit_form.read(request)
    store: Store = request.app.state.store
    viewer = viewer_in(request.scope)
    found = await edit_form.organisation(store, viewer, request.path_params["record_id"])
    return None if found is None else Opened(store, viewer, found, typed, _ref(found.id, typed))


async def _changed(request: Request, opened: Opened, refused: EditRefused, removing: bool = False) -> Response:
    """The link's page after a refusal: its form beside what it says now, at its new revision, if it
    changed since the form was opened; otherwise beside each field's problem, still at the revision
    the form was opened at (a change made meanwhile must not be saved over unseen). A removal typed
    nothing: its form shows the link as it is."""
    typed, ref = opened.typed, opened.ref
    now = None if ref is None else await _find(opened.store, opened.viewer, opened.organisation.id, ref)
    stale = now is not None and refused.code == "REVISION_CONFLICT"
    shown = now.values if removing and now is not None else typed.values
    if not stale or now is None:
        opened_at = None if now is None else replace(now, link=replace(now.link, revision=typed.revision))
        return _page(request, opened.organisation, shown, 400, item=opened_at, problems=_problems(refused))
    if removing:
        return _page(request, opened.organisation, shown, 409, item=now, not_removed=True)
    changed = [n for n in now.values if now.values[n] != typed.values.get(n, "")]
    return _page(request, opened.organisation, shown, 409, item=now, conflict=now.values, changed=changed)


async def add(request: Request) -> Response:
    opened = await _opened(request)
    if opened is None:
        return page(request, "missing.html", status=404)
    organisation, typed = opened.organisation, opened.typed
    other, found = await exact_organisation(opened.store, opened.viewer, typed.values.get("other", ""))
    if other is None and not found:  # neither an id nor a name of one it may see: as any record not found
        return _page(request, organisation, typed.values, 400, item=None,
                     problems=[not_found("other", typed.values.get("other", ""))])
    if other is None:
        more = "; …" if len(found) > NAMED else ""
        return _page(request, organisation, typed.values, 400, item=None, problems=[Problem.of(
            0, "other", "%(typed)s is the name of no organisation exactly; it finds %(names)s. Type one of "
            "these names as it is written, or its id", typed=typed.values.get("other", ""),
            names="; ".join(f"{o.name} ({o.id})" for o in found[:NAMED]) + more)])
    typed.values["other"] = other
    ref = _ref(organisation.id, typed)
    if ref is None:
        return _page(request, organisation, typed.values, 400, item=None,
                     problems=[Problem.of(0, "link_type", "choose the kind of link")])
    if not typed.values.get("visibility"):  # a new link is as visible as someone chose, never by default
        return _page(request, organisation, typed.values, 400, item=None,
                     problems=[Problem.of(0, "visibility", "choose who may see it")])
    try:
        await opened.store.save_link(opened.viewer, _edit(ref, typed), None)
    except EditRefused as refused:
        return _page(request, organisation, typed.values, 400, item=None, problems=_problems(refused))
    return edit_form.to_organisation(organisation.id)


async def change(request: Request) -> Response:
    opened = await _opened(request)
    if opened is None or opened.ref is None:
        return page(request, "missing.html", status=404)
    try:
        await opened.store.save_link(opened.viewer, _edit(opened.ref, opened.typed), opened.typed.revision)
    except EditRefused as refused:
        return await _changed(request, opened, refused)
    return edit_form.to_organisation(opened.organisation.id)


async def remove(request: Request) -> Response:
    opened = await _opened(request)
    if opened is None or opened.ref is None:
        return page(request, "missing.html", status=404)
    ref = opened.ref
    gone = Link(ref.type, ref.source, ref.target, Visibility.PUBLIC, ref.key)  # its identity is all a removal reads
    try:
        await opened.store.delete_link(opened.viewer, gone, opened.typed.revision)
    except EditRefused as refused:
        return await _changed(request, opened, refused, removing=True)
    return edit_form.to_organisation(opened.organisation.id)


routes = [Route("/organisations/{record_id}/links/new", add, methods=["POST"]),
          Route("/organisations/{record_id}/links/edit", change, methods=["POST"]),
          Route("/organisations/{record_id}/links/remove", remove, methods=["POST"])]
