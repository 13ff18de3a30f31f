"""A job's lifecycle as the runner drives it (contract §3): claim an attempt under a lease, keep the lease alive,
wait for a retry, finish. Status only moves forward, whatever the deliveries and runners do.

Each method is a decision over the typed job (leadengine/jobs.py) that the store applies as one read-decide-write
(`JobStore.change_job`); every write of an attempt is fenced by its claim's token."""

from __future__ import annotations

from datetime import datetime, timedelta

from leadengine.errors import AttemptTaken
from leadengine.jobs import Assessment, Change, Claim, ErrorInfo, Job, JobRequest, Progress, Verdict, new_job, utcnow
from leadengine.schemas import JobMessage, JobStatus
from leadengine.settings import Settings
from leadengine.store import JobStore

__all__ = ["Assessment", "Claim", "Lifecycle", "Verdict"]


class Lifecycle:
    """The runner's changes to `jobs/{job_id}`; every method raises StoreUnavailable when Firestore is away."""

    def __init__(self, store: JobStore, settings: Settings, runner_id: str) -> None:
        self.store = store
        self.runner_id = runner_id
        self._max_attempts = settings.job_max_attempts
        self._lease_s = settings.runner_lease_s

    def get(self, job_id: str) -> Job | None:
        return self.store.find_job(job_id)

    def ensure_job(self, message: JobMessage) -> bool:
        """Create the job of a seed-format message that has no document (§4); True if it was created.
        The message itself is the published copy, so the outbox has nothing to do for it."""
        job = new_job(message.job_id, message.user_id, JobRequest.model_validate(message.job_request()), utcnow(),
                      published=True)  # fmt: skip
        return self.store.create_job_if_missing(job.model_copy(update={"created_by": "seed_message"}))

    def begin(self, job_id: str) -> Claim | Assessment:
        """Claim the next attempt of the job for this runner, or say why this delivery must not run it.

        An attempt starts only with one of its user's USER_MAX_RUNNING_JOBS places (fair share, §8): the job
        normally took it when it was published; a message that came another way (a seed-style publisher, a
        replay) takes a free one here, or is CAPPED and waits in a delay queue."""
        read = self.store.read_job(job_id)  # decided on twice: for the place, then (unless written since) the claim
        job = read.job
        runnable = job is not None and job.assess(utcnow(), self._max_attempts).verdict is Verdict.RUN
        if job is not None and runnable and not self.store.take_place(job.user_id, job_id):
            return Assessment(Verdict.CAPPED, attempts_used=job.attempts_used)

        def claim(job: Job | None) -> Change[Claim | Assessment]:
            if job is None:
                return Change(Assessment(Verdict.MISSING))
            now = utcnow()
            assessment = job.assess(now, self._max_attempts)
            if assessment.verdict is not Verdict.RUN:
                return Change(assessment)
            claimed, new_claim = job.claimed(self.runner_id, now, self._lease_s)
            return Change(new_claim, claimed, marker=job.attempt_marker(new_claim.attempt))

        try:
            return self.store.change_job(job_id, claim, read=read)
        except AttemptTaken:
            # Another runner created the attempt's marker a moment ago: it holds the job for a lease from now.
            return Assessment(Verdict.HELD, self._lease_s)

    def renew(self, claim: Claim) -> Job | None:
        """Extend the lease; the job as read, or None when this attempt no longer holds it."""

        def extend(job: Job | None) -> Change[Job | None]:
            if job is None or not job.held_by(claim):
                return Change(None)
            return Change(job, job.renewed(claim, utcnow(), self._lease_s))

        return self.store.change_job(claim.job_id, extend)

    def _settle(
        self, claim: Claim, outcome: str, *, status: JobStatus | None = None, error: ErrorInfo | None = None,
        retry_at: datetime | None = None, lead_count: int | None = None,
    ) -> bool:  # fmt: skip
        def write(job: Job | None) -> Change[bool]:
            if job is None or not job.held_by(claim):
                return Change(False)
            if status is not None and not job.status.can_move_to(status):
                return Change(False)
            now = utcnow()
            if lead_count is not None:
                job = job.with_leads(lead_count, None, now)
            settled = job.settled(claim, now, outcome, status=status, error=error, retry_at=retry_at)
            return Change(True, settled)

        return self.store.change_job(claim.job_id, write)

    def holds(self, claim: Claim) -> bool:
        """Whether this attempt still holds its job, as the store says now (a fence before a write that
        cannot carry one itself)."""
        job = self.store.find_job(claim.job_id)
        return job is not None and job.held_by(claim)

    def finish(
        self, claim: Claim, status: JobStatus, error: ErrorInfo | None, *, leads_saved: int | None = None
    ) -> bool:
        """Record the attempt's final outcome; False if this attempt was fenced off (nothing written).
        A success keeps exactly the leads this attempt found (§6: processing twice never duplicates): leads an
        earlier attempt left, and this one did not find again, are removed first. The job's first attempt has no
        earlier one, so it skips that (and, given `leads_saved`, the count): a job's common path costs two
        Firestore round trips to claim and two to finish."""
        lead_count: int | None = None
        if status is JobStatus.SUCCEEDED:
            if claim.attempt > 1:
                if not self.holds(claim):
                    return False
                self.store.delete_leads_except(claim.job_id, claim.attempt)
                leads_saved = None
            lead_count = leads_saved if leads_saved is not None else self.store.count_leads(claim.job_id, claim.attempt)
        return self._settle(claim, status.value, status=status, error=error, lead_count=lead_count)

    def retry_later(self, claim: Claim, error: ErrorInfo, delay_s: float) -> bool:
        """The attempt failed transiently: the job stays running with its last error until the retry."""
        return self._settle(claim, "retry", error=error, retry_at=utcnow() + timedelta(seconds=delay_s))

    def release(self, claim: Claim, outcome: str) -> bool:
        """Give the job up unfinished (shutdown): the next delivery may start a new attempt at once."""
        return self._settle(claim, outcome)

    def close_unclaimed(
        self, job_id: str, status: JobStatus, error: ErrorInfo | None, outcome: str, *, only_queued: bool = False
    ) -> bool:
        """Finish a job no attempt holds (invalid message, unknown source, attempts exhausted, cancelled before
        it started); False when it is missing, finished, or the move would go backward."""

        def write(job: Job | None) -> Change[bool]:
            if job is None or not job.status.can_move_to(status):
                return Change(False)
            if only_queued and job.status is not JobStatus.QUEUED:
                return Change(False)
            return Change(True, job.closed(status, utcnow(), self.runner_id, outcome, error))

        return self.store.change_job(job_id, write)

    def reset_for_replay(self, job_id: str, operator: str) -> Job | None:
        """An operator's replay: the job goes back to queued for a fresh round of JOB_MAX_ATTEMPTS attempts,
        marked for the outbox until the replayed message is confirmed, so a failed publish is not lost."""

        def write(job: Job | None) -> Change[Job | None]:
            if job is None:
                return Change(None)
            replayed = job.replayed(operator, utcnow())
            return Change(replayed, replayed)

        return self.store.change_job(job_id, write)

    def record_leads(self, claim: Claim, lead_count: int, progress: Progress | None = None) -> bool:
        """The lead count (and progress) of a running attempt; False, writing nothing, once it is fenced off."""

        def write(job: Job | None) -> Change[bool]:
            if job is None or not job.held_by(claim):
                return Change(False)
            return Change(True, job.with_leads(lead_count, progress, utcnow()))

        return self.store.change_job(claim.job_id, write)

    def record_progress(self, claim: Claim, progress: Progress) -> bool:
        def write(job: Job | None) -> Change[bool]:
            if job is None or not job.held_by(claim):
                return Change(False)
            return Change(True, job.with_progress(progress))

        return self.store.change_job(claim.job_id, write)
