"""Settings fail at start, naming the variable, never later inside a request."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def test_a_number_setting_says_what_it_expects_in_words_not_pythons() -> None:
    """An operator's walk: `DIRECTORY_PORT=abc` read "invalid literal for int() with base 10"."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"DIRECTORY_PORT": "abc"})
    assert "expected a whole number" in str(caught.value) and "int()" not in str(caught.value)
    with pytest.raises(ConfigError, match="expected a number"):
        Settings.from_env({"DIRECTORY_TIME_BUDGET": "ten"})


@pytest.mark.parametrize("held", ["", "ab", "zz-not-hex", "00" * 31, "00" * 33])
def test_a_damaged_session_key_is_refused_naming_its_file(tmp_path: Path, held: str) -> None:
    """A crash read: an empty session-key file was taken as no key (each process made its own, and
    every session ended at a restart); a short one would be a key a store's reader could guess; one
    not in hex stopped the start with a traceback."""
    from directory.base.files import DamagedSecret, secret_bytes

    key = tmp_path / "session-key"
    key.write_text(held)
    with pytest.raises(DamagedSecret) as caught:
        secret_bytes(key)
    assert str(key) in str(caught.value) and "64 hexadecimal digits" in str(caught.value)
    assert key.read_text() == held  # never replaced without a word
    made = tmp_path / "new-key"
    assert len(secret_bytes(made)) == 32 and secret_bytes(made) == bytes.fromhex(made.read_text())
