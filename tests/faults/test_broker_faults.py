"""The broker under faults the other fault tests leave out: a memory alarm (RabbitMQ blocks every publisher), a
runner whose connection goes silent mid-job (a half-open TCP connection through tests/support/proxy.py), and a
broker that dead-letters a job's message on its own (as a RabbitMQ 4.x quorum queue does past its delivery limit).

The memory alarm is broker-wide: it blocks publishers on every vhost of the shared local RabbitMQ. It is held for
about ten seconds and always lifted (a `finally`, and a detached guard process that lifts it even if this test
process dies), and the test waits until the broker reports it gone before the next test runs."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from leadengine import topology
from tests.enqueue.conftest import VALID, start_function
from tests.runner.harness import RUNNER_ENV, Runners, wait_for
from tests.support import services
from tests.support.proxy import TcpProxy

SCRAPE = "/api/v1/jobs/scrape"
KEY = f"key-{uuid.uuid4().hex}"
ANSWER_WITHIN_S = 10.0
GUARD_S = 60  # the detached guard lifts the alarm after this long whatever happened to the test process


@pytest.fixture
def base_env(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A Firestore project of each test's own (a relay it starts sees only its jobs) and an API key."""
    extra = {"GOOGLE_CLOUD_PROJECT": f"le-broker-{uuid.uuid4().hex[:8]}", "API_KEYS": json.dumps({KEY: "alice"}),
             "USER_MAX_RUNNING_JOBS": "10"}  # fmt: skip
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    return {**base_env, **extra}


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    with TcpProxy(5672) as tcp:
        yield tcp


def _relay(runners: Runners, **env: str) -> services.Process:
    process = services.Process(
        [sys.executable, "-m", "leadengine.outbox"],
        {**runners.base_env, **RUNNER_ENV, "OUTBOX_GRACE_S": "0.5", "RELAY_INTERVAL_S": "0.3", **env},
        "relay",
        runners.log_dir,
    )
    runners.processes.append(process)  # stopped with the runners
    wait_for(lambda: '"relay_started"' in process.output(), 20, "the relay to start")
    return process


