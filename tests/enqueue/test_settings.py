"""Settings at start-up: a malformed setting stops the functions-framework process with one line naming it."""

from __future__ import annotations

import subprocess

import pytest

from tests.enqueue.conftest import FUNCTIONS_FRAMEWORK, MAIN
from tests.support import services


@pytest.mark.parametrize(
    ("name", "value"),
    [("API_KEYS", "not json"), ("API_KEYS", '{"key": 5}'), ("API_KEYS", '["key"]'), ("FIRESTORE_TIMEOUT_S", "soon")],
)
def test_a_malformed_setting_stops_the_server_with_one_line_naming_it(function_env, name: str, value: str) -> None:
    port = str(services.free_port())
    result = subprocess.run(
        [str(FUNCTIONS_FRAMEWORK), "--source", str(MAIN), "--target", "enqueue", "--host", "127.0.0.1", "--port", port],
        env={**function_env, name: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    assert len(lines) == 1 and name in lines[0], lines
    assert value not in lines[0] or name != "API_KEYS"  # never echo keys
    assert not services.broker_reachable(port=int(port))  # a plain TCP probe: nothing listens, it stopped instead
