"""The job as stored in `jobs/{job_id}` (contract §3, §5), typed: its request, attempts, lease, progress, history
and error. Every read of a job document goes through `Job.from_document`, which fills in the defaults of fields
that older documents lack; every change of a job is a method here that returns the changed copy (pure, no I/O),
so the store writes exactly the fields that changed."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from leadengine.errors import JobFinished, JobNotFound
from leadengine.schemas import DEFAULT_MAX_LEADS, JobStatus

T = TypeVar("T")
HISTORY_LIMIT = 20  # the last attempts are what an operator reads; older ones add nothing but size


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Part(BaseModel):
    # extra="ignore": a field an older (or newer) version wrote must not make a job unreadable.
    model_config = ConfigDict(extra="ignore", frozen=True)


class JobRequest(_Part):
    """The validated request fields as stored on the job and shown by GET (§3)."""

    model_config = ConfigDict(extra="allow", frozen=True)  # a seed-format message may carry more

    industry: str = ""
    geography: str = ""
    keywords: list[str] = Field(default_factory=list)
    source_types: list[str] = Field(default_factory=lambda: ["google"])
    search_query: str | None = None
    filters: dict[str, Any] | None = None
    max_leads: int = DEFAULT_MAX_LEADS
    webhook_url: str | None = None  # §7; left out of documents and views when not given

    @model_serializer(mode="wrap")
    def _without_absent_webhook(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("webhook_url", "") is None:
            del data["webhook_url"]  # a request without one reads (and hashes, for Idempotency-Key) as before
        return data


class ErrorInfo(_Part):
    """A job's `error`: a stable snake_case code and a sentence for a person."""

    code: str
    message: str


class Lease(_Part):
    """Who holds a running attempt, until when; `token` is unique to one claim and fences late writes."""

    owner: str
    attempt: int
    token: str = ""
    expires_at: datetime


class HistoryEntry(_Part):
    """One attempt (or an operator's act) as an operator reads it when a job misbehaves."""

    attempt: int | None = None
    runner: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # succeeded, failed, cancelled, retry, shutdown, stuck, lost (its runner died), replayed, running
    outcome: str
    error: ErrorInfo | None = None


Phase = Literal["queued", "searching", "reading_sites", "finished"]
PHASES: tuple[Phase, ...] = ("queued", "searching", "reading_sites", "finished")  # the only order they come in


class Progress(_Part):
    """How far the current attempt has got (§3 `progress`)."""

    phase: Phase = "queued"
    sites_total: int = 0
    sites_done: int = 0
    leads_found: int = 0

    def advanced(self, **changes: Any) -> Progress:
        """This progress with `changes`, except that nothing moves back: within an attempt the phase only goes
        forward and the counts only rise, so a report that lands late (two threads of a runner write progress)
        cannot undo a newer one. Only a new attempt starts again from `searching` (Job.claimed)."""
        if PHASES.index(changes.get("phase", self.phase)) < PHASES.index(self.phase):
            changes["phase"] = self.phase
        for name in ("sites_total", "sites_done", "leads_found"):
            if name in changes:
                changes[name] = max(int(changes[name]), getattr(self, name))
        return self.model_copy(update=changes)


WebhookState = Literal["pending", "delivered", "failed"]


class DeliveryLease(_Part):
    """Who is sending an attempt of a webhook delivery, until when; `token` fences the late write of an attempt
    whose lease ran out and was taken over."""

    owner: str
    token: str
    expires_at: datetime


