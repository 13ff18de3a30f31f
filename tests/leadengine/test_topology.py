"""The topology (contract §4) as RabbitMQ sees it, and interoperation with the seed's declaration."""

from __future__ import annotations

import json
import uuid

import pika
import pika.exceptions
import pytest

from leadengine import topology
from leadengine.errors import PublishFailed
from leadengine.publisher import Publisher
from leadengine.schemas import JobMessage
from leadengine.settings import Settings, load_settings
from tests.support import services


def test_work_queue_arguments_are_exactly_the_seeds() -> None:
    assert topology.SCRAPE_JOBS_ARGUMENTS == {
        "x-dead-letter-exchange": "dlx",
        "x-dead-letter-routing-key": "failed_jobs",
    }


def test_declared_queues_have_the_contract_properties(channel, vhost: str) -> None:
    topology.declare(channel, (1, 2))
    rows = services.rabbitmqctl(
        "list_queues", "-p", vhost, "name", "durable", "auto_delete", "arguments", "--formatter", "json"
    )
    queues = {row["name"]: row for row in json.loads(rows)}
    work = queues["scrape_jobs"]
    assert work["durable"] is True and work["auto_delete"] is False
    # rabbitmqctl lists each argument as [name, type, value]
    assert {name: value for name, _type, value in work["arguments"]} == topology.SCRAPE_JOBS_ARGUMENTS
    assert queues["failed_jobs"]["durable"] is True
    for delay in (1, 2):
        assert queues[topology.retry_queue_name(delay)]["durable"] is True
    bindings = services.rabbitmqctl(
        "list_bindings", "-p", vhost, "source_name", "destination_name", "routing_key", "--formatter", "json"
    )
    assert {"source_name": "dlx", "destination_name": "failed_jobs", "routing_key": "failed_jobs"} in json.loads(
        bindings
    )
    exchanges = json.loads(
        services.rabbitmqctl("list_exchanges", "-p", vhost, "name", "type", "durable", "--formatter", "json")
    )
    assert {"name": "dlx", "type": "direct", "durable": True} in exchanges


def test_seed_style_declaration_is_accepted_after_ours(channel) -> None:
    # The seed declares with exactly these arguments; a mismatch would close the channel with PRECONDITION_FAILED.
    channel.queue_declare(
        queue="scrape_jobs",
        durable=True,
        arguments={"x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "failed_jobs"},
    )


def test_rejected_message_is_dead_lettered_to_failed_jobs(channel) -> None:
    job_id = str(uuid.uuid4())
    channel.basic_publish("", topology.SCRAPE_JOBS, b"{}", topology.job_properties(job_id))
    method, _, _ = channel.basic_get(topology.SCRAPE_JOBS)
    channel.basic_reject(method.delivery_tag, requeue=False)
    services.wait_until(lambda: channel.queue_declare(topology.FAILED_JOBS, passive=True).method.message_count == 1)
    method, properties, _ = channel.basic_get(topology.FAILED_JOBS, auto_ack=True)
    assert properties.message_id == job_id
    assert properties.headers["x-death"][0]["queue"] == "scrape_jobs"


def test_retry_queue_returns_the_message_to_scrape_jobs_after_its_delay(channel) -> None:
    topology.declare(channel, (1,))
    job_id = str(uuid.uuid4())
    channel.basic_publish("", topology.retry_queue_name(1), b"{}", topology.job_properties(job_id))
    services.wait_until(
        lambda: channel.queue_declare(topology.SCRAPE_JOBS, passive=True).method.message_count == 1, timeout=10
    )
    _, properties, _ = channel.basic_get(topology.SCRAPE_JOBS, auto_ack=True)
    assert properties.message_id == job_id


def _message() -> JobMessage:
    return JobMessage(job_id=str(uuid.uuid4()), user_id="u-1", industry="SaaS", geography="Sydney", keywords=["B2B"])


def test_publisher_sends_persistent_json_with_the_job_id(settings: Settings, channel) -> None:
    message = _message()
    publisher = Publisher(settings)
    publisher.publish(message)
    method, properties, body = channel.basic_get(topology.SCRAPE_JOBS, auto_ack=True)
    assert method.routing_key == "scrape_jobs" and method.exchange == ""
    assert properties.delivery_mode == 2
    assert properties.content_type == "application/json"
    assert properties.message_id == message.job_id
    assert json.loads(body.decode("utf-8")) == {
        "job_id": message.job_id, "user_id": "u-1", "industry": "SaaS", "geography": "Sydney", "keywords": ["B2B"],
        "source_types": ["google"], "search_query": None, "filters": {}, "max_leads": 50,
    }  # fmt: skip
    publisher.close()


def test_publisher_reopens_a_dropped_connection(settings: Settings, channel, vhost: str) -> None:
    publisher = Publisher(settings)
    publisher.publish(_message())
    services.rabbitmqctl("close_all_connections", "-p", vhost, "test: drop the publisher")
    publisher.publish(_message())  # the stale connection fails, the retry opens a fresh one
    check = services.blocking_connection(vhost)  # the fixture's connection was closed too
    depth = check.channel().queue_declare(topology.SCRAPE_JOBS, passive=True).method.message_count
    check.close()
    assert depth == 2
    publisher.close()


def test_publisher_gives_up_with_publish_failed_on_a_closed_port(base_env) -> None:
    settings = load_settings(rabbitmq_port=services.free_port())
    with pytest.raises(PublishFailed):
        Publisher(settings).publish(_message())


def test_unroutable_publish_is_not_silently_dropped(settings: Settings, channel) -> None:
    # mandatory=True: a message no queue takes comes back as an error instead of vanishing.
    with pytest.raises(PublishFailed):
        Publisher(settings, attempts=1).publish(_message(), routing_key="no_such_queue")


def test_connection_parameters_come_from_settings(base_env) -> None:
    params = topology.connection_parameters(load_settings(rabbitmq_vhost="v1", rabbitmq_port=5673, rabbitmq_user="me"))
    assert (params.virtual_host, params.port, params.credentials.username) == ("v1", 5673, "me")
    assert isinstance(params.credentials, pika.PlainCredentials)
