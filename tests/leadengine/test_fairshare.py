"""Fair share (contract §8): the pure decisions without services, then the user's places, held jobs and the quota
count on the store (emulator), and the outbox's publishing of held jobs (real broker)."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta

import pytest

from leadengine import fairshare, topology
from leadengine.fairshare import (
    PLACE_GRACE,
    Choice,
    Place,
    choose_place,
    is_stale,
    latest_places,
    next_place,
    quota_allows,
)
from leadengine.jobs import Job, JobRequest, new_job, release_held, user_cancel, utcnow
from leadengine.outbox import make_room, publish_held, relay_held
from leadengine.publisher import Publisher
from leadengine.schemas import JobStatus
from leadengine.settings import Settings, load_settings
from leadengine.store import JobStore
from tests.support.jobs import REQUEST, draft, force


def _job(user: str = "alice", **fields: object) -> Job:
    return draft(user).model_copy(update=fields)


def _place(index: int, job_id: str, user: str = "alice", age_s: float = 0) -> Place:
    return Place(index=index, user_id=user, job_id=job_id, taken_at=utcnow() - timedelta(seconds=age_s))


# --- pure decisions -------------------------------------------------------------------------------------------


def test_a_job_takes_the_lowest_free_places_in_order() -> None:
    decision = choose_place({1: _place(1, "other")}, "mine", cap=3)
    assert (decision.choice, decision.indexes) == (Choice.TAKE, (0, 2))


def test_a_job_that_holds_a_place_already_keeps_it() -> None:
    taken = {0: _place(0, "other"), 1: _place(1, "mine")}
    assert choose_place(taken, "mine", cap=2).choice is Choice.HOLDS


def test_every_place_taken_means_the_job_waits() -> None:
    taken = {0: _place(0, "a"), 1: _place(1, "b")}
    assert choose_place(taken, "mine", cap=2).choice is Choice.FULL


def test_a_place_stands_as_its_latest_generation_and_changes_hands_by_the_next() -> None:
    first = _place(0, "a")
    handed_back = next_place(first, 0, "alice", None, utcnow())
    taken = next_place(handed_back, 0, "alice", "b", utcnow())
    assert (handed_back.generation, taken.generation) == (1, 2)
    assert taken.previous_document_id() == handed_back.document_id() != first.document_id()
    other = _place(1, "c")
    assert latest_places([taken, first, other, handed_back]) == {0: taken, 1: other}
    assert next_place(None, 3, "alice", "d", utcnow()).generation == 0


def test_a_place_of_a_finished_job_is_stale_and_of_an_unfinished_one_live() -> None:
    job = _job()
    place = _place(0, job.job_id)
    assert not is_stale(place, job, utcnow())
    assert not is_stale(place, job.model_copy(update={"status": JobStatus.RUNNING}), utcnow())
    for status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
        assert is_stale(place, job.model_copy(update={"status": status}), utcnow())


def test_a_place_whose_job_was_never_written_is_left_alone_for_the_grace_only() -> None:
    young = _place(0, "not-yet-written")
    assert not is_stale(young, None, utcnow())
    assert is_stale(young, None, utcnow() + PLACE_GRACE + timedelta(seconds=1))


def test_a_place_naming_another_users_job_is_stale() -> None:
    job = _job("bob")
    assert is_stale(_place(0, job.job_id, user="alice"), job, utcnow())


def test_the_quota_allows_up_to_the_limit_and_no_further() -> None:
    assert quota_allows(2, 3)
    assert not quota_allows(3, 3)
    assert not quota_allows(4, 3)


def test_a_held_job_is_queued_without_an_outbox_mark_and_released_with_one() -> None:
    held = _job().held_back(utcnow())
    assert held.held and held.status is JobStatus.QUEUED and held.outbox_due_at is None
    released = release_held(held.job_id)(held)
    assert released.job is not None and not released.job.held and released.job.outbox_due_at is not None


def test_a_job_no_longer_held_is_not_released_again() -> None:
    held = _job().held_back(utcnow())
    cancelled = user_cancel(held.job_id, held.user_id)(held).job
    assert cancelled is not None and cancelled.status is JobStatus.CANCELLED and not cancelled.held
    assert cancelled.held_at is None  # out of the user's line
    assert release_held(held.job_id)(cancelled).job is None
    assert release_held(held.job_id)(None).job is None


def test_claiming_or_closing_a_held_job_takes_it_out_of_the_line() -> None:
    held = _job().held_back(utcnow())
    claimed, _ = held.claimed("runner-1", utcnow(), 30)
    assert claimed.held_at is None
    closed = held.closed(JobStatus.FAILED, utcnow(), "runner-1", "failed", None)
    assert closed.held_at is None


def test_an_older_document_without_the_field_is_not_held() -> None:
    document = _job().to_document()
    del document["held_at"]
    assert not Job.from_document(document).held


# --- the store: places, held jobs, the quota count -------------------------------------------------------------


@pytest.fixture
def base_env(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A Firestore project of this test's own: the relay pass below sees every held job of its project."""
    env = {"GOOGLE_CLOUD_PROJECT": f"le-fair-{uuid.uuid4().hex[:10]}", "USER_MAX_RUNNING_JOBS": "2"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return {**base_env, **env}


def _user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def _created(store: JobStore, user: str, *, held: bool = False) -> Job:
    job = draft(user)
    if held:
        job = job.held_back(utcnow())
    created, _ = store.create_job(job)
    return created


def test_a_user_has_exactly_cap_places(store: JobStore) -> None:
    user = _user()
    jobs = [_created(store, user) for _ in range(3)]
    assert [store.take_place(user, job.job_id) for job in jobs] == [True, True, False]
    assert store.take_place(user, jobs[0].job_id)  # holds one already
    assert store.take_place(_user(), jobs[2].job_id)  # another user's places are their own


def test_concurrent_takers_never_exceed_the_cap(store: JobStore) -> None:
    user = _user()
    jobs = [_created(store, user) for _ in range(6)]
    results: dict[str, bool] = {}
    threads = [threading.Thread(target=lambda j=job: results.__setitem__(j.job_id, store.take_place(user, j.job_id)))
               for job in jobs]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results.values()) == 2


