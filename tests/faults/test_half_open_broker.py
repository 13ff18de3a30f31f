"""A half-open broker: RabbitMQ behind a TCP proxy that stops forwarding while keeping every socket open (no RST,
no FIN: the peer simply goes silent). The function still answers in time and its jobs are published once the
broker is back; a runner's retry that cannot be parked is not lost."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from leadengine.settings import load_settings
from leadengine.store import JobStore
from tests.enqueue.conftest import VALID, drain, start_function
from tests.runner.harness import Runners
from tests.support import services
from tests.support.proxy import TcpProxy

SCRAPE = "/api/v1/jobs/scrape"
KEY = f"key-{uuid.uuid4().hex}"
ANSWER_WITHIN_S = 10.0


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    with TcpProxy(5672) as tcp:
        yield tcp


@pytest.fixture
def env(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A Firestore project of this test alone, so a relay it starts sees only its jobs."""
    project = f"le-half-open-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", project)
    # Places for every job of the test (§8): each POST is published, none held back for fair share.
    return {**base_env, "GOOGLE_CLOUD_PROJECT": project, "API_KEYS": json.dumps({KEY: "alice"}),
            "USER_MAX_RUNNING_JOBS": "100"}  # fmt: skip


@pytest.fixture
def function(env: dict[str, str], proxy: TcpProxy, log_dir: Path) -> Iterator[tuple[services.Process, str]]:
    """The function on gunicorn, talking to RabbitMQ through the proxy; warmed up with one published job."""
    process, url = start_function(log_dir, env, RABBITMQ_PORT=str(proxy.port))
    yield process, url
    process.stop()


def _post(url: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.post(f"{url}{SCRAPE}", json=VALID, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)
    return response, time.monotonic() - started


def test_a_post_answers_202_in_time_while_the_broker_is_silent_and_the_relay_publishes_it_once_back(
    env: dict[str, str], function: tuple[services.Process, str], proxy: TcpProxy, channel, log_dir: Path
) -> None:
    process, url = function
    warm, _ = _post(url)
    assert warm.status_code == 202  # a live connection through the proxy, which then goes silent
    drain(channel)
    proxy.blackhole()
    response, took = _post(url)
    assert response.status_code == 202 and took < ANSWER_WITHIN_S, (took, process.output()[-3000:])
    job_id = response.json()["job_id"]
    store = JobStore(load_settings())
    assert store.get_job(job_id).outbox_due_at is not None  # accepted, left to the relay

    relay_env = {**env, "RABBITMQ_PORT": str(proxy.port), "OUTBOX_GRACE_S": "0.5", "RELAY_INTERVAL_S": "0.2"}
    relay = services.Process([sys.executable, "-m", "leadengine.outbox"], relay_env, "relay", log_dir)
    try:
        services.wait_until(lambda: '"relay_pass_failed"' in relay.output(), timeout=30, what="a relay pass to fail")
        assert relay.popen.poll() is None and drain(channel) == []
        proxy.heal()
        services.wait_until(lambda: store.get_job(job_id).outbox_due_at is None, timeout=30, what="the relay")
    finally:
        assert relay.stop() == 0, relay.output()
    # The request's own publish may arrive too once the bytes flow again: a duplicate the runner drops.
    assert job_id in {properties.message_id for _, properties, _ in drain(channel)}


def test_concurrent_posts_while_the_broker_is_silent_all_answer_202_in_time(
    function: tuple[services.Process, str], proxy: TcpProxy, channel
) -> None:
    _, url = function
    assert _post(url)[0].status_code == 202
    proxy.blackhole()
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: _post(url), range(8)))
    assert [r.status_code for r, _ in results] == [202] * 8
    assert max(took for _, took in results) < ANSWER_WITHIN_S, [round(took, 1) for _, took in results]
    store = JobStore(load_settings())
    assert all(store.get_job(r.json()["job_id"]).outbox_due_at is not None for r, _ in results)


def test_a_retry_that_cannot_be_parked_on_a_silent_broker_is_not_lost(runners: Runners, proxy: TcpProxy) -> None:
    # A short heartbeat, so the runner notices the silent connection and reconnects within seconds.
    runner = runners.start(RABBITMQ_PORT=str(proxy.port), RABBITMQ_HEARTBEAT_S="2")
    runners.wait_started(runner)
    job_id = runners.submit("sleep=3", "transient=1")  # fails its first run, after 3 s
    services.wait_until(lambda: runners.runs(job_id) == 1, timeout=20, what="the first run to start")
    proxy.blackhole()  # the retry's publish to its delay queue meets a silent broker
    services.wait_until(lambda: '"delay_publish_failed"' in runner.output(), timeout=30, what="the publish to fail")
    proxy.heal()
    job = runners.wait_status(job_id, "succeeded", timeout=90)
    assert job["attempts"] == 2 and runners.completions(job_id) == 1
    assert runner.popen.poll() is None  # it rode out the silence and reconnected: no crash, no restart
    failed = runners.events(runner, "delay_publish_failed")
    assert failed and failed[0]["job_id"] == job_id and failed[0]["action"] == "requeue"
