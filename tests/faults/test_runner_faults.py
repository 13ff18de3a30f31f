"""Runners under faults: killed mid-job, stopped mid-job, crashing every time, and the broker itself
restarting or dropping every connection during a batch. Each job still completes once, with no
duplicated effect. The broker tests stop the shared RabbitMQ node; `start_app` always runs after."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from leadengine.settings import load_settings
from leadengine.store import JobStore
from tests.runner.harness import Runners, wait_for
from tests.support import services
from tests.support.jobs import force


def _holder(runners: Runners, job_id: str) -> services.Process:
    runner_id = runners.job(job_id)["runner"]
    [process] = [p for p in runners.processes if runner_id.endswith(f"-{p.pid}")]
    return process


def test_a_runner_killed_mid_job_leaves_it_to_another_which_completes_it_once(runners: Runners) -> None:
    for n in (1, 2):
        runners.wait_started(runners.start(f"runner-{n}"))
    job_id = runners.submit("sleep=3", "leads=2")
    runners.wait_status(job_id, "running")
    victim = _holder(runners, job_id)
    victim.signal(signal.SIGKILL)
    job = runners.wait_status(job_id, {"succeeded", "failed"}, timeout=30)
    assert job["status"] == "succeeded" and job["attempts"] >= 2, job
    assert job["lead_count"] == 2 and runners.completions(job_id) == 1
    outcomes = [entry["outcome"] for entry in job["history"]]
    assert outcomes[0] == "lost" and outcomes[-1] == "succeeded"
    assert victim.wait(timeout=5) == -signal.SIGKILL
    assert not job["runner"].endswith(f"-{victim.pid}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_mid_job_lets_it_finish_within_the_grace_period_and_exits_zero(
    runners: Runners, sig: int
) -> None:
    runner = runners.start(RUNNER_SHUTDOWN_GRACE_S="10")
    runners.wait_started(runner)
    job_id = runners.submit("sleep=2", "leads=1")
    runners.wait_status(job_id, "running")
    runner.signal(sig)
    assert runner.wait(timeout=15) == 0
    job = runners.job(job_id)
    assert job["status"] == "succeeded" and job["attempts"] == 1 and runners.completions(job_id) == 1
    assert runners.queue_depth() == 0  # acknowledged before the runner went


def test_sigterm_past_the_grace_period_hands_the_job_back_and_another_runner_completes_it(runners: Runners) -> None:
    first = runners.start("runner-1", RUNNER_SHUTDOWN_GRACE_S="1")
    runners.wait_started(first)
    job_id = runners.submit("sleep=4", "leads=1")
    runners.wait_status(job_id, "running")
    second = runners.start("runner-2")
    runners.wait_started(second)
    started = time.monotonic()
    first.signal(signal.SIGTERM)
    assert first.wait(timeout=10) == 0
    assert time.monotonic() - started < 6  # grace 1 s + the interrupted attempt handing the job back
    job = runners.wait_status(job_id, timeout=20)
    assert job["status"] == "succeeded" and job["attempts"] == 2 and runners.completions(job_id) == 1
    first_attempt, second_attempt = (e for e in job["history"] if e["attempt"] is not None)
    assert first_attempt["outcome"] == "shutdown" and second_attempt["outcome"] == "succeeded"
    assert job["runner"].endswith(f"-{second.pid}")


def test_a_handler_that_kills_its_runner_every_time_is_capped_at_max_attempts(runners: Runners) -> None:
    job_id = runners.submit("crash")
    runner = runners.start("runner-1")
    deadline = time.monotonic() + 60
    restarts = 0
    while runners.job(job_id)["status"] not in {"failed", "succeeded"}:
        assert time.monotonic() < deadline, runners.logs()
        if runner.popen.poll() is not None:  # a supervisor's restart, as a container platform would do
            assert runner.popen.returncode == 137
            restarts += 1
            runner = runners.start(f"runner-{restarts + 1}")
        time.sleep(0.1)
    job = runners.job(job_id)
    assert job["status"] == "failed" and job["error"]["code"] == "attempts_exhausted" and job["attempts"] == 3
    assert runners.runs(job_id) == 3 and restarts == 3
    wait_for(lambda: runners.dead_lettered(job_id) == 1, 10, "the message in failed_jobs")


def test_broker_connection_drops_and_restart_during_a_batch_lose_nothing_and_repeat_nothing(runners: Runners) -> None:
    processes = [runners.start(f"runner-{n}") for n in (1, 2)]
    for process in processes:
        runners.wait_started(process)
    job_ids = [runners.submit("sleep=0.4", "leads=1") for _ in range(20)]

    def succeeded() -> int:
        return sum(runners.job(job_id)["status"] == "succeeded" for job_id in job_ids)

    wait_for(lambda: succeeded() >= 3, 30, "a few jobs done")
    services.rabbitmqctl("close_all_connections", "-p", runners.vhost, "fault test: drop every connection")
    wait_for(lambda: succeeded() >= 8, 30, "more jobs done after the reconnect")
    try:
        services.rabbitmqctl("stop_app")
        time.sleep(1)
    finally:
        services.rabbitmqctl("start_app")
    services.wait_for_port(5672, timeout=30)
    jobs = [runners.wait_status(job_id, timeout=60) for job_id in job_ids]
    assert {job["status"] for job in jobs} == {"succeeded"}
    assert all(runners.completions(job_id) == 1 for job_id in job_ids), "a job ran to completion twice"
    assert all(runners.runs(job_id) == 1 for job_id in job_ids)
    for process in processes:
        assert len(runners.events(process, "connected")) >= 3, process.output()[-3000:]
        assert process.popen.poll() is None
    logs = runners.logs()
    assert "PRECONDITION_FAILED" not in logs and "unknown delivery tag" not in logs


def test_a_firestore_outage_mid_job_parks_the_message_and_the_job_completes_after(
    base_env: dict[str, str], log_dir: Path, vhost: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Firestore goes away while a job runs: the attempt fails as transient, nothing can be recorded, so the
    message waits in a delay queue (never dropped, never acked unrecorded). The emulator comes back empty
    (it keeps nothing on disk), so the parked seed-format message recreates the job, which then succeeds."""
    emulator = services.Emulator(log_dir)
    env = {**base_env, "FIRESTORE_EMULATOR_HOST": emulator.host, "GOOGLE_CLOUD_PROJECT": "leadengine-outage"}
    for name in ("FIRESTORE_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.setenv(name, env[name])
    runners = Runners(env, log_dir, JobStore(load_settings()), vhost)
    try:
        runner = runners.start()
        runners.wait_started(runner)
        job_id = runners.submit("sleep=3", "leads=2")
        runners.wait_status(job_id, "running")
        emulator.stop()
        wait_for(lambda: any(e.get("code") == "store_unavailable" for e in runners.events(runner, "message_failed")),
                 30, "the runner parking the message while Firestore is away")  # fmt: skip
        emulator = services.Emulator(log_dir, port=emulator.port)
        job = runners.wait_status(job_id, timeout=60)
        assert job["status"] == "succeeded" and job["lead_count"] == 2 and job["created_by"] == "seed_message"
        assert runner.popen.poll() is None
    finally:
        runners.stop_all()
        emulator.stop()


def test_a_failed_jobs_message_reaches_failed_jobs_even_if_its_runner_died_before_dead_lettering_it(
    runners: Runners,
) -> None:
    """Issue 9 defect 6: the job was written `failed`, then its runner died before `basic_reject`; the broker
    redelivers the message, and that copy must go to failed_jobs rather than be acked as a duplicate."""
    runners.wait_started(runners.start())
    job_id = runners.submit("fail=permanent", publish=False)
    force(runners.store, job_id, status="failed", attempts=3,
          error={"code": "attempts_exhausted", "message": "gave up after 3 attempts"})  # fmt: skip
    runners.republish(job_id)  # the redelivered copy
    wait_for(lambda: runners.dead_lettered(job_id) == 1, 15, "the message in failed_jobs")
    assert runners.job(job_id)["status"] == "failed" and runners.runs(job_id) == 0
