"""Job handlers for the runner's tests (RUNNER_HANDLER=tests.runner.handlers:scripted). What a job does is
scripted in its message's keywords, so one runner process serves many behaviours:

    sleep=S       sleep S seconds in 0.1 s steps, calling ctx.checkpoint() between them
    stuck=S       sleep S seconds without a checkpoint (a handler that ignores its time limit)
    transient=N   raise TransientJobError on the first N runs of the job, then go on
    transient     raise TransientJobError every time
    permanent     raise PermanentJobError
    crash         os._exit(137), as an OOM kill would end the process
    leads=N       save N leads (deterministic ids, so a second run overwrites them)

Every run is counted in `test_runs/{job_id}` and every completed run adds a document to
`test_runs/{job_id}/completions`, which is how tests see "ran once" and "no duplicated effect".
"""

from __future__ import annotations

import functools
import os
import time
import uuid
from typing import Any

from google.cloud import firestore

from leadengine.schemas import Lead, lead_id_for
from leadengine.store import utcnow
from runner.errors import PermanentJobError, TransientJobError
from runner.handler_api import JobContext

RUNS = "test_runs"


@functools.cache
def _client(project: str) -> firestore.Client:
    return firestore.Client(project=project)


def runs_ref(client: firestore.Client, job_id: str) -> firestore.DocumentReference:
    return client.collection(RUNS).document(job_id)


def _script(ctx: JobContext) -> list[tuple[str, str | None]]:
    steps = []
    for keyword in ctx.message.keywords:
        name, _, value = keyword.partition("=")
        steps.append((name, value or None))
    return steps


def scripted(ctx: JobContext) -> None:
    client = _client(ctx.settings.google_cloud_project)
    ref = runs_ref(client, ctx.job_id)
    ref.set({"runs": firestore.Increment(1)}, merge=True)
    runs = int((ref.get().to_dict() or {}).get("runs", 1))
    ctx.checkpoint()
    for name, value in _script(ctx):
        if name == "sleep":
            deadline = time.monotonic() + float(value or 1)
            while time.monotonic() < deadline:
                time.sleep(0.1)
                ctx.checkpoint()
        elif name == "stuck":
            time.sleep(float(value or 3600))
        elif name == "transient" and (value is None or runs <= int(value)):
            raise TransientJobError(f"simulated transient failure on run {runs}")
        elif name == "permanent":
            raise PermanentJobError("simulated permanent failure", code="simulated_permanent")
        elif name == "crash":
            os._exit(137)
        elif name == "leads":
            ctx.save_leads([_lead(ctx.job_id, n) for n in range(int(value or 1))])
        ctx.progress(name)
    ref.collection("completions").document(uuid.uuid4().hex).set({"pid": os.getpid(), "at": utcnow()})


def _lead(job_id: str, n: int) -> Lead:
    return Lead(
        lead_id=lead_id_for(job_id, f"company-{n}.example"),
        company_name=f"Company {n}",
        website=f"https://company-{n}.example/",
        domain=f"company-{n}.example",
        sources=["google"],
        found_at=utcnow(),
    )


def completions(project: str, job_id: str) -> list[dict[str, Any]]:
    ref = runs_ref(_client(project), job_id).collection("completions")
    return [snapshot.to_dict() or {} for snapshot in ref.stream()]
