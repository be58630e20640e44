"""A page answers within the time budget, or says that the directory did not answer in time.

A store that stalls (a long collection, a restart, a hang) must not hang the pages with it: each
page request runs under the time budget (`base.budget`), and a job's page under its own slot and
budget inside it, which ends first and says so on the job's page. Past the deadline, or when the
store cannot be reached, the page says so in the reader's language with a 503, never a traceback
(nor one in the log for a reader who went away while sending a form);
a change being saved may or may not have been, and the page says how to tell. The stewards'
import runs to its end: it is all or nothing, and the store's statement timeout bounds it.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from directory.base import budget
from directory.base.budget import OverBudget
from directory.domain.errors import StoreError
from directory.web.pages.render import page

log = logging.getLogger("directory.web")

UNBOUNDED = {("POST", "/stewards/import")}
MARGIN = 5.0  # seconds past the budget before a page stops waiting: a job's own budget starts a little later
RETRY_AFTER = 60


class Watched:
    """A `send` that remembers whether the response has begun: after that, no error page can follow."""

    def __init__(self, send: Send) -> None:
        self.send, self.started = send, False

    async def __call__(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self.send(message)


class Deadline:
    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) in UNBOUNDED:
            await self.app(scope, receive, send)
            return
        watched = Watched(send)
        try:
            with budget.within(self.seconds):
                async with asyncio.timeout(self.seconds + MARGIN):
                    await self.app(scope, receive, watched)
        except ClientDisconnect:  # the reader went away while sending a form: no one to answer
            log.debug("a reader went away while sending a form")
        except (TimeoutError, OverBudget, StoreError) as exc:  # the store down, or refusing what it cannot hold
            # never the path: it may name a record (a shelter's id), and the pages log no addresses
            log.warning("a page had no answer in time: %s", type(exc).__name__)
            if not watched.started:
                response = page(Request(scope), "unavailable.html", status=503)
                response.headers["Retry-After"] = str(RETRY_AFTER)
                await response(scope, receive, send)
