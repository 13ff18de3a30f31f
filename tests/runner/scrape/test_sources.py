"""The four search providers against local servers speaking each one's documented format: request shape,
authentication, paging, and the mapping of 401/403/429/5xx to the runner's retry policy, with the key
never in an error message or a log line."""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from devstack.demo.search import SearchServer
from leadengine.netguard import Guard
from leadengine.settings import Settings
from runner.errors import PermanentJobError, SearchQuotaExhausted, SearchRateLimited, TransientJobError
from runner.policy import Action, decide
from runner.scrape.fetch import Network
from runner.scrape.handler import run_job
from runner.scrape.sources import PROVIDERS, credential_problem, provider_for
from tests.runner.scrape.context import CollectingContext
from tests.runner.scrape.servers import Hit, LocalServer, Responder, google_page, serper_app

KEY = "sk-test-0123456789abcdef-SECRET"
POOL = [(f"https://company{i}.example.com/", f"Company {i} | Sydney SaaS", f"Snippet {i}") for i in range(35)]
PATHS = {
    "serper": "/search",
    "brave": "/res/v1/web/search",
    "serpapi": "/search.json",
    "google_cse": "/customsearch/v1",
}
Answer = tuple[int, dict[str, Any], dict[str, str]]  # status, JSON body, headers


# Each provider's documented error answers (status and body) for a bad key, an exhausted quota and a
# short rate limit. Serper: {"message", "statusCode"}; Brave: ErrorResponse with a code; SerpApi:
# {"error": "<text>"}; Google: its API error with `status`, `errors[].reason` and ErrorInfo `details`.
def _google_error(code: int, status: str, message: str, reason: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [
                {"message": message, "domain": "global", "reason": "rateLimitExceeded" if code == 429 else "badRequest"}
            ],
            "status": status,
            "details": [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com"}
            ],
        }
    }


def _brave_error(status: int, code: str, detail: str, component: str) -> dict[str, Any]:
    return {
        "type": "ErrorResponse",
        "error": {"id": "5d832250-9396-4f6e-b84a-2a1fe524cd7d", "status": status, "code": code, "detail": detail,
                  "meta": {"component": component}},
        "time": 1663072993,
    }  # fmt: skip


