"""Our GraphQL beside @neo4j/graphql (`bench/peer/server.mjs`, Apollo Server on Node) and the bare
driver, all three reading the same store: the generated directory (seed 42) in a fresh embedded store,
`directory serve` in its own process (one uvicorn worker) and the peer on the same Bolt endpoint.

Four questions, each asked of the three in its own words (PROJECT, PEER, BARE):
  a  an organisation by id with its services, anonymous;
  b  organisations offering a service type in a country, with their services, first 20 by name, anonymous;
     ours expands the country to the areas containing it on the server; the peer's client sends them;
  c  a text in organisation names, first 20, anonymous (ours and bare: the full-text index, words and
     prefixes; the peer: CONTAINS; the texts are drawn so that both find the same records);
  d  an organisation's referral targets and their services, as a steward (every REFERS_TO is `network`).
Before anything is timed, the three must give the same canonical answer for each of the first
PEER_CHECK distinct inputs per question; the first difference stops the run.
Then per question: PEER_WARMUP rounds, PEER_SEQUENTIAL requests per target interleaved request by
request (the order rotating), and 8 clients for PEER_SECONDS per target in PEER_ROUNDS windows taking
turns (the order rotating), with the CPU time the app, the peer, the store and this process (the bare
driver, and every HTTP client) used per request. Taking turns: on a shared machine whose speed drifts
over minutes, two runs of one 15-s window per target gave the same code's ratios 1.07 and 1.48.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from neo4j import AsyncDriver, AsyncManagedTransaction

from bench.api import HEAP, _percentiles, _wait_for, write_batch
from directory.base.config import Settings
from directory.domain import places
from directory.domain.viewer import ANONYMOUS, STEWARD
from directory.exchange import generate
from directory.store import EmbeddedStore, open_store, running_store
from directory.store.engine import layout
from directory.store.engine.backends import fulltext_index
from directory.store.engine.cypher import cypher
from directory.store.engine.graph import make_driver
from directory.store.records import search

PEER_DIR = Path(__file__).resolve().parent / "peer"
CHECK = int(os.environ.get("PEER_CHECK", "100"))
WARMUP = int(os.environ.get("PEER_WARMUP", "30"))
SEQUENTIAL = int(os.environ.get("PEER_SEQUENTIAL", "200"))
SECONDS = float(os.environ.get("PEER_SECONDS", "15"))
ROUNDS = int(os.environ.get("PEER_ROUNDS", "5"))
CLIENTS = 8
TARGETS = ("ours", "peer", "bare")
STEWARD_ASKS = {"d"}  # the questions asked as a steward; the others anonymously

PROJECT = {
    "a": "query($id: ID!) { organisation(id: $id) { recordId name kind services { recordId name type } } }",
    "b": """query($filter: ListFilter) { organisations(filter: $filter, first: 20) {
      edges { node { recordId name services { recordId name type } } } } }""",
    "c": """query($text: String!) { search(text: $text, kinds: [ORGANISATION], first: 20) {
      edges { organisation { recordId name } } } }""",
    "d": """query($id: ID!) { organisation(id: $id) { recordId name
      links(types: [REFERS_TO]) { target { recordId name services { recordId name type } } } } }""",
}
PEER = {
    "a": """query($id: ID!) { organisations(where: {id: {eq: $id}, visibility: {eq: "public"}}) {
      id name kind services(where: {visibility: {eq: "public"}}, sort: [{name: ASC}]) { id name type } } }""",
    "b": """query($type: String!, $country: String!, $areas: [String!]!) {
      organisations(where: {visibility: {eq: "public"}, services: {some: {visibility: {eq: "public"}, type: {eq: $type},
          availableIn: {some: {OR: [{code: {in: $areas}}, {country: {eq: $country}}]}}}}},
        sort: [{name: ASC}], limit: 20) {
      id name services(where: {visibility: {eq: "public"}}, sort: [{name: ASC}]) { id name type } } }""",
    "c": """query($text: String!) { organisations(where: {visibility: {eq: "public"}, name: {contains: $text}},
      sort: [{name: ASC}], limit: 20) { id name } }""",
    # a steward sees every record and link: no visibility filter
    "d": """query($id: ID!) { organisations(where: {id: {eq: $id}}) { id name
      refersToConnection(sort: [{node: {id: ASC}}]) { edges { node { id name
        services(sort: [{name: ASC}]) { id name type } } } } } }""",
}
BARE = {
    "a": cypher("bench.peer_a", """
