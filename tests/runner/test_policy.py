"""The failure policy: by error type alone, transient errors retry (until attempts run out), permanent ones
fail at once; the backoff steps and the delay queue chosen for a message that must wait."""

from __future__ import annotations

import httpx
import pytest

from leadengine.errors import StoreUnavailable
from leadengine.jobs import ErrorInfo
from leadengine.schemas import JobMessage
from runner import policy
from runner.errors import JobCancelled, JobTimedOut, PermanentJobError, TransientJobError
from runner.policy import Action

JOB_ID = "8a0c0f7e-4b7b-4b8e-9a59-0e2f1c1f4a11"


@pytest.mark.parametrize(
    "error",
    [TransientJobError("429 from the provider"), StoreUnavailable("Firestore is unavailable"),
     httpx.ConnectError("refused"), ConnectionResetError(), TimeoutError("read timed out")],
)  # fmt: skip
def test_transient_errors_retry_while_attempts_remain(error: Exception) -> None:
    decision = policy.decide(error, attempts_used=2, max_attempts=3)
    assert decision.action is Action.RETRY and decision.code == "transient_error"


def test_a_transient_error_on_the_last_attempt_fails_with_attempts_exhausted() -> None:
    decision = policy.decide(TransientJobError("503"), attempts_used=3, max_attempts=3)
    assert decision.action is Action.FAIL and decision.code == "attempts_exhausted"
    assert "3 attempts" in decision.message and "503" in decision.message


def test_permanent_errors_and_timeouts_fail_at_once_with_their_code() -> None:
    permanent = policy.decide(PermanentJobError("bad key", code="provider_auth"), attempts_used=1, max_attempts=3)
    assert (permanent.action, permanent.error) == (Action.FAIL, ErrorInfo(code="provider_auth", message="bad key"))
    timeout = policy.decide(JobTimedOut("over 600s"), attempts_used=1, max_attempts=3)
    assert (timeout.action, timeout.code) == (Action.FAIL, "timeout")


def test_cancellation_cancels() -> None:
    assert policy.decide(JobCancelled("stop"), attempts_used=1, max_attempts=3).action is Action.CANCEL


def test_an_unexpected_exception_is_retried_as_an_internal_error_within_the_cap() -> None:
    assert policy.decide(KeyError("x"), attempts_used=1, max_attempts=3).code == "internal_error"
    assert policy.decide(KeyError("x"), attempts_used=3, max_attempts=3).code == "attempts_exhausted"


@pytest.mark.parametrize(
    "error",
    [ValueError("Invalid IPv6 URL"), KeyError("secret_field"), OSError(2, "No such file", "/etc/leadengine.conf"),
     StoreUnavailable("Firestore is unavailable: DeadlineExceeded")],
)  # fmt: skip
def test_the_error_message_is_for_a_person_and_names_no_exception_class_or_file(error: Exception) -> None:
    for used in (1, 3):  # a retry's error, and the final attempts_exhausted one
        message = policy.decide(error, attempts_used=used, max_attempts=3).message
        assert type(error).__name__ not in message and str(error) not in message
        assert "/etc/" not in message and "Error" not in message and "Firestore" not in message


def test_unknown_source_types_are_a_permanent_error() -> None:
    message = JobMessage(job_id=JOB_ID, user_id="u", source_types=["google", "altavista"])
    with pytest.raises(PermanentJobError) as caught:
        policy.check_message(message)
    assert caught.value.code == "unknown_source_type"
    policy.check_message(JobMessage(job_id=JOB_ID, user_id="u", source_types=["linkedin"]))


def test_backoff_follows_the_configured_steps_then_stays_at_the_last() -> None:
    assert [policy.retry_delay_s((10, 60, 300), n) for n in (1, 2, 3, 4)] == [10, 60, 300, 300]


def test_a_waiting_message_goes_to_the_shortest_delay_queue_that_covers_the_wait() -> None:
    assert policy.wait_delay_s((10, 60, 300), 0.5) == 10
    assert policy.wait_delay_s((10, 60, 300), 45) == 60
    assert policy.wait_delay_s((10, 60, 300), 4000) == 300


def test_a_waiting_message_is_never_parked_in_a_zero_second_delay_when_a_real_one_exists() -> None:
    assert policy.wait_delay_s((0, 5, 30), 0) == 5