ERRORS: dict[str, dict[str, Answer]] = {
    "serper": {
        "bad_key": (403, {"message": "Unauthorized.", "statusCode": 403}, {}),
        "quota": (400, {"message": "Not enough credits", "statusCode": 400}, {}),
        "rate": (429, {"message": "Too many requests", "statusCode": 429}, {}),
    },
    "brave": {
        "bad_key": (422, _brave_error(422, "SUBSCRIPTION_TOKEN_INVALID", "The provided subscription token is invalid.", "authentication"), {}),
        "quota": (429, _brave_error(429, "QUOTA_LIMITED", "Request quota limit exceeded for plan.", "rate_limiter"), {"X-RateLimit-Reset": "1, 1419704"}),
        "rate": (429, _brave_error(429, "RATE_LIMITED", "Request rate limit exceeded for plan.", "rate_limiter"), {"X-RateLimit-Reset": "1, 1419704"}),
    },
    "serpapi": {
        "bad_key": (401, {"error": "Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key"}, {}),
        "quota": (429, {"error": "Your account has run out of searches."}, {}),
        "rate": (429, {"error": "The number of requests exceeds the hourly throughput limit."}, {}),
    },
    "google_cse": {
        "bad_key": (400, _google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", "API_KEY_INVALID"), {}),
        "quota": (429, _google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Queries' and limit 'Queries per day' of service 'customsearch.googleapis.com' for consumer 'project_number:123'.", "RATE_LIMIT_EXCEEDED"), {}),
        "rate": (429, _google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'customsearch.googleapis.com' for consumer 'project_number:123'.", "RATE_LIMIT_EXCEEDED"), {}),
    },
}  # fmt: skip


def provider_app(provider: str, status: int = 200) -> Callable[[Responder, Hit], None]:
    """A server in the provider's documented format over POOL: Serper and SerpApi in Google's short pages
    of 8-9 organic results, Brave up to `count`, the Custom Search API up to `num`."""

    def app(r: Responder, hit: Hit) -> None:
        if status != 200:
            r.json(status, {"error": {"code": status, "message": "error"}})
            return
        q = hit.query
        if provider == "serper":
            body = hit.json()
            start, shown = google_page(POOL, body["page"])
            items = [
                {"title": t, "link": link, "snippet": s, "position": start + i + 1}
                for i, (link, t, s) in enumerate(shown)
            ]
            r.json(
                200, {"searchParameters": {"q": body["q"], "gl": body.get("gl", "us")}, "organic": items, "credits": 1}
            )
        elif provider == "brave":
            num = int(q["count"])
            start = int(q["offset"]) * num  # Brave's offset counts pages
            items = [{"title": t, "url": link, "description": s} for link, t, s in POOL[start : start + num]]
            more = start + num < len(POOL)
            r.json(
                200,
                {
                    "type": "search",
                    "query": {"original": q["q"], "more_results_available": more},
                    "web": {"type": "search", "results": items},
                },
            )
        elif provider == "serpapi":
            page = int(q["start"]) // 10 + 1
            start, shown = google_page(POOL, page)
            items = [
                {"position": start + i + 1, "title": t, "link": link, "snippet": s}
                for i, (link, t, s) in enumerate(shown)
            ]
            more = start + len(shown) < len(POOL)
            pagination = {"current": page, **({"next": "https://serpapi.com/search.json?start=..."} if more else {})}
            r.json(
                200,
                {"search_metadata": {"status": "Success"}, "organic_results": items, "serpapi_pagination": pagination},
            )
        else:
            num, start = int(q["num"]), int(q["start"]) - 1
            items = [
                {"kind": "customsearch#result", "title": t, "link": link, "snippet": s}
                for link, t, s in POOL[start : start + num]
            ]
            queries: dict[str, Any] = {"request": [{"startIndex": start + 1}]}
            if start + num < len(POOL):
                queries["nextPage"] = [{"startIndex": start + num + 1}]
            r.json(200, {"kind": "customsearch#search", "queries": queries, **({"items": items} if items else {})})

    return app


def answering(provider: str, answers: Callable[[int], Answer | None]) -> Callable[[Responder, Hit], None]:
    """The provider's server, except that the n-th request (0-based) gets `answers(n)` when not None."""
    normal = provider_app(provider)
    count = itertools.count()

    def app(r: Responder, hit: Hit) -> None:
        answer = answers(next(count))
        if answer is None:
            normal(r, hit)
        else:
            status, body, headers = answer
            r.send(status, json.dumps(body), "application/json", **headers)

    return app


def settings_for(
    make_settings: Callable[..., Settings], provider: str, server: LocalServer, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "search_provider": provider,
        "search_api_url": f"{server.url}{PATHS[provider]}",
        "search_api_key": KEY,
        "search_engine_id": "cx-123",
        "search_rate_limit_wait_s": 0.0,  # no waiting unless a test is about it
    }
    values.update(overrides)
    return make_settings(**values)


def collect(provider: Any, query: str, wanted: int, country: str | None = None) -> list[Any]:
    results: list[Any] = []
    for page in provider.pages(query, country):
        results.extend(page)
        if len(results) >= wanted:
            break
    return results


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_default_endpoint_is_the_documented_one(make_settings: Callable[..., Settings], name: str) -> None:
    expected = {
        "serper": "https://google.serper.dev/search",
        "brave": "https://api.search.brave.com/res/v1/web/search",
        "serpapi": "https://serpapi.com/search.json",
        "google_cse": "https://www.googleapis.com/customsearch/v1",
    }
    assert provider_for(make_settings(search_provider=name, search_api_key=KEY)).url == expected[name]


def test_serper_posts_json_with_x_api_key(make_settings: Callable[..., Settings]) -> None:
    with LocalServer(provider_app("serper")) as server:
        collect(provider_for(settings_for(make_settings, "serper", server)), "saas sydney", 5)
    hit = server.hits[0]
    assert (hit.method, hit.path) == ("POST", "/search")
    assert hit.headers["x-api-key"] == KEY
    assert hit.headers["content-type"] == "application/json"
    assert hit.json() == {"q": "saas sydney", "num": 10, "page": 1}


def test_brave_gets_with_subscription_token(make_settings: Callable[..., Settings]) -> None:
    with LocalServer(provider_app("brave")) as server:
        collect(provider_for(settings_for(make_settings, "brave", server)), "saas sydney", 5)
    hit = server.hits[0]
    assert (hit.method, hit.path) == ("GET", "/res/v1/web/search")
    assert hit.headers["x-subscription-token"] == KEY
    assert hit.headers["accept"] == "application/json"
    assert hit.query == {"q": "saas sydney", "count": "20", "offset": "0", "text_decorations": "false"}


def test_serpapi_gets_with_api_key_parameter(make_settings: Callable[..., Settings]) -> None:
    with LocalServer(provider_app("serpapi")) as server:
        collect(provider_for(settings_for(make_settings, "serpapi", server)), "saas sydney", 5)
    hit = server.hits[0]
    assert (hit.method, hit.path) == ("GET", "/search.json")
    assert hit.query == {"engine": "google", "q": "saas sydney", "num": "10", "start": "0", "api_key": KEY}


def test_google_cse_gets_with_key_and_cx(make_settings: Callable[..., Settings]) -> None:
    with LocalServer(provider_app("google_cse")) as server:
        collect(provider_for(settings_for(make_settings, "google_cse", server)), "saas sydney", 5)
    hit = server.hits[0]
    assert (hit.method, hit.path) == ("GET", "/customsearch/v1")
    assert hit.query == {"key": KEY, "cx": "cx-123", "q": "saas sydney", "num": "10", "start": "1"}


PAGING: dict[str, tuple[list[object], Callable[[Hit], object]]] = {
    # provider: (the page parameter of each request while collecting 25 results, how it is read)
    "serper": ([1, 2, 3], lambda h: h.json()["page"]),
    "brave": (["0", "1"], lambda h: h.query["offset"]),
    "serpapi": (["0", "10", "20"], lambda h: h.query["start"]),
    "google_cse": (["1", "11", "21"], lambda h: h.query["start"]),
}


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_pages_only_as_deep_as_needed_in_rank_order(make_settings: Callable[..., Settings], name: str) -> None:
    with LocalServer(provider_app(name)) as server:
        results = collect(provider_for(settings_for(make_settings, name, server)), "q", 25)
    expected_pages, read = PAGING[name]
    assert [read(hit) for hit in server.hits] == expected_pages
    assert [r.link for r in results] == [link for link, _, _ in POOL[: len(results)]]
    assert [r.position for r in results] == list(range(1, len(results) + 1))
    assert results[0].title == "Company 0 | Sydney SaaS" and results[0].snippet == "Snippet 0"


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_paging_stops_when_the_api_has_no_more(make_settings: Callable[..., Settings], name: str) -> None:
    with LocalServer(provider_app(name)) as server:
        results = collect(provider_for(settings_for(make_settings, name, server)), "q", 500)
    assert [r.link for r in results] == [link for link, _, _ in POOL]
    # Google's short pages of 9 and 8 are no reason to stop: Serper pages on to its first empty page (6),
    # SerpApi to the page without `next` (5); Brave and the Custom Search API stop where flagged (2, 4).
    assert len(server.hits) == {"serper": 6, "serpapi": 5, "brave": 2, "google_cse": 4}[name]


@pytest.mark.parametrize("name", sorted(PROVIDERS))
@pytest.mark.parametrize("status", [401, 403])
def test_rejected_credentials_fail_permanently_naming_the_setting(
    make_settings: Callable[..., Settings],
    name: str,
    status: int,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    with LocalServer(provider_app(name, status)) as server, pytest.raises(PermanentJobError) as caught:
        collect(provider_for(settings_for(make_settings, name, server)), "q", 5)
    assert caught.value.code == "search_auth_failed"
    assert "SEARCH_API_KEY" in caught.value.message and f"HTTP {status}" in caught.value.message
    if name == "google_cse":
        assert "SEARCH_ENGINE_ID" in caught.value.message
    _assert_key_nowhere(caught.value, caplog, capsys)


@pytest.mark.parametrize("name", sorted(PROVIDERS))
@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_rate_limits_and_server_errors_are_transient_when_not_waited_for(
    make_settings: Callable[..., Settings],
    name: str,
    status: int,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    with LocalServer(provider_app(name, status)) as server, pytest.raises(TransientJobError) as caught:
        collect(provider_for(settings_for(make_settings, name, server)), "q", 5)
    assert caught.value.code == ("search_rate_limited" if status == 429 else "search_unavailable")
    assert f"HTTP {status}" in caught.value.message
    _assert_key_nowhere(caught.value, caplog, capsys)


@pytest.mark.parametrize("name", ["serpapi", "google_cse"])  # the two that carry the key in the URL
def test_unreachable_provider_is_transient_without_the_key(
    make_settings: Callable[..., Settings],
    name: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    server = LocalServer(provider_app(name))
    server.close()  # nothing listens on its port any more
    settings = settings_for(make_settings, name, server)
    with pytest.raises(TransientJobError) as caught:
        collect(provider_for(settings), "q", 5)
    assert caught.value.code == "search_unavailable"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    _assert_key_nowhere(caught.value, caplog, capsys)


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        # A full page, but the API says it was the last one.
        ("brave", {"web": {"results": [{"title": "T", "url": f"https://c{i}.example/", "description": ""} for i in range(20)]},
                   "query": {"more_results_available": False}}),
        ("google_cse", {"items": [{"title": "T", "link": f"https://c{i}.example/", "snippet": ""} for i in range(10)],
                        "queries": {"request": [{}]}}),
        ("serpapi", {"organic_results": [{"title": "T", "link": f"https://c{i}.example/", "snippet": ""} for i in range(10)],
                     "serpapi_pagination": {"current": 1}}),
    ],
)  # fmt: skip
def test_paging_stops_where_the_api_says_there_is_no_next_page(
    make_settings: Callable[..., Settings], name: str, answer: dict[str, Any]
) -> None:
    with LocalServer(lambda r, hit: r.json(200, answer)) as server:
        results = collect(provider_for(settings_for(make_settings, name, server)), "q", 500)
    assert len(server.hits) == 1 and len(results) == len(
        answer.get("items") or answer.get("organic_results") or answer["web"]["results"]
    )


def test_a_non_json_answer_is_transient(make_settings: Callable[..., Settings]) -> None:
    with (
        LocalServer(lambda r, hit: r.send(200, "<html>proxy error</html>")) as server,
        pytest.raises(TransientJobError),
    ):
        collect(provider_for(settings_for(make_settings, "serper", server)), "q", 5)


def test_other_client_errors_are_permanent(make_settings: Callable[..., Settings]) -> None:
    with LocalServer(provider_app("google_cse", 400)) as server, pytest.raises(PermanentJobError) as caught:
        collect(provider_for(settings_for(make_settings, "google_cse", server)), "q", 5)
    assert caught.value.code == "search_rejected" and "SEARCH_ENGINE_ID" in caught.value.message


def test_missing_key_is_named_whatever_the_endpoint(make_settings: Callable[..., Settings]) -> None:
    problem = credential_problem(make_settings(search_provider="brave"))
    assert problem is not None and problem.startswith("SEARCH_API_KEY is not set") and "brave" in problem
    cse = credential_problem(make_settings(search_provider="google_cse", search_api_key=KEY))
    assert cse is not None and cse.startswith("SEARCH_ENGINE_ID is not set")
    # A loopback endpoint is no excuse: the demo and the tests pass a key like anyone else.
    assert (
        credential_problem(make_settings(search_api_url="http://127.0.0.1:9/search", search_api_key=None)) is not None
    )
    assert (
        credential_problem(make_settings(search_api_url="https://proxy.example.com/search", search_api_key=None))
        is not None
    )
    assert credential_problem(make_settings(search_api_key=KEY)) is None


def _assert_key_nowhere(error: Exception, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    captured = capsys.readouterr()
    for text in (str(error), repr(error), caplog.text, captured.out, captured.err):
        assert KEY not in text


def test_serper_pages_past_short_pages_up_to_its_ten_pages(make_settings: Callable[..., Settings]) -> None:
    many = [(f"https://firm{i}.example.com/", f"Firm {i}", "") for i in range(200)]
    with LocalServer(serper_app(many)) as server:
        results = collect(provider_for(settings_for(make_settings, "serper", server)), "q", 500)
    assert [hit.json()["page"] for hit in server.hits] == list(range(1, 11))  # never an 11th page
    assert len(results) == 85 and [r.link for r in results] == [link for link, _, _ in many[:85]]


COUNTRY_HINT = {
    # provider: how the fake received the hint
    "serper": lambda hit: hit.json().get("gl"),
    "brave": lambda hit: hit.query.get("country"),
    "serpapi": lambda hit: hit.query.get("gl"),
    "google_cse": lambda hit: hit.query.get("gl"),
}


@pytest.mark.parametrize("name", sorted(PROVIDERS))
@pytest.mark.parametrize(
    ("country", "expected"),
    [
        ("AU", {"serper": "au", "brave": "AU", "serpapi": "au", "google_cse": "au"}),
        # Google's country list spells the United Kingdom "uk"; Brave's list has GB.
        ("GB", {"serper": "uk", "brave": "GB", "serpapi": "uk", "google_cse": "uk"}),
        # Ireland is not on Brave's documented list: Brave gets no country rather than a 422.
        ("IE", {"serper": "ie", "brave": None, "serpapi": "ie", "google_cse": "ie"}),
        (None, {"serper": None, "brave": None, "serpapi": None, "google_cse": None}),
    ],
)
def test_each_provider_is_given_the_jobs_country(
    make_settings: Callable[..., Settings], name: str, country: str | None, expected: dict[str, str | None]
) -> None:
    with LocalServer(provider_app(name)) as server:
        collect(provider_for(settings_for(make_settings, name, server)), "saas", 25, country)
    assert len(server.hits) > 1
    assert {COUNTRY_HINT[name](hit) for hit in server.hits} == {expected[name]}


def test_a_jobs_geography_reaches_the_search_as_its_country(make_settings: Callable[..., Settings]) -> None:
    with LocalServer(serper_app(POOL[:3], linkedin=[])) as search:
        settings = make_settings(search_api_url=f"{search.url}/search", scrape_allow_private_networks=True)
        ctx = CollectingContext(
            settings, geography="London, United Kingdom", source_types=["google", "linkedin"],
            search_query="roofers in my area", max_leads=1,
        )  # fmt: skip
        # The sites cannot be reached (port 9): the test is about the search requests.
        offline = Guard(allow_private=True, resolver=lambda host: ["93.184.215.14"])
        run_job(ctx, Network(offline, route=lambda address, port: ("127.0.0.1", 9)))
    assert [(hit.json()["q"], hit.json()["gl"]) for hit in search.hits] == [
        ("roofers in my area", "uk"),
        ("site:linkedin.com/company roofers in my area", "uk"),
    ]


def test_the_demo_search_answers_short_pages_and_receives_the_country(make_settings: Callable[..., Settings]) -> None:
    results = [(f"https://demo{i}.example/", f"Demo {i}", "") for i in range(30)]
    server = SearchServer(results).start()
    try:
        settings = make_settings(search_api_url=server.url)
        found = collect(provider_for(settings), "saas", 500, "AU")
    finally:
        server.stop()
    assert [r.link for r in found] == [link for link, _, _ in results]
    assert [(req["page"], req["gl"], req["organic"]) for req in server.requests] == [
        (1, "au", 9), (2, "au", 8), (3, "au", 9), (4, "au", 4), (5, "au", 0),
    ]  # fmt: skip


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_exhausted_quota_fails_the_job_at_once_with_its_own_code(
    make_settings: Callable[..., Settings],
    name: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    quota = ERRORS[name]["quota"]
    # Even with time to wait, an exhausted quota is not waited for: it would fail the same way every time.
    with LocalServer(answering(name, lambda n: quota)) as server, pytest.raises(SearchQuotaExhausted) as caught:
        collect(provider_for(settings_for(make_settings, name, server, search_rate_limit_wait_s=10)), "q", 5)
    assert len(server.hits) == 1
    assert caught.value.code == "search_quota_exhausted" and "no searches left" in caught.value.message
    decision = decide(caught.value, attempts_used=1, max_attempts=3)
    assert (decision.action, decision.code) == (Action.FAIL, "search_quota_exhausted")
    _assert_key_nowhere(caught.value, caplog, capsys)


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_a_bad_key_is_blamed_on_search_api_key(
    make_settings: Callable[..., Settings],
    name: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    bad_key = ERRORS[name]["bad_key"]
    with LocalServer(answering(name, lambda n: bad_key)) as server, pytest.raises(PermanentJobError) as caught:
        collect(provider_for(settings_for(make_settings, name, server)), "q", 5)
    assert caught.value.code == "search_auth_failed"
    assert "check SEARCH_API_KEY" in caught.value.message
    assert "SEARCH_API_URL" not in caught.value.message and "SEARCH_ENGINE_ID" not in caught.value.message
    _assert_key_nowhere(caught.value, caplog, capsys)


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_a_short_rate_limit_is_waited_out_within_the_call(make_settings: Callable[..., Settings], name: str) -> None:
    status, body, headers = ERRORS[name]["rate"]
    limited: Answer = (status, body, {**headers, "Retry-After": "1"})
    # The second request (the second page) is rate limited once.
    with LocalServer(answering(name, lambda n: limited if n == 1 else None)) as server:
        results = collect(provider_for(settings_for(make_settings, name, server, search_rate_limit_wait_s=5)), "q", 25)
    assert [r.link for r in results] == [link for link, _, _ in POOL[: len(results)]] and len(results) >= 25
    pages = [PAGING[name][1](hit) for hit in server.hits]
    assert pages[:3] == [PAGING[name][0][0], PAGING[name][0][1], PAGING[name][0][1]]  # page 2 again, not page 1
    assert server.hits[2].at - server.hits[1].at >= 0.95  # Retry-After, as the server saw it


@pytest.mark.parametrize("name", ["serper", "brave"])
def test_a_rate_limit_in_the_middle_of_paging_keeps_the_pages_found(
    make_settings: Callable[..., Settings], name: str
) -> None:
    status, body, headers = ERRORS[name]["rate"]
    limited: Answer = (status, body, {**headers, "Retry-After": "0.2"})
    with LocalServer(answering(name, lambda n: limited if n >= 1 else None)) as server:
        results = collect(provider_for(settings_for(make_settings, name, server, search_rate_limit_wait_s=5)), "q", 500)
    first_page = 9 if name == "serper" else 20
    assert [r.link for r in results] == [link for link, _, _ in POOL[:first_page]]
    pages = [PAGING[name][1](hit) for hit in server.hits]
    assert pages.count(PAGING[name][0][0]) == 1  # the search never starts over
    assert len(server.hits) == 4  # page 1, then page 2 three times (two waits), then it stops


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_a_rate_limit_longer_than_the_wait_budget_fails_the_attempt_at_once(
    make_settings: Callable[..., Settings], name: str
) -> None:
    status, body, headers = ERRORS[name]["rate"]
    long_limit: Answer = (status, body, {**headers, "Retry-After": "3600"})
    started = time.monotonic()
    with LocalServer(answering(name, lambda n: long_limit)) as server, pytest.raises(SearchRateLimited) as caught:
        collect(provider_for(settings_for(make_settings, name, server, search_rate_limit_wait_s=5)), "q", 5)
    assert time.monotonic() - started < 2 and len(server.hits) == 1
    assert caught.value.code == "search_rate_limited" and isinstance(caught.value, TransientJobError)
    assert decide(caught.value, attempts_used=1, max_attempts=3).action == Action.RETRY


def test_a_quota_that_runs_out_at_the_linkedin_search_keeps_the_website_search(
    make_settings: Callable[..., Settings],
) -> None:
    firms = [(f"https://firm{i}.com.au/", f"Firm {i}", "") for i in range(3)]
    websites = serper_app(firms)

    def app(r: Responder, hit: Hit) -> None:
        if "site:linkedin.com" in hit.json()["q"]:
            r.json(400, {"message": "Not enough credits", "statusCode": 400})
        else:
            websites(r, hit)

    with LocalServer(app) as search:
        settings = make_settings(search_api_url=f"{search.url}/search", scrape_allow_private_networks=True)
        ctx = CollectingContext(settings, source_types=["google", "linkedin"], max_leads=3)
        offline = Guard(allow_private=True, resolver=lambda host: ["93.184.215.14"])
        leads = run_job(ctx, Network(offline, route=lambda address, port: ("127.0.0.1", 9)))
    assert sorted(lead.website or "" for lead in leads) == [link for link, _, _ in firms]
    assert [hit.json()["page"] for hit in search.hits] == [1, 1]  # nothing searched twice


def test_a_quota_exhausted_at_the_first_search_fails_the_job(make_settings: Callable[..., Settings]) -> None:
    with LocalServer(lambda r, hit: r.json(400, {"message": "Not enough credits", "statusCode": 400})) as search:
        settings = make_settings(search_api_url=f"{search.url}/search")
        with pytest.raises(SearchQuotaExhausted):
            run_job(
                CollectingContext(settings, source_types=["google", "linkedin"]), Network(Guard(allow_private=True))
            )
    assert len(search.hits) == 1


@pytest.mark.parametrize(
    ("reason", "raised", "code"),
    [
        ("dailyLimitExceeded", SearchQuotaExhausted, "search_quota_exhausted"),
        ("userRateLimitExceeded", SearchRateLimited, "search_rate_limited"),
        ("forbidden", PermanentJobError, "search_auth_failed"),
    ],
)
def test_google_403_reasons_tell_quota_rate_limit_and_credentials_apart(
    make_settings: Callable[..., Settings], reason: str, raised: type[Exception], code: str
) -> None:
    message = {"dailyLimitExceeded": "Daily Limit Exceeded", "userRateLimitExceeded": "User Rate Limit Exceeded"}
    body = {"error": {"code": 403, "message": message.get(reason, "Forbidden"),
                      "errors": [{"domain": "usageLimits", "reason": reason, "message": "x"}]}}  # fmt: skip
    with LocalServer(lambda r, hit: r.json(403, body)) as server, pytest.raises(raised) as caught:
        collect(provider_for(settings_for(make_settings, "google_cse", server)), "q", 5)
    assert getattr(caught.value, "code", None) == code