MATCH (n:Organisation {id: $id}) WHERE n.visibility IN $see
RETURN n.id AS id, n.name AS name, n.kind AS kind,
  [(n)-[:OFFERS]->(s:Service) WHERE s.visibility IN $see | {id: s.id, name: s.name, type: s.type}] AS services"""),
    # anchored on the places (the country, its subdivisions, the areas containing it), as our listing is
    "b": cypher("bench.peer_b", """
MATCH (p:Place) WHERE p.code IN $anchor_places
MATCH (p)<-[:AVAILABLE_IN]-(s:Service)
WHERE s.type = $type AND s.visibility IN $see
MATCH (n:Organisation)-[:OFFERS]->(s)
WHERE n.visibility IN $see
WITH DISTINCT n ORDER BY n.name LIMIT 20
RETURN n.id AS id, n.name AS name,
  [(n)-[:OFFERS]->(x:Service) WHERE x.visibility IN $see | {id: x.id, name: x.name, type: x.type}] AS services"""),
    "c": cypher("bench.peer_c", """
CALL db.index.fulltext.queryNodes($index, $lucene) YIELD node
WITH node AS n WHERE n:Organisation AND n.visibility IN $see
RETURN n.id AS id, n.name AS name ORDER BY name LIMIT 20"""),
    "d": cypher("bench.peer_d", """
