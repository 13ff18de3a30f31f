"""The function's error responses: its own request errors, and the ONE table that maps every error type
(these and the core's, from leadengine.errors) to an HTTP status and a snake_case code (contract §3)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Response

from leadengine.errors import (
    DependencyUnavailable,
    IdempotencyConflict,
    JobFinished,
    JobNotFound,
)
from leadengine.fairshare import QUOTA_RETRY_AFTER_S

# How long a client should wait before retrying after a 503: long enough for a broker or Firestore blip.
RETRY_AFTER_S = 5


class RequestError(Exception):
    """A request the function refuses. `details` is a list of {"loc", "msg", "type"} items (possibly empty)."""

    default_message = "the request was refused"

    def __init__(self, message: str | None = None, details: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.details = list(details)


class RouteNotFound(RequestError):
    default_message = "no such resource"


class MethodNotAllowed(RequestError):
    default_message = "method not allowed on this resource"

    def __init__(self, allowed: Iterable[str]) -> None:
        super().__init__()
        self.allowed = sorted(set(allowed))


class Unauthorized(RequestError):
    default_message = "a valid API key is required: Authorization: Bearer <api key>"


class PayloadTooLarge(RequestError):
    default_message = "the request body is larger than 100 KiB"


class UnsupportedMediaType(RequestError):
    default_message = "the body must be application/json (optionally with charset=utf-8)"


class MalformedJson(RequestError):
    default_message = "the body is not strict UTF-8 JSON"


class MalformedParameter(RequestError):
    default_message = "a header or query parameter is malformed"


class SchemaInvalid(RequestError):
    default_message = "the request does not match the schema"


class Forbidden(RequestError):
    default_message = "user_id does not match the API key's user"


class TooManyActiveJobs(RequestError):
    """The user's quota of queued and running jobs (USER_MAX_ACTIVE_JOBS, §8) is used up."""

    default_message = "too many of your jobs are queued or running; submit again once some have finished"


# The one table: error type -> (status, code, message shown for errors that carry no message of their own).
# Looked up along the exception's MRO, so a subclass maps like its base unless listed itself.
ERROR_TABLE: dict[type[Exception], tuple[int, str, str | None]] = {
    RouteNotFound: (404, "not_found", None),
    MethodNotAllowed: (405, "method_not_allowed", None),
    Unauthorized: (401, "unauthorized", None),
    PayloadTooLarge: (413, "payload_too_large", None),
    UnsupportedMediaType: (415, "unsupported_media_type", None),
    MalformedJson: (400, "malformed_json", None),
    MalformedParameter: (400, "malformed_parameter", None),
    SchemaInvalid: (422, "validation_failed", None),
    Forbidden: (403, "forbidden", None),
    TooManyActiveJobs: (429, "too_many_active_jobs", None),
    # Another user's job answers exactly like a missing one: the message never names the job.
    JobNotFound: (404, "job_not_found", "job not found"),
    IdempotencyConflict: (409, "idempotency_conflict", None),
    JobFinished: (409, "job_finished", None),
    DependencyUnavailable: (503, "service_unavailable", "a backing service is unavailable; retry later"),
}


def lookup(error: Exception) -> tuple[int, str, str] | None:
    """(status, code, message) for a known error type, else None."""
    for cls in type(error).__mro__:
        if cls in ERROR_TABLE:
            status, code, fixed_message = ERROR_TABLE[cls]
            message = fixed_message or (error.message if isinstance(error, RequestError) else str(error))
            return status, code, message
    return None


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON response whose body is an iterator, so the response is "streamed": functions-framework then does
    not read the rest of the request body into memory after we answered (it does for non-streamed ones), and
    gunicorn discards an unread body in bounded chunks instead. That is what makes a 413 on a huge body cheap."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    response = Response(iter([body]), status=status, mimetype="application/json")
    response.headers["Content-Length"] = str(len(body))
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def error_response(error: Exception) -> Response | None:
    """The §3 error response for a known error type, else None (the caller treats it as a bug)."""
    found = lookup(error)
    if found is None:
        return None
    status, code, message = found
    details = error.details if isinstance(error, RequestError) else []
    headers: dict[str, str] = {}
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = ", ".join(error.allowed)
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="leadengine"'
    if status == 503:
        headers["Retry-After"] = str(RETRY_AFTER_S)
    if status == 429:
        headers["Retry-After"] = str(QUOTA_RETRY_AFTER_S)
    return json_response(status, error_body(code, message, details), headers)


def error_body(code: str, message: str, details: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": list(details)}}
