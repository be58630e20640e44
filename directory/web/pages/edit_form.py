"""What every edit form shares: its fields' labels, what was typed, and why a save was refused.

An edit form is a record's fields as the store's `Edit` takes them, each list one item per line
(or one value per chosen option, or one row of fields per item: `edit_rows`). Saving sends the
revision the form was opened at: if the record changed since, the store writes nothing
(REVISION_CONFLICT) and the form shows what it says now beside what was typed, with the new
revision, so the person decides. Any other refusal names each
field and its reason, and nothing is written either.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from babel.numbers import get_decimal_symbol
from starlette.requests import Request
from starlette.responses import RedirectResponse

from directory.domain import places
from directory.domain.errors import NotFound
from directory.domain.model import Organisation, Verification
from directory.domain.viewer import Viewer
from directory.store import EditRefused, Store
from directory.web.pages import forms
from directory.web.pages.problems import edit_problems
from directory.web.pages.render import language_of, named

# Every edit form's fields, by the name the form (and so a refusal) gives them: the catalogue reads
# them from `editing.LABELS`. A field of the same name reads the same on every form.
LABELS = {
    "name": "Name", "description": "Description", "visibility": "Who may see it", "type": "Type of service",
    "kind": "Kind of organisation", "eligibility": "Who can ask", "application_process": "How to ask",
    "exclusions": "Not for", "status": "Status", "status_since": "Status since (YYYY-MM-DD)",
    "status_reason": "Why this status", "status_source": "Source of the status", "hours": "Hours",
    "intake": "Where to ask", "windows": "Open calls",
    "intake_languages": "Languages a request may be made in", "purposes": "What a grant pays for",
    "present_in": "Delivered in", "reaches": "Reaches remotely", "groups": "Defenders served",
    "origins": "Takes defenders from (relocation and exile support)", "cost": "Cost",
    "capacity": "Capacity: how many it can take now", "capacity_unit": "Capacity counted in (cases, places, grants)",
    "capacity_confirmed": "Capacity confirmed on (YYYY-MM-DD; today when a new figure is typed)",
    "verified_on": "Verified on (YYYY-MM-DD)", "verified_by": "Verified by", "verified_source": "Verified against",
    "aliases": "Also known as: one name per line", "website": "Website (https://...)",
    "languages": "Languages it works in", "contact_channels": "Secure contact",
    "identifiers": "Registered identifiers: one per line, as SCHEME:IDENTIFIER (GB-CHC:1234567)",
    "source": "Where this record comes from", "country": "Based in (country)",
    "subdivision": "Province or region", "latitude": "Latitude", "longitude": "Longitude",
    "precision": "Shown on maps at this precision",
    "link_type": "Kind of link", "other": "The other organisation (its name or id)",
    "confirmed": "Confirmed on (YYYY-MM-DD)", "response_hours": "Usual response (hours)",
    "formal": "A formal agreement", "trust": "Trust (0 to 1)", "amount": "Amount", "currency": "Currency (ISO code)",
    "year": "Year", "purpose": "What it pays for",
}


@dataclass
class Typed:
    """A submitted edit form: each field as typed (lists one item per line), each field's chosen
    values (for multiple choices), and the revision the form was opened at."""

    values: dict[str, str]
    chosen: dict[str, list[str]]
    revision: int


async def read(request: Request) -> Typed:
    """The form, through `forms.read` (the CSRF value and the size cap) before anything else."""
    form = await forms.read(request)
    # several values are choices, in no order that matters (a record keeps its lists sorted): a
    # form's rows, whose order does, number their fields (`edit_rows`); browsers send a text's lines
    # with CR LF
    values = {k: "\n".join(sorted(v) if len(v) > 1 else v).replace("\r\n", "\n") for k, v in form.items()}
    given = values.pop("revision", "")
    return Typed(_points_for_commas(values, language_of(request)), form, forms.digits(given) or 0)


# Numbers a form takes whose decimal comma cannot be a thousands one: a latitude or a longitude, a
# trust from 0 to 1, hours to answer (not amounts, where "1,000" may be either)
DECIMALS = ("latitude", "longitude", "trust", "response_hours")
_COMMA_DECIMAL = re.compile(r"-?[0-9]+,[0-9]+")


def _points_for_commas(values: dict[str, str], language: str) -> dict[str, str]:
    """In a language that writes decimals with a comma (as the pages write them: "0,43"), a number
    typed so in one of `DECIMALS` is read as it was meant; the shared checks take a point only."""
    if get_decimal_symbol(language) != ",":
        return values
    return {k: v.strip().replace(",", ".") if k in DECIMALS and _COMMA_DECIMAL.fullmatch(v.strip()) else v
            for k, v in values.items()}


async def organisation(store: Store, viewer: Viewer, record_id: str) -> Organisation | None:
    """The organisation, if this viewer may change it and its records: otherwise None, as for one
    that does not exist (a page then answers exactly as for a missing id)."""
    if not viewer.may_write(record_id):  # an organisation owns itself; asked before anything is read
        return None
    try:
        return await store.organisation(viewer, record_id)
    except NotFound:
        return None


def items(text: str) -> list[str]:
    """A list field's items, one a line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def languages(common: list[tuple[str, str]], held: str, language: str) -> list[tuple[str, str]]:
    """The languages a form offers, by name in the page's language (`language`), in that name's
    order: the common ones (`routes.choices`) and any other the record holds (`held`, one a line),
    so saving keeps it. Any language (`mul`) is left to the form, which names it in its own words."""
    codes = {code for code, _ in common} | set(items(held))
    codes.discard(places.ANY_LANGUAGE)
    return named([(code, code) for code in codes], "language", language)


def shown(row: dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    """A record's fields as a form shows them: lists one item per line, nothing as empty."""
    def text(value: Any) -> str:
        if isinstance(value, list):
            return "\n".join(str(x) for x in value)
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return "" if value is None else str(value)

    return {name: text(row.get(name)) for name in names}


async def refusal(refused: EditRefused, typed: Typed,
                  now: Callable[[], Awaitable[dict[str, str] | None]]) -> dict[str, Any]:
    """What the form shows beside what was typed when the store refused it: the record as it says
    now (`now` reads it again), with the revision to save over, for a stale revision; otherwise
    each field and the reason."""
    if refused.code == "REVISION_CONFLICT":
        current = await now()
        if current is not None:
            return {"status": 409, "conflict": current, "revision": refused.current_revision or 0,
                    "changed": [n for n in current if current[n] != typed.values.get(n, "")]}
    return {"status": 400, "problems": edit_problems(refused), "revision": typed.revision}


VERIFIED = ("verified_on", "verified_by", "verified_source")


def verification_kept(viewer: Viewer, fields: dict[str, Any], held: Verification | None) -> dict[str, Any]:
    """A verification is a steward's word (the store refuses anyone else's change): a member's form
    shows it as text, and its save sends it back as the record holds it."""
    if viewer.role == "steward":
        return fields
    kept = held or Verification()
    return {**fields, "verified_on": kept.on, "verified_by": kept.by, "verified_source": kept.source}


def to_organisation(record_id: str) -> RedirectResponse:
    """After a save: the organisation's page, fetched anew (303, so a reload does not post again),
    saying that it was saved."""
    return RedirectResponse(f"/organisations/{record_id}?saved=1", status_code=303)