MATCH (n:Organisation {id: $id}) WHERE n.visibility IN $see
RETURN n.id AS id, n.name AS name,
  [(n)-[l:REFERS_TO]->(t:Organisation) WHERE l.visibility IN $see AND t.visibility IN $see |
    {id: t.id, name: t.name,
     services: [(t)-[:OFFERS]->(x:Service) WHERE x.visibility IN $see | {id: x.id, name: x.name, type: x.type}]}]
  AS targets"""),
}

COUNTRIES = ["CO", "KE", "PH", "MX", "UG", "GT", "TH", "LB", "GE", "KG", "BR", "IN"]  # as bench/api.py
TYPES = ["legal-aid", "emergency-grant", "digital-security", "relocation-regional", "medical-care"]
# kinds whose words are inside no other kind ("national ngo" is inside "international ngo"), so that
# word search and CONTAINS find the same records
TEXT_KINDS = ["local group", "local group", "local group", "regional network", "academic", "donor",
              "professional body", "international ngo"]

Inputs = dict[str, list[dict[str, Any]]]
Call = Callable[[httpx.AsyncClient, str, dict[str, Any]], Awaitable[Any]]


class Mismatch(RuntimeError):
    """The three targets answered one input differently: timing them would compare different work."""


async def draw_inputs(driver: AsyncDriver, n: int = 500) -> Inputs:
    """Per question, n inputs every target is asked (seed 7)."""
    rng = random.Random(7)
    public = [r["id"] for r in (await driver.execute_query(
        "MATCH (n:Organisation) WHERE n.visibility = 'public' RETURN n.id AS id ORDER BY id",
        database_=layout.DATABASE)).records]
    referring = [r["id"] for r in (await driver.execute_query(
        "MATCH (n:Organisation) WHERE EXISTS { MATCH (n)-[:REFERS_TO]->(:Organisation) } RETURN n.id AS id ORDER BY id",
        database_=layout.DATABASE)).records]
    return {
        "a": [{"id": i} for i in rng.sample(public, n)],
        "b": [{"type": rng.choice(TYPES), "country": rng.choice(COUNTRIES)} for _ in range(n)],
        "c": [{"text": f"{rng.choice(TEXT_KINDS)} {rng.randrange(100):05d}"} for _ in range(n)],
        "d": [{"id": i} for i in rng.sample(referring, min(n, len(referring)))],
    }


# --- canonical answers: ids in order, nested ids as sorted lists ---------------------------------------------

def _ids(services: list[dict[str, Any]], key: str) -> list[str]:
    return sorted(s[key] for s in services)


def canon_ours(q: str, data: dict[str, Any]) -> Any:
    if q == "b":
        return [[e["node"]["recordId"], _ids(e["node"]["services"], "recordId")]
                for e in data["organisations"]["edges"]]
    if q == "c":
        return [e["organisation"]["recordId"] for e in data["search"]["edges"]]
    o = data["organisation"]
    if o is None:
        return None
    if q == "a":
        return [o["recordId"], o["name"], o["kind"], _ids(o["services"], "recordId")]
    return [o["recordId"], sorted([t["recordId"], _ids(t["services"], "recordId")]
                                  for t in (link["target"] for link in o["links"]))]


def canon_peer(q: str, data: dict[str, Any]) -> Any:
    found = data["organisations"]
    if q == "b":
        return [[o["id"], _ids(o["services"], "id")] for o in found]
    if q == "c":
        return [o["id"] for o in found]
    if not found:
        return None
    o = found[0]
    if q == "a":
        return [o["id"], o["name"], o["kind"], _ids(o["services"], "id")]
    return [o["id"], sorted([e["node"]["id"], _ids(e["node"]["services"], "id")]
                            for e in o["refersToConnection"]["edges"])]


def canon_bare(q: str, rows: list[dict[str, Any]]) -> Any:
    if q == "b":
        return [[r["id"], _ids(r["services"], "id")] for r in rows]
    if q == "c":
        return [r["id"] for r in rows]
    if not rows:
        return None
    r = rows[0]
    if q == "a":
        return [r["id"], r["name"], r["kind"], _ids(r["services"], "id")]
    return [r["id"], sorted([t["id"], _ids(t["services"], "id")] for t in r["targets"])]


def _records(q: str, answer: Any) -> int:
    """How many records a canonical answer holds: services for a, targets for d, organisations otherwise."""
    if answer is None:
        return 0
    return len(answer[3] if q == "a" else answer[1] if q == "d" else answer)


# --- the three targets -------------------------------------------------------------------------------------

async def _graphql(http: httpx.AsyncClient, url: str, query: str, variables: dict[str, Any],
                   headers: dict[str, str]) -> dict[str, Any]:
    response = await http.post(url, json={"query": query, "variables": variables}, headers=headers)
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"{url} answered {response.status_code}: {str(body)[:400]}")
    data: dict[str, Any] = body["data"]
    return data


def bare_params(q: str, x: dict[str, Any]) -> dict[str, Any]:
    see = (STEWARD if q in STEWARD_ASKS else ANONYMOUS).visible
    if q == "b":
        anchors = places.enclosing(x["country"]) + [s.code for s in places.subdivisions_of(x["country"])]
        return {"type": x["type"], "anchor_places": anchors, "see": see}
    if q == "c":
        return {"see": see, "index": fulltext_index("embedded", "Organisation"),
                "lucene": search.lucene_query(search.words(x["text"]), fuzzy=False)}
    return dict(x, see=see)


def targets(ours: str, peer: str, driver: AsyncDriver, token: str) -> dict[str, Call]:
    """Per target, a call (client, question, input) -> the canonical answer; raises on an error answer."""
    async def ask_ours(http: httpx.AsyncClient, q: str, x: dict[str, Any]) -> Any:
        variables = {"filter": {"serviceType": x["type"], "country": x["country"]}} if q == "b" else x
        headers = {"Authorization": f"Bearer {token}"} if q in STEWARD_ASKS else {}
        return canon_ours(q, await _graphql(http, ours, PROJECT[q], variables, headers))

    async def ask_peer(http: httpx.AsyncClient, q: str, x: dict[str, Any]) -> Any:
        variables = dict(x, areas=places.enclosing(x["country"])) if q == "b" else x
        return canon_peer(q, await _graphql(http, peer, PEER[q], variables, {}))

    async def ask_bare(http: httpx.AsyncClient, q: str, x: dict[str, Any]) -> Any:
        async def work(tx: AsyncManagedTransaction) -> list[dict[str, Any]]:
            return [r.data() async for r in await tx.run(BARE[q], bare_params(q, x))]

        async with driver.session(database=layout.DATABASE) as session:
            return canon_bare(q, await session.execute_read(work))

    return {"ours": ask_ours, "peer": ask_peer, "bare": ask_bare}


# --- measuring ---------------------------------------------------------------------------------------------

async def check(calls: dict[str, Call], inputs: Inputs) -> dict[str, dict[str, int]]:
    """The same canonical answer from every target, for the first CHECK distinct inputs of each question."""
    out = {}
    async with httpx.AsyncClient(timeout=120) as http:
        for q, xs in inputs.items():
            distinct = list({json.dumps(x, sort_keys=True): x for x in xs}.values())[:CHECK]
            empty = 0
            for x in distinct:
                answers = {t: await call(http, q, x) for t, call in calls.items()}
                if not answers["ours"] == answers["peer"] == answers["bare"]:
                    shown = "\n".join(f"  {t}: {json.dumps(a)[:600]}" for t, a in answers.items())
                    raise Mismatch(f"question {q}, input {json.dumps(x)}: the targets answer differently\n{shown}")
                empty += _records(q, answers["ours"]) == 0
            out[q] = {"inputs": len(distinct), "empty": empty}
            print(f"check {q}: {len(distinct)} inputs, identical answers from {', '.join(TARGETS)} "
                  f"({empty} empty)", flush=True)
    return out


async def sequential(calls: dict[str, Call], q: str, xs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """One request at a time, the targets interleaved request by request, the order rotating."""
    samples: dict[str, list[float]] = {t: [] for t in TARGETS}
    async with httpx.AsyncClient(timeout=120) as http:
        for i in range(WARMUP):
            for t in TARGETS:
                await calls[t](http, q, xs[i * 7 % len(xs)])
        for i in range(SEQUENTIAL):
            for t in TARGETS[i % 3:] + TARGETS[:i % 3]:
                start = time.perf_counter()
                await calls[t](http, q, xs[i % len(xs)])
                samples[t].append(time.perf_counter() - start)
    return {t: {"median": statistics.median(s) * 1000, "p95": _percentiles(s)["p95"]} for t, s in samples.items()}


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU seconds so far of each process, and of this one (the clients, the bare driver)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for name, pid in pids.items():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        out[name] = (int(fields[11]) + int(fields[12])) / tick
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out["client"] = usage.ru_utime + usage.ru_stime
    return out


@dataclass
class Window:
    """What CLIENTS clients got in one stretch of asking: latencies, errors, seconds, CPU seconds by process."""

    samples: list[float]
    errors: list[str]
    elapsed: float
    cpu: dict[str, float]


async def concurrent(call: Call, q: str, xs: list[dict[str, Any]], pids: dict[str, int], seconds: float,
                     first: int = 0) -> Window:
    """CLIENTS clients asking as fast as they are answered for `seconds`, from input `first` on; each
    opens its connection first."""
    samples: list[float] = []
    errors: list[str] = []
    started = asyncio.Event()
    deadline = [0.0]

    async def client(k: int) -> None:
        j = first + k * 37
        async with httpx.AsyncClient(timeout=120) as http:
            await call(http, q, xs[j % len(xs)])
            await started.wait()
            while time.perf_counter() < deadline[0]:
                j += 1
                start = time.perf_counter()
                try:
                    await call(http, q, xs[j % len(xs)])
                except (RuntimeError, httpx.HTTPError) as exc:  # counted, reported, not timed
                    errors.append(str(exc)[:300])
                    continue
                samples.append(time.perf_counter() - start)

    tasks = [asyncio.create_task(client(k)) for k in range(CLIENTS)]
    await asyncio.sleep(1.0)
    before, begin = cpu_seconds(pids), time.perf_counter()
    deadline[0] = begin + seconds
    started.set()
    await asyncio.gather(*tasks)
    elapsed, after = time.perf_counter() - begin, cpu_seconds(pids)
    return Window(samples, errors, elapsed, {k: after[k] - before[k] for k in after})


def merged(windows: list[Window]) -> dict[str, Any]:
    """One target's windows as one measurement: every latency, requests over the seconds they took."""
    samples = [x for w in windows for x in w.samples]
    errors = [e for w in windows for e in w.errors]
    elapsed = sum(w.elapsed for w in windows)
    cpu = {k: sum(w.cpu[k] for w in windows) * 1000 / max(1, len(samples)) for k in windows[0].cpu}
    if errors:
        print(f"  {len(errors)} errors, the first: {errors[0]}", flush=True)
    return dict(_percentiles(samples), rps=len(samples) / elapsed, requests=len(samples), errors=len(errors),
                cpu_ms=cpu, window_rps=[round(len(w.samples) / w.elapsed, 1) for w in windows])


