"""Webhook delivery (contract §7): each user's signing secret, the signed `job.finished` POST, and the delivery
worker: a pass over the deliveries due now (a store query) in which each attempt is claimed under a lease and sent
on a small thread pool of its own, never on a runner. The relay runs the pass: `python -m leadengine.outbox`
locally, the function's relay route (Cloud Scheduler) on GCP.

At least once: the delivery is recorded with the job's final status (leadengine/jobs.py); an attempt is claimed
with a lease before it is sent (two senders never send the same attempt at once), and one whose process dies is
taken over when its lease has run out. Every attempt is bounded by ATTEMPT_TIMEOUT_S, DNS and TLS included."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import httpx

from leadengine.errors import AttemptTaken, DependencyUnavailable
from leadengine.jobs import Change, Job, WebhookDelivery, utcnow
from leadengine.log import get_logger
from leadengine.netguard import BlockedAddress, LookupFailed, vet_url
from leadengine.pinned_http import PinnedBackend, PinnedTransport
from leadengine.settings import Settings
from leadengine.store import JobStore
from leadengine.views import job_view

log = get_logger(__name__)

EVENT = "job.finished"
ATTEMPT_TIMEOUT_S = 10.0  # §7: no answer within 10 s is a failed attempt; the whole attempt, DNS included
MAX_ANSWER_BYTES = 4096  # what is read of an answer at most: only its status matters
# An attempt's lease: the attempt itself plus recording its outcome (a read-decide-write bounded at three
# FIRESTORE_TIMEOUT_S); only after it has run out may another sender take the delivery over.
LEASE_S = 30.0
POOL_SIZE = 8  # attempts in flight at once per process
# A pass takes rounds of POOL_SIZE due deliveries while it has budget left: many fast receivers go out in one pass,
# and however slow they are, a pass ends within about PASS_BUDGET_S + ROUND_TIMEOUT_S (40 s, inside Cloud
# Scheduler's 60 s attempt deadline for the relay route that runs it).
ROUND_TIMEOUT_S = ATTEMPT_TIMEOUT_S + 15.0  # the attempts, plus claiming and recording them (FIRESTORE_TIMEOUT_S)
PASS_BUDGET_S = 15.0
USER_AGENT = "LeadEngine-Webhooks/1"


# --- secrets and signatures ---------------------------------------------------------------------------------


def user_secret(signing_key: str, user_id: str) -> str:
    """The user's webhook secret: an HMAC of the user id under the deployment's key, so every instance derives
    the same one, across restarts, and no user can work out another's."""
    digest = hmac.new(signing_key.encode(), b"leadengine-webhook-secret\0" + user_id.encode(), hashlib.sha256)
    return f"whsec_{digest.hexdigest()}"


def signature(secret: str, body: bytes, t: int) -> str:
    """`LeadEngine-Signature`: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the secret>."""
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def payload(job: Job) -> bytes:
    """The body of every attempt: the job exactly as GET showed it when its final status was stored (its
    `webhook` then pending, with no attempt yet), so it is the same bytes on every attempt, from any sender."""
    assert job.webhook is not None
    view = job_view(job)
    view["webhook"] = {"url": job.webhook.url, "state": "pending", "attempts": 0, "last_error": None}
    body = {"event": EVENT, "delivery_id": job.webhook.delivery_id, "job": view}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


# --- decisions over the job (pure; the store applies them with change_job) ----------------------------------


@dataclass(frozen=True)
class Ticket:
    """One claimed attempt: what to send, and the token that fences the write of its outcome."""

    job_id: str
    user_id: str
    delivery_id: str
    url: str
    attempt: int
    token: str
    body: bytes


def claim(owner: str, now: datetime, delays: tuple[int, ...], lease_s: float = LEASE_S) -> Callable[
    [Job | None], Change[Ticket | None]
]:  # fmt: skip
    """The decision that takes the job's due delivery attempt for `owner`; None when nothing is due (sent,
    finished, or taken by another sender meanwhile). An attempt whose sender died is counted as failed first."""

    def decide(job: Job | None) -> Change[Ticket | None]:
        if job is None or job.webhook is None or not job.finished or not job.webhook.due(now):
            return Change(None)
        delivery = job.webhook
        if delivery.lease is not None:  # claimed, never ended, and its lease has run out
            delivery = delivery.interrupted(delays)
            if delivery.state != "pending":
                return Change(None, job.with_webhook(delivery))
        token = uuid.uuid4().hex
        claimed = delivery.claimed(owner, token, now, lease_s, delays)
        ticket = Ticket(job.job_id, job.user_id, claimed.delivery_id, claimed.url, claimed.attempts, token,
                        payload(job))  # fmt: skip
        # The marker's create() makes the claim exclusive even where update preconditions are not enforced.
        return Change(ticket, job.with_webhook(claimed), marker=f"webhook-{claimed.delivery_id}-{claimed.claims}")

    return decide


