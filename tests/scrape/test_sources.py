"""The four search providers against local servers speaking each one's documented format: request shape,
authentication, paging, and the mapping of 401/403/429/5xx to the runner's retry policy, with the key
never in an error message or a log line."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from leadengine.settings import Settings
from runner.errors import PermanentJobError, TransientJobError
from runner.scrape.sources import PROVIDERS, credential_problem, provider_for
from tests.scrape.servers import Hit, LocalServer, Responder

KEY = "sk-test-0123456789abcdef-SECRET"
POOL = [(f"https://company{i}.example.com/", f"Company {i} | Sydney SaaS", f"Snippet {i}") for i in range(35)]
PATHS = {
    "serper": "/search",
    "brave": "/res/v1/web/search",
    "serpapi": "/search.json",
    "google_cse": "/customsearch/v1",
}


def provider_app(provider: str, status: int = 200) -> Callable[[Responder, Hit], None]:
    """A server in the provider's documented format over POOL."""

    def app(r: Responder, hit: Hit) -> None:
        if status != 200:
            r.json(status, {"error": {"code": status, "message": "error"}})
            return
        q = hit.query
        if provider == "serper":
            body = hit.json()
            num, start = body["num"], (body["page"] - 1) * body["num"]
            items = [
                {"title": t, "link": link, "snippet": s, "position": start + i + 1}
                for i, (link, t, s) in enumerate(POOL[start : start + num])
            ]
            r.json(200, {"searchParameters": {"q": body["q"]}, "organic": items})
        elif provider == "brave":
            num = int(q["count"])
            start = int(q["offset"]) * num  # Brave's offset counts pages
            items = [{"title": t, "url": link, "description": s} for link, t, s in POOL[start : start + num]]
            more = start + num < len(POOL)
            r.json(
                200,
                {
                    "type": "search",
                    "query": {"more_results_available": more},
                    "web": {"type": "search", "results": items},
                },
            )
        elif provider == "serpapi":
            num, start = int(q.get("num", 10)), int(q["start"])
            items = [
                {"position": start + i + 1, "title": t, "link": link, "snippet": s}
                for i, (link, t, s) in enumerate(POOL[start : start + num])
            ]
            pagination = {
                "current": start // 10 + 1,
                **({"next": "https://serpapi.com/search.json?start=..."} if start + num < len(POOL) else {}),
            }
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


def settings_for(make_settings: Callable[..., Settings], provider: str, server: LocalServer) -> Settings:
    return make_settings(
        search_provider=provider,
        search_api_url=f"{server.url}{PATHS[provider]}",
        search_api_key=KEY,
        search_engine_id="cx-123",
    )


def collect(provider: Any, query: str, wanted: int) -> list[Any]:
    results: list[Any] = []
    for page in provider.pages(query):
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
    assert hit.query == {"q": "saas sydney", "count": "20", "offset": "0"}


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


PAGING = {
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
    assert len(server.hits) == (2 if name == "brave" else 4)  # the last page (short, or flagged last) ends it


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
def test_rate_limits_and_server_errors_are_transient(
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


def test_missing_key_is_named_unless_the_endpoint_is_local(make_settings: Callable[..., Settings]) -> None:
    problem = credential_problem(make_settings(search_provider="brave"))
    assert problem is not None and problem.startswith("SEARCH_API_KEY is not set") and "brave" in problem
    cse = credential_problem(make_settings(search_provider="google_cse", search_api_key=KEY))
    assert cse is not None and cse.startswith("SEARCH_ENGINE_ID is not set")
    assert credential_problem(make_settings(search_api_url="http://127.0.0.1:9/search")) is None
    assert credential_problem(make_settings(search_api_url="https://proxy.example.com/search")) is not None
    assert credential_problem(make_settings(search_api_key=KEY)) is None


def _assert_key_nowhere(error: Exception, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    captured = capsys.readouterr()
    for text in (str(error), repr(error), caplog.text, captured.out, captured.err):
        assert KEY not in text
