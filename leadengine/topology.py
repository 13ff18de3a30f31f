"""The RabbitMQ topology (contract §4), declared here and only here: the function, the runner and the tests
import it. The work queue's arguments are exactly the seed's dead-letter form, so seed clients interoperate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from leadengine.errors import BrokerUnavailable
from leadengine.settings import Settings

SCRAPE_JOBS = "scrape_jobs"
DEAD_LETTER_EXCHANGE = "dlx"
FAILED_JOBS = "failed_jobs"
SCRAPE_JOBS_ARGUMENTS: dict[str, Any] = {
    "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
    "x-dead-letter-routing-key": FAILED_JOBS,
}


def retry_queue_name(delay_s: int) -> str:
    """One delay queue per backoff step; the delay is in the name so changing the steps never redeclares a
    queue with different arguments (which RabbitMQ refuses with PRECONDITION_FAILED)."""
    return f"{SCRAPE_JOBS}.retry.{delay_s}s"


def retry_queue_arguments(delay_s: int) -> dict[str, Any]:
    # A per-queue TTL expires messages in order (no head-of-line blocking), and expiry dead-letters them
    # back to scrape_jobs through the default exchange; the queue is durable, so a waiting retry survives
    # a broker restart.
    return {
        "x-message-ttl": delay_s * 1000,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": SCRAPE_JOBS,
    }


def declare(channel: BlockingChannel, retry_delays_s: tuple[int, ...] = ()) -> None:
    """Declare the whole topology; idempotent, and safe to run from every process at start."""
    channel.exchange_declare(exchange=DEAD_LETTER_EXCHANGE, exchange_type="direct", durable=True)
    channel.queue_declare(queue=FAILED_JOBS, durable=True)
    channel.queue_bind(queue=FAILED_JOBS, exchange=DEAD_LETTER_EXCHANGE, routing_key=FAILED_JOBS)
    channel.queue_declare(queue=SCRAPE_JOBS, durable=True, arguments=SCRAPE_JOBS_ARGUMENTS)
    for delay in sorted(set(retry_delays_s)):
        channel.queue_declare(queue=retry_queue_name(delay), durable=True, arguments=retry_queue_arguments(delay))


def job_properties(job_id: str, headers: dict[str, Any] | None = None) -> pika.BasicProperties:
    """Properties of every message to scrape_jobs: persistent JSON, message_id the job id."""
    return pika.BasicProperties(
        delivery_mode=pika.DeliveryMode.Persistent,
        content_type="application/json",
        message_id=job_id,
        headers=headers,
    )


# Headers the broker adds when it dead-letters; a message we publish again starts without them.
_DEATH_HEADERS = frozenset({
    "x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason",
    "x-last-death-exchange", "x-last-death-queue", "x-last-death-reason",
})  # fmt: skip


@dataclass(frozen=True)
class Envelope:
    """One message as it goes on the wire: exchange, routing key, body and properties. Built here only, so
    every message the project sends carries the properties of §4; `job_id` names it in logs and errors."""

    routing_key: str
    body: bytes
    properties: pika.BasicProperties
    job_id: str | None
    exchange: str = ""


def job_envelope(job_id: str, body: bytes) -> Envelope:
    """A job's message to scrape_jobs (new jobs, relayed jobs, operator replays)."""
    return Envelope(SCRAPE_JOBS, body, job_properties(job_id), job_id)


def delayed_envelope(body: bytes, received: pika.BasicProperties, delay_s: int) -> Envelope:
    """A delivery parked in the delay queue of `delay_s`: the same body and message id, persistent (a waiting
    retry must survive a broker restart), without the broker's dead-letter headers."""
    headers = {k: v for k, v in (received.headers or {}).items() if k not in _DEATH_HEADERS}
    properties = pika.BasicProperties(
        delivery_mode=pika.DeliveryMode.Persistent,
        content_type=received.content_type or "application/json",
        message_id=received.message_id,
        headers=headers or None,
    )
    return Envelope(retry_queue_name(delay_s), body, properties, received.message_id)


def dead_letter_envelope(body: bytes, received: pika.BasicProperties) -> Envelope:
    """A delivery moved to failed_jobs by a publish (through dlx, as the broker's own dead-lettering routes it)."""
    properties = pika.BasicProperties(
        delivery_mode=pika.DeliveryMode.Persistent,
        content_type=received.content_type or "application/json",
        message_id=received.message_id,
        headers=received.headers,
    )
    return Envelope(FAILED_JOBS, body, properties, received.message_id, exchange=DEAD_LETTER_EXCHANGE)


def connection_parameters(settings: Settings, *, heartbeat: int | None = None) -> pika.ConnectionParameters:
    """pika parameters from the settings. One connection attempt: callers retry with their own policy."""
    return pika.ConnectionParameters(
        host=settings.rabbitmq_host,
        port=settings.rabbitmq_port,
        virtual_host=settings.rabbitmq_vhost,
        credentials=pika.PlainCredentials(settings.rabbitmq_user, settings.rabbitmq_password.get_secret_value()),
        heartbeat=heartbeat if heartbeat is not None else settings.rabbitmq_heartbeat_s,
        connection_attempts=1,
        socket_timeout=3,
        stack_timeout=5,
        blocked_connection_timeout=10,
        client_properties={"connection_name": "leadengine"},
    )


def ready_messages(settings: Settings, retry_delays_s: tuple[int, ...]) -> int:
    """Messages waiting (ready) in scrape_jobs and its delay queues, on a short-lived connection of its own. Its
    heartbeat bounds the wait on a broker that stopped answering; BrokerUnavailable when it cannot be asked."""
    queues = [SCRAPE_JOBS, *(retry_queue_name(delay) for delay in sorted(set(retry_delays_s)))]
    try:
        connection = pika.BlockingConnection(connection_parameters(settings, heartbeat=5))
        try:
            total = 0
            for queue in queues:
                channel = connection.channel()
                try:
                    total += int(channel.queue_declare(queue, passive=True).method.message_count)
                except pika.exceptions.ChannelClosedByBroker:
                    continue  # not declared yet: nothing waits in it
                channel.close()
            return total
        finally:
            if connection.is_open:
                connection.close()
    except (pika.exceptions.AMQPError, OSError) as e:
        raise BrokerUnavailable(f"cannot count the messages in RabbitMQ: {type(e).__name__}") from e
