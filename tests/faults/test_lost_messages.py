"""Lost messages (§9): jobs whose messages a purged queue took are published again by the relay within about
JOB_STALL_S of their last sign of life, and each then runs once; a healthy backlog is never multiplied."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from leadengine import topology
from tests.runner.harness import RUNNER_ENV, Runners, wait_for
from tests.support import services

STALL_S = 3.0


@pytest.fixture
def base_env(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A Firestore project of each test's own: stall recovery looks at every unfinished job of its database,
    and the jobs other tests leave queued in the run's emulator have their messages in other vhosts."""
    project = f"stalls-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", project)
    return {**base_env, "GOOGLE_CLOUD_PROJECT": project}


@pytest.fixture
def relay(runners: Runners) -> Iterator[services.Process]:
    process = services.Process(
        [str(services.VENV_BIN / "python"), "-m", "leadengine.outbox"],
        {
            **runners.base_env,
            **RUNNER_ENV,
            "JOB_STALL_S": str(STALL_S),
            "RELAY_INTERVAL_S": "0.5",
            "OUTBOX_GRACE_S": "0",
        },
        "relay",
        runners.log_dir,
    )
    runners.processes.append(process)
    wait_for(lambda: '"relay_started"' in process.output(), 20, "the relay to start")
    yield process


def _ready(runners: Runners) -> int:
    return runners.queue_depth(topology.SCRAPE_JOBS)


def test_a_healthy_backlog_is_not_published_again_however_long_it_waits(
    runners: Runners, relay: services.Process, channel: object
) -> None:
    jobs = [runners.submit("leads=1") for _ in range(3)]
    time.sleep(STALL_S * 4)  # every job idle well past JOB_STALL_S, with no runner to take it
    assert _ready(runners) == 3
    assert not runners.events(relay, "stalled_job_republished")
    checks = runners.events(relay, "stall_check")  # the relay did look, and found the broker holding them all
    assert checks and all((c["expected"], c["ready"], c["lost"]) == (3, 3, 0) for c in checks)
    assert all(runners.job(job_id)["status"] == "queued" for job_id in jobs)


def test_jobs_whose_queue_was_purged_are_published_again_and_each_runs_once(
    runners: Runners, relay: services.Process, channel: object
) -> None:
    jobs = [runners.submit("leads=1") for _ in range(3)]
    runners.channel.queue_purge(topology.SCRAPE_JOBS)  # the broker lost them
    assert _ready(runners) == 0
    started = time.monotonic()
    wait_for(lambda: _ready(runners) == 3, STALL_S * 6, "the lost messages to be published again")
    assert time.monotonic() - started < STALL_S * 6
    time.sleep(STALL_S * 2)
    assert _ready(runners) == 3  # published once each, not once per pass
    runners.wait_started(runners.start())
    for job_id in jobs:
        assert runners.wait_status(job_id)["status"] == "succeeded"
        assert runners.runs(job_id) == 1
    republished = {event["job_id"] for event in runners.events(relay, "stalled_job_republished")}
    assert republished == set(jobs)
