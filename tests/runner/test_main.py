"""`python -m runner` at start-up: a bad setting or an unimportable handler is one line naming the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.services import ROOT


def _start(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=30)  # fmt: skip


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("JOB_MAX_ATTEMPTS", "zero"),
        ("JOB_RETRY_DELAYS_S", "10,soon"),
        ("RUNNER_LEASE_S", "0"),
        ("RABBITMQ_HEARTBEAT_S", "-1"),
        ("RUNNER_HANDLER", "not a module path"),
    ],
)
def test_a_malformed_setting_fails_at_start_up_with_one_line_naming_it(
    base_env: dict[str, str], variable: str, value: str
) -> None:
    result = _start({**base_env, variable: value})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], result.stderr


def test_a_handler_that_cannot_be_imported_fails_at_start_up_with_one_line(base_env: dict[str, str]) -> None:
    result = _start({**base_env, "RUNNER_HANDLER": "tests.runner.no_such_module:handle", "RUNNER_METRICS_PORT": "0"})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "RUNNER_HANDLER" in lines[0] and "no_such_module" in lines[0], result.stderr


def test_a_handler_name_that_is_not_callable_fails_at_start_up(base_env: dict[str, str]) -> None:
    result = _start({**base_env, "RUNNER_HANDLER": "tests.runner.handlers:RUNS", "RUNNER_METRICS_PORT": "0"})
    assert result.returncode != 0 and "RUNNER_HANDLER" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_exit_when_idle_must_be_a_positive_number(base_env: dict[str, str]) -> None:
    result = _start(base_env, "--exit-when-idle", "-5")
    assert result.returncode == 2 and "--exit-when-idle" in result.stderr


@pytest.mark.parametrize(
    ("extra", "variable"),
    [
        ({}, "SEARCH_API_KEY"),
        ({"SEARCH_PROVIDER": "google_cse", "SEARCH_API_KEY": "k"}, "SEARCH_ENGINE_ID"),
    ],
)
def test_the_scrape_runner_without_search_credentials_fails_at_start_up_naming_them(
    base_env: dict[str, str], extra: dict[str, str], variable: str
) -> None:
    env = {k: v for k, v in base_env.items() if k not in {"RUNNER_HANDLER", "SEARCH_API_KEY", "SEARCH_API_URL"}}
    result = _start({**env, **extra, "RUNNER_METRICS_PORT": "0"})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], result.stderr
