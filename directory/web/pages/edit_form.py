"""What every edit form shares: its fields' labels, what was typed, and why a save was refused.

An edit form is a record's fields as the store's `Edit` takes them, each list one item per line
(or one value per chosen option, or one row of fields per item: `edit_rows`). The form carries the
revision it was opened at and a short hash of each field as it was then (`fingerprint`), and a
save sends only the fields the person changed (`mine`). If the record changed since, the store
writes nothing (REVISION_CONFLICT): where nobody else changed a field the person changed, the
changes are saved over the new revision, the other person's kept; otherwise the form shows what
the record says now beside what was typed for those fields only, holding everyone else's changes,
with the new revision, so the person decides. A steward's walk lost a member's new capacity and
hours to "save again to keep yours": the form had sent back every field as it was opened. Any
other refusal names each field and its reason, and nothing is written either.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Collection, Mapping
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
    opened: dict[str, str] | None = None  # each field's `fingerprint` when the form was opened, if it said


async def read(request: Request) -> Typed:
    """The form, through `forms.read` (the CSRF value and the size cap) before anything else."""
    form = await forms.read(request)
    # several values are choices, in no order that matters (a record keeps its lists sorted): a
    # form's rows, whose order does, number their fields (`edit_rows`); browsers send a text's lines
    # with CR LF
    values = {k: "\n".join(sorted(v) if len(v) > 1 else v).replace("\r\n", "\n") for k, v in form.items()}
    given = values.pop("revision", "")
    opened = _opened(values.pop("opened", ""))
    return Typed(_points_for_commas(values, language_of(request)), form, forms.digits(given) or 0, opened)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def fingerprint(values: Mapping[str, str]) -> str:
    """A form's fields as it was opened (`shown`), a short hash each, for the form to send back."""
    return _said({name: _hash(text) for name, text in values.items()})


def _said(hashes: Mapping[str, str]) -> str:
    return " ".join(f"{name}={h}" for name, h in sorted(hashes.items()))


def _opened(said: str) -> dict[str, str] | None:
    pairs = [part.partition("=") for part in said.split()]
    return {name: h for name, _, h in pairs if name and h} or None


def mine(typed: Typed, fields: dict[str, Any], always_sent: Collection[str] = ()) -> dict[str, Any]:
    """The fields the person changed since the form was opened, with the record's id; all of them
    for a form that did not say what it was opened with. A field the form did not send (one shown
    as text, such as a member's verification) is as it was; `always_sent`: fields whose absence
    means emptied (a multiple choice left with none, rows)."""
    opened = typed.opened
    if opened is None:
        return fields

    def changed(name: str) -> bool:
        if name == "id" or name not in opened:
            return True
        if name not in typed.chosen and name not in always_sent:
            return False
        return _hash(typed.values.get(name, "")) != opened[name]
    return {name: value for name, value in fields.items() if changed(name)}


async def saved(save: Callable[[dict[str, Any], int], Awaitable[None]], typed: Typed, changes: dict[str, Any],
                now: Callable[[], Awaitable[dict[str, str] | None]],
                together: Collection[str] = ()) -> dict[str, Any] | None:
    """Save the fields the person changed (`mine`): None once saved; else what the form shows
    (`refusal`). A record changed meanwhile in other fields only is saved over, once; but not where
    both changed one of `together` (who may see it, where it is, how precisely: each safe alone, a
    public record with an exact point together, which nobody chose: an attacker's read)."""
    try:
        await save(changes, typed.revision)
        return None
    except EditRefused as refused:
        if refused.code != "REVISION_CONFLICT" or typed.opened is None:
            return await refusal(refused, typed, now, changes)
        current = await now()
        if current is None:
            return await refusal(refused, typed, now, changes)
        asked = _theirs(changes, typed, current, together)
        if asked:
            return await refusal(refused, typed, now, changes, current, asked)
        try:
            await save(changes, refused.current_revision or 0)
            return None
        except EditRefused as again:  # the form again as the record is now, with its new revision
            shown = await refusal(again, typed, now, changes, current)
            _merge(typed, changes, current)
            return {**shown, "revision": refused.current_revision or 0, "opened": fingerprint(current)}


def _theirs(changes: dict[str, Any], typed: Typed, current: dict[str, str], together: Collection[str]) -> list[str]:
    """What to ask about: the fields the person changed that someone else changed too since the form
    was opened; or, where both changed fields of `together`, all of those either changed."""
    opened = typed.opened or {}

    def since(name: str) -> bool:
        return name in current and name in opened and _hash(current[name]) != opened[name]
    both = [name for name in changes if since(name)]
    if both:
        return both
    if any(name in changes for name in together) and any(since(name) for name in together):
        return [name for name in together if name in changes or since(name)]
    return []


def _merge(typed: Typed, changes: dict[str, Any], current: dict[str, str]) -> None:
    """The form's values: the person's changes, and every other field as the record has it now."""
    typed.values.update({n: v for n, v in current.items() if n not in changes or n == "id"})


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


async def refusal(refused: EditRefused, typed: Typed, now: Callable[[], Awaitable[dict[str, str] | None]],
                  changes: dict[str, Any] | None = None, current: dict[str, str] | None = None,
                  asked: Collection[str] | None = None) -> dict[str, Any]:
    """What the form shows beside what was typed when the store refused it: for a stale revision,
    the record as it says now (`now` reads it again), with the revision to save over, the fields
    the person did not change shown as the record has them now (`typed.values` is changed so) and
    those `asked` about listed (by default those the person changed); otherwise each field and the
    reason."""
    if refused.code == "REVISION_CONFLICT":
        current = current if current is not None else await now()
        if current is not None:
            listed = set(asked if asked is not None else (changes or current)) - {"id"}
            changed = [n for n in current if n in listed and current[n] != typed.values.get(n, "")]
            _merge(typed, changes if changes is not None else current, current)  # without them, all typed
            return {"status": 409, "conflict": current, "revision": refused.current_revision or 0,
                    "changed": changed, "opened": fingerprint(current)}
    return {"status": 400, "problems": edit_problems(refused), "revision": typed.revision,
            "opened": fingerprint_of(typed)}


def fingerprint_of(typed: Typed) -> str:
    """The fingerprint a form sent back, to send again with the form shown anew."""
    return _said(typed.opened or {})


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
