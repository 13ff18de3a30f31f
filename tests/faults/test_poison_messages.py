"""Messages that cannot become a job (§9): each goes to failed_jobs at its first delivery, creates no job document,
never loops through the delay queues, and the runner goes on with the next job."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.runner.harness import Runners, wait_for


def _seed(job_id: str, **fields: object) -> bytes:
    message = {"job_id": job_id, "user_id": "poison-user", "industry": "SaaS", "geography": "Sydney",
               "keywords": [], "source_types": ["google"], "search_query": "saas sydney", "filters": {}}  # fmt: skip
    return json.dumps({**message, **fields}).encode()


POISON = {
    "not JSON": lambda job_id: b"\x00\xffthis is not json",
    "a JSON array": lambda job_id: json.dumps([job_id, "poison-user"]).encode(),
    "21 keywords": lambda job_id: _seed(job_id, keywords=[f"k{i}" for i in range(21)]),
    "a 51-character keyword": lambda job_id: _seed(job_id, keywords=["x" * 51]),
    "a 2 MiB keywords list": lambda job_id: _seed(job_id, keywords=["y" * 50] * (2 * 1024 * 1024 // 53)),
    "deeply nested filters": lambda job_id: _seed(job_id, filters=json.loads('{"a":' * 25 + '"x"' + "}" * 25)),
}


@pytest.mark.parametrize("shape", sorted(POISON))
def test_a_poison_message_is_dead_lettered_at_its_first_delivery_and_never_loops(
    runners: Runners, shape: str, channel: object
) -> None:
    """`channel` empties this module's failed_jobs first."""
    runner = runners.start()
    runners.wait_started(runner)
    job_id = str(uuid.uuid4())
    runners.publish(POISON[shape](job_id), job_id)
    healthy = runners.submit("leads=1")  # behind it in the queue: the runner goes on
    assert runners.wait_status(healthy)["status"] == "succeeded"
    letters = wait_for(lambda: [r for r in runners.dead_letters() if not r["replayable"]] or None, 10, "the letter")
    assert len(letters) == 1
    received = [e for e in runners.events(runner, "message_processed") if e.get("outcome") == "invalid"]
    assert len(received) == 1  # one delivery, no second round through a delay queue
    assert runners.store.find_job(job_id) is None  # validated before any write: no document was created
    for queue in ("scrape_jobs", "scrape_jobs.retry.1s", "scrape_jobs.retry.2s", "scrape_jobs.retry.3s"):
        assert runners.queue_depth(queue) == 0
