"""Auth and per-user isolation: API keys from API_KEYS, and another user's job, leads and cancel answer exactly
like a missing job."""

from __future__ import annotations

import json
import uuid
from typing import Any

import functions_framework
import httpx
import pytest

from leadengine.settings import get_settings
from tests.enqueue.conftest import MAIN, VALID, Users


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer    ", "Bearer wrong-key", "Token KEY", "bearer", "KEY", "Bearer KEY extra"],
)
def test_no_unknown_or_malformed_key_is_401(client, users: Users, authorization: str | None) -> None:
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization.replace("KEY", users.key_of[users.alice])
    response = client.post("/api/v1/jobs/scrape", json=VALID, headers=headers)
    assert (response.status_code, response.json["error"]["code"]) == (401, "unauthorized")


def test_the_scheme_is_case_insensitive(client, users: Users) -> None:
    headers = {"Authorization": f"bearer {users.key_of[users.alice]}"}
    assert client.post("/api/v1/jobs/scrape", json=VALID, headers=headers).status_code == 202


def test_the_key_decides_the_user(client, users: Users, job_store) -> None:
    response = client.post("/api/v1/jobs/scrape", json=VALID, headers=users.auth(users.bob))
    assert job_store.get_job(response.json["job_id"]).user_id == users.bob


def _three_calls(client: Any, users: Users, user: str, job_id: str) -> list[tuple[int, Any]]:
    headers = users.auth(user)
    answers = [
        client.get(f"/api/v1/jobs/{job_id}", headers=headers),
        client.get(f"/api/v1/jobs/{job_id}/leads", headers=headers),
        client.post(f"/api/v1/jobs/{job_id}/cancel", headers=headers),
    ]
    return [(a.status_code, a.get_data()) for a in answers]


def test_another_users_job_leads_and_cancel_are_404_exactly_like_a_missing_job(client, users: Users) -> None:
    job_id = client.post("/api/v1/jobs/scrape", json=VALID, headers=users.auth(users.alice)).json["job_id"]
    as_bob = _three_calls(client, users, users.bob, job_id)
    missing = _three_calls(client, users, users.bob, str(uuid.uuid4()))
    assert as_bob == missing
    assert [status for status, _ in as_bob] == [404, 404, 404]
    # bob's cancel did nothing: alice still sees her job queued
    assert client.get(f"/api/v1/jobs/{job_id}", headers=users.auth(users.alice)).json["status"] == "queued"


def test_without_api_keys_every_api_call_is_401(function_env, users: Users, monkeypatch) -> None:
    monkeypatch.delenv("API_KEYS")
    get_settings.cache_clear()
    try:
        app = functions_framework.create_app(target="enqueue", source=str(MAIN))
        client = app.test_client()
        for key in users.keys:
            response = client.post("/api/v1/jobs/scrape", json=VALID, headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 401
        assert client.get("/healthz").status_code == 200
    finally:
        get_settings.cache_clear()


def test_api_keys_never_reach_the_logs(server, users: Users) -> None:
    process, base_url = server
    for key in [*users.keys, "Bearer guessed-secret-key"]:
        httpx.post(f"{base_url}/api/v1/jobs/scrape", json=VALID, headers={"Authorization": f"Bearer {key}"})
    output = process.output()
    assert "job_accepted" in output and "request_rejected" in output
    for key in [*users.keys, "guessed-secret-key"]:
        assert key not in output
    for line in output.splitlines():
        if line.startswith("{"):
            json.loads(line)  # every log line of ours is one JSON object
