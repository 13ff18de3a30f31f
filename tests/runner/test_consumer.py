"""The consume loop with real runner processes (`python -m runner`) on a real broker and the emulator:
success, retries with backoff, dead letters, duplicates, cancellation, time limits, heartbeats, sharing."""

from __future__ import annotations

import json
import urllib.request

from leadengine import topology
from leadengine.jobs import user_cancel
from tests.runner.harness import Runners, seconds_between, wait_for
from tests.support import services


def _attempt_entries(job: dict) -> list[dict]:
    return [entry for entry in job["history"] if entry.get("attempt") is not None]


def test_a_job_runs_once_and_succeeds_with_its_leads(runners: Runners) -> None:
    runners.wait_started(runners.start())
    job_id = runners.submit("leads=3")
    job = runners.wait_status(job_id)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 1 and job["lead_count"] == 3 and job["error"] is None
    assert job["started_at"] is not None and job["finished_at"] >= job["started_at"]
    assert runners.completions(job_id) == 1
    [entry] = job["history"]
    assert entry["outcome"] == "succeeded" and entry["runner"] == job["runner"]


def test_transient_failures_retry_with_backoff_then_succeed(runners: Runners) -> None:
    runners.wait_started(runners.start())
    job_id = runners.submit("transient=2", "leads=1")
    job = runners.wait_status(job_id, timeout=40)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 3 and job["error"] is None and runners.runs(job_id) == 3
    first, second, third = _attempt_entries(job)
    assert [first["outcome"], second["outcome"], third["outcome"]] == ["retry", "retry", "succeeded"]
    assert first["error"]["code"] == "transient_error"
    # JOB_RETRY_DELAYS_S=1,2,3: the second attempt waits >= 1 s after the first failed, the third >= 2 s.
    assert seconds_between(first["finished_at"], second["started_at"]) >= 0.9
    assert seconds_between(second["finished_at"], third["started_at"]) >= 1.9
    assert runners.dead_lettered(job_id) == 0


def test_a_job_failing_every_time_is_failed_after_max_attempts_and_dead_lettered(runners: Runners) -> None:
    runners.wait_started(runners.start())
    job_id = runners.submit("transient")
    job = runners.wait_status(job_id, timeout=40)
    assert job["status"] == "failed" and job["attempts"] == 3, job
    assert job["error"]["code"] == "attempts_exhausted" and "transient" in job["error"]["message"]
    assert runners.runs(job_id) == 3
    wait_for(lambda: runners.dead_lettered(job_id) == 1, 10, "the message in failed_jobs")


def test_a_permanent_error_fails_the_job_at_once_and_dead_letters_it(runners: Runners) -> None:
    runners.wait_started(runners.start())
    job_id = runners.submit("permanent")
    job = runners.wait_status(job_id)
    assert job["status"] == "failed" and job["attempts"] == 1
    assert job["error"] == {"code": "simulated_permanent", "message": "simulated permanent failure"}
    wait_for(lambda: runners.dead_lettered(job_id) == 1, 10, "the message in failed_jobs")


def test_malformed_messages_go_to_failed_jobs_at_once_and_the_runner_keeps_going(runners: Runners) -> None:
    runner = runners.start()
    runners.wait_started(runner)
    runners.publish(b"\xff not json at all")
    # Valid JSON naming a queued job, but no user_id: the job fails with invalid_message.
    queued = runners.submit("leads=1", publish=False)
    runners.publish(json.dumps({"job_id": queued, "industry": "x"}).encode(), queued)
    after = runners.submit("leads=1")
    assert runners.wait_status(after)["status"] == "succeeded"
    job = runners.wait_status(queued)
    assert job["status"] == "failed" and job["error"]["code"] == "invalid_message" and job["attempts"] == 0
    rows = wait_for(lambda: [r for r in runners.dead_letters() if not r["replayable"]] or None, 10, "dead letters")
    assert len(rows) == 2 and {row["job_id"] for row in rows} == {None, queued}
    assert runner.popen.poll() is None


def test_an_unknown_source_type_fails_the_job_with_its_code(runners: Runners) -> None:
    runners.wait_started(runners.start())
    job_id = runners.submit("leads=1", publish=False)
    body = json.dumps({"job_id": job_id, "user_id": "u", "industry": "SaaS", "geography": "Sydney",
                       "keywords": [], "source_types": ["altavista"], "filters": {}})  # fmt: skip
    runners.publish(body.encode(), job_id)
    job = runners.wait_status(job_id)
    assert job["status"] == "failed" and job["error"]["code"] == "unknown_source_type" and job["attempts"] == 0
    assert runners.runs(job_id) == 0
    wait_for(lambda: runners.dead_lettered(job_id) == 1, 10, "the message in failed_jobs")


def test_a_seed_message_without_a_job_document_creates_the_job_and_runs_it(runners: Runners) -> None:
    runners.wait_started(runners.start())
    job_id = runners.submit("leads=2", create=False)
    job = runners.wait_status(job_id)
    assert job["status"] == "succeeded" and job["lead_count"] == 2 and job["attempts"] == 1
    assert job["user_id"] == f"user-{job_id[:6]}" and job["request"]["keywords"] == ["leads=2"]
    assert job["outbox_due_at"] is None  # the relay must not publish it a second time