async def taking_turns(calls: dict[str, Call], q: str, xs: list[dict[str, Any]],
                       pids: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Each target's SECONDS in ROUNDS windows, the targets taking turns (the first rotating), so a
    drift in the machine's speed falls on all of them alike."""
    windows: dict[str, list[Window]] = {t: [] for t in TARGETS}
    for n in range(ROUNDS):
        for t in TARGETS[n % len(TARGETS):] + TARGETS[:n % len(TARGETS)]:
            windows[t].append(await concurrent(calls[t], q, xs, pids, SECONDS / ROUNDS, first=n * 1000))
    return {t: merged(w) for t, w in windows.items()}


async def _measure(ours: str, peer: str, embedded: EmbeddedStore, token: str,
                   pids: dict[str, int]) -> dict[str, Any]:
    driver = make_driver(embedded.uri, embedded.auth)
    try:
        inputs = await draw_inputs(driver)
        calls = targets(ours, peer, driver, token)
        result: dict[str, Any] = {"check": await check(calls, inputs), "questions": {}}
        for q, xs in inputs.items():
            seq = await sequential(calls, q, xs)
            conc = await taking_turns(calls, q, xs, pids)
            result["questions"][q] = {"sequential": seq, "concurrent": conc}
            print(f"{q}: seq median ms {_each(seq, 'median')}; {CLIENTS} clients req/s {_each(conc, 'rps')}, "
                  f"errors {_each(conc, 'errors')}; req/s by window "
                  + ", ".join(f"{t} {conc[t]['window_rps']}" for t in TARGETS), flush=True)
        return result
    finally:
        await driver.close()


# --- the processes -----------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(stack: contextlib.ExitStack, command: list[str], log: Path, **options: Any) -> subprocess.Popen[bytes]:
    """A process stopped (by its pid) when `stack` closes, whatever happened."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **options)

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    stack.callback(stop)
    return process


def _wait_ready(process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if b"ready" in log.read_bytes():
            return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"the peer did not start:\n{log.read_text(errors='replace')[-2000:]}")


async def _load(settings: Settings, n: int) -> str:
    """The generated directory in the store, and a steward token for question d."""
    await write_batch(settings, generate.build(n, 42, "bench"))
    async with open_store(settings) as store:
        return (await store.tokens.create("steward", None, "bench peer"))[1]


def run(n: int) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not (PEER_DIR / "node_modules").is_dir():
        raise RuntimeError("the peer needs Node and its packages: `make bench`, or `npm ci` in bench/peer")
    with tempfile.TemporaryDirectory(prefix="pd-bench-peer-") as tmp, contextlib.ExitStack() as stack:
        data = Path(tmp) / "data"
        embedded = EmbeddedStore(data, heap=HEAP).attach()
        stack.callback(embedded.stop)
        settings = Settings(data_dir=data, directory_id="bench", store_heap=HEAP)
        token = asyncio.run(_load(settings, n))
        store = running_store(data)
        if store is None:
            raise RuntimeError("the store stopped after the load")
        ours_port, peer_port = _free_port(), _free_port()
        ours = _start(stack, [sys.executable, "-m", "directory.cli", "serve"], Path(tmp) / "serve.log",
                      env=dict(os.environ, DIRECTORY_DATA=str(data), DIRECTORY_ID="bench",
                               DIRECTORY_PORT=str(ours_port)))
        peer = _start(stack, [node, "server.mjs"], Path(tmp) / "peer.log", cwd=PEER_DIR,
                      env=dict(os.environ, NODE_ENV="production", PEER_PORT=str(peer_port),
                               PEER_BOLT_URI=embedded.uri, PEER_BOLT_PASSWORD=embedded.auth[1],
                               PEER_DATABASE=layout.DATABASE))
        try:
            _wait_for(f"http://127.0.0.1:{ours_port}", ours)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}:\n{(Path(tmp) / 'serve.log').read_text(errors='replace')[-2000:]}") from exc
        _wait_ready(peer, Path(tmp) / "peer.log")
        pids = {"app": ours.pid, "peer": peer.pid, "store": store["pid"]}
        result = asyncio.run(_measure(f"http://127.0.0.1:{ours_port}/graphql", f"http://127.0.0.1:{peer_port}/",
                                      embedded, token, pids))
    result["orgs"] = n
    report(result)
    return result


# --- the report --------------------------------------------------------------------------------------------

def _each(per_target: dict[str, dict[str, Any]], key: str) -> str:
    return ", ".join(f"{t} {per_target[t][key]:.1f}" if isinstance(per_target[t][key], float)
                     else f"{t} {per_target[t][key]}" for t in TARGETS)


def _three(values: dict[str, float], digits: int = 1) -> str:
    return " / ".join(f"{values[t]:.{digits}f}" for t in TARGETS)


def report(result: dict[str, Any]) -> None:
    """The markdown table, and whether each "Done when" target holds."""
    n = result["orgs"]
    print(f"\n{n} organisations; {SEQUENTIAL} sequential requests per target, {CLIENTS} clients for {SECONDS:.0f} s "
          f"per target in {ROUNDS} windows taking turns; ms unless said; CPU per request: app+store (ours), "
          "node+store (peer), this process+store (bare)\n")
    print(f"| question | seq median ours / peer / bare | ours/peer | seq p95 ours / peer / bare | {CLIENTS}-client "
          "req/s ours / peer / bare | ours/peer | p50 ours / peer / bare | p95 ours / peer / bare | "
          "CPU ms/req ours | CPU ms/req peer | CPU ms/req bare |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    verdicts = []
    for q, r in result["questions"].items():
        seq, conc = r["sequential"], r["concurrent"]
        seq_ratio = seq["ours"]["median"] / seq["peer"]["median"]
        rps_ratio = conc["ours"]["rps"] / conc["peer"]["rps"]
        cpu = {t: conc[t]["cpu_ms"] for t in TARGETS}
        print(f"| {q} | {_three({t: seq[t]['median'] for t in TARGETS}, 2)} | {seq_ratio:.2f} "
              f"| {_three({t: seq[t]['p95'] for t in TARGETS}, 2)} | {_three({t: conc[t]['rps'] for t in TARGETS})} "
              f"| {rps_ratio:.2f} | {_three({t: conc[t]['p50'] for t in TARGETS})} "
              f"| {_three({t: conc[t]['p95'] for t in TARGETS})} "
              f"| {cpu['ours']['app']:.1f} + {cpu['ours']['store']:.1f} "
              f"| {cpu['peer']['peer']:.1f} + {cpu['peer']['store']:.1f} "
              f"| {cpu['bare']['client']:.1f} + {cpu['bare']['store']:.1f} |")
        verdicts.append((q, rps_ratio, seq["ours"]["median"], seq["peer"]["median"]))
    print("\nDone when, per question: 8-client req/s ours/peer >= 1.2, and sequential median ours <= peer")
    for q, rps_ratio, ours, peer in verdicts:
        print(f"  {q}: req/s ratio {rps_ratio:.2f} {'holds' if rps_ratio >= 1.2 else 'FAILS'}; "
              f"median {ours:.2f} ms vs {peer:.2f} ms {'holds' if ours <= peer else 'FAILS'}")
    held = all(r >= 1.2 and o <= p for _, r, o, p in verdicts)
    print(f"  every target holds: {'yes' if held else 'no'}", flush=True)
