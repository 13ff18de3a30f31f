"""Benchmark of the leads export: GET .../leads/export (CSV and JSONL) of jobs with 50, 500 and 5,000 leads on the
function served as Cloud Functions gen2 serves it (functions-framework on gunicorn) over a Firestore emulator of its
own; its peer in the same run: reading the same leads through the JSON API's pages (limit 200). Prints time, peak
RSS growth of the function's worker and the ratios. Never asserted in tests (tests/enqueue/test_export.py asserts
the memory bound).

    .venv/bin/python -m bench.export [--leads 50,500,5000]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from leadengine.jobs import JobRequest, new_job, utcnow
from leadengine.schemas import Lead, lead_id_for
from leadengine.settings import load_settings
from leadengine.store import JobStore
from tests.support import services

KEY = "bench-export-key"
USER = "bench-export-user"


def leads(job_id: str, count: int) -> list[Lead]:
    found = datetime.now(UTC)
    return [
        Lead(lead_id=lead_id_for(job_id, f"co-{i}.example"), company_name=f"Company {i} Pty Ltd",
             website=f"https://co-{i}.example/", domain=f"co-{i}.example", emails=[f"info@co-{i}.example"],
             phones=["+61 2 9000 0000"], linkedin_url=f"https://www.linkedin.com/company/co-{i}",
             description="A company that makes things, for people who need them.", sources=["google"],
             source_urls=[f"https://co-{i}.example/contact"], found_at=found)
        for i in range(count)
    ]  # fmt: skip


def worker_pid(server_pid: int) -> int:
    return int(Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()[0])


def status_kib(pid: int, field: str) -> int:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith(field + ":"))
    return int(line.split()[1])


def measure(pid: int, fetch: object) -> tuple[float, int, int]:
    """(seconds, bytes, peak RSS growth in KiB) of one call of `fetch`."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM back to the current RSS
    before = status_kib(pid, "VmRSS")
    started = time.perf_counter()
    size = fetch()  # type: ignore[operator]
    # The kernel updates the high-water mark lazily: a drop below `before` means no growth.
    return time.perf_counter() - started, int(size), max(0, status_kib(pid, "VmHWM") - before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", default="50,500,5000", help="lead counts, comma-separated")
    args, _ = parser.parse_known_args()
    counts = [int(n) for n in args.leads.split(",")]

    log_dir = Path(tempfile.mkdtemp(prefix="bench-export-"))
    emulator = services.Emulator(log_dir)
    function: services.Process | None = None
    try:
        env = {**os.environ, "FIRESTORE_EMULATOR_HOST": emulator.host, "LOG_LEVEL": "warning",
               "GOOGLE_CLOUD_PROJECT": f"bench-export-{uuid.uuid4().hex[:8]}", "API_KEYS": json.dumps({KEY: USER})}  # fmt: skip
        port = services.free_port()
        function = services.Process(
            [str(services.VENV_BIN / "functions-framework"), "--source", "functions/enqueue/main.py",
             "--target", "enqueue", "--host", "127.0.0.1", "--port", str(port)],
            env, "enqueue", log_dir,
        )  # fmt: skip
        services.wait_for_port(port)
        store = JobStore(load_settings(firestore_emulator_host=emulator.host, google_cloud_project=env["GOOGLE_CLOUD_PROJECT"],
                                       firestore_timeout_s=60))  # fmt: skip
        jobs = {}
        for count in counts:
            job = new_job(str(uuid.uuid4()), USER, JobRequest(industry="SaaS", geography="Sydney"), utcnow())
            store.create_job(job)
            made = leads(job.job_id, count)
            for start in range(0, count, 250):
                store.write_leads(job.job_id, made[start : start + 250])
            jobs[count] = job.job_id
        pid = worker_pid(function.pid)
        base = f"http://127.0.0.1:{port}/api/v1/jobs"
        headers = {"Authorization": f"Bearer {KEY}"}

        def export(job_id: str, fmt: str) -> int:
            size = 0
            with httpx.stream("GET", f"{base}/{job_id}/leads/export?format={fmt}", headers=headers, timeout=120) as r:
                for chunk in r.iter_bytes():
                    size += len(chunk)
            return size

        def pages(job_id: str) -> int:
            size, token = 0, None
            while True:
                params = {"limit": "200", **({"page_token": token} if token else {})}
                page = httpx.get(f"{base}/{job_id}/leads", params=params, headers=headers, timeout=60)
                size += len(page.content)
                token = page.json()["next_page_token"]
                if token is None:
                    return size

        for _ in range(2):  # warm up the worker: imports, the Firestore channel, allocator pools
            export(jobs[counts[0]], "csv")
            pages(jobs[counts[0]])
        print(f"function on gunicorn, emulator {emulator.host}; logs in {log_dir}")
        for count in counts:
            job_id = jobs[count]
            peer_s, _, peer_kib = measure(pid, lambda job_id=job_id: pages(job_id))
            for fmt in ("csv", "jsonl"):
                took, size, kib = measure(pid, lambda job_id=job_id, fmt=fmt: export(job_id, fmt))
                print(f"  {count:>5} leads {fmt:<5}: {took:6.2f} s, {size / took / 1e6:5.2f} MB/s, peak RSS +{kib:>5} KiB"
                      f" | JSON pages: {peer_s:6.2f} s, +{peer_kib:>5} KiB | export / pages time = {took / peer_s:4.2f}x")  # fmt: skip
    finally:
        if function is not None:
            function.stop()
        emulator.stop()


if __name__ == "__main__":
    main()
