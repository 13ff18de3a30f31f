"""One delivery of scrape_jobs, from its body to what the consumer must do with it (a Settlement): parse,
claim an attempt, run the handler, apply the failure policy, record the outcome. Runs in the worker thread and
never touches pika: the consumer applies the settlement on the connection's thread."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from pydantic import ValidationError

from leadengine import outbox
from leadengine.errors import DependencyUnavailable
from leadengine.jobs import Assessment, Claim, ErrorInfo, Verdict
from leadengine.log import get_logger
from leadengine.publisher import Publisher
from leadengine.schemas import JobMessage, JobStatus
from leadengine.settings import Settings
from leadengine.store import JobStore
from runner import metrics, policy
from runner.context import RunContext
from runner.errors import AttemptInterrupted, PermanentJobError
from runner.handler_api import JobHandler
from runner.lifecycle import Lifecycle

log = get_logger(__name__)


@dataclass(frozen=True)
class Settlement:
    """ack: done with it. dead_letter: reject without requeue, so the queue's dead-letter arguments route it
    to failed_jobs. delay: publish it (confirmed) to the delay queue of `delay_s`, then ack. leave: no ack;
    the broker redelivers it once this connection closes."""

    kind: Literal["ack", "dead_letter", "delay", "leave"]
    delay_s: int = 0


ACK = Settlement("ack")
# A job message is a few hundred bytes; the API's ranges (§3) keep any valid one far below this.
MAX_MESSAGE_BYTES = 64 * 1024
DEAD_LETTER = Settlement("dead_letter")
LEAVE = Settlement("leave")
# Outcomes after which the job is finished: its user's place comes free for the next held job (§8).
ENDED = frozenset({"succeeded", "failed", "cancelled"})


class JobProcessor:
    def __init__(
        self, settings: Settings, store: JobStore, handler: JobHandler, runner_id: str,
        publisher: Publisher | None = None,
    ) -> None:  # fmt: skip
        self._settings = settings
        self._handler = handler
        self._store = store
        self._publisher = publisher  # for the held jobs a finished job makes room for; made on first use if None
        self._ended = False  # whether the delivery being processed finished its job
        self.lifecycle = Lifecycle(store, settings, runner_id)
        self._delays: tuple[int, ...] = tuple(settings.job_retry_delays_s)
        self._lock = threading.Lock()
        self._current: RunContext | None = None

    @property
    def current(self) -> RunContext | None:
        """The attempt running now, for the consumer's shutdown and watchdog."""
        with self._lock:
            return self._current

    def process(self, body: bytes, *, redelivered: bool = False) -> Settlement:
        started = time.monotonic()
        if len(body) > MAX_MESSAGE_BYTES:
            return self._invalid(body, f"the message is {len(body)} bytes, over the {MAX_MESSAGE_BYTES} a job can be")
        try:
            message = JobMessage.model_validate_json(body)
        except ValidationError as e:
            problem = "; ".join(f"{'.'.join(map(str, i['loc'])) or 'body'}: {i['msg']}" for i in e.errors()[:3])
            return self._invalid(body, f"the message is not a valid job: {problem}")
        with structlog.contextvars.bound_contextvars(job_id=message.job_id):
            log.info("message_received", redelivered=redelivered)
            self._ended = False
            try:
                settlement = self._process(message, started)
            except DependencyUnavailable as e:
                # Firestore is away before or after the attempt: nothing can be recorded, so park the
                # message and look again after the shortest backoff. An attempt it cut short is not lost:
                # its lease lapses and the next delivery starts a new one.
                delay = policy.wait_delay_s(self._delays, 0)
                log.warning("message_failed", code="store_unavailable", error=str(e), action="delay", delay_s=delay)
                metrics.DELIVERIES.labels("store_unavailable").inc()
                return Settlement("delay", delay)
            if self._ended:
                self._make_room(message)
            return settlement

    def _make_room(self, message: JobMessage) -> None:
        """The job finished: free its user's place and publish the user's next held job (fair share, §8). Best
        effort: if Firestore or the broker is away, the relay's pass moves the user's line instead."""
        if self._publisher is None:
            self._publisher = Publisher(self._settings)
        try:
            released = outbox.make_room(self._store, self._publisher, message.user_id, message.job_id)
        except DependencyUnavailable as e:
            log.warning("room_not_made", user_id=message.user_id, error=str(e))
            return
        if released:
            log.info("room_made", user_id=message.user_id, released=released)

    def _process(self, message: JobMessage, started: float) -> Settlement:
        try:
            policy.check_message(message)
        except PermanentJobError as e:
            self._ensure_job(message)
            decision = policy.Decision(policy.Action.FAIL, e.code, e.message)
            return self._close(message.job_id, decision, started)
        claimed = self.lifecycle.begin(message.job_id)
        if isinstance(claimed, Assessment) and claimed.verdict is Verdict.MISSING:
            self._ensure_job(message)
            claimed = self.lifecycle.begin(message.job_id)
        if isinstance(claimed, Assessment):
            return self._not_run(message.job_id, claimed, started)
        return self._run(message, claimed, started)

    def _ensure_job(self, message: JobMessage) -> None:
        # A seed-format message whose job has no document: the runner creates the job (§4).
        if self.lifecycle.ensure_job(message):
            log.info("job_created_from_message", user_id=message.user_id)

    def _not_run(self, job_id: str, assessment: Assessment, started: float) -> Settlement:
        verdict = assessment.verdict
        if verdict in (Verdict.DUPLICATE, Verdict.MISSING):  # missing: deleted under us (an API 503 undo)
            return self._done("duplicate", started, ACK)
        if verdict is Verdict.DEAD_LETTER:
            return self._done("failed_copy", started, DEAD_LETTER)
        if verdict in (Verdict.HELD, Verdict.WAIT, Verdict.CAPPED):
            # Never drop it: if the holder dies, this may be the only copy left. Look again later. (Capped: its
            # user's places are all held by unfinished jobs, §8; it runs once one of them finishes.)
            delay = policy.wait_delay_s(self._delays, assessment.wait_s)
            return self._done(verdict.value, started, Settlement("delay", delay), wait_s=round(assessment.wait_s, 1))
        if verdict is Verdict.CANCEL:
            self.lifecycle.close_unclaimed(job_id, JobStatus.CANCELLED, None, "cancelled")
            return self._done("cancelled", started, ACK)
        return self._close(job_id, policy.exhausted(assessment.attempts_used), started)

    def _close(self, job_id: str, decision: policy.Decision, started: float) -> Settlement:
        """Fail a job that no attempt of ours holds, and dead-letter its message."""
        if not self.lifecycle.close_unclaimed(job_id, JobStatus.FAILED, decision.error, "failed"):
            return self._done("duplicate", started, ACK)  # someone finished it meanwhile
        log.warning("message_failed", code=decision.code, error=decision.message, action="dead_letter")
        return self._done("failed", started, DEAD_LETTER, code=decision.code)

    def _run(self, message: JobMessage, claim: Claim, started: float) -> Settlement:
        ctx = RunContext(message=message, settings=self._settings, claim=claim, lifecycle=self.lifecycle)
        with self._lock:
            self._current = ctx
        metrics.ATTEMPTS.inc()
        metrics.IN_FLIGHT.inc()
        log.info("attempt_started", attempt=claim.attempt, attempts_used=claim.attempts_used)
        ctx.start_lease_keeper()
        error: Exception | None = None
        interrupted: str | None = None
        try:
            self._handler(ctx)
        except AttemptInterrupted as e:
            interrupted = e.reason
        except Exception as e:  # every failure goes through the policy below, by its type
            error = e
        finally:
            ctx.stop_lease_keeper()
            metrics.IN_FLIGHT.dec()
            with self._lock:
                self._current = None
        if interrupted is None and (ctx.interrupted or ctx.lease_lost):  # given up on while finishing
            interrupted = ctx.interrupt_reason or "lease_lost"
        if interrupted is not None:
            return self._interrupted(ctx, interrupted, started)
        if error is None:
            ctx.flush_progress()
            if not self.lifecycle.finish(claim, JobStatus.SUCCEEDED, None, leads_saved=ctx.leads_saved):
                return self._done("superseded", started, ACK)
            return self._done("succeeded", started, ACK, attempt=claim.attempt)
        decision = policy.decide(error, attempts_used=claim.attempts_used, max_attempts=self._settings.job_max_attempts)
        log.warning(
            "message_failed", code=decision.code, error=decision.message, action=decision.action.value,
            attempt=claim.attempt, exc_type=type(error).__name__,
        )  # fmt: skip
        if decision.action is policy.Action.RETRY:
            delay = policy.retry_delay_s(self._delays, claim.attempts_used)
            if not self.lifecycle.retry_later(claim, decision.error, delay):
                return self._done("superseded", started, ACK)
            return self._done("retried", started, Settlement("delay", delay), attempt=claim.attempt, delay_s=delay)
        status = JobStatus.CANCELLED if decision.action is policy.Action.CANCEL else JobStatus.FAILED
        error_field = None if status is JobStatus.CANCELLED else decision.error
        if not self.lifecycle.finish(claim, status, error_field):
            return self._done("superseded", started, ACK)
        settlement = ACK if status is JobStatus.CANCELLED else DEAD_LETTER
        return self._done(status.value, started, settlement, attempt=claim.attempt, code=decision.code)

    def _interrupted(self, ctx: RunContext, reason: str, started: float) -> Settlement:
        if ctx.lease_lost:
            # Another attempt (from another delivery) holds the job now, or it was finished: that copy
            # carries it on, so this one is dropped. Leaving it unacked would stall this consumer.
            return self._done("superseded", started, ACK, reason=reason)
        # Shutdown: hand the job back at once (the lease would otherwise keep others off it until it
        # lapses), and leave the message unacked: the broker redelivers it when this connection closes.
        try:
            self.lifecycle.release(ctx.claim, reason)
        except DependencyUnavailable as e:
            log.warning("lease_not_released", error=str(e))
        return self._done("interrupted", started, LEAVE, reason=reason)

    def give_up_stuck(self, ctx: RunContext) -> bool:
        """The watchdog's last resort for a handler that ignores checkpoints past its time limit: fail the
        job with `timeout` now. Called on the connection thread; True if the failure was recorded."""
        ctx.interrupt("stuck")
        limit = self._settings.job_timeout_s
        error = ErrorInfo(code="timeout", message=f"the job ran past its time limit of {limit:g}s and did not stop")
        try:
            return self.lifecycle.finish(ctx.claim, JobStatus.FAILED, error)
        except DependencyUnavailable:
            return False

    def _done(self, outcome: str, started: float, settlement: Settlement, **fields: Any) -> Settlement:
        duration = time.monotonic() - started
        self._ended = outcome in ENDED
        metrics.DELIVERIES.labels(outcome).inc()
        metrics.DURATION.labels(outcome).observe(duration)
        log.info(
            "message_processed", outcome=outcome, settlement=settlement.kind, duration_s=round(duration, 3), **fields
        )
        return settlement

    def _invalid(self, body: bytes, problem: str) -> Settlement:
        """A body that is not a job message will never parse: dead-letter it at once. If it names a queued
        job, fail that job too, so its owner sees why it will never run."""
        job_id = JobMessage.job_id_in(body)
        with structlog.contextvars.bound_contextvars(job_id=job_id):
            log.info("message_received")
            decision = policy.Decision(policy.Action.FAIL, "invalid_message", problem)
            if job_id is not None:
                try:
                    self.lifecycle.close_unclaimed(job_id, JobStatus.FAILED, decision.error, "failed", only_queued=True)
                except DependencyUnavailable as e:
                    log.warning("job_not_failed", error=str(e))
            log.warning("message_failed", code=decision.code, error=decision.message, action="dead_letter")
            return self._done("invalid", time.monotonic(), DEAD_LETTER)
