"""The Firestore job store (contract §5): the one module that talks to Firestore. Jobs, their leads, idempotency
records and the outbox marks; every call bounded in time, every outage translated to StoreUnavailable.

Layout: `jobs/{job_id}` (a `Job`, leadengine/jobs.py), `jobs/{job_id}/leads/{lead_id}`,
`jobs/{job_id}/attempts/{n}-{created}` (one per claimed attempt: only one create() of an id succeeds, which keeps
a claim exclusive on the local emulator too), and `idempotency/{sha256(user, key)}` -> the job an Idempotency-Key
made.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.api_core.retry import Retry
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from leadengine.errors import AttemptTaken, IdempotencyConflict, JobNotFound, StoreUnavailable
from leadengine.jobs import Change, Job, utcnow
from leadengine.schemas import Lead
from leadengine.settings import Settings

JOBS = "jobs"
LEADS = "leads"
ATTEMPTS = "attempts"
IDEMPOTENCY = "idempotency"
_UNAVAILABLE = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.InternalServerError,
    gexc.Unknown,
    gexc.RetryError,
    gexc.ResourceExhausted,
    gexc.Aborted,
)
_MAX_BATCH = 400  # under Firestore's 500 writes per batch
_MAX_CONFLICTS = 5  # read-decide-write rounds lost to concurrent writers before giving up as unavailable
T = TypeVar("T")


def request_fingerprint(request: dict[str, Any]) -> str:
    """Hash of a validated request: the same body (after trimming and defaults) gives the same hash."""
    return hashlib.sha256(json.dumps(request, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@contextlib.contextmanager
def _unavailable_as_error() -> Iterator[None]:
    """Translate the client's outage errors into StoreUnavailable where they enter."""
    try:
        yield
    except _UNAVAILABLE as e:
        raise StoreUnavailable(f"Firestore is unavailable: {type(e).__name__}") from e


def _diff(before: Job, after: Job) -> dict[str, Any]:
    """The top-level fields that differ: what an update must write."""
    old, new = before.to_document(), after.to_document()
    return {name: value for name, value in new.items() if old.get(name) != value}


