"""Reading a page's form: bounded, and, for a signed-in browser, only with the CSRF value it was given.

Every POST the pages take comes through `read`. A page signed in by its session cookie put
`csrf` in each of its forms (`auth.csrf_of`); a form without it, or with another, is refused
before anything is read from the store or written to it.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

from starlette.requests import Request

from directory.domain.errors import BadArgument

MAX_FORM = 16 * 1024
MAX_FIELDS = 1200  # a service may cover up to 500 places, each a checkbox


class Forged(Exception):
    """A signed-in browser's form without its CSRF value: another site may have sent it."""


class Unreadable(BadArgument):
    """A form too long, or with too many fields, to be read: refused whole, before any of it is used."""


async def read(request: Request) -> dict[str, list[str]]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise Unreadable("form", f"is longer than {MAX_FORM} bytes")
    try:
        fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=MAX_FIELDS)
    except ValueError:
        raise Unreadable("form", f"has more than {MAX_FIELDS} fields") from None
    out = {k: [v.strip() for v in values if v.strip()] for k, values in fields.items()}
    expected = request.scope.get("csrf")
    if expected is not None and not hmac.compare_digest(expected, (out.pop("csrf", None) or [""])[0]):
        raise Forged()
    out.pop("csrf", None)
    return out


async def read_upload(request: Request, max_bytes: int,
                      max_files: int) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    """A multipart form's fields and files (name, content), within `max_bytes` in all, its CSRF value
    checked before any file is handed back. A body without a stated length is refused: the
    server then holds the client to that length."""
    stated = request.headers.get("content-length", "")
    if not stated.isdigit() or int(stated) > max_bytes:
        raise BadArgument("file", f"is larger than {max_bytes // (1024 * 1024)} MB, or its size was not given")
    form = await request.form(max_files=max_files, max_fields=20)
    try:
        fields = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
        expected = request.scope.get("csrf")
        if expected is not None and not hmac.compare_digest(expected, fields.pop("csrf", "")):
            raise Forged()
        fields.pop("csrf", None)
        files = [(f.filename or "upload.csv", await f.read()) for _, f in form.multi_items() if not isinstance(f, str)]
    finally:
        await form.close()
    return fields, [(name, data) for name, data in files if data]


def first(form: dict[str, list[str]]) -> dict[str, str]:
    """Each field's first value, for forms whose fields each take one."""
    return {k: v[0] for k, v in form.items() if v}
