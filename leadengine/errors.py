"""The core's error types. Library errors (pika, google.api_core) are translated into these where they enter."""

from __future__ import annotations


class LeadEngineError(Exception):
    """Base of every error the core raises on purpose."""


class SettingsError(LeadEngineError):
    """A setting is missing or malformed; the message is one line naming the variable."""


class DependencyUnavailable(LeadEngineError):
    """A backing service cannot be reached right now; retrying later may work."""


class StoreUnavailable(DependencyUnavailable):
    """Firestore did not answer (down, timed out, or refused the call as unavailable)."""


class BrokerUnavailable(DependencyUnavailable):
    """RabbitMQ could not be asked (down, refusing, or silent past a heartbeat)."""


class PublishFailed(DependencyUnavailable):
    """RabbitMQ did not confirm a publish after the bounded retries, or not within PUBLISH_TIMEOUT_S."""


class PublishRejected(PublishFailed):
    """RabbitMQ answered, but refused the message: a nack, or no queue took it (`mandatory`)."""


class PublishPaused(PublishFailed):
    """Not tried: a publish failed a moment ago, so the publisher waits before trying the broker again."""


class JobNotFound(LeadEngineError):
    """No such job for this user (another user's job is reported exactly like a missing one)."""


class IdempotencyConflict(LeadEngineError):
    """The Idempotency-Key was used before by the same user with a different body."""


class JobFinished(LeadEngineError):
    """The job is already succeeded, failed or cancelled, so the requested change is refused."""

    def __init__(self, job_id: str, status: str) -> None:
        super().__init__(f"job {job_id} is already {status}")
        self.job_id = job_id
        self.status = status


class AttemptTaken(LeadEngineError):
    """Another runner claimed this attempt of the job a moment ago (its marker exists)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"an attempt of job {job_id} was claimed by another runner")
        self.job_id = job_id