def _post(url: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.post(f"{url}{SCRAPE}", json=VALID, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)
    return response, time.monotonic() - started


# --- memory alarm ------------------------------------------------------------------------------------------------


def _watermark() -> list[str]:
    """The broker's memory high watermark now, as `rabbitmqctl set_vm_memory_high_watermark` takes it back."""
    raw = services.rabbitmqctl("eval", "vm_memory_monitor:get_vm_memory_high_watermark().").strip()
    absolute = re.fullmatch(r"\{absolute,(\d+)\}", raw)
    if absolute:
        return ["absolute", absolute.group(1)]
    float(raw)  # a relative watermark; anything else is a format this test does not know: fail before changing it
    return [raw]


def _memory_alarm_on() -> bool:
    return "memory" in services.rabbitmqctl("eval", "rabbit_alarm:get_alarms().")


@contextlib.contextmanager
def memory_alarm() -> Iterator[None]:
    """RabbitMQ in a memory alarm (every publishing connection blocked) for the duration of the block; the
    watermark it had before is always restored, and the alarm seen gone, before leaving."""
    original = _watermark()
    assert not _memory_alarm_on(), "the broker is in a memory alarm already"
    restore = f"rabbitmqctl -q set_vm_memory_high_watermark {' '.join(original)}"
    guard = subprocess.Popen(["sh", "-c", f"sleep {GUARD_S} && {restore}"], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        services.rabbitmqctl("set_vm_memory_high_watermark", "0.0001")
        wait_for(_memory_alarm_on, 15, "the memory alarm")
        yield
    finally:
        try:
            services.rabbitmqctl("set_vm_memory_high_watermark", *original)
            wait_for(lambda: not _memory_alarm_on(), 15, "the memory alarm to clear")
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(guard.pid, signal.SIGKILL)
            guard.wait(timeout=5)
    assert _watermark() == original


def test_a_post_during_a_memory_alarm_answers_in_time_and_every_accepted_job_succeeds_after(
    runners: Runners, log_dir: Path, channel: object
) -> None:
    runners.wait_started(runners.start())
    relay = _relay(runners)
    function, url = start_function(log_dir, runners.base_env)
    try:
        warm, _ = _post(url)  # the function's connection is open before the alarm, as on a busy instance
        assert warm.status_code == 202
        assert runners.wait_status(warm.json()["job_id"])["status"] == "succeeded"
        with memory_alarm():
            with ThreadPoolExecutor(4) as pool:
                results = list(pool.map(lambda _: _post(url), range(4)))
            accepted = []
            for response, took in results:
                assert took < ANSWER_WITHIN_S, ([round(t, 1) for _, t in results], function.output()[-3000:])
                if response.status_code == 503:
                    assert response.headers.get("Retry-After"), response.headers
                    continue
                assert response.status_code == 202, (response.status_code, response.text)
                accepted.append(response.json()["job_id"])
            assert accepted, [r.status_code for r, _ in results]
            # The alarm did hold the publishes: the jobs are still marked for the relay, and none has run.
            for job_id in accepted:
                assert runners.store.get_job(job_id).outbox_due_at is not None
                assert runners.job(job_id)["status"] == "queued"
        for job_id in accepted:
            job = runners.wait_status(job_id, timeout=60)
            assert job["status"] == "succeeded" and runners.completions(job_id) == 1, job
        assert relay.popen.poll() is None
    finally:
        function.stop()


# --- a runner's connection goes silent ---------------------------------------------------------------------------


def test_a_runner_whose_connection_goes_silent_mid_job_loses_no_job_and_runs_each_once_when_it_heals(
    runners: Runners, proxy: TcpProxy
) -> None:
    # A short heartbeat, so both the runner and the broker give the silent connection up within seconds.
    runner = runners.start(RABBITMQ_PORT=str(proxy.port), RABBITMQ_HEARTBEAT_S="2")
    runners.wait_started(runner)
    running = runners.submit("sleep=3", "leads=1")
    runners.wait_status(running, "running")
    proxy.blackhole()
    waiting = runners.submit("leads=1")  # published while the runner cannot hear the broker
    # The job in hand finishes and records its result in Firestore; its ack cannot reach the broker.
    assert runners.wait_status(running, timeout=20)["status"] == "succeeded"
    wait_for(lambda: runners.events(runner, "connection_lost"), 30, "the runner to give the connection up")
    time.sleep(2)
    assert runners.job(waiting)["status"] == "queued"  # nobody could take it meanwhile
    proxy.heal()
    assert runners.wait_status(waiting, timeout=60)["status"] == "succeeded"
    for job_id in (running, waiting):
        assert runners.runs(job_id) == 1 and runners.completions(job_id) == 1, job_id
    # The first job's unacknowledged message came back and was dropped as a duplicate: nothing is left over.
    wait_for(lambda: runners.queue_depth() == 0, 20, "scrape_jobs to be empty")
    assert runner.popen.poll() is None and len(runners.events(runner, "connected")) >= 2


# --- the broker dead-letters a message by itself -----------------------------------------------------------------

STALL_S = 2.0


def test_a_job_whose_message_the_broker_dead_lettered_is_published_again_then_failed_after_max_attempts(
    runners: Runners, channel: object
) -> None:
    """What a RabbitMQ 4.x quorum queue does past its delivery limit: the broker moves the message to failed_jobs
    itself (here: a consumer's reject without requeue, which the queue's dead-letter arguments route the same way),
    and the job stays `queued` with no message. Stall recovery publishes it again; lost JOB_MAX_ATTEMPTS times, the
    job ends `failed` (`message_lost`) with its message in failed_jobs."""
    relay = _relay(runners, JOB_STALL_S=str(STALL_S))
    job_id = runners.submit("leads=1")
    dead_lettered = 0
    deadline = time.monotonic() + 60
    while runners.job(job_id)["status"] == "queued":
        assert time.monotonic() < deadline, relay.output()[-3000:]
        method, properties, _ = runners.channel.basic_get(topology.SCRAPE_JOBS)
        if method is None:
            time.sleep(0.1)
            continue
        assert properties.message_id == job_id
        runners.channel.basic_reject(method.delivery_tag, requeue=False)
        dead_lettered += 1
    job = runners.job(job_id)
    assert job["status"] == "failed" and job["error"]["code"] == "message_lost", job
    max_attempts = int(RUNNER_ENV["JOB_MAX_ATTEMPTS"])
    assert dead_lettered == 1 + max_attempts  # the first publish, then one per republish
    assert len(runners.events(relay, "stalled_job_republished")) == max_attempts
    # Each dead-lettered copy and the one stall recovery files when it gives up: nothing published any more.
    wait_for(lambda: runners.dead_lettered(job_id) == dead_lettered + 1, 10, "the copies in failed_jobs")
    time.sleep(STALL_S * 2)
    assert runners.queue_depth() == 0 and runners.job(job_id)["status"] == "failed"
