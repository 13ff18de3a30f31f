"""The request's headers, query and path parameters (contract §3): Idempotency-Key, the leads query and job ids,
validated with pydantic; a malformed one is a 400 (a malformed job id is a 404, like a missing job)."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

import flask
import pydantic
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from leadengine.errors import JobNotFound

# The function's own modules beside this file (functions-framework puts its directory on sys.path).
# isort: split
from http_errors import MalformedParameter
from views import decode_page_token

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


def leads_query(request: flask.Request) -> LeadsQuery:
    values: dict[str, str] = {}
    for name in ("limit", "page_token"):
        given = request.args.getlist(name)
        if len(given) > 1:
            raise MalformedParameter(f"{name} is given more than once", [
                {"loc": ["query", name], "msg": "given more than once", "type": "duplicate"}
            ])  # fmt: skip
        if given:
            values[name] = given[0]
    try:
        return LeadsQuery.model_validate(values)
    except pydantic.ValidationError as e:
        raise MalformedParameter(
            "limit must be 1-200 and page_token one this API issued", details(e, "query")
        ) from None


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
