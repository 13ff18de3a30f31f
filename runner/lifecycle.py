"""A job's lifecycle in Firestore as the runner drives it (contract §3): claim an attempt under a lease, keep
the lease alive, wait for a retry, finish. Status only moves forward, whatever the deliveries and runners do.

Each change is a read-modify-write in a Firestore transaction, which is what makes it right on real
Firestore. The local emulator does not isolate transactions, so the one thing two runners may race for, the
claim of attempt n, also rests on `create()` of `jobs/{id}/attempts/{n}-{created_at}`: only one create of an
id succeeds.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.cloud import firestore

from leadengine.schemas import JobMessage, JobStatus
from leadengine.store import JobStore, utcnow

ATTEMPTS = "attempts"
HISTORY_LIMIT = 20  # the last attempts are what an operator reads; older ones add nothing but size
# Clocks of two runners differ a little: a retry that comes back this close to its time may start.
RETRY_SLACK = timedelta(seconds=1)
T = TypeVar("T")


class Verdict(enum.StrEnum):
    RUN = "run"  # start a new attempt
    DUPLICATE = "duplicate"  # the job is finished: acknowledge and drop the delivery
    HELD = "held"  # a live runner holds it: park this copy in a delay queue, look again later
    WAIT = "wait"  # it is waiting for its retry backoff: park this copy until then
    CANCEL = "cancel"  # cancellation was requested before the attempt started
    EXHAUSTED = "exhausted"  # JOB_MAX_ATTEMPTS attempts were used (e.g. each one killed its runner)
    MISSING = "missing"  # no job document: a seed-format message, or a job deleted since


@dataclass(frozen=True)
class Assessment:
    verdict: Verdict
    wait_s: float = 0.0
    attempts_used: int = 0


@dataclass(frozen=True)
class Claim:
    """Attempt `attempt` of a job, held by this runner under a lease."""

    job_id: str
    attempt: int  # the job's attempts counter after this start (what the API shows)
    attempts_used: int  # attempts in this round (replay starts a new round)
    runner_id: str
    started_at: datetime
    # Unique to this claim: (runner, attempt) is not, e.g. when a job document is lost and recreated, and a
    # write of an attempt that was given up on (a transaction past its deadline) must never pass for a new one.
    token: str = ""


def assess(job: dict[str, Any], now: datetime, max_attempts: int) -> Assessment:
    """What a delivery of this job should do, from the job document alone."""
    status = JobStatus(job.get("status") or JobStatus.QUEUED)
    used = int(job.get("attempts") or 0) - int(job.get("attempts_base") or 0)
    if status.finished:
        return Assessment(Verdict.DUPLICATE, attempts_used=used)
    lease = job.get("lease")
    if status is JobStatus.RUNNING and lease and lease["expires_at"] > now:
        return Assessment(Verdict.HELD, (lease["expires_at"] - now).total_seconds(), used)
    if job.get("cancel_requested"):
        return Assessment(Verdict.CANCEL, attempts_used=used)
    retry_at = job.get("retry_not_before")
    if retry_at is not None and retry_at - now > RETRY_SLACK:
        return Assessment(Verdict.WAIT, (retry_at - now).total_seconds(), used)
    if used >= max_attempts:
        return Assessment(Verdict.EXHAUSTED, attempts_used=used)
    return Assessment(Verdict.RUN, attempts_used=used)


def _owned(job: dict[str, Any] | None, claim: Claim) -> bool:
    """Whether this attempt still holds the job: a later attempt, or a finish by anyone, fences it off."""
    if job is None or JobStatus(job["status"]).finished or int(job.get("attempts") or 0) != claim.attempt:
        return False
    lease = job.get("lease") or {}
    return bool(lease.get("token") == claim.token and lease.get("owner") == claim.runner_id)


def _attempt_id(job: dict[str, Any], attempt: int) -> str:
    """The id whose create() claims attempt n: the same for every runner reading this job, and new for a job
    document that was deleted and created again (Firestore keeps a deleted document's subcollections)."""
    created = job.get("created_at")
    incarnation = int(created.timestamp() * 1_000_000) if isinstance(created, datetime) else 0
    return f"{attempt}-{incarnation}"


def _lease(owner: str, attempt: int, token: str, expires_at: datetime) -> dict[str, Any]:
    return {"owner": owner, "attempt": attempt, "token": token, "expires_at": expires_at}


def _history(job: dict[str, Any], entry: dict[str, Any] | None = None, **update: Any) -> list[dict[str, Any]]:
    """The job's attempt history with `entry` appended, or with the entry of attempt `update['attempt']`
    updated; attempts still marked running whose lease is gone are what a killed runner left behind."""
    history = [dict(item) for item in job.get("history") or []]
    if entry is not None:
        for item in history:
            if item.get("outcome") == "running":
                item["outcome"] = "lost"  # its runner died or lost the lease without a word
        history.append(entry)
    if update:
        for item in reversed(history):
            if item.get("attempt") == update["attempt"]:
                item.update(update)
                break
    return history[-HISTORY_LIMIT:]


class Lifecycle:
    """The runner's writes to `jobs/{job_id}`; every method raises StoreUnavailable when Firestore is away."""

    def __init__(self, store: JobStore, settings: Any, runner_id: str) -> None:
        self.store = store
        self.runner_id = runner_id
        self._max_attempts = settings.job_max_attempts
        self._lease = timedelta(seconds=settings.runner_lease_s)

    def _transact(self, body: Callable[[firestore.Transaction], T]) -> T:
        # Bounded by the store (3 x FIRESTORE_TIMEOUT_S). A transaction that still commits after we gave up is
        # harmless here: a late claim holds a lease that lapses, a late finish makes the parked copy a duplicate,
        # and every write is fenced by the claim's token.
        return self.store.transact(body)

    def _read(self, transaction: firestore.Transaction, job_id: str) -> dict[str, Any] | None:
        snapshot = self.store.job_ref(job_id).get(transaction=transaction, **self.store.call_options)
        return snapshot.to_dict() if snapshot.exists else None

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self.store.unavailable_as_error():
            snapshot = self.store.job_ref(job_id).get(**self.store.call_options)
        return snapshot.to_dict() if snapshot.exists else None

    def ensure_job(self, message: JobMessage) -> bool:
        """Create the job of a seed-format message that has no document (§4); True if it was created.
        The message itself is the published copy, so the outbox has nothing to do for it."""
        now = utcnow()
        job = JobStore.new_job(message.job_id, message.user_id, message.job_request(), now)
        job.update(outbox_due_at=None, published_at=now, created_by="seed_message")
        try:
            with self.store.unavailable_as_error():
                self.store.job_ref(message.job_id).create(job, **self.store.call_options)
        except gexc.AlreadyExists:
            return False
        return True

    def begin(self, job_id: str) -> Claim | Assessment:
        """Claim the next attempt of the job for this runner, or say why this delivery must not run it."""
        ref = self.store.job_ref(job_id)

        def claim(transaction: firestore.Transaction) -> Claim | Assessment:
            job = self._read(transaction, job_id)
            now = utcnow()
            if job is None:
                return Assessment(Verdict.MISSING)
            verdict = assess(job, now, self._max_attempts)
            if verdict.verdict is not Verdict.RUN:
                return verdict
            attempt = int(job.get("attempts") or 0) + 1
            token = uuid.uuid4().hex
            transaction.create(
                ref.collection(ATTEMPTS).document(_attempt_id(job, attempt)),
                {"runner": self.runner_id, "started_at": now},
            )
            entry = {"attempt": attempt, "runner": self.runner_id, "started_at": now, "finished_at": None,
                     "outcome": "running", "error": None}  # fmt: skip
            transaction.update(
                ref,
                {
                    "status": JobStatus.RUNNING.value,
                    "attempts": attempt,
                    "started_at": job.get("started_at") or now,
                    "updated_at": now,
                    "runner": self.runner_id,
                    "lease": _lease(self.runner_id, attempt, token, now + self._lease),
                    "retry_not_before": None,
                    "history": _history(job, entry),
                },
            )
            return Claim(job_id, attempt, verdict.attempts_used + 1, self.runner_id, now, token)

        try:
            return self._transact(claim)
        except gexc.AlreadyExists:
            # Another runner created attempts/{n} a moment ago: it holds the job for a lease from now.
            return Assessment(Verdict.HELD, self._lease.total_seconds())

    def renew(self, claim: Claim) -> dict[str, Any] | None:
        """Extend the lease; the job as read, or None when this attempt no longer holds it."""
        ref = self.store.job_ref(claim.job_id)

        def extend(transaction: firestore.Transaction) -> dict[str, Any] | None:
            job = self._read(transaction, claim.job_id)
            if job is None or not _owned(job, claim):
                return None
            lease = _lease(claim.runner_id, claim.attempt, claim.token, utcnow() + self._lease)
            transaction.update(ref, {"lease": lease})
            return job

        return self._transact(extend)

    def _settle(self, claim: Claim, changes: dict[str, Any], outcome: str, error: dict[str, str] | None) -> bool:
        ref = self.store.job_ref(claim.job_id)

        def write(transaction: firestore.Transaction) -> bool:
            job = self._read(transaction, claim.job_id)
            if job is None or not _owned(job, claim):
                return False
            target = JobStatus(changes.get("status", job["status"]))
            if target != job["status"] and not JobStatus(job["status"]).can_move_to(target):
                return False
            now = utcnow()
            history = _history(job, attempt=claim.attempt, outcome=outcome, error=error, finished_at=now)
            transaction.update(ref, {**changes, "updated_at": now, "lease": None, "history": history})
            return True

        return self._transact(write)

    def finish(self, claim: Claim, status: JobStatus, error: dict[str, str] | None) -> bool:
        """Record the attempt's final outcome; False if this attempt was fenced off (nothing written).
        lead_count is already current: every save of leads recounts them (RunContext.save_leads)."""
        changes = {"status": status.value, "finished_at": utcnow(), "error": error}
        return self._settle(claim, changes, status.value, error)

    def retry_later(self, claim: Claim, error: dict[str, str], delay_s: float) -> bool:
        """The attempt failed transiently: the job stays running with its last error until the retry."""
        changes = {"error": error, "retry_not_before": utcnow() + timedelta(seconds=delay_s)}
        return self._settle(claim, changes, "retry", error)

    def release(self, claim: Claim, outcome: str) -> bool:
        """Give the job up unfinished (shutdown): the next delivery may start a new attempt at once."""
        return self._settle(claim, {}, outcome, None)

    def close_unclaimed(
        self, job_id: str, status: JobStatus, error: dict[str, str] | None, outcome: str, *, only_queued: bool = False
    ) -> bool:
        """Finish a job no attempt holds (invalid message, unknown source, attempts exhausted, cancelled before
        it started); False when it is missing, finished, or the move would go backward."""
        ref = self.store.job_ref(job_id)

        def write(transaction: firestore.Transaction) -> bool:
            job = self._read(transaction, job_id)
            if job is None or not JobStatus(job["status"]).can_move_to(status):
                return False
            if only_queued and job["status"] != JobStatus.QUEUED:
                return False
            now = utcnow()
            entry = {"attempt": None, "runner": self.runner_id, "started_at": None, "finished_at": now,
                     "outcome": outcome, "error": error}  # fmt: skip
            transaction.update(
                ref,
                {"status": status.value, "finished_at": now, "updated_at": now, "error": error, "lease": None,
                 "retry_not_before": None, "outbox_due_at": None, "history": _history(job, entry)},
            )  # fmt: skip
            return True

        return self._transact(write)

    def reset_for_replay(self, job_id: str, operator: str) -> dict[str, Any] | None:
        """An operator's replay: the job goes back to queued for a fresh round of JOB_MAX_ATTEMPTS attempts.
        This is the one backward move of status, on purpose, and the history records who made it. The job
        is marked for the outbox until the replayed message is confirmed, so a failed publish is not lost."""
        ref = self.store.job_ref(job_id)

        def write(transaction: firestore.Transaction) -> dict[str, Any] | None:
            job = self._read(transaction, job_id)
            if job is None:
                return None
            now = utcnow()
            entry = {"attempt": None, "runner": operator, "started_at": None, "finished_at": now,
                     "outcome": "replayed", "error": job.get("error")}  # fmt: skip
            changes = {
                "status": JobStatus.QUEUED.value, "error": None, "finished_at": None, "cancel_requested": False,
                "attempts_base": int(job.get("attempts") or 0), "lease": None, "retry_not_before": None,
                "outbox_due_at": now, "updated_at": now, "history": _history(job, entry),
            }  # fmt: skip
            transaction.update(ref, changes)
            return {**job, **changes}

        return self._transact(write)

    def record_leads(self, job_id: str, lead_count: int) -> None:
        with self.store.unavailable_as_error():
            self.store.job_ref(job_id).update(
                {"lead_count": lead_count, "updated_at": utcnow()}, **self.store.call_options
            )

    def record_progress(self, job_id: str, progress: dict[str, Any]) -> None:
        with self.store.unavailable_as_error():
            self.store.job_ref(job_id).update({"progress": progress}, **self.store.call_options)
