"""Fair share between users (contract §8) on a `make run`-like stack: the enqueue function, the outbox relay and two
runner processes, on the real broker and the Firestore emulator, with the scripted test handler (sleep=S)."""

from __future__ import annotations

import itertools
import json
import signal
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from leadengine.jobs import JobRequest, new_job, utcnow
from leadengine.schemas import JobMessage
from leadengine.store import JobStore
from tests.enqueue.conftest import start_function
from tests.runner.harness import REQUEST, Runners
from tests.support import services

SCRAPE = "/api/v1/jobs/scrape"


@pytest.fixture
def base_env(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A Firestore project of this test's own (the relay sees every held job of its project); cap 1."""
    env = {"GOOGLE_CLOUD_PROJECT": f"le-fair-{uuid.uuid4().hex[:10]}", "USER_MAX_RUNNING_JOBS": "1"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return {**base_env, **env}


class Stack:
    """The function, the relay and runners of one test, and two users with API keys."""

    def __init__(self, runners: Runners, log_dir: Path) -> None:
        self.runners = runners
        self.log_dir = log_dir
        self.keys = {f"key-{uuid.uuid4().hex}": f"{name}-{uuid.uuid4().hex[:6]}" for name in ("alice", "bob")}
        self.alice, self.bob = self.keys.values()
        self.env = {**runners.base_env, "API_KEYS": json.dumps(self.keys)}
        self.processes: list[services.Process] = []
        self.url = ""

    def start(self, *, runners: int = 2, **env: str) -> None:
        self.env.update(env)
        for n in range(runners):
            self.runners.wait_started(self.runners.start(f"runner-{n + 1}", **env))
        function, self.url = start_function(self.log_dir, self.env)
        relay = services.Process([sys.executable, "-m", "leadengine.outbox"],
                                 {**self.env, "OUTBOX_GRACE_S": "1", "RELAY_INTERVAL_S": "0.5"}, "relay",
                                 self.log_dir)  # fmt: skip
        self.processes += [function, relay]

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def submit(self, user: str, *script: str, key: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._key(user)}", **({"Idempotency-Key": key} if key else {})}
        body = {"industry": "SaaS", "geography": "Sydney", "keywords": list(script)}
        return httpx.post(f"{self.url}{SCRAPE}", json=body, headers=headers, timeout=30)

    def accepted(self, user: str, *script: str) -> str:
        response = self.submit(user, *script)
        assert response.status_code == 202, response.text
        return str(response.json()["job_id"])

    def cancel(self, user: str, job_id: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._key(user)}"}
        return httpx.post(f"{self.url}/api/v1/jobs/{job_id}/cancel", headers=headers, timeout=30)

    def _key(self, user: str) -> str:
        return next(key for key, owner in self.keys.items() if owner == user)

    def logs(self) -> str:
        return self.runners.logs() + "\n".join(f"--- {p.name} ---\n{p.output()[-4000:]}" for p in self.processes)


@pytest.fixture
def stack(runners: Runners, log_dir: Path) -> Iterator[Stack]:
    started = Stack(runners, log_dir)
    yield started
    started.stop()


def _span(runners: Runners, job_id: str) -> tuple[datetime, datetime]:
    job = runners.store.get_job(job_id)
    assert job.started_at is not None and job.finished_at is not None, job
    return job.started_at, job.finished_at


def _assert_one_at_a_time(runners: Runners, job_ids: list[str]) -> list[tuple[datetime, datetime]]:
    spans = sorted(_span(runners, job_id) for job_id in job_ids)
    for (_, finished), (started, _) in itertools.pairwise(spans):
        assert started >= finished, f"two jobs of one user ran at once with USER_MAX_RUNNING_JOBS=1: {spans}"
    return spans


def _wait_all(stack: Stack, job_ids: list[str], timeout: float) -> None:
    def done() -> bool:
        return all(stack.runners.store.get_job(job_id).finished for job_id in job_ids)

    try:
        services.wait_until(done, timeout, 0.25, what=f"{len(job_ids)} jobs to finish")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{stack.logs()}") from None
    for job_id in job_ids:
        job = stack.runners.store.get_job(job_id)
        assert job.status.value == "succeeded" and job.attempts == 1, job


def test_one_users_backlog_does_not_starve_another_user(stack: Stack, runners: Runners) -> None:
    """Cap 1, two runners: alice submits 12 jobs of about 2 s, then bob 3. Alice's jobs never overlap, and from the
    moment each of bob's jobs may run (his submit, or his previous job's end: his cap is 1 too) until it starts, at
    most one of alice's jobs starts. With a plain FIFO queue bob's first job would wait behind all 12."""
    stack.start()
    alice_jobs = [stack.accepted(stack.alice, "sleep=2") for _ in range(12)]
    bob_submitted = utcnow()
    bob_jobs = [stack.accepted(stack.bob, "sleep=2") for _ in range(3)]
    held = [job_id for job_id in alice_jobs if runners.store.get_job(job_id).held]
    assert len(held) >= 10, "alice's backlog stays in Firestore, not in the broker"
    _wait_all(stack, alice_jobs + bob_jobs, timeout=120)

    alice_spans = _assert_one_at_a_time(runners, alice_jobs)
    bob_spans = _assert_one_at_a_time(runners, bob_jobs)
    runnable_since = bob_submitted
    for started, finished in bob_spans:
        overtaking = [span for span in alice_spans if runnable_since < span[0] < started]
        assert len(overtaking) <= 1, f"{len(overtaking)} of alice's jobs started before bob's job: {overtaking}"
        runnable_since = finished
    # alice's jobs ran in the order she submitted them
    assert [_span(runners, job_id)[0] for job_id in alice_jobs] == [span[0] for span in alice_spans]


def test_seed_style_messages_straight_to_the_queue_respect_the_cap(stack: Stack, runners: Runners) -> None:
    """Messages no function published (no job document, no place): a runner takes a place before it starts one,
    or parks the message in a delay queue; each job still runs once, one at a time."""
    stack.start()
    user = f"seed-{uuid.uuid4().hex[:6]}"
    job_ids = []
    for _ in range(4):
        job = new_job(str(uuid.uuid4()), user, JobRequest.model_validate({**REQUEST, "keywords": ["sleep=1"]}),
                      utcnow(), published=True)  # fmt: skip
        runners.publish(JobMessage.for_job(job).body(), job.job_id)
        job_ids.append(job.job_id)
    services.wait_until(lambda: all(_exists(runners.store, j) for j in job_ids), 20, what="the runners to create them")
    _wait_all(stack, job_ids, timeout=60)
    _assert_one_at_a_time(runners, job_ids)
    assert all(runners.completions(job_id) == 1 for job_id in job_ids)
    parked = [event for p in runners.processes for event in runners.events(p, "message_processed")
              if event.get("outcome") == "capped"]  # fmt: skip
    assert parked, "with two runners and a cap of 1, some message had to wait for the place"


def _exists(store: JobStore, job_id: str) -> bool:
    return store.find_job(job_id) is not None


def test_the_quota_of_active_jobs_is_429_until_a_job_ends(stack: Stack, runners: Runners) -> None:
    """USER_MAX_ACTIVE_JOBS=3 with no runner: three 202s, the fourth 429 with Retry-After and nothing stored or
    published; a replay of an accepted key is still 202; bob is unaffected; a cancel frees a place, and the
    cancelled job's place in the broker goes to alice's next held job."""
    stack.start(runners=0, USER_MAX_ACTIVE_JOBS="3")
    keys = [f"quota-{n}-{uuid.uuid4().hex}" for n in range(4)]
    first = [stack.submit(stack.alice, "sleep=1", key=key) for key in keys[:3]]
    assert [response.status_code for response in first] == [202, 202, 202]
    depth = runners.queue_depth()
    assert depth == 1  # cap 1: the other two are held back in Firestore

    refused = stack.submit(stack.alice, "sleep=1", key=keys[3])
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "too_many_active_jobs"
    assert int(refused.headers["Retry-After"]) > 0
    assert runners.store.count_active_jobs(stack.alice) == 3 and runners.queue_depth() == depth
    assert stack.submit(stack.alice, "sleep=1").status_code == 429  # without a key too

    replay = stack.submit(stack.alice, "sleep=1", key=keys[0])
    assert (replay.status_code, replay.json()["job_id"]) == (202, first[0].json()["job_id"])
    assert stack.submit(stack.alice, "sleep=2", key=keys[0]).status_code == 409  # another body: conflict first
    assert stack.submit(stack.bob, "sleep=1").status_code == 202

    published, next_held = first[0].json()["job_id"], first[1].json()["job_id"]
    assert runners.store.get_job(next_held).held
    assert stack.cancel(stack.alice, published).status_code == 202
    assert not runners.store.get_job(next_held).held  # its turn came with the cancel
    assert runners.queue_depth() == depth + 2  # bob's job, and alice's next
    assert stack.submit(stack.alice, "sleep=1", key=keys[3]).status_code == 202


def test_a_runner_killed_while_running_a_users_job_does_not_block_the_user(stack: Stack, runners: Runners) -> None:
    """Cap 1: the runner running alice's first job dies (SIGKILL). The job keeps its place; its redelivered message
    runs again on the other runner once the job's lease lapses, and then alice's next job runs."""
    stack.start()
    first = stack.accepted(stack.alice, "sleep=4")
    second = stack.accepted(stack.alice, "sleep=1")
    running: Callable[[], Any] = lambda: runners.store.get_job(first).runner  # noqa: E731
    holder = services.wait_until(running, 20, what="the first job to start")
    victim = next(p for p in runners.processes if str(holder).endswith(f"-{p.pid}"))
    victim.signal(signal.SIGKILL)
    _wait_all_statuses(stack, [first, second])
    first_span, second_span = _span(runners, first), _span(runners, second)
    assert second_span[0] >= first_span[1]
    assert runners.store.get_job(first).attempts == 2 and runners.store.get_job(second).attempts == 1


def _wait_all_statuses(stack: Stack, job_ids: list[str]) -> None:
    def done() -> bool:
        return all(stack.runners.store.get_job(job_id).status.value == "succeeded" for job_id in job_ids)

    try:
        services.wait_until(done, 60, 0.25, what="the jobs to succeed")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{stack.logs()}") from None
