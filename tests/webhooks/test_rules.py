"""The webhook rules at the API and at delivery (contract §3, §7), with private networks off as on GCP: every
invalid webhook_url shape is 422, webhooks off means 422 and no secret route, the secret is the same on every
instance and different per user, and a URL that points at loopback is never connected to."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.enqueue.conftest import start_function
from tests.support import services
from tests.webhooks.conftest import SIGNING_KEY, Stack, module_env, stack_of

BODY = {"industry": "SaaS", "geography": "Sydney"}
INVALID = [
    "http://hooks.example.com/x",  # http:// only where private networks are allowed
    "ftp://hooks.example.com/x",
    "//hooks.example.com/x",
    "hooks.example.com/x",
    "https://",
    "https://user:secret@hooks.example.com/x",
    "https://user@hooks.example.com/x",
    "https://hooks.example.com:70000/x",
    "https://hooks.example.com/with space",
    "https://hooks.example.com/" + "a" * 2023,  # 2,049 characters
    "",
    "  ",
    42,
    ["https://hooks.example.com/x"],
    None,
]


@pytest.fixture(scope="module")
def stack(emulator: services.Emulator, vhost: str, log_dir: Path) -> Iterator[Stack]:
    user, key = f"strict-{uuid.uuid4().hex[:6]}", f"key-{uuid.uuid4().hex}"
    env = module_env(emulator, vhost, user, key, WEBHOOK_SIGNING_KEY=SIGNING_KEY, WEBHOOK_RETRY_DELAYS_S="1,1",
                     SCRAPE_ALLOW_PRIVATE_NETWORKS="false")  # fmt: skip
    with stack_of(env, log_dir, user, key) as running:
        running.start_relay()
        yield running


@pytest.mark.parametrize("url", INVALID, ids=range(len(INVALID)))
def test_each_invalid_webhook_url_shape_is_422(stack: Stack, url: object) -> None:
    response = httpx.post(f"{stack.base_url}/api/v1/jobs/scrape", json={**BODY, "webhook_url": url},
                          headers=stack.auth, timeout=30)  # fmt: skip
    assert response.status_code == 422, response.text
    (detail,) = response.json()["error"]["details"]
    assert detail["loc"][:2] == ["body", "webhook_url"] or "webhook_url must not be null" in detail["msg"]


def test_the_longest_https_url_is_accepted_and_shown_in_the_request(stack: Stack) -> None:
    url = "https://hooks.example.com/" + "a" * 2022  # 2,048 characters
    job = stack.job(stack.submit(url))
    assert job["request"]["webhook_url"] == url
    assert job["webhook"] == {"url": url, "state": "pending", "attempts": 0, "last_error": None}


def test_the_secret_is_the_same_on_every_instance_and_different_per_user(stack: Stack, log_dir: Path) -> None:
    other_user, other_key = f"other-{uuid.uuid4().hex[:6]}", f"key-{uuid.uuid4().hex}"
    env = {**stack.env, "API_KEYS": f'{{"{stack.key}": "{stack.user}", "{other_key}": "{other_user}"}}'}
    process, base_url = start_function(log_dir, env)  # a second instance, started after the first
    try:
        mine = httpx.get(f"{base_url}/api/v1/webhook-secret", headers=stack.auth, timeout=30).json()["secret"]
        theirs = httpx.get(f"{base_url}/api/v1/webhook-secret", headers={"Authorization": f"Bearer {other_key}"},
                           timeout=30).json()["secret"]  # fmt: skip
    finally:
        process.stop()
    assert mine == stack.secret() and theirs != mine and len(mine) >= 32
    assert httpx.get(f"{stack.base_url}/api/v1/webhook-secret", timeout=30).status_code == 401


def test_webhooks_off_refuse_webhook_url_with_422_and_have_no_secret_route(stack: Stack, log_dir: Path) -> None:
    env = {name: value for name, value in stack.env.items() if name != "WEBHOOK_SIGNING_KEY"}
    process, base_url = start_function(log_dir, env)
    try:
        refused = httpx.post(f"{base_url}/api/v1/jobs/scrape", headers=stack.auth, timeout=30,
                             json={**BODY, "webhook_url": "https://hooks.example.com/x"})  # fmt: skip
        secret = httpx.get(f"{base_url}/api/v1/webhook-secret", headers=stack.auth, timeout=30)
        plain = httpx.post(f"{base_url}/api/v1/jobs/scrape", json=BODY, headers=stack.auth, timeout=30)
    finally:
        process.stop()
    assert refused.status_code == 422 and "webhooks are off" in refused.text
    assert secret.status_code == 404 and secret.json()["error"]["code"] == "not_found"
    assert plain.status_code == 202


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()


def test_a_loopback_url_is_never_connected_to_and_the_delivery_fails_saying_why(stack: Stack) -> None:
    listener = Listener()
    try:
        urls = [f"https://127.0.0.1:{listener.port}/hook", f"https://localhost:{listener.port}/hook"]
        jobs = [stack.submit(url) for url in urls]  # accepted: the host is judged when delivering (§7)
        for job_id in jobs:
            response = httpx.post(f"{stack.base_url}/api/v1/jobs/{job_id}/cancel", headers=stack.auth, timeout=30)
            assert response.status_code == 202 and response.json()["status"] == "cancelled"
        for job_id in jobs:
            final = stack.wait_job(job_id, lambda job: job["webhook"]["state"] != "pending", 30)
            assert final["webhook"]["state"] == "failed" and final["webhook"]["attempts"] == 1
            assert "refused" in final["webhook"]["last_error"] and "127.0.0.1" in final["webhook"]["last_error"]
        assert listener.accepted == 0
    finally:
        listener.sock.close()
