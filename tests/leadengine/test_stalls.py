"""Stall recovery's decision, without services: only a shortfall of ready messages is published again, longest
idle first, and only jobs idle past JOB_STALL_S that should have a message at all."""

from __future__ import annotations

from datetime import timedelta

from leadengine.jobs import Job, Lease, utcnow
from leadengine.schemas import JobStatus
from leadengine.stalls import plan

NOW = utcnow()


def _job(n: int, idle_s: float, **fields: object) -> Job:
    at = NOW - timedelta(seconds=idle_s)
    return Job.model_validate({"job_id": f"job-{n}", "user_id": "u", "created_at": at, "updated_at": at, **fields})


def test_no_shortfall_publishes_nothing_however_long_the_jobs_waited() -> None:
    waiting = [_job(n, 10_000) for n in range(5)]
    assert plan(waiting, expected=5, ready=5, now=NOW, stall_s=900, max_republishes=3).republish == []


def test_the_shortfall_is_made_good_with_the_longest_idle_jobs() -> None:
    waiting = [_job(1, 1000), _job(2, 5000), _job(3, 3000)]
    chosen = plan(waiting, expected=3, ready=1, now=NOW, stall_s=900, max_republishes=3).republish
    assert [job.job_id for job in chosen] == ["job-2", "job-3"]


def test_jobs_that_showed_life_recently_or_need_no_message_are_left_alone() -> None:
    live_lease = Lease(owner="r", attempt=1, token="t", expires_at=NOW + timedelta(seconds=30))
    jobs = [
        _job(1, 100),  # idle, but not past JOB_STALL_S
        _job(2, 5000, held_at=NOW - timedelta(hours=2)),  # held back for fair share: not in the broker on purpose
        _job(3, 5000, outbox_due_at=NOW),  # never published: the outbox relay's, not stall recovery's
        _job(4, 5000, status=JobStatus.RUNNING, lease=live_lease),  # a live runner holds it
        _job(5, 5000, status=JobStatus.SUCCEEDED),
        _job(6, 5000, status=JobStatus.RUNNING),  # its runner handed it back or died: its message is gone
    ]
    chosen = plan(jobs, expected=10, ready=0, now=NOW, stall_s=900, max_republishes=3).republish
    assert [job.job_id for job in chosen] == ["job-6"]


def test_a_job_whose_message_keeps_getting_lost_is_given_up_instead_of_published_for_ever() -> None:
    decided = plan([_job(1, 5000, republishes=3)], expected=1, ready=0, now=NOW, stall_s=900, max_republishes=3)
    assert decided.republish == [] and [job.job_id for job in decided.give_up] == ["job-1"]
