"""The JobContext a handler gets for one attempt: checkpoints (cancel, time limit, shutdown), leads, progress,
and the lease kept alive in the background while the attempt runs."""

from __future__ import annotations

import threading
import time
from typing import Any

from leadengine.errors import DependencyUnavailable
from leadengine.jobs import Claim, Progress
from leadengine.log import get_logger
from leadengine.schemas import JobMessage, Lead
from leadengine.settings import Settings
from runner.errors import AttemptInterrupted, JobCancelled, JobTimedOut
from runner.lifecycle import Lifecycle

log = get_logger(__name__)

# A checkpoint reads the job for cancel_requested at most this often: cheap, and quick enough for a user.
CANCEL_POLL_S = 1.0
# Progress is coalesced: at most one write this often, and what is pending is flushed by the lease keeper within
# the same interval, so the job's progress is never more than about 2 s behind (§3 promises 5 s).
PROGRESS_EVERY_S = 2.0


class RunContext:
    """One attempt of one job. Thread-safe where it matters: the lease keeper and the connection thread
    (shutdown, watchdog) set flags that the handler's thread sees at its next checkpoint."""

    def __init__(self, *, message: JobMessage, settings: Settings, claim: Claim, lifecycle: Lifecycle) -> None:
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
        self.leads_saved = 0  # leads of this attempt in the store, as counted after its last save
        self._progress = Progress(phase="searching")
        self._progress_lock = threading.Lock()
        self._progress_pending = False
        self._progress_written = 0.0

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
            if job is None or job.cancel_requested:
                self._cancelled.set()
        if self._cancelled.is_set():
            raise JobCancelled("the job was cancelled")

    def save_leads(self, leads: list[Lead]) -> None:
        self._guard()
        # Fenced against the store first: an attempt that lost its job (another attempt, or a finish) must not
        # add leads to it. Leads carry their attempt, and a success keeps only its own attempt's.
        if not self._lifecycle.holds(self.claim):
            self._lost.set()
            raise AttemptInterrupted("lease_lost")
        store = self._lifecycle.store
        store.write_leads(self.job_id, leads, self.attempt)
        count = store.count_leads(self.job_id, self.attempt)
        self.leads_saved = count
        with self._progress_lock:
            self._progress = self._progress.model_copy(update={"leads_found": count})
            self._progress_pending = False
            progress = self._progress
        if not self._lifecycle.record_leads(self.claim, count, progress):
            self._lost.set()
            raise AttemptInterrupted("lease_lost")
        self._progress_written = time.monotonic()

    def progress(self, step: str, **fields: Any) -> None:
        """The handler's steps, as the job's public progress (§3): `searched` (searching), `reading_sites` with the
        total of sites to read, `sites` with done/total (reading_sites), `leads_found` with leads (the count of saved
        leads otherwise comes from save_leads). Writes are coalesced; the phase only moves forward."""
        self._guard()
        log.info("job_progress", job_id=self.job_id, attempt=self.attempt, step=step, **fields)
        with self._progress_lock:
            update: dict[str, Any] = {}
            if step == "sites":
                update = {"phase": "reading_sites", "sites_done": int(fields.get("done", 0)),
                          "sites_total": int(fields.get("total", 0))}  # fmt: skip
            elif step == "leads_found":
                update = {"leads_found": int(fields.get("leads", 0))}
            elif step == "reading_sites":
                update = {"phase": "reading_sites", "sites_total": int(fields.get("total", 0))}
            self._progress = self._progress.advanced(**update)
            self._progress_pending = True
        if time.monotonic() - self._progress_written >= PROGRESS_EVERY_S:
            self.flush_progress()

    def flush_progress(self) -> None:
        with self._progress_lock:
            if not self._progress_pending:
                return
            self._progress_pending = False
            progress = self._progress
        self._progress_written = time.monotonic()
        try:
            if not self._lifecycle.record_progress(self.claim, progress):
                self._lost.set()
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
        # Wait for a renewal or progress write in flight: it must not land after the attempt's final write (the
        # store's update-time precondition prevents that on Firestore; the local emulator ignores it).
        if self._keeper is not None and self._keeper is not threading.current_thread():
            self._keeper.join(timeout=3 * self.settings.firestore_timeout_s + 1)

    def _keep_lease(self) -> None:
        # Renew at a third of the lease, so that two renewals can fail (a Firestore blip) before it lapses;
        # between renewals, flush coalesced progress. It looks four times per PROGRESS_EVERY_S (a flush costs nothing
        # when no step is pending), so a step waits at most about 1.25 x PROGRESS_EVERY_S to be written.
        interval = self.settings.runner_lease_s / 3
        next_renewal = time.monotonic() + interval
        while not self._done.wait(min(PROGRESS_EVERY_S / 4, interval)):
            if time.monotonic() - self._progress_written >= PROGRESS_EVERY_S and not self._lost.is_set():
                self.flush_progress()
            if time.monotonic() < next_renewal:
                continue
            next_renewal = time.monotonic() + interval
            try:
                job = self._lifecycle.renew(self.claim)
            except DependencyUnavailable as e:
                log.warning("lease_not_renewed", job_id=self.job_id, attempt=self.attempt, error=str(e))
                continue
            if job is None:
                log.warning("lease_lost", job_id=self.job_id, attempt=self.attempt)
                self._lost.set()
                return
            if job.cancel_requested:
                self._cancelled.set()
