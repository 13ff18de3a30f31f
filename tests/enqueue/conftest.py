"""Fixtures of the enqueue function's tests, in its three tiers: the module loaded by functions-framework (handler
called with real Flask requests), its app through `test_client()`, and the running server (gunicorn) over HTTP.

Each test module gets its own RabbitMQ vhost and its own Firestore project on the run's emulator, so counting
jobs or messages counts only that module's, and an outbox relay started by a test sees only that module's jobs."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import flask
import functions_framework
import httpx
import pytest
from google.cloud import firestore

from leadengine import topology
from leadengine.settings import get_settings, load_settings
from leadengine.store import JobStore
from tests.conftest import _ISOLATED
from tests.support import services

MAIN = services.ROOT / "functions" / "enqueue" / "main.py"
FUNCTIONS_FRAMEWORK = services.VENV_BIN / "functions-framework"


class Users:
    """API keys of a test module: alice and bob submit jobs; mallory only ever sends rejected requests."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.alice, self.bob, self.mallory = f"alice-{tag}", f"bob-{tag}", f"mallory-{tag}"
        self.keys = {f"key-{name}-{uuid.uuid4().hex}": name for name in (self.alice, self.bob, self.mallory)}
        self.key_of = {user: key for key, user in self.keys.items()}

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key_of[user]}"}


@pytest.fixture(scope="module")
def users() -> Users:
    return Users()


@pytest.fixture(scope="module")
def function_env(
    emulator: services.Emulator, vhost: str, users: Users, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The environment of the function (in-process and as a process) for this module, os.environ isolated."""
    env = {
        "RABBITMQ_HOST": "127.0.0.1",
        "RABBITMQ_VHOST": vhost,
        "FIRESTORE_EMULATOR_HOST": emulator.host,
        "GOOGLE_CLOUD_PROJECT": f"le-enqueue-{uuid.uuid4().hex[:10]}",
        "FIRESTORE_TIMEOUT_S": "2",
        "API_KEYS": json.dumps(users.keys),
        # Nothing consumes here, and these tests expect a message for every accepted job and a 202 for every valid
        # POST: fair share's cap and quota (§8) would hold back or refuse alice's later jobs. They have their own
        # tests (tests/runner/test_fair_share.py, tests/leadengine/test_fairshare.py).
        "USER_MAX_RUNNING_JOBS": "1000",
        "USER_MAX_ACTIVE_JOBS": "1000000",
    }
    with pytest.MonkeyPatch.context() as mp:
        for name in _ISOLATED:
            mp.delenv(name, raising=False)
        mp.chdir(tmp_path_factory.mktemp("cwd"))  # no developer `.env` is read
        for name, value in env.items():
            mp.setenv(name, value)
        get_settings.cache_clear()  # the function reads its settings at import; they must be this module's
        yield dict(os.environ)
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def job_store(function_env: dict[str, str]) -> JobStore:
    """The module's Firestore project, read directly (not through the function)."""
    return JobStore(load_settings())


@pytest.fixture(scope="module")
def app(function_env: dict[str, str]) -> Iterator[flask.Flask]:
    """The app exactly as functions-framework builds it, loaded with this module's settings."""
    application = functions_framework.create_app(target="enqueue", source=str(MAIN))
    module = sys.modules["main"]
    yield application
    if module._publisher is not None:
        module._publisher.close()


@pytest.fixture(scope="module")
def main_module(app: flask.Flask) -> ModuleType:
    """The function's module as create_app loaded it (functions-framework names it after its file)."""
    return sys.modules["main"]


@pytest.fixture
def client(app: flask.Flask) -> Any:
    return app.test_client()


def start_function(log_dir: Path, env: dict[str, str], **overrides: str) -> tuple[services.Process, str]:
    """The function as Cloud Functions gen2 runs it: functions-framework on gunicorn, on a free port."""
    port = services.free_port()
    args = [str(FUNCTIONS_FRAMEWORK), "--source", str(MAIN), "--target", "enqueue", "--host", "127.0.0.1"]
    process = services.Process([*args, "--port", str(port)], {**env, **overrides}, "enqueue", log_dir)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return process, base_url
        if process.popen.poll() is not None or time.monotonic() > deadline:
            output = process.output()
            process.stop()
            raise AssertionError(f"the function did not start:\n{output}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def server(function_env: dict[str, str], log_dir: Path) -> Iterator[tuple[services.Process, str]]:
    """The module's function running as a server: (process, base URL)."""
    process, base_url = start_function(log_dir, function_env)
    yield process, base_url
    process.stop()


@pytest.fixture
def function_factory(log_dir: Path) -> Iterator[Callable[..., tuple[services.Process, str]]]:
    """Start extra function processes (other settings); all are stopped after the test."""
    started: list[services.Process] = []

    def start(env: dict[str, str], **overrides: str) -> tuple[services.Process, str]:
        process, base_url = start_function(log_dir, env, **overrides)
        started.append(process)
        return process, base_url

    yield start
    for process in started:
        process.stop()


def count_jobs(store: JobStore, user_id: str | None = None) -> int:
    query: Any = store.client.collection("jobs")
    if user_id is not None:
        query = query.where(filter=firestore.FieldFilter("user_id", "==", user_id))
    return int(query.count().get()[0][0].value)


def queue_depth(channel: Any) -> int:
    return int(channel.queue_declare(topology.SCRAPE_JOBS, passive=True).method.message_count)


def drain(channel: Any) -> list[tuple[Any, Any, bytes]]:
    """Take every message now in scrape_jobs: (method, properties, body) each."""
    messages = []
    while True:
        method, properties, body = channel.basic_get(topology.SCRAPE_JOBS, auto_ack=True)
        if method is None:
            return messages
        messages.append((method, properties, body))


def messages_for(channel: Any, job_id: str) -> list[dict[str, Any]]:
    return [json.loads(body) for _, properties, body in drain(channel) if properties.message_id == job_id]


VALID = {"industry": "SaaS", "geography": "Sydney, Australia", "keywords": ["B2B"]}
