"""A member edits its own organisation's record in a form; a steward any.

The form is the organisation's fields as an edit takes them (`store.Edit`, the validators' names):
its kind, visibility, country, province and location precision chosen from labelled options with
the current one selected (the provinces of the country the form holds, by name), its languages by
name (any it holds beyond the common ones offered too), the rest typed, each list one item per
line, with a hint and an example where a value has a form to follow (a contact channel). A choice
left out keeps its value: an
empty visibility or precision would be the default for its kind, which may show more. Saving sends
the revision the form was opened at (`edit_form`). The same page lists the links the organisation
writes, each with its forms (`links`), and offers to add one.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from directory.base.scope import viewer_in
from directory.domain import places
from directory.domain.model import Organisation
from directory.domain.validation import CHANNEL_KINDS
from directory.store import Edit, Store
from directory.web.pages import edit_form, forms, i18n, links, words
from directory.web.pages.edit_form import Typed, items
from directory.web.pages.problems import field_reasons
from directory.web.pages.render import language_of, named, page, sortable
from directory.web.pages.routes import choices

LINES = ("name", "website", "source", "subdivision", "latitude", "longitude", "verified_on", "verified_by",
         "verified_source", "country")
TEXTS = ("description",)
LISTS = ("aliases", "contact_channels", "identifiers")
MANY = ("languages",)  # any of labelled options: a set, its order not kept
KEPT = ("kind", "visibility", "precision")  # chosen; left out, they keep their value
# changed by two people at once, asked about rather than saved over each other (`edit_form.saved`)
TOGETHER = ("visibility", "kind", "country", "subdivision", "latitude", "longitude", "precision")


def values_of(o: Organisation) -> dict[str, str]:
    """An organisation as the form shows it: the row an edit is checked as."""
    loc = o.location
    row: dict[str, Any] = {
        "name": o.name, "kind": o.kind, "visibility": o.visibility.value, "aliases": o.aliases,
        "description": o.description, "website": o.website, "languages": sorted(o.languages),
        "contact_channels": o.contact_channels, "identifiers": o.identifiers, "source": o.source,
        "verified_on": o.verified.on, "verified_by": o.verified.by, "verified_source": o.verified.source}
    if loc is not None:
        row.update(country=loc.country, subdivision=loc.subdivision, latitude=loc.latitude, longitude=loc.longitude,
                   precision=loc.precision.value)
    return edit_form.shown(row, (*LINES, *TEXTS, *LISTS, *MANY, *KEPT))


_EMAIL = re.compile(r"^[^@\s:]+@[^@\s:]+\.[^@\s:]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{5,30}$")


# a contact's kind as the pages name it in each of their languages ("Téléphone", "Телефон"): a
# walk typed `телефон: +996 555 123 456` and was told the kinds are English words
_KIND_NAMES = {**{code: words.INTAKE[code] for code in ("email", "phone", "signal", "whatsapp", "telegram")},
               "form": words.INTAKE["web-form"]}


@functools.cache
def _kinds_named() -> dict[str, str]:
    named = {sortable(code): code for code in CHANNEL_KINDS}
    for language in i18n.LANGUAGES:
        gettext = i18n.translations(language).gettext
        named.update({sortable(gettext(name)): code for code, name in _KIND_NAMES.items()})
    return named


def channel(line: str) -> str:
    """A secure contact as typed: a bare e-mail address or phone number is taken as one, with its
    kind ("desk@example.org" is `email:desk@example.org`), as the hint's examples write them; a
    kind named in any of the pages' languages is its code; any other line as it is, for the store
    to name what it lacks."""
    typed_kind, colon, value = line.partition(":")
    kind = typed_kind.strip().lower()
    if kind in CHANNEL_KINDS:
        return line
    if colon and (code := _kinds_named().get(sortable(typed_kind.strip()))) and not value.startswith("//"):
        return f"{code}:{value.strip()}"
    if _EMAIL.match(line.strip()):
        return f"email:{line.strip()}"
    if _PHONE.match(line.strip()):
        return f"phone:{line.strip()}"
    return line


def _fields(record_id: str, typed: Typed) -> dict[str, Any]:
    fields: dict[str, Any] = {name: typed.values.get(name, "") for name in (*LINES, *TEXTS)}
    fields.update({name: items(typed.values.get(name, "")) for name in LISTS})
    fields["contact_channels"] = [channel(line) for line in fields["contact_channels"]]
    fields["website"] = forms.website(fields["website"])
    fields.update({name: typed.chosen.get(name, []) for name in MANY})
    fields.update({name: typed.values[name] for name in KEPT if typed.values.get(name)})
    return dict(fields, id=record_id)


# the fields in the order the form shows them, which a refusal's problems follow
IN_FORM = ("name", "kind", "visibility", "description", "aliases", "languages", "contact_channels", "identifiers",
           "website", "country", "subdivision", "latitude", "longitude", "precision", "source", "verified_on",
           "verified_by", "verified_source")


async def _form(request: Request, o: Organisation, typed: dict[str, str], revision: int, status: int = 200,
                **more: Any) -> Response:
    store: Store = request.app.state.store
    viewer = viewer_in(request.scope)
    offered, language = await choices(store), language_of(request)
    if "problems" in more:
        more["problems"] = field_reasons(more["problems"], language, IN_FORM)
    return page(request, "edit-organisation.html", status=status, o=o, typed=typed, revision=revision,
                choices=offered, links=await links.listed(store, viewer, o.id), **links.for_forms(),
                spoken=edit_form.languages(offered["language"], typed.get("languages", ""), language),
                provinces=_provinces(typed, language), channel_kinds=_kinds_said(language), **more)


def _kinds_said(language: str) -> str:
    """The channels' kinds as the hint lists them: in a right-to-left page a list of Latin words set
    apart, whose commas and full stop stay with it (a walk in Arabic saw them moved)."""
    said = ", ".join(CHANNEL_KINDS)
    return f"\u2066{said}\u2069" if i18n.direction(language) == "rtl" else said


def _provinces(typed: dict[str, str], language: str) -> list[tuple[str, str]]:
    """The provinces of the country the form holds, by name in the page's language, and the one
    recorded if it is not among them (another country's, until it is changed): chosen, not typed
    as a code. One country's, not the world's: those would be a page of their own."""
    country = typed.get("country", "").strip().upper()
    listed = named([(p.code, p.name) for p in places.subdivisions_of(country)], "place", language) if country else []
    chosen = typed.get("subdivision", "").strip().upper()
    if chosen and chosen not in {code for code, _ in listed}:
        listed = named([(chosen, chosen)], "place", language) + listed
    return listed


async def edit_page(request: Request) -> Response:
    found = await edit_form.organisation(request.app.state.store, viewer_in(request.scope),
                                         request.path_params["record_id"])
    if found is None or found.provenance is None:
        return page(request, "missing.html", status=404)
    values = values_of(found)
    return await _form(request, found, values, found.provenance.revision, opened=edit_form.fingerprint(values))


async def save(request: Request) -> Response:
    typed = await edit_form.read(request)
    store: Store = request.app.state.store
    viewer = viewer_in(request.scope)
    found = await edit_form.organisation(store, viewer, request.path_params["record_id"])
    if found is None:
        return page(request, "missing.html", status=404)
    fields = edit_form.verification_kept(viewer, _fields(found.id, typed), found.verified)
    changes = edit_form.mine(typed, fields, MANY)

    async def save(changed: dict[str, Any], revision: int) -> None:
        await store.save_organisation(viewer, Edit(changed, {n: n for n in changed}), revision)

    async def now() -> dict[str, str] | None:
        again = await edit_form.organisation(store, viewer, found.id)
        return values_of(again) if again else None

    shown = await edit_form.saved(save, typed, changes, now, TOGETHER)
    if shown is None:
        return edit_form.to_organisation(found.id)
    return await _form(request, found, typed.values, **shown)


routes = [Route("/organisations/{record_id}/edit", edit_page, methods=["GET"]),
          Route("/organisations/{record_id}/edit", save, methods=["POST"]),
          *links.routes]
