"""The runner's error types. The retry policy decides by these types alone (runner/policy.py): anything a
handler raises is translated into one of them where it enters (search providers, fetchers, the store)."""

from __future__ import annotations


class JobError(Exception):
    """A job-level failure with a stable snake_case code shown to the user in the job's `error`."""

    code = "job_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class TransientJobError(JobError):
    """Worth retrying later with backoff: network errors, a provider's 429 or 5xx, Firestore unavailable."""

    code = "transient_error"


class PermanentJobError(JobError):
    """Will fail the same way every time: bad credentials, malformed message, unknown source type."""

    code = "permanent_error"


class SearchRateLimited(TransientJobError):
    """The search provider keeps asking us to slow down beyond what one call waits for: retry later."""

    code = "search_rate_limited"


class SearchQuotaExhausted(PermanentJobError):
    """The search account has no searches left (monthly credits, daily quota): retrying cannot help until
    someone adds credits or the quota resets, so the job fails at once with its own code."""

    code = "search_quota_exhausted"


class JobCancelled(JobError):
    """The user cancelled the job; raised at the handler's next checkpoint."""

    code = "cancelled"


class JobTimedOut(JobError):
    """The job ran past JOB_TIMEOUT_S; raised at the handler's next checkpoint."""

    code = "timeout"


class AttemptInterrupted(BaseException):
    """The runner gave this attempt up (shutdown past its grace, a lost lease, a stuck handler); raised at the
    next checkpoint. A BaseException, like asyncio.CancelledError, so a handler's `except Exception` cannot
    swallow it and go on writing for an attempt that no longer holds the job."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HandlerNotFound(Exception):
    """RUNNER_HANDLER does not name an importable callable."""