class WebhookDelivery(_Part):
    """The job.finished notification of a job with a `webhook_url` (§7), created by the write that stores the
    final status (the outbox pattern: a finished job can never lack its pending delivery) and then moved on by
    the delivery worker (leadengine/webhooks.py) through these pure transitions. Attempt n that fails waits
    `delays[n-1]`; the attempt after the last wait is the last one."""

    delivery_id: str
    url: str
    state: WebhookState = "pending"
    attempts: int = 0  # attempts started, the one in flight included
    last_error: str | None = None
    # While pending: when the next attempt is due. While an attempt is in flight it is when that attempt, if its
    # process dies without recording an outcome, is taken over (never before its lease ends). Null once done.
    next_attempt_at: datetime | None = None
    lease: DeliveryLease | None = None
    claims: int = 0  # every claim ever made: names the claim's marker, so two senders cannot take the same one
    delivered_at: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self.state == "pending" and self.next_attempt_at is not None and self.next_attempt_at <= now

    @staticmethod
    def max_attempts(delays: tuple[int, ...]) -> int:
        return len(delays) + 1

    def claimed(self, owner: str, token: str, now: datetime, lease_s: float, delays: tuple[int, ...]) -> Self:
        """Attempt `attempts + 1` for `owner`, leased for `lease_s`."""
        attempt = self.attempts + 1
        lease_end = now + timedelta(seconds=lease_s)
        # Should this attempt's process die, the next one comes when a failure would have brought it, but never
        # while this one may still be running.
        takeover = max(lease_end, now + timedelta(seconds=delays[attempt - 1])) if attempt <= len(delays) else lease_end
        return self.model_copy(update={
            "attempts": attempt, "claims": self.claims + 1, "next_attempt_at": takeover,
            "lease": DeliveryLease(owner=owner, token=token, expires_at=lease_end),
        })  # fmt: skip

    def ended(self, token: str, now: datetime, error: str | None, delays: tuple[int, ...], *,
              permanent: bool = False) -> Self | None:  # fmt: skip
        """The outcome of the attempt claimed with `token`: delivered (error None), retried after its wait, or
        failed after the last attempt (or at once for a `permanent` error, e.g. a refused destination).
        None when that attempt no longer holds the delivery (taken over after its lease): nothing to write."""
        if self.state != "pending" or self.lease is None or self.lease.token != token:
            return None
        if error is None:
            return self.model_copy(update={"state": "delivered", "lease": None, "next_attempt_at": None,
                                           "delivered_at": now, "last_error": None})  # fmt: skip
        if permanent or self.attempts >= self.max_attempts(delays):
            return self.model_copy(update={"state": "failed", "lease": None, "next_attempt_at": None,
                                           "last_error": error})  # fmt: skip
        retry_at = now + timedelta(seconds=delays[self.attempts - 1])
        return self.model_copy(update={"lease": None, "next_attempt_at": retry_at, "last_error": error})

    def interrupted(self, delays: tuple[int, ...]) -> Self:
        """A claimed attempt whose process never recorded an outcome (its lease ran out): counted as failed."""
        error = "the attempt was interrupted before an answer was recorded (the sending process stopped)"
        if self.attempts >= self.max_attempts(delays):
            return self.model_copy(update={"state": "failed", "lease": None, "next_attempt_at": None,
                                           "last_error": error})  # fmt: skip
        return self.model_copy(update={"lease": None, "last_error": error})


@dataclass(frozen=True)
class Claim:
    """Attempt `attempt` of a job, held by `runner_id` under a lease."""

    job_id: str
    attempt: int  # the job's attempts counter after this start (what the API shows)
    attempts_used: int  # attempts in this round (an operator's replay starts a new round)
    runner_id: str
    started_at: datetime
    # Unique to this claim: (runner, attempt) is not, e.g. when a job document is lost and recreated, and a
    # write of an attempt that was given up on must never pass for a new one.
    token: str


class Verdict(enum.StrEnum):
    """What a delivery of a job's message should do, read from the job alone."""

    RUN = "run"  # start a new attempt
    DUPLICATE = "duplicate"  # the job succeeded or was cancelled: acknowledge and drop the delivery
    # The job failed: this copy goes to failed_jobs too. A runner may have died between writing `failed` and
    # dead-lettering its message; failed_jobs then holds the job's message all the same (at least once).
    DEAD_LETTER = "dead_letter"
    HELD = "held"  # a live runner holds it: park this copy in a delay queue, look again later
    WAIT = "wait"  # it is waiting for its retry backoff: park this copy until then
    CANCEL = "cancel"  # cancellation was requested before the attempt started
    # Its user has USER_MAX_RUNNING_JOBS jobs in hand (fair share, leadengine/fairshare.py): park this copy
    CAPPED = "capped"
    EXHAUSTED = "exhausted"  # JOB_MAX_ATTEMPTS attempts were used (e.g. each one killed its runner)
    MISSING = "missing"  # no job document: a seed-format message, or a job deleted since


@dataclass(frozen=True)
class Assessment:
    verdict: Verdict
    wait_s: float = 0.0
    attempts_used: int = 0


# Clocks of two runners differ a little: a retry that comes back this close to its time may start.
RETRY_SLACK = timedelta(seconds=1)


