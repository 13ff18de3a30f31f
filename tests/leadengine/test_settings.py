"""Settings (contract §2): defaults, parsing, and one clear line naming a missing or malformed variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from leadengine.errors import SettingsError
from leadengine.settings import load_settings
from tests.support.services import ROOT


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("API_KEYS", "RABBITMQ_PORT", "JOB_MAX_ATTEMPTS", "SEARCH_PROVIDER", "JOB_RETRY_DELAYS_S",
                 "SCRAPE_ALLOW_PRIVATE_NETWORKS", "RABBITMQ_HOST"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def test_defaults_match_the_contract() -> None:
    s = load_settings()
    assert (s.rabbitmq_host, s.rabbitmq_port, s.rabbitmq_user, s.rabbitmq_vhost) == ("localhost", 5672, "guest", "/")
    assert s.rabbitmq_password.get_secret_value() == "guest"
    assert s.google_cloud_project == "leadengine-local"
    assert s.api_keys == {}
    assert s.search_provider == "serper"
    assert s.scrape_allow_private_networks is False
    assert s.job_max_attempts == 3


def test_api_keys_parse_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEYS", '{"k-1": "alice", "k-2": "bob"}')
    assert load_settings().api_keys == {"k-1": "alice", "k-2": "bob"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("API_KEYS", "not json"),
        ("API_KEYS", '["a list"]'),
        ("API_KEYS", '{"key": 5}'),
        ("RABBITMQ_PORT", "abc"),
        ("RABBITMQ_PORT", "70000"),
        ("JOB_MAX_ATTEMPTS", "0"),
        ("SEARCH_PROVIDER", "bing"),
        ("JOB_RETRY_DELAYS_S", "ten"),
        ("SCRAPE_ALLOW_PRIVATE_NETWORKS", "perhaps"),
    ],
)
def test_malformed_setting_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert name in message
    assert "\n" not in message


def test_dotenv_file_is_read(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("RABBITMQ_HOST=broker.internal\nJOB_MAX_ATTEMPTS=5\n")
    s = load_settings()
    assert (s.rabbitmq_host, s.job_max_attempts) == ("broker.internal", 5)


def test_environment_overrides_dotenv(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("RABBITMQ_HOST=from-dotenv\n")
    monkeypatch.setenv("RABBITMQ_HOST", "from-env")
    assert load_settings().rabbitmq_host == "from-env"


def test_relay_process_exits_with_one_line_for_a_bad_setting(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "leadengine.outbox"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "JOB_MAX_ATTEMPTS": "many"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "JOB_MAX_ATTEMPTS" in lines[0]
