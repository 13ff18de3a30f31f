"""Tier 3: the function running as Cloud Functions gen2 runs it (functions-framework on gunicorn) over HTTP:
the API end to end, chunked bodies, and schemathesis generating requests from openapi.yaml, none of which may
get a 5xx."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import hypothesis
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.enqueue.conftest import MAIN, VALID, Users, drain

OPENAPI = MAIN.parent / "openapi.yaml"
SCHEMA = schemathesis.openapi.from_path(OPENAPI)
# Both well-formed and deliberately malformed requests (schemathesis' default), a bounded number per operation.
SCHEMA.config.generation.update(modes=list(schemathesis.GenerationMode))


def chunks(data: bytes, size: int = 4096) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_submit_get_leads_cancel_over_http(server, users: Users, channel) -> None:
    process, url = server
    headers = users.auth(users.alice)
    accepted = httpx.post(f"{url}/api/v1/jobs/scrape", json=VALID, headers=headers)
    assert accepted.status_code == 202 and accepted.headers["Location"].startswith("/api/v1/jobs/")
    job_url = url + accepted.headers["Location"]
    assert httpx.get(job_url, headers=headers).json()["status"] == "queued"
    assert httpx.get(f"{job_url}/leads", headers=headers).json() == {"leads": [], "next_page_token": None}
    assert httpx.post(f"{job_url}/cancel", headers=headers).json()["status"] == "cancelled"
    assert [p.message_id for _, p, _ in drain(channel)] == [accepted.json()["job_id"]]
    logs = [json.loads(line) for line in process.output().splitlines() if line.startswith("{")]
    events = {(entry["event"], entry.get("job_id")) for entry in logs}
    job_id = accepted.json()["job_id"]
    assert {("message_published", job_id), ("job_accepted", job_id)} <= events
    published = next(e for e in logs if e["event"] == "message_published" and e["job_id"] == job_id)
    assert published["queue"] == "scrape_jobs"


def test_a_chunked_body_over_100_kib_is_413(server, users: Users, channel) -> None:
    _, url = server
    big = json.dumps({**VALID, "industry": "x" * (200 * 1024)}).encode()
    headers = {**users.auth(users.mallory), "Content-Type": "application/json"}
    response = httpx.post(f"{url}/api/v1/jobs/scrape", content=chunks(big), headers=headers, timeout=30)
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert (response.status_code, response.json()["error"]["code"]) == (413, "payload_too_large")
    assert drain(channel) == []


def test_a_chunked_body_under_the_limit_is_read_whole(server, users: Users, channel) -> None:
    _, url = server
    body = json.dumps({**VALID, "search_query": "q" * 256}).encode()
    headers = {**users.auth(users.alice), "Content-Type": "application/json"}
    response = httpx.post(f"{url}/api/v1/jobs/scrape", content=chunks(body, 16), headers=headers, timeout=30)
    assert response.status_code == 202
    assert [p.message_id for _, p, _ in drain(channel)] == [response.json()["job_id"]]


def test_a_huge_declared_body_is_refused_without_being_read(server, users: Users) -> None:
    _, url = server
    # Content-Length says 1 GiB; only a few bytes follow. The answer must come without waiting for the rest.
    port = int(url.rsplit(":", 1)[1])
    key = users.key_of[users.mallory]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/jobs/scrape HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {key}\r\nContent-Length: {1 << 30}\r\n\r\n".encode()
            + b'{"industry":'
        )
        head = sock.recv(4096).decode()
    assert head.startswith("HTTP/1.1 413")


@SCHEMA.parametrize()
@hypothesis.settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)
def test_no_generated_request_gets_a_5xx(case, server, users: Users) -> None:
    _, url = server
    case.call_and_validate(
        base_url=url,
        headers=users.auth(users.alice),
        timeout=30,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            response_headers_conformance,
        ],
    )
