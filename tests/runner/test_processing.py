"""One delivery through JobProcessor in-process (the emulator, no broker): what it settles on when its
attempt loses the job, when a handler swallows exceptions, and for each verdict of the job document."""

from __future__ import annotations

import threading
import time

from leadengine.jobs import utcnow
from leadengine.schemas import JobMessage, Lead, lead_id_for
from leadengine.settings import Settings, load_settings
from leadengine.store import JobStore
from runner.errors import TransientJobError
from runner.handler_api import JobContext
from runner.processing import ACK, DEAD_LETTER, JobProcessor, Settlement
from tests.support import jobs
from tests.support.jobs import document, force


def _settings() -> Settings:
    return load_settings(runner_lease_s=1, job_max_attempts=2, job_retry_delays_s="1,2")


def _job(store: JobStore) -> bytes:
    return JobMessage.for_job(jobs.create(store)).body()


def _job_id(body: bytes) -> str:
    return JobMessage.model_validate_json(body).job_id


def test_an_attempt_that_loses_its_job_to_another_drops_its_copy_and_writes_nothing(
    base_env: dict[str, str], store: JobStore
) -> None:
    started = threading.Event()

    def handler(ctx: JobContext) -> None:
        started.set()
        while True:  # runs until the runner takes the attempt back at a checkpoint
            time.sleep(0.05)
            ctx.checkpoint()

    processor = JobProcessor(_settings(), store, handler, "runner-a")
    body = _job(store)
    job_id = _job_id(body)
    result: list[Settlement] = []
    worker = threading.Thread(target=lambda: result.append(processor.process(body)))
    worker.start()
    assert started.wait(10)
    # Another runner took over (as after a lapsed lease): attempt 2 is theirs now.
    force(store, job_id, attempts=2, lease={"owner": "runner-b", "attempt": 2, "expires_at": utcnow()})
    worker.join(timeout=10)
    assert result == [ACK]
    job = document(store, job_id)
    assert (
        job["status"] == "running"
        and job["lease"]["owner"] == "runner-b"
        and job["history"][-1]["outcome"] == "running"
    )


def test_a_retry_settles_on_the_backoff_delay_and_the_last_attempt_on_a_dead_letter(
    base_env: dict[str, str], store: JobStore
) -> None:
    def handler(ctx: JobContext) -> None:
        raise TransientJobError("503 from the provider")

    processor = JobProcessor(_settings(), store, handler, "runner-a")
    body = _job(store)
    assert processor.process(body) == Settlement("delay", 1)
    force(store, _job_id(body), retry_not_before=None)  # as if the backoff were over
    assert processor.process(body) == DEAD_LETTER
    job = document(store, _job_id(body))
    assert job["status"] == "failed" and job["attempts"] == 2 and job["error"]["code"] == "attempts_exhausted"
    # A later copy joins it in failed_jobs: it may be the one a runner left when it died between writing
    # `failed` and dead-lettering (issue 9 defect 6).
    assert processor.process(body) == DEAD_LETTER


def test_a_copy_arriving_during_the_backoff_is_parked_until_it_is_over(
    base_env: dict[str, str], store: JobStore
) -> None:
    calls = []

    def handler(ctx: JobContext) -> None:
        calls.append(ctx.attempt)
        raise TransientJobError("429")

    settings = load_settings(runner_lease_s=1, job_max_attempts=3, job_retry_delays_s="5,30")
    processor = JobProcessor(settings, store, handler, "runner-a")
    body = _job(store)
    assert processor.process(body) == Settlement("delay", 5)
    assert processor.process(body) == Settlement("delay", 5)  # a duplicate copy: not an early attempt
    assert calls == [1]


def _lead(job_id: str, domain: str) -> Lead:
    return Lead(lead_id=lead_id_for(job_id, domain), company_name=domain, domain=domain, found_at=utcnow())


def test_the_final_leads_are_exactly_those_of_the_attempt_that_finished(
    base_env: dict[str, str], store: JobStore
) -> None:
    """Issue 9 defect 1: attempt 1 saves two leads and fails; attempt 2 finds another set and succeeds."""

    def handler(ctx: JobContext) -> None:
        if ctx.attempt == 1:
            ctx.save_leads([_lead(ctx.job_id, "a.example"), _lead(ctx.job_id, "b.example")])
            raise TransientJobError("the provider went away")
        ctx.save_leads([_lead(ctx.job_id, "b.example"), _lead(ctx.job_id, "c.example")])

    processor = JobProcessor(_settings(), store, handler, "runner-a")
    body = _job(store)
    job_id = _job_id(body)
    assert processor.process(body) == Settlement("delay", 1)
    assert store.count_leads(job_id) == 2
    force(store, job_id, retry_not_before=None)  # as if the backoff were over
    assert processor.process(body) == ACK
    leads, _ = store.list_leads(job_id, 50)
    assert sorted(lead.domain or "" for lead in leads) == ["b.example", "c.example"]
    job = store.get_job(job_id)
    assert job.status == "succeeded" and job.lead_count == 2 and job.progress.leads_found == 2


def test_an_attempt_that_lost_its_job_writes_no_lead(base_env: dict[str, str], store: JobStore) -> None:
    """Issue 9 defect 2: the fence is the store's, not a local flag: a zombie's save is refused."""
    saved = threading.Event()
    outcome: list[BaseException] = []

    def handler(ctx: JobContext) -> None:
        force(store, ctx.job_id, attempts=2, lease={"owner": "runner-b", "attempt": 2, "token": "t",
                                                    "expires_at": utcnow()})  # fmt: skip
        try:
            ctx.save_leads([_lead(ctx.job_id, "zombie.example")])
        except BaseException as e:  # AttemptInterrupted is a BaseException on purpose
            outcome.append(e)
            raise
        finally:
            saved.set()

    processor = JobProcessor(_settings(), store, handler, "runner-a")
    body = _job(store)
    assert processor.process(body) == ACK  # superseded: the copy is dropped, the other attempt carries on
    assert saved.is_set() and type(outcome[0]).__name__ == "AttemptInterrupted"
    assert store.count_leads(_job_id(body)) == 0
