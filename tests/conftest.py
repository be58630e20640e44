"""Fixtures: one real embedded store for the session, a clean graph for each test, a real HTTP server.

Nothing is mocked: tests talk to ArcadeDB over Bolt through the same code the service runs.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from directory.base.config import Settings
from directory.store import EmbeddedStore, Store, open_store
from directory.store.engine.cypher import cypher

# Third-party files the tests read, kept in the repository with their licence and attribution
# (tests/data/hsds-3.0/README.md), so a clone alone runs every test.
SHARED = Path(__file__).resolve().parent / "data"
WIPE = cypher("tests.wipe", "MATCH (n) WHERE n:Organisation OR n:Service OR n:ImportRun OR n:Indicator "
                               "OR n:FederationRoot OR n:FeedEntry OR n:FeedRecord OR n:FeedHead OR n:Tombstone "
                               "OR n:Peer OR n:PeerFeed OR n:PeerRecord OR n:OrgIdentifier OR n:RestoreRun "
                               "OR n:SameAsDecision OR n:JoinRequest OR n:Reach "
                               "DETACH DELETE n")
WIPE_TERMS = cypher("tests.wipe_terms", "MATCH (t:Term) WHERE t.built_in = false DETACH DELETE t")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `pure` (`make test-pure`) run without the graph store, which starts only for a test
    that asks for `data_dir` or a fixture built on it (`settings`, `store`, `live_server`, `api`).
    A pure test asking for it is a mistake in the test: said here, before anything runs."""
    for item in items:
        if item.get_closest_marker("pure") and "data_dir" in getattr(item, "fixturenames", ()):
            raise pytest.UsageError(f"{item.nodeid} is marked pure but asks for the graph store")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data folder with a store running on it for the whole session (started on first use)."""
    data = tmp_path_factory.mktemp("store")
    server = EmbeddedStore(data, heap="768m").attach()
    yield data
    server.stop()


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, directory_id="test")


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    async with open_store(settings) as opened:
        await opened.graph.write(WIPE)
        await opened.graph.write(WIPE_TERMS)
        yield opened


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The real web app under uvicorn on a loopback port, in a thread of the test process."""

    def __init__(self, settings: Settings | None = None, app: Any = None) -> None:
        from directory.web import create_app

        self.port = free_port()
        self.app = app if app is not None else create_app(settings)  # type: ignore[arg-type]
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the web app did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings) as server:
        yield server


@pytest.fixture
def api(live_server: LiveServer) -> Any:
    from tests.helpers import Api

    return Api(live_server.url)
