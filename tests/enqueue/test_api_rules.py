"""Every rule of contract §3 through the app's test client: each rejected with its status and error code in the
documented order of checks, the accepted edge cases accepted, and no rejected request leaving a job or a message."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from leadengine.store import JobStore
from tests.enqueue.conftest import VALID, Users, count_jobs, drain, queue_depth

SCRAPE = "/api/v1/jobs/scrape"
MISSING = "/api/v1/jobs/00000000-0000-4000-8000-000000000000"
JSON = "application/json"


@dataclass(frozen=True)
class Bad:
    """One rejected request. auth: "mallory" (a valid key), None (no header) or a raw Authorization value."""

    name: str
    status: int
    code: str
    method: str = "POST"
    path: str = SCRAPE
    body: bytes | None = None
    content_type: str | None = JSON
    auth: str | None = "mallory"
    headers: dict[str, str] = field(default_factory=dict)


def body(**changes: Any) -> bytes:
    data = {**VALID, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not _DROP}).encode()


_DROP = object()
BIG = b'{"industry": "' + b"x" * (100 * 1024) + b'"}'
BAD_REQUESTS = [
    # route: 404/405, before the key is even looked at
    Bad("unknown path", 404, "not_found", "GET", "/api/v1/nope", auth=None),
    Bad("unknown version", 404, "not_found", "POST", "/api/v2/jobs/scrape", body(), auth=None),
    Bad("trailing slash", 404, "not_found", "POST", SCRAPE + "/", body()),
    Bad("doubled slash", 404, "not_found", "POST", "/api//v1/jobs/scrape", body()),
    Bad("relay route without RELAY_TOKEN", 404, "not_found", "POST", "/internal/outbox/relay", auth=None),
    Bad("DELETE the scrape route", 405, "method_not_allowed", "DELETE", SCRAPE, auth=None),
    Bad("GET the scrape route", 405, "method_not_allowed", "GET", SCRAPE, auth=None),
    Bad("PUT a job", 405, "method_not_allowed", "PUT", MISSING, body(), auth=None),
    Bad("GET cancel", 405, "method_not_allowed", "GET", MISSING + "/cancel", auth=None),
    Bad("POST leads", 405, "method_not_allowed", "POST", MISSING + "/leads"),
    # key: 401, before size, media type and body
    Bad("no key", 401, "unauthorized", body=body(), auth=None),
    Bad("unknown key", 401, "unauthorized", body=body(), auth="Bearer not-a-key"),
    Bad("basic scheme", 401, "unauthorized", body=body(), auth="Basic bWFsbG9yeTpwdw=="),
    Bad("bearer without a key", 401, "unauthorized", body=body(), auth="Bearer "),
    Bad("key without a scheme", 401, "unauthorized", body=body(), auth="MALLORY_KEY"),
    Bad("no key beats too large", 401, "unauthorized", body=BIG, auth=None),
    Bad("no key on GET job", 401, "unauthorized", "GET", MISSING, auth=None),
    Bad("no key on leads", 401, "unauthorized", "GET", MISSING + "/leads?limit=0", auth=None),
    Bad("no key on cancel", 401, "unauthorized", "POST", MISSING + "/cancel", auth=None),
    # size: 413, before the media type
    Bad("body over 100 KiB", 413, "payload_too_large", body=BIG),
    Bad("too large beats the media type", 413, "payload_too_large", body=BIG, content_type="text/plain"),
    # media type: 415, before the JSON
    Bad("no content type", 415, "unsupported_media_type", body=body(), content_type=None),
    Bad("text/plain", 415, "unsupported_media_type", body=body(), content_type="text/plain"),
    Bad("form", 415, "unsupported_media_type", body=b"industry=x", content_type="application/x-www-form-urlencoded"),
    Bad("+json type", 415, "unsupported_media_type", body=body(), content_type="application/problem+json"),
    Bad(
        "latin-1 charset", 415, "unsupported_media_type", body=body(), content_type="application/json; charset=latin-1"
    ),
    Bad("utf-16 charset", 415, "unsupported_media_type", body=body(), content_type="application/json; charset=utf-16"),
    Bad("other parameter", 415, "unsupported_media_type", body=body(), content_type="application/json; v=2"),
    Bad("media type beats bad JSON", 415, "unsupported_media_type", body=b"{", content_type="text/json"),
    # JSON: 400, before the schema
    Bad("empty body", 400, "malformed_json", body=b""),
    Bad("truncated", 400, "malformed_json", body=b'{"industry": "SaaS"'),
    Bad("not JSON", 400, "malformed_json", body=b"industry=SaaS"),
    Bad("NaN", 400, "malformed_json", body=b'{"industry": "a", "geography": "b", "max_leads": NaN}'),
    Bad("Infinity", 400, "malformed_json", body=b'{"industry": "a", "geography": "b", "max_leads": Infinity}'),
    Bad("-Infinity", 400, "malformed_json", body=b'{"industry": "a", "geography": "b", "max_leads": -Infinity}'),
    Bad("BOM", 400, "malformed_json", body=b"\xef\xbb\xbf" + body()),
    Bad("invalid UTF-8", 400, "malformed_json", body=b'{"industry": "\xff\xfe", "geography": "b"}'),
    Bad("encoded surrogate", 400, "malformed_json", body=b'{"industry": "\xed\xa0\x80", "geography": "b"}'),
    Bad("lone surrogate escape", 400, "malformed_json", body=b'{"industry": "\\ud800", "geography": "b"}'),
    Bad("duplicate keys", 400, "malformed_json", body=b'{"industry": "a", "industry": "b", "geography": "c"}'),
    Bad(
        "duplicate nested keys",
        400,
        "malformed_json",
        body=b'{"industry": "a", "geography": "c", "filters": {"revenue": "1", "revenue": "2"}}',
    ),
    Bad("nesting 33", 400, "malformed_json", body=b'{"x": ' + b"[" * 32 + b"]" * 32 + b"}"),
    Bad("nesting 100000", 400, "malformed_json", body=b"[" * 100_000),
    Bad("single quotes", 400, "malformed_json", body=b"{'industry': 'a'}"),
    Bad("trailing comma", 400, "malformed_json", body=b'{"industry": "a", "geography": "b",}'),
    Bad("raw control character", 400, "malformed_json", body=b'{"industry": "a\x01", "geography": "b"}'),
    Bad("JSON beats the schema", 400, "malformed_json", body=b'{"nope": 1, "nope": 2}'),
    Bad("empty Idempotency-Key", 400, "malformed_parameter", body=body(), headers={"Idempotency-Key": ""}),
    Bad("Idempotency-Key of 256", 400, "malformed_parameter", body=body(), headers={"Idempotency-Key": "k" * 256}),
    Bad("non-ASCII Idempotency-Key", 400, "malformed_parameter", body=body(), headers={"Idempotency-Key": "clé"}),
    Bad("tab in Idempotency-Key", 400, "malformed_parameter", body=body(), headers={"Idempotency-Key": "a\tb"}),
    Bad("limit 0", 400, "malformed_parameter", "GET", MISSING + "/leads?limit=0"),
    Bad("limit 201", 400, "malformed_parameter", "GET", MISSING + "/leads?limit=201"),
    Bad("limit not a number", 400, "malformed_parameter", "GET", MISSING + "/leads?limit=ten"),
    Bad("limit 5.0", 400, "malformed_parameter", "GET", MISSING + "/leads?limit=5.0"),
    Bad("limit -1", 400, "malformed_parameter", "GET", MISSING + "/leads?limit=-1"),
    Bad("limit twice", 400, "malformed_parameter", "GET", MISSING + "/leads?limit=1&limit=2"),
    Bad("page_token garbage", 400, "malformed_parameter", "GET", MISSING + "/leads?page_token=%21%21%21"),
    Bad("page_token empty", 400, "malformed_parameter", "GET", MISSING + "/leads?page_token="),
    Bad("page_token not base64 of an id", 400, "malformed_parameter", "GET", MISSING + "/leads?page_token=Li4vLi4v"),
    # schema: 422
    Bad("top-level array", 422, "validation_failed", body=b"[]"),
    Bad("top-level string", 422, "validation_failed", body=b'"SaaS"'),
    Bad("top-level null", 422, "validation_failed", body=b"null"),
    Bad("industry missing", 422, "validation_failed", body=body(industry=_DROP)),
    Bad("geography missing", 422, "validation_failed", body=body(geography=_DROP)),
    Bad("industry blank", 422, "validation_failed", body=body(industry="   ")),
    Bad("geography empty", 422, "validation_failed", body=body(geography="")),
    Bad("industry 101", 422, "validation_failed", body=body(industry="i" * 101)),
    Bad("industry a number", 422, "validation_failed", body=body(industry=5)),
    Bad("industry null", 422, "validation_failed", body=body(industry=None)),
    Bad("keywords 21", 422, "validation_failed", body=body(keywords=[f"k{i}" for i in range(21)])),
    Bad("keyword 51", 422, "validation_failed", body=body(keywords=["k" * 51])),
    Bad("keyword blank", 422, "validation_failed", body=body(keywords=["ok", " "])),
    Bad("keywords a string", 422, "validation_failed", body=body(keywords="B2B")),
    Bad("keywords null", 422, "validation_failed", body=body(keywords=None)),
    Bad("source_types empty", 422, "validation_failed", body=body(source_types=[])),
    Bad("source_types repeated", 422, "validation_failed", body=body(source_types=["google", "google"])),
    Bad("source_types unknown", 422, "validation_failed", body=body(source_types=["bing"])),
    Bad("source_types null", 422, "validation_failed", body=body(source_types=None)),
    Bad("search_query empty", 422, "validation_failed", body=body(search_query="")),
    Bad("search_query 257", 422, "validation_failed", body=body(search_query="q" * 257)),
    Bad("search_query null", 422, "validation_failed", body=body(search_query=None)),
    Bad("filters unknown key", 422, "validation_failed", body=body(filters={"employees": "50"})),
    Bad("filters value 51", 422, "validation_failed", body=body(filters={"revenue": "r" * 51})),
    Bad("filters value a number", 422, "validation_failed", body=body(filters={"company_size": 50})),
    Bad("filters a string", 422, "validation_failed", body=body(filters="50-200")),
    Bad("filters null", 422, "validation_failed", body=body(filters=None)),
    Bad("max_leads 0", 422, "validation_failed", body=body(max_leads=0)),
    Bad("max_leads 501", 422, "validation_failed", body=body(max_leads=501)),
    Bad("max_leads a string", 422, "validation_failed", body=body(max_leads="50")),
    Bad("max_leads a float", 422, "validation_failed", body=body(max_leads=5.5)),
    Bad("max_leads true", 422, "validation_failed", body=body(max_leads=True)),
    Bad("max_leads null", 422, "validation_failed", body=body(max_leads=None)),
    Bad("user_id null", 422, "validation_failed", body=body(user_id=None)),
    Bad("extra field", 422, "validation_failed", body=body(priority="high")),
    Bad("schema beats ownership", 422, "validation_failed", body=body(user_id="someone-else", max_leads=0)),
    # ownership and state
    Bad("someone else's user_id", 403, "forbidden", body=body(user_id="someone-else")),
    Bad("missing job", 404, "job_not_found", "GET", MISSING),
    Bad("not a job id", 404, "job_not_found", "GET", "/api/v1/jobs/not-a-uuid"),
    Bad("dot-dot job id", 404, "job_not_found", "GET", "/api/v1/jobs/..%2E"),
    Bad("upper-case job id", 404, "job_not_found", "GET", "/api/v1/jobs/ABCDEF00-0000-4000-8000-000000000000"),
    Bad("leads of a missing job", 404, "job_not_found", "GET", MISSING + "/leads"),
    Bad("cancel a missing job", 404, "job_not_found", "POST", MISSING + "/cancel"),
]


def send(client: Any, users: Users, bad: Bad) -> Any:
    headers = dict(bad.headers)
    if bad.auth == "mallory":
        headers.update(users.auth(users.mallory))
    elif bad.auth is not None:
        headers["Authorization"] = bad.auth.replace("MALLORY_KEY", users.key_of[users.mallory])
    if bad.content_type is not None:
        headers["Content-Type"] = bad.content_type
    return client.open(bad.path, method=bad.method, data=bad.body, headers=headers)


@pytest.mark.parametrize("bad", BAD_REQUESTS, ids=[b.name for b in BAD_REQUESTS])
def test_each_rule_is_rejected_with_its_status_and_code(client, users: Users, bad: Bad) -> None:
    response = send(client, users, bad)
    assert (response.status_code, response.json["error"]["code"]) == (bad.status, bad.code), response.json
    assert response.mimetype == "application/json"
    assert set(response.json) == {"error"} and set(response.json["error"]) == {"code", "message", "details"}
    assert isinstance(response.json["error"]["details"], list) and response.json["error"]["message"]


def test_a_battery_of_bad_requests_leaves_no_job_and_no_message(client, users: Users, job_store: JobStore, channel):
    assert len(BAD_REQUESTS) >= 50
    for bad in BAD_REQUESTS:
        assert send(client, users, bad).status_code == bad.status, bad.name
    assert count_jobs(job_store, users.mallory) == 0
    assert queue_depth(channel) == 0


def test_schema_errors_say_where_in_details(client, users: Users) -> None:
    response = client.post(SCRAPE, json={"industry": " ", "keywords": ["ok", "k" * 51], "x": 1},
                           headers=users.auth(users.mallory))  # fmt: skip
    locations = {tuple(item["loc"]) for item in response.json["error"]["details"]}
    assert {("body", "industry"), ("body", "geography"), ("body", "keywords", 1), ("body", "x")} <= locations
    assert all(set(item) == {"loc", "msg", "type"} for item in response.json["error"]["details"])


def test_401_and_405_carry_their_headers(client, users: Users) -> None:
    assert client.post(SCRAPE, json=VALID).headers["WWW-Authenticate"].startswith("Bearer")
    assert client.delete(SCRAPE).headers["Allow"] == "POST"
    assert set(client.put(MISSING).headers["Allow"].split(", ")) == {"GET", "HEAD"}


def test_healthz_needs_no_key(client) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


# --- accepted edge cases ------------------------------------------------------------------------------------


def submit(client: Any, users: Users, payload: Any, content_type: str = JSON, **headers: str) -> Any:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    return client.post(SCRAPE, data=raw, headers={**users.auth(users.alice), "Content-Type": content_type, **headers})


def accepted_job(client: Any, users: Users, response: Any) -> dict[str, Any]:
    assert response.status_code == 202, response.json
    assert response.headers["Location"] == f"/api/v1/jobs/{response.json['job_id']}"
    job = client.get(response.headers["Location"], headers=users.auth(users.alice))
    assert job.status_code == 200
    return job.json  # type: ignore[no-any-return]


def test_accepted_answer_is_202_with_location_and_the_queued_job(client, users: Users, channel) -> None:
    response = submit(client, users, VALID)
    assert set(response.json) == {"job_id", "status", "created_at"}
    assert response.json["status"] == "queued" and response.json["created_at"].endswith("Z")
    job = accepted_job(client, users, response)
    assert job["created_at"] == response.json["created_at"]
    assert [json.loads(b)["job_id"] for _, _, b in drain(channel)] == [response.json["job_id"]]


def test_unicode_and_maximum_lengths_are_accepted_whole(client, users: Users) -> None:
    payload = {
        "industry": "Ü" * 99 + "🚀",
        "geography": "東京都, 日本",
        "keywords": [f"{i:02d}" + "é" * 48 for i in range(20)],
        "source_types": ["google", "linkedin"],
        "search_query": "ß" * 256,
        "filters": {"company_size": "1000+", "revenue": "r" * 50},
        "max_leads": 500,
    }
    job = accepted_job(client, users, submit(client, users, payload))
    assert job["request"] == payload


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", 'APPLICATION/JSON; Charset="UTF-8"', "application/json;"]
)
def test_json_media_type_variants_are_accepted(client, users: Users, content_type: str) -> None:
    assert submit(client, users, VALID, content_type=content_type).status_code == 202


def test_strings_are_trimmed_and_defaults_filled(client, users: Users) -> None:
    payload = {"industry": "  SaaS\t", "geography": "\n Sydney ", "keywords": [" B2B "], "max_leads": 1}
    job = accepted_job(client, users, submit(client, users, payload))
    assert job["request"]["industry"] == "SaaS" and job["request"]["geography"] == "Sydney"
    assert job["request"]["keywords"] == ["B2B"]
    assert job["request"]["source_types"] == ["google"] and job["request"]["filters"] is None


def test_search_query_is_built_when_absent_and_carried_by_job_and_message(client, users: Users, channel) -> None:
    response = submit(client, users, {"industry": "Dental clinics", "geography": "Lyon", "keywords": ["implants"]})
    job = accepted_job(client, users, response)
    assert job["request"]["search_query"] == "Dental clinics companies in Lyon implants"
    (message,) = [json.loads(b) for _, p, b in drain(channel) if p.message_id == job["job_id"]]
    assert message["search_query"] == job["request"]["search_query"]


def test_own_user_id_20_keywords_and_a_255_char_key_are_accepted(client, users: Users) -> None:
    payload = {**VALID, "user_id": users.alice, "keywords": [f"kw{i}" for i in range(20)]}
    assert submit(client, users, payload, **{"Idempotency-Key": "~" * 255}).status_code == 202


def test_a_body_of_exactly_100_kib_is_accepted(client, users: Users) -> None:
    raw = json.dumps(VALID).encode()
    raw = raw[:-1] + b" " * (100 * 1024 - len(raw)) + b"}"
    assert len(raw) == 100 * 1024
    assert submit(client, users, raw).status_code == 202


def test_nesting_of_32_passes_the_json_check(client, users: Users) -> None:
    raw = b'{"x": ' + b"[" * 31 + b"]" * 31 + b"}"  # the object plus 31 arrays: 32 levels
    response = submit(client, users, raw)
    assert response.status_code == 422 and response.json["error"]["code"] == "validation_failed"
