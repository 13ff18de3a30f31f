"""The promises of contract §3 with a dependency down, on the running function (gunicorn processes):
a 202 is never lost (the relay publishes it once the broker is back, with no client request), and a 503 leaves
nothing that will ever be processed, while a retry with the same Idempotency-Key then works as a first request."""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

import functions_framework
import httpx
import pytest

from leadengine import outbox
from leadengine.jobs import JobRequest, new_job, utcnow
from leadengine.schemas import ScrapeRequest
from leadengine.settings import get_settings, load_settings
from leadengine.store import JobStore
from tests.enqueue.conftest import MAIN, VALID, Users, count_jobs, drain, messages_for
from tests.support import services

SCRAPE = "/api/v1/jobs/scrape"


def test_broker_down_is_202_and_the_relay_process_publishes_it_later(
    function_env, function_factory, users: Users, job_store: JobStore, channel, log_dir: Path
) -> None:
    process, base_url = function_factory(function_env, RABBITMQ_PORT=str(services.free_port()))  # a closed port
    response = httpx.post(f"{base_url}{SCRAPE}", json=VALID, headers=users.auth(users.alice), timeout=30)
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    assert job_store.get_job(job_id).outbox_due_at is not None  # marked: accepted, not yet published
    assert drain(channel) == [] and '"reason": "publish_failed"' in process.output()
    # The next request does not wait out the retries against the dead broker again: its job goes to the relay.
    second = httpx.post(f"{base_url}{SCRAPE}", json=VALID, headers=users.auth(users.alice), timeout=30)
    assert second.status_code == 202
    assert '"reason": "broker_recently_down"' in process.output()

    relay = services.Process(
        [str(services.VENV_BIN / "python"), "-m", "leadengine.outbox"],
        {**function_env, "OUTBOX_GRACE_S": "0.5", "RELAY_INTERVAL_S": "0.2"},
        "relay",
        log_dir,
    )
    try:
        for accepted in (job_id, second.json()["job_id"]):
            services.wait_until(
                lambda a=accepted: job_store.get_job(a).outbox_due_at is None, timeout=20, what="the relay"
            )
    finally:
        relay.stop()
    messages = drain(channel)
    assert sorted(p.message_id for _, p, _ in messages) == sorted([job_id, second.json()["job_id"]])
    assert all(json.loads(body)["user_id"] == users.alice for _, _, body in messages)


def test_the_relay_route_publishes_what_the_broker_missed(
    function_env, function_factory, users: Users, job_store: JobStore, channel
) -> None:
    relay_env = {"RELAY_TOKEN": "relay-secret", "OUTBOX_GRACE_S": "0"}
    _, down_url = function_factory(function_env, RABBITMQ_PORT=str(services.free_port()), **relay_env)
    response = httpx.post(f"{down_url}{SCRAPE}", json=VALID, headers=users.auth(users.bob), timeout=30)
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    # the broker is still down for this instance: the relay route says so, and the mark stays
    down = httpx.post(f"{down_url}/internal/outbox/relay", headers={"X-Relay-Token": "relay-secret"}, timeout=30)
    assert (down.status_code, down.json()["error"]["code"]) == (503, "service_unavailable")
    assert "Retry-After" in down.headers and job_store.get_job(job_id).outbox_due_at is not None

    _, url = function_factory(function_env, **relay_env)
    relay = f"{url}/internal/outbox/relay"
    assert httpx.post(relay).status_code == 401
    assert httpx.post(relay, headers={"X-Relay-Token": "guess"}).status_code == 401
    assert httpx.post(relay, headers={"Authorization": f"Bearer {users.key_of[users.bob]}"}).status_code == 401
    assert drain(channel) == []
    first = httpx.post(relay, headers={"X-Relay-Token": "relay-secret"}, timeout=30)
    assert (first.status_code, first.json()) == (200, {"published": 1, "skipped": 0})
    second = httpx.post(relay, headers={"X-Relay-Token": "relay-secret"}, timeout=30)
    assert second.json() == {"published": 0, "skipped": 0}
    assert [m["job_id"] for m in messages_for(channel, job_id)] == [job_id]
    assert job_store.get_job(job_id).outbox_due_at is None


