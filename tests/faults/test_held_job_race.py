"""Found by the chaos soak (bench/soak.py): two processes publishing a user's held jobs at once (the relay's pass and
a runner's make_room, §8). Both read the same held job; one releases and publishes it with a place, the other finds
it released already. That one must leave the place with the job: freeing it let the user's next held job take it
(two of the user's jobs in the broker with USER_MAX_RUNNING_JOBS=1), and left the first job without a place,
parked by the runners as `capped` until its user's whole backlog had gone ahead of it."""

from __future__ import annotations

import uuid

import pytest

from leadengine import outbox
from leadengine.jobs import Job, utcnow
from leadengine.publisher import Publisher
from leadengine.settings import Settings
from leadengine.store import JobStore
from tests.enqueue.conftest import drain
from tests.support import jobs


@pytest.fixture
def base_env(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("USER_MAX_RUNNING_JOBS", "1")
    return {**base_env, "USER_MAX_RUNNING_JOBS": "1"}


class _ReadEarlier(JobStore):
    """Another process's store, whose list of held jobs was read a moment before the first process released one
    (the same Firestore; only that one answer is from earlier)."""

    def __init__(self, settings: Settings, store: JobStore, held: list[Job]) -> None:
        super().__init__(settings, client=store.client)
        self._held = held

    def held_jobs(self, user_id: str, limit: int | None = None) -> list[Job]:
        return list(self._held)


def test_a_held_job_released_by_another_process_keeps_its_place(settings: Settings, store: JobStore, channel) -> None:
    user = f"user-{uuid.uuid4().hex[:8]}"
    first, second = (store.create_job(jobs.draft(user).held_back(utcnow()))[0] for _ in range(2))
    earlier = store.held_jobs(user)
    assert [job.job_id for job in earlier] == [first.job_id]  # as many as the user has places
    publisher = Publisher(settings)
    try:
        assert outbox.publish_held(store, publisher, user) == 1  # the relay: the first job, with the one place
        assert (
            outbox.publish_held(_ReadEarlier(settings, store, earlier), publisher, user) == 0
        )  # a runner, a moment late
        assert outbox.publish_held(store, publisher, user) == 0  # the relay's next pass: no place is free
    finally:
        publisher.close()
    assert [properties.message_id for _, properties, _ in drain(channel)] == [first.job_id]
    assert store.get_job(second.job_id).held  # still waiting for the first job's place
    assert not store.take_place(user, second.job_id)  # which the first job holds
    assert store.take_place(user, first.job_id)
