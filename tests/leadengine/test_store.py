"""The Firestore job store on the real client against the emulator."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from leadengine.errors import IdempotencyConflict, JobNotFound, StoreUnavailable
from leadengine.jobs import Change, Job, utcnow
from leadengine.schemas import JobStatus, Lead, lead_id_for
from leadengine.settings import load_settings
from leadengine.store import JobStore
from tests.support import services
from tests.support.jobs import REQUEST, document, draft, force


def _job(store: JobStore, user: str, request: dict | None = None) -> Job:
    return draft(user, request)


def test_created_job_reads_back_with_every_field(store: JobStore) -> None:
    job, created = store.create_job(_job(store, "alice"))
    assert created
    read = store.get_job(job.job_id, "alice")
    assert read == job
    assert read.status is JobStatus.QUEUED and read.attempts == 0 and read.lead_count == 0
    assert read.error is None and read.started_at is None and read.finished_at is None
    assert read.request.model_dump() == REQUEST and read.outbox_due_at is not None


def test_a_legacy_document_reads_with_defaults(store: JobStore) -> None:
    """Documents written by earlier versions: nulls where counters now are, no progress, a free-form one."""
    job, _ = store.create_job(_job(store, "alice"))
    force(store, job.job_id, attempts=None, lead_count=None, history=None, progress={"step": "sites", "done": 2})
    read = store.get_job(job.job_id)
    assert read.attempts == 0 and read.lead_count == 0 and read.history == []
    assert read.progress.phase == "queued"


def test_change_job_writes_only_what_changed(store: JobStore) -> None:
    job, _ = store.create_job(_job(store, "alice"))
    force(store, job.job_id, extra_field="kept")  # a field this version does not know survives a change

    def request_cancel(current: Job | None) -> Change[Job]:
        assert current is not None
        changed = current.cancel_requested_by_user(utcnow())
        return Change(changed, changed)

    cancelled = store.change_job(job.job_id, request_cancel)
    raw = document(store, job.job_id)
    assert raw["status"] == "cancelled" and raw["extra_field"] == "kept" and raw["outbox_due_at"] is None
    assert store.get_job(job.job_id) == cancelled


def test_another_users_job_is_not_found(store: JobStore) -> None:
    job, _ = store.create_job(_job(store, "alice"))
    with pytest.raises(JobNotFound):
        store.get_job(job.job_id, "mallory")


def test_same_idempotency_key_and_body_returns_the_first_job(store: JobStore) -> None:
    key = uuid.uuid4().hex
    first, created = store.create_job(_job(store, "alice"), key)
    second_job = _job(store, "alice")
    again, created_again = store.create_job(second_job, key)
    assert created and not created_again
    assert again.job_id == first.job_id
    with pytest.raises(JobNotFound):  # the batch is atomic: the second job document was never written
        store.get_job(second_job.job_id)


def test_same_idempotency_key_with_another_body_conflicts(store: JobStore) -> None:
    key = uuid.uuid4().hex
    store.create_job(_job(store, "alice"), key)
    with pytest.raises(IdempotencyConflict):
        store.create_job(_job(store, "alice", {**REQUEST, "industry": "Fintech"}), key)


def test_idempotency_keys_are_per_user(store: JobStore) -> None:
    key = uuid.uuid4().hex
    a, _ = store.create_job(_job(store, "alice"), key)
    b, created = store.create_job(_job(store, "bob"), key)
    assert created and a.job_id != b.job_id


def test_concurrent_creates_with_one_key_make_one_job(store: JobStore) -> None:
    key, results = uuid.uuid4().hex, []
    threads = [
        threading.Thread(target=lambda: results.append(store.create_job(_job(store, "carol"), key))) for _ in range(10)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(created for _, created in results) == 1
    assert len({job.job_id for job, _ in results}) == 1


def test_leads_page_through_every_lead_exactly_once(store: JobStore) -> None:
    job, _ = store.create_job(_job(store, "alice"))
    job_id = job.job_id
    leads = [Lead(lead_id=lead_id_for(job_id, f"c{i}.com"), company_name=f"C{i}", found_at=utcnow()) for i in range(11)]
    store.write_leads(job_id, leads)
    store.write_leads(job_id, leads[:4])  # writing a company again overwrites, never duplicates
    seen: list[str] = []
    after = None
    while True:
        page, more = store.list_leads(job_id, 4, after)
        seen += [lead.lead_id for lead in page]
        if not more:
            break
        after = page[-1].lead_id
    assert sorted(seen) == sorted(lead.lead_id for lead in leads)
    assert store.count_leads(job_id) == 11


def test_unpublished_jobs_wait_out_the_grace_period_and_clear_when_published(store: JobStore) -> None:
    job, _ = store.create_job(_job(store, "relay-user"))
    assert job.job_id not in {j.job_id for j in store.unpublished_jobs(older_than_s=3600)}
    assert job.job_id in {j.job_id for j in store.unpublished_jobs(older_than_s=0, limit=1000)}
    store.mark_published(job.job_id)
    assert job.job_id not in {j.job_id for j in store.unpublished_jobs(older_than_s=0, limit=1000)}


def test_firestore_down_is_store_unavailable_within_the_timeout(base_env, log_dir, monkeypatch) -> None:
    emulator = services.Emulator(log_dir)
    emulator.stop()
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.host)  # a port where nothing listens any more
    store = JobStore(load_settings(firestore_timeout_s=1))
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        store.get_job(str(uuid.uuid4()))
    assert time.monotonic() - started < 5