def test_the_same_job_published_twice_has_one_effect(runners: Runners) -> None:
    for n in (1, 2):
        runners.wait_started(runners.start(f"runner-{n}"))
    job_id = runners.submit("sleep=1.5", "leads=2")
    runners.republish(job_id)  # the same message again, while the first copy runs or is about to
    job = runners.wait_status(job_id)
    assert job["status"] == "succeeded" and job["attempts"] == 1 and job["lead_count"] == 2
    # The second copy was parked while the job was held, then dropped as a duplicate.
    wait_for(lambda: runners.queue_depth() == 0 and runners.queue_depth(topology.retry_queue_name(2)) == 0
             and any(runners.events(p, "message_processed") and any(e["outcome"] == "duplicate"
                     for e in runners.events(p, "message_processed")) for p in runners.processes),
             15, "the second copy dropped as a duplicate")  # fmt: skip
    assert runners.runs(job_id) == 1 and runners.completions(job_id) == 1


def test_a_cancelled_queued_job_is_never_run(runners: Runners) -> None:
    job_id = runners.submit("leads=1")
    user_id = runners.job(job_id)["user_id"]
    assert runners.store.change_job(job_id, user_cancel(job_id, user_id)).status == "cancelled"
    runners.wait_started(runners.start())
    wait_for(lambda: runners.queue_depth() == 0, 10, "the message consumed")
    services.wait_until(lambda: any(runners.events(p, "message_processed") for p in runners.processes), 10)
    job = runners.job(job_id)
    assert job["status"] == "cancelled" and job["attempts"] == 0 and runners.runs(job_id) == 0
    assert runners.dead_lettered(job_id) == 0


def test_a_running_job_is_cancelled_at_its_next_checkpoint(runners: Runners) -> None:
    runners.wait_started(runners.start())
    job_id = runners.submit("sleep=30")
    job = runners.wait_status(job_id, "running")
    runners.store.change_job(job_id, user_cancel(job_id, job["user_id"]))
    job = runners.wait_status(job_id, timeout=5)
    assert job["status"] == "cancelled" and job["error"] is None and runners.completions(job_id) == 0
    assert _attempt_entries(job)[-1]["outcome"] == "cancelled"
    wait_for(lambda: runners.queue_depth() == 0, 5, "the message acknowledged")
    assert runners.dead_lettered(job_id) == 0


def test_a_job_over_its_time_limit_fails_with_timeout_at_its_next_checkpoint(runners: Runners) -> None:
    runners.wait_started(runners.start(JOB_TIMEOUT_S="1"))
    job_id = runners.submit("sleep=10")
    job = runners.wait_status(job_id, timeout=10)
    assert job["status"] == "failed" and job["error"]["code"] == "timeout" and job["attempts"] == 1
    wait_for(lambda: runners.dead_lettered(job_id) == 1, 10, "the message in failed_jobs")


def test_a_handler_that_ignores_its_time_limit_is_given_up_and_the_runner_restarts_clean(runners: Runners) -> None:
    runner = runners.start(JOB_TIMEOUT_S="1", RUNNER_STUCK_GRACE_S="1")
    runners.wait_started(runner)
    job_id = runners.submit("stuck=60")
    job = runners.wait_status(job_id, timeout=10)
    assert job["status"] == "failed" and job["error"]["code"] == "timeout"
    assert runner.wait(timeout=10) == 3  # a fresh process is the only way to be rid of the stuck thread
    assert runners.dead_lettered(job_id) == 1 and runners.completions(job_id) == 0


def test_a_job_longer_than_three_heartbeat_intervals_keeps_its_connection(runners: Runners) -> None:
    runner = runners.start(RABBITMQ_HEARTBEAT_S="2")
    runners.wait_started(runner)
    job_id = runners.submit("sleep=7", "leads=1")
    job = runners.wait_status(job_id, timeout=20)
    assert job["status"] == "succeeded" and job["attempts"] == 1
    wait_for(lambda: runners.queue_depth() == 0, 5, "the ack")
    assert len(runners.events(runner, "connected")) == 1
    assert runners.events(runner, "connection_lost") == []
    assert runners.events(runner, "connected")[0]["heartbeat_s"] == 2


def test_two_runners_share_a_hundred_jobs_each_done_once(runners: Runners) -> None:
    for n in (1, 2):
        runners.wait_started(runners.start(f"runner-{n}"))
    job_ids = [runners.submit() for _ in range(100)]
    jobs = [runners.wait_status(job_id, timeout=60) for job_id in job_ids]
    assert {job["status"] for job in jobs} == {"succeeded"}
    assert {job["attempts"] for job in jobs} == {1}
    assert all(runners.completions(job_id) == 1 for job_id in job_ids)
    by_runner: dict[str, int] = {}
    for job in jobs:
        by_runner[job["runner"]] = by_runner.get(job["runner"], 0) + 1
    assert len(by_runner) == 2, by_runner  # both did work


def test_exit_when_idle_exits_zero_once_the_queue_stayed_empty(runners: Runners) -> None:
    runner = runners.start(args=["--exit-when-idle", "1"])
    runners.wait_started(runner)
    job_id = runners.submit("sleep=1.5")
    assert runners.wait_status(job_id)["status"] == "succeeded"
    assert runner.wait(timeout=10) == 0
    assert runners.events(runner, "idle_exit")


def test_metrics_count_jobs_by_outcome_with_durations_and_in_flight(runners: Runners) -> None:
    port = services.free_port()
    runners.wait_started(runners.start(RUNNER_METRICS_PORT=str(port)))
    ok = runners.submit("leads=1")
    bad = runners.submit("permanent")
    runners.wait_status(ok)
    runners.wait_status(bad)
    wait_for(lambda: runners.dead_lettered(bad) == 1, 10)
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'leadengine_runner_jobs_total{outcome="succeeded"} 1.0' in text
    assert 'leadengine_runner_jobs_total{outcome="failed"} 1.0' in text
    assert 'leadengine_runner_job_duration_seconds_count{outcome="succeeded"} 1.0' in text
    assert "leadengine_runner_attempts_total 2.0" in text
    assert "leadengine_runner_jobs_in_flight 0.0" in text
