"""Webhook delivery end to end (contract §7): the function, a runner and the relay as processes, real RabbitMQ and
the Firestore emulator, receivers on 127.0.0.1 (SCRAPE_ALLOW_PRIVATE_NETWORKS=true so that the relay may reach
them). Retries wait 1 s, so a delivery is given up after three attempts."""

from __future__ import annotations

import itertools
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import services
from tests.webhooks.conftest import SIGNING_KEY, Receiver, Stack, module_env, stack_of, verify

FINISHED = {"succeeded", "failed", "cancelled"}


@pytest.fixture(scope="module")
def stack(emulator: services.Emulator, vhost: str, log_dir: Path) -> Iterator[Stack]:
    user, key = f"hooked-{uuid.uuid4().hex[:6]}", f"key-{uuid.uuid4().hex}"
    env = module_env(emulator, vhost, user, key, WEBHOOK_SIGNING_KEY=SIGNING_KEY, WEBHOOK_RETRY_DELAYS_S="1,1",
                     SCRAPE_ALLOW_PRIVATE_NETWORKS="true")  # fmt: skip
    with stack_of(env, log_dir, user, key) as running:
        running.start_runner()
        running.start_relay()
        yield running


def _delivered(stack: Stack, job_id: str, timeout: float = 60) -> dict[str, Any]:
    return stack.wait_job(job_id, lambda job: (job["webhook"] or {}).get("state") in ("delivered", "failed"),
                          timeout, what=f"the webhook of job {job_id} to end")  # fmt: skip


def _without_webhook(job: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in job.items() if name != "webhook"}


def test_each_finished_job_gets_one_signed_delivery_of_its_final_job(stack: Stack, receiver: Receiver) -> None:
    urls = {"succeeded": receiver.url("200"), "failed": receiver.url("200"), "cancelled": receiver.url("200")}
    jobs = {
        "succeeded": stack.submit(urls["succeeded"], "leads=2"),
        "failed": stack.submit(urls["failed"], "permanent"),
        "cancelled": stack.submit(urls["cancelled"], "sleep=30"),
    }
    stack.wait_job(jobs["cancelled"], lambda job: job["status"] == "running", what="the long job to start")
    cancel = httpx.post(f"{stack.base_url}/api/v1/jobs/{jobs['cancelled']}/cancel", headers=stack.auth, timeout=30)
    assert cancel.status_code == 202  # a running job: it stops at its next checkpoint
    secret = stack.secret()
    for status, job_id in jobs.items():
        final = _delivered(stack, job_id)
        assert final["status"] == status
        assert final["webhook"] == {"url": urls[status], "state": "delivered", "attempts": 1, "last_error": None}
        (received,) = receiver.received(urls[status])
        verify(secret, received)
        assert received.headers["LeadEngine-Event"] == "job.finished"
        assert received.headers["Content-Type"] == "application/json"
        body = received.json
        assert body["event"] == "job.finished" and body["delivery_id"] == received.headers["LeadEngine-Delivery"]
        uuid.UUID(body["delivery_id"])
        # The job exactly as GET returns it once final; its webhook as it was then: pending, no attempt yet.
        assert _without_webhook(body["job"]) == _without_webhook(final)
        assert body["job"]["webhook"] == {"url": urls[status], "state": "pending", "attempts": 0, "last_error": None}
    assert stack.job(jobs["succeeded"])["lead_count"] == 2
    time.sleep(2)  # several relay passes later: still one delivery each
    assert all(len(receiver.received(url)) == 1 for url in urls.values())


def test_a_job_without_webhook_url_shows_webhook_null_and_sends_nothing(stack: Stack, receiver: Receiver) -> None:
    before = len(receiver.requests)
    job_id = stack.submit(None, "leads=1")
    final = stack.wait_job(job_id, lambda job: job["status"] in FINISHED)
    assert final["webhook"] is None
    time.sleep(1.5)
    assert len(receiver.requests) == before


def test_a_receiver_failing_twice_then_answering_200_gets_three_attempts_of_one_delivery(
    stack: Stack, receiver: Receiver
) -> None:
    url = receiver.url("500", "503", "200")
    job_id = stack.submit(url, "leads=1")
    final = _delivered(stack, job_id)
    assert final["webhook"] == {"url": url, "state": "delivered", "attempts": 3, "last_error": None}
    attempts = receiver.received(url)
    assert len(attempts) == 3
    assert len({a.headers["LeadEngine-Delivery"] for a in attempts}) == 1
    assert len({a.body for a in attempts}) == 1  # the same body; a new t and signature each time
    secret = stack.secret()
    for attempt in attempts:
        verify(secret, attempt)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(attempts)]
    assert all(gap >= 0.9 for gap in gaps), gaps  # WEBHOOK_RETRY_DELAYS_S=1,1


