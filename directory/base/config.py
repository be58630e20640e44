"""Settings, read once at start-up from the environment (and CLI flags that override it).

A bad value fails here, at start, with the variable's name, never later inside a request.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from directory.domain import ids
from directory.domain.errors import ConfigError

_HEAP = re.compile(r"^[0-9]+[mMgG]$")
_EARLIER_ID = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")  # DIRECTORY_ID's rule before ids.check


@dataclass(frozen=True)
class Settings:
    """Everything the service and the CLI need to know about where they run.

    Variables: DIRECTORY_DATA, DIRECTORY_ID, DIRECTORY_NAME, DIRECTORY_HOST, DIRECTORY_PORT,
    DIRECTORY_STORE_HEAP, DIRECTORY_STORE_PORT, DIRECTORY_STORE_STATEMENT_TIMEOUT, DIRECTORY_NEO4J_URI,
    DIRECTORY_NEO4J_USER, DIRECTORY_NEO4J_PASSWORD, DIRECTORY_NEO4J_DATABASE, DIRECTORY_TIME_BUDGET,
    DIRECTORY_EXPENSIVE_REQUESTS.
    """

    data_dir: Path = Path("var/data")
    directory_id: str = "local"
    directory_name: str = "Protection Directory"
    host: str = "127.0.0.1"
    port: int = 8000
    store_heap: str = "512m"
    store_port: int = 0
    store_statement_timeout: float = 120.0  # seconds one statement may run in the embedded store; 0: no limit
    neo4j_uri: str = ""
    neo4j_user: str = "neo4j"
    neo4j_password: str = field(default="", repr=False)
    neo4j_database: str = "neo4j"
    time_budget: float = 10.0  # seconds one GraphQL request may take (a page: `web.pages.deadline`)
    expensive_requests: int = 2  # expensive requests (jobs, place counts, maps) at work at once, per process
    map_shelter_minimum: int = 3  # public maps draw no shelter in a place holding fewer
    map_tiles: str = ""  # an online tile layer's URL template; none unless configured
    map_tiles_attribution: str = ""
    federation_key_dir: Path | None = None  # default: DATA/secrets/federation-online
    session_key_file: Path | None = None  # default: DATA/secrets/session-key
    federation_redistribute: bool = False  # whether peers may pass our records on
    federation_interval: float = 300.0  # seconds between publish-and-sync cycles in serve; 0: none

    def __post_init__(self) -> None:
        try:
            ids.check(self.directory_id)  # the same rule a peer's id is held to
        except ids.BadDirectoryId as exc:
            if not _EARLIER_ID.match(self.directory_id):
                raise ConfigError("DIRECTORY_ID", str(exc)) from None
            # an id the earlier rule took ('ngo-', 'a..b'): its data folder still opens, backs up
            # and serves, but it cannot federate (`federation init` refuses it, as peers would)
        if not _HEAP.match(self.store_heap):
            raise ConfigError("DIRECTORY_STORE_HEAP", f"{self.store_heap!r} is not a size such as 512m or 2g")
        if not 0 <= self.port < 65536:
            raise ConfigError("DIRECTORY_PORT", f"{self.port} is not a port number")
        if not 0 <= self.store_port < 65536:
            raise ConfigError("DIRECTORY_STORE_PORT", f"{self.store_port} is not a port number")
        if self.store_statement_timeout != 0 and not 1 <= self.store_statement_timeout <= 86400:
            raise ConfigError("DIRECTORY_STORE_STATEMENT_TIMEOUT",
                              f"{self.store_statement_timeout} is not 0 (no limit) or between 1 and 86400 seconds")
        if not 0.001 <= self.time_budget <= 600:
            raise ConfigError("DIRECTORY_TIME_BUDGET", f"{self.time_budget} is not between 0.001 and 600 seconds")
        if not 1 <= self.expensive_requests <= 64:
            raise ConfigError("DIRECTORY_EXPENSIVE_REQUESTS", f"{self.expensive_requests} is not between 1 and 64")
        if not 1 <= self.map_shelter_minimum <= 1000:
            raise ConfigError("DIRECTORY_MAP_SHELTER_MINIMUM", f"{self.map_shelter_minimum} is not between 1 and 1000")
        if self.map_tiles and not re.match(r"^https?://[^\s\"'<>]+$", self.map_tiles):
            raise ConfigError("DIRECTORY_MAP_TILES", f"{self.map_tiles!r} is not an http(s) URL template")
        if self.map_tiles and not all(part in self.map_tiles for part in ("{z}", "{x}", "{y}")):
            raise ConfigError("DIRECTORY_MAP_TILES", "the URL template needs {z}, {x} and {y}")
        if self.map_tiles and not self.map_tiles_attribution.strip():
            raise ConfigError("DIRECTORY_MAP_TILES_ATTRIBUTION", "an online tile layer needs its attribution")
        if self.federation_interval != 0 and not 5 <= self.federation_interval <= 86400:
            raise ConfigError("DIRECTORY_FEDERATION_INTERVAL",
                              f"{self.federation_interval} is not 0 (off) or between 5 and 86400 seconds")
        if self.neo4j_uri and not re.match(r"^(bolt|neo4j)(\+s|\+ssc)?://", self.neo4j_uri):
            raise ConfigError("DIRECTORY_NEO4J_URI", f"{self.neo4j_uri!r} is not a bolt:// or neo4j:// URI")

    @property
    def session_key_path(self) -> Path:
        """The key the pages' sessions are signed with: outside the graph, so a read of the store
        cannot make one. Several app processes (on Neo4j) are given the same file."""
        return self.session_key_file or self.data_dir / "secrets" / "session-key"

    @property
    def federation_keys(self) -> Path:
        """The folder of the online signing keys (never the root keys)."""
        return self.federation_key_dir or self.data_dir / "secrets" / "federation-online"

    @property
    def backend(self) -> str:
        return "neo4j" if self.neo4j_uri else "embedded"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        for name, var, cast in _VARIABLES:
            if var in env and env[var] != "":
                try:
                    values[name] = cast(env[var])
                except ValueError as exc:
                    raise ConfigError(var, f"{env[var]!r} is not valid: {exc}") from exc
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def _whole(text: str) -> int:
    """Python's own words ("invalid literal for int() with base 10") say nothing to an operator."""
    try:
        return int(text)
    except ValueError:
        raise ValueError("expected a whole number, such as 8000") from None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError("expected a number, such as 10 or 2.5") from None


