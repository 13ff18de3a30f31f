"""The outbox relay: an accepted job whose publish never happened is published later, with no client request."""

from __future__ import annotations

import json
import uuid

import pytest

from leadengine import topology
from leadengine.errors import PublishFailed
from leadengine.outbox import Clearer, RelayCounts, drain, publish_then_clear, relay_once
from leadengine.publisher import Publisher
from leadengine.settings import Settings, load_settings
from leadengine.store import JobStore
from tests.support import jobs, services

REQUEST = {"industry": "SaaS", "geography": "Sydney", "keywords": ["B2B"], "source_types": ["google"],
           "search_query": "SaaS companies in Sydney B2B", "filters": None, "max_leads": 10}  # fmt: skip


def _depth(channel) -> int:
    return channel.queue_declare(topology.SCRAPE_JOBS, passive=True).method.message_count


def _pending_job(store: JobStore) -> str:
    return jobs.create(store, f"outbox-{uuid.uuid4().hex[:6]}", REQUEST).job_id


def _drain_unpublished(store: JobStore, publisher: Publisher) -> None:
    # Other tests in this run leave marked jobs behind; publish them first so counts below are this test's.
    relay_once(store, publisher, older_than_s=0, limit=1000)


def test_relay_publishes_a_marked_job_once_and_clears_the_mark(settings: Settings, store: JobStore, channel) -> None:
    publisher = Publisher(settings)
    _drain_unpublished(store, publisher)
    channel.queue_purge(topology.SCRAPE_JOBS)
    job_id = _pending_job(store)
    assert relay_once(store, publisher, older_than_s=0) == RelayCounts(published=1, skipped=0)
    assert relay_once(store, publisher, older_than_s=0) == RelayCounts(published=0, skipped=0)
    _, properties, body = channel.basic_get(topology.SCRAPE_JOBS, auto_ack=True)
    assert properties.message_id == job_id and json.loads(body)["search_query"] == REQUEST["search_query"]
    assert _depth(channel) == 0
    assert store.get_job(job_id).outbox_due_at is None
    publisher.close()


def test_relay_leaves_a_fresh_job_to_the_request_publishing_it(settings: Settings, store: JobStore, channel) -> None:
    publisher = Publisher(settings)
    _drain_unpublished(store, publisher)
    job_id = _pending_job(store)
    assert relay_once(store, publisher, older_than_s=3600).published == 0
    assert store.get_job(job_id).outbox_due_at is not None
    publisher.close()


def test_relay_does_not_publish_a_job_cancelled_before_it_was_published(settings, store: JobStore, channel) -> None:
    publisher = Publisher(settings)
    _drain_unpublished(store, publisher)
    channel.queue_purge(topology.SCRAPE_JOBS)
    job_id = _pending_job(store)
    jobs.force(store, job_id, status="cancelled")  # as a cancel racing the relay might leave it
    assert relay_once(store, publisher, older_than_s=0) == RelayCounts(published=0, skipped=1)
    assert _depth(channel) == 0
    publisher.close()


def test_broker_down_keeps_the_mark_for_the_next_pass(base_env, store: JobStore, channel) -> None:
    down = Publisher(load_settings(rabbitmq_port=services.free_port()), attempts=1)
    job_id = _pending_job(store)
    with pytest.raises(PublishFailed):
        relay_once(store, down, older_than_s=0, limit=1000)
    assert store.get_job(job_id).outbox_due_at is not None
    up = Publisher(load_settings())
    relay_once(store, up, older_than_s=0, limit=1000)
    assert store.get_job(job_id).outbox_due_at is None
    up.close()


def test_relay_process_publishes_with_no_client_request(base_env, store: JobStore, channel, log_dir) -> None:
    publisher = Publisher(load_settings())
    _drain_unpublished(store, publisher)
    publisher.close()
    channel.queue_purge(topology.SCRAPE_JOBS)
    job_id = _pending_job(store)
    env = {**base_env, "OUTBOX_GRACE_S": "0.5", "RELAY_INTERVAL_S": "0.2"}
    relay = services.Process([str(services.VENV_BIN / "python"), "-m", "leadengine.outbox"], env, "relay", log_dir)
    try:
        services.wait_until(lambda: _depth(channel) == 1, timeout=20, what="the relay to publish the job")
        _, properties, _ = channel.basic_get(topology.SCRAPE_JOBS, auto_ack=True)
        assert properties.message_id == job_id
    finally:
        assert relay.stop() == 0, relay.output()
    lines = [json.loads(line) for line in relay.output().splitlines() if line.startswith("{")]
    assert any(line["event"] == "message_published" and line["job_id"] == job_id for line in lines)


def test_publish_then_clear_publishes_first_and_clears_the_mark_in_the_background(
    settings: Settings, store: JobStore, channel
) -> None:
    publisher = Publisher(settings)
    clearer = Clearer(store)
    job = jobs.create(store, f"outbox-{uuid.uuid4().hex[:6]}", REQUEST)
    channel.queue_purge(topology.SCRAPE_JOBS)
    publish_then_clear(store, publisher, job, clearer)
    _, properties, _ = channel.basic_get(topology.SCRAPE_JOBS, auto_ack=True)
    assert properties.message_id == job.job_id  # confirmed before the call returned
    assert clearer.flush(timeout_s=10)
    stored = store.get_job(job.job_id)
    assert stored.outbox_due_at is None and stored.published_at is not None
    publisher.close()


def test_a_publish_that_fails_keeps_the_mark(base_env, store: JobStore) -> None:
    down = Publisher(load_settings(rabbitmq_port=services.free_port()), attempts=1)
    job = jobs.create(store, f"outbox-{uuid.uuid4().hex[:6]}", REQUEST)
    clearer = Clearer(store)
    with pytest.raises(PublishFailed):
        publish_then_clear(store, down, job, clearer)
    assert clearer.flush(timeout_s=10)
    assert store.get_job(job.job_id).outbox_due_at is not None


def test_one_drain_takes_passes_until_the_backlog_is_out(settings: Settings, store: JobStore, channel) -> None:
    publisher = Publisher(settings)
    _drain_unpublished(store, publisher)
    channel.queue_purge(topology.SCRAPE_JOBS)
    backlog = {_pending_job(store) for _ in range(5)}
    assert drain(store, publisher, older_than_s=0, pass_limit=2) == RelayCounts(published=5, skipped=0)
    received = set()
    while (got := channel.basic_get(topology.SCRAPE_JOBS, auto_ack=True))[0] is not None:
        received.add(got[1].message_id)
    assert received == backlog
    publisher.close()
