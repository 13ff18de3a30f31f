"""The failure policy, decided by error type in this one place: what becomes of a job whose handler raised.

Transient errors retry with backoff through the durable delay queues, up to JOB_MAX_ATTEMPTS; permanent ones
fail the job at once and dead-letter its message. Anchors: dramatiq's retries middleware, arq's `Retry`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import httpx
import pika.exceptions

from leadengine.errors import DependencyUnavailable
from leadengine.jobs import ErrorInfo
from leadengine.schemas import SOURCE_TYPES, JobMessage
from runner.errors import JobCancelled, JobError, JobTimedOut, PermanentJobError, TransientJobError

# Errors a handler may let through untranslated that are still worth another attempt: the network, the
# broker or Firestore being briefly away. (Handlers should raise TransientJobError; this is the safety net.)
_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    TransientJobError,
    DependencyUnavailable,
    httpx.TransportError,
    pika.exceptions.AMQPError,
    ConnectionError,
    TimeoutError,
    OSError,
)


class Action(enum.StrEnum):
    RETRY = "retry"  # the job stays running with its last error; the message waits in a delay queue
    FAIL = "failed"  # the job fails with the error's code; the message goes to failed_jobs
    CANCEL = "cancelled"  # the user asked for it; the message is acknowledged


@dataclass(frozen=True)
class Decision:
    action: Action
    code: str
    message: str

    @property
    def error(self) -> ErrorInfo:
        return ErrorInfo(code=self.code, message=self.message[:500])


def decide(error: BaseException, *, attempts_used: int, max_attempts: int) -> Decision:
    """What to do with a job whose attempt `attempts_used` (counted in this round) raised `error`."""
    if isinstance(error, JobCancelled):
        return Decision(Action.CANCEL, error.code, error.message)
    if isinstance(error, JobTimedOut | PermanentJobError):
        return Decision(Action.FAIL, error.code, error.message)
    if isinstance(error, _TRANSIENT_TYPES):
        code = error.code if isinstance(error, JobError) else "transient_error"
        retry = Decision(Action.RETRY, code, _describe(error, code))
    else:
        # A bug or an unforeseen library error: it may be a fluke, and attempts are capped, so retry.
        retry = Decision(Action.RETRY, "internal_error", _describe(error, "internal_error"))
    if attempts_used >= max_attempts:
        return exhausted(attempts_used, retry)
    return retry


def exhausted(attempts_used: int, last: Decision | None = None) -> Decision:
    detail = f"; last error {last.code}: {last.message}" if last is not None else ""
    return Decision(Action.FAIL, "attempts_exhausted", f"gave up after {attempts_used} attempts{detail}")


def check_message(message: JobMessage) -> None:
    """Checks that fail a job before any attempt: a seed-format message may name sources we do not have."""
    unknown = [source for source in message.source_types if source not in SOURCE_TYPES]
    if unknown or not message.source_types:
        raise PermanentJobError(
            f"unknown source type(s) {unknown or message.source_types!r}; known: {', '.join(SOURCE_TYPES)}",
            code="unknown_source_type",
        )


def retry_delay_s(delays_s: tuple[int, ...], attempts_used: int) -> int:
    """Backoff before the next attempt: the n-th configured delay after the n-th attempt, then the last one."""
    return delays_s[min(max(attempts_used, 1), len(delays_s)) - 1]


def wait_delay_s(delays_s: tuple[int, ...], wait_s: float) -> int:
    """The delay queue to park a message in when it must come back after `wait_s` (a job held by a live
    runner, or waiting for its backoff): the shortest configured delay that covers it, else the longest."""
    # A 0 s step (allowed for retries) would spin a held message straight back: park it in a real delay.
    ordered = sorted(delay for delay in set(delays_s) if delay > 0) or [0]
    return next((delay for delay in ordered if delay >= wait_s), ordered[-1])


# What a person reads in the job's `error.message` (§3) when the error is not one of ours: never the exception's
# text, class or file; the runner's log keeps those.
_SENTENCES = {
    "transient_error": "a network or service error interrupted the job",
    "store_unavailable": "the job store was briefly unavailable",
    "internal_error": "the runner hit an unexpected error",
}


def _describe(error: BaseException, code: str) -> str:
    if isinstance(error, JobError):
        return error.message
    if isinstance(error, DependencyUnavailable):
        return _SENTENCES["store_unavailable"]
    return _SENTENCES.get(code, _SENTENCES["internal_error"])
