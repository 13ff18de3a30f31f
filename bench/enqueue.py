"""Benchmark of the enqueue path: POST /api/v1/jobs/scrape -> 202 on the function served as Cloud Functions gen2
serves it (functions-framework on gunicorn), at concurrency 1 and 8, against local RabbitMQ (a vhost of its own)
and a Firestore emulator of its own; in the same run, its peers: a raw pika publish-with-confirm of the same
message and a raw Firestore `create()` of the same job document. Prints the ratios. Never asserted in tests.

    .venv/bin/python -m bench.enqueue [--requests 500] [--seconds 15]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
from google.cloud import firestore

from leadengine import topology
from leadengine.jobs import JobRequest, new_job, utcnow
from leadengine.schemas import JobMessage, ScrapeRequest
from tests.support import services

REQUEST = {"industry": "SaaS", "geography": "Sydney, Australia", "keywords": ["B2B", "fintech"], "max_leads": 50}
USER = "bench-user"
# Nobody consumes the benchmark's jobs, so a user's USER_MAX_RUNNING_JOBS places (§8, default 4) never come free:
# each load thread moves to a fresh user (API key) every PER_USER posts, so that every POST is a published job
# (the path measured), never a held one or a 429.
PER_USER = 4


def api_keys(requests: int) -> dict[str, str]:
    """{key: user} for every load thread of both concurrencies, enough users for `requests` posts plus warm-ups."""
    keys = {}
    for concurrency in (1, 8):
        users_per_thread = (requests // concurrency + 1) // PER_USER + 2
        for thread in range(concurrency):
            for n in range(users_per_thread):
                keys[f"bench-{uuid.uuid4().hex}"] = f"bench-c{concurrency}-t{thread}-u{n}"
    return keys


@dataclass
class Result:
    name: str
    concurrency: int
    latencies_s: list[float]
    wall_s: float

    @property
    def throughput(self) -> float:
        return len(self.latencies_s) / self.wall_s

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        return (
            f"{self.name:<34} c={self.concurrency}  n={len(self.latencies_s):>5}  {self.throughput:8.1f}/s  "
            f"p50 {self.pct(0.50):7.2f} ms  p99 {self.pct(0.99):7.2f} ms"
        )


def run(
    name: str, concurrency: int, count: int, deadline_s: float, make_worker: Callable[[], Callable[[], None]]
) -> Result:
    """`count` operations over `concurrency` threads (each with its own client from make_worker), stopping early
    at deadline_s so the whole benchmark stays bounded."""
    latencies: list[float] = []
    lock = threading.Lock()
    remaining = [count]
    stop_at = time.monotonic() + deadline_s

    def worker() -> None:
        operation = make_worker()
        operation()  # warm-up: connections opened before measuring
        while time.monotonic() < stop_at:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            start = time.perf_counter()
            operation()
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(concurrency)]:
            future.result()
    return Result(name, concurrency, latencies, time.perf_counter() - start)


def function_worker(base_url: str, keys: dict[str, str], concurrency: int) -> Callable[[], Callable[[], None]]:
    threads = iter(range(concurrency))
    lock = threading.Lock()

    def make() -> Callable[[], None]:
        with lock:
            thread = next(threads)
        mine = [key for key, user in keys.items() if user.startswith(f"bench-c{concurrency}-t{thread}-")]
        client = httpx.Client(base_url=base_url, timeout=30)
        sent = [0]

        def post() -> None:
            key = mine[sent[0] // PER_USER]
            sent[0] += 1
            response = client.post("/api/v1/jobs/scrape", json=REQUEST, headers={"Authorization": f"Bearer {key}"})
            if response.status_code != 202:
                raise RuntimeError(f"expected 202, got {response.status_code}: {response.text}")

        return post

    return make


def pika_worker(vhost: str) -> Callable[[], Callable[[], None]]:
    request = ScrapeRequest.model_validate(REQUEST).job_request()

    def make() -> Callable[[], None]:
        connection = services.blocking_connection(vhost)
        channel = connection.channel()
        channel.confirm_delivery()

        def publish() -> None:
            job_id = str(uuid.uuid4())
            channel.basic_publish(
                exchange="",
                routing_key=topology.SCRAPE_JOBS,
                body=JobMessage.model_validate({**request, "job_id": job_id, "user_id": USER}).body(),
                properties=topology.job_properties(job_id),
                mandatory=True,
            )

        return publish

    return make


def firestore_worker(project: str) -> Callable[[], Callable[[], None]]:
    request = ScrapeRequest.model_validate(REQUEST).job_request()

    def make() -> Callable[[], None]:
        client = firestore.Client(project=project)

        def create() -> None:
            job_id = str(uuid.uuid4())
            client.collection("jobs").document(job_id).create(
                new_job(job_id, USER, JobRequest.model_validate(request), utcnow()).to_document()
            )

        return create

    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="operations per measurement (default 500)")
    parser.add_argument("--seconds", type=float, default=15, help="cap per measurement (default 15)")
    # parse_known_args: `python -m bench bench.enqueue` leaves the benchmark names in sys.argv.
    args, _ = parser.parse_known_args()

    keys = api_keys(args.requests)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-enqueue-"))
    saved_emulator_host = os.environ.get("FIRESTORE_EMULATOR_HOST")
    emulator = services.Emulator(log_dir)
    vhost = services.create_vhost("le-bench")
    function: services.Process | None = None
    try:
        project = f"bench-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            "RABBITMQ_HOST": "127.0.0.1",
            "RABBITMQ_VHOST": vhost,
            "FIRESTORE_EMULATOR_HOST": emulator.host,
            "GOOGLE_CLOUD_PROJECT": f"{project}-fn",
            "API_KEYS": json.dumps(keys),
            "LOG_LEVEL": "warning",  # one JSON line per request would measure stderr, not the function
        }
        # The raw Firestore peer's client reads the emulator from the environment; restored in `finally`
        # because `make bench` runs the next benchmark in this same process.
        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
        port = services.free_port()
        function = services.Process(
            [str(services.VENV_BIN / "functions-framework"), "--source", "functions/enqueue/main.py",
             "--target", "enqueue", "--host", "127.0.0.1", "--port", str(port)],
            env, "enqueue", log_dir,
        )  # fmt: skip
        services.wait_for_port(port)
        base_url = f"http://127.0.0.1:{port}"
        services.wait_until(lambda: httpx.get(f"{base_url}/healthz").status_code == 200, what="the function")
        print(f"function: functions-framework on gunicorn (THREADS={os.environ.get('THREADS', 'cpus*4')}), "
              f"vhost {vhost}, emulator {emulator.host}; logs in {log_dir}", flush=True)  # fmt: skip

        results: dict[tuple[str, int], Result] = {}
        for concurrency in (1, 8):
            for name, make in (
                ("POST /api/v1/jobs/scrape -> 202", function_worker(base_url, keys, concurrency)),
                ("raw pika publish + confirm", pika_worker(vhost)),
                # A project of its own per concurrency, so the emulator's per-collection cost stays comparable.
                ("raw Firestore create()", firestore_worker(f"{project}-raw{concurrency}")),
            ):
                result = run(name, concurrency, args.requests, args.seconds, make)
                results[(name, concurrency)] = result
                print(result.line(), flush=True)

        print("\nratios (the function's POST against its peers, same run):")
        for concurrency in (1, 8):
            post = results[("POST /api/v1/jobs/scrape -> 202", concurrency)]
            pub = results[("raw pika publish + confirm", concurrency)]
            create = results[("raw Firestore create()", concurrency)]
            # The floor issue 8 sets: one publish and two creates (the job batch, and one more Firestore call).
            floor = pub.pct(0.5) + 2 * create.pct(0.5)
            print(
                f"  c={concurrency}: p50 POST / p50 publish = {post.pct(0.5) / pub.pct(0.5):5.1f}x, "
                f"/ p50 create = {post.pct(0.5) / create.pct(0.5):5.1f}x, "
                f"/ (publish + 2 creates) = {post.pct(0.5) / floor:4.2f}x; "
                f"throughput POST / publish = {post.throughput / pub.throughput:5.3f}, "
                f"/ create = {post.throughput / create.throughput:5.3f}"
            )
        post1, post8 = (results[("POST /api/v1/jobs/scrape -> 202", c)] for c in (1, 8))
        floor1 = results[("raw pika publish + confirm", 1)].pct(0.5) + 2 * results[("raw Firestore create()", 1)].pct(
            0.5
        )
        print(
            f"\nissue 8 targets, same run: c=1 p50 POST / (publish + 2 creates) = {post1.pct(0.5) / floor1:4.2f}x "
            f"(target at most 1.5x); c=8 throughput POST / create = "
            f"{post8.throughput / results[('raw Firestore create()', 8)].throughput:5.3f} (target at least 0.5)"
        )
    finally:
        if function is not None:
            function.stop()
        emulator.stop()
        services.delete_vhost(vhost)
        if saved_emulator_host is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = saved_emulator_host


if __name__ == "__main__":
    main()
