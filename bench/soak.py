"""Chaos soak: a few hundred jobs from three users through the whole pipeline (the function on gunicorn, the outbox
relay, runner processes) on the real broker (a vhost of its own) and a Firestore emulator of its own, once
undisturbed and once while runners are killed at random (SIGKILL, then restarted as a supervisor would) and every
connection of the vhost is dropped (`rabbitmqctl close_all_connections`). Prints, for each run, lost, duplicated
and stuck jobs and duplicate leads (each must be 0; the exit status is 1 otherwise) and the drain rate of the chaos
run beside the undisturbed one. Not part of `make test`.

    .venv/bin/python -m bench.soak [--jobs 300] [--runners 3] [--seed N]

What each count means:
- lost: a job answered 202 that has no document, or that ended without running (`message_lost`, `cancelled`);
- stuck: still `queued` or `running` when the drain deadline passed;
- duplicated: more than one attempt recorded `succeeded`, or final leads that are not exactly one attempt's;
- duplicate leads: a company listed twice in one job, or `lead_count` not the number of leads listed;
- failed: ended `failed` (the handler never fails on its own: only faults could, e.g. three kills of one job).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from google.cloud import firestore

from leadengine.schemas import Lead, lead_id_for
from leadengine.settings import load_settings
from leadengine.store import JobStore, utcnow
from tests.support import services

ROOT = Path(__file__).resolve().parents[1]
USERS = ("soak-alice", "soak-bob", "soak-carol")
PROJECT = "leadengine-soak"
REQUEST = {"industry": "Soak", "geography": "Sydney, Australia", "keywords": ["chaos"], "max_leads": 10}
DRAIN_TIMEOUT_S = 300.0
# Short leases and backoffs, so that a killed runner's job is taken over within seconds (the defaults are for
# production: a 60 s lease, 10/60/300 s backoffs).
RUNNER_ENV = {"RUNNER_HANDLER": "bench.soak:work", "RUNNER_LEASE_S": "3", "JOB_RETRY_DELAYS_S": "1,2,3",
              "RUNNER_METRICS_PORT": "0", "RUNNER_SHUTDOWN_GRACE_S": "2"}  # fmt: skip
KILL_EVERY_S = (2.0, 5.0)  # a random runner SIGKILLed this often (uniform), then restarted after 0.5 s
DROP_EVERY_S = (5.0, 9.0)  # every connection of the vhost closed by the broker this often


# --- the job the runners run (RUNNER_HANDLER=bench.soak:work) --------------------------------------------------


def leads_of(job_id: str, attempt: int) -> list[Lead]:
    """What attempt `attempt` of a job finds. Attempts differ, as real scrapes may: Acme is a LinkedIn-only lead
    (keyed by its slug) on odd attempts and merged with its website (keyed by its domain) on even ones, and the
    sites found shift by one per attempt. A lead left over from an earlier attempt shows as an extra lead or as
    Acme twice."""
    acme_key = "linkedin:acme" if attempt % 2 else "acme.example"
    acme = Lead(lead_id=lead_id_for(job_id, acme_key), company_name="Acme", domain=None if attempt % 2 else
                "acme.example", linkedin_url="https://www.linkedin.com/company/acme", found_at=utcnow())  # fmt: skip
    sites = [Lead(lead_id=lead_id_for(job_id, f"site-{n}.example"), company_name=f"Site {n}",
                  domain=f"site-{n}.example", website=f"https://site-{n}.example/", sources=["google"],
                  found_at=utcnow()) for n in range(attempt, attempt + 3)]  # fmt: skip
    return [acme, *sites]


def work(ctx: Any) -> None:
    """Half the leads, a wait of 0.2-0.8 s at checkpoints (a kill lands mid-job often), the other half."""
    ctx.checkpoint()
    found = leads_of(ctx.job_id, ctx.attempt)
    ctx.save_leads(found[:2])
    deadline = time.monotonic() + random.uniform(0.2, 0.8)
    while time.monotonic() < deadline:
        time.sleep(0.1)
        ctx.checkpoint()
    ctx.save_leads(found[2:])
    ctx.progress("leads_found", leads=len(found))


# --- the stack -----------------------------------------------------------------------------------------------


class Stack:
    """An emulator and a vhost of its own, the function, the relay and `runners` runner processes."""

    def __init__(self, name: str, runners: int, log_dir: Path) -> None:
        self.name = name
        self.log_dir = log_dir
        self.emulator = services.Emulator(log_dir)
        self.vhost = services.create_vhost(f"le-soak-{name}")
        self.keys = {f"soak-{uuid.uuid4().hex}": user for user in USERS}
        self.env = {**os.environ, "RABBITMQ_HOST": "127.0.0.1", "RABBITMQ_VHOST": self.vhost,
                    "FIRESTORE_EMULATOR_HOST": self.emulator.host, "GOOGLE_CLOUD_PROJECT": PROJECT,
                    "API_KEYS": json.dumps(self.keys), "OUTBOX_GRACE_S": "2", "RELAY_INTERVAL_S": "1",
                    "JOB_STALL_S": "30", "LOG_LEVEL": "info"}  # fmt: skip
        self.processes: list[services.Process] = []
        self.runners: list[services.Process] = []
        self._lock = threading.Lock()
        port = services.free_port()
        self.function = self._start([str(services.VENV_BIN / "functions-framework"), "--source",
                                     "functions/enqueue/main.py", "--target", "enqueue", "--host", "127.0.0.1",
                                     "--port", str(port)], "enqueue")  # fmt: skip
        self.url = f"http://127.0.0.1:{port}"
        services.wait_until(self._healthy, 30, 0.2, what="the function")
        self.relay = self._start([sys.executable, "-m", "leadengine.outbox"], "relay")
        for _ in range(runners):
            self.start_runner()
        os.environ["FIRESTORE_EMULATOR_HOST"] = self.emulator.host
        self.store = JobStore(load_settings(google_cloud_project=PROJECT, firestore_emulator_host=self.emulator.host))

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def _start(self, args: list[str], name: str, **env: str) -> services.Process:
        process = services.Process(args, {**self.env, **env}, f"{self.name}-{name}", self.log_dir)
        self.processes.append(process)
        return process

    def start_runner(self) -> services.Process:
        process = self._start([sys.executable, "-m", "runner"], "runner", **RUNNER_ENV)
        with self._lock:
            self.runners.append(process)
        return process

    def kill_a_runner(self, rng: random.Random) -> None:
        """SIGKILL one live runner, then start another in its place (a container platform's restart)."""
        with self._lock:
            live = [p for p in self.runners if p.popen.poll() is None]
            if not live:
                return
            victim = rng.choice(live)
            self.runners.remove(victim)
        victim.signal(signal.SIGKILL)
        victim.wait(timeout=10)
        time.sleep(0.5)
        self.start_runner()

    def drop_connections(self) -> None:
        services.rabbitmqctl("close_all_connections", "-p", self.vhost, "soak: dropped on purpose")

    def finished(self) -> int:
        query: Any = self.store.client.collection("jobs").where(
            filter=firestore.FieldFilter("status", "in", ["succeeded", "failed", "cancelled"])
        )
        return int(query.count().get()[0][0].value)

    def events(self, event: str) -> int:
        return sum(p.output().count(f'"{event}"') for p in self.processes)

    def close(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.emulator.stop()
        services.delete_vhost(self.vhost)


# --- submitting ----------------------------------------------------------------------------------------------


def submit(stack: Stack, user: str, count: int, accepted: list[str], errors: Counter[str]) -> None:
    """`count` jobs as one client would send them; a 503 or a dropped request is retried with the same
    Idempotency-Key (always safe, §3) until it is accepted."""
    key = next(k for k, u in stack.keys.items() if u == user)
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(timeout=30) as client:
        for _ in range(count):
            idempotency = uuid.uuid4().hex
            for attempt in range(20):
                try:
                    response = client.post(f"{stack.url}/api/v1/jobs/scrape", json=REQUEST,
                                           headers={**headers, "Idempotency-Key": idempotency})  # fmt: skip
                except httpx.HTTPError as e:
                    errors[type(e).__name__] += 1
                    time.sleep(0.2 * (attempt + 1))
                    continue
                if response.status_code == 202:
                    accepted.append(response.json()["job_id"])
                    break
                errors[str(response.status_code)] += 1
                time.sleep(float(response.headers.get("Retry-After", "1")))
            else:
                raise SystemExit(f"soak: a job of {user} was never accepted ({dict(errors)})")


# --- one run -------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    name: str
    jobs: int
    drain_s: float
    lost: int = 0
    stuck: int = 0
    duplicated: int = 0
    duplicate_leads: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    kills: int = 0
    drops: int = 0
    lost_attempts: int = 0  # attempts whose runner was killed (history `lost`): each ended in a later attempt
    republished: int = 0  # lost messages stall recovery published again
    capped: int = 0  # deliveries parked because their user had no free place (§8): a published job always has one
    submit_errors: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.jobs / self.drain_s

    @property
    def clean(self) -> bool:
        return not (self.lost or self.stuck or self.duplicated or self.duplicate_leads or self.failed)

    def line(self) -> str:
        return (f"{self.name:<11} {self.jobs:>4} jobs  drained in {self.drain_s:6.1f} s  {self.rate:5.2f} jobs/s  "
                f"lost {self.lost}  duplicated {self.duplicated}  stuck {self.stuck}  "
                f"duplicate leads {self.duplicate_leads}  failed {sum(self.failed.values())}"
                f"{' ' + str(dict(self.failed)) if self.failed else ''}")  # fmt: skip


def run(name: str, jobs: int, runners: int, chaos: bool, seed: int, log_dir: Path) -> Outcome:
    stack = Stack(name, runners, log_dir)
    rng = random.Random(seed)
    stop = threading.Event()
    counts = Counter[str]()

    def chaos_loop() -> None:
        next_kill = time.monotonic() + rng.uniform(*KILL_EVERY_S)
        next_drop = time.monotonic() + rng.uniform(*DROP_EVERY_S)
        while not stop.wait(0.1):
            now = time.monotonic()
            if now >= next_kill:
                stack.kill_a_runner(rng)
                counts["kills"] += 1
                next_kill = time.monotonic() + rng.uniform(*KILL_EVERY_S)
            if now >= next_drop:
                stack.drop_connections()
                counts["drops"] += 1
                next_drop = time.monotonic() + rng.uniform(*DROP_EVERY_S)

    try:
        for process in stack.runners:
            _wait_consuming(process)
        accepted: list[str] = []
        errors: Counter[str] = Counter()
        per_user = [jobs // len(USERS) + (1 if n < jobs % len(USERS) else 0) for n in range(len(USERS))]
        threads = [threading.Thread(target=submit, args=(stack, user, n, accepted, errors))
                   for user, n in zip(USERS, per_user, strict=True)]  # fmt: skip
        chaos_thread = threading.Thread(target=chaos_loop, daemon=True)
        started = time.monotonic()
        if chaos:
            chaos_thread.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        while stack.finished() < len(accepted) and time.monotonic() - started < DRAIN_TIMEOUT_S:
            time.sleep(0.5)
        drain_s = time.monotonic() - started
        stop.set()
        if chaos:
            chaos_thread.join(timeout=30)
        outcome = Outcome(name, len(accepted), drain_s, kills=counts["kills"], drops=counts["drops"],
                          submit_errors=errors)  # fmt: skip
        time.sleep(2)  # copies still in flight (redeliveries, relay passes) land before the final count
        check(stack, accepted, outcome)
        outcome.republished = stack.events("stalled_job_republished")
        outcome.capped = sum(p.output().count('"outcome": "capped"') for p in stack.processes)
        return outcome
    finally:
        stop.set()
        stack.close()


def _wait_consuming(process: services.Process) -> None:
    services.wait_until(lambda: '"consuming"' in process.output(), 30, what=f"{process.name} to consume")


def check(stack: Stack, accepted: list[str], outcome: Outcome) -> None:
    """The counts of the module docstring, from Firestore as the API would show it."""
    jobs = {snapshot.id: snapshot.to_dict() or {} for snapshot in stack.store.client.collection("jobs").stream()}
    for job_id in accepted:
        job = jobs.get(job_id)
        if job is None:
            outcome.lost += 1
            continue
        status = job["status"]
        error_code = (job.get("error") or {}).get("code")
        if status in ("queued", "running"):
            outcome.stuck += 1
            continue
        if status == "cancelled" or error_code == "message_lost":
            outcome.lost += 1
            continue
        if status == "failed":
            outcome.failed[error_code or "?"] += 1
            continue
        attempts = [entry for entry in job.get("history", []) if entry.get("attempt") is not None]
        outcome.lost_attempts += sum(entry["outcome"] == "lost" for entry in attempts)
        successes = [entry["attempt"] for entry in attempts if entry["outcome"] == "succeeded"]
        leads = [lead for page in stack.store.lead_pages(job_id, 100) for lead in page]
        names = [lead.company_name for lead in leads]
        outcome.duplicate_leads += len(names) - len(set(names)) + (job.get("lead_count") != len(leads))
        final = {lead.lead_id for lead in leads_of(job_id, successes[-1])} if successes else set()
        if len(successes) != 1 or {lead.lead_id for lead in leads} != final:
            outcome.duplicated += 1


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--runners", type=int, default=3)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    if not services.broker_reachable():
        raise SystemExit("soak: RabbitMQ is not reachable on 127.0.0.1:5672")
    log_dir = ROOT / "build" / "bench-soak"
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"soak: {args.jobs} jobs from {len(USERS)} users, {args.runners} runners, seed {seed}; chaos: a runner "
          f"SIGKILLed every {KILL_EVERY_S[0]:g}-{KILL_EVERY_S[1]:g} s, the vhost's connections dropped every "
          f"{DROP_EVERY_S[0]:g}-{DROP_EVERY_S[1]:g} s; logs in {log_dir}", flush=True)  # fmt: skip
    calm = run("undisturbed", args.jobs, args.runners, False, seed, log_dir)
    print(calm.line(), flush=True)
    chaos = run("chaos", args.jobs, args.runners, True, seed, log_dir)
    print(chaos.line(), flush=True)
    print(f"chaos: {chaos.kills} runners killed, {chaos.drops} connection drops, {chaos.lost_attempts} attempts lost "
          f"to kills and run again, {chaos.republished} messages republished by stall recovery, {chaos.capped} "
          f"deliveries capped by fair share (undisturbed: {calm.republished}, {calm.capped}), submit retries "
          f"{dict(chaos.submit_errors) or 0}; drain rate {chaos.rate / calm.rate:4.2f}x undisturbed")  # fmt: skip
    if not (calm.clean and chaos.clean):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
