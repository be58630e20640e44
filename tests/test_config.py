"""Settings fail at start, naming the variable, never later inside a request."""

from __future__ import annotations

import subprocess
import sys

import pytest

from directory.base.config import Settings
from directory.domain.errors import ConfigError

pytestmark = pytest.mark.pure


@pytest.mark.parametrize(("variable", "value"), [
    ("DIRECTORY_ID", "Not An Id!"),
    ("DIRECTORY_PORT", "eighty"),
    ("DIRECTORY_STORE_HEAP", "lots"),
    ("DIRECTORY_NEO4J_URI", "http://example.org"),
])
def test_a_bad_setting_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: value})
    assert caught.value.variable == variable and variable in str(caught.value)


def test_neo4j_is_selected_by_configuration_alone() -> None:
    settings = Settings.from_env({"DIRECTORY_NEO4J_URI": "neo4j+s://db.example.org", "DIRECTORY_NEO4J_PASSWORD": "pw"})
    assert settings.backend == "neo4j" and "pw" not in repr(settings)
    assert Settings.from_env({}).backend == "embedded"


def test_the_cli_reports_a_bad_setting_without_a_traceback() -> None:
    proc = subprocess.run([sys.executable, "-m", "directory.cli", "status"], capture_output=True, text=True,
                          env={"DIRECTORY_ID": "Bad Id", "PATH": "/usr/bin:/bin"}, check=False)
    assert proc.returncode == 2 and "DIRECTORY_ID" in proc.stderr and "Traceback" not in proc.stderr
