"""The JobContext a handler gets for one attempt: checkpoints (cancel, time limit, shutdown), leads, progress,
and the lease kept alive in the background while the attempt runs."""

from __future__ import annotations

import threading
import time
from typing import Any

from leadengine.errors import DependencyUnavailable
from leadengine.log import get_logger
from leadengine.schemas import JobMessage, Lead
from leadengine.store import utcnow
from runner.errors import AttemptInterrupted, JobCancelled, JobTimedOut
from runner.lifecycle import Claim, Lifecycle

log = get_logger(__name__)

# A checkpoint reads the job for cancel_requested at most this often: cheap, and quick enough for a user.
CANCEL_POLL_S = 1.0


class RunContext:
    """One attempt of one job. Thread-safe where it matters: the lease keeper and the connection thread
    (shutdown, watchdog) set flags that the handler's thread sees at its next checkpoint."""

    def __init__(self, *, message: JobMessage, settings: Any, claim: Claim, lifecycle: Lifecycle) -> None:
        self.job_id = message.job_id
        self.message = message
        self.settings = settings
        self.attempt = claim.attempt
        self.claim = claim
        self._lifecycle = lifecycle
        self.started = time.monotonic()
        self.deadline = self.started + settings.job_timeout_s
        self._interrupt_reason: str | None = None
        self._lost = threading.Event()
        self._cancelled = threading.Event()
        self._done = threading.Event()
        self._last_poll = time.monotonic()  # the claim has just read the job, cancel_requested included
        self._keeper: threading.Thread | None = None

    # --- the handler's side (JobContext) ----------------------------------------------------------------

    def checkpoint(self) -> None:
        if self._interrupt_reason is not None:
            raise AttemptInterrupted(self._interrupt_reason)
        if self._lost.is_set():
            raise AttemptInterrupted("lease_lost")
        if time.monotonic() > self.deadline:
            raise JobTimedOut(f"the job ran past its time limit of {self.settings.job_timeout_s:g}s")
        if not self._cancelled.is_set() and time.monotonic() - self._last_poll >= CANCEL_POLL_S:
            self._last_poll = time.monotonic()
            job = self._lifecycle.get(self.job_id)
            if job is None or job.get("cancel_requested"):
                self._cancelled.set()
        if self._cancelled.is_set():
            raise JobCancelled("the job was cancelled")

    def save_leads(self, leads: list[Lead]) -> None:
        self._guard()
        store = self._lifecycle.store
        store.write_leads(self.job_id, leads)
        self._lifecycle.record_leads(self.job_id, store.count_leads(self.job_id))

    def progress(self, step: str, **fields: Any) -> None:
        self._guard()
        log.info("job_progress", job_id=self.job_id, attempt=self.attempt, step=step, **fields)
        try:
            self._lifecycle.record_progress(self.job_id, {"step": step, "at": utcnow(), **fields})
        except DependencyUnavailable as e:  # progress is a courtesy; the job itself goes on
            log.warning("progress_not_recorded", job_id=self.job_id, error=str(e))

    def _guard(self) -> None:
        # An attempt that was given up on (shutdown, watchdog, lost lease) must not write anything more.
        if self._interrupt_reason is not None or self._lost.is_set():
            raise AttemptInterrupted(self._interrupt_reason or "lease_lost")

    # --- the runner's side --------------------------------------------------------------------------------

    def interrupt(self, reason: str) -> None:
        self._interrupt_reason = reason

    @property
    def interrupted(self) -> bool:
        return self._interrupt_reason is not None

    @property
    def interrupt_reason(self) -> str | None:
        return self._interrupt_reason

    @property
    def lease_lost(self) -> bool:
        return self._lost.is_set()

    def start_lease_keeper(self) -> None:
        self._keeper = threading.Thread(target=self._keep_lease, name=f"lease-{self.job_id[:8]}", daemon=True)
        self._keeper.start()

    def stop_lease_keeper(self) -> None:
        self._done.set()

    def _keep_lease(self) -> None:
        # Renew at a third of the lease, so that two renewals can fail (a Firestore blip) before it lapses.
        interval = self.settings.runner_lease_s / 3
        while not self._done.wait(interval):
            try:
                job = self._lifecycle.renew(self.claim)
            except DependencyUnavailable as e:
                log.warning("lease_not_renewed", job_id=self.job_id, attempt=self.attempt, error=str(e))
                continue
            if job is None:
                log.warning("lease_lost", job_id=self.job_id, attempt=self.attempt)
                self._lost.set()
                return
            if job.get("cancel_requested"):
                self._cancelled.set()
