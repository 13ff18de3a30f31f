"""The delivery worker as it runs on GCP: Cloud Scheduler's call to the function's relay route sends the webhook
deliveries due, beside the outbox drain, and answers within its deadline whatever the receivers do."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import services
from tests.webhooks.conftest import SIGNING_KEY, Receiver, Stack, module_env, stack_of, verify

RELAY_TOKEN = "relay-token-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def stack(emulator: services.Emulator, vhost: str, log_dir: Path) -> Iterator[Stack]:
    """The function alone: no relay process and no runner, so only the route can send a delivery."""
    user, key = f"scheduled-{uuid.uuid4().hex[:6]}", f"key-{uuid.uuid4().hex}"
    env = module_env(emulator, vhost, user, key, WEBHOOK_SIGNING_KEY=SIGNING_KEY, WEBHOOK_RETRY_DELAYS_S="1,1",
                     SCRAPE_ALLOW_PRIVATE_NETWORKS="true", RELAY_TOKEN=RELAY_TOKEN)  # fmt: skip
    with stack_of(env, log_dir, user, key) as running:
        yield running


def _cancelled_job(stack: Stack, url: str) -> str:
    job_id = stack.submit(url)
    response = httpx.post(f"{stack.base_url}/api/v1/jobs/{job_id}/cancel", headers=stack.auth, timeout=30)
    assert response.status_code == 202 and response.json()["status"] == "cancelled"
    return job_id


def _relay(stack: Stack) -> tuple[dict[str, object], float]:
    started = time.monotonic()
    response = httpx.post(f"{stack.base_url}/internal/outbox/relay", headers={"X-Relay-Token": RELAY_TOKEN}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json(), time.monotonic() - started


def test_the_relay_route_sends_the_deliveries_due(stack: Stack, receiver: Receiver) -> None:
    url = receiver.url("200")
    job_id = _cancelled_job(stack, url)
    assert receiver.received(url) == []  # nothing sends it but the route
    body, _ = _relay(stack)
    assert body["webhooks"] == {"delivered": 1, "retrying": 0, "failed": 0, "skipped": 0}
    (received,) = receiver.received(url)
    verify(stack.secret(), received)
    assert received.json["job"]["job_id"] == job_id and received.json["job"]["status"] == "cancelled"
    assert stack.job(job_id)["webhook"]["state"] == "delivered"
    assert _relay(stack)[0]["webhooks"] == {"delivered": 0, "retrying": 0, "failed": 0, "skipped": 0}


def test_a_slow_receiver_costs_the_route_one_bounded_attempt(stack: Stack, receiver: Receiver) -> None:
    slow, fast = receiver.url("slow"), receiver.url("200")
    slow_job, fast_job = _cancelled_job(stack, slow), _cancelled_job(stack, fast)
    body, took = _relay(stack)
    assert body["webhooks"] == {"delivered": 1, "retrying": 1, "failed": 0, "skipped": 0}
    assert took < 25, "the route waited for a receiver longer than its attempt's bound"
    assert stack.job(fast_job)["webhook"]["state"] == "delivered"
    assert stack.job(slow_job)["webhook"] == {"url": slow, "state": "pending", "attempts": 1,
                                              "last_error": "no answer within 10 s"}  # fmt: skip
