"""GET a job, cancel it, and page through its leads (written here through the store, as the runner would)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from leadengine.schemas import Lead, lead_id_for
from leadengine.store import JobStore
from tests.enqueue.conftest import VALID, Users
from tests.support.jobs import force

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def new_job(client: Any, users: Users, **changes: Any) -> str:
    response = client.post("/api/v1/jobs/scrape", json={**VALID, **changes}, headers=users.auth(users.alice))
    assert response.status_code == 202
    return str(response.json["job_id"])


def test_get_job_shows_every_field_of_the_contract(client, users: Users) -> None:
    job_id = new_job(client, users, filters={"company_size": "50-200"})
    job = client.get(f"/api/v1/jobs/{job_id}", headers=users.auth(users.alice)).json
    assert set(job) == {"job_id", "user_id", "status", "request", "attempts", "lead_count", "error",
                        "created_at", "updated_at", "started_at", "finished_at", "progress", "webhook"}  # fmt: skip
    assert (job["job_id"], job["user_id"], job["status"]) == (job_id, users.alice, "queued")
    assert (job["attempts"], job["lead_count"], job["error"]) == (0, 0, None)
    assert (job["started_at"], job["finished_at"]) == (None, None)
    assert job["progress"] == {"phase": "queued", "sites_total": 0, "sites_done": 0, "leads_found": 0}
    assert RFC3339.match(job["created_at"]) and RFC3339.match(job["updated_at"])
    assert job["request"] == {
        "industry": "SaaS", "geography": "Sydney, Australia", "keywords": ["B2B"], "source_types": ["google"],
        "search_query": "SaaS companies in Sydney, Australia B2B", "filters": {"company_size": "50-200"},
        "max_leads": 50,
    }  # fmt: skip


def test_cancelling_a_queued_job_cancels_it_at_once_and_again_is_409(client, users: Users) -> None:
    job_id = new_job(client, users)
    response = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=users.auth(users.alice))
    assert response.status_code == 202
    assert response.json["status"] == "cancelled" and RFC3339.match(response.json["finished_at"])
    assert client.get(f"/api/v1/jobs/{job_id}", headers=users.auth(users.alice)).json["status"] == "cancelled"
    again = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=users.auth(users.alice))
    assert (again.status_code, again.json["error"]["code"]) == (409, "job_finished")


def test_cancelling_a_finished_job_is_409(client, users: Users, job_store: JobStore) -> None:
    job_id = new_job(client, users)
    force(job_store, job_id, status="succeeded")  # as a runner would leave it
    response = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=users.auth(users.alice))
    assert (response.status_code, response.json["error"]["code"]) == (409, "job_finished")


def _leads(job_id: str, count: int) -> list[Lead]:
    found = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return [
        Lead(lead_id=lead_id_for(job_id, f"company{i}.example"), company_name=f"Company {i}",
             website=f"https://company{i}.example/", domain=f"company{i}.example", sources=["google"], found_at=found)
        for i in range(count)
    ]  # fmt: skip


def test_following_page_tokens_returns_every_lead_exactly_once(client, users: Users, job_store: JobStore) -> None:
    job_id = new_job(client, users)
    job_store.write_leads(job_id, _leads(job_id, 7))
    seen: list[str] = []
    pages = []
    url = f"/api/v1/jobs/{job_id}/leads?limit=3"
    while True:
        page = client.get(url, headers=users.auth(users.alice))
        assert page.status_code == 200
        pages.append(len(page.json["leads"]))
        seen += [lead["lead_id"] for lead in page.json["leads"]]
        token = page.json["next_page_token"]
        if token is None:
            break
        url = f"/api/v1/jobs/{job_id}/leads?limit=3&page_token={token}"
    assert pages == [3, 3, 1]
    assert sorted(seen) == sorted(lead.lead_id for lead in _leads(job_id, 7)) and len(set(seen)) == 7


def test_leads_default_to_50_and_show_the_lead_fields(client, users: Users, job_store: JobStore) -> None:
    job_id = new_job(client, users)
    job_store.write_leads(job_id, _leads(job_id, 51))
    page = client.get(f"/api/v1/jobs/{job_id}/leads", headers=users.auth(users.alice)).json
    assert len(page["leads"]) == 50 and page["next_page_token"] is not None
    lead = page["leads"][0]
    assert lead["found_at"] == "2026-01-02T03:04:05Z" and lead["company_name"].startswith("Company ")
    full = client.get(f"/api/v1/jobs/{job_id}/leads?limit=200", headers=users.auth(users.alice)).json
    assert len(full["leads"]) == 51 and full["next_page_token"] is None


def test_a_job_without_leads_has_an_empty_last_page(client, users: Users) -> None:
    job_id = new_job(client, users)
    page = client.get(f"/api/v1/jobs/{job_id}/leads?limit=1", headers=users.auth(users.alice))
    assert (page.status_code, page.json) == (200, {"leads": [], "next_page_token": None})


def test_bad_limit_or_page_token_is_400_even_on_a_real_job(client, users: Users) -> None:
    job_id = new_job(client, users)
    for query in ("limit=0", "limit=201", "limit=abc", "page_token=%25%25", "page_token=", "limit=1&limit=1"):
        response = client.get(f"/api/v1/jobs/{job_id}/leads?{query}", headers=users.auth(users.alice))
        assert (response.status_code, response.json["error"]["code"]) == (400, "malformed_parameter"), query