def test_a_receiver_always_failing_gets_the_configured_attempts_then_the_delivery_fails(
    stack: Stack, receiver: Receiver
) -> None:
    url = receiver.url("500")
    job_id = stack.submit(url, "leads=1")
    final = _delivered(stack, job_id)
    assert final["status"] == "succeeded"  # the receiver changes nothing of the job's own
    assert final["webhook"] == {"url": url, "state": "failed", "attempts": 3, "last_error": "HTTP 500"}
    time.sleep(2)
    assert len(receiver.received(url)) == 3


def test_slow_and_endless_receivers_never_delay_the_job_nor_the_runner(stack: Stack, receiver: Receiver) -> None:
    slow, endless = receiver.url("slow"), receiver.url("endless")
    started = time.monotonic()
    slow_job, endless_job = stack.submit(slow, "leads=1"), stack.submit(endless, "leads=1")
    for job_id in (slow_job, endless_job):
        assert stack.wait_job(job_id, lambda job: job["status"] in FINISHED, 30)["status"] == "succeeded"
    finished_in = time.monotonic() - started
    # While the slow receiver holds its first attempt, the runner takes and finishes another job at once.
    services.wait_until(lambda: receiver.received(slow), 20, what="the slow receiver's first attempt")
    plain_started = time.monotonic()
    plain = stack.submit(None, "leads=1")
    assert stack.wait_job(plain, lambda job: job["status"] in FINISHED, 30)["status"] == "succeeded"
    assert time.monotonic() - plain_started < 9, "a job waited for a webhook receiver"
    assert finished_in < 20
    # The endless answer is a 2xx: delivered once, its body read only a little.
    assert _delivered(stack, endless_job)["webhook"]["state"] == "delivered"
    # The slow one costs an attempt of at most 10 s, then is retried: attempts, not the job, pay for it.
    failed_once = stack.wait_job(slow_job, lambda job: job["webhook"]["last_error"] is not None, 30)
    assert failed_once["webhook"]["last_error"] == "no answer within 10 s"
    assert failed_once["status"] == "succeeded" and failed_once["finished_at"] == stack.job(slow_job)["finished_at"]


def test_a_delivery_whose_sending_process_is_killed_mid_way_still_arrives(stack: Stack, receiver: Receiver) -> None:
    receiver.release.clear()
    url = receiver.url("hang", "200")
    job_id = stack.submit(url, "leads=1")
    services.wait_until(lambda: receiver.received(url), 30, what="the first attempt to reach the receiver")
    assert stack.relay is not None
    stack.relay.signal(signal.SIGKILL)  # mid-delivery: the receiver holds the request, nothing was recorded
    stack.relay.wait(10)
    receiver.release.set()  # the dead sender's connection goes away unanswered
    assert stack.job(job_id)["webhook"]["state"] == "pending"
    stack.start_relay()  # the next process takes it over once the dead one's lease has run out
    final = _delivered(stack, job_id, timeout=90)
    assert final["webhook"]["state"] == "delivered" and final["webhook"]["attempts"] == 2
    attempts = receiver.received(url)
    assert (
        len(attempts) == 2 and attempts[0].headers["LeadEngine-Delivery"] == attempts[1].headers["LeadEngine-Delivery"]
    )
    assert attempts[0].body == attempts[1].body


def test_the_receiver_of_the_docs_verifies_and_prints_a_delivery(stack: Stack, log_dir: Path) -> None:
    port = services.free_port()
    example = services.Process([sys.executable, str(services.ROOT / "docs" / "webhook_receiver.py"), str(port)],
                               {**stack.env, "WEBHOOK_SECRET": stack.secret()}, "docs-receiver", log_dir)  # fmt: skip
    try:
        services.wait_for_port(port)
        job_id = stack.submit(f"http://127.0.0.1:{port}/leadengine", "leads=3")
        assert _delivered(stack, job_id)["webhook"]["state"] == "delivered"  # it answered 204: the signature held
        services.wait_until(lambda: job_id in example.output(), 10, what="the receiver to print the job")
        assert f"job.finished: job {job_id} succeeded, 3 leads" in example.output()
    finally:
        example.stop()