def test_a_finished_jobs_place_is_taken_over_and_a_freed_one_is_free(store: JobStore) -> None:
    user = _user()
    first, second, third = (_created(store, user) for _ in range(3))
    assert store.take_place(user, first.job_id) and store.take_place(user, second.job_id)
    assert not store.take_place(user, third.job_id)
    force(store, first.job_id, status="succeeded")  # a runner died before freeing its place
    assert store.take_place(user, third.job_id)
    assert store.free_places(user, second.job_id) == 1
    assert store.free_places(user, second.job_id) == 0
    assert store.take_place(user, _created(store, user).job_id)


def test_the_active_count_is_queued_and_running_jobs_of_that_user(store: JobStore) -> None:
    user = _user()
    _queued, running, done = (_created(store, user) for _ in range(3))
    _created(store, user, held=True)
    _created(store, _user())
    force(store, running.job_id, status="running")
    force(store, done.job_id, status="succeeded")
    assert store.count_active_jobs(user) == 3


def test_held_jobs_come_oldest_first_and_only_while_held(store: JobStore) -> None:
    alice, bob = _user(), _user()
    held = [_created(store, alice, held=True) for _ in range(3)]
    _created(store, alice)  # published, not held
    other = _created(store, bob, held=True)
    assert [job.job_id for job in store.held_jobs(alice, limit=10)] == [job.job_id for job in held]
    assert [job.job_id for job in store.held_jobs(alice)] == [job.job_id for job in held[:2]]  # cap by default
    store.change_job(held[0].job_id, user_cancel(held[0].job_id, alice))
    assert [job.job_id for job in store.held_jobs(alice, limit=10)] == [job.job_id for job in held[1:]]
    assert {job.job_id for job in store.oldest_held_jobs(10)} == {held[1].job_id, held[2].job_id, other.job_id}


def test_a_replay_of_an_accepted_key_is_found_before_any_write(store: JobStore) -> None:
    user, key = _user(), f"key-{uuid.uuid4().hex}"
    job, _ = store.create_job(draft(user), key)
    assert store.find_idempotent_job(user, key, job.request.model_dump()) == job
    assert store.find_idempotent_job(user, "never-used", job.request.model_dump()) is None


# --- the outbox: held jobs published as places come free ------------------------------------------------------


def _messages(channel) -> list[str]:
    ids = []
    while True:
        method, _, body = channel.basic_get(topology.SCRAPE_JOBS, auto_ack=True)
        if method is None:
            return ids
        ids.append(json.loads(body)["job_id"])


def test_held_jobs_are_published_in_order_as_places_come_free(settings: Settings, store: JobStore, channel) -> None:
    publisher = Publisher(settings)
    user = _user()
    running = [_created(store, user) for _ in range(2)]
    for job in running:
        assert store.take_place(user, job.job_id)
    held = [_created(store, user, held=True) for _ in range(3)]
    assert publish_held(store, publisher, user) == 0 and _messages(channel) == []

    force(store, running[0].job_id, status="succeeded")
    assert make_room(store, publisher, user, running[0].job_id) == 1
    assert _messages(channel) == [held[0].job_id]
    first = store.get_job(held[0].job_id)
    assert not first.held and first.status is JobStatus.QUEUED
    assert make_room(store, publisher, user, held[2].job_id) == 0  # it held no place: nobody's turn

    # A runner that died before making room: the relay's pass finds the stale place and moves the line.
    force(store, running[1].job_id, status="failed")
    assert relay_held(store, publisher) == 1
    assert _messages(channel) == [held[1].job_id]
    assert [job.job_id for job in store.held_jobs(user)] == [held[2].job_id]
    publisher.close()


def test_a_held_job_cancelled_before_its_turn_is_skipped(settings: Settings, store: JobStore, channel) -> None:
    publisher = Publisher(settings)
    user = _user()
    held = [_created(store, user, held=True) for _ in range(3)]
    store.change_job(held[0].job_id, user_cancel(held[0].job_id, user))
    assert publish_held(store, publisher, user) == 2
    assert _messages(channel) == [held[1].job_id, held[2].job_id]
    publisher.close()


def test_settings_bound_the_fair_share_values(base_env: dict[str, str]) -> None:
    defaults = load_settings(user_max_running_jobs=4)
    assert (defaults.user_max_running_jobs, Settings.model_fields["user_max_active_jobs"].default) == (4, 500)
    with pytest.raises(Exception, match="USER_MAX_RUNNING_JOBS"):
        load_settings(user_max_running_jobs=0)


def test_the_job_request_of_a_held_job_is_kept() -> None:
    job = new_job(str(uuid.uuid4()), "alice", JobRequest.model_validate(REQUEST), utcnow()).held_back(utcnow())
    assert job.request.model_dump() == REQUEST and job.held_at > fairshare.HELD_SINCE_EVER  # type: ignore[operator]
