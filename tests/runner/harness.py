"""Runners as real processes (`python -m runner`) for the runner and fault tests, and the ways those tests
submit jobs and watch them: the job document, the scripted handler's run records, failed_jobs."""

from __future__ import annotations

import contextlib
import json
import sys
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pika.exceptions

from leadengine import topology
from leadengine.errors import JobNotFound
from leadengine.jobs import JobRequest, new_job, utcnow
from leadengine.schemas import JobMessage
from leadengine.settings import load_settings
from leadengine.store import JobStore
from runner.deadletters import list_dead_letters
from runner.lifecycle import Lifecycle
from tests.runner import handlers
from tests.support import services
from tests.support.jobs import document

FINISHED = {"succeeded", "failed", "cancelled"}
# Short everything: retries after 1-3 s, leases of 2 s, no metrics server unless a test asks for one.
RUNNER_ENV = {
    "RUNNER_HANDLER": "tests.runner.handlers:scripted",
    "JOB_RETRY_DELAYS_S": "1,2,3",
    "JOB_MAX_ATTEMPTS": "3",
    "RUNNER_LEASE_S": "2",
    "RUNNER_SHUTDOWN_GRACE_S": "5",
    "RUNNER_METRICS_PORT": "0",
    "JOB_TIMEOUT_S": "60",
}
REQUEST = {"industry": "SaaS", "geography": "Sydney", "source_types": ["google"], "filters": None, "max_leads": 10}


class Runners:
    """Starts runner processes and stops every one of them at teardown."""

    def __init__(self, base_env: dict[str, str], log_dir: Path, store: JobStore, vhost: str) -> None:
        self.base_env = base_env
        self.log_dir = log_dir
        self.store = store
        self.vhost = vhost
        self.project = base_env["GOOGLE_CLOUD_PROJECT"]
        self.processes: list[services.Process] = []
        self._connection = services.blocking_connection(vhost)
        self.channel = self._connection.channel()
        topology.declare(self.channel, (1, 2, 3))
        self.channel.confirm_delivery()

    def start(self, name: str = "runner", args: Iterable[str] = (), **env: str) -> services.Process:
        process = services.Process(
            [sys.executable, "-m", "runner", *args], {**self.base_env, **RUNNER_ENV, **env}, name, self.log_dir
        )
        self.processes.append(process)
        return process

    def wait_started(self, process: services.Process, timeout: float = 20.0) -> None:
        services.wait_until(lambda: '"consuming"' in process.output() or process.popen.poll() is not None,
                            timeout, what=f"{process.name} to consume")  # fmt: skip
        assert process.popen.poll() is None, process.output()

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop()
        with contextlib.suppress(pika.exceptions.AMQPError):  # a fault test may have had the broker drop it
            self._connection.close()

    # --- jobs -----------------------------------------------------------------------------------------

    def submit(self, *script: str, create: bool = True, job_id: str | None = None, publish: bool = True) -> str:
        """A job whose handler follows `script` (see tests/runner/handlers.py), created as the API would
        create it (unless create=False: a seed-format message with no document), then published."""
        job_id = job_id or str(uuid.uuid4())
        user_id = f"user-{job_id[:6]}"
        request = {**REQUEST, "keywords": list(script), "search_query": f"test job {job_id}"}
        # published right below (published=True: no outbox mark), which keeps the relay tests' counts theirs
        job = new_job(job_id, user_id, JobRequest.model_validate(request), utcnow(), published=True)
        if create:
            self.store.create_job(job)
        if publish:
            self.publish(JobMessage.for_job(job).body(), job_id)
        return job_id

    def republish(self, job_id: str) -> None:
        """The job's message once more, exactly as first published (a duplicate delivery)."""
        self.publish(JobMessage.for_job(self.store.get_job(job_id)).body(), job_id)

    def publish(self, body: bytes, message_id: str | None = None) -> None:
        self.channel.basic_publish(
            exchange="", routing_key=topology.SCRAPE_JOBS, body=body,
            properties=topology.job_properties(message_id or "none"), mandatory=True,
        )  # fmt: skip

    def job(self, job_id: str) -> dict[str, Any]:
        """The job's document as Firestore holds it (JobNotFound while there is none)."""
        self.store.get_job(job_id)
        return document(self.store, job_id)

    def wait_status(self, job_id: str, statuses: set[str] | str = FINISHED, timeout: float = 30.0) -> dict[str, Any]:
        wanted = {statuses} if isinstance(statuses, str) else statuses

        def reached() -> dict[str, Any] | None:
            try:
                job = self.job(job_id)
            except JobNotFound:  # a seed message's job exists once a runner has read it
                return None
            return job if job["status"] in wanted else None

        try:
            return services.wait_until(reached, timeout, 0.1, what=f"job {job_id} to be {wanted}")  # type: ignore[return-value]
        except AssertionError as e:
            raise AssertionError(f"{e}; job: {self.job(job_id)}\n{self.logs()}") from None

    def completions(self, job_id: str) -> int:
        return len(handlers.completions(self.project, job_id))

    def runs(self, job_id: str) -> int:
        snapshot = handlers.runs_ref(handlers._client(self.project), job_id).get()
        return int((snapshot.to_dict() or {}).get("runs", 0))

    def dead_letters(self) -> list[dict[str, Any]]:
        with _Channel(self.vhost) as channel:
            return list_dead_letters(channel, Lifecycle(self.store, load_settings(), "test"))

    def dead_lettered(self, job_id: str) -> int:
        return sum(1 for row in self.dead_letters() if row["job_id"] == job_id)

    def queue_depth(self, queue: str = topology.SCRAPE_JOBS) -> int:
        return int(self.channel.queue_declare(queue, passive=True).method.message_count)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.output()[-6000:]}" for p in self.processes)

    def events(self, process: services.Process, event: str) -> list[dict[str, Any]]:
        lines = []
        for line in process.output().splitlines():
            if f'"{event}"' in line:
                try:
                    lines.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return [line for line in lines if line.get("event") == event]


class _Channel:
    def __init__(self, vhost: str) -> None:
        self.connection = services.blocking_connection(vhost)

    def __enter__(self) -> Any:
        return self.connection.channel()

    def __exit__(self, *exc: object) -> None:
        if self.connection.is_open:
            self.connection.close()


def wait_for(predicate: Any, timeout: float = 30.0, what: str = "") -> Any:
    return services.wait_until(predicate, timeout, 0.1, what=what)


def seconds_between(a: Any, b: Any) -> float:
    return float((b - a).total_seconds())
