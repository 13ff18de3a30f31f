"""The Firestore job store on the real client against the emulator."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from leadengine.errors import IdempotencyConflict, JobFinished, JobNotFound, StoreUnavailable
from leadengine.schemas import Lead, lead_id_for
from leadengine.settings import load_settings
from leadengine.store import JobStore, decode_page_token, encode_page_token, job_view, utcnow
from tests.support import services

REQUEST = {"industry": "SaaS", "geography": "Sydney", "keywords": [], "source_types": ["google"],
           "search_query": "SaaS companies in Sydney", "filters": None, "max_leads": 50}  # fmt: skip


def _job(store: JobStore, user: str, request: dict | None = None) -> dict:
    return store.new_job(str(uuid.uuid4()), user, request or REQUEST, utcnow())


def test_created_job_reads_back_with_every_public_field(store: JobStore) -> None:
    job, created = store.create_job(_job(store, "alice"))
    assert created
    view = job_view(store.get_job(job["job_id"], "alice"))
    assert view["status"] == "queued" and view["attempts"] == 0 and view["lead_count"] == 0
    assert view["error"] is None and view["started_at"] is None and view["finished_at"] is None
    assert view["created_at"].endswith("Z") and view["request"] == REQUEST


def test_another_users_job_is_not_found(store: JobStore) -> None:
    job, _ = store.create_job(_job(store, "alice"))
    with pytest.raises(JobNotFound):
        store.get_job(job["job_id"], "mallory")


def test_same_idempotency_key_and_body_returns_the_first_job(store: JobStore) -> None:
    key = uuid.uuid4().hex
    first, created = store.create_job(_job(store, "alice"), key)
    second_job = _job(store, "alice")
    again, created_again = store.create_job(second_job, key)
    assert created and not created_again
    assert again["job_id"] == first["job_id"]
    with pytest.raises(JobNotFound):  # the batch is atomic: the second job document was never written
        store.get_job(second_job["job_id"])


def test_same_idempotency_key_with_another_body_conflicts(store: JobStore) -> None:
    key = uuid.uuid4().hex
    store.create_job(_job(store, "alice"), key)
    with pytest.raises(IdempotencyConflict):
        store.create_job(_job(store, "alice", {**REQUEST, "industry": "Fintech"}), key)


def test_idempotency_keys_are_per_user(store: JobStore) -> None:
    key = uuid.uuid4().hex
    a, _ = store.create_job(_job(store, "alice"), key)
    b, created = store.create_job(_job(store, "bob"), key)
    assert created and a["job_id"] != b["job_id"]


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
    assert len({job["job_id"] for job, _ in results}) == 1


def test_leads_page_through_every_lead_exactly_once(store: JobStore) -> None:
    job, _ = store.create_job(_job(store, "alice"))
    job_id = job["job_id"]
    leads = [Lead(lead_id=lead_id_for(job_id, f"c{i}.com"), company_name=f"C{i}", found_at=utcnow()) for i in range(11)]
    store.write_leads(job_id, leads)
    store.write_leads(job_id, leads[:4])  # writing a company again overwrites, never duplicates
    seen, token = [], None
    while True:
        page, token = store.list_leads(job_id, 4, decode_page_token(token) if token else None)
        seen += [lead["lead_id"] for lead in page]
        if token is None:
            break
    assert sorted(seen) == sorted(lead.lead_id for lead in leads)
    assert store.count_leads(job_id) == 11


@pytest.mark.parametrize("token", ["", "!!!", "x" * 300, encode_page_token("../../x")])
def test_foreign_page_tokens_are_rejected(token: str) -> None:
    with pytest.raises(ValueError):
        decode_page_token(token)


def test_cancel_queued_job_is_immediate_and_final(store: JobStore) -> None:
    job, _ = store.create_job(_job(store, "alice"))
    cancelled = store.request_cancel(job["job_id"], "alice")
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"] is not None
    assert store.get_job(job["job_id"])["outbox_due_at"] is None  # the relay will not publish a cancelled job
    with pytest.raises(JobFinished):
        store.request_cancel(job["job_id"], "alice")


def test_cancel_running_job_only_requests_it(store: JobStore) -> None:
    job, _ = store.create_job(_job(store, "alice"))
    store.job_ref(job["job_id"]).update({"status": "running"})
    after = store.request_cancel(job["job_id"], "alice")
    assert after["status"] == "running" and after["cancel_requested"] is True


def test_unpublished_jobs_wait_out_the_grace_period_and_clear_when_published(store: JobStore) -> None:
    job, _ = store.create_job(_job(store, "relay-user"))
    assert job["job_id"] not in {j["job_id"] for j in store.unpublished_jobs(older_than_s=3600)}
    assert job["job_id"] in {j["job_id"] for j in store.unpublished_jobs(older_than_s=0, limit=1000)}
    store.mark_published(job["job_id"])
    assert job["job_id"] not in {j["job_id"] for j in store.unpublished_jobs(older_than_s=0, limit=1000)}


def test_firestore_down_is_store_unavailable_within_the_timeout(base_env, log_dir, monkeypatch) -> None:
    emulator = services.Emulator(log_dir)
    emulator.stop()
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.host)  # a port where nothing listens any more
    store = JobStore(load_settings(firestore_timeout_s=1))
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        store.get_job(str(uuid.uuid4()))
    assert time.monotonic() - started < 5
