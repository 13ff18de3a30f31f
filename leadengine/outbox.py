"""The outbox: a job accepted (202) keeps a mark until its message is confirmed published. Here, and only here,
is that mark acted on: publish-then-clear (the function's submit, dead-letter replay), the relay pass that
publishes what was missed (the broker was down), and the one relay loop, run locally by
`python -m leadengine.outbox` and on GCP by the function's relay route (runners may be scaled to zero).

Publishing a job twice is harmless: the runner drops a delivery whose job is already finished or held."""

from __future__ import annotations

import atexit
import signal
import threading
import time
from dataclasses import dataclass

from leadengine import log as logging_setup
from leadengine import stalls, webhooks
from leadengine.errors import DependencyUnavailable, PublishFailed, PublishPaused, StoreUnavailable
from leadengine.jobs import Job, release_held
from leadengine.log import get_logger
from leadengine.publisher import Publisher
from leadengine.schemas import JobMessage, JobStatus
from leadengine.settings import Settings, settings_or_exit
from leadengine.store import JobStore

log = get_logger(__name__)

# One relay drains the outbox in passes of PASS_LIMIT jobs until it is empty or BUDGET_S is spent, well inside
# Cloud Scheduler's 60 s attempt deadline: after a long broker outage a backlog of accepted jobs goes out in one
# call instead of one pass per scheduler tick.
PASS_LIMIT = 100
BUDGET_S = 20.0
# How long a cleared mark may wait for others to share its commit; far below OUTBOX_GRACE_S, so the relay does
# not take a published job for a missed one.
CLEAR_LINGER_S = 0.05


@dataclass
class RelayCounts:
    published: int = 0
    skipped: int = 0  # not queued any more (cancelled, or running from another copy): nothing to deliver

    def add(self, other: RelayCounts) -> None:
        self.published += other.published
        self.skipped += other.skipped

    def as_dict(self) -> dict[str, int]:
        return {"published": self.published, "skipped": self.skipped}


class Clearer:
    """Clears outbox marks in the background, in batches, so that a request does not wait for that write.
    If the process dies first, the mark stays: the relay publishes the job again and the runner drops the
    duplicate. `flush()` clears what is queued now (before a relay pass, at exit)."""

    def __init__(self, store: JobStore) -> None:
        self._store = store
        self._changed = threading.Condition()
        self._pending: list[str] = []
        self._in_flight = 0
        self._flushing = 0
        self._thread: threading.Thread | None = None

    def clear(self, job_id: str) -> None:
        with self._changed:
            self._pending.append(job_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="outbox-clearer", daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def flush(self, timeout_s: float) -> bool:
        """Wait until every mark queued so far is written (or given up on); False if that took too long."""
        with self._changed:
            self._flushing += 1
            self._changed.notify_all()
            try:
                return self._changed.wait_for(lambda: not self._pending and not self._in_flight, timeout_s)
            finally:
                self._flushing -= 1

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._pending))
                # Linger a moment so the marks of several requests go out in one commit: a write per request
                # would cost Firestore (and this process's CPU) as much as the request's own create.
                self._changed.wait_for(lambda: self._flushing > 0, CLEAR_LINGER_S)
                batch, self._pending = self._pending, []
                self._in_flight = len(batch)
            try:
                self._store.mark_published_many(batch)
            except Exception as e:  # the thread must outlive any error; the relay covers what was not cleared
                log.warning("mark_published_failed", jobs=len(batch), job_id=batch[0], error=repr(e)[:200])
            finally:
                with self._changed:
                    self._in_flight = 0
                    self._changed.notify_all()


def publish_then_clear(store: JobStore, publisher: Publisher, job: Job, clearer: Clearer | None = None) -> None:
    """Publish a marked job's message, then clear its mark (in the background with a clearer). PublishFailed
    leaves the mark for the relay; a failed clear is only logged (the relay publishes again, harmlessly)."""
    publisher.publish(JobMessage.for_job(job))
    if clearer is not None:
        clearer.clear(job.job_id)
        return
    try:
        store.mark_published(job.job_id)
    except StoreUnavailable as e:
        log.warning("mark_published_failed", job_id=job.job_id, error=str(e))


def publish_or_defer(store: JobStore, publisher: Publisher, job: Job, clearer: Clearer | None = None) -> bool:
    """For a request that has accepted the job: publish it now if the broker takes it, else leave it to the relay
    (the mark stays, so the job is never lost). True if published."""
    try:
        publish_then_clear(store, publisher, job, clearer)
    except PublishPaused:
        log.warning("publish_deferred_to_relay", job_id=job.job_id, reason="broker_recently_down")
        return False
    except PublishFailed as e:
        log.warning("publish_deferred_to_relay", job_id=job.job_id, reason="publish_failed", error=str(e))
        return False
    return True


