"""The request's headers, query and path parameters (contract §3): Idempotency-Key, the leads, jobs and export
queries and job ids, validated with pydantic; a malformed one is a 400 (a malformed job id is a 404, like a
missing job)."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, Literal

import flask
import pydantic
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from leadengine.errors import JobNotFound
from leadengine.schemas import JobStatus
from leadengine.store import JobsCursor

# The function's own modules beside this file (functions-framework puts its directory on sys.path).
# isort: split
from http_errors import MalformedParameter
from views import decode_jobs_page_token, decode_page_token

IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[\x20-\x7e]+$")]
_IDEMPOTENCY_KEY: pydantic.TypeAdapter[str] = pydantic.TypeAdapter(IdempotencyKey)


class LeadsQuery(BaseModel):
    """The query of GET .../leads."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    limit: int = Field(50, ge=1, le=200)
    page_token: str | None = None

    @field_validator("limit", mode="before")
    @classmethod
    def _digits_only(cls, value: Any) -> Any:
        # pydantic's lax int would take "5.0", "+5" or "1_0"; a query limit is plain decimal digits.
        if isinstance(value, str) and not re.fullmatch(r"[0-9]{1,6}", value):
            raise ValueError("limit must be a whole number from 1 to 200")
        return value

    @field_validator("page_token")
    @classmethod
    def _token_we_issued(cls, value: str | None) -> str | None:
        if value is not None:
            decode_page_token(value)  # ValueError when it is not a token we issued
        return value


class JobsQuery(BaseModel):
    """The query of GET /api/v1/jobs: an optional status, 1-100 jobs a page (default 20), a page token."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    status: JobStatus | None = None
    limit: int = Field(20, ge=1, le=100)
    page_token: str | None = None

    @field_validator("limit", mode="before")
    @classmethod
    def _digits_only(cls, value: Any) -> Any:
        if isinstance(value, str) and not re.fullmatch(r"[0-9]{1,6}", value):
            raise ValueError("limit must be a whole number from 1 to 100")
        return value

    @model_validator(mode="after")
    def _token_we_issued(self) -> JobsQuery:
        if self.page_token is not None:
            decode_jobs_page_token(self.page_token, self.status)  # ValueError unless we issued it for this status
        return self

    def cursor(self) -> JobsCursor | None:
        return decode_jobs_page_token(self.page_token, self.status) if self.page_token is not None else None


class ExportQuery(BaseModel):
    """The query of GET .../leads/export."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    format: Literal["csv", "jsonl"] = "csv"


def details(error: pydantic.ValidationError, where: str) -> list[dict[str, Any]]:
    """pydantic's errors as §3 details, without echoing the input back."""
    return [{"loc": [where, *item["loc"]], "msg": item["msg"], "type": item["type"]} for item in error.errors()]


def idempotency_key(request: flask.Request) -> str | None:
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    try:
        return _IDEMPOTENCY_KEY.validate_python(raw)
    except pydantic.ValidationError as e:
        raise MalformedParameter(
            "Idempotency-Key must be 1-255 printable ASCII characters", details(e, "header")
        ) from None


def _query_values(request: flask.Request, names: tuple[str, ...]) -> dict[str, str]:
    """The named query parameters, each at most once (a repeated one is malformed: which would count?)."""
    values: dict[str, str] = {}
    for name in names:
        given = request.args.getlist(name)
        if len(given) > 1:
            raise MalformedParameter(f"{name} is given more than once", [
                {"loc": ["query", name], "msg": "given more than once", "type": "duplicate"}
            ])  # fmt: skip
        if given:
            values[name] = given[0]
    return values


def leads_query(request: flask.Request) -> LeadsQuery:
    try:
        return LeadsQuery.model_validate(_query_values(request, ("limit", "page_token")))
    except pydantic.ValidationError as e:
        raise MalformedParameter(
            "limit must be 1-200 and page_token one this API issued", details(e, "query")
        ) from None


def jobs_query(request: flask.Request) -> JobsQuery:
    try:
        return JobsQuery.model_validate(_query_values(request, ("status", "limit", "page_token")))
    except pydantic.ValidationError as e:
        raise MalformedParameter(
            "status must be queued, running, succeeded, failed or cancelled, limit 1-100, and page_token one this "
            "API issued for the same status",
            details(e, "query"),
        ) from None


def export_query(request: flask.Request) -> ExportQuery:
    try:
        return ExportQuery.model_validate(_query_values(request, ("format",)))
    except pydantic.ValidationError as e:
        raise MalformedParameter("format must be csv or jsonl", details(e, "query")) from None


def canonical_job_id(job_id: str) -> str:
    """Job ids are lowercase UUIDs; anything else cannot name a job (and must never reach Firestore as a
    document path, where "..", "__x__" or "/" would be an error rather than a miss)."""
    try:
        parsed = uuid.UUID(job_id)
    except ValueError:
        raise JobNotFound(job_id) from None
    if str(parsed) != job_id:
        raise JobNotFound(job_id)
    return job_id
