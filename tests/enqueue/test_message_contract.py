"""A consumer written as in the seed (aio-pika, the seed's dead-letter declare, prefetch_count=1) reads a job the
function published, and every property of contract §4 holds."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aio_pika

from tests.enqueue.conftest import Users


async def seed_consumer_reads_one(vhost: str) -> aio_pika.abc.AbstractIncomingMessage:
    connection = await aio_pika.connect_robust(f"amqp://guest:guest@127.0.0.1:5672/{vhost}")
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=1)
        queue = await channel.declare_queue(
            "scrape_jobs",
            durable=True,
            arguments={"x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "failed_jobs"},
        )
        async with queue.iterator() as messages:
            async for message in messages:
                async with message.process():
                    return message
    raise AssertionError("the queue iterator ended without a message")


def test_a_seed_consumer_reads_our_message_with_every_property_of_section_4(client, users: Users, vhost, channel):
    payload: dict[str, Any] = {
        "industry": "Logistics",
        "geography": "Rotterdam",
        "keywords": ["cold chain", "3PL"],
        "source_types": ["google", "linkedin"],
        "filters": {"company_size": "50-200", "revenue": ">1M"},
        "max_leads": 25,
    }
    response = client.post("/api/v1/jobs/scrape", json=payload, headers=users.auth(users.alice))
    assert response.status_code == 202
    job_id = response.json["job_id"]

    message = asyncio.run(asyncio.wait_for(seed_consumer_reads_one(vhost), timeout=20))

    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT  # 2
    assert message.content_type == "application/json"
    assert message.message_id == job_id
    assert message.routing_key == "scrape_jobs" and message.exchange == ""
    body = json.loads(message.body.decode("utf-8"))
    assert body == {
        "job_id": job_id,
        "user_id": users.alice,
        "industry": "Logistics",
        "geography": "Rotterdam",
        "keywords": ["cold chain", "3PL"],
        "source_types": ["google", "linkedin"],
        "search_query": "Logistics companies in Rotterdam cold chain 3PL",
        "filters": {"company_size": "50-200", "revenue": ">1M"},
        "max_leads": 25,
    }
    # the seed consumer acknowledged it: nothing is left behind, nothing dead-lettered
    assert channel.queue_declare("scrape_jobs", passive=True).method.message_count == 0
    assert channel.queue_declare("failed_jobs", passive=True).method.message_count == 0


def test_a_job_without_filters_carries_an_empty_filters_object(client, users: Users, channel) -> None:
    response = client.post(
        "/api/v1/jobs/scrape", json={"industry": "a", "geography": "b"}, headers=users.auth(users.bob)
    )
    _, properties, raw = channel.basic_get("scrape_jobs", auto_ack=True)
    body = json.loads(raw)
    assert properties.message_id == response.json["job_id"] == body["job_id"]
    assert body["filters"] == {} and body["keywords"] == [] and body["source_types"] == ["google"]
