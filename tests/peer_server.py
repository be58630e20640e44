"""A peer directory for the sync tests: serves an in-memory publisher's feed over real HTTP, honestly
or in one of the ways a hostile or broken peer would (tests/feeds.py signs what it serves)."""

from __future__ import annotations

import asyncio
import gzip
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from federation.canonical import canonical
from tests.feeds import Publisher


@dataclass
class Peer:
    publisher: Publisher
    roots: list[dict[str, Any]] = field(default_factory=list)  # signed root envelopes, version 1 first
    mode: str = "honest"  # honest | flip | trickle | bomb | huge | error | redirect | unlimited | restarted
    checkpoint: dict[str, Any] | None = None  # served instead of a fresh one
    hits: list[str] = field(default_factory=list)
    page_size: int = 1000  # the most entries it serves a page, as a publisher may choose
    announced: int | None = None  # the root version its discovery document gives (default: its latest)

    def __post_init__(self) -> None:
        if not self.roots:
            self.roots = [self.publisher.root_envelope()]

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            self.hits.append(request.url.path)
            version = len(self.roots) if self.announced is None else self.announced
            return JSONResponse({"directory": self.publisher.directory, "root": {"version": version}})

        async def root(request: Request) -> Response:
            self.hits.append(request.url.path)
            number = int(request.path_params["n"])
            if not 1 <= number <= len(self.roots):
                return JSONResponse({}, status_code=404)
            return Response(canonical(self.roots[number - 1]), media_type="application/json")

        async def feed(request: Request) -> Response:
            self.hits.append(str(request.url))
            after = int(request.query_params.get("after", "0"))
            # the entries asked for, as a publisher serves them; "unlimited" serves its whole page whatever was asked
            limit = 1000 if self.mode == "unlimited" else int(request.query_params.get("limit", "1000"))
            limit = min(limit, self.page_size)
            body = canonical(self.publisher.page(after, limit, self.checkpoint))
            if self.mode == "flip":
                body = body.replace(b'"name":"', b'"name":"X', 1)
            if self.mode == "restarted" and after > 0:  # a log started again is shorter: ours answers 400
                return JSONResponse({"error": "after and limit must be whole numbers within the log"}, status_code=400)
            if self.mode == "error":
                return JSONResponse({"error": "down for maintenance"}, status_code=503)
            if self.mode == "redirect":
                return Response(status_code=302, headers={"Location": "http://127.0.0.1:9/elsewhere"})
            if self.mode == "huge":
                return Response(b"[" + b"0," * 20_000_000 + b"0]", media_type="application/json")
            if self.mode == "bomb":
                return Response(gzip.compress(b" " * 200_000_000, 9), media_type="application/json",
                                headers={"Content-Encoding": "gzip"})
            if self.mode == "trickle":
                async def slowly() -> Any:
                    for byte in body:
                        await asyncio.sleep(0.5)
                        yield bytes([byte])
                return StreamingResponse(slowly(), media_type="application/json")
            return Response(body, media_type="application/json")

        return Starlette(routes=[Route("/.well-known/protection-directory.json", discovery),
                                 Route("/federation/roots/{n}.json", root),
                                 Route("/federation/feeds/{audience}", feed)])
