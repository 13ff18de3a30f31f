"""Lost messages (contract §9): an unfinished job whose message is gone from the broker (a purged or deleted queue,
a broker that lost its data) and that no live runner holds is published again, within about JOB_STALL_S of its last
sign of life, by the relay (locally its loop, on GCP the scheduled relay route).

A job cannot be looked up in a queue, so the broker is compared as a whole: the jobs that should each have a ready
message (published and queued, or running with no live lease) against the messages ready in scrape_jobs and its
delay queues. Only a shortfall is published again, the longest-idle jobs first, so a healthy backlog of N waiting
jobs stays about N messages however long it waits. A job whose message was lost JOB_MAX_ATTEMPTS times is failed
(`message_lost`) with its message in failed_jobs rather than published for ever."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from leadengine import topology
from leadengine.errors import PublishFailed
from leadengine.jobs import Change, ErrorInfo, Job, utcnow
from leadengine.log import get_logger
from leadengine.publisher import Publisher
from leadengine.schemas import JobMessage, JobStatus
from leadengine.settings import Settings
from leadengine.store import JobStore

log = get_logger(__name__)

CANDIDATES = 200  # idle jobs looked at per pass; a larger loss is made good over the following passes


@dataclass(frozen=True)
class Plan:
    republish: list[Job]
    give_up: list[Job]


def plan(
    candidates: list[Job], *, expected: int, ready: int, now: datetime, stall_s: float, max_republishes: int
) -> Plan:
    """Which idle jobs to publish again (pure): at most the shortfall of ready messages, longest idle first, each
    idle past `stall_s` and still awaiting a message; those already republished `max_republishes` times give up."""
    shortfall = expected - ready
    if shortfall <= 0:
        return Plan([], [])
    cutoff = now - timedelta(seconds=stall_s)
    lost = sorted(
        (job for job in candidates if job.awaits_message(now) and job.last_sign_of_life <= cutoff),
        key=lambda job: job.last_sign_of_life,
    )[:shortfall]
    return Plan(
        republish=[job for job in lost if job.republishes < max_republishes],
        give_up=[job for job in lost if job.republishes >= max_republishes],
    )


def recover_once(store: JobStore, publisher: Publisher, settings: Settings) -> int:
    """One pass; how many lost messages were published again. DependencyUnavailable when Firestore or the broker
    cannot be asked (the next pass tries again)."""
    now = utcnow()
    cutoff = now - timedelta(seconds=settings.job_stall_s)
    candidates = store.jobs_idle_since(cutoff, CANDIDATES)
    if not candidates:
        return 0  # the common case: nothing idle that long, and no question to the broker
    expected = store.count_jobs_awaiting_a_message(now)
    ready = topology.ready_messages(settings, settings.job_retry_delays_s)
    chosen = plan(candidates, expected=expected, ready=ready, now=now, stall_s=settings.job_stall_s,
                  max_republishes=settings.job_max_attempts)  # fmt: skip
    log.info("stall_check", idle=len(candidates), expected=expected, ready=ready, lost=len(chosen.republish))
    republished = 0
    for job in chosen.republish:
        marked = store.change_job(job.job_id, _mark_republished(cutoff))
        if marked is None:
            continue  # it showed a sign of life meanwhile
        try:
            publisher.publish(JobMessage.for_job(marked))
        except PublishFailed as e:
            # Marked but not published: it looks alive for one more JOB_STALL_S, then the next pass tries again.
            log.warning("stalled_job_not_republished", job_id=job.job_id, error=str(e))
            continue
        republished += 1
        log.warning("stalled_job_republished", job_id=job.job_id, user_id=job.user_id,
                    idle_s=round((now - job.last_sign_of_life).total_seconds()), republishes=marked.republishes)  # fmt: skip
    for job in chosen.give_up:
        _give_up(store, publisher, job, cutoff)
    if republished or chosen.give_up:
        log.info("stall_recovery", expected=expected, ready=ready, republished=republished,
                 given_up=len(chosen.give_up))  # fmt: skip
    return republished


def _mark_republished(cutoff: datetime) -> Callable[[Job | None], Change[Job | None]]:
    def decide(job: Job | None) -> Change[Job | None]:
        now = utcnow()
        if job is None or not job.awaits_message(now) or job.last_sign_of_life > cutoff:
            return Change(None)
        changed = job.republished(now)
        return Change(changed, changed)

    return decide


def _give_up(store: JobStore, publisher: Publisher, job: Job, cutoff: datetime) -> None:
    """A job whose message keeps getting lost: failed, with a copy of its message in failed_jobs (where an operator
    can replay it). The copy goes first, so a crash in between leaves a job that the next pass fails again."""
    error = ErrorInfo(code="message_lost", message=f"its message was lost {job.republishes + 1} times and was not run")
    try:
        publisher.send(
            topology.dead_letter_envelope(JobMessage.for_job(job).body(), topology.job_properties(job.job_id))
        )
    except PublishFailed as e:
        log.warning("stalled_job_not_failed", job_id=job.job_id, error=str(e))
        return

    def decide(current: Job | None) -> Change[bool]:
        now = utcnow()
        if current is None or not current.awaits_message(now) or current.last_sign_of_life > cutoff:
            return Change(False)
        return Change(True, current.closed(JobStatus.FAILED, now, "stall-recovery", "failed", error))

    if store.change_job(job.job_id, decide):
        log.warning("stalled_job_failed", job_id=job.job_id, code=error.code)


class Recovery:
    """Stall recovery at most every `interval_s` within a process's relay loop (its queries cost little, but a
    relay pass runs every few seconds)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._interval_s = min(60.0, settings.job_stall_s / 4)
        self._next = 0.0

    def maybe_run(self, store: JobStore, publisher: Publisher) -> int:
        if time.monotonic() < self._next:
            return 0
        self._next = time.monotonic() + self._interval_s
        return recover_once(store, publisher, self._settings)
