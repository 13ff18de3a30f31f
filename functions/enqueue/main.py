"""The enqueue HTTP function (Cloud Functions gen2, target `enqueue`): routing, auth and validation of contract §3,
then the core does the work (job store, outbox, publisher). Also the relay route Cloud Scheduler calls."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import flask
import functions_framework
import pydantic
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed as RouteMethodNotAllowed
from werkzeug.routing import BaseConverter, Map, Rule

from leadengine import fairshare, outbox, stalls
from leadengine import log as logging_setup
from leadengine.errors import DependencyUnavailable, StoreUnavailable
from leadengine.jobs import JobRequest, new_job, user_cancel, utcnow
from leadengine.publisher import Publisher
from leadengine.schemas import JobStatus, ScrapeRequest, WebhookRules
from leadengine.settings import settings_or_exit
from leadengine.store import JobStore
from leadengine.webhooks import Deliverer, DeliveryCounts, user_secret

# The function's own modules beside this file (functions-framework puts its directory on sys.path).
# isort: split
import export
import http_errors
import request_body
import request_params
import views
from api_keys import ApiKeys
from http_errors import (
    Forbidden,
    MethodNotAllowed,
    RouteNotFound,
    SchemaInvalid,
    TooManyActiveJobs,
    Unauthorized,
)

# Read once at import: a missing or malformed setting stops the server with one line naming it.
settings = settings_or_exit()
logging_setup.configure(settings.log_level)
log = logging_setup.get_logger("enqueue")

api_keys = ApiKeys(settings.api_keys)
_WEBHOOK_KEY = settings.webhook_signing_key.get_secret_value() if settings.webhook_signing_key else None
# §3: a webhook_url is refused (422) while webhooks are off, and http:// is for local receivers only.
_WEBHOOK_RULES = WebhookRules(enabled=_WEBHOOK_KEY is not None, allow_http=settings.scrape_allow_private_networks)
_RELAY_TOKEN_DIGEST = (
    hashlib.sha256(settings.relay_token.get_secret_value().encode()).digest() if settings.relay_token else None
)


class JobIdConverter(BaseConverter):
    """A job id path segment: anything but `scrape`, so that GET /api/v1/jobs/scrape is the scrape route with the
    wrong method (405), not a lookup of a job called "scrape". Malformed ids still reach the handler, which
    answers them exactly like a missing job."""

    regex = r"(?!scrape$)[^/]+"


URLS = Map(
    [
        Rule("/healthz", endpoint="healthz", methods=["GET"]),
        Rule("/api/v1/jobs/scrape", endpoint="submit", methods=["POST"]),
        # Only while webhooks are on (WEBHOOK_SIGNING_KEY set); otherwise a 404 like any unknown path (§3).
        *([Rule("/api/v1/webhook-secret", endpoint="webhook_secret", methods=["GET"])] if _WEBHOOK_KEY else []),
        Rule("/api/v1/jobs", endpoint="list_jobs", methods=["GET"]),
        Rule("/api/v1/jobs/<job_id:job_id>", endpoint="get_job", methods=["GET"]),
        Rule("/api/v1/jobs/<job_id:job_id>/leads", endpoint="list_leads", methods=["GET"]),
        Rule("/api/v1/jobs/<job_id:job_id>/leads/export", endpoint="export_leads", methods=["GET"]),
        Rule("/api/v1/jobs/<job_id:job_id>/cancel", endpoint="cancel", methods=["POST"]),
        # Internal, not in the public OpenAPI document; it exists only when RELAY_TOKEN is set.
        *([Rule("/internal/outbox/relay", endpoint="relay", methods=["POST"])] if _RELAY_TOKEN_DIGEST else []),
    ],
    # A doubled slash is a different path, not a redirect: every answer of this API is JSON.
    merge_slashes=False,
    converters={"job_id": JobIdConverter},
)


# --- clients: created once per process, lazily (the first request of each gunicorn worker) -----------------

_clients_lock = threading.Lock()
_store: JobStore | None = None
_publisher: Publisher | None = None
_clearer: outbox.Clearer | None = None


def job_store() -> JobStore:
    global _store
    with _clients_lock:
        if _store is None:
            _store = JobStore(settings)
        return _store


def publisher() -> Publisher:
    global _publisher
    with _clients_lock:
        if _publisher is None:
            _publisher = Publisher(settings)
        return _publisher


def clearer() -> outbox.Clearer:
    global _clearer
    store = job_store()
    with _clients_lock:
        if _clearer is None:
            _clearer = outbox.clearer_for(store)
        return _clearer


_deliverer: Deliverer | None = None


def deliverer() -> Deliverer:
    """The webhook delivery worker of this instance (its thread pool), for the relay route."""
    global _deliverer
    store = job_store()
    with _clients_lock:
        if _deliverer is None:
            _deliverer = Deliverer(settings, store)
        return _deliverer


# --- handlers ---------------------------------------------------------------------------------------------


def healthz(request: flask.Request) -> flask.Response:
    return http_errors.json_response(200, {"status": "ok"})


# Reads a request makes at once (the store's calls are bounded, so a slow Firestore holds a thread no longer).
_reads = ThreadPoolExecutor(max_workers=16, thread_name_prefix="submit-read")


def submit(request: flask.Request) -> flask.Response:
    """POST /api/v1/jobs/scrape: validate, write the job with its outbox mark, publish, answer 202."""
    user_id = api_keys.authenticate(request)
    body = request_body.read_limited(request)
    request_body.require_json_media_type(request)
    key = request_params.idempotency_key(request)
    document = request_body.parse_strict(body)
    try:
        scrape = ScrapeRequest.model_validate(document, context={"webhooks": _WEBHOOK_RULES})
    except pydantic.ValidationError as e:
        raise SchemaInvalid(details=request_params.details(e, "body")) from None
    if scrape.user_id is not None and scrape.user_id != user_id:
        raise Forbidden()

    store = job_store()
    request_fields = JobRequest.model_validate(scrape.job_request())
    # The quota's count and the held check are independent reads: both at once, one round trip of latency.
    active = _reads.submit(store.count_active_jobs, user_id)
    held_before = _reads.submit(store.held_jobs, user_id, 1)
    # The quota (§8), after the schema and ownership checks (§3 order); a replay of an accepted job is still 202.
    if not fairshare.quota_allows(active.result(), settings.user_max_active_jobs):
        earlier = store.find_idempotent_job(user_id, key, request_fields.model_dump()) if key is not None else None
        if earlier is None:
            limit = settings.user_max_active_jobs
            raise TooManyActiveJobs(f"you have {limit} jobs queued or running, the most allowed at once; submit "
                                    "again once some have finished, or cancel some")  # fmt: skip
        return _accepted(earlier.job_id, earlier.created_at)
    draft = new_job(str(uuid.uuid4()), user_id, request_fields, utcnow())
    # Fair share (§8): the job goes to the broker now only with one of its user's places, and only when no earlier
    # job of the user is held back (a place that comes free is the oldest held job's); else it is held, queued.
    placed = not held_before.result() and store.take_place(user_id, draft.job_id)
    if not placed:
        draft = draft.held_back(draft.created_at)
    try:
        job, created = store.create_job(draft, key)
    except StoreUnavailable:
        # The commit may have landed before the error; remove it so a 503 job is never processed.
        store.discard_job(draft.job_id, user_id, key)
        if placed:  # best effort: a place whose job was never written is free again after PLACE_GRACE anyway
            with contextlib.suppress(DependencyUnavailable):
                store.free_places(user_id, draft.job_id)
        raise
    job_id = job.job_id
    if placed and not created:  # a replay: the place taken for the draft goes back
        with contextlib.suppress(DependencyUnavailable):
            store.free_places(user_id, draft.job_id)
    if created and placed:
        # Published before the answer, its mark cleared after it; a broker that is down or silent costs at most
        # PUBLISH_TIMEOUT_S and leaves the job to the relay: the answer is 202 either way.
        outbox.publish_or_defer(store, publisher(), job, clearer())
    log.info("job_accepted", job_id=job_id, user_id=user_id, replayed=not created, held=job.held)
    return _accepted(job_id, job.created_at)


def _accepted(job_id: str, created_at: datetime) -> flask.Response:
    payload = {"job_id": job_id, "status": JobStatus.QUEUED.value, "created_at": views.rfc3339(created_at)}
    return http_errors.json_response(202, payload, {"Location": f"/api/v1/jobs/{job_id}"})


def get_job(request: flask.Request, job_id: str) -> flask.Response:
    user_id = api_keys.authenticate(request)
    job = job_store().get_job(request_params.canonical_job_id(job_id), user_id)
    return http_errors.json_response(200, views.job_view(job))


def list_leads(request: flask.Request, job_id: str) -> flask.Response:
    user_id = api_keys.authenticate(request)
    query = request_params.leads_query(request)
    store = job_store()
    job_id = request_params.canonical_job_id(job_id)
    store.get_job(job_id, user_id)  # ownership: another user's job is a 404 like a missing one
    after = views.decode_page_token(query.page_token) if query.page_token is not None else None
    leads, more = store.list_leads(job_id, query.limit, after)
    next_token = views.encode_page_token(leads[-1].lead_id) if more else None
    return http_errors.json_response(200, {"leads": [views.lead_view(lead) for lead in leads],
                                           "next_page_token": next_token})  # fmt: skip


def list_jobs(request: flask.Request) -> flask.Response:
    """GET /api/v1/jobs: the caller's jobs, newest first, a page at a time."""
    user_id = api_keys.authenticate(request)
    query = request_params.jobs_query(request)
    jobs, cursor = job_store().list_jobs(user_id, query.status, query.limit, query.cursor())
    next_token = views.encode_jobs_page_token(cursor, query.status) if cursor is not None else None
    return http_errors.json_response(200, {"jobs": [views.job_view(job) for job in jobs],
                                           "next_page_token": next_token})  # fmt: skip