class Job(_Part):
    """`jobs/{job_id}`. Public fields are what GET shows (§3); the rest is the pipeline's own state."""

    job_id: str
    user_id: str
    status: JobStatus = JobStatus.QUEUED
    request: JobRequest = Field(default_factory=JobRequest)
    attempts: int = 0
    lead_count: int = 0
    error: ErrorInfo | None = None
    created_at: datetime
    updated_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: Progress = Field(default_factory=Progress)
    # --- internal ---
    cancel_requested: bool = False
    attempts_base: int = 0  # attempts before the operator's last replay: a replay starts a fresh round
    lease: Lease | None = None
    runner: str | None = None
    retry_not_before: datetime | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    # The outbox mark (leadengine/outbox.py): a timestamp while the message is not confirmed published, else
    # null (the emulator ignores DELETE_FIELD, and a timestamp range never matches null).
    outbox_due_at: datetime | None = None
    published_at: datetime | None = None
    created_by: str | None = None
    republishes: int = 0  # how often stall recovery published a lost message of this job again (§9)
    # The webhook delivery (§7), from the final status on; `webhook_due_at` mirrors its next_attempt_at at the
    # top level (null when nothing is due), for the worker's query, as `outbox_due_at` does for the outbox.
    webhook: WebhookDelivery | None = None
    webhook_due_at: datetime | None = None
    # Fair share (§8): set while the job is held back from the broker because USER_MAX_RUNNING_JOBS of its user's
    # jobs are there; the time it was held is its place in the user's line. Null once published or finished.
    held_at: datetime | None = None

    # --- reading --------------------------------------------------------------------------------------

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Job:
        """A job from its Firestore document, whatever version wrote it."""
        data = dict(document)
        for name in ("attempts", "lead_count", "attempts_base"):
            data[name] = int(data.get(name) or 0)  # older documents stored null or nothing
        for name in ("history", "request", "progress"):
            if data.get(name) is None:
                data.pop(name, None)
        if data.get("progress") is not None and "phase" not in data["progress"]:
            data.pop("progress")  # the runner's old free-form progress field
        return cls.model_validate(data)

    def to_document(self) -> dict[str, Any]:
        document = self.model_dump(mode="python")
        document["status"] = self.status.value  # a plain string in Firestore, as every reader expects
        return document

    @property
    def attempts_used(self) -> int:
        """Attempts started in this round (an operator's replay starts a new one)."""
        return self.attempts - self.attempts_base

    @property
    def finished(self) -> bool:
        return self.status.finished

    @property
    def held(self) -> bool:
        """Held back for fair share: queued, durable, not in the broker until its user's earlier jobs make room."""
        return self.held_at is not None and self.status is JobStatus.QUEUED

    def assess(self, now: datetime, max_attempts: int) -> Assessment:
        """What a delivery of this job should do."""
        used = self.attempts_used
        if self.status is JobStatus.FAILED:
            return Assessment(Verdict.DEAD_LETTER, attempts_used=used)
        if self.finished:
            return Assessment(Verdict.DUPLICATE, attempts_used=used)
        if self.status is JobStatus.RUNNING and self.lease is not None and self.lease.expires_at > now:
            return Assessment(Verdict.HELD, (self.lease.expires_at - now).total_seconds(), used)
        if self.cancel_requested:
            return Assessment(Verdict.CANCEL, attempts_used=used)
        if self.retry_not_before is not None and self.retry_not_before - now > RETRY_SLACK:
            return Assessment(Verdict.WAIT, (self.retry_not_before - now).total_seconds(), used)
        if used >= max_attempts:
            return Assessment(Verdict.EXHAUSTED, attempts_used=used)
        return Assessment(Verdict.RUN, attempts_used=used)

    def held_by(self, claim: Claim) -> bool:
        """Whether this attempt still holds the job: a later attempt, or a finish by anyone, fences it off."""
        if self.finished or self.attempts != claim.attempt or self.lease is None:
            return False
        return self.lease.token == claim.token and self.lease.owner == claim.runner_id

    def attempt_marker(self, attempt: int) -> str:
        """The id whose create() claims attempt n: the same for every runner reading this job, and new for a job
        document that was deleted and created again (Firestore keeps a deleted document's subcollections)."""
        return f"{attempt}-{int(self.created_at.timestamp() * 1_000_000)}"

    # --- changes (each returns the changed copy) --------------------------------------------------------

    def _with(self, **changes: Any) -> Self:
        changed = self.model_copy(update=changes)
        if changed.finished and not self.finished:
            # Every final transition (settled, closed, a queued job's cancel) records the pending webhook
            # delivery in the very write that stores the final status (§7, the outbox pattern).
            changed = changed.with_webhook_pending(changed.finished_at or changed.updated_at or utcnow())
        elif self.finished and not changed.finished and changed.webhook_due_at is not None:
            # An operator's replay: nothing is sent about a job that is not finished; it notifies when it is again.
            changed = changed.model_copy(update={"webhook_due_at": None})
        return changed

    def with_webhook_pending(self, now: datetime) -> Self:
        """A delivery due now, if the job has a webhook_url. A job finishing again (after an operator's replay)
        keeps its delivery_id: one per job, whatever happens."""
        url = self.request.webhook_url
        if url is None:
            return self
        delivery_id = self.webhook.delivery_id if self.webhook is not None else str(uuid.uuid4())
        claims = self.webhook.claims if self.webhook is not None else 0
        return self.with_webhook(WebhookDelivery(delivery_id=delivery_id, url=url, next_attempt_at=now, claims=claims))

    def with_webhook(self, delivery: WebhookDelivery) -> Self:
        """The delivery's new state; the job's own fields (status, updated_at) never change with it."""
        due = delivery.next_attempt_at if delivery.state == "pending" else None
        return self.model_copy(update={"webhook": delivery, "webhook_due_at": due})

    def _history(self, entry: HistoryEntry | None = None, **update: Any) -> list[HistoryEntry]:
        """The history with `entry` appended (attempts still marked running are what a killed runner left
        behind: they become `lost`), or with the entry of attempt `update['attempt']` updated."""
        history = list(self.history)
        if entry is not None:
            history = [item.model_copy(update={"outcome": "lost"}) if item.outcome == "running" else item
                       for item in history]  # fmt: skip
            history.append(entry)
        if update:
            for index in range(len(history) - 1, -1, -1):
                if history[index].attempt == update["attempt"]:
                    history[index] = history[index].model_copy(update=update)
                    break
        return history[-HISTORY_LIMIT:]

    def claimed(self, runner_id: str, now: datetime, lease_s: float) -> tuple[Job, Claim]:
        """Start the next attempt for `runner_id`: running, under a fresh lease, progress counted afresh."""
        attempt = self.attempts + 1
        claim = Claim(self.job_id, attempt, self.attempts_used + 1, runner_id, now, uuid.uuid4().hex)
        entry = HistoryEntry(attempt=attempt, runner=runner_id, started_at=now, outcome="running")
        job = self._with(
            status=JobStatus.RUNNING, attempts=attempt, started_at=self.started_at or now, updated_at=now,
            runner=runner_id, lease=Lease(owner=runner_id, attempt=attempt, token=claim.token,
                                          expires_at=now + timedelta(seconds=lease_s)),
            retry_not_before=None, history=self._history(entry), progress=Progress(phase="searching"), held_at=None,
        )  # fmt: skip
        return job, claim

    def renewed(self, claim: Claim, now: datetime, lease_s: float) -> Job:
        lease = Lease(owner=claim.runner_id, attempt=claim.attempt, token=claim.token,
                      expires_at=now + timedelta(seconds=lease_s))  # fmt: skip
        return self._with(lease=lease)

    def settled(
        self, claim: Claim, now: datetime, outcome: str, *, status: JobStatus | None = None,
        error: ErrorInfo | None = None, retry_at: datetime | None = None,
    ) -> Job:  # fmt: skip
        """The attempt's end: finished (status given), waiting for a retry (retry_at), or handed back."""
        changes: dict[str, Any] = {"updated_at": now, "lease": None,
                                   "history": self._history(attempt=claim.attempt, outcome=outcome, error=error,
                                                            finished_at=now)}  # fmt: skip
        if status is not None:
            changes.update(status=status, finished_at=now, error=error)
            if status is JobStatus.SUCCEEDED:
                changes["progress"] = self.progress.model_copy(
                    update={
                        "phase": "finished",
                        "sites_done": self.progress.sites_total,
                        "leads_found": self.lead_count,
                    }
                )
        if retry_at is not None:
            changes.update(error=error, retry_not_before=retry_at)
        return self._with(**changes)

    def closed(self, status: JobStatus, now: datetime, by: str, outcome: str, error: ErrorInfo | None) -> Job:
        """Finish a job that no attempt holds (invalid message, attempts exhausted, cancelled before it ran)."""
        entry = HistoryEntry(runner=by, finished_at=now, outcome=outcome, error=error)
        return self._with(
            status=status, finished_at=now, updated_at=now, error=error, lease=None, retry_not_before=None,
            outbox_due_at=None, history=self._history(entry), held_at=None,
        )  # fmt: skip

    def cancel_requested_by_user(self, now: datetime) -> Job:
        """A user's cancel: a queued job is cancelled at once, a running one at its next checkpoint."""
        if self.status is JobStatus.QUEUED:
            return self._with(cancel_requested=True, updated_at=now, status=JobStatus.CANCELLED, finished_at=now,
                              outbox_due_at=None, held_at=None)  # fmt: skip
        return self._with(cancel_requested=True, updated_at=now)

    @property
    def last_sign_of_life(self) -> datetime:
        """The latest moment anything showed this job alive: a write, a publish, a lease a runner renewed."""
        moments = [self.created_at, self.updated_at, self.published_at, self.lease.expires_at if self.lease else None]
        return max(moment for moment in moments if moment is not None)

    def awaits_message(self, now: datetime) -> bool:
        """Whether this job should have a message waiting in the broker: published and queued (not held back
        for fair share), or running with no live lease (waiting for its retry, or handed back by its runner)."""
        if self.status is JobStatus.QUEUED:
            return self.outbox_due_at is None and self.held_at is None
        if self.status is JobStatus.RUNNING:
            return self.lease is None or self.lease.expires_at <= now
        return False

    def republished(self, now: datetime) -> Job:
        """Stall recovery published this job's lost message again: that is a sign of life."""
        entry = HistoryEntry(runner="stall-recovery", finished_at=now, outcome="republished")
        return self._with(updated_at=now, published_at=now, republishes=self.republishes + 1,
                          history=self._history(entry))  # fmt: skip

    def replayed(self, operator: str, now: datetime) -> Job:
        """An operator's replay: back to queued for a fresh round of attempts, marked for the outbox. The one
        backward move of status, on purpose; the history records who made it."""
        entry = HistoryEntry(runner=operator, finished_at=now, outcome="replayed", error=self.error)
        return self._with(
            status=JobStatus.QUEUED, error=None, finished_at=None, cancel_requested=False,
            attempts_base=self.attempts, lease=None, retry_not_before=None, outbox_due_at=now, updated_at=now,
            history=self._history(entry), progress=Progress(),
        )  # fmt: skip

    def with_leads(self, lead_count: int, progress: Progress | None, now: datetime) -> Job:
        return self._with(lead_count=lead_count, progress=self._progressed(progress), updated_at=now)

    def with_progress(self, progress: Progress) -> Job:
        """The running attempt's progress as its runner reports it; its phase only moves forward."""
        return self._with(progress=self._progressed(progress))

    def _progressed(self, progress: Progress | None) -> Progress:
        if progress is None:
            return self.progress
        return self.progress.advanced(**progress.model_dump())

    def held_back(self, now: datetime) -> Job:
        """A new job kept out of the broker for fair share (§8): no outbox mark, so no relay publishes it, until
        `released` gives it its user's freed place."""
        return self._with(held_at=now, outbox_due_at=None, published_at=None)

    def released(self, now: datetime) -> Job:
        """A held job whose turn came: marked for the outbox until the broker confirms its message."""
        return self._with(held_at=None, outbox_due_at=now, updated_at=now)


