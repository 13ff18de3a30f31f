"""Shared fixtures: a real RabbitMQ (a vhost per test module) and the Firestore emulator (one per run).
A missing service fails the run; it is never skipped."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pika.exceptions
import pytest

from leadengine import topology
from leadengine.settings import Settings, load_settings
from leadengine.store import JobStore
from tests.support import services

# Settings for the tests come from here, never from a developer's `.env` or shell: every variable a setting
# reads is cleared for each test (the list is the Settings model's own fields, so a new setting is covered).
_ISOLATED = [name.upper() for name in Settings.model_fields]


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session", autouse=True)
def _broker_required() -> None:
    if not services.broker_reachable():
        pytest.fail("RabbitMQ is not reachable on 127.0.0.1:5672: start it (rabbitmq-server -detached)", pytrace=False)


@pytest.fixture(scope="session")
def emulator(log_dir: Path) -> Iterator[services.Emulator]:
    emu = services.Emulator(log_dir)
    os.environ["FIRESTORE_EMULATOR_HOST"] = emu.host
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def vhost() -> Iterator[str]:
    name = services.create_vhost()
    yield name
    services.delete_vhost(name)


@pytest.fixture
def base_env(
    emulator: services.Emulator, vhost: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    """The environment of a test and of the processes it starts: this module's vhost, and a Firestore project of
    this module's own in the run's emulator (the relay and stall recovery look at every job of their database: the
    jobs other modules leave behind, and their messages, belong to other vhosts)."""
    for name in _ISOLATED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # so no developer `.env` in the repository root is read
    env = {
        "RABBITMQ_HOST": "127.0.0.1",
        "RABBITMQ_VHOST": vhost,
        "FIRESTORE_EMULATOR_HOST": emulator.host,
        "GOOGLE_CLOUD_PROJECT": vhost,
        "FIRESTORE_TIMEOUT_S": "2",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return {**os.environ, **env}


@pytest.fixture
def settings(base_env: dict[str, str]) -> Settings:
    return load_settings()


@pytest.fixture
def store(settings: Settings) -> JobStore:
    return JobStore(settings)


@pytest.fixture
def channel(vhost: str) -> Iterator[object]:
    """A channel on this module's vhost with the topology declared and the work queues empty."""
    connection = services.blocking_connection(vhost)
    ch = connection.channel()
    topology.declare(ch)
    ch.queue_purge(topology.SCRAPE_JOBS)
    ch.queue_purge(topology.FAILED_JOBS)
    yield ch
    with contextlib.suppress(pika.exceptions.AMQPError):  # a test may have had the broker close it
        connection.close()
