"""A job's public progress (contract §3): its rules as pure transitions of the Job model (a retried attempt counts
afresh, nothing moves back within an attempt, a succeeded job ends `finished` with every site done and its lead
count), then end to end: a real runner scraping local sites that answer at clearly different speeds, watched
through GET /api/v1/jobs/<id> of the running function."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from leadengine.jobs import PHASES, Progress, utcnow
from leadengine.schemas import JobStatus
from tests.runner.scrape.servers import Hit, LocalServer, Responder, page_html, serper_app
from tests.support.jobs import draft
from tests.support.stack import function_and_runner

# --- the rules, without services ------------------------------------------------------------------------


def test_a_new_attempt_starts_its_own_count_from_searching() -> None:
    job, _ = draft().claimed("runner-a", utcnow(), 60)
    job = job.with_progress(Progress(phase="reading_sites", sites_total=8, sites_done=5, leads_found=4))
    retried, _ = job.claimed("runner-b", utcnow() + timedelta(seconds=90), 60)
    assert retried.progress == Progress(phase="searching", sites_total=0, sites_done=0, leads_found=0)


def test_within_an_attempt_the_phase_only_moves_forward_and_the_counts_only_rise() -> None:
    job, _ = draft().claimed("runner-a", utcnow(), 60)
    assert job.progress.phase == "searching"
    reading = job.with_progress(Progress(phase="reading_sites", sites_total=8, sites_done=3, leads_found=2))
    late = reading.with_progress(Progress(phase="searching", sites_total=8, sites_done=2, leads_found=1))
    assert late.progress == Progress(phase="reading_sites", sites_total=8, sites_done=3, leads_found=2)
    later = late.with_leads(5, Progress(phase="reading_sites", sites_total=8, sites_done=6, leads_found=5), utcnow())
    assert later.progress == Progress(phase="reading_sites", sites_total=8, sites_done=6, leads_found=5)
    assert list(PHASES) == ["queued", "searching", "reading_sites", "finished"]


def test_a_succeeded_job_ends_finished_with_every_site_done_and_its_lead_count() -> None:
    job, claim = draft().claimed("runner-a", utcnow(), 60)
    job = job.with_leads(7, Progress(phase="reading_sites", sites_total=9, sites_done=6, leads_found=7), utcnow())
    done = job.settled(claim, utcnow(), "succeeded", status=JobStatus.SUCCEEDED)
    assert done.progress == Progress(phase="finished", sites_total=9, sites_done=9, leads_found=7)
    failed = job.settled(claim, utcnow(), "failed", status=JobStatus.FAILED)
    assert failed.progress.phase == "reading_sites"  # only success claims every site read


# --- end to end -----------------------------------------------------------------------------------------

KEY = "progress-key"
DELAYS = (0.2, 3.0, 6.0, 9.0, 12.0)  # seconds each site's home page takes: sites end one by one, 3 s apart


def slow_site(name: str, delay: float) -> LocalServer:
    def app(r: Responder, hit: Hit) -> None:
        if hit.path == "/robots.txt":
            r.send(404, "", "text/plain")
            return
        time.sleep(delay)
        r.send(200, page_html(name, f"<p>{name} makes software. Write to hello@example.org.</p>"))

    return LocalServer(app)


@pytest.fixture
def stack(base_env: dict[str, str], log_dir: Path) -> Iterator[tuple[str, list[LocalServer]]]:
    """The enqueue function and one runner (the real scrape handler), searching a local Serper over local sites."""
    sites = [slow_site(f"Company {i}", delay) for i, delay in enumerate(DELAYS)]
    search = LocalServer(serper_app([(site.url + "/", f"Company {i}", "software") for i, site in enumerate(sites)]))
    env = {
        **base_env,
        "API_KEYS": json.dumps({KEY: "user-progress"}),
        "SEARCH_PROVIDER": "serper",
        "SEARCH_API_URL": f"{search.url}/search",
        "SEARCH_API_KEY": "test-key",
        "SCRAPE_ALLOW_PRIVATE_NETWORKS": "true",
        "SCRAPE_POLITENESS_DELAY_S": "0",
        "SCRAPE_READ_TIMEOUT_S": "30",
        "SCRAPE_SITE_TIMEOUT_S": "60",
        "RUNNER_METRICS_PORT": "0",
    }
    try:
        with function_and_runner(env, log_dir) as (base_url, _runner):
            yield base_url, sites
    finally:
        for server in (search, *sites):
            server.close()


def test_progress_rises_site_by_site_through_get_then_ends_with_the_final_figures(stack) -> None:
    base_url, sites = stack
    seen: list[tuple[float, dict[str, Any], str]] = []  # (monotonic time, progress, status) of each GET
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=10) as api:
        body = {"industry": "Software", "geography": "Sydney, Australia", "max_leads": 10}
        job_id = api.post("/api/v1/jobs/scrape", json=body).json()["job_id"]
        deadline = time.monotonic() + 90
        while True:
            job = api.get(f"/api/v1/jobs/{job_id}").json()
            seen.append((time.monotonic(), job["progress"], job["status"]))
            if job["status"] in {"succeeded", "failed", "cancelled"} or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert job["status"] == "succeeded", job
    total = len(DELAYS)
    progresses = [progress for _, progress, _ in seen]
    # Phases only move forward, and the counts only rise.
    ranks = [PHASES.index(progress["phase"]) for progress in progresses]
    assert ranks == sorted(ranks), [p["phase"] for p in progresses]
    assert progresses[0]["phase"] in {"queued", "searching", "reading_sites"}
    for name in ("sites_done", "leads_found"):
        values = [progress[name] for progress in progresses]
        assert values == sorted(values), (name, values)
    # The total is known as soon as the reading starts.
    reading = [progress for progress in progresses if progress["phase"] == "reading_sites"]
    assert reading and all(progress["sites_total"] == total for progress in reading), reading
    # sites_done went through intermediate values while the job ran.
    running_done = {progress["sites_done"] for _, progress, status in seen if status == "running"}
    assert len(running_done & set(range(1, total))) >= 2, sorted(running_done)
    # Never more than 5 s behind the runner: each site's end shows within 5 s of its answer (plus a poll).
    for k, (site, delay) in enumerate(sorted(zip(sites, DELAYS, strict=True), key=lambda pair: pair[1]), start=1):
        answered = max(hit.at for hit in site.hits if hit.path == "/") + delay
        shown = next(at for at, progress, _ in seen if progress["sites_done"] >= k)
        assert shown - answered <= 5.0, (k, round(shown - answered, 2))
    # The final figures.
    final = job["progress"]
    assert final == {"phase": "finished", "sites_total": total, "sites_done": total, "leads_found": job["lead_count"]}
    assert job["lead_count"] == total
