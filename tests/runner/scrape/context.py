"""A real job context for running the scrape handler without the runner: it keeps the leads it is given
(or writes them to the real store) and records progress; cancellation can be requested by a test."""

from __future__ import annotations

import time
import uuid
from typing import Any

from leadengine.schemas import JobMessage, Lead
from runner.errors import JobCancelled, JobTimedOut


class CollectingContext:
    def __init__(
        self,
        settings: Any,
        job_id: str | None = None,
        store: Any = None,
        time_limit_s: float | None = None,
        **message: Any,
    ) -> None:
        self.job_id = job_id or str(uuid.uuid4())
        fields: dict[str, Any] = {"user_id": "user-1", "industry": "SaaS", "geography": "Sydney, Australia"}
        fields.update(message)
        self.message = JobMessage(job_id=self.job_id, **fields)
        self.settings = settings
        self.attempt = 1
        self.store = store
        self.saved: dict[str, Lead] = {}
        self.batches: list[int] = []
        self.steps: list[tuple[str, dict[str, Any]]] = []
        self.checkpoints = 0
        self.cancelled = False
        self.deadline = time.monotonic() + time_limit_s if time_limit_s else None

    def checkpoint(self) -> None:
        self.checkpoints += 1
        if self.cancelled:
            raise JobCancelled("cancelled")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise JobTimedOut("timed out")

    def save_leads(self, leads: list[Lead]) -> None:
        self.batches.append(len(leads))
        if self.store is not None:
            self.store.write_leads(self.job_id, leads)
        for lead in leads:
            self.saved[lead.lead_id] = lead

    def progress(self, step: str, **fields: Any) -> None:
        self.steps.append((step, fields))
