"""Jobs for tests: a queued job to create, and a back door that sets a job's fields the way another process
(or an older version) would, through the Firestore client the store uses."""

from __future__ import annotations

import uuid
from typing import Any

from leadengine.jobs import Job, JobRequest, new_job, utcnow
from leadengine.store import JobStore

REQUEST: dict[str, Any] = {"industry": "SaaS", "geography": "Sydney", "keywords": [], "source_types": ["google"],
                           "search_query": "SaaS companies in Sydney", "filters": None, "max_leads": 50}  # fmt: skip


def draft(user_id: str = "user-1", request: dict[str, Any] | None = None, job_id: str | None = None) -> Job:
    return new_job(job_id or str(uuid.uuid4()), user_id, JobRequest.model_validate(request or REQUEST), utcnow())


def create(store: JobStore, user_id: str | None = None, request: dict[str, Any] | None = None) -> Job:
    """A queued job; of a user of its own unless one is named, so that fair share (USER_MAX_RUNNING_JOBS per user)
    never holds up tests that have nothing to do with it."""
    job, created = store.create_job(draft(user_id or f"user-{uuid.uuid4().hex[:8]}", request))
    assert created
    return job


def force(store: JobStore, job_id: str, **fields: Any) -> None:
    """Write fields straight to the job's document, bypassing every rule (test set-up only)."""
    store.client.collection("jobs").document(job_id).update(fields)


def document(store: JobStore, job_id: str) -> dict[str, Any]:
    """The raw document, as Firestore holds it."""
    return store.client.collection("jobs").document(job_id).get().to_dict() or {}
