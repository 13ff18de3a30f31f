"""GET /api/v1/jobs: the caller's jobs newest first, paged by opaque tokens so that each job that existed at the
first page comes exactly once whatever is submitted meanwhile; the status filter; isolation between users; and
every malformed parameter answered 400 in the contract's order of checks."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from leadengine.store import JobStore
from tests.enqueue.conftest import VALID, Users
from tests.support.jobs import force

JOBS = "/api/v1/jobs"


def submit(client: Any, users: Users, user: str) -> str:
    response = client.post("/api/v1/jobs/scrape", json=VALID, headers=users.auth(user))
    assert response.status_code == 202
    return str(response.json["job_id"])


def pages(client: Any, users: Users, user: str, query: str, between: Any = None) -> list[list[dict[str, Any]]]:
    """Every page of a listing, following the tokens; `between()` runs after each page."""
    result: list[list[dict[str, Any]]] = []
    url = f"{JOBS}?{query}"
    while True:
        page = client.get(url, headers=users.auth(user))
        assert page.status_code == 200, page.json
        assert set(page.json) == {"jobs", "next_page_token"}
        result.append(page.json["jobs"])
        token = page.json["next_page_token"]
        if token is None:
            return result
        if between is not None:
            between()
        url = f"{JOBS}?{query}&page_token={token}"


def test_25_jobs_paged_by_10_while_new_ones_arrive_come_each_once_newest_first(client, users: Users) -> None:
    existing = [submit(client, users, users.bob) for _ in range(25)]
    arrived: list[str] = []
    listing = pages(client, users, users.bob, "limit=10",
                    between=lambda: arrived.extend(submit(client, users, users.bob) for _ in range(3)))  # fmt: skip
    assert [len(page) for page in listing] == [10, 10, 5]
    seen = [job["job_id"] for page in listing for job in page]
    assert seen == list(reversed(existing))  # newest first, each exactly once, none of those submitted meanwhile
    assert len(arrived) == 6
    created = [job["created_at"] for page in listing for job in page]
    assert created == sorted(created, reverse=True)
    # A new listing starts from the newest again.
    first = client.get(f"{JOBS}?limit=6", headers=users.auth(users.bob)).json["jobs"]
    assert [job["job_id"] for job in first] == list(reversed(arrived))


def test_each_listed_job_is_the_job_as_get_shows_it(client, users: Users) -> None:
    job_id = submit(client, users, users.alice)
    listed = client.get(f"{JOBS}?limit=1", headers=users.auth(users.alice)).json["jobs"][0]
    assert listed == client.get(f"{JOBS}/{job_id}", headers=users.auth(users.alice)).json


def test_the_limit_defaults_to_20(client, users: Users) -> None:
    for _ in range(21):
        submit(client, users, users.alice)
    listing = pages(client, users, users.alice, "")
    assert len(listing[0]) == 20 and len(listing) >= 2


def test_status_filters_the_listing_and_its_pages(client, users: Users, job_store: JobStore) -> None:
    ids = [submit(client, users, users.alice) for _ in range(7)]
    for job_id in ids[:5]:
        force(job_store, job_id, status="failed")
    force(job_store, ids[5], status="running")
    failed = pages(client, users, users.alice, "status=failed&limit=2")
    assert [len(page) for page in failed] == [2, 2, 1]
    assert [job["job_id"] for page in failed for job in page] == list(reversed(ids[:5]))
    assert all(job["status"] == "failed" for page in failed for job in page)
    running = client.get(f"{JOBS}?status=running", headers=users.auth(users.alice)).json
    assert [job["job_id"] for job in running["jobs"]] == [ids[5]] and running["next_page_token"] is None
    queued = [job["job_id"] for page in pages(client, users, users.alice, "status=queued&limit=100") for job in page]
    assert ids[6] in queued and not set(ids[:6]) & set(queued)


def test_jobs_created_at_the_same_instant_are_each_listed_once(client, users: Users, job_store: JobStore) -> None:
    ids = [submit(client, users, users.alice) for _ in range(5)]
    same = datetime(2020, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)
    for job_id in ids:
        force(job_store, job_id, status="cancelled", created_at=same)
    listing = pages(client, users, users.alice, "status=cancelled&limit=2")
    assert [len(page) for page in listing] == [2, 2, 1]
    assert sorted(job["job_id"] for page in listing for job in page) == sorted(ids)


def test_a_user_lists_only_their_own_jobs(client, users: Users) -> None:
    mine = submit(client, users, users.alice)
    theirs = submit(client, users, users.bob)
    alice = {job["job_id"] for page in pages(client, users, users.alice, "limit=100") for job in page}
    bob = {job["job_id"] for page in pages(client, users, users.bob, "limit=100") for job in page}
    assert mine in alice and theirs in bob and not alice & bob
    everyone = client.get(f"{JOBS}?limit=100", headers=users.auth(users.mallory))
    assert (everyone.status_code, everyone.json) == (200, {"jobs": [], "next_page_token": None})


def _token(client: Any, users: Users, query: str) -> str:
    submit(client, users, users.alice)
    submit(client, users, users.alice)
    token = client.get(f"{JOBS}?limit=1&{query}", headers=users.auth(users.alice)).json["next_page_token"]
    assert token is not None
    return str(token)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_every_malformed_parameter_is_400(client, users: Users) -> None:
    real = _token(client, users, "")
    leads_token = base64.urlsafe_b64encode(b"0123abcd").decode().rstrip("=")
    forged = [
        "%25%25",  # not base64
        leads_token,  # a leads page token
        _b64({"v": 1, "status": None, "t": 1, "seen": ["not-a-job-id"]}),
        _b64({"v": 2, "status": None, "t": 1, "seen": ["00000000-0000-4000-8000-000000000000"]}),
        _b64({"v": 1, "status": None, "t": -5, "seen": ["00000000-0000-4000-8000-000000000000"]}),
        _b64({"v": 1, "status": None, "t": 10**30, "seen": ["00000000-0000-4000-8000-000000000000"]}),
        _b64({"v": 1, "status": None, "t": 1, "seen": ["00000000-0000-4000-8000-000000000000"], "x": 1}),
        real[: len(real) // 2],  # truncated
        real[:-3],
        real + "A",
        "x" * 5000,
    ]
    queries = [
        "limit=0", "limit=101", "limit=abc", "limit=", "limit=-1", "limit=5.0", "limit=%2B5", "limit=1&limit=2",
        "status=done", "status=QUEUED", "status=", "status=queued&status=running", "page_token=",
        *(f"page_token={token}" for token in forged),
        f"status=failed&page_token={real}",  # a token answers only the query that issued it
        f"page_token={real}&page_token={real}",
    ]  # fmt: skip
    for query in queries:
        response = client.get(f"{JOBS}?{query}", headers=users.auth(users.alice))
        assert (response.status_code, response.json["error"]["code"]) == (400, "malformed_parameter"), query
        assert response.json["error"]["details"], query


def test_a_token_of_a_status_listing_pages_that_listing(client, users: Users) -> None:
    token = _token(client, users, "status=queued")
    response = client.get(f"{JOBS}?status=queued&limit=1&page_token={token}", headers=users.auth(users.alice))
    assert response.status_code == 200 and response.json["jobs"][0]["status"] == "queued"


@pytest.mark.parametrize(
    ("method", "path", "auth", "status", "code"),
    [
        ("GET", f"{JOBS}?limit=0", False, 401, "unauthorized"),  # the key before the parameters
        ("GET", f"{JOBS}?status=done&page_token=%25", False, 401, "unauthorized"),
        ("POST", JOBS, True, 405, "method_not_allowed"),  # the route before everything
        ("DELETE", f"{JOBS}?limit=0", False, 405, "method_not_allowed"),
        ("GET", f"{JOBS}/", True, 404, "not_found"),
    ],
)
def test_the_order_of_checks_on_the_listing(client, users: Users, method, path, auth, status, code) -> None:
    headers = users.auth(users.mallory) if auth else {}
    response = client.open(path, method=method, headers=headers)
    assert (response.status_code, response.json["error"]["code"]) == (status, code)
