"""Fixtures of the webhook tests: receivers on 127.0.0.1 whose answers each test scripts, and the stack as it runs
for real (the function and the relay as processes, a runner with the scripted test handler), on this module's
vhost and Firestore project."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from leadengine.settings import Settings, load_settings
from leadengine.store import JobStore
from tests.conftest import _ISOLATED
from tests.enqueue.conftest import start_function
from tests.runner.harness import RUNNER_ENV
from tests.support import services

SIGNING_KEY = "test-signing-key-" + "0123456789abcdef" * 2


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when the request was read

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1. Each path follows a script of answers, one per request (the last one
    repeats): an HTTP status ("200", "500"), "hang" (hold the request until `release` is set), "slow" (answer
    nothing for 30 s) or "endless" (a 200 whose body never ends)."""

    server: http.server.ThreadingHTTPServer
    scripts: dict[str, list[str]] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, *script: str) -> str:
        path = f"/hook/{uuid.uuid4().hex[:12]}"
        self.scripts[path] = list(script) or ["200"]
        return self.base_url + path

    def received(self, url: str) -> list[Received]:
        path = url.removeprefix(self.base_url)
        with self.lock:
            return [r for r in self.requests if r.path == path]


def _handler(receiver_ref: list[Receiver]) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            receiver = receiver_ref[0]
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                seen = sum(1 for r in receiver.requests if r.path == self.path)
                receiver.requests.append(Received(self.path, dict(self.headers.items()), body, time.time()))
            script = receiver.scripts.get(self.path, ["404"])
            step = script[min(seen, len(script) - 1)]
            try:
                if step == "hang":
                    receiver.release.wait(120)
                    return
                if step == "slow":
                    time.sleep(30)
                    return
                if step == "endless":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    while True:
                        self.wfile.write(b"y" * 65536)
                self.send_response(int(step))
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the sender hung up: what a bounded sender does

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    ref: list[Receiver] = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(ref))
    server.daemon_threads = True
    ref.append(Receiver(server))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield ref[0]
    ref[0].release.set()
    server.shutdown()
    server.server_close()


def verify(secret: str, received: Received, tolerance_s: float = 300) -> None:
    """What docs/webhooks.md tells a receiver to do; AssertionError unless the delivery is genuine."""
    fields = dict(part.split("=", 1) for part in received.headers["LeadEngine-Signature"].split(","))
    t = int(fields["t"])
    expected = hmac.new(secret.encode(), f"{t}.".encode() + received.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, fields["v1"]), "the signature does not verify"
    assert abs(time.time() - t) < tolerance_s, "t is not the time of the attempt"


class Stack:
    """The function, a runner and the relay as processes, with the settings of a test module."""

    def __init__(self, env: dict[str, str], log_dir: Path, user: str, key: str) -> None:
        self.env = env
        self.log_dir = log_dir
        self.user, self.key = user, key
        self.processes: list[services.Process] = []
        self.function, self.base_url = start_function(log_dir, env)
        self.processes.append(self.function)
        self.relay: services.Process | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def start_runner(self) -> services.Process:
        runner = services.Process([sys.executable, "-m", "runner"], {**self.env, **RUNNER_ENV}, "runner", self.log_dir)
        self.processes.append(runner)
        services.wait_until(lambda: '"consuming"' in runner.output() or runner.popen.poll() is not None, 30,
                            what="the runner to consume")  # fmt: skip
        assert runner.popen.poll() is None, runner.output()
        return runner

    def start_relay(self, **overrides: str) -> services.Process:
        relay = services.Process([sys.executable, "-m", "leadengine.outbox"], {**self.env, **overrides}, "relay",
                                 self.log_dir)  # fmt: skip
        self.processes.append(relay)
        services.wait_until(lambda: "webhook_worker_started" in relay.output() or relay.popen.poll() is not None,
                            30, what="the relay's webhook worker to start")  # fmt: skip
        assert relay.popen.poll() is None, relay.output()
        self.relay = relay
        return relay

    def submit(self, webhook_url: str | None, *keywords: str) -> str:
        body: dict[str, Any] = {"industry": "SaaS", "geography": "Sydney", "keywords": list(keywords)}
        if webhook_url is not None:
            body["webhook_url"] = webhook_url
        response = httpx.post(f"{self.base_url}/api/v1/jobs/scrape", json=body, headers=self.auth, timeout=30)
        assert response.status_code == 202, response.text
        return str(response.json()["job_id"])

    def job(self, job_id: str) -> dict[str, Any]:
        response = httpx.get(f"{self.base_url}/api/v1/jobs/{job_id}", headers=self.auth, timeout=30)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_job(self, job_id: str, predicate: Any, timeout: float = 60, what: str = "") -> dict[str, Any]:
        found: dict[str, Any] = {}

        def check() -> bool:
            found.update(self.job(job_id))
            return bool(predicate(found))

        services.wait_until(check, timeout, interval=0.3, what=what or f"job {job_id}")
        return found

    def secret(self) -> str:
        response = httpx.get(f"{self.base_url}/api/v1/webhook-secret", headers=self.auth, timeout=30)
        assert response.status_code == 200, response.text
        return str(response.json()["secret"])

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


def module_env(emulator: services.Emulator, vhost: str, user: str, key: str, **settings: str) -> dict[str, str]:
    """The environment of this module's processes: the run's emulator, the module's vhost and project, nothing
    from a developer's shell or `.env` (the processes run in the repository root, so every setting is given)."""
    env = {name: value for name, value in os.environ.items() if name not in _ISOLATED}
    env.update({
        "RABBITMQ_HOST": "127.0.0.1",
        "RABBITMQ_VHOST": vhost,
        "FIRESTORE_EMULATOR_HOST": emulator.host,
        "GOOGLE_CLOUD_PROJECT": f"le-webhooks-{uuid.uuid4().hex[:10]}",
        "FIRESTORE_TIMEOUT_S": "2",
        "API_KEYS": json.dumps({key: user}),
        "RELAY_INTERVAL_S": "0.3",
        "OUTBOX_GRACE_S": "1",
        **settings,
    })  # fmt: skip
    return env


def store_for(env: dict[str, str]) -> JobStore:
    settings: Settings = load_settings(google_cloud_project=env["GOOGLE_CLOUD_PROJECT"],
                                       firestore_emulator_host=env["FIRESTORE_EMULATOR_HOST"])  # fmt: skip
    return JobStore(settings)


@contextlib.contextmanager
def stack_of(env: dict[str, str], log_dir: Path, user: str, key: str) -> Iterator[Stack]:
    stack = Stack(env, log_dir, user, key)
    try:
        yield stack
    finally:
        stack.stop()
