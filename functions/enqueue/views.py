"""How the API shows things (contract §3): a job, a lead, RFC 3339 timestamps and opaque page tokens."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from leadengine.jobs import Job
from leadengine.schemas import Lead


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def job_view(job: Job) -> dict[str, Any]:
    """The job as GET /api/v1/jobs/<id> shows it: public fields only, timestamps in RFC 3339."""
    return {
        "job_id": job.job_id,
        "user_id": job.user_id,
        "status": job.status.value,
        "request": job.request.model_dump(),
        "attempts": job.attempts,
        "lead_count": job.lead_count,
        "error": job.error.model_dump() if job.error is not None else None,
        "created_at": rfc3339(job.created_at),
        "updated_at": rfc3339(job.updated_at),
        "started_at": rfc3339(job.started_at),
        "finished_at": rfc3339(job.finished_at),
        "progress": job.progress.model_dump(),
    }


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
