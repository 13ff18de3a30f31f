"""The job-handler interface between the consume loop (runner/consumer.py) and the work itself
(runner/scrape/ for real jobs; tests plug in handlers that sleep, fail or crash).

A handler is a callable `handler(ctx: JobContext) -> None`. It calls `ctx.checkpoint()` between its steps
(that is where cancellation and the time limit take effect), hands leads to `ctx.save_leads()` as it finds
them (idempotent: lead ids are deterministic), and raises runner.errors types for failures.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from leadengine.schemas import JobMessage, Lead
from leadengine.settings import Settings
from runner.errors import HandlerNotFound


class JobContext(Protocol):
    job_id: str
    message: JobMessage
    settings: Settings
    attempt: int

    def checkpoint(self) -> None:
        """Raise JobCancelled if the job was cancelled, JobTimedOut if it is over its time limit."""

    def save_leads(self, leads: list[Lead]) -> None:
        """Write (or overwrite) these leads and update the job's lead_count."""

    def progress(self, step: str, **fields: Any) -> None:
        """Report progress (logged with the job id; shown by `make run`)."""


class JobHandler(Protocol):
    def __call__(self, ctx: JobContext) -> None: ...


def load_handler(spec: str) -> JobHandler:
    """Import the handler named "package.module:callable" (the RUNNER_HANDLER setting)."""
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as e:  # any import-time failure of the handler's module is a start-up error
        raise HandlerNotFound(f"cannot import {module_name!r} for RUNNER_HANDLER={spec!r}: {e!r}") from e
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise HandlerNotFound(f"RUNNER_HANDLER={spec!r}: {module_name} has no callable {attribute!r}")
    return handler  # type: ignore[no-any-return]
