"""GET /api/v1/jobs/<id>/leads/export: every lead once, as CSV a spreadsheet opens safely (BOM, fixed header,
RFC 4180 quoting, `; `-joined lists, formula cells guarded) or as JSONL equal to the JSON API's leads; streamed,
at any status, and with the function's memory flat however many leads the job has."""

from __future__ import annotations

import codecs
import csv
import io
import json
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from leadengine.schemas import Lead, lead_id_for
from leadengine.settings import load_settings
from leadengine.store import JobStore
from tests.enqueue.conftest import VALID, Users
from tests.support import services
from tests.support.jobs import force

HEADER = "lead_id,company_name,website,domain,emails,phones,linkedin_url,description,sources,source_urls,found_at"
COLUMNS = HEADER.split(",")
FOUND = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)


def new_job(client: Any, users: Users, user: str | None = None) -> str:
    response = client.post("/api/v1/jobs/scrape", json=VALID, headers=users.auth(user or users.alice))
    assert response.status_code == 202
    return str(response.json["job_id"])


def leads(job_id: str, count: int, start: int = 0) -> list[Lead]:
    """Leads shaped like the scraper's: some with lists of several values, some with nulls, text with commas,
    quotes, line breaks and non-ASCII letters."""
    made = []
    for i in range(start, start + count):
        domain = f"firma-{i}.example"
        made.append(Lead(
            lead_id=lead_id_for(job_id, domain), company_name=f"Müller & Söhne, Nr. {i}", website=f"https://{domain}/",
            domain=domain, emails=[f"info@{domain}", f"sales@{domain}"][: 1 + i % 2], phones=[f"+61 2 9000 {i:04d}"],
            linkedin_url=f"https://www.linkedin.com/company/firma-{i}" if i % 3 else None,
            description=None if i % 4 == 0 else f'We "build" things,\nsince {1900 + i % 100}.',
            sources=["google", "linkedin"] if i % 3 else ["google"], source_urls=[f"https://{domain}/about"],
            found_at=FOUND,
        ))  # fmt: skip
    return made


def api_leads(client: Any, users: Users, job_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    url = f"/api/v1/jobs/{job_id}/leads?limit=200"
    while True:
        page = client.get(url, headers=users.auth(users.alice)).json
        found += page["leads"]
        if page["next_page_token"] is None:
            return found
        url = f"/api/v1/jobs/{job_id}/leads?limit=200&page_token={page['next_page_token']}"


def expected_cell(value: Any) -> str:
    text = "" if value is None else "; ".join(value) if isinstance(value, list) else str(value)
    return "'" + text if text[:1] in {"=", "+", "-", "@"} else text


def test_csv_export_is_the_json_apis_leads_with_bom_header_and_quoting(client, users: Users, job_store: JobStore):
    job_id = new_job(client, users)
    job_store.write_leads(job_id, leads(job_id, 300))
    response = client.get(f"/api/v1/jobs/{job_id}/leads/export?format=csv", headers=users.auth(users.alice))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="leads-{job_id}.csv"'
    body = response.get_data()
    assert body.startswith(codecs.BOM_UTF8 + HEADER.encode() + b"\r\n")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0] == COLUMNS
    expected = [[expected_cell(lead[column]) for column in COLUMNS] for lead in api_leads(client, users, job_id)]
    assert len(expected) == 300 and rows[1:] == expected
    # RFC 4180 as the csv module writes it: a field with a quote, comma or line break is quoted, quotes doubled.
    assert b'"We ""build"" things,\nsince 1901."' in body and b'"M\xc3\xbcller & S\xc3\xb6hne, Nr. 1"' in body
    assert b"info@firma-1.example; sales@firma-1.example" in body and b"2026-03-04T05:06:07.890000Z" in body


