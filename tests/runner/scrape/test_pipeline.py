"""One scrape job through the whole pipeline with the real handler: POST to the enqueue function ->
scrape_jobs -> a runner process -> Firestore -> `GET .../leads`, against the bundled demo, with both
sources; every lead field of §6 and the LinkedIn merge over the API; a duplicate delivery of the same job
leaves the same leads."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pika
import pytest

from leadengine import topology
from leadengine.schemas import JobMessage
from tests.runner.scrape.conftest import Demo
from tests.support import services
from tests.support.stack import function_and_runner as stack_processes

KEY = "pipeline-key"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture
def stack(base_env: dict[str, str], demo: Demo, log_dir: Path) -> Iterator[tuple[str, services.Process]]:
    env = {
        **base_env,
        "API_KEYS": json.dumps({KEY: "user-pipeline"}),
        "SEARCH_PROVIDER": "serper",
        "SEARCH_API_URL": demo.search_url,
        "SEARCH_API_KEY": "demo-key",
        "SCRAPE_ALLOW_PRIVATE_NETWORKS": "true",
        "SCRAPE_POLITENESS_DELAY_S": "0.1",
        "RUNNER_METRICS_PORT": "0",
    }
    with stack_processes(env, log_dir) as (base_url, runner):
        yield base_url, runner


def _all_leads(api: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    leads: list[dict[str, Any]] = []
    token = None
    while True:
        params: dict[str, Any] = {"limit": 4, **({"page_token": token} if token else {})}
        page = api.get(f"/api/v1/jobs/{job_id}/leads", params=params)
        assert page.status_code == 200, page.text
        leads += page.json()["leads"]
        token = page.json()["next_page_token"]
        if token is None:
            return leads


def _wait_finished(api: httpx.Client, job_id: str) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        job = api.get(f"/api/v1/jobs/{job_id}").json()
        return job if job["status"] in ("succeeded", "failed", "cancelled") else None

    return services.wait_until(finished, timeout=60, interval=0.3, what=f"job {job_id} to finish")  # type: ignore[return-value]


def test_job_from_post_to_leads_through_queue_runner_and_firestore(
    stack: tuple[str, services.Process], demo: Demo, vhost: str
) -> None:
    base_url, runner = stack
    api = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
    request = {
        "industry": "SaaS",
        "geography": "Sydney, Australia",
        "keywords": ["B2B", "enterprise"],
        "source_types": ["google", "linkedin"],
    }
    accepted = api.post("/api/v1/jobs/scrape", json=request)
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]

    job = _wait_finished(api, job_id)
    assert job["status"] == "succeeded", job
    assert job["lead_count"] == 11 and job["error"] is None

    leads = _all_leads(api, job_id)
    assert len(leads) == 11 == len({lead["lead_id"] for lead in leads})
    fields = {"lead_id", "company_name", "website", "domain", "emails", "phones", "linkedin_url", "description",
              "sources", "source_urls", "found_at"}  # fmt: skip
    assert all(set(lead) == fields and RFC3339.match(lead["found_at"]) for lead in leads)
    by_name = {lead["company_name"]: lead for lead in leads}
    harbourline = by_name["Harbourline Software"]
    assert harbourline["website"] == demo.sites["Harbourline Software"]
    assert harbourline["domain"] == demo.domain("Harbourline Software")
    assert harbourline["emails"] == ["hello@harbourline.com.au", "sales@harbourline.com.au"]
    assert harbourline["phones"] == ["+61255504821"]
    assert harbourline["linkedin_url"] == "https://www.linkedin.com/company/harbourline-software"
    assert harbourline["sources"] == ["google", "linkedin"]
    assert harbourline["description"].startswith("Harbourline Software builds")
    assert demo.sites["Harbourline Software"] in harbourline["source_urls"]
    redfern = by_name["Redfern Robotics"]
    assert (redfern["website"], redfern["domain"], redfern["sources"]) == (None, None, ["linkedin"])
    assert redfern["linkedin_url"] == "https://www.linkedin.com/company/redfern-robotics"

    # The same job delivered again (a duplicate message) never duplicates a lead.
    connection = services.blocking_connection(vhost)
    try:
        body = JobMessage.model_validate({**job["request"], "job_id": job_id, "user_id": "user-pipeline"}).body()
        connection.channel().basic_publish(
            "", topology.SCRAPE_JOBS, body,
            pika.BasicProperties(delivery_mode=2, content_type="application/json", message_id=job_id),
        )  # fmt: skip
    finally:
        connection.close()
    services.wait_until(lambda: runner.output().count(job_id) and runner.output().count('"message_received"') >= 2,
                        timeout=30, what="the duplicate delivery to be received")  # fmt: skip
    time.sleep(1.0)  # let a (wrongly) re-run job write what it would write
    again = _all_leads(api, job_id)
    assert sorted(lead["lead_id"] for lead in again) == sorted(lead["lead_id"] for lead in leads)
    assert api.get(f"/api/v1/jobs/{job_id}").json()["lead_count"] == 11
