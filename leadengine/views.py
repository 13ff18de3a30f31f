"""How a job reads from outside (contract §3): the view GET /api/v1/jobs/<id> answers, which the function shows
and a webhook delivery carries (§7), so both are one and the same."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from leadengine.jobs import Job, WebhookDelivery


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def webhook_view(job: Job) -> dict[str, Any] | None:
    """§3 `webhook`: null without a webhook_url; pending (no attempt yet) until the job's final status."""
    url = job.request.webhook_url
    if url is None:
        return None
    delivery = job.webhook or WebhookDelivery(delivery_id="", url=url)
    return {"url": delivery.url, "state": delivery.state, "attempts": delivery.attempts,
            "last_error": delivery.last_error}  # fmt: skip


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
        "webhook": webhook_view(job),
    }
