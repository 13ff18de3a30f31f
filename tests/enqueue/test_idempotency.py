"""Idempotency-Key: the same key and body answer as the first time and never create or publish a second job;
another body is 409; ten concurrent requests with one key make one job and one message."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from leadengine.store import JobStore
from tests.enqueue.conftest import VALID, Users, count_jobs, drain

SCRAPE = "/api/v1/jobs/scrape"


def post(client: Any, users: Users, user: str, key: str, payload: dict[str, Any]) -> Any:
    return client.post(SCRAPE, json=payload, headers={**users.auth(user), "Idempotency-Key": key})


def test_same_key_and_body_answer_the_first_job_and_publish_once(client, users: Users, channel) -> None:
    key = f"order-{uuid.uuid4()}"
    first = post(client, users, users.alice, key, VALID)
    second = post(client, users, users.alice, key, VALID)
    assert first.status_code == second.status_code == 202
    assert first.json == second.json and first.headers["Location"] == second.headers["Location"]
    assert [p.message_id for _, p, _ in drain(channel)] == [first.json["job_id"]]


def test_the_same_request_after_trimming_and_defaults_is_the_same_body(client, users: Users) -> None:
    key = f"trim-{uuid.uuid4()}"
    first = post(client, users, users.alice, key, {"industry": "SaaS", "geography": "Oslo"})
    second = post(client, users, users.alice, key, {"industry": " SaaS ", "geography": "Oslo", "keywords": [],
                                                    "source_types": ["google"], "max_leads": 50})  # fmt: skip
    assert second.status_code == 202 and second.json["job_id"] == first.json["job_id"]


def test_same_key_with_another_body_is_409_and_creates_nothing(client, users: Users, job_store, channel) -> None:
    key = f"order-{uuid.uuid4()}"
    post(client, users, users.bob, key, VALID)
    before = count_jobs(job_store, users.bob)
    drain(channel)
    response = post(client, users, users.bob, key, {**VALID, "max_leads": 10})
    assert (response.status_code, response.json["error"]["code"]) == (409, "idempotency_conflict")
    assert count_jobs(job_store, users.bob) == before and drain(channel) == []


def test_a_key_belongs_to_its_user(client, users: Users) -> None:
    key = f"shared-{uuid.uuid4()}"
    alice = post(client, users, users.alice, key, VALID)
    bob = post(client, users, users.bob, key, {**VALID, "max_leads": 7})
    assert alice.status_code == bob.status_code == 202 and alice.json["job_id"] != bob.json["job_id"]


def test_ten_concurrent_requests_with_one_key_make_one_job_and_one_message(
    server, users: Users, job_store: JobStore, channel
) -> None:
    _, base_url = server
    key = f"burst-{uuid.uuid4()}"
    payload = {**VALID, "geography": "Burst"}
    before = count_jobs(job_store, users.alice)

    def one(_: int) -> httpx.Response:
        headers = {**users.auth(users.alice), "Idempotency-Key": key}
        return httpx.post(f"{base_url}{SCRAPE}", json=payload, headers=headers, timeout=30)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(one, range(10)))
    assert [a.status_code for a in answers] == [202] * 10
    job_ids = {a.json()["job_id"] for a in answers}
    assert len(job_ids) == 1
    (job_id,) = job_ids
    assert count_jobs(job_store, users.alice) == before + 1
    assert job_store.get_job(job_id).request.geography == "Burst"
    assert [p.message_id for _, p, _ in drain(channel)] == [job_id]


def test_the_503_cleanup_never_removes_an_earlier_requests_key(client, users: Users, job_store: JobStore) -> None:
    """On a 503 the function discards its new job; if the 503 came while replaying an earlier request's key,
    that earlier record must survive, or a retry would create a second job."""
    key = f"keep-{uuid.uuid4()}"
    first = post(client, users, users.alice, key, VALID)
    job_store.discard_job(str(uuid.uuid4()), users.alice, key)  # the cleanup of a failed replay
    assert post(client, users, users.alice, key, VALID).json["job_id"] == first.json["job_id"]
    job_store.discard_job(first.json["job_id"], users.alice, key)  # the cleanup of the job that made the key
    again = post(client, users, users.alice, key, VALID)
    assert again.status_code == 202 and again.json["job_id"] != first.json["job_id"]