def _flag(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


_VARIABLES: tuple[tuple[str, str, Callable[[str], object]], ...] = (
    ("data_dir", "DIRECTORY_DATA", Path),
    ("directory_id", "DIRECTORY_ID", str),
    ("directory_name", "DIRECTORY_NAME", str),
    ("host", "DIRECTORY_HOST", str),
    ("port", "DIRECTORY_PORT", _whole),
    ("store_heap", "DIRECTORY_STORE_HEAP", str),
    ("store_port", "DIRECTORY_STORE_PORT", _whole),
    ("store_statement_timeout", "DIRECTORY_STORE_STATEMENT_TIMEOUT", _number),
    ("neo4j_uri", "DIRECTORY_NEO4J_URI", str),
    ("neo4j_user", "DIRECTORY_NEO4J_USER", str),
    ("neo4j_password", "DIRECTORY_NEO4J_PASSWORD", str),
    ("neo4j_database", "DIRECTORY_NEO4J_DATABASE", str),
    ("time_budget", "DIRECTORY_TIME_BUDGET", _number),
    ("expensive_requests", "DIRECTORY_EXPENSIVE_REQUESTS", _whole),
    ("map_shelter_minimum", "DIRECTORY_MAP_SHELTER_MINIMUM", _whole),
    ("map_tiles", "DIRECTORY_MAP_TILES", str),
    ("map_tiles_attribution", "DIRECTORY_MAP_TILES_ATTRIBUTION", str),
    ("federation_key_dir", "DIRECTORY_FEDERATION_KEYS", Path),
    ("session_key_file", "DIRECTORY_SESSION_KEY_FILE", Path),
    ("federation_redistribute", "DIRECTORY_FEDERATION_REDISTRIBUTE", _flag),
    ("federation_interval", "DIRECTORY_FEDERATION_INTERVAL", _number),
)
