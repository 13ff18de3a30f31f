"""Webhooks without services: the delivery recorded by every final transition (leadengine/jobs.py), the claim and
outcome decisions with their retry schedule and lease, secrets and signatures, the §3 rules of webhook_url, and
one attempt against receivers on 127.0.0.1 (slow, endless, redirecting, refused by the guard)."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import importlib.util
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pydantic
import pytest

from leadengine import webhooks
from leadengine.jobs import Change, Claim, Job, JobRequest, new_job, utcnow
from leadengine.schemas import JobStatus, ScrapeRequest, WebhookRules
from leadengine.views import job_view

DELAYS = (10, 60)
URL = "https://hooks.example.com/leadengine"
ROOT = Path(__file__).resolve().parents[2]
NOW = utcnow()


def _job(url: str | None = URL) -> Job:
    request = JobRequest(industry="SaaS", geography="Sydney", webhook_url=url)
    return new_job("0b6f0ef6-1c1c-4c11-9f5e-6d1c5f2a9a01", "user-1", request, NOW)


def _running(job: Job) -> tuple[Job, Claim]:
    return job.claimed("runner-1", NOW, 60)


def _apply(change: Change[webhooks.Ticket | None]) -> Job:
    assert change.job is not None
    return change.job


# --- the delivery is recorded with the final status ---------------------------------------------------------


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_settling_an_attempt_with_a_final_status_records_a_pending_delivery_due_now(status: JobStatus) -> None:
    running, claim = _running(_job())
    assert running.webhook is None and running.webhook_due_at is None
    later = NOW + timedelta(seconds=5)
    finished = running.settled(claim, later, status.value, status=status)
    assert finished.webhook is not None
    assert (finished.webhook.state, finished.webhook.attempts, finished.webhook.url) == ("pending", 0, URL)
    assert finished.webhook.next_attempt_at == later == finished.webhook_due_at
    assert len(finished.webhook.delivery_id) == 36


def test_closing_and_cancelling_a_queued_job_record_the_delivery_too() -> None:
    closed = _job().closed(JobStatus.FAILED, NOW, "runner-1", "failed", None)
    cancelled = _job().cancel_requested_by_user(NOW)
    for job in (closed, cancelled):
        assert job.webhook is not None and job.webhook.state == "pending" and job.webhook_due_at == NOW


def test_a_retry_a_running_cancel_or_a_job_without_webhook_url_records_no_delivery() -> None:
    running, claim = _running(_job())
    assert running.settled(claim, NOW, "retry", retry_at=NOW + timedelta(seconds=10)).webhook is None
    assert running.cancel_requested_by_user(NOW).webhook is None  # cancelled later, at its next checkpoint
    plain, plain_claim = _running(_job(url=None))
    assert plain.settled(plain_claim, NOW, "succeeded", status=JobStatus.SUCCEEDED).webhook is None


def test_a_job_finishing_again_after_a_replay_keeps_its_delivery_id() -> None:
    first = _job().cancel_requested_by_user(NOW)
    assert first.webhook is not None
    again = first.replayed("operator", NOW).cancel_requested_by_user(NOW)
    assert again.webhook is not None and again.webhook.delivery_id == first.webhook.delivery_id


def test_a_replayed_job_sends_nothing_until_it_finishes_again() -> None:
    pending = _job().cancel_requested_by_user(NOW)
    replayed = pending.replayed("operator", NOW)
    assert replayed.webhook_due_at is None
    assert webhooks.claim("relay-a", NOW, DELAYS)(replayed).result is None
    again = replayed.cancel_requested_by_user(NOW)
    assert again.webhook_due_at == NOW and webhooks.claim("relay-a", NOW, DELAYS)(again).result is not None


def test_the_delivery_survives_a_round_trip_through_the_document() -> None:
    job = _job().cancel_requested_by_user(NOW)
    assert Job.from_document(job.to_document()) == job


def test_the_request_shows_webhook_url_only_when_given() -> None:
    assert "webhook_url" not in _job(url=None).request.model_dump()
    assert _job().request.model_dump()["webhook_url"] == URL


def test_the_api_view_shows_webhook_null_without_url_and_pending_before_the_end() -> None:
    assert job_view(_job(url=None))["webhook"] is None
    assert job_view(_job())["webhook"] == {"url": URL, "state": "pending", "attempts": 0, "last_error": None}


# --- claims, outcomes and the schedule ----------------------------------------------------------------------


def _finished() -> Job:
    return _job().cancel_requested_by_user(NOW)


def test_a_claim_takes_the_next_attempt_under_a_lease_with_a_marker_of_its_own() -> None:
    change = webhooks.claim("relay-a", NOW, DELAYS)(_finished())
    ticket, job = change.result, _apply(change)
    assert ticket is not None and ticket.attempt == 1 and job.webhook is not None
    assert job.webhook.attempts == 1 and job.webhook.lease is not None and job.webhook.lease.owner == "relay-a"
    # If its sender dies, the attempt is taken over when the lease has run out or the first wait is over.
    assert job.webhook_due_at == NOW + timedelta(seconds=max(webhooks.LEASE_S, DELAYS[0]))
    assert change.marker == f"webhook-{job.webhook.delivery_id}-1"
    assert job.updated_at == _finished().updated_at  # the job's own fields never move with its webhook


def test_nothing_is_claimed_before_it_is_due_or_while_a_lease_is_live() -> None:
    job = _finished()
    assert webhooks.claim("relay-a", NOW - timedelta(seconds=1), DELAYS)(job).result is None
    claimed = _apply(webhooks.claim("relay-a", NOW, DELAYS)(job))
    assert webhooks.claim("relay-b", NOW + timedelta(seconds=5), DELAYS)(claimed).result is None
    assert webhooks.claim("relay-b", NOW, DELAYS)(_job()).result is None  # not finished: nothing to send


def _attempt(job: Job, at: float, error: str | None) -> tuple[Job, webhooks.Ticket]:
    now = NOW + timedelta(seconds=at)
    change = webhooks.claim("relay-a", now, DELAYS)(job)
    assert change.result is not None, "the attempt was not due"
    claimed = _apply(change)
    ended = webhooks.record(change.result, webhooks.Outcome(error), now + timedelta(seconds=1), DELAYS)(claimed)
    assert ended.job is not None
    return ended.job, change.result


def test_failures_wait_the_configured_delays_then_the_delivery_fails_after_the_last_attempt() -> None:
    job, first = _attempt(_finished(), 0, "HTTP 500")
    assert job.webhook is not None and job.webhook.state == "pending" and job.webhook.last_error == "HTTP 500"
    assert job.webhook_due_at == NOW + timedelta(seconds=1 + DELAYS[0])
    job, second = _attempt(job, 11, "HTTP 502")
    assert job.webhook_due_at == NOW + timedelta(seconds=12 + DELAYS[1])
    job, third = _attempt(job, 72, "no answer within 10 s")
    assert job.webhook is not None and (job.webhook.state, job.webhook.attempts) == ("failed", 3)
    assert job.webhook.last_error == "no answer within 10 s" and job.webhook_due_at is None
    assert first.delivery_id == second.delivery_id == third.delivery_id
    assert first.body == second.body == third.body  # the same body on every attempt


def test_a_2xx_after_failures_is_delivered_and_nothing_is_due_after() -> None:
    job, _ = _attempt(_finished(), 0, "HTTP 500")
    job, _ = _attempt(job, 11, None)
    assert job.webhook is not None and (job.webhook.state, job.webhook.attempts) == ("delivered", 2)
    assert job.webhook.last_error is None and job.webhook_due_at is None


def test_a_refused_destination_fails_at_once() -> None:
    change = webhooks.claim("relay-a", NOW, DELAYS)(_finished())
    assert change.result is not None
    refused = webhooks.Outcome("destination refused: 127.0.0.1 is refused", permanent=True)
    ended = webhooks.record(change.result, refused, NOW, DELAYS)(_apply(change))
    assert ended.result is not None and (ended.result.state, ended.result.attempts) == ("failed", 1)


def test_an_attempt_whose_sender_died_is_taken_over_after_its_lease_with_the_same_delivery_id() -> None:
    first = webhooks.claim("relay-a", NOW, DELAYS)(_finished())
    assert first.result is not None
    takeover_at = NOW + timedelta(seconds=webhooks.LEASE_S + 1)
    second = webhooks.claim("relay-b", takeover_at, DELAYS)(_apply(first))
    assert second.result is not None and second.result.delivery_id == first.result.delivery_id
    job = _apply(second)
    assert job.webhook is not None and job.webhook.attempts == 2 and "interrupted" in (job.webhook.last_error or "")
    assert second.marker != first.marker
    # The dead sender's late outcome is fenced off: the attempt no longer holds the delivery.
    late = webhooks.record(first.result, webhooks.Outcome(), takeover_at, DELAYS)(job)
    assert late.job is None and late.result is None


def test_an_interrupted_last_attempt_ends_failed() -> None:
    job = _finished()
    for at in (0, 100):  # two attempts interrupted in a row; the third (last) one too
        job = _apply(webhooks.claim("relay-a", NOW + timedelta(seconds=at), DELAYS)(job))
    job = _apply(webhooks.claim("relay-a", NOW + timedelta(seconds=200), DELAYS)(job))
    assert job.webhook is not None and job.webhook.attempts == 3
    ended = webhooks.claim("relay-b", NOW + timedelta(seconds=300), DELAYS)(job)
    assert ended.result is None and ended.job is not None and ended.job.webhook is not None
    assert ended.job.webhook.state == "failed" and ended.job.webhook_due_at is None


def test_the_body_is_the_final_job_as_get_shows_it() -> None:
    job = _finished()
    change = webhooks.claim("relay-a", NOW, DELAYS)(job)
    assert change.result is not None and job.webhook is not None
    body = json.loads(change.result.body)
    assert body == {"event": "job.finished", "delivery_id": job.webhook.delivery_id, "job": job_view(job)}


# --- secrets and signatures ---------------------------------------------------------------------------------


def test_user_secrets_are_stable_and_different_per_user_and_per_key() -> None:
    key = "k" * 32
    assert webhooks.user_secret(key, "alice") == webhooks.user_secret(key, "alice")
    assert webhooks.user_secret(key, "alice") != webhooks.user_secret(key, "bob")
    assert webhooks.user_secret(key, "alice") != webhooks.user_secret("j" * 32, "alice")


def test_the_signature_is_hmac_sha256_of_t_dot_body() -> None:
    body, secret = b'{"event":"job.finished"}', "whsec_abc"
    expected = hmac.new(secret.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert webhooks.signature(secret, body, 1700000000) == f"t=1700000000,v1={expected}"


# --- webhook_url rules (§3) ---------------------------------------------------------------------------------

BASE = {"industry": "SaaS", "geography": "Sydney"}
BAD_URLS = [
    "http://hooks.example.com/x",  # http without private networks
    "ftp://hooks.example.com/x",
    "hooks.example.com/x",
    "/relative/path",
    "https://",
    "https://user:pass@hooks.example.com/x",
    "https://user@hooks.example.com/x",
    "https://hooks.example.com:99999/x",
    "https://hooks.example.com/a b",
    "https://hooks.example.com/" + "a" * 2030,
    "",
    "   ",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_each_invalid_webhook_url_shape_is_refused(url: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        ScrapeRequest.model_validate({**BASE, "webhook_url": url}, context={"webhooks": WebhookRules()})


def test_valid_webhook_urls_are_accepted_trimmed_and_http_only_where_private_networks_are_allowed() -> None:
    rules = {"webhooks": WebhookRules()}
    longest = "https://hooks.example.com/" + "a" * (2048 - 26)
    assert ScrapeRequest.model_validate({**BASE, "webhook_url": longest}, context=rules).webhook_url == longest
    assert ScrapeRequest.model_validate({**BASE, "webhook_url": f" {URL} "}, context=rules).webhook_url == URL
    # A private host in an https URL is judged when delivering, not at submit (§7).
    assert ScrapeRequest.model_validate({**BASE, "webhook_url": "https://127.0.0.1/x"}, context=rules)
    local = {"webhooks": WebhookRules(allow_http=True)}
    assert ScrapeRequest.model_validate({**BASE, "webhook_url": "http://127.0.0.1:9/x"}, context=local)


def test_any_webhook_url_is_refused_while_webhooks_are_off() -> None:
    with pytest.raises(pydantic.ValidationError, match="webhooks are off"):
        ScrapeRequest.model_validate({**BASE, "webhook_url": URL}, context={"webhooks": WebhookRules(enabled=False)})


# --- one attempt against local receivers --------------------------------------------------------------------


class _Receiver(http.server.BaseHTTPRequestHandler):
    mode = "ok"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.mode == "redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.mode == "slow":
            time.sleep(30)
        elif self.mode == "endless":
            self.send_response(200)
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"x" * 65536)
            except OSError:
                pass
        elif self.mode == "trickle":  # a status line one byte at a time, never finished
            try:
                for byte in b"HTTP/1.1 200 OK\r\n" * 100:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass
        else:
            self.send_response(204)
            self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Handler", (_Receiver,), {"mode": "ok"})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()
    server.server_close()


def _send(url: str, allow_private: bool = True, timeout_s: float = 3.0) -> tuple[webhooks.Outcome, float]:
    start = time.monotonic()
    outcome = webhooks.send(url, b"{}", {}, allow_private=allow_private, dns_timeout_s=2, timeout_s=timeout_s)
    return outcome, time.monotonic() - start


def test_a_2xx_answer_is_delivered(receiver) -> None:
    url, _ = receiver
    assert _send(url)[0] == webhooks.Outcome()


def test_a_redirect_is_not_followed(receiver) -> None:
    url, handler = receiver
    handler.mode = "redirect"
    outcome, _ = _send(url)
    assert outcome.error == "HTTP 302 (redirects are not followed)" and not outcome.permanent


@pytest.mark.parametrize("mode", ["slow", "trickle"])
def test_a_slow_or_trickling_receiver_costs_the_attempt_its_time_limit_and_no_more(receiver, mode: str) -> None:
    url, handler = receiver
    handler.mode = mode
    outcome, took = _send(url, timeout_s=2.0)
    assert outcome.error is not None and "no answer within 2 s" in outcome.error
    assert took < 3.5


def test_an_endless_answer_is_read_only_a_little(receiver) -> None:
    url, handler = receiver
    handler.mode = "endless"
    outcome, took = _send(url)
    assert outcome == webhooks.Outcome() and took < 2.0


def test_a_loopback_destination_is_refused_without_connecting_while_private_networks_are_off() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    try:
        for url in (
            f"https://127.0.0.1:{port}/x",
            f"https://localhost:{port}/x",
            f"https://[::ffff:127.0.0.1]:{port}/",
        ):
            outcome, _ = _send(url, allow_private=False)
            assert outcome.permanent and outcome.error is not None and "refused" in outcome.error, url
        with pytest.raises(TimeoutError):
            listener.accept()  # no connection was ever made
    finally:
        listener.close()


def test_the_verify_function_of_the_docs_refuses_a_forged_body_a_wrong_secret_and_an_old_t() -> None:
    spec = importlib.util.spec_from_file_location("webhook_receiver", ROOT / "docs" / "webhook_receiver.py")
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    body, secret, now = b'{"event":"job.finished"}', "whsec_abc", int(time.time())
    header = webhooks.signature(secret, body, now)
    assert example.verify(secret, header, body)
    assert not example.verify(secret, header, body + b" ")
    assert not example.verify("whsec_other", header, body)
    assert not example.verify(secret, webhooks.signature(secret, body, now - 3600), body)
    assert not example.verify(secret, "garbage", body)