def test_jsonl_export_is_one_lead_a_line_exactly_as_the_json_api(client, users: Users, job_store: JobStore):
    job_id = new_job(client, users)
    job_store.write_leads(job_id, leads(job_id, 250))
    response = client.get(f"/api/v1/jobs/{job_id}/leads/export?format=jsonl", headers=users.auth(users.alice))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-ndjson"
    assert response.headers["Content-Disposition"] == f'attachment; filename="leads-{job_id}.jsonl"'
    lines = response.get_data().decode().splitlines()
    assert [json.loads(line) for line in lines] == api_leads(client, users, job_id) and len(lines) == 250
    # Byte for byte as the JSON API writes a lead.
    page = client.get(f"/api/v1/jobs/{job_id}/leads?limit=1", headers=users.auth(users.alice)).get_data()
    assert lines[0].encode() == page[len(b'{"leads":[') : page.index(b'],"next_page_token"')]


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_guarded(client, users: Users, job_store: JobStore):
    job_id = new_job(client, users)
    hostile = [
        ("=HYPERLINK(\"http://evil.example\",\"x\")", "'=HYPERLINK(\"http://evil.example\",\"x\")"),
        ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("Plain = fine", "Plain = fine"),
    ]  # fmt: skip
    made = [lead.model_copy(update={"company_name": name, "lead_id": lead_id_for(job_id, name)})
            for lead, (name, _) in zip(leads(job_id, len(hostile)), hostile, strict=True)]  # fmt: skip
    job_store.write_leads(job_id, made)
    body = client.get(f"/api/v1/jobs/{job_id}/leads/export", headers=users.auth(users.alice)).get_data()
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert sorted(row["company_name"] for row in rows) == sorted(guarded for _, guarded in hostile)
    assert {row["phones"][:2] for row in rows} == {"'+"}  # E.164 numbers start with +: guarded too
    jsonl = client.get(f"/api/v1/jobs/{job_id}/leads/export?format=jsonl", headers=users.auth(users.alice))
    assert sorted(json.loads(line)["company_name"] for line in jsonl.get_data().decode().splitlines()) == sorted(
        name for name, _ in hostile
    )  # JSONL carries the names unchanged


def test_a_running_job_exports_what_it_has_so_far_and_an_empty_one_just_the_header(client, users, job_store):
    job_id = new_job(client, users)
    empty = client.get(f"/api/v1/jobs/{job_id}/leads/export", headers=users.auth(users.alice))
    assert (empty.status_code, empty.get_data()) == (200, codecs.BOM_UTF8 + HEADER.encode() + b"\r\n")
    nothing = client.get(f"/api/v1/jobs/{job_id}/leads/export?format=jsonl", headers=users.auth(users.alice))
    assert (nothing.status_code, nothing.get_data()) == (200, b"")
    force(job_store, job_id, status="running")
    job_store.write_leads(job_id, leads(job_id, 3))
    running = client.get(f"/api/v1/jobs/{job_id}/leads/export?format=jsonl", headers=users.auth(users.alice))
    assert running.status_code == 200 and len(running.get_data().splitlines()) == 3
    job_store.write_leads(job_id, leads(job_id, 2, start=3))
    later = client.get(f"/api/v1/jobs/{job_id}/leads/export?format=jsonl", headers=users.auth(users.alice))
    assert len(later.get_data().splitlines()) == 5


def test_bad_format_is_400_before_ownership_and_another_users_job_is_404(client, users: Users) -> None:
    job_id = new_job(client, users)
    mine = users.auth(users.alice)
    for query in ("format=xml", "format=CSV", "format=", "format=csv&format=jsonl"):
        for who in (users.alice, users.bob):  # the parameter is checked before whose job it is
            response = client.get(f"/api/v1/jobs/{job_id}/leads/export?{query}", headers=users.auth(who))
            assert (response.status_code, response.json["error"]["code"]) == (400, "malformed_parameter"), query
    for path in (f"/api/v1/jobs/{job_id}/leads/export", "/api/v1/jobs/00000000-0000-4000-8000-000000000000/leads/export",
                 "/api/v1/jobs/not-a-uuid/leads/export?format=jsonl"):  # fmt: skip
        other = client.get(path, headers=users.auth(users.bob) if job_id in path else mine)
        assert (other.status_code, other.json["error"]["code"]) == (404, "job_not_found"), path
    no_key = client.get(f"/api/v1/jobs/{job_id}/leads/export?format=xml")
    assert (no_key.status_code, no_key.json["error"]["code"]) == (401, "unauthorized")
    post = client.post(f"/api/v1/jobs/{job_id}/leads/export", headers=mine)
    assert (post.status_code, post.json["error"]["code"]) == (405, "method_not_allowed")


# --- streaming and memory, on the function running as a server ---------------------------------------------


