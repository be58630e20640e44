"""Signing in to the pages with an API token, and out again.

The token a steward gave a member (`directory token create`) is typed once; the browser then keeps
it in an HttpOnly, SameSite=Strict cookie for `auth.SESSION_SECONDS` (Secure over TLS), and the
pages show that member's or steward's view. Signing out forgets the cookie. A wrong token answers
as any other wrong token does, and nothing of it is logged.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from directory.store import Store
from directory.web.auth import SESSION, SESSION_SECONDS, session_value
from directory.web.pages import forms
from directory.web.pages.render import page


async def sign_in_form(request: Request) -> Response:
    return page(request, "sign-in.html")


async def sign_in(request: Request) -> Response:
    token = forms.first(await forms.read(request)).get("token", "")
    store: Store = request.app.state.store
    viewer = await store.tokens.viewer(token) if token and len(token) <= 200 else None
    if viewer is None:
        return page(request, "sign-in.html", status=400, problem=True)
    # where a member's or a steward's work starts: their organisation's page, or the stewards' desk
    start = "/stewards" if viewer.role == "steward" else f"/organisations/{quote(viewer.organisation or '', safe=':')}"
    response = RedirectResponse(start, status_code=303)
    response.set_cookie(SESSION, session_value(token), max_age=SESSION_SECONDS, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


async def sign_out(request: Request) -> Response:
    await forms.read(request)  # its CSRF value: another site cannot sign someone out either
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION, path="/", httponly=True, samesite="strict")
    return response


async def forged(request: Request, exc: Exception) -> Response:
    """A signed-in browser's form that did not carry its CSRF value."""
    return page(request, "refused.html", status=403)


async def unreadable(request: Request, exc: Exception) -> Response:
    """A form too large to read, wherever it was posted: refused whole, saying why."""
    why = exc.why if isinstance(exc, forms.Unreadable) else forms.Unreadable.TOO_MANY
    return page(request, "refused.html", status=413 if why == forms.Unreadable.TOO_LONG else 400,
                too_large=why != forms.Unreadable.NOT_TEXT, not_text=why == forms.Unreadable.NOT_TEXT)


routes = [Route("/sign-in", sign_in_form, methods=["GET"]), Route("/sign-in", sign_in, methods=["POST"]),
          Route("/sign-out", sign_out, methods=["POST"])]
