"""Fair share (contract §8) against a plain FIFO queue, on the real stack: the enqueue function, the outbox relay and
4 runners (`python -m runner`) on the real broker and the Firestore emulator.

    .venv/bin/python -m bench.fairness

User A queues 200 jobs of 0.3 s (8 connections at once), then user B queues 5. Printed: A's backlog when B
submitted (A's jobs not started yet); for each of B's jobs, how many of A's jobs started after B's submit and before
it, and how long it waited; and when B's last job was done. The peer is the same run
with USER_MAX_RUNNING_JOBS=1000, which publishes every job at once: the plain FIFO order that fair share replaces.
Each run gets a fresh emulator and vhost. About a minute.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from bench.runner import ROOT, Stack, _free_port
from leadengine.jobs import Job

RUNNERS = 4
A_JOBS, B_JOBS = 200, 5
JOB_S = 0.3
FAIR_CAP = 4  # the contract's default USER_MAX_RUNNING_JOBS
FIFO_CAP = 1000  # more than A's backlog: every job goes to the broker at once
RUN_TIMEOUT_S = 180.0
SUBMITTERS = 8


def work(ctx: object) -> None:
    """The benchmarked runners' handler (RUNNER_HANDLER=bench.fairness:work): a job of JOB_S."""
    ctx.checkpoint()  # type: ignore[attr-defined]
    time.sleep(JOB_S)


@dataclass
class Run:
    label: str
    backlog: int  # A's jobs not yet started when B submitted
    overtaken_by: list[int]  # per B job: A's jobs that started after B's submit and before it
    waits_s: list[float]  # per B job: from B's submit to its start
    b_done_s: float  # from B's submit until B's last job finished

    def line(self) -> str:
        overtaken = " ".join(f"{n:>3}" for n in self.overtaken_by)
        waits = " ".join(f"{w:5.1f}" for w in self.waits_s)
        return (f"{self.label:<20} A's backlog {self.backlog:>3}   A started before B's: {overtaken}   "
                f"B waited (s): {waits}   B done {self.b_done_s:5.1f} s")  # fmt: skip


class Pipeline:
    """One run: a fresh emulator and vhost, the function, the relay and the runners, all stopped at the end."""

    def __init__(self, cap: int, log_dir: Path) -> None:
        self.stack = Stack(log_dir)
        self.keys = {"bench-key-a": f"a-{uuid.uuid4().hex[:6]}", "bench-key-b": f"b-{uuid.uuid4().hex[:6]}"}
        self.env = {**self.stack.env, "API_KEYS": json.dumps(self.keys), "USER_MAX_RUNNING_JOBS": str(cap),
                    "USER_MAX_ACTIVE_JOBS": "1000", "RUNNER_HANDLER": "bench.fairness:work",
                    "OUTBOX_GRACE_S": "2", "RELAY_INTERVAL_S": "1", "LOG_LEVEL": "warning"}  # fmt: skip
        self.children: list[subprocess.Popen[bytes]] = []
        self.log_dir = log_dir
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        bin_dir = Path(sys.executable).parent
        self._start("function", [str(bin_dir / "functions-framework"), "--source", "functions/enqueue/main.py",
                                 "--target", "enqueue", "--host", "127.0.0.1", "--port", str(port)])  # fmt: skip
        self._start("relay", [sys.executable, "-m", "leadengine.outbox"])
        for n in range(RUNNERS):
            self._start(f"runner-{n}", [sys.executable, "-m", "runner"])
        self._wait_healthy()

    def _start(self, name: str, args: list[str]) -> None:
        with open(self.log_dir / f"fairness-{name}.log", "wb") as out:
            self.children.append(subprocess.Popen(args, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT))

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    time.sleep(1)  # the runners' start-up
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"bench: the function did not start; see {self.log_dir}")

    def submit(self, client: httpx.Client, key: str, count: int) -> list[str]:
        ids = []
        for _ in range(count):
            response = client.post(f"{self.url}/api/v1/jobs/scrape", headers={"Authorization": f"Bearer {key}"},
                                   json={"industry": "Bench", "geography": "Nowhere"})  # fmt: skip
            if response.status_code != 202:
                raise SystemExit(f"bench: submit answered {response.status_code}: {response.text}")
            ids.append(response.json()["job_id"])
        return ids

    def jobs(self, ids: list[str]) -> list[Job]:
        found = [self.stack.store.find_job(job_id) for job_id in ids]
        return [job for job in found if job is not None]

    def close(self) -> None:
        for child in self.children:
            child.terminate()
        for child in self.children:
            child.wait(timeout=30)
        self.stack.close()


def measure(label: str, cap: int, log_dir: Path) -> Run:
    pipeline = Pipeline(cap, log_dir)
    try:
        with httpx.Client(timeout=30) as client, ThreadPoolExecutor(SUBMITTERS) as pool:
            # A's backlog goes in quickly (several connections), so that it is there when B submits.
            shares = [A_JOBS // SUBMITTERS + (n < A_JOBS % SUBMITTERS) for n in range(SUBMITTERS)]
            a_ids = [job_id for ids in pool.map(lambda n: pipeline.submit(client, "bench-key-a", n), shares)
                     for job_id in ids]  # fmt: skip
            b_submitted = datetime.now().astimezone()
            b_ids = pipeline.submit(client, "bench-key-b", B_JOBS)
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while not all(job.finished for job in pipeline.jobs(b_ids)):
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: B's jobs did not finish within {RUN_TIMEOUT_S:.0f}s; see {log_dir}")
            time.sleep(0.2)
        b_jobs = sorted(pipeline.jobs(b_ids), key=lambda job: job.started_at or job.created_at)
        a_starts = [job.started_at for job in pipeline.jobs(a_ids) if job.started_at is not None]
        backlog = sum(1 for start in a_starts if start > b_submitted) + (A_JOBS - len(a_starts))
        overtaken, waits = [], []
        for job in b_jobs:
            assert job.started_at is not None
            overtaken.append(sum(1 for start in a_starts if b_submitted < start < job.started_at))
            waits.append((job.started_at - b_submitted).total_seconds())
        done = max((job.finished_at for job in b_jobs if job.finished_at is not None), default=b_submitted)
        return Run(label, backlog, overtaken, waits, (done - b_submitted).total_seconds())
    finally:
        pipeline.close()


def main() -> None:
    log_dir = ROOT / "build" / "bench-fairness"
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"user A queues {A_JOBS} jobs of {JOB_S:g} s, then user B {B_JOBS}; {RUNNERS} runners; logs in {log_dir}",
          flush=True)  # fmt: skip
    fair = measure(f"fair share (cap {FAIR_CAP})", FAIR_CAP, log_dir)
    print(fair.line(), flush=True)
    fifo = measure("plain FIFO", FIFO_CAP, log_dir)
    print(fifo.line(), flush=True)
    print(f"B's median wait: {statistics.median(fair.waits_s):.1f} s with fair share, "
          f"{statistics.median(fifo.waits_s):.1f} s in FIFO order ({statistics.median(fifo.waits_s) / max(statistics.median(fair.waits_s), 0.01):.0f}x); "
          f"at most {max(fair.overtaken_by)} of A's jobs started before one of B's (bound: the cap, {FAIR_CAP})")  # fmt: skip


if __name__ == "__main__":
    main()