def _worker_pid(server_pid: int) -> int:
    """The gunicorn worker that serves requests: the functions-framework process's child."""
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def _reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM (the peak RSS) to the current RSS


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def _export_peak_kib(url: str, headers: dict[str, str], job_id: str, pid: int, fmt: str) -> tuple[int, int, bool]:
    """(peak RSS growth while exporting, bytes received, whether it came chunked)."""
    _reset_peak(pid)
    before = _kib(pid, "VmRSS")
    received = 0
    with httpx.stream("GET", f"{url}/api/v1/jobs/{job_id}/leads/export?format={fmt}", headers=headers,
                      timeout=120) as response:  # fmt: skip
        assert response.status_code == 200
        chunked = response.headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in response.headers
        for chunk in response.iter_bytes():
            received += len(chunk)
    return _kib(pid, "VmHWM") - before, received, chunked


def test_exporting_5000_leads_takes_no_more_memory_than_exporting_50(server, users: Users, job_store: JobStore):
    process, url = server
    headers = users.auth(users.alice)
    small, warm, large = (httpx.post(f"{url}/api/v1/jobs/scrape", json=VALID, headers=headers).json()["job_id"]
                          for _ in range(3))  # fmt: skip
    patient = JobStore(load_settings(firestore_timeout_s=60))  # the emulator takes seconds for 5,000 writes
    patient.write_leads(small, leads(small, 50))
    patient.write_leads(warm, leads(warm, 450))
    for start in range(0, 5000, 250):
        patient.write_leads(large, leads(large, 250, start))
    pid = _worker_pid(process.pid)
    for fmt in ("csv", "jsonl"):
        # Warm up: imports, the Firestore channel and its buffers, allocator pools (a few pages' worth of leads).
        for job_id in (small, warm, small):
            _export_peak_kib(url, headers, job_id, pid, fmt)
        small_peak, small_bytes, _ = _export_peak_kib(url, headers, small, pid, fmt)
        large_peak, large_bytes, chunked = _export_peak_kib(url, headers, large, pid, fmt)
        assert chunked and large_bytes > 80 * small_bytes > 0
        # Holding 5,000 leads at once (their documents, models, views and the output) costs over 4 MiB more; streamed,
        # the peak stays within a few MiB of the 50-lead export's.
        assert large_peak - small_peak < 3 * 1024, (fmt, small_peak, large_peak, large_bytes)
        print(f"{fmt}: peak RSS growth {small_peak} KiB for 50 leads, {large_peak} KiB for 5000 ({large_bytes} bytes)")


# --- Firestore away ------------------------------------------------------------------------------------------


@pytest.fixture
def paused_emulator(log_dir: Path) -> Iterator[services.Emulator]:
    """A Firestore emulator of this test alone; the test freezes it (SIGSTOP) to make Firestore unresponsive."""
    emulator = services.Emulator(log_dir)
    yield emulator
    emulator.process.signal(signal.SIGCONT)
    emulator.stop()


def test_firestore_away_is_503_at_the_start_and_a_cut_download_mid_stream(
    function_env, function_factory, users: Users, paused_emulator: services.Emulator, monkeypatch
) -> None:
    _, url = function_factory(function_env, FIRESTORE_EMULATOR_HOST=paused_emulator.host, FIRESTORE_TIMEOUT_S="1")
    headers = users.auth(users.alice)
    job_id = httpx.post(f"{url}/api/v1/jobs/scrape", json=VALID, headers=headers, timeout=30).json()["job_id"]
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", paused_emulator.host)
    store = JobStore(load_settings(firestore_timeout_s=60))
    for start in range(0, 3000, 250):
        store.write_leads(job_id, leads(job_id, 250, start))
    export = f"{url}/api/v1/jobs/{job_id}/leads/export"
    # Mid-stream: the first page was read before the 200; Firestore freezes right after it. The download must end
    # as an incomplete transfer, never as a file that looks whole.
    received = b""
    with pytest.raises(httpx.RemoteProtocolError), httpx.stream("GET", export, headers=headers, timeout=60) as stream:
        assert stream.status_code == 200
        paused_emulator.process.signal(signal.SIGSTOP)
        for chunk in stream.iter_bytes():
            received += chunk
    assert 0 < received.count(b"\r\n") - 1 < 3000
    # At the start: the listing and the export answer 503 with Retry-After.
    for path in ("/api/v1/jobs", f"/api/v1/jobs/{job_id}/leads/export?format=jsonl"):
        answer = httpx.get(f"{url}{path}", headers=headers, timeout=30)
        assert (answer.status_code, answer.json()["error"]["code"]) == (503, "service_unavailable"), path
        assert int(answer.headers["Retry-After"]) > 0
