"""Tier 1: the function's handler called directly with real Flask requests (no app, no server), and the one
error table that maps our error types to statuses."""

from __future__ import annotations

import json
from types import ModuleType

import flask
import pytest
from werkzeug.test import EnvironBuilder

from leadengine.errors import IdempotencyConflict, JobFinished, JobNotFound, PublishFailed, StoreUnavailable
from leadengine.store import JobStore
from tests.enqueue.conftest import VALID, Users, drain


def request(method: str, path: str, **kwargs) -> flask.Request:
    return EnvironBuilder(method=method, path=path, **kwargs).get_request(flask.Request)


def test_healthz_through_the_handler(main_module: ModuleType) -> None:
    response = main_module.enqueue(request("GET", "/healthz"))
    assert (response.status_code, json.loads(response.get_data())) == (200, {"status": "ok"})


def test_submit_through_the_handler_writes_the_job_then_publishes_it(
    main_module: ModuleType, users: Users, job_store: JobStore, channel
) -> None:
    response = main_module.enqueue(request("POST", "/api/v1/jobs/scrape", json=VALID, headers=users.auth(users.bob)))
    assert response.status_code == 202
    job_id = json.loads(response.get_data())["job_id"]
    assert main_module.clearer().flush(timeout_s=10)  # the mark is cleared after the answer, in the background
    job = job_store.get_job(job_id, users.bob)
    assert job.status == "queued" and job.outbox_due_at is None  # published, so the mark is cleared
    assert [properties.message_id for _, properties, _ in drain(channel)] == [job_id]


def test_the_handler_rejects_without_reading_further(main_module: ModuleType, users: Users) -> None:
    response = main_module.enqueue(request("POST", "/api/v1/jobs/scrape", data=b"{", headers=users.auth(users.bob)))
    assert response.status_code == 415
    # Streamed, so functions-framework's after-request hook does not read the rest of a huge body into memory.
    assert response.is_streamed and response.headers["Content-Length"] == str(len(response.get_data()))


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (JobNotFound("a-job-id"), 404, "job_not_found"),
        (IdempotencyConflict("x"), 409, "idempotency_conflict"),
        (JobFinished("j", "succeeded"), 409, "job_finished"),
        (StoreUnavailable("down"), 503, "service_unavailable"),
        (PublishFailed("down"), 503, "service_unavailable"),
    ],
)
def test_core_errors_map_through_the_one_table(main_module: ModuleType, error, status: int, code: str) -> None:
    http_errors = main_module.http_errors
    response = http_errors.error_response(error)
    body = json.loads(response.get_data())
    assert (response.status_code, body["error"]["code"], body["error"]["details"]) == (status, code, [])
    assert ("Retry-After" in response.headers) == (status == 503)
    assert "a-job-id" not in body["error"]["message"]  # a 404 never says which job, so all 404s look alike


def test_an_unknown_error_type_is_not_in_the_table(main_module: ModuleType) -> None:
    assert main_module.http_errors.error_response(ZeroDivisionError()) is None
