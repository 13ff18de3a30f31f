"""The outbox relay: publishes every job that was accepted (202) but whose message was never confirmed,
e.g. because RabbitMQ was down at that moment. Runs as a loop locally (`python -m leadengine.outbox`) and,
on GCP, as one pass per Cloud Scheduler call to the function's relay route (runners may be scaled to zero).

Publishing a job twice is harmless: the runner drops a delivery whose job is already finished or held."""

from __future__ import annotations

import signal
import threading
from typing import Any

from leadengine import log as logging_setup
from leadengine.errors import DependencyUnavailable
from leadengine.log import get_logger
from leadengine.publisher import Publisher
from leadengine.schemas import JobMessage, JobStatus
from leadengine.settings import settings_or_exit
from leadengine.store import JobStore

log = get_logger(__name__)


def relay_once(store: JobStore, publisher: Publisher, *, older_than_s: float, limit: int = 100) -> dict[str, int]:
    """One pass: publish what is due. Raises DependencyUnavailable if the broker or Firestore is down;
    whatever was not confirmed stays marked for the next pass."""
    published = skipped = 0
    for job in store.unpublished_jobs(older_than_s=older_than_s, limit=limit):
        if job.get("status") == JobStatus.QUEUED.value:
            publisher.publish(JobMessage.for_job(job["job_id"], job["user_id"], job["request"]))
            published += 1
        else:
            skipped += 1  # cancelled (or already running from another copy): nothing to deliver
        store.mark_published(job["job_id"])
    if published or skipped:
        log.info("outbox_relayed", published=published, skipped=skipped)
    return {"published": published, "skipped": skipped}


def run_forever(settings: Any, stop: threading.Event) -> None:
    store = JobStore(settings)
    publisher = Publisher(settings)
    log.info("relay_started", interval_s=settings.relay_interval_s, broker=settings.amqp_url_for_logs())
    while not stop.is_set():
        try:
            relay_once(store, publisher, older_than_s=settings.outbox_grace_s)
        except DependencyUnavailable as e:
            log.warning("relay_pass_failed", error=str(e))
        stop.wait(settings.relay_interval_s)
    publisher.close()
    log.info("relay_stopped")


def main() -> None:
    settings = settings_or_exit()
    logging_setup.configure(settings.log_level)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_forever(settings, stop)


if __name__ == "__main__":
    main()