@pytest.fixture
def own_emulator(log_dir: Path):
    """A Firestore emulator of this test alone, so stopping it disturbs no other test."""
    emulators = [services.Emulator(log_dir)]
    yield emulators
    for emulator in emulators:
        emulator.stop()


def test_firestore_down_is_503_with_retry_after_nothing_published_and_a_retry_works_as_new(
    function_env, function_factory, users: Users, channel, own_emulator, monkeypatch, log_dir: Path
) -> None:
    emulator = own_emulator[0]
    process, url = function_factory(function_env, FIRESTORE_EMULATOR_HOST=emulator.host, FIRESTORE_TIMEOUT_S="1")
    headers = users.auth(users.alice)
    warm = httpx.post(f"{url}{SCRAPE}", json=VALID, headers=headers, timeout=30)
    assert warm.status_code == 202  # the function had working clients before the outage
    drain(channel)

    emulator.stop()
    key = f"retry-{uuid.uuid4()}"
    down = httpx.post(f"{url}{SCRAPE}", json=VALID, headers={**headers, "Idempotency-Key": key}, timeout=30)
    assert (down.status_code, down.json()["error"]["code"]) == (503, "service_unavailable")
    assert int(down.headers["Retry-After"]) > 0
    for path in (warm.headers["Location"], warm.headers["Location"] + "/leads", warm.headers["Location"] + "/cancel"):
        method = "POST" if path.endswith("/cancel") else "GET"
        answer = httpx.request(method, f"{url}{path}", headers=headers, timeout=30)
        assert answer.status_code == 503 and "Retry-After" in answer.headers, path
    assert drain(channel) == []  # nothing published for the 503
    assert process.output().count('"message_published"') == 1  # only the warm-up's

    own_emulator.append(services.Emulator(log_dir, port=emulator.port))  # back, empty
    deadline = time.monotonic() + 30
    while True:  # a client retrying with the same key, as the 503 invites
        retry = httpx.post(f"{url}{SCRAPE}", json=VALID, headers={**headers, "Idempotency-Key": key}, timeout=30)
        if retry.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(float(retry.headers["Retry-After"]) / 10)
    assert retry.status_code == 202
    job_id = retry.json()["job_id"]
    again = httpx.post(f"{url}{SCRAPE}", json=VALID, headers={**headers, "Idempotency-Key": key}, timeout=30)
    assert again.json()["job_id"] == job_id

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.host)
    store = JobStore(load_settings())
    assert count_jobs(store) == 1
    # published before the answer; the mark is cleared just after it, in the background
    services.wait_until(lambda: store.get_job(job_id).outbox_due_at is None, timeout=10, what="the mark cleared")
    assert [m["job_id"] for m in messages_for(channel, job_id)] == [job_id]


def test_one_relay_call_drains_a_backlog_larger_than_a_pass(function_env, users: Users, job_store: JobStore, channel,
                                                           monkeypatch) -> None:  # fmt: skip
    monkeypatch.setenv("RELAY_TOKEN", "relay-secret")
    monkeypatch.setenv("OUTBOX_GRACE_S", "0")
    get_settings.cache_clear()
    try:
        app = functions_framework.create_app(target="enqueue", source=str(MAIN))
        module = sys.modules["main"]
    finally:
        get_settings.cache_clear()
    monkeypatch.setattr(outbox, "PASS_LIMIT", 2)
    request = ScrapeRequest.model_validate(VALID).job_request()
    backlog = [str(uuid.uuid4()) for _ in range(5)]
    for job_id in backlog:  # accepted while the broker was down: written, marked, never published
        job_store.create_job(new_job(job_id, users.alice, JobRequest.model_validate(request), utcnow()))
    drain(channel)
    response = app.test_client().post("/internal/outbox/relay", headers={"X-Relay-Token": "relay-secret"})
    assert (response.status_code, response.json) == (200, {"published": 5, "skipped": 0})
    assert sorted(p.message_id for _, p, _ in drain(channel)) == sorted(backlog)
    module.publisher().close()
