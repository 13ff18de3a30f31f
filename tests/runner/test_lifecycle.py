"""The job lifecycle on the Firestore emulator: one claim per attempt even when runners race, attempts fenced
by their lease, status only forward, attempts counted across deliveries, and the operator's replay.

The emulator does not isolate transactions, so the race test proves the claim's `create()` of
`jobs/{id}/attempts/{n}-{created_at}`; on real Firestore the transaction around it serialises the claim as well."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest

from leadengine.jobs import Assessment, Claim, ErrorInfo, Job, Verdict, utcnow
from leadengine.schemas import JobStatus
from leadengine.settings import Settings, load_settings
from leadengine.store import JobStore
from runner.lifecycle import Lifecycle
from tests.support import jobs
from tests.support.jobs import document

ERROR = ErrorInfo(code="x", message="y")


def assess(fields: dict, now, max_attempts: int) -> Assessment:
    return Job.from_document({"job_id": "j", "user_id": "u", "created_at": now, **fields}).assess(now, max_attempts)


@pytest.fixture
def lease_settings(base_env: dict[str, str]) -> Settings:
    return load_settings(runner_lease_s=1, job_max_attempts=3)


def _job(store: JobStore) -> str:
    return jobs.create(store).job_id


def _claim(lifecycle: Lifecycle, job_id: str) -> Claim:
    claim = lifecycle.begin(job_id)
    assert isinstance(claim, Claim), claim
    return claim


def test_assess_reads_the_verdict_from_the_job_alone() -> None:
    now = utcnow()
    base = {"status": "running", "attempts": 1, "lease": None}
    assert assess({"status": "succeeded"}, now, 3).verdict is Verdict.DUPLICATE
    assert assess({"status": "queued", "attempts": 0}, now, 3).verdict is Verdict.RUN
    held = assess({**base, "lease": {"owner": "a", "attempt": 1, "expires_at": now + timedelta(seconds=30)}}, now, 3)
    assert held.verdict is Verdict.HELD and 29 < held.wait_s <= 30
    lapsed = {**base, "lease": {"owner": "a", "attempt": 1, "expires_at": now - timedelta(seconds=1)}}
    assert assess(lapsed, now, 3).verdict is Verdict.RUN
    waiting = assess({**base, "retry_not_before": now + timedelta(seconds=50)}, now, 3)
    assert waiting.verdict is Verdict.WAIT and waiting.wait_s > 49
    assert assess({**base, "attempts": 3}, now, 3).verdict is Verdict.EXHAUSTED
    assert assess({**base, "attempts": 3, "attempts_base": 3}, now, 3).verdict is Verdict.RUN  # replayed
    assert assess({**base, "cancel_requested": True}, now, 3).verdict is Verdict.CANCEL


def test_racing_runners_claim_an_attempt_exactly_once(store: JobStore, lease_settings: Settings) -> None:
    job_id = _job(store)
    results: list[object] = []
    barrier = threading.Barrier(6)

    def race(n: int) -> None:
        lifecycle = Lifecycle(JobStore(lease_settings), lease_settings, f"runner-{n}")
        barrier.wait()
        results.append(lifecycle.begin(job_id))

    threads = [threading.Thread(target=race, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claims = [r for r in results if isinstance(r, Claim)]
    assert len(claims) == 1, results
    assert all(isinstance(r, Assessment) and r.verdict is Verdict.HELD for r in results if r not in claims)
    job = document(store, job_id)
    assert job["status"] == "running" and job["attempts"] == 1 and job["lease"]["owner"] == claims[0].runner_id


def test_an_attempt_whose_lease_lapsed_is_fenced_off_by_the_next_one(store: JobStore, lease_settings: Settings) -> None:
    job_id = _job(store)
    first = Lifecycle(store, lease_settings, "runner-a")
    second = Lifecycle(store, lease_settings, "runner-b")
    old = _claim(first, job_id)
    assert isinstance(second.begin(job_id), Assessment)  # held while the lease lives
    time.sleep(1.2)
    new = _claim(second, job_id)
    assert (new.attempt, new.attempts_used) == (2, 2)
    assert first.renew(old) is None
    assert first.finish(old, JobStatus.SUCCEEDED, None) is False  # a late writer changes nothing
    assert second.finish(new, JobStatus.SUCCEEDED, None) is True
    job = document(store, job_id)
    assert job["status"] == "succeeded" and job["lease"] is None
    assert [(e["attempt"], e["runner"], e["outcome"]) for e in job["history"]] == [
        (1, "runner-a", "lost"), (2, "runner-b", "succeeded")]  # fmt: skip


def test_status_never_moves_backward(store: JobStore, lease_settings: Settings) -> None:
    lifecycle = Lifecycle(store, lease_settings, "runner-a")
    job_id = _job(store)
    claim = _claim(lifecycle, job_id)
    assert lifecycle.finish(claim, JobStatus.CANCELLED, None)
    assert lifecycle.begin(job_id) == Assessment(Verdict.DUPLICATE, attempts_used=1)
    assert lifecycle.close_unclaimed(job_id, JobStatus.FAILED, ERROR, "failed") is False
    assert lifecycle.finish(claim, JobStatus.SUCCEEDED, None) is False
    assert lifecycle.retry_later(claim, ERROR, 1) is False
    assert document(store, job_id)["status"] == "cancelled"


def test_a_retry_keeps_the_job_running_with_its_error_until_the_backoff_is_over(
    store: JobStore, lease_settings: Settings
) -> None:
    lifecycle = Lifecycle(store, lease_settings, "runner-a")
    job_id = _job(store)
    claim = _claim(lifecycle, job_id)
    assert lifecycle.retry_later(claim, ErrorInfo(code="transient_error", message="503"), 30)
    job = document(store, job_id)
    assert job["status"] == "running" and job["error"]["code"] == "transient_error" and job["lease"] is None
    early = lifecycle.begin(job_id)
    assert isinstance(early, Assessment) and early.verdict is Verdict.WAIT and early.wait_s > 28


def test_attempts_are_counted_in_firestore_and_capped(store: JobStore, lease_settings: Settings) -> None:
    lifecycle = Lifecycle(store, lease_settings, "runner-a")
    job_id = _job(store)
    for _ in range(3):
        claim = _claim(lifecycle, job_id)
        assert lifecycle.release(claim, "shutdown")  # as a runner stopped mid-job would
    exhausted = lifecycle.begin(job_id)
    assert isinstance(exhausted, Assessment) and exhausted.verdict is Verdict.EXHAUSTED


def test_replay_resets_a_failed_job_for_a_fresh_round_and_records_it(store: JobStore, lease_settings: Settings) -> None:
    lifecycle = Lifecycle(store, lease_settings, "runner-a")
    job_id = _job(store)
    claim = _claim(lifecycle, job_id)
    assert lifecycle.finish(claim, JobStatus.FAILED, ErrorInfo(code="attempts_exhausted", message="gave up"))
    job = lifecycle.reset_for_replay(job_id, "alice@ops")
    assert job is not None and job.status is JobStatus.QUEUED and job.error is None and job.attempts_base == 1
    stored = document(store, job_id)
    assert stored["outbox_due_at"] is not None  # until the replayed message is confirmed
    assert stored["history"][-1]["outcome"] == "replayed" and stored["history"][-1]["runner"] == "alice@ops"
    again = _claim(lifecycle, job_id)
    assert (again.attempt, again.attempts_used) == (2, 1)
    assert lifecycle.reset_for_replay(str(uuid.uuid4()), "alice@ops") is None
