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


class Forged(Exception):
    """A signed-in browser's form without its CSRF value: another site may have sent it."""


async def read(request: Request) -> dict[str, list[str]]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise BadArgument("form", f"is longer than {MAX_FORM} bytes")
    fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=100)
    out = {k: [v.strip() for v in values if v.strip()] for k, values in fields.items()}
    expected = request.scope.get("csrf")
    if expected is not None and not hmac.compare_digest(expected, (out.pop("csrf", None) or [""])[0]):
        raise Forged()
    out.pop("csrf", None)
    return out


def first(form: dict[str, list[str]]) -> dict[str, str]:
    """Each field's first value, for forms whose fields each take one."""
    return {k: v[0] for k, v in form.items() if v}
