"""The job-handler interface between the consume loop (runner/consumer.py) and the work itself
(runner/scrape/ for real jobs; tests plug in handlers that sleep, fail or crash).

A handler is a callable `handler(ctx: JobContext) -> None`. It calls `ctx.checkpoint()` between its steps
(that is where cancellation and the time limit take effect), hands leads to `ctx.save_leads()` as it finds
them (idempotent: lead ids are deterministic), and raises runner.errors types for failures.
"""

from __future__ import annotations

from typing import Any, Protocol

from leadengine.schemas import JobMessage, Lead


class JobContext(Protocol):
    job_id: str
    message: JobMessage
    settings: Any
    attempt: int

    def checkpoint(self) -> None:
        """Raise JobCancelled if the job was cancelled, JobTimedOut if it is over its time limit."""

    def save_leads(self, leads: list[Lead]) -> None:
        """Write (or overwrite) these leads and update the job's lead_count."""

    def progress(self, step: str, **fields: Any) -> None:
        """Report progress (logged with the job id; shown by `make run`)."""


class JobHandler(Protocol):
    def __call__(self, ctx: JobContext) -> None: ...
