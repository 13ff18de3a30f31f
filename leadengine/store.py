"""The Firestore job store (contract §5): the one module that talks to Firestore. Jobs, their leads, idempotency
records and the outbox marks; every call bounded in time, every outage translated to StoreUnavailable.

Layout: `jobs/{job_id}` (a `Job`, leadengine/jobs.py), `jobs/{job_id}/leads/{lead_id}`,
`jobs/{job_id}/attempts/{n}-{created}` (one per claimed attempt: only one create() of an id succeeds, which keeps
a claim exclusive on the local emulator too), and `idempotency/{sha256(user, key)}` -> the job an Idempotency-Key
made, and `user_places/{sha256(user)}-{n}-{generation}` -> the job holding place n of its user (fair share,
leadengine/fairshare.py; a place changes hands by create() of its next generation).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

from google.api_core import exceptions as gexc
from google.api_core.retry import Retry
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from leadengine.errors import AttemptTaken, IdempotencyConflict, JobNotFound, StoreUnavailable
from leadengine.fairshare import (
    ACTIVE_STATUSES,
    HELD_SINCE_EVER,
    Choice,
    Place,
    choose_place,
    is_stale,
    latest_places,
    next_place,
)
from leadengine.jobs import Change, Job, utcnow
from leadengine.schemas import JobStatus, Lead
from leadengine.settings import Settings

JOBS = "jobs"
LEADS = "leads"
ATTEMPTS = "attempts"
IDEMPOTENCY = "idempotency"
PLACES = "user_places"
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


@dataclass(frozen=True)
class IndexedQuery:
    """A query that Firestore serves only from a composite index: equality filters on `equals`, then ordered by
    `order_by` (a range on it allowed). The store builds these queries from this data, and a test compares it with
    the indexes declared in Terraform (infra/terraform/modules/firestore/indexes.tf)."""

    collection: str
    equals: tuple[str, ...]
    order_by: str
    direction: Literal["ASCENDING", "DESCENDING"]

    def index_fields(self) -> tuple[tuple[str, str], ...]:
        return (*((name, "ASCENDING") for name in self.equals), (self.order_by, self.direction))


JOBS_OF_USER = IndexedQuery(JOBS, ("user_id",), "created_at", "DESCENDING")
JOBS_OF_USER_WITH_STATUS = IndexedQuery(JOBS, ("user_id", "status"), "created_at", "DESCENDING")
# Stall recovery (leadengine/stalls.py): unfinished jobs idle the longest, and running jobs whose lease is live.
JOBS_IDLE_BY_STATUS = IndexedQuery(JOBS, ("status",), "updated_at", "ASCENDING")
JOBS_LEASED_BY_STATUS = IndexedQuery(JOBS, ("status",), "lease.expires_at", "ASCENDING")
JOBS_MARKED_BY_STATUS = IndexedQuery(JOBS, ("status",), "outbox_due_at", "ASCENDING")
JOBS_HELD_BY_STATUS = IndexedQuery(JOBS, ("status",), "held_at", "ASCENDING")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Every query of this module that needs a composite index (single-field ranges and orders need none).
COMPOSITE_QUERIES = (JOBS_OF_USER, JOBS_OF_USER_WITH_STATUS, JOBS_IDLE_BY_STATUS, JOBS_LEASED_BY_STATUS,
                     JOBS_MARKED_BY_STATUS, JOBS_HELD_BY_STATUS)  # fmt: skip


@dataclass(frozen=True)
class JobsCursor:
    """Where a page of a user's jobs (newest first) ended: its last `created_at`, and the jobs of exactly that
    time already shown (two jobs may share a timestamp, and a `where` on it is the one paging the emulator keeps)."""

    created_at: datetime
    seen: tuple[str, ...]


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


@dataclass(frozen=True)
class JobRead:
    """A job as read, and the version (Firestore's update time) it was read at."""

    job: Job | None
    version: Any


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
        # Housekeeping writes nobody waits for (a place's old generation): off the caller's path.
        self._housekeeping = ThreadPoolExecutor(max_workers=1, thread_name_prefix="firestore-housekeeping")

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
            # The client retried a commit whose first try landed (the reply was lost): a uuid4 job id is ours
            # alone, so an existing document of that id is this very job.
            if idem_ref is None:
                return job, True
            first = self._replay(idem_ref, fingerprint)
            return first, first.job_id == job.job_id
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
        return self.read_job(job_id).job

    def read_job(self, job_id: str) -> JobRead:
        """The job (None if missing) with the version it was read at, for a `change_job` that follows."""
        with _unavailable_as_error():
            snapshot = self._job_ref(job_id).get(**self._call)
        return JobRead(Job.from_document(snapshot.to_dict() or {}) if snapshot.exists else None, snapshot.update_time)

    def get_job(self, job_id: str, user_id: str | None = None) -> Job:
        """The job; JobNotFound when it is missing or (given user_id) belongs to someone else."""
        job = self.find_job(job_id)
        if job is None or (user_id is not None and job.user_id != user_id):
            raise JobNotFound(job_id)
        return job

    def change_job(self, job_id: str, decide: Callable[[Job | None], Change[T]], *, read: JobRead | None = None) -> T:
        """Read the job, decide, write what changed: the one way a job changes once it exists.

        Optimistic concurrency: the write carries the read's update time as a precondition, so on Firestore
        a concurrent writer makes it fail and the decision is taken again on the fresh document (a transaction
        on one document, without the BeginTransaction round trip). The local emulator ignores preconditions; the
        one race that matters there, the claim of an attempt, also rests on create() of its marker in the same
        atomic batch (AttemptTaken). Bounded by 3 x FIRESTORE_TIMEOUT_S. Given a `read` the caller just made
        (`read_job`), the first round decides on it instead of reading again: a writer since makes the write's
        precondition fail, and the next round reads afresh."""
        deadline = time.monotonic() + self._change_budget_s
        ref = self._job_ref(job_id)
        for _ in range(_MAX_CONFLICTS):
            if read is None:
                read = self.read_job(job_id)
            job, version, read = read.job, read.version, None
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
            batch.update(ref, fields, option=self.client.write_option(last_update_time=version))
            try:
                with _unavailable_as_error():
                    batch.commit(**self._call)
            except gexc.AlreadyExists as e:
                raise AttemptTaken(job_id) from e
            except gexc.FailedPrecondition:
                if time.monotonic() > deadline:
                    break
                continue  # written meanwhile: decide again on what is there now
            except StoreUnavailable:
                # The commit may have landed although its answer was lost (a timeout): look once, so that a
                # change that did happen is reported as done (a cancel answered 503 must not cancel; a claim
                # that landed must be used, not leave an attempt behind).
                if not self._landed(ref, change.job):
                    raise
            return change.result
        raise StoreUnavailable(f"job {job_id} kept changing under us; try again")

    def _landed(self, ref: firestore.DocumentReference, expected: Job) -> bool:
        """Whether the document now holds every field of `expected` (the write we could not confirm)."""
        try:
            with _unavailable_as_error():
                snapshot = ref.get(**self._call)
        except StoreUnavailable:
            return False
        return snapshot.exists and not _diff(Job.from_document(snapshot.to_dict() or {}), expected)

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

    # --- fair share (contract §8, leadengine/fairshare.py) -----------------------------------------------

    def count_active_jobs(self, user_id: str) -> int:
        """The user's jobs that are queued (held back or not) or running: what USER_MAX_ACTIVE_JOBS bounds.
        A count() aggregation: Firestore counts in the index, without reading the jobs."""
        query = (
            self.client.collection(JOBS)
            .where(filter=firestore.FieldFilter("user_id", "==", user_id))
            .where(filter=firestore.FieldFilter("status", "in", list(ACTIVE_STATUSES)))
        )
        with _unavailable_as_error():
            result: Any = query.count().get(**self._call)  # [[AggregationResult]]: one aggregation, one value
        return int(result[0][0].value)

    def held_jobs(self, user_id: str, limit: int | None = None) -> list[Job]:
        """The user's held-back jobs, oldest first, by default as many as the user has places (composite index
        user_id + held_at, declared in Terraform)."""
        query = (
            self.client.collection(JOBS)
            .where(filter=firestore.FieldFilter("user_id", "==", user_id))
            .where(filter=firestore.FieldFilter("held_at", ">=", HELD_SINCE_EVER))
            .order_by("held_at")
            .limit(limit or self._settings.user_max_running_jobs)
        )
        with _unavailable_as_error():
            return [Job.from_document(snapshot.to_dict() or {}) for snapshot in query.stream(**self._call)]

    def oldest_held_jobs(self, limit: int) -> list[Job]:
        """Held-back jobs of every user, oldest first: where the relay looks for users whose line may move."""
        query = (
            self.client.collection(JOBS)
            .where(filter=firestore.FieldFilter("held_at", ">=", HELD_SINCE_EVER))
            .order_by("held_at")
            .limit(limit)
        )
        with _unavailable_as_error():
            return [Job.from_document(snapshot.to_dict() or {}) for snapshot in query.stream(**self._call)]

    def _places(self, user_id: str) -> dict[int, Place]:
        """The latest generation of each of the user's places (a query on user_id: a few documents per place)."""
        query = self.client.collection(PLACES).where(filter=firestore.FieldFilter("user_id", "==", user_id))
        with _unavailable_as_error():
            rows = [Place.model_validate(snapshot.to_dict() or {}) for snapshot in query.stream(**self._call)]
        return latest_places(rows)

    def _create_place(self, place: Place) -> bool:
        """create() the place's next generation: False when another process created it first. The generation
        before it is deleted after (it can never be the latest again), so a user keeps a few documents only."""
        places = self.client.collection(PLACES)
        try:
            with _unavailable_as_error():
                places.document(place.document_id()).create(place.model_dump(), **self._call)
        except gexc.AlreadyExists:
            return False
        if place.generation > 0:
            # Best effort and off the caller's path: a generation left behind is never the latest again, it only
            # makes the user's places query read one more document.
            self._housekeeping.submit(self._delete_quietly, places.document(place.previous_document_id()))
        return True

    def _delete_quietly(self, ref: firestore.DocumentReference) -> None:
        with contextlib.suppress(Exception):
            ref.delete(**self._call)

    def _live(self, user_id: str, held: dict[int, Place]) -> dict[int, Place]:
        """The places among `held` whose job is unfinished (reads those jobs)."""
        refs = [self._job_ref(place.job_id) for place in held.values() if place.job_id is not None]
        with _unavailable_as_error():
            jobs = {snapshot.id: Job.from_document(snapshot.to_dict() or {})
                    for snapshot in self.client.get_all(refs, **self._call) if snapshot.exists}  # fmt: skip
        now = utcnow()
        return {index: place for index, place in held.items() if not is_stale(place, jobs.get(place.job_id or ""), now)}

    def take_place(self, user_id: str, job_id: str) -> bool:
        """Give the job one of its user's USER_MAX_RUNNING_JOBS places; True if it holds one now (perhaps from
        before), False when every place is held by an unfinished job.

        Exclusive without transactions or preconditions (which the emulator ignores): a place changes hands only by
        create() of its next generation, which one process alone can do; nothing is ever overwritten."""
        cap = self._settings.user_max_running_jobs
        for round_ in range(3):
            latest = self._places(user_id)
            held = {index: place for index, place in latest.items() if place.job_id is not None}
            if round_ > 0:  # the cheap look found every place held: see which holders finished
                held = self._live(user_id, held)
            decision = choose_place(held, job_id, cap)
            if decision.choice is Choice.HOLDS:
                return True
            if decision.choice is Choice.FULL:
                if round_ > 0:
                    return False
                continue
            for index in decision.indexes:
                if self._create_place(next_place(latest.get(index), index, user_id, job_id, utcnow())):
                    return True
        return False

    def free_places(self, user_id: str, job_id: str) -> int:
        """Hand back the places the job holds (it finished, was cancelled, or its submit failed): each gets a free
        next generation. How many it held; a place another process took over meanwhile counts as freed."""
        freed = 0
        for index, place in self._places(user_id).items():
            if place.job_id == job_id:
                self._create_place(next_place(place, index, user_id, None, utcnow()))
                freed += 1
        return freed

    def find_idempotent_job(self, user_id: str, key: str, request: dict[str, Any]) -> Job | None:
        """The job an earlier request with this Idempotency-Key made (None if none); IdempotencyConflict when that
        request had another body. For answers that must come before a new job is written (the quota's 429)."""
        ref = self._idempotency_ref(user_id, key)
        with _unavailable_as_error():
            exists = ref.get(**self._call).exists
        return self._replay(ref, request_fingerprint(request)) if exists else None

    def due_webhooks(self, limit: int = 50) -> list[Job]:
        """Jobs whose webhook delivery has an attempt due now (first ones first): never sent yet, waiting
        for its retry, or held by a sender whose lease ran out (leadengine/webhooks.py)."""
        query = (
            self.client.collection(JOBS)
            .where(filter=firestore.FieldFilter("webhook_due_at", "<=", utcnow()))
            .order_by("webhook_due_at")
            .limit(limit)
        )
        with _unavailable_as_error():
            return [Job.from_document(snapshot.to_dict() or {}) for snapshot in query.stream(**self._call)]

    # --- stall recovery (leadengine/stalls.py) -------------------------------------------------------

    def count_jobs_awaiting_a_message(self, now: datetime) -> int:
        """Unfinished jobs that should each have a message waiting in the broker: published queued jobs (not held
        back for fair share), and running jobs that no live lease holds (waiting for a retry, or handed back)."""
        jobs = self.client.collection(JOBS)
        queued = jobs.where(filter=firestore.FieldFilter("status", "==", JobStatus.QUEUED.value))
        running = jobs.where(filter=firestore.FieldFilter("status", "==", JobStatus.RUNNING.value))
        # Counted as "all, less those with a timestamp set" rather than with `== null` filters, which the local
        # emulator cannot combine; a held job has no outbox mark and a marked one is not held, so none is taken twice.
        marked = queued.where(filter=firestore.FieldFilter(JOBS_MARKED_BY_STATUS.order_by, ">", _EPOCH))
        held = queued.where(filter=firestore.FieldFilter(JOBS_HELD_BY_STATUS.order_by, ">", _EPOCH))
        leased = running.where(filter=firestore.FieldFilter(JOBS_LEASED_BY_STATUS.order_by, ">", now))
        counts = [self._count(query) for query in (queued, marked, held, running, leased)]
        return counts[0] - counts[1] - counts[2] + counts[3] - counts[4]

    def _count(self, query: Any) -> int:
        with _unavailable_as_error():
            result: Any = query.count().get(**self._call)  # [[AggregationResult]]: one aggregation, one value
        return int(result[0][0].value)

    def jobs_idle_since(self, cutoff: datetime, limit: int) -> list[Job]:
        """Queued and running jobs not updated since `cutoff`, the longest idle first."""
        found: list[Job] = []
        for status in (JobStatus.QUEUED, JobStatus.RUNNING):
            query = (
                self.client.collection(JOBS)
                .where(filter=firestore.FieldFilter("status", "==", status.value))
                .where(filter=firestore.FieldFilter(JOBS_IDLE_BY_STATUS.order_by, "<", cutoff))
                .order_by(JOBS_IDLE_BY_STATUS.order_by)
                .limit(limit)
            )
            with _unavailable_as_error():
                found += [Job.from_document(snapshot.to_dict() or {}) for snapshot in query.stream(**self._call)]
        return sorted(found, key=lambda job: job.updated_at or job.created_at)[:limit]

    # --- leads --------------------------------------------------------------------------------------

    def write_leads(self, job_id: str, leads: list[Lead], attempt: int = 0) -> None:
        """Write leads in batches, tagged with the attempt that found them. Ids are deterministic, so a second
        write of a company overwrites it (and takes it over for the later attempt)."""
        for start in range(0, len(leads), _MAX_BATCH):
            batch = self.client.batch()
            for lead in leads[start : start + _MAX_BATCH]:
                batch.set(self._leads_ref(job_id).document(lead.lead_id), {**lead.model_dump(), "attempt": attempt})
            with _unavailable_as_error():
                batch.commit(**self._call)

    def count_leads(self, job_id: str, attempt: int | None = None) -> int:
        """The job's leads, or those of one attempt."""
        query: Any = self._leads_ref(job_id)
        if attempt is not None:
            query = query.where(filter=firestore.FieldFilter("attempt", "==", attempt))
        with _unavailable_as_error():
            result = query.count().get(**self._call)
        return int(result[0][0].value)

    def delete_leads_except(self, job_id: str, attempt: int) -> int:
        """Remove the leads that earlier (or later, zombie) attempts left and this attempt did not find again:
        a job's final leads are exactly those of the attempt that finished it. Returns how many went."""
        removed = 0
        for op in ("<", ">"):
            query = self._leads_ref(job_id).where(filter=firestore.FieldFilter("attempt", op, attempt))
            with _unavailable_as_error():
                refs = [snapshot.reference for snapshot in query.stream(**self._call)]
            for start in range(0, len(refs), _MAX_BATCH):
                batch = self.client.batch()
                for ref in refs[start : start + _MAX_BATCH]:
                    batch.delete(ref)
                with _unavailable_as_error():
                    batch.commit(**self._call)
            removed += len(refs)
        return removed

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

    def lead_pages(self, job_id: str, page_size: int) -> Iterator[list[Lead]]:
        """Every lead of the job exactly once, a page at a time (an export streams them without holding them all).
        Leads written meanwhile appear if their id sorts after the page being read."""
        after: str | None = None
        while True:
            leads, more = self.list_leads(job_id, page_size, after)
            if leads:
                yield leads
            if not more:
                return
            after = leads[-1].lead_id

    # --- a user's jobs --------------------------------------------------------------------------------

    def list_jobs(
        self, user_id: str, status: JobStatus | None, limit: int, cursor: JobsCursor | None = None
    ) -> tuple[list[Job], JobsCursor | None]:
        """One page of the user's jobs, newest first, after `cursor`; and the cursor of the next page (None: this
        was the last). Paging is a `where created_at <= last` (Firestore and the emulator alike) that skips the jobs
        of that exact time already shown, so each job that existed at the first page comes exactly once, and jobs
        submitted meanwhile (newer) never enter later pages."""
        shape = JOBS_OF_USER_WITH_STATUS if status is not None else JOBS_OF_USER
        values = {"user_id": user_id, "status": status.value if status is not None else None}
        query: Any = self.client.collection(shape.collection)
        for name in shape.equals:
            query = query.where(filter=firestore.FieldFilter(name, "==", values[name]))
        seen = set(cursor.seen) if cursor is not None else set()
        if cursor is not None:
            query = query.where(filter=firestore.FieldFilter(shape.order_by, "<=", cursor.created_at))
        query = query.order_by(shape.order_by, direction=shape.direction).limit(limit + len(seen) + 1)
        with _unavailable_as_error():
            rows = [Job.from_document(snapshot.to_dict() or {}) for snapshot in query.stream(**self._call)]
        fresh = [job for job in rows if job.job_id not in seen]
        page = fresh[:limit]
        if len(fresh) <= limit:
            return page, None
        last = page[-1].created_at
        ties = [job.job_id for job in page if job.created_at == last]
        if cursor is not None and cursor.created_at == last:
            ties = [*cursor.seen, *ties]
        return page, JobsCursor(last, tuple(ties))