class JobStore:
    """All Firestore access of the function, the relay and the runner. The client is created lazily once."""

    def __init__(self, settings: Settings, client: firestore.Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._client_lock = threading.Lock()
        timeout = settings.firestore_timeout_s
        # Bounded: a Firestore outage must surface as StoreUnavailable within the timeout, not hang.
        self._call: dict[str, Any] = {"timeout": timeout, "retry": Retry(initial=0.1, maximum=1.0, timeout=timeout)}
        self._change_budget_s = 3 * timeout

    @property
    def client(self) -> firestore.Client:
        with self._client_lock:
            if self._client is None:
                self._client = self._new_client()
            return self._client

    def _new_client(self) -> firestore.Client:
        emulator = self._settings.firestore_emulator_host
        if not emulator:
            return firestore.Client(project=self._settings.google_cloud_project)
        client = firestore.Client(project=self._settings.google_cloud_project, credentials=AnonymousCredentials())
        # The client reads FIRESTORE_EMULATOR_HOST from the environment only; a value from `.env` (or from the
        # settings object) reaches it here, without writing to os.environ. The channel is made lazily from it.
        client._emulator_host = emulator
        return client

    def _job_ref(self, job_id: str) -> firestore.DocumentReference:
        return self.client.collection(JOBS).document(job_id)

    def _leads_ref(self, job_id: str) -> firestore.CollectionReference:
        return self._job_ref(job_id).collection(LEADS)

    def _idempotency_ref(self, user_id: str, key: str) -> firestore.DocumentReference:
        return self.client.collection(IDEMPOTENCY).document(hashlib.sha256(f"{user_id}\0{key}".encode()).hexdigest())

    # --- jobs ---------------------------------------------------------------------------------------

    def create_job(self, job: Job, idempotency_key: str | None = None) -> tuple[Job, bool]:
        """Write a new job, and with an Idempotency-Key its record, in one atomic batch.

        Returns (job, created). When the key was used before with the same request, the first job is returned
        with created=False; with a different request, IdempotencyConflict."""
        batch = self.client.batch()
        idem_ref = None
        fingerprint = request_fingerprint(job.request.model_dump())
        if idempotency_key is not None:
            idem_ref = self._idempotency_ref(job.user_id, idempotency_key)
            batch.create(idem_ref, {"job_id": job.job_id, "user_id": job.user_id, "fingerprint": fingerprint,
                                    "created_at": job.created_at})  # fmt: skip
        batch.create(self._job_ref(job.job_id), job.to_document())
        try:
            with _unavailable_as_error():
                batch.commit(**self._call)
        except gexc.AlreadyExists:
            if idem_ref is None:
                raise StoreUnavailable(f"job {job.job_id} already exists") from None
            return self._replay(idem_ref, fingerprint), False
        return job, True

    def create_job_if_missing(self, job: Job) -> bool:
        """Create the job unless a document of that id exists; True if this call created it."""
        try:
            with _unavailable_as_error():
                self._job_ref(job.job_id).create(job.to_document(), **self._call)
        except gexc.AlreadyExists:
            return False
        return True

    def _replay(self, idem_ref: firestore.DocumentReference, fingerprint: str) -> Job:
        with _unavailable_as_error():
            record = idem_ref.get(**self._call).to_dict() or {}
        if record.get("fingerprint") != fingerprint:
            raise IdempotencyConflict("this Idempotency-Key was already used with a different request body")
        return self.get_job(record["job_id"], record["user_id"])

    def discard_job(self, job_id: str, user_id: str, idempotency_key: str | None) -> None:
        """Best effort: remove a job whose creation may have half-happened before we answered 503.

        The Idempotency-Key record goes only if it names this job: the 503 may come from replaying an earlier
        request's record, which must survive so that a retry still answers with that earlier job."""
        # A record never changes once written, so reading it first is enough to know whether it is this job's.
        with contextlib.suppress(Exception):
            batch = self.client.batch()
            batch.delete(self._job_ref(job_id))
            if idempotency_key is not None:
                idem_ref = self._idempotency_ref(user_id, idempotency_key)
                record = idem_ref.get(**self._call)
                if record.exists and record.get("job_id") == job_id:
                    batch.delete(idem_ref)
            batch.commit(**self._call)

    def find_job(self, job_id: str) -> Job | None:
        with _unavailable_as_error():
            snapshot = self._job_ref(job_id).get(**self._call)
        return Job.from_document(snapshot.to_dict() or {}) if snapshot.exists else None

    def get_job(self, job_id: str, user_id: str | None = None) -> Job:
        """The job; JobNotFound when it is missing or (given user_id) belongs to someone else."""
        job = self.find_job(job_id)
        if job is None or (user_id is not None and job.user_id != user_id):
            raise JobNotFound(job_id)
        return job

    def change_job(self, job_id: str, decide: Callable[[Job | None], Change[T]]) -> T:
        """Read the job, decide, write what changed: the one way a job changes once it exists.

        Optimistic concurrency: the write carries the read's update time as a precondition, so on Firestore
        a concurrent writer makes it fail and the decision is taken again on the fresh document (a transaction
        on one document, without the BeginTransaction round trip). The local emulator ignores preconditions; the
        one race that matters there, the claim of an attempt, also rests on create() of its marker in the same
        atomic batch (AttemptTaken). Bounded by 3 x FIRESTORE_TIMEOUT_S."""
        deadline = time.monotonic() + self._change_budget_s
        ref = self._job_ref(job_id)
        for _ in range(_MAX_CONFLICTS):
            with _unavailable_as_error():
                snapshot = ref.get(**self._call)
            job = Job.from_document(snapshot.to_dict() or {}) if snapshot.exists else None
            change = decide(job)
            if change.job is None or job is None:
                return change.result
            fields = _diff(job, change.job)
            if not fields and change.marker is None:
                return change.result
            batch = self.client.batch()
            if change.marker is not None:
                batch.create(ref.collection(ATTEMPTS).document(change.marker),
                             {"runner": change.job.runner, "started_at": change.job.updated_at})  # fmt: skip
            batch.update(ref, fields, option=self.client.write_option(last_update_time=snapshot.update_time))
            try:
                with _unavailable_as_error():
                    batch.commit(**self._call)
            except gexc.AlreadyExists as e:
                raise AttemptTaken(job_id) from e
            except gexc.FailedPrecondition:
                if time.monotonic() > deadline:
                    break
                continue  # written meanwhile: decide again on what is there now
            return change.result
        raise StoreUnavailable(f"job {job_id} kept changing under us; try again")

    def mark_published(self, job_id: str) -> None:
        """Clear the outbox mark once the broker confirmed the message."""
        with _unavailable_as_error():
            self._job_ref(job_id).update({"outbox_due_at": None, "published_at": utcnow()}, **self._call)

    def mark_published_many(self, job_ids: list[str]) -> None:
        """Clear the outbox marks of many published jobs in batched writes (one commit per 400)."""
        now = utcnow()
        for start in range(0, len(job_ids), _MAX_BATCH):
            batch = self.client.batch()
            for job_id in job_ids[start : start + _MAX_BATCH]:
                batch.update(self._job_ref(job_id), {"outbox_due_at": None, "published_at": now})
            with _unavailable_as_error():
                batch.commit(**self._call)

    def unpublished_jobs(self, older_than_s: float, limit: int = 100) -> list[Job]:
        """Jobs whose message was never confirmed, and whose request is no longer publishing it itself."""
        cutoff = utcnow() - timedelta(seconds=older_than_s)
        query = (
            self.client.collection(JOBS)
            .where(filter=firestore.FieldFilter("outbox_due_at", "<=", cutoff))
            .order_by("outbox_due_at")
            .limit(limit)
        )
        with _unavailable_as_error():
            return [Job.from_document(snapshot.to_dict() or {}) for snapshot in query.stream(**self._call)]

    # --- leads --------------------------------------------------------------------------------------

    def write_leads(self, job_id: str, leads: list[Lead]) -> None:
        """Write leads in batches. Ids are deterministic, so a second write of a company overwrites it."""
        for start in range(0, len(leads), _MAX_BATCH):
            batch = self.client.batch()
            for lead in leads[start : start + _MAX_BATCH]:
                batch.set(self._leads_ref(job_id).document(lead.lead_id), lead.model_dump())
            with _unavailable_as_error():
                batch.commit(**self._call)

    def count_leads(self, job_id: str) -> int:
        with _unavailable_as_error():
            result = self._leads_ref(job_id).count().get(**self._call)
        return int(result[0][0].value)

    def list_leads(self, job_id: str, limit: int, after: str | None = None) -> tuple[list[Lead], bool]:
        """One page of leads ordered by lead_id after the lead id `after`, and whether more follow."""
        query = self._leads_ref(job_id).order_by("lead_id")
        if after is not None:
            # Paging by a `where` on the ordered field: correct on Firestore and on the local emulator,
            # which ignores query cursors.
            query = query.where(filter=firestore.FieldFilter("lead_id", ">", after))
        with _unavailable_as_error():
            rows = [
                Lead.model_validate(snapshot.to_dict() or {})
                for snapshot in query.limit(limit + 1).stream(**self._call)
            ]
        return rows[:limit], len(rows) > limit