def new_job(job_id: str, user_id: str, request: JobRequest, now: datetime, *, published: bool = False) -> Job:
    """A queued job. Unless its message is already published (a seed-format message), it carries the outbox
    mark until the broker confirms it."""
    return Job(
        job_id=job_id, user_id=user_id, request=request, created_at=now, updated_at=now,
        outbox_due_at=None if published else now, published_at=now if published else None,
    )  # fmt: skip


@dataclass(frozen=True)
class Change(Generic[T]):
    """What a decision over a job makes of it (`JobStore.change_job`): the result to return, the job after the
    change (None: write nothing), and an attempt marker to create in the same write (the exclusive claim)."""

    result: T
    job: Job | None = None
    marker: str | None = None


def user_cancel(job_id: str, user_id: str) -> Callable[[Job | None], Change[Job]]:
    """The decision of a user's cancel (§3): JobNotFound for a missing or another user's job, JobFinished for a
    finished one; a queued job is cancelled at once, a running one at its next checkpoint."""

    def decide(job: Job | None) -> Change[Job]:
        if job is None or job.user_id != user_id:
            raise JobNotFound(job_id)
        if job.finished:
            raise JobFinished(job_id, job.status.value)
        cancelled = job.cancel_requested_by_user(utcnow())
        return Change(cancelled, cancelled)

    return decide


def release_held(job_id: str) -> Callable[[Job | None], Change[Job | None]]:
    """The decision that publishes a held job: the released job (to publish), or None when it is not held any more
    (cancelled meanwhile, or released by another process)."""

    def decide(job: Job | None) -> Change[Job | None]:
        if job is None or not job.held:
            return Change(None)
        released = job.released(utcnow())
        return Change(released, released)

    return decide
