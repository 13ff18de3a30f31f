"""The local relay process (`python -m leadengine.outbox`) under an error nobody planned for: a pass that raises
something other than a dependency outage is logged and the loop goes on (issue 9 defect 9: it used to exit)."""

from __future__ import annotations

import sys
import uuid
from datetime import timedelta

import pytest

from leadengine.jobs import utcnow
from leadengine.store import JobStore
from tests.enqueue.conftest import drain
from tests.support import jobs, services


@pytest.fixture
def base_env(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A Firestore project of this test's own: the relay sees only its jobs."""
    project = f"le-relay-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", project)
    return {**base_env, "GOOGLE_CLOUD_PROJECT": project}


def test_a_relay_pass_that_crashes_does_not_end_the_relay_which_publishes_once_the_cause_is_gone(
    base_env: dict[str, str], store: JobStore, channel: object, log_dir
) -> None:
    # A marked job's document that no version of the code wrote (no user, an unknown status): reading the
    # outbox raises a validation error, not an outage, on every pass while it is there.
    broken = store.client.collection("jobs").document(str(uuid.uuid4()))
    broken.set({"status": "exploded", "outbox_due_at": utcnow() - timedelta(minutes=1)})
    relay = services.Process(
        [sys.executable, "-m", "leadengine.outbox"],
        {**base_env, "OUTBOX_GRACE_S": "0", "RELAY_INTERVAL_S": "0.2"},
        "relay",
        log_dir,
    )
    try:
        services.wait_until(lambda: relay.output().count('"relay_pass_crashed"') >= 3, 30, what="passes to crash")
        assert relay.popen.poll() is None, relay.output()[-3000:]
        broken.delete()
        job = jobs.create(store)  # marked for the relay
        services.wait_until(lambda: store.get_job(job.job_id).outbox_due_at is None, 20, what="the relay to publish")
        assert [properties.message_id for _, properties, _ in drain(channel)] == [job.job_id]
    finally:
        assert relay.stop() == 0, relay.output()[-3000:]