def export_leads(request: flask.Request, job_id: str) -> flask.Response:
    """GET /api/v1/jobs/<id>/leads/export: every lead of the job as a CSV or JSONL download, streamed."""
    user_id = api_keys.authenticate(request)
    query = request_params.export_query(request)
    store = job_store()
    job_id = request_params.canonical_job_id(job_id)
    store.get_job(job_id, user_id)  # ownership: another user's job is a 404 like a missing one
    return export.response(job_id, query.format, store.lead_pages(job_id, export.PAGE_SIZE))


def cancel(request: flask.Request, job_id: str) -> flask.Response:
    user_id = api_keys.authenticate(request)
    store = job_store()
    job_id = request_params.canonical_job_id(job_id)
    # A plain read first answers 404 and a Firestore outage (503) within one FIRESTORE_TIMEOUT_S; the
    # transaction (bounded at three) re-checks everything.
    store.get_job(job_id, user_id)
    job = store.change_job(job_id, user_cancel(job_id, user_id))
    log.info("job_cancel_requested", job_id=job_id, user_id=user_id, status=job.status.value)
    if job.status is JobStatus.CANCELLED:
        # A queued job cancelled at once frees its user's place (§8): the next held job goes out now. Best effort;
        # the relay's pass does it otherwise.
        try:
            outbox.make_room(store, publisher(), user_id, job_id)
        except DependencyUnavailable as e:
            log.warning("room_not_made", job_id=job_id, user_id=user_id, error=str(e))
    return http_errors.json_response(202, views.job_view(job))


