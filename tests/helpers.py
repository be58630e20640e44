"""Small builders shared by the tests."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import httpx

from directory.domain import geometry
from directory.exchange import importer
from directory.formats import hxl
from directory.store import Store, WriteCounts

ORG_TAGS = ["#org+id", "#org+name", "#org+type", "#country+code", "#adm1+code", "#geo+lat", "#geo+lon",
            "#geo+precision", "#meta+visibility", "#org+lang", "#channel+contact", "#description", "#org+code",
            "#date+verified", "#org+name+alt"]
SERVICE_TAGS = ["#service+id", "#org+id", "#service+name", "#sector", "#country+code+present",
                "#country+code+remote", "#group+code", "#meta+visibility", "#capacity", "#capacity+unit",
                "#capacity+date", "#service+response_hours", "#service+lang", "#status", "#date+verified",
                "#country+code+origin", "#service+purpose", "#service+lang+intake", "#date+window", "#contact+intake"]
LINK_TAGS = ["#rel+type", "#org+id+source", "#org+id+target", "#meta+id", "#meta+visibility", "#value",
             "#currency", "#date+year", "#rel+response_hours", "#rel+trust", "#rel+formal", "#date+confirmed"]


def csv_bytes(tags: list[str], rows: list[dict[str, object]], header: bool = True) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    if header:
        w.writerow([t.strip("#").replace("+", " ") for t in tags])
    w.writerow(tags)
    for row in rows:
        unknown = set(row) - set(tags)
        assert not unknown, f"no column for {sorted(unknown)}: add its tag to the list"  # never dropped unseen
        w.writerow([row.get(t, "") for t in tags])
    return out.getvalue().encode()


def org(oid: str, name: str | None = None, **fields: object) -> dict[str, object]:
    row: dict[str, object] = {"#org+id": oid, "#org+name": name or oid.title(), "#org+type": "local-group",
                              "#country+code": "CO", "#meta+visibility": "public"}
    row.update(fields)
    return row


def service(sid: str, oid: str, kind: str = "legal-aid", **fields: object) -> dict[str, object]:
    row: dict[str, object] = {"#service+id": sid, "#org+id": oid, "#service+name": f"Service {sid}",
                              "#sector": kind, "#country+code+present": "CO", "#meta+visibility": "public"}
    row.update(fields)
    return row


def refers(source: str, target: str, hours: float | None = None, trust: float | None = None,
           visibility: str = "network", **fields: object) -> dict[str, object]:
    row: dict[str, object] = {"#rel+type": "REFERS_TO", "#org+id+source": source, "#org+id+target": target,
                              "#meta+visibility": visibility, "#rel+response_hours": "" if hours is None else hours,
                              "#rel+trust": "" if trust is None else trust}
    row.update(fields)
    return row


async def load(store: Store, orgs: list[dict[str, object]], services: list[dict[str, object]] | None = None,
               links: list[dict[str, object]] | None = None) -> WriteCounts:
    inputs = [importer.Parsed("orgs.csv", *hxl.read(csv_bytes(ORG_TAGS, orgs), "orgs.csv"))]
    if services:
        inputs.append(importer.Parsed("services.csv", *hxl.read(csv_bytes(SERVICE_TAGS, services), "services.csv")))
    if links:
        inputs.append(importer.Parsed("links.csv", *hxl.read(csv_bytes(LINK_TAGS, links), "links.csv")))
    return await importer.run(store, inputs)


class Api:
    """GraphQL over real HTTP to a running app, with or without a bearer token."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def post(self, query: str, token: str | None = None, **variables: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(base_url=self.url, timeout=60) as client:
            return await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)

    async def gql(self, query: str, token: str | None = None, **variables: object) -> dict[str, Any]:
        response = await self.post(query, token, **variables)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, token: str | None = None, **variables: object) -> dict[str, Any]:
        body = await self.gql(query, token, **variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


def shown_in_cell(lat: float, lon: float, true_lat: float, true_lon: float, cell: float, place: str) -> bool:
    """A published point: in the grid cell of the true point, inside its place, and not the true point."""
    same_cell = (math.floor(lat / cell), math.floor(lon / cell)) == (math.floor(true_lat / cell),
                                                                     math.floor(true_lon / cell))
    shape = geometry.shape(place)
    return same_cell and (shape is None or shape.contains(lat, lon)) and (lat, lon) != (true_lat, true_lon)


class Said(list[str]):
    """A `Progress` that keeps every line, a loop's counts written out as the CLI words them."""

    def __call__(self, message: str) -> None:
        self.append(message)

    def count(self, doing: str, done: int, unit: str, total: int | None = None, note: str = "") -> None:
        self.append(f"{doing} {done}{'' if total is None else f' of {total}'} {unit}{f' {note}' if note else ''}")


class OnEach(Said):
    """A `Progress` that calls `then(line)` for each line."""

    def __init__(self, then: Any) -> None:
        super().__init__()
        self.then = then

    def append(self, line: str) -> None:
        self.then(line)


def split_in(n: int) -> Callable[[list[str]], list[list[str]]]:
    """A gap matrix's types split in `n` parts (for `gaps.in_parts`), every part the same size."""
    return lambda types: [part for part in (types[i::n] for i in range(n)) if part]


class _FormReader(HTMLParser):
    """The fields of one form as a browser sends them (`browser_form`)."""

    def __init__(self, action: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action, self.inside, self.fields = action, False, []
        self.select: tuple[str, bool, list[tuple[str, bool]]] | None = None  # name, multiple, options
        self.textarea: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attributes}
        if tag == "form":
            self.inside = a.get("action") == self.action
        elif not self.inside or ("name" not in a and tag != "option"):
            return
        elif tag == "input" and a.get("type", "text") not in ("submit", "button", "file"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.fields.append((a["name"], a.get("value", "on" if a.get("type") == "checkbox" else "")))
        elif tag == "select":
            self.select = (a["name"], "multiple" in a, [])
        elif tag == "option" and self.select is not None:
            self.select[2].append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self.textarea = (a["name"], [])

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.textarea[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select is not None:
            name, multiple, options = self.select
            chosen = [v for v, on in options if on] or ([] if multiple else [v for v, _ in options[:1]])
            self.fields += [(name, v) for v in chosen]
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.fields.append((self.textarea[0], "".join(self.textarea[1]).removeprefix("\n")))
            self.textarea = None


def browser_form(page: str, action: str) -> list[tuple[str, str]]:
    """Every field a browser sends with the form posting to `action`, as the page fills it in."""
    reader = _FormReader(action)
    reader.feed(page)
    return reader.fields