@dataclass(frozen=True)
class Outcome:
    """How one attempt went: error None means delivered (a 2xx answer)."""

    error: str | None = None
    permanent: bool = False  # a refused destination: no attempt will ever be allowed to connect


def record(ticket: Ticket, outcome: Outcome, now: datetime, delays: tuple[int, ...]) -> Callable[
    [Job | None], Change[WebhookDelivery | None]
]:  # fmt: skip
    """The decision that writes an attempt's outcome; None (nothing written) when the attempt no longer holds
    the delivery: its lease ran out and another sender took it over."""

    def decide(job: Job | None) -> Change[WebhookDelivery | None]:
        if job is None or job.webhook is None or job.webhook.delivery_id != ticket.delivery_id:
            return Change(None)
        ended = job.webhook.ended(ticket.token, now, outcome.error, delays, permanent=outcome.permanent)
        if ended is None:
            return Change(None)
        return Change(ended, job.with_webhook(ended))

    return decide


# --- one attempt over the network ---------------------------------------------------------------------------


def send(
    url: str, body: bytes, headers: dict[str, str], *, allow_private: bool, dns_timeout_s: float,
    timeout_s: float = ATTEMPT_TIMEOUT_S,
) -> Outcome:  # fmt: skip
    """One POST, within `timeout_s` from the DNS lookup to the last byte read. The private-network guard judges
    the destination at every attempt; redirects are answers, not followed; at most MAX_ANSWER_BYTES are read."""
    deadline = time.monotonic() + timeout_s
    try:
        addresses = vet_url(url, allow_private=allow_private, dns_timeout_s=min(dns_timeout_s, timeout_s))
    except BlockedAddress as e:
        return Outcome(f"destination refused: {e}", permanent=True)
    except LookupFailed as e:
        return Outcome(str(e))
    timeout = httpx.Timeout(max(deadline - time.monotonic(), 0.01))
    transport = PinnedTransport(PinnedBackend(lambda host: addresses, deadline=deadline), max_connections=1,
                                max_keepalive_connections=0)  # fmt: skip
    with httpx.Client(transport=transport, follow_redirects=False, trust_env=False,
                      timeout=timeout) as client:  # fmt: skip
        try:
            with client.stream("POST", url, content=body, headers=headers) as response:
                status = response.status_code
                _read_a_little(response)
        except httpx.TimeoutException:
            return Outcome(f"no answer within {timeout_s:g} s")
        except httpx.HTTPError as e:
            return Outcome(f"cannot connect or send: {type(e).__name__}: {str(e)[:200]}")
    if 200 <= status < 300:
        return Outcome()
    if 300 <= status < 400:
        return Outcome(f"HTTP {status} (redirects are not followed)")
    return Outcome(f"HTTP {status}")


def _read_a_little(response: httpx.Response) -> None:
    """Read at most MAX_ANSWER_BYTES of the answer, then let it go: an endless or huge answer costs nothing
    more, and a receiver that stops sending after its status line is no reason to fail the attempt."""
    read = 0
    try:
        for chunk in response.iter_raw(1024):
            read += len(chunk)
            if read >= MAX_ANSWER_BYTES:
                break
    except httpx.HTTPError:
        pass  # the status is what counts, and it has arrived


# --- the worker ---------------------------------------------------------------------------------------------


AttemptResult = Literal["delivered", "retrying", "failed", "skipped"]


@dataclass
class DeliveryCounts:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0  # taken by another sender, or nothing due any more

    def as_dict(self) -> dict[str, int]:
        return {"delivered": self.delivered, "retrying": self.retrying, "failed": self.failed,
                "skipped": self.skipped}  # fmt: skip


