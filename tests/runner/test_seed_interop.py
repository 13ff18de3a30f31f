"""The seed's own aio-pika publisher keeps working against our runners (contract §4): it declares the queue
with the seed's dead-letter arguments, publishes a persistent seed-format message, and a runner processes it."""

from __future__ import annotations

import asyncio
import json
import uuid

import aio_pika

from tests.runner.harness import Runners


async def _seed_publish(vhost: str, message: dict) -> None:
    connection = await aio_pika.connect_robust(f"amqp://guest:guest@127.0.0.1:5672/{vhost}")
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(
            "scrape_jobs",
            durable=True,
            arguments={"x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "failed_jobs"},
        )
        await channel.default_exchange.publish(
            aio_pika.Message(
                body=json.dumps(message).encode(),
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                content_type="application/json",
            ),
            routing_key="scrape_jobs",
        )


def test_a_seed_aio_pika_publisher_declares_the_same_queue_and_its_job_runs(runners: Runners, vhost: str) -> None:
    runners.wait_started(runners.start())  # our runner has declared the topology first
    job_id = str(uuid.uuid4())
    seed_message = {
        "job_id": job_id,
        "user_id": "seed-user",
        "industry": "SaaS",
        "geography": "Sydney, Australia",
        "keywords": ["leads=2"],
        "source_types": ["google"],
        "search_query": "SaaS companies in Sydney",
        "filters": {},
    }
    asyncio.run(_seed_publish(vhost, seed_message))
    job = runners.wait_status(job_id)
    assert job["status"] == "succeeded" and job["lead_count"] == 2, job
    assert job["user_id"] == "seed-user" and job["request"]["search_query"] == "SaaS companies in Sydney"
    assert runners.runs(job_id) == 1
