"""One real `directory serve` process under abuse: it keeps answering, bounds expensive work, and stops.

The store holds a generated directory of 2,000 organisations, so that the whole gap matrix and
the place counts are real work. Speed is measured in bench/ (BENCHMARKS.md); here the checks
are that every answer comes, that the bound holds, and that SIGTERM ends the process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.conftest import free_port

DIRECTORY = [sys.executable, "-m", "directory.cli"]
EXPENSIVE = ["{ coverageGaps(first: 500) { totalCells cells { place serviceType score } } }",
             "{ places { code providers { serviceType present remote } } }"]
SMALL = "{ taxonomy(scheme: \"organisation-kind\") { code } }"


def _bomb(levels: int) -> str:
    fragments = ["fragment F0 on Organisation { name services { name } }"]
    fragments += [f"fragment F{i} on Organisation {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return f'query {{ organisation(id: "x") {{ ...F{levels} }} }} ' + " ".join(fragments)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("abuse") / "data"
    env = dict(os.environ, DIRECTORY_DATA=str(data), DIRECTORY_ID="abuse", DIRECTORY_PORT=str(free_port()),
               DIRECTORY_FEDERATION_INTERVAL="0", DIRECTORY_STORE_HEAP="768m", DIRECTORY_EXPENSIVE_REQUESTS="2")
    subprocess.run([*DIRECTORY, "generate", "--orgs", "2000"], env=env, check=True, capture_output=True, timeout=600)
    state: dict[str, Any] = {"env": env, "url": f"http://127.0.0.1:{env['DIRECTORY_PORT']}"}
    state["start"] = lambda: _start(state)
    _start(state)
    yield state
    if state["process"].poll() is None:
        state["process"].kill()
        state["process"].wait(timeout=30)


def _start(state: dict[str, Any]) -> None:
    state["process"] = subprocess.Popen([*DIRECTORY, "serve"], env=state["env"], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{state['url']}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("serve did not start")


def _post(url: str, query: str, timeout: float = 60) -> httpx.Response:
    return httpx.post(f"{url}/graphql", json={"query": query}, timeout=timeout)


def test_a_fragment_bomb_is_refused_and_the_service_stays_up(service: dict[str, Any]) -> None:
    body = _post(service["url"], _bomb(30), timeout=10).json()
    assert body.get("data") is None
    assert any("fields once fragments are expanded" in e["message"] for e in body["errors"])
    assert httpx.get(f"{service['url']}/health", timeout=5).json()["status"] == "ok"


def test_a_body_that_is_not_utf8_is_a_client_error(service: dict[str, Any]) -> None:
    response = httpx.post(f"{service['url']}/graphql", content=b'{"query": "{ taxonomy { code } }\xff\xfe"}',
                          headers={"content-type": "application/json"}, timeout=10)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "UTF-8" in response.json()["errors"][0]["message"]


def test_health_and_small_queries_answer_while_expensive_work_is_bounded(service: dict[str, Any]) -> None:
    url = service["url"]
    with ThreadPoolExecutor(16) as pool:
        flood = [pool.submit(_post, url, EXPENSIVE[i % 2]) for i in range(16)]
        seen_in_use = []
        while not all(f.done() for f in flood):
            health = httpx.get(f"{url}/health", timeout=5)  # raises if the service stops answering
            assert health.status_code == 200
            seen_in_use.append(health.json()["expensive_in_use"])
            small = _post(url, SMALL, timeout=5).json()
            assert "errors" not in small and small["data"]["taxonomy"]
            time.sleep(0.05)
        answers = [f.result() for f in flood]
    assert max(seen_in_use) <= 2 and len(seen_in_use) >= 2
    codes = []
    for answer in answers:
        assert answer.status_code == 200
        body = answer.json()
        codes.append(body["errors"][0]["extensions"]["code"] if "errors" in body else "OK")
    assert set(codes) <= {"OK", "BUSY", "TIME_BUDGET"} and "OK" in codes
    busy = [a.json()["errors"][0] for a in answers if "errors" in a.json()
            and a.json()["errors"][0]["extensions"]["code"] == "BUSY"]
    assert all(e["extensions"]["retryAfterSeconds"] >= 1 and "retry" in e["message"] for e in busy)


def test_sigterm_stops_serve_within_ten_seconds_while_work_is_running(service: dict[str, Any]) -> None:
    if service["process"].poll() is not None:
        service["start"]()
    process: subprocess.Popen[bytes] = service["process"]
    with ThreadPoolExecutor(16) as pool:
        for i in range(16):
            pool.submit(_tolerant_post, service["url"], EXPENSIVE[i % 2])
        time.sleep(1.0)  # the requests are at work
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        process.wait(timeout=10)  # raises TimeoutExpired if it is still running 10 s later
        assert time.monotonic() - sent < 10


def _tolerant_post(url: str, query: str) -> None:
    try:
        _post(url, query, timeout=30)
    except httpx.HTTPError:
        pass
