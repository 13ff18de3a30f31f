"""The RabbitMQ topology (contract §4), declared here and only here: the function, the runner and the tests
import it. The work queue's arguments are exactly the seed's dead-letter form, so seed clients interoperate."""

from __future__ import annotations

from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel

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


def connection_parameters(settings: Any, *, heartbeat: int | None = None) -> pika.ConnectionParameters:
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
