"""The publisher against a real broker, healthy, refusing and half-open (a TCP proxy that stops forwarding but
keeps the sockets open): every publish is bounded in time, concurrent publishes do not wait on one another, and
a failure pauses publishing briefly instead of making every caller wait it out again."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from leadengine import topology
from leadengine.errors import PublishFailed, PublishPaused, PublishRejected
from leadengine.publisher import Publisher
from leadengine.schemas import JobMessage
from leadengine.settings import Settings, load_settings
from tests.support import services
from tests.support.proxy import TcpProxy

TIMEOUT_S = 2.0
MARGIN_S = 2.5  # a loaded 2-core machine


def _message() -> JobMessage:
    return JobMessage(job_id=str(uuid.uuid4()), user_id="u-1", industry="SaaS", geography="Sydney")


def _depth(channel, queue: str = topology.SCRAPE_JOBS) -> int:
    return int(channel.queue_declare(queue, passive=True).method.message_count)


@pytest.fixture
def proxy(base_env) -> Iterator[TcpProxy]:
    with TcpProxy(5672) as tcp:
        yield tcp


def _through(proxy: TcpProxy, **overrides: object) -> Publisher:
    settings = load_settings(rabbitmq_port=proxy.port, publish_timeout_s=TIMEOUT_S)
    return Publisher(settings, **overrides)  # type: ignore[arg-type]


def test_a_publish_to_a_blackholed_broker_fails_within_the_timeout(proxy: TcpProxy, channel) -> None:
    publisher = _through(proxy)
    publisher.publish(_message())  # a live connection, which then goes silent
    proxy.blackhole()
    started = time.monotonic()
    with pytest.raises(PublishFailed, match="did not confirm"):
        publisher.publish(_message())
    assert time.monotonic() - started < TIMEOUT_S + MARGIN_S
    fresh = _through(proxy)  # no connection yet: the handshake itself is what never answers
    started = time.monotonic()
    with pytest.raises(PublishFailed):
        fresh.publish(_message())
    assert time.monotonic() - started < TIMEOUT_S + MARGIN_S
    publisher.close()
    fresh.close()


def test_after_a_failure_publishes_fail_fast_then_one_probe_finds_the_broker_back(proxy: TcpProxy, channel) -> None:
    publisher = _through(proxy, pause_s=1.0)
    publisher.publish(_message())
    proxy.blackhole()
    with pytest.raises(PublishFailed):
        publisher.publish(_message())
    started = time.monotonic()
    with pytest.raises(PublishPaused):
        publisher.publish(_message())
    assert time.monotonic() - started < 0.5 and publisher.paused_for() > 0
    proxy.heal()
    channel.queue_purge(topology.SCRAPE_JOBS)
    time.sleep(1.1)
    message = _message()
    publisher.publish(message)  # the probe: a fresh connection, confirmed
    assert publisher.paused_for() == 0
    services.wait_until(lambda: _depth(channel) >= 1, timeout=10, what="the probe's message")
    ids = set()
    while (got := channel.basic_get(topology.SCRAPE_JOBS, auto_ack=True))[0] is not None:
        ids.add(got[1].message_id)
    assert message.job_id in ids
    publisher.close()


def test_a_publish_stuck_on_one_connection_does_not_hold_up_another(proxy: TcpProxy, channel) -> None:
    publisher = _through(proxy)
    publisher.publish(_message())  # one idle connection, about to go silent
    proxy.freeze_existing()
    outcome: list[BaseException | None] = []

    def stuck() -> None:
        try:
            publisher.publish(_message())
            outcome.append(None)
        except BaseException as e:
            outcome.append(e)

    thread = threading.Thread(target=stuck)
    thread.start()
    time.sleep(0.3)  # the first caller now waits for a confirm that will not come
    channel.queue_purge(topology.SCRAPE_JOBS)
    started = time.monotonic()
    other = _message()
    publisher.publish(other)  # a connection of its own, not behind the stuck one
    assert time.monotonic() - started < 1.5 and thread.is_alive()
    thread.join(TIMEOUT_S + MARGIN_S)
    assert not thread.is_alive() and isinstance(outcome[0], PublishFailed)
    _, properties, _ = channel.basic_get(topology.SCRAPE_JOBS, auto_ack=True)
    assert properties.message_id == other.job_id
    publisher.close()


def test_concurrent_publishes_from_many_threads_are_each_confirmed_once(settings: Settings, channel) -> None:
    publisher = Publisher(settings)
    sent: list[str] = []
    lock = threading.Lock()

    def publish_some() -> None:
        for _ in range(25):
            message = _message()
            publisher.publish(message)
            with lock:
                sent.append(message.job_id)

    threads = [threading.Thread(target=publish_some) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    received = []
    while (got := channel.basic_get(topology.SCRAPE_JOBS, auto_ack=True))[0] is not None:
        received.append(got[1].message_id)
    assert sorted(received) == sorted(sent) and len(sent) == 200
    publisher.close()


def test_a_nacked_publish_is_rejected_and_does_not_pause_other_publishes(settings: Settings, channel, vhost) -> None:
    # A full queue that refuses new messages: the broker nacks the publish.
    services.rabbitmqctl("set_policy", "-p", vhost, "--apply-to", "queues", "full", f"^{topology.FAILED_JOBS}$",
                         '{"max-length": 0, "overflow": "reject-publish"}')  # fmt: skip
    publisher = Publisher(settings)
    try:
        refused = topology.dead_letter_envelope(b"{}", topology.job_properties(str(uuid.uuid4())))
        services.wait_until(lambda: _nacked(publisher, refused), timeout=10, what="the policy to apply")
        with pytest.raises(PublishRejected, match="nacked"):
            publisher.send(refused)
        publisher.publish(_message())  # the broker is up: no pause
        assert _depth(channel) == 1
    finally:
        services.rabbitmqctl("clear_policy", "-p", vhost, "full")
        publisher.close()


def _nacked(publisher: Publisher, envelope: topology.Envelope) -> bool:
    try:
        publisher.send(envelope)
    except PublishRejected:
        return True
    return False


def test_a_delayed_retry_keeps_its_body_and_id_and_drops_the_death_headers(settings: Settings, channel) -> None:
    topology.declare(channel, (30,))
    channel.queue_purge(topology.retry_queue_name(30))
    received = topology.job_properties(str(uuid.uuid4()), headers={"x-death": [{"reason": "expired"}], "trace": "t1"})
    Publisher(settings).send(topology.delayed_envelope(b'{"job_id": "x"}', received, 30))
    _, properties, body = channel.basic_get(topology.retry_queue_name(30), auto_ack=True)
    assert body == b'{"job_id": "x"}' and properties.message_id == received.message_id
    assert properties.delivery_mode == 2 and properties.content_type == "application/json"
    assert properties.headers == {"trace": "t1"}
