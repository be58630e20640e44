"""Signing in to the pages with an API token, and out again.

The token a steward gave a member (`directory token create`) is typed once; the browser then keeps
a session value made from it (not the token: `records/tokens.py`) in an HttpOnly, SameSite=Strict
cookie for `SESSION_SECONDS` (Secure over TLS), and the pages show that member's or steward's
view. Signing out forgets the cookie. A wrong token answers as any other wrong token does, and
nothing of it is logged.
"""

from __future__ import annotations

import hmac
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from directory.base.scope import viewer_in
from directory.store import SESSION_SECONDS, Store
from directory.web.auth import SESSION
from directory.web.pages import edit_form, forms, joining
from directory.web.pages.jobs import JOBS
from directory.web.pages.render import page
from directory.web.pages.routes import SEARCH_LABELS

# what a carried form's fields are called on the forms they came from (a name no form labels is shown as it is)
LABELS = {**joining.LABELS, **edit_form.LABELS}
# the pages whose forms only ask, and what their fields are called there
ASKED = {"/": SEARCH_LABELS, **{j.path: {f.name: f.label for f in j.fields} for j in JOBS.values()}}
ASKS = frozenset(ASKED)


def _labels(then: str | None) -> dict[str, str]:
    return ASKED[then] if then in ASKED else LABELS


async def sign_in_form(request: Request) -> Response:
    return page(request, "sign-in.html", just_signed_out="signed-out" in request.query_params, labels=LABELS)


async def sign_in(request: Request) -> Response:
    form = await forms.read(request)
    token = forms.first(form).get("token", "")
    then, carried = _carried(form)
    store: Store = request.app.state.store
    was = forms.first(form).get("was", "") if then else ""
    if not token:  # a question's page asking to sign in first brings the question along, not a problem
        asking = "asking" in form and then in ASKS
        return page(request, "sign-in.html", status=200 if asking else 400, problem=None if asking else "empty",
                    then=then, carried=carried, was=was, labels=_labels(then))
    session = await store.tokens.sign_in(token) if len(token) <= 200 else None
    if session is None:
        return page(request, "sign-in.html", status=400, problem="invalid", then=then, carried=carried, was=was,
                    labels=_labels(then))
    viewer, value, csrf = session
    # where a member's or a steward's work starts: their organisation's page, or the stewards' desk
    start = "/stewards" if viewer.role == "steward" else f"/organisations/{quote(viewer.organisation or '', safe=':')}"
    # a form sent once signed out: offered to be sent again, never sent by itself, and only to the
    # sign-in it came from (the value its page carried is this token's): fields another site put in
    # a sign-in form are never offered as the person's own
    # a question is offered whoever's page it came from: asked again, it only asks
    if then and carried and (then in ASKS or hmac.compare_digest(was.encode(), csrf.encode())):
        request.scope["viewer"], request.scope["csrf"] = viewer, csrf
        response: Response = page(request, "save-again.html", then=then, carried=carried, start=start,
                                  labels=_labels(then), asking=then in ASKS)
    else:
        response = RedirectResponse(start, status_code=303)
    response.set_cookie(SESSION, value, max_age=SESSION_SECONDS, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


CARRIED = "carried:"  # the sign-in form's fields holding a form sent once signed out (`signed_out`)


def _carried(form: dict[str, list[str]]) -> tuple[str | None, list[tuple[str, list[str]]]]:
    """The address and fields of a form sent once signed out, which the sign-in form carries; an
    address that is not one of this site's own paths carries nothing."""
    then = (form.get("then") or [""])[0]
    if not _own_path(then):
        return None, []
    return then, [(name.removeprefix(CARRIED), values) for name, values in form.items() if name.startswith(CARRIED)]


def _own_path(path: str) -> bool:
    """A path of this site's that a form may be sent to again, as the server routed it: no query,
    no escapes or dot segments that could route it elsewhere (`//elsewhere` is another site), and
    never the sign-in or sign-out itself."""
    return (path.startswith("/") and len(path) <= 500 and path.isprintable()
            and not any(part in path for part in ("//", "\\", "?", "#", "%", "/.", " "))
            and path.rstrip("/") not in ("/sign-in", "/sign-out"))


async def sign_out(request: Request) -> Response:
    try:
        await forms.read(request)  # its CSRF value: another site cannot sign someone out either
    except forms.SignedOut:
        pass  # signed out already
    else:
        who = viewer_in(request.scope).who
        if request.scope.get("csrf") is not None and who.startswith("token:"):
            # the session ends in the store too: a copy of the cookie made before is over as well
            await request.app.state.store.tokens.sign_out(who.removeprefix("token:"))
    response = RedirectResponse("/sign-in?signed-out", status_code=303)  # which says so, with a way back in
    response.delete_cookie(SESSION, path="/", httponly=True, samesite="strict")
    return response


async def signed_out(request: Request, exc: Exception) -> Response:
    """A signed-in page's form sent once signed out: nothing saved; sign in again, keeping what was
    typed in the sign-in form, to be offered to be saved once signed in (`sign_in`)."""
    assert isinstance(exc, forms.SignedOut)
    then = exc.action if _own_path(exc.action) else None
    return page(request, "sign-in.html", status=401, signed_out=True, files=exc.files, then=then,
                carried=sorted(exc.fields.items()) if then else [], was=exc.csrf if then else "", labels=_labels(then))


async def asked_before(request: Request, exc: Exception) -> Response:
    """A question opened before this sign-in: not asked as the person (another site may have sent it),
    but offered to be asked again, as they typed it, with this sign-in's CSRF value."""
    assert isinstance(exc, forms.AskedBefore)
    if exc.action not in ASKS:
        return await forged(request, exc)
    then = exc.action
    return page(request, "save-again.html", status=403, then=then, carried=sorted(exc.fields.items()),
                start="/", labels=_labels(then), asking=True, asked_before=True)


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