def relay_once(store: JobStore, publisher: Publisher, *, older_than_s: float, limit: int = PASS_LIMIT) -> RelayCounts:
    """One pass: publish what is due. Raises DependencyUnavailable if the broker or Firestore is down;
    whatever was not confirmed stays marked for the next pass."""
    counts = RelayCounts()
    done: list[str] = []
    try:
        for job in store.unpublished_jobs(older_than_s=older_than_s, limit=limit):
            if job.status is JobStatus.QUEUED:
                publisher.publish(JobMessage.for_job(job))
                counts.published += 1
            else:
                counts.skipped += 1
            done.append(job.job_id)
    finally:
        if done:  # also after a failure: what went out must not go out again
            store.mark_published_many(done)
    if done:
        log.info("outbox_relayed", **counts.as_dict())
    return counts


def drain(
    store: JobStore,
    publisher: Publisher,
    *,
    older_than_s: float,
    pass_limit: int | None = None,
    budget_s: float | None = None,
) -> RelayCounts:
    """The relay loop: passes until a pass finds less than a full page or the budget is spent."""
    limit = pass_limit or PASS_LIMIT
    deadline = time.monotonic() + (budget_s if budget_s is not None else BUDGET_S)
    totals = RelayCounts(published=relay_held(store, publisher))  # fair share's hook (§8): the held jobs' turn
    while True:
        counts = relay_once(store, publisher, older_than_s=older_than_s, limit=limit)
        totals.add(counts)
        if counts.published + counts.skipped < limit or time.monotonic() > deadline:
            return totals


# --- fair share (contract §8, leadengine/fairshare.py): held jobs go out as their users' places come free ------------


def publish_held(store: JobStore, publisher: Publisher, user_id: str) -> int:
    """Publish the user's held jobs, oldest first, while the user has free places; how many were published.
    The place is taken before the job is released (marked for the outbox): a crash in between leaves the place with
    the job, which is still the user's oldest held job, so the next call finds it holds the place already."""
    published = 0
    for job in store.held_jobs(user_id):
        if not store.take_place(user_id, job.job_id):
            break
        released = store.change_job(job.job_id, release_held(job.job_id))
        if released is None:  # not held any more: cancelled, or released by another process meanwhile
            current = store.find_job(job.job_id)
            # Only a finished job's place goes back: a job another process released runs with this very place
            # (freeing it would let the user's next held job take it, and leave this one `capped`; found by the soak).
            if current is None or current.finished:
                store.free_places(user_id, job.job_id)
            continue
        published += publish_or_defer(store, publisher, released)  # a failed publish stays marked for the relay
        log.info("held_job_released", job_id=job.job_id, user_id=user_id)
    return published


def make_room(store: JobStore, publisher: Publisher, user_id: str, job_id: str) -> int:
    """A job of the user finished or was cancelled: free its place and publish the user's next held job(s)."""
    if not store.free_places(user_id, job_id):
        return 0  # it held no place (a held job was cancelled): nobody's turn came
    return publish_held(store, publisher, user_id)


def relay_held(store: JobStore, publisher: Publisher, *, limit: int = PASS_LIMIT) -> int:
    """The relay's fair-share pass: for each user with held jobs (oldest first), publish what their places allow.
    Catches what make_room missed (a runner that died between a job's end and freeing its place)."""
    users = dict.fromkeys(job.user_id for job in store.oldest_held_jobs(limit))
    return sum(publish_held(store, publisher, user_id) for user_id in users)


def run_forever(settings: Settings, stop: threading.Event) -> None:
    """The local relay process: drain every RELAY_INTERVAL_S until stopped."""
    store = JobStore(settings)
    publisher = Publisher(settings)
    log.info("relay_started", interval_s=settings.relay_interval_s, broker=settings.amqp_url_for_logs())
    # Webhook deliveries go out from a thread of their own: a slow receiver must not hold up publishing.
    webhooks.start_worker(settings, store, stop)
    recovery = stalls.Recovery(settings)
    while not stop.is_set():
        try:
            drain(store, publisher, older_than_s=settings.outbox_grace_s)
            recovery.maybe_run(store, publisher)
        except DependencyUnavailable as e:
            log.warning("relay_pass_failed", error=str(e))
        except Exception:  # a bug in one pass must not end the relay: the next pass starts afresh (issue 9 defect 9)
            log.exception("relay_pass_crashed")
        stop.wait(settings.relay_interval_s)
    publisher.close()
    log.info("relay_stopped")


def clearer_for(store: JobStore) -> Clearer:
    """A process's clearer, flushed at exit so a clean shutdown leaves no mark behind."""
    clearer = Clearer(store)
    atexit.register(clearer.flush, 2.0)
    return clearer


def main() -> None:
    settings = settings_or_exit()
    logging_setup.configure(settings.log_level)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_forever(settings, stop)


if __name__ == "__main__":
    main()