def webhook_secret(request: flask.Request) -> flask.Response:
    """GET /api/v1/webhook-secret: the caller's signing secret, derived from WEBHOOK_SIGNING_KEY (§3, §7)."""
    user_id = api_keys.authenticate(request)
    assert _WEBHOOK_KEY is not None  # the route is only mapped while webhooks are on
    return http_errors.json_response(200, {"secret": user_secret(_WEBHOOK_KEY, user_id)})


def relay(request: flask.Request) -> flask.Response:
    """POST /internal/outbox/relay: publish what the outbox holds, for Cloud Scheduler (runners may be scaled
    to zero, so nothing long-lived relays on GCP)."""
    assert _RELAY_TOKEN_DIGEST is not None  # the route is only mapped when RELAY_TOKEN is set
    given = request.headers.get("X-Relay-Token", "")
    if not hmac.compare_digest(hashlib.sha256(given.encode("latin-1")).digest(), _RELAY_TOKEN_DIGEST):
        raise Unauthorized("a valid X-Relay-Token is required")
    clearer().flush(timeout_s=2)  # this instance's own recent publishes are not the relay's to send again
    # The webhook deliveries due now go out meanwhile, on the deliverer's own threads: a slow receiver must not
    # hold up publishing, and the two together stay inside Cloud Scheduler's 60 s attempt deadline.
    deliveries = deliverer().deliver_due_async() if _WEBHOOK_KEY else None
    totals = outbox.drain(job_store(), publisher(), older_than_s=settings.outbox_grace_s)
    # Lost messages (§9): on GCP this scheduled call is the one relay, so it looks for stalled jobs each time.
    stalls.recover_once(job_store(), publisher(), settings)
    body: dict[str, Any] = dict(totals.as_dict())
    if deliveries is not None:
        counts: DeliveryCounts = deliveries.result()
        body["webhooks"] = counts.as_dict()
    return http_errors.json_response(200, body)


HANDLERS: dict[str, Callable[..., flask.Response]] = {
    "healthz": healthz,
    "submit": submit,
    "get_job": get_job,
    "list_leads": list_leads,
    "cancel": cancel,
    "list_jobs": list_jobs,
    "export_leads": export_leads,
    "webhook_secret": webhook_secret,
    "relay": relay,
}


# --- entry point ------------------------------------------------------------------------------------------


def route(request: flask.Request) -> tuple[str, Mapping[str, Any]]:
    adapter = URLS.bind_to_environ(request.environ)
    try:
        endpoint, arguments = adapter.match()
    except RouteMethodNotAllowed as e:
        raise MethodNotAllowed(e.valid_methods or []) from None
    except HTTPException:
        raise RouteNotFound() from None
    return str(endpoint), arguments


def enqueue(request: flask.Request) -> flask.Response:
    """The function's entry point: every path of the API arrives here."""
    try:
        endpoint, arguments = route(request)
        return HANDLERS[endpoint](request, **arguments)
    except Exception as error:
        response = http_errors.error_response(error)
        if response is None:
            log.exception("request_failed", method=request.method, path=request.path)
            return http_errors.json_response(500, http_errors.error_body("internal_error", "internal error"))
        code = http_errors.lookup(error)
        level = log.warning if response.status_code == 503 else log.info
        level(
            "request_rejected",
            method=request.method,
            path=request.path,
            status=response.status_code,
            code=code[1] if code else None,
            reason=str(error)[:200],
        )
        return response


@functions_framework.errorhandler(HTTPException)
def _framework_error(error: HTTPException) -> flask.Response:
    """Errors raised by the framework before our function runs (its own /robots.txt and /favicon.ico 404s)
    answer in the same JSON format as ours."""
    status = error.code or 400
    code = "not_found" if status == 404 else "bad_request"
    return http_errors.json_response(status, http_errors.error_body(code, error.description or error.name))