@dataclass
class Deliverer:
    """Sends the deliveries due now from this process, each attempt on its own thread of a small pool."""

    settings: Settings
    store: JobStore
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")

    def __post_init__(self) -> None:
        key = self.settings.webhook_signing_key
        if key is None:
            raise ValueError("webhooks are off: WEBHOOK_SIGNING_KEY is not set")
        self._key = key.get_secret_value()
        self._delays = self.settings.webhook_retry_delays_s
        self._pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="webhook")
        self._passes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-pass")
        self._lock = threading.Lock()  # one pass at a time per process (the relay route may be called at once)

    def deliver_due(self, budget_s: float = PASS_BUDGET_S) -> DeliveryCounts:
        """One pass: rounds of up to POOL_SIZE due deliveries, each round's attempts at once, until a round finds
        fewer than that or `budget_s` is spent (a round is bounded by ATTEMPT_TIMEOUT_S plus its store writes).
        Raises DependencyUnavailable if Firestore is away; an attempt in flight then is taken over after its
        lease."""
        counts = DeliveryCounts()
        deadline = time.monotonic() + budget_s
        with self._lock:
            while True:
                due = self.store.due_webhooks(POOL_SIZE)
                futures = [self._pool.submit(self._attempt, job.job_id) for job in due]
                done, _ = wait_for_futures(futures, timeout=ROUND_TIMEOUT_S)
                for future in done:
                    result: AttemptResult
                    try:
                        result = future.result()
                    except DependencyUnavailable as e:  # the lease runs out; the attempt is taken over later
                        log.warning("webhook_attempt_unrecorded", error=str(e)[:200])
                        result = "skipped"
                    except Exception:
                        log.exception("webhook_attempt_unrecorded")
                        result = "skipped"
                    setattr(counts, result, getattr(counts, result) + 1)
                if len(due) < POOL_SIZE or time.monotonic() > deadline or len(done) < len(futures):
                    break
        if counts.as_dict() != DeliveryCounts().as_dict():
            log.info("webhooks_relayed", **counts.as_dict())
        return counts

    def deliver_due_async(self) -> Future[DeliveryCounts]:
        """`deliver_due` on a thread of its own, for a caller with other work meanwhile (the relay route)."""
        return self._passes.submit(self.deliver_due)

    def _attempt(self, job_id: str) -> AttemptResult:
        """Claim the job's due attempt, send it, record how it went; which count it adds to."""
        try:
            ticket = self.store.change_job(job_id, claim(self.owner, utcnow(), self._delays))
        except AttemptTaken:
            return "skipped"
        if ticket is None:
            return "skipped"
        t = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "LeadEngine-Event": EVENT,
            "LeadEngine-Delivery": ticket.delivery_id,
            "LeadEngine-Signature": signature(user_secret(self._key, ticket.user_id), ticket.body, t),
        }
        try:
            outcome = send(ticket.url, ticket.body, headers,
                           allow_private=self.settings.scrape_allow_private_networks,
                           dns_timeout_s=self.settings.scrape_dns_timeout_s)  # fmt: skip
        except Exception as e:  # a bug or a library surprise is a failed attempt, not a lease left to run out
            log.exception("webhook_attempt_crashed", job_id=job_id, delivery_id=ticket.delivery_id)
            outcome = Outcome(f"cannot deliver: {type(e).__name__}")
        ended = self.store.change_job(job_id, record(ticket, outcome, utcnow(), self._delays))
        fields = {"job_id": job_id, "delivery_id": ticket.delivery_id, "attempt": ticket.attempt}
        if ended is None:
            log.warning("webhook_attempt_fenced", **fields, error=outcome.error)
            return "skipped"
        if ended.state == "delivered":
            log.info("webhook_delivered", **fields)
            return "delivered"
        if ended.state == "failed":
            log.warning("webhook_failed", **fields, error=ended.last_error)
            return "failed"
        log.info("webhook_attempt_failed", **fields, error=ended.last_error, next_attempt_at=str(ended.next_attempt_at))
        return "retrying"

    def run_forever(self, stop: threading.Event, interval_s: float) -> None:
        """The local worker: a pass every `interval_s` until stopped (the relay process runs it on a thread)."""
        log.info("webhook_worker_started", interval_s=interval_s)
        while not stop.is_set():
            try:
                self.deliver_due()
            except DependencyUnavailable as e:
                log.warning("webhook_pass_failed", error=str(e)[:200])
            except Exception:  # the worker must outlive any one bad pass; the next pass tries again
                log.exception("webhook_pass_crashed")
            stop.wait(interval_s)

    def close(self) -> None:
        self._passes.shutdown(wait=False, cancel_futures=True)
        self._pool.shutdown(wait=False, cancel_futures=True)


def start_worker(settings: Settings, store: JobStore, stop: threading.Event) -> threading.Thread | None:
    """The delivery worker on a thread of the relay process, beside the outbox relay (a slow receiver must not
    hold up publishing); None while webhooks are off."""
    if not settings.webhooks_enabled:
        return None
    deliverer = Deliverer(settings, store)
    thread = threading.Thread(target=deliverer.run_forever, args=(stop, settings.relay_interval_s),
                              name="webhook-worker", daemon=True)  # fmt: skip
    thread.start()
    return thread
