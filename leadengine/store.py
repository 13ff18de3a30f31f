"""The Firestore job store (contract §5): jobs, their leads, idempotency records and the outbox marks.

Layout: `jobs/{job_id}` (the job; `outbox_due_at` is a timestamp while its message is not yet confirmed published, then null: the emulator ignores DELETE_FIELD, and a timestamp range never matches null),
`jobs/{job_id}/leads/{lead_id}`, and `idempotency/{sha256(user, key)}` -> the job an Idempotency-Key made.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.api_core.retry import Retry
from google.cloud import firestore

from leadengine.errors import IdempotencyConflict, JobFinished, JobNotFound, StoreUnavailable
from leadengine.schemas import JobStatus, Lead

JOBS = "jobs"
LEADS = "leads"
IDEMPOTENCY = "idempotency"
# The fields GET /api/v1/jobs/<id> shows (§3); everything else on the document is internal.
PUBLIC_FIELDS = (
    "job_id", "user_id", "status", "request", "attempts", "lead_count", "error",
    "created_at", "updated_at", "started_at", "finished_at",
)  # fmt: skip
_UNAVAILABLE = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.InternalServerError,
    gexc.Unknown,
    gexc.RetryError,
    gexc.ResourceExhausted,
    gexc.Aborted,
)
_MAX_BATCH = 400
T = TypeVar("T")  # under Firestore's 500 writes per batch


def utcnow() -> datetime:
    return datetime.now(UTC)


def rfc3339(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def request_fingerprint(request: dict[str, Any]) -> str:
    """Hash of a validated request: the same body (after trimming and defaults) gives the same hash."""
    return hashlib.sha256(json.dumps(request, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def job_view(job: dict[str, Any]) -> dict[str, Any]:
    """The job as the API shows it: public fields only, timestamps in RFC 3339."""
    view = {field: job.get(field) for field in PUBLIC_FIELDS}
    for field in ("created_at", "updated_at", "started_at", "finished_at"):
        view[field] = rfc3339(view[field])
    view["attempts"] = int(view["attempts"] or 0)
    view["lead_count"] = int(view["lead_count"] or 0)
    return view


def lead_view(lead: dict[str, Any]) -> dict[str, Any]:
    view = dict(lead)
    view["found_at"] = rfc3339(view.get("found_at"))
    return view


def encode_page_token(lead_id: str) -> str:
    return base64.urlsafe_b64encode(lead_id.encode()).decode().rstrip("=")


def decode_page_token(token: str) -> str:
    """The lead id a page token points after; ValueError if the token is not one we issued."""
    if not 1 <= len(token) <= 200:
        raise ValueError("page_token is malformed")
    try:
        lead_id = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as e:
        raise ValueError("page_token is malformed") from e
    if not lead_id or not lead_id.isascii() or not lead_id.isalnum():
        raise ValueError("page_token is malformed")
    return lead_id


class JobStore:
    """All Firestore access of the function, the relay and the runner. The client is created lazily once."""

    def __init__(self, settings: Any, client: firestore.Client | None = None) -> None:
        self._settings = settings
        self._client = client
        timeout = settings.firestore_timeout_s
        # Bounded: a Firestore outage must surface as StoreUnavailable within the timeout, not hang.
        self._call = {"timeout": timeout, "retry": Retry(initial=0.1, maximum=1.0, timeout=timeout)}
        self._transaction_timeout_s = 3 * timeout
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="firestore-transaction")

    @property
    def client(self) -> firestore.Client:
        if self._client is None:
            self._client = firestore.Client(project=self._settings.google_cloud_project)
        return self._client

    @property
    def call_options(self) -> dict[str, Any]:
        """timeout/retry keyword arguments for a Firestore call, for code that talks to the client directly."""
        return dict(self._call)

    def transact(self, body: Callable[[firestore.Transaction], T]) -> T:
        """Run body(transaction) in a Firestore transaction bounded by 3 x FIRESTORE_TIMEOUT_S.

        The client's BeginTransaction and Commit take no deadline and retry an outage for up to a minute, so the
        whole transaction runs on a small pool and is given up on (StoreUnavailable) past the bound. Callers make
        a commit that lands after that harmless (the runner fences its writes with a claim token)."""
        future = self._pool.submit(self._run_transaction, body)
        try:
            return future.result(timeout=self._transaction_timeout_s)
        except FutureTimeout:
            raise StoreUnavailable(
                f"Firestore transaction did not finish within {self._transaction_timeout_s:g}s"
            ) from None

    def _run_transaction(self, body: Callable[[firestore.Transaction], T]) -> T:
        @firestore.transactional
        def run(transaction: firestore.Transaction) -> T:
            return body(transaction)

        try:
            with self.unavailable_as_error():
                return run(self.client.transaction())
        except ValueError as e:  # "failed after N attempts" (contention), or a rollback after a failed begin
            raise StoreUnavailable(f"Firestore transaction did not commit: {e}") from e

    def job_ref(self, job_id: str) -> firestore.DocumentReference:
        return self.client.collection(JOBS).document(job_id)

    def leads_ref(self, job_id: str) -> firestore.CollectionReference:
        return self.job_ref(job_id).collection(LEADS)

    @staticmethod
    @contextlib.contextmanager
    def unavailable_as_error() -> Iterator[None]:
        """Translate the client's outage errors into StoreUnavailable where they enter."""
        try:
            yield
        except _UNAVAILABLE as e:
            raise StoreUnavailable(f"Firestore is unavailable: {type(e).__name__}") from e

    # --- jobs ---------------------------------------------------------------------------------------

    @staticmethod
    def new_job(job_id: str, user_id: str, request: dict[str, Any], now: datetime) -> dict[str, Any]:
        return {
            "job_id": job_id,
            "user_id": user_id,
            "status": JobStatus.QUEUED.value,
            "request": request,
            "attempts": 0,
            "lead_count": 0,
            "error": None,
            "created_at": now,
            "updated_at": now,
            "started_at": None,
            "finished_at": None,
            "cancel_requested": False,
            "history": [],
            # The outbox mark: present until the message is confirmed published.
            "outbox_due_at": now,
        }

    def create_job(
        self,
        job: dict[str, Any],
        idempotency_key: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Write a new job, and with an Idempotency-Key its record, in one atomic batch.

        Returns (job, created). When the key was used before with the same request, the first job is returned
        with created=False; with a different request, IdempotencyConflict.
        """
        batch = self.client.batch()
        idem_ref = None
        fingerprint = request_fingerprint(job["request"])
        if idempotency_key is not None:
            idem_ref = self.client.collection(IDEMPOTENCY).document(_idempotency_id(job["user_id"], idempotency_key))
            batch.create(
                idem_ref,
                {"job_id": job["job_id"], "user_id": job["user_id"], "fingerprint": fingerprint,
                 "created_at": job["created_at"]},
            )  # fmt: skip
        batch.create(self.job_ref(job["job_id"]), job)
        try:
            with self.unavailable_as_error():
                batch.commit(**self._call)
        except gexc.AlreadyExists:
            if idem_ref is None:
                raise
            return self._replay(idem_ref, fingerprint), False
        return job, True

    def _replay(self, idem_ref: firestore.DocumentReference, fingerprint: str) -> dict[str, Any]:
        with self.unavailable_as_error():
            record = idem_ref.get(**self._call).to_dict() or {}
        if record.get("fingerprint") != fingerprint:
            raise IdempotencyConflict("this Idempotency-Key was already used with a different request body")
        return self.get_job(record["job_id"], record["user_id"])

    def discard_job(self, job_id: str, user_id: str, idempotency_key: str | None) -> None:
        """Best effort: remove a job whose creation may have half-happened before we answered 503.

        The Idempotency-Key record goes only if it names this job: the 503 may come from replaying an earlier
        request's record, which must survive so that a retry still answers with that earlier job."""
        # No transaction: beginning one is not bounded by our timeout, and a record never changes once written,
        # so reading it first is enough to know whether it is this job's.
        with contextlib.suppress(Exception):
            batch = self.client.batch()
            batch.delete(self.job_ref(job_id))
            if idempotency_key is not None:
                idem_ref = self.client.collection(IDEMPOTENCY).document(_idempotency_id(user_id, idempotency_key))
                record = idem_ref.get(**self._call)
                if record.exists and record.get("job_id") == job_id:
                    batch.delete(idem_ref)
            batch.commit(**self._call)

    def get_job(self, job_id: str, user_id: str | None = None) -> dict[str, Any]:
        """The job document; JobNotFound when it is missing or (given user_id) belongs to someone else."""
        with self.unavailable_as_error():
            snapshot = self.job_ref(job_id).get(**self._call)
        job = snapshot.to_dict() if snapshot.exists else None
        if job is None or (user_id is not None and job.get("user_id") != user_id):
            raise JobNotFound(job_id)
        return job

    def mark_published(self, job_id: str) -> None:
        """Clear the outbox mark once the broker confirmed the message."""
        with self.unavailable_as_error():
            self.job_ref(job_id).update({"outbox_due_at": None, "published_at": utcnow()}, **self._call)

    def unpublished_jobs(self, older_than_s: float, limit: int = 100) -> list[dict[str, Any]]:
        """Jobs whose message was never confirmed, and whose request is no longer publishing it itself."""
        cutoff = utcnow() - timedelta(seconds=older_than_s)
        query = (
            self.client.collection(JOBS)
            .where(filter=firestore.FieldFilter("outbox_due_at", "<=", cutoff))
            .order_by("outbox_due_at")
            .limit(limit)
        )
        with self.unavailable_as_error():
            return [snapshot.to_dict() or {} for snapshot in query.stream(**self._call)]

    def request_cancel(self, job_id: str, user_id: str) -> dict[str, Any]:
        """Cancel a job: a queued one at once, a running one at its next step (via cancel_requested)."""
        ref = self.job_ref(job_id)

        def cancel(transaction: firestore.Transaction) -> dict[str, Any]:
            snapshot = ref.get(transaction=transaction, **self._call)
            job = snapshot.to_dict() if snapshot.exists else None
            if job is None or job.get("user_id") != user_id:
                raise JobNotFound(job_id)
            status = JobStatus(job["status"])
            if status.finished:
                raise JobFinished(job_id, status.value)
            now = utcnow()
            changes: dict[str, Any] = {"cancel_requested": True, "updated_at": now}
            if status is JobStatus.QUEUED:
                changes.update(status=JobStatus.CANCELLED.value, finished_at=now, outbox_due_at=None)
            transaction.update(ref, changes)
            job.update(changes)
            return job

        return self.transact(cancel)

    # --- leads --------------------------------------------------------------------------------------

    def write_leads(self, job_id: str, leads: list[Lead]) -> None:
        """Write leads in batches. Ids are deterministic, so a second write of a company overwrites it."""
        for start in range(0, len(leads), _MAX_BATCH):
            batch = self.client.batch()
            for lead in leads[start : start + _MAX_BATCH]:
                batch.set(self.leads_ref(job_id).document(lead.lead_id), lead.model_dump())
            with self.unavailable_as_error():
                batch.commit(**self._call)

    def count_leads(self, job_id: str) -> int:
        with self.unavailable_as_error():
            result = self.leads_ref(job_id).count().get(**self._call)
        return int(result[0][0].value)

    def list_leads(self, job_id: str, limit: int, after: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of leads ordered by lead_id, and the token of the next page (None on the last)."""
        query = self.leads_ref(job_id).order_by("lead_id")
        if after is not None:
            # Paging by a `where` on the ordered field: correct on Firestore and on the local emulator,
            # which ignores query cursors.
            query = query.where(filter=firestore.FieldFilter("lead_id", ">", after))
        with self.unavailable_as_error():
            rows = [snapshot.to_dict() or {} for snapshot in query.limit(limit + 1).stream(**self._call)]
        next_token = encode_page_token(rows[limit - 1]["lead_id"]) if len(rows) > limit else None
        return [lead_view(row) for row in rows[:limit]], next_token


def _idempotency_id(user_id: str, key: str) -> str:
    return hashlib.sha256(f"{user_id}\0{key}".encode()).hexdigest()
