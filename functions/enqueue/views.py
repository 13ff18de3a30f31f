"""How the API shows things (contract §3): a job, a lead, RFC 3339 timestamps and opaque page tokens."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from leadengine.schemas import JobStatus, Lead
from leadengine.store import JobsCursor
from leadengine.views import job_view as job_view  # the job view lives in the core (webhooks carry it)
from leadengine.views import rfc3339 as rfc3339

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_JOB_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
# A token travels in a URL, which proxies cap at a few KiB; it holds one job id unless jobs share a created_at to
# the microsecond.
MAX_JOBS_TOKEN = 3000


def lead_view(lead: Lead) -> dict[str, Any]:
    view = lead.model_dump()
    view["found_at"] = rfc3339(lead.found_at)
    return view


def encode_page_token(lead_id: str) -> str:
    return base64.urlsafe_b64encode(lead_id.encode()).decode().rstrip("=")


def decode_page_token(token: str) -> str:
    """The lead id a page token points after; ValueError if the token is not one we issued."""
    if not 1 <= len(token) <= 200:
        raise ValueError("page_token is malformed")
    try:
        lead_id = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise ValueError("page_token is malformed") from e
    if not lead_id or not lead_id.isascii() or not lead_id.isalnum():
        raise ValueError("page_token is malformed")
    return lead_id


class _JobsToken(BaseModel):
    """What a page token of GET /api/v1/jobs holds: the listing's status filter (a token answers only the
    query that issued it) and where the page ended (JobsCursor). Opaque to clients: base64url of compact JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1]
    status: JobStatus | None
    t: int = Field(ge=0, le=253_402_300_799_999_999)  # created_at of the page's last job, microseconds since the epoch
    seen: list[str] = Field(min_length=1, max_length=60)

    @pydantic.field_validator("seen")
    @classmethod
    def _job_ids(cls, value: list[str]) -> list[str]:
        if not all(re.fullmatch(_JOB_ID, job_id) for job_id in value):
            raise ValueError("not job ids")
        return value


def encode_jobs_page_token(cursor: JobsCursor, status: JobStatus | None) -> str:
    micros = (cursor.created_at - _EPOCH) // timedelta(microseconds=1)
    token = _JobsToken(v=1, status=status, t=micros, seen=list(cursor.seen))
    raw = json.dumps(token.model_dump(mode="json"), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_jobs_page_token(token: str, status: JobStatus | None) -> JobsCursor:
    """The cursor a page token of the job listing points after; ValueError if the token is not one we issued
    (forged, truncated) or was issued for another status filter."""
    if not 1 <= len(token) <= MAX_JOBS_TOKEN:
        raise ValueError("page_token is malformed")
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii") + b"=" * (-len(token) % 4))
        parsed = _JobsToken.model_validate_json(raw, strict=True)
    except (binascii.Error, UnicodeError, ValueError) as e:  # pydantic's ValidationError is a ValueError
        raise ValueError("page_token is malformed") from e
    if parsed.status != status:
        raise ValueError("page_token belongs to a listing with another status filter")
    return JobsCursor(_EPOCH + timedelta(microseconds=parsed.t), tuple(parsed.seen))
