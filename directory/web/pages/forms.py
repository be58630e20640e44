"""Reading a page's form: bounded, posted from our own pages, and, for a signed-in browser, only
with the CSRF value it was given.

Every POST the pages take comes through `read` or `read_upload`. A page signed in by its session
cookie put `csrf` in each of its forms (`Tokens.signed_in`); a form without it, or with another, is
refused before anything is read from the store or written to it. A form a browser says came from
another site (`Sec-Fetch-Site`, `Origin`) is refused too, signed in or not: otherwise another site
could sign a browser in as someone else (its later edits would go to that someone's records), sign
it out, or send requests to join from its visitors' addresses.
"""

from __future__ import annotations

import hmac
import re
from urllib.parse import parse_qs, urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request

from directory.domain.errors import BadArgument, Plural

# A form's text fields take up to about 12,000 characters (a service's); in a script whose letters
# take two to four bytes, percent-encoded as six to twelve, that is up to about 150 KB
MAX_FORM = 256 * 1024
MAX_FIELDS = 1200  # a service may cover up to 500 places, each a checkbox
FIELD_LENGTH = 200  # the characters a text field takes (its `maxlength`); links and map filters hold to it too


class Forged(Exception):
    """A signed-in browser's form without its CSRF value: another site may have sent it."""


class SignedOut(Exception):
    """A form a signed-in page gave (it carries a CSRF value) sent by a browser no longer signed in:
    its sign-in lasted its working day, or it signed out in another window. Nothing of it is used;
    the app's one handler (`session.signed_out`) asks to sign in again and keeps what was typed."""

    def __init__(self, action: str, fields: dict[str, list[str]], csrf: str, files: bool = False) -> None:
        super().__init__("a signed-in page's form sent once signed out")
        self.action = action  # the address it was sent to
        self.fields = fields
        self.csrf = csrf  # the value it carried: only the sign-in it came from makes it again (`session`)
        self.files = files  # it held files, which cannot be kept


class AskedBefore(Exception):
    """A question (a form that only asks) sent by a signed-in browser without this sign-in's CSRF
    value: opened before signing in, or in an earlier sign-in, or sent by another site. It is not
    asked as the person; the app's one handler (`session.asked_before`) offers to ask it again."""

    def __init__(self, action: str, fields: dict[str, list[str]]) -> None:
        super().__init__("a question without this sign-in's CSRF value")
        self.action = action
        self.fields = fields


class Unreadable(Exception):
    """A form too long, with too many fields, or not UTF-8 text, to be read: refused whole, before any
    of it is used, by the app's one handler (`session.unreadable`), never as one field's problem. Text
    that is not UTF-8 is never read with replacement characters: they would be stored as typed."""

    TOO_LONG, TOO_MANY, NOT_TEXT = "too long", "too many fields", "not UTF-8"

    def __init__(self, why: str) -> None:
        super().__init__(f"a form refused: {why}")
        self.why = why


def digits(value: str, most: int = 12) -> int | None:
    """A whole number typed as ASCII digits (`"²".isdigit()` is true too), or None."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= most else None


def _same_site(request: Request) -> None:
    """Refuse a form a browser says another site sent. Browsers send `Sec-Fetch-Site`; older ones
    only `Origin`, which our pages' `Referrer-Policy: no-referrer` turns into "null" even for our own
    forms, so it is read only when it names a site: a proxy keeps the Host the browser asked for,
    which is what it names. Clients that are not browsers send neither."""
    fetched = request.headers.get("sec-fetch-site")
    if fetched is not None:
        if fetched not in ("same-origin", "none"):
            raise Forged()
        return
    origin = request.headers.get("origin", "null")
    if origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Forged()


def _csrf_matches(expected: str | None, given: str) -> bool:
    return expected is None or hmac.compare_digest(expected.encode(), given.encode())


async def read(request: Request, writes: bool = True) -> dict[str, list[str]]:
    """The form's fields, each with its values. A form that only asks (`writes` False: a search, a
    job's question, a request to join) sent once signed out is answered as the public's, as any
    page is; one that would write raises `SignedOut`."""
    _same_site(request)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise Unreadable(Unreadable.TOO_LONG)
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=MAX_FIELDS, errors="strict")
    except UnicodeDecodeError:  # raw or percent-encoded bytes that are not UTF-8
        raise Unreadable(Unreadable.NOT_TEXT) from None
    except ValueError:
        raise Unreadable(Unreadable.TOO_MANY) from None
    out = {k: [v.strip() for v in values if v.strip()] for k, values in fields.items()}
    _check_csrf(request, (out.pop("csrf", None) or [""])[0], out, writes)
    return out


def _check_csrf(request: Request, given: str, fields: dict[str, list[str]], writes: bool,
                files: bool = False) -> None:
    expected = request.scope.get("csrf")
    if expected is None and given:  # a signed-in page's form, and the browser is signed in no longer
        if writes:
            raise SignedOut(request.url.path, fields, given, files)
        return
    if not _csrf_matches(expected, given):
        raise Forged() if writes else AskedBefore(request.url.path, fields)


async def read_upload(request: Request, max_bytes: int,
                      max_files: int) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    """A multipart form's fields and files (name, content), within `max_bytes` in all, its CSRF value
    checked before any file is handed back. A body without a stated length, or sent in chunks, is
    refused: the server then holds the client to the length it stated."""
    _same_site(request)
    stated = digits(request.headers.get("content-length", ""))
    if stated is None or stated > max_bytes or "transfer-encoding" in request.headers:
        raise BadArgument("file", "is larger than %(most)s MB, or its size was not given",
                          most=max_bytes // (1024 * 1024))
    try:
        form = await request.form(max_files=max_files, max_fields=20)
    except HTTPException as refused:  # Starlette's refusal of too many files or fields, or of a malformed body
        if "files" in str(refused.detail):
            raise BadArgument("file", Plural("choose at most %(most)s file, a CSV (HXL) file",
                                             "choose at most %(most)s files, each a CSV (HXL) file", "most"),
                              most=max_files) from None
        raise BadArgument("file", "could not be read as sent; choose the files again on this page") from None
    try:
        fields = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
        _check_csrf(request, fields.pop("csrf", ""), {k: [v] for k, v in fields.items() if v}, True, files=True)
        files = [(f.filename or "", await f.read()) for _, f in form.multi_items() if not isinstance(f, str)]
    finally:
        await form.close()
    # a file input left empty is sent as a part with no name and no content; a chosen file that is
    # empty keeps its name, so that the import says what is wrong with it
    return fields, [(name or "upload.csv", data) for name, data in files if name or data]


_HOST = re.compile(r"^[\w-]+(\.[\w-]+)*\.[^\W\d_]{2,}(/\S*)?$")


def website(typed: str) -> str:
    """A website as people type it: "colectivo.org" is `https://colectivo.org` (a newcomer was refused
    it as "not an http(s) address"); an address with its scheme, or anything not a host name, as typed."""
    value = typed.strip()
    return f"https://{value}" if _HOST.match(value) else typed


def first(form: dict[str, list[str]]) -> dict[str, str]:
    """Each field's first value, for forms whose fields each take one."""
    return {k: v[0] for k, v in form.items() if v}
