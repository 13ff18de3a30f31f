"""Runner drain rate against the raw loop it is built on, both on the real broker and the Firestore emulator.

    .venv/bin/python -m bench.runner

Scenarios: 500 no-op jobs with 1, 2 and 4 runners (`python -m runner` processes), and 200 jobs that wait 100 ms
on I/O with 1 and 4 runners. The peer, measured in the same run with as many processes: the raw loop, pika
consuming at prefetch 1 -> the same two Firestore writes (running, then succeeded) -> ack. Each scenario gets a
fresh emulator, since the emulator's write cost grows with the collection. Prints jobs/s, per-job overhead
of the runner over the raw loop, and the ratio. Bounded: a few minutes at most.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pika
from google.cloud import firestore

from leadengine import topology
from leadengine.jobs import JobRequest, new_job, utcnow
from leadengine.schemas import JobMessage
from leadengine.settings import load_settings
from leadengine.store import JobStore

ROOT = Path(__file__).resolve().parents[1]
USERS = 100
REQUEST = {"industry": "Bench", "geography": "Nowhere", "keywords": [], "source_types": ["google"],
           "search_query": "bench", "filters": None, "max_leads": 1}  # fmt: skip
SCENARIOS = [("noop", 500, 1), ("noop", 500, 2), ("noop", 500, 4), ("wait_100ms", 200, 1), ("wait_100ms", 200, 4)]
SCENARIO_TIMEOUT_S = 60.0


# --- the handlers the benchmarked runners run (RUNNER_HANDLER=bench.runner:noop) ------------------------


def noop(ctx: Any) -> None:
    ctx.checkpoint()


def wait_100ms(ctx: Any) -> None:
    ctx.checkpoint()
    time.sleep(0.1)  # a slow HTTP answer, as a scrape waits on one


# --- the raw loop: what any consumer of this queue must do at least ----------------------------------------


def raw_consumer(wait_s: float, idle_s: float) -> None:
    """pika at prefetch 1 -> mark running -> (wait) -> mark succeeded -> ack; exits once idle."""
    settings = load_settings()
    client = firestore.Client(project=settings.google_cloud_project)
    connection = pika.BlockingConnection(topology.connection_parameters(settings))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=1)
    print("ready", flush=True)
    last = time.monotonic()
    for method, _properties, body in channel.consume(topology.SCRAPE_JOBS, inactivity_timeout=0.2):
        if method is None:
            if time.monotonic() - last > idle_s:
                break
            continue
        job_id = JobMessage.model_validate_json(body).job_id
        ref = client.collection("jobs").document(job_id)
        ref.update({"status": "running", "attempts": firestore.Increment(1), "started_at": utcnow()})
        if wait_s:
            time.sleep(wait_s)
        ref.update({"status": "succeeded", "finished_at": utcnow()})
        channel.basic_ack(method.delivery_tag)
        last = time.monotonic()
    connection.close()


# --- the harness ----------------------------------------------------------------------------------------


@dataclass
class Result:
    handler: str
    jobs: int
    processes: int
    runner_s: float
    raw_s: float

    def line(self) -> str:
        runner_rate, raw_rate = self.jobs / self.runner_s, self.jobs / self.raw_s
        # Per-job overhead as one process sees it: the extra wall time each process spends per job.
        overhead_ms = (self.runner_s - self.raw_s) / self.jobs * self.processes * 1000
        return (f"{self.handler:<11} {self.jobs:>4} jobs x{self.processes}  runner {runner_rate:7.1f} jobs/s  "
                f"raw {raw_rate:7.1f} jobs/s  overhead {overhead_ms:6.1f} ms/job/process  "
                f"runner/raw {runner_rate / raw_rate:4.2f}")  # fmt: skip


def _rabbitmqctl(*args: str) -> None:
    for attempt in range(5):  # the shared broker may be restarting (the fault tests do that)
        result = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60)
        if result.returncode == 0:
            return
        time.sleep(1 + attempt)
    raise SystemExit(f"bench: rabbitmqctl {' '.join(args)} failed: {result.stderr.strip()}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"bench: nothing listens on 127.0.0.1:{port}")


class Stack:
    """A fresh emulator and vhost for one measurement."""

    def __init__(self, log_dir: Path) -> None:
        self.port = _free_port()
        self.vhost = f"le-bench-{uuid.uuid4().hex[:8]}"
        self.log_dir = log_dir
        _rabbitmqctl("add_vhost", self.vhost)
        _rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        self.emulator = subprocess.Popen(["node", str(ROOT / "emulator" / "server.js"), f"127.0.0.1:{self.port}"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        _wait_port(self.port)
        self.env = {**os.environ, "RABBITMQ_HOST": "127.0.0.1", "RABBITMQ_VHOST": self.vhost,
                    "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{self.port}", "GOOGLE_CLOUD_PROJECT": "leadengine-bench",
                    "RUNNER_METRICS_PORT": "0", "JOB_RETRY_DELAYS_S": "1,2,3"}  # fmt: skip
        os.environ.update({k: self.env[k] for k in ("FIRESTORE_EMULATOR_HOST", "RABBITMQ_VHOST", "RABBITMQ_HOST")})
        self.settings = load_settings(google_cloud_project="leadengine-bench")
        self.store = JobStore(self.settings)
        self.connection = pika.BlockingConnection(topology.connection_parameters(self.settings))
        self.channel = self.connection.channel()
        topology.declare(self.channel, (1, 2, 3))
        self.channel.confirm_delivery()

    def create_jobs(self, count: int) -> list[JobMessage]:
        messages, batch = [], self.store.client.batch()
        for n in range(count):
            job_id = str(uuid.uuid4())
            # Many users, as a shared service has: one user's 500 jobs would be held to USER_MAX_RUNNING_JOBS at a
            # time by fair share (§8), which is its point, not the per-job cost measured here.
            user = f"bench-{n % USERS}"
            job = new_job(job_id, user, JobRequest.model_validate(REQUEST), utcnow(), published=True)
            batch.set(self.store.client.collection("jobs").document(job_id), job.to_document())
            messages.append(JobMessage.for_job(job))
            if n % 400 == 399:
                batch.commit()
                batch = self.store.client.batch()
        batch.commit()
        return messages

    def publish(self, messages: list[JobMessage]) -> None:
        for message in messages:
            self.channel.basic_publish(
                "", topology.SCRAPE_JOBS, message.body(), topology.job_properties(message.job_id)
            )

    def succeeded(self) -> int:
        query: Any = self.store.client.collection("jobs").where(
            filter=firestore.FieldFilter("status", "==", "succeeded")
        )
        return int(query.count().get()[0][0].value)

    def close(self) -> None:
        self.connection.close()
        self.emulator.terminate()
        self.emulator.wait(timeout=10)
        _rabbitmqctl("delete_vhost", self.vhost)


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, *args], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def _ready(log: Path, marker: str) -> bool:
    return log.exists() and marker in log.read_text(errors="replace")


def measure(kind: str, handler: str, jobs: int, processes: int, log_dir: Path) -> float:
    """Seconds from the first publish until every job is succeeded, with `processes` consumers."""
    stack = Stack(log_dir)
    children: list[subprocess.Popen[bytes]] = []
    try:
        messages = stack.create_jobs(jobs)
        logs = [log_dir / f"{kind}-{handler}-{processes}-{n}.log" for n in range(processes)]
        for log in logs:
            if kind == "runner":
                env = {**stack.env, "RUNNER_HANDLER": f"bench.runner:{handler}"}
                children.append(_start(["-m", "runner", "--exit-when-idle", "2"], env, log))
            else:
                wait = "0.1" if handler == "wait_100ms" else "0"
                children.append(_start(["-m", "bench.runner", "raw-consumer", "--wait-s", wait], stack.env, log))
        marker = '"consuming"' if kind == "runner" else "ready"
        deadline = time.monotonic() + 30
        while not all(_ready(log, marker) for log in logs):
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: {kind} processes did not start; see {log_dir}")
            time.sleep(0.05)
        started = time.monotonic()
        stack.publish(messages)
        while stack.succeeded() < jobs:
            if time.monotonic() - started > SCENARIO_TIMEOUT_S:
                raise SystemExit(f"bench: {kind} {handler} x{processes} did not finish in {SCENARIO_TIMEOUT_S}s")
            time.sleep(0.1)
        return time.monotonic() - started
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=30)
        stack.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.runner")
    sub = parser.add_subparsers(dest="command")
    raw = sub.add_parser("raw-consumer", help="(internal) one raw-loop consumer process")
    raw.add_argument("--wait-s", type=float, default=0.0)
    raw.add_argument("--idle-s", type=float, default=30.0)
    args = parser.parse_args()
    if args.command == "raw-consumer":
        raw_consumer(args.wait_s, args.idle_s)
        return
    log_dir = ROOT / "build" / "bench-runner"
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"runner vs raw loop (pika prefetch 1 -> 2 Firestore writes -> ack); logs in {log_dir}", flush=True)
    results = []
    for handler, jobs, processes in SCENARIOS:
        raw_s = measure("raw", handler, jobs, processes, log_dir)
        runner_s = measure("runner", handler, jobs, processes, log_dir)
        result = Result(handler, jobs, processes, runner_s, raw_s)
        results.append(result)
        print(result.line(), flush=True)
    one = next(r for r in results if r.handler == "noop" and r.processes == 1)
    for result in results:
        if result.handler == "noop" and result.processes > 1:
            print(f"scaling: noop x{result.processes} drains {one.runner_s / result.runner_s:4.2f}x as fast as x1 "
                  f"(raw loop {one.raw_s / result.raw_s:4.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
