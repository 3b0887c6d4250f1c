"""Job store: the ``JobStore`` protocol and its SQLAlchemy implementation.

``SqlJobStore`` works on SQLite (the embedded default, a file in the data folder) and on
PostgreSQL (``LESSONLENS_DATABASE_URL=postgresql+psycopg://...``) with the same code: plain
columns for what is filtered on, JSON columns for the rest. Read-modify-write updates lock the
row (``SELECT ... FOR UPDATE`` on Postgres). On SQLite every write transaction starts with
``BEGIN IMMEDIATE``: the processes of one server (``serve --workers N``) take turns, each waiting
up to the busy timeout, and a read-then-write never meets a write that came in between.
"""

from __future__ import annotations

import base64
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    and_,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from app.exceptions import InvalidInput, TooManyJobs
from app.jobs import (
    ACTIVE,
    Batch,
    Job,
    JobStatus,
    Source,
    StageState,
    StageStatus,
    WebhookDeliveryRecord,
    WebhookState,
    not_run,
    now_iso,
)

log = logging.getLogger(__name__)

metadata = MetaData()
jobs_table = Table(
    "jobs", metadata,
    Column("id", String(40), primary_key=True),
    Column("owner", String(120), nullable=False),
    Column("status", String(16), nullable=False),
    Column("idempotency_key", String(255), nullable=True),
    # What the key was first used for: a digest of each part of that request (``find_idempotent``).
    Column("idempotency_fingerprint", JSON(none_as_null=True), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("error", Text, nullable=True),
    Column("source", JSON, nullable=False),
    Column("stages", JSON, nullable=False),
    Column("options", JSON, nullable=False),
    Column("stage_states", JSON, nullable=False),
    Column("webhook_url", Text, nullable=True),
    Column("webhook_state", String(16), nullable=True),
    Column("deliveries", JSON, nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("started_at", String(32), nullable=True),
    Column("finished_at", String(32), nullable=True),
    # The lease of a running job (issue 18): who runs it, the token its writes must carry, and
    # when (unix seconds) it lapses unless renewed; a lapsed lease is reaped (app.lifecycle).
    Column("lease_holder", String(255), nullable=True),
    Column("lease_token", String(40), nullable=True),
    Column("lease_expires", Float, nullable=True),
    # The outbox mark: queued, and no broker message confirmed sent for it yet.
    Column("publish_pending", Boolean, nullable=False, default=False),
    Index("ix_jobs_owner_idem", "owner", "idempotency_key", unique=True),
    Index("ix_jobs_owner_status", "owner", "status"),
    Index("ix_jobs_status", "status"),
    Index("ix_jobs_created", "created_at", "id"),
    Index("ix_jobs_lease", "status", "lease_expires"),
    Index("ix_jobs_publish", "publish_pending"),
)


batches_table = Table(
    "batches", metadata,
    Column("id", String(40), primary_key=True),
    Column("owner", String(120), nullable=False),
    Column("folder", Text, nullable=False),
    Column("stages", JSON, nullable=False),
    Column("options", JSON, nullable=False),
    Column("webhook_url", Text, nullable=True),
    Column("per_job_webhooks", Boolean, nullable=False, default=False),
    Column("metadata", JSON, nullable=False),
    Column("job_ids", JSON, nullable=False),
    Column("rejected", JSON, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("finished_at", String(32), nullable=True),
    Index("ix_batches_owner_created", "owner", "created_at", "id"),
)


@dataclass(frozen=True)
class Lease:
    """A worker's hold on a running job: who, the token its writes carry, and for how long each
    renewal extends it."""

    holder: str
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    ttl_s: float = 60.0

    def expires(self) -> float:
        return time.time() + self.ttl_s


class JobStore(Protocol):
    """Where jobs live. Implementations: ``SqlJobStore`` (SQLite or Postgres)."""

    local_reads: bool  # reads are local and never wait: the API may run them on its event loop

    def create(self, job: Job, active_limit: int | None = None,
               fingerprint: Mapping[str, str] | None = None) -> tuple[Job, bool]:
        """Insert ``job``; with an idempotency key already used by its owner, the existing job
        and False (``find_idempotent``: refused when ``fingerprint`` differs). With
        ``active_limit``, raises TooManyJobs when the owner already has that many queued or
        running jobs (checked atomically with the insert). ``fingerprint``: what the job's
        idempotency key stands for, a digest of each part of its request."""
        ...

    def get(self, job_id: str) -> Job | None: ...

    def get_many(self, job_ids: Sequence[str]) -> list[Job]:
        """The jobs with these ids that still exist, in the order given (deleted ones left out)."""
        ...

    def find_idempotent(self, owner: str, key: str,
                        fingerprint: Mapping[str, str] | None = None) -> Job | None:
        """The owner's job made with idempotency key ``key``, or None.

        Raises:
            InvalidInput: ``fingerprint`` given and the key was first used for a request whose
                fingerprint differs (422 ``idempotency_key_reused``, naming the parts that differ).
                Jobs stored before fingerprints were kept have none and are returned as they are.
        """
        ...

    def list_jobs(self, owner: str | None, status: JobStatus | None, limit: int,
             cursor: str | None) -> tuple[list[Job], str | None]:
        """Newest first; returns a page and the cursor of the next page (None at the end). The
        cursor carries the sort keys of the page's last job, so deleting that job ends nothing.

        Raises:
            InvalidInput: a cursor that is not one this store gave (422 ``invalid_cursor``).
        """
        ...

    def count_active(self, owner: str) -> int: ...

    def count_by_status(self) -> dict[str, int]: ...

    def claim(self, job_id: str, lease: Lease | None = None) -> Job | None:
        """queued -> running (attempts + 1) under ``lease``; None when the job is gone, cancelled
        or not queued."""
        ...

    def renew(self, job_id: str, lease: Lease) -> bool:
        """Extend the job's lease; False when the lease is no longer this one's (reaped: stop)."""
        ...

    def put_stages(self, job_id: str, states: Mapping[str, StageState], *, unless_cancelled: bool = False,
                   lease: Lease | None = None) -> bool:
        """Replace the job's stage states in one write (its worker is their only writer), renewing
        the lease. False when the job is gone, ``lease`` is no longer the job's, or, with
        ``unless_cancelled``, its cancel was requested."""
        ...

    def update_source(self, job_id: str, source: Source) -> None: ...

    def finish(self, job_id: str, status: JobStatus, error: str | None = None,
               lease: Lease | None = None, stages: Mapping[str, StageState] | None = None) -> Job | None:
        """End the job; with ``lease``, only while the job still holds it (fencing): None otherwise.
        ``stages``: its stage states, written with its end (a worker's last stage ends with the job)."""
        ...

    def requeue(self, job_id: str, *, count_attempt: bool, lease: Lease | None = None) -> None: ...

    def reap(self, decide: Callable[[Job], Job], now: float | None = None) -> list[Job]:
        """Replace each running job whose lease lapsed by ``decide(job)`` (one reaper at a time);
        the queued ones are marked to publish. Returns them as stored."""
        ...

    def unpublished(self, limit: int = 100) -> list[Job]:
        """Queued jobs with no broker message confirmed sent (the outbox), oldest first."""
        ...

    def mark_published(self, job_id: str) -> None: ...

    def take_unpublished(self, limit: int = 500) -> list[str]:
        """Ids of the outbox's jobs, oldest first, their marks cleared in the same transaction: of
        several takers each gets a job once (the embedded leader hands them to its threads)."""
        ...

    def request_cancel(self, job_id: str) -> Job | None: ...

    def cancel_requested(self, job_id: str) -> bool: ...

    def add_delivery(self, job_id: str, record: WebhookDeliveryRecord, state: WebhookState) -> None: ...

    def delete(self, job_id: str) -> bool: ...

    def recover(self, decide: Callable[[Job], Job], job_id: str | None = None) -> list[Job]:
        """Replace each job still ``running`` (every one, or only ``job_id``) by ``decide(job)``,
        atomically with reading it; returns the jobs as stored. ``app.lifecycle`` decides."""
        ...

    def queued_ids(self) -> list[str]: ...

    def pending_webhooks(self) -> list[Job]: ...

    def ping(self) -> None: ...

    def close(self) -> None: ...

    def create_batch(self, batch: Batch) -> None: ...

    def get_batch(self, batch_id: str) -> Batch | None: ...

    def list_batches(self, owner: str, limit: int) -> list[Batch]: ...

    def finish_batch(self, batch_id: str) -> bool: ...


# ---------------------------------------------------------------- listing cursors
#
# A page's cursor carries the sort keys of its last job (created_at, id), so the next page starts
# after them whether or not that job still exists: base64url of the creation time in
# microseconds (8 bytes, big-endian) and the id, 46 characters for a ``job_`` id. Cursors of
# earlier versions were a bare job id: those keep working while their job exists.

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BAD_CURSOR = ("pass the next_cursor of the previous page unchanged, or leave cursor out to list "
               "from the newest job.")


def _created_text(micros: int) -> str:
    """A creation time in microseconds as the store keeps it (``app.jobs.now_iso``'s format)."""
    return (_EPOCH + timedelta(microseconds=micros)).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _page_cursor(job: Job) -> str:
    """The cursor of the page after ``job``."""
    try:
        micros = (datetime.fromisoformat(job.created_at) - _EPOCH) // timedelta(microseconds=1)
    except (TypeError, ValueError):
        return job.id  # not a time this store wrote: the old kind of cursor, good while the job lives
    if micros < 0 or _created_text(micros) != job.created_at:
        return job.id
    raw = micros.to_bytes(8, "big") + job.id.encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_keys(cursor: str, conn: Connection) -> tuple[str, str]:
    """The (created_at, id) a page starts after.

    Raises:
        InvalidInput: a cursor this store did not give, or an old-style one whose job is gone.
    """
    if cursor.startswith("job_"):  # an old-style cursor: the last job's id
        anchor = conn.execute(select(jobs_table.c.created_at).where(jobs_table.c.id == cursor)).scalar()
        if anchor is None:
            raise InvalidInput(f"the job this cursor names ({cursor}) no longer exists: {_BAD_CURSOR}",
                               code="invalid_cursor")
        return str(anchor), cursor
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        micros, job_id = int.from_bytes(raw[:8], "big"), raw[8:].decode("ascii")
        if not job_id.isprintable() or len(raw) <= 8:
            raise ValueError(cursor)
        return _created_text(micros), job_id
    except (ValueError, OverflowError) as err:  # binascii.Error is a ValueError
        raise InvalidInput(f"cursor {cursor!r} is not one this API gave: {_BAD_CURSOR}",
                           code="invalid_cursor") from err


def _job(row: Row[Any]) -> Job:
    return Job.from_record(cast("Mapping[str, Any]", row._mapping))


def _batch(row: Row[Any]) -> Batch:
    return Batch.from_record(cast("Mapping[str, Any]", row._mapping))


def _late_cancel(status: JobStatus, error: str | None) -> str:
    """The error of a job whose cancel was asked after its run's last check for one: it ends
    ``cancelled`` all the same, saying how its run had ended (its files are kept)."""
    if status == JobStatus.CANCELLED:
        return error or "cancelled by request"
    ended = "its stages had all run" if status == JobStatus.SUCCEEDED else f"it had failed: {error}"
    return f"cancelled by request as it ended ({ended}; its files are kept)"


class _Statements:
    """The hot statements, built once with bound parameters: SQLAlchemy then reuses their compiled
    form from its cache without rebuilding the statement and its cache key on every call."""

    t = jobs_table
    active = tuple(sorted(s.value for s in ACTIVE))
    get = select(t).where(t.c.id == bindparam("job_id"))
    insert = t.insert()
    count_active = (select(func.count()).select_from(t)
                    .where(t.c.owner == bindparam("owner"), t.c.status.in_(active)))
    claim = (update(t).where(t.c.id == bindparam("job_id"), t.c.status == JobStatus.QUEUED.value,
                             t.c.cancel_requested.is_(False))
             .values(status=JobStatus.RUNNING.value, attempts=t.c.attempts + 1, started_at=bindparam("now"),
                     updated_at=bindparam("now"), error=None, lease_holder=bindparam("holder"),
                     lease_token=bindparam("token"), lease_expires=bindparam("expires"), publish_pending=False)
             .returning(*t.c))
    renew = (update(t).where(t.c.id == bindparam("job_id"), t.c.lease_token == bindparam("token"),
                             t.c.status == JobStatus.RUNNING.value)
             .values(lease_expires=bindparam("expires")))
    put_stages = (update(t).where(t.c.id == bindparam("job_id"))
                  .values(stage_states=bindparam("states", type_=t.c.stage_states.type),
                          updated_at=bindparam("now")))
    put_stages_unless_cancelled = put_stages.where(t.c.cancel_requested.is_(False))
    # A cancel asked after the run's last check (``app.worker._Reporter``) still ends the job
    # ``cancelled``: the 202 that answered it said so, and a batch's take-back counts on it.
    finish = (update(t).where(t.c.id == bindparam("job_id"))
              .values(status=case((t.c.cancel_requested.is_(True), JobStatus.CANCELLED.value),
                                  else_=bindparam("new_status")),
                      error=case((t.c.cancel_requested.is_(True), bindparam("cancel_error")),
                                 else_=bindparam("new_error")),
                      finished_at=bindparam("now"),
                      updated_at=bindparam("now"), lease_holder=None, lease_token=None, lease_expires=None,
                      publish_pending=False,
                      webhook_state=case((t.c.webhook_url.is_not(None), WebhookState.PENDING.value),
                                         else_=t.c.webhook_state))
              .returning(*t.c))
    fenced = t.c.lease_token == bindparam("token")
    # A worker's writes carry its lease: fenced, and each stage write renews the lease.
    put_stages_leased = put_stages.where(fenced).values(lease_expires=bindparam("expires"))
    put_stages_unless_cancelled_leased = put_stages_unless_cancelled.where(fenced).values(
        lease_expires=bindparam("expires"))
    # A worker's end only while the job is still running under its lease.
    held = and_(fenced, t.c.status == JobStatus.RUNNING.value)
    finish_leased = finish.where(held)
    finish_with_stages = finish.values(stage_states=bindparam("states", type_=t.c.stage_states.type))
    finish_with_stages_leased = finish_with_stages.where(held)
    # The outbox, read by the leader's relay every ``OUTBOX_POLL_S`` (app.queue), mostly finding none.
    unpublished_ids = (select(t.c.id).where(t.c.publish_pending.is_(True), t.c.status == JobStatus.QUEUED.value)
                       .order_by(t.c.created_at).limit(bindparam("limit", type_=Integer)))
    clear_published = (update(t).where(t.c.id.in_(bindparam("ids", expanding=True)))
                       .values(publish_pending=False))


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers never wait for the worker's writes
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    # No checkpoint inside a commit: it would copy the WAL into the database and fsync while the
    # committing request or worker waits. ``_Checkpointer`` does it in the background instead.
    cur.execute("PRAGMA wal_autocheckpoint=0")
    cur.close()


class _Checkpointer:
    """Copies the SQLite WAL into the database every ``every_s`` seconds, off the request path.

    A PASSIVE checkpoint never blocks readers or writers; SQLite releases the GIL while it runs.
    """

    def __init__(self, engine: Engine, every_s: float = 1.0) -> None:
        self._engine = engine
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _checkpoint(self, mode: str) -> None:
        with self._engine.connect() as conn:
            conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})")

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            try:
                self._checkpoint("PASSIVE")
            except Exception:  # a busy or closed database: the next round tries again
                log.debug("WAL checkpoint failed", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self._checkpoint("TRUNCATE")  # leave a small WAL behind
        except Exception:
            log.warning("final WAL checkpoint failed; SQLite will replay the WAL on next open", exc_info=True)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL mode, a busy timeout and cross-thread connections."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10},
                               pool_size=8, max_overflow=16)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=16)


class SqlJobStore:
    """``JobStore`` on SQLAlchemy 2 Core (SQLite or PostgreSQL)."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self._engine = make_engine(url)
        self._lock = threading.RLock()
        self._sqlite = url.startswith("sqlite")
        # Reads of a local SQLite file in WAL mode take well under a millisecond and never wait for
        # a writer, so the API may run them on its event loop instead of paying a thread hop.
        self.local_reads = self._sqlite
        if create:  # Postgres deployments run Alembic migrations instead (issue 8)
            metadata.create_all(self._engine)
        self._checkpointer = _Checkpointer(self._engine) if self._sqlite else None

    # ------------------------------------------------------------ helpers

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self._lock, self._engine.begin() as conn:
            if self._sqlite:
                # Take the write lock first: a transaction that reads and then writes would else
                # fail at once (SQLITE_BUSY, no waiting) when another process wrote in between.
                # Other writers then wait up to the busy timeout; the thread lock spares this
                # process's threads that polling.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn

    def _load_for_update(self, conn: Connection, job_id: str) -> Job | None:
        query = select(jobs_table).where(jobs_table.c.id == job_id)
        if not self._sqlite:
            query = query.with_for_update()
        row = conn.execute(query).first()
        return _job(row) if row else None

    def _set(self, conn: Connection, job_id: str, **values: Any) -> None:
        values["updated_at"] = now_iso()
        conn.execute(update(jobs_table).where(jobs_table.c.id == job_id).values(**values))

    # ------------------------------------------------------------ reads

    def get(self, job_id: str) -> Job | None:
        with self._engine.connect() as conn:
            row = conn.execute(_Statements.get, {"job_id": job_id}).first()
        return _job(row) if row else None

    def get_many(self, job_ids: Sequence[str]) -> list[Job]:
        found: dict[str, Job] = {}
        with self._engine.connect() as conn:
            for i in range(0, len(job_ids), 500):  # SQLite caps the parameters of one statement
                rows = conn.execute(select(jobs_table).where(jobs_table.c.id.in_(job_ids[i:i + 500]))).all()
                found.update((r.id, _job(r)) for r in rows)
        return [found[i] for i in job_ids if i in found]

    def find_idempotent(self, owner: str, key: str,
                        fingerprint: Mapping[str, str] | None = None) -> Job | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(jobs_table).where(
                jobs_table.c.owner == owner, jobs_table.c.idempotency_key == key)).first()
        if row is None:
            return None
        job = _job(row)
        first = row.idempotency_fingerprint
        if fingerprint is not None and first is not None:
            differs = sorted(part for part in set(first) | set(fingerprint)
                             if first.get(part) != fingerprint.get(part))
            if differs:
                raise InvalidInput(
                    f"Idempotency-Key {key!r} was first used for another request (job {job.id}); this one "
                    f"differs in its {', '.join(differs)}. Send it with a new Idempotency-Key, or repeat the "
                    f"first request unchanged to get job {job.id}.",
                    detail={"job_id": job.id, "differs": differs}, code="idempotency_key_reused")
        return job

    def list_jobs(self, owner: str | None, status: JobStatus | None, limit: int,
             cursor: str | None) -> tuple[list[Job], str | None]:
        t = jobs_table
        query = select(t)
        if owner is not None:
            query = query.where(t.c.owner == owner)
        if status is not None:
            query = query.where(t.c.status == status.value)
        with self._engine.connect() as conn:
            if cursor:
                anchor, after = _cursor_keys(cursor, conn)
                query = query.where(or_(t.c.created_at < anchor,
                                        and_(t.c.created_at == anchor, t.c.id < after)))
            rows = conn.execute(query.order_by(t.c.created_at.desc(), t.c.id.desc())
                                .limit(limit + 1)).all()
        jobs = [_job(r) for r in rows[:limit]]
        return jobs, (_page_cursor(jobs[-1]) if len(rows) > limit else None)

    def count_active(self, owner: str) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(_Statements.count_active, {"owner": owner}).scalar_one())

    def count_by_status(self) -> dict[str, int]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(jobs_table.c.status, func.count())
                                .group_by(jobs_table.c.status)).all()
        return {status: int(n) for status, n in rows}

    def cancel_requested(self, job_id: str) -> bool:
        with self._engine.connect() as conn:
            value = conn.execute(select(jobs_table.c.cancel_requested)
                                 .where(jobs_table.c.id == job_id)).scalar()
        return value is None or bool(value)  # a deleted job counts as cancelled

    def queued_ids(self) -> list[str]:
        with self._engine.connect() as conn:
            return list(conn.execute(select(jobs_table.c.id).where(
                jobs_table.c.status == JobStatus.QUEUED.value).order_by(jobs_table.c.created_at)
            ).scalars())

    def pending_webhooks(self) -> list[Job]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(jobs_table).where(jobs_table.c.webhook_state == WebhookState.PENDING.value)).all()
        return [_job(r) for r in rows]

    def ping(self) -> None:
        with self._engine.connect() as conn:
            conn.execute(select(1))

    # ------------------------------------------------------------ writes

    def create(self, job: Job, active_limit: int | None = None,
               fingerprint: Mapping[str, str] | None = None) -> tuple[Job, bool]:
        try:
            with self._tx() as conn:
                if active_limit is not None:
                    self._check_active(conn, job.owner, active_limit)
                # The outbox mark goes in with the row: a publisher sends what the API could not.
                conn.execute(_Statements.insert, {**job.to_record(), "publish_pending": True,
                                                  "idempotency_fingerprint": fingerprint})
            return job, True
        except IntegrityError:
            if job.idempotency_key is None:
                raise
            existing = self.find_idempotent(job.owner, job.idempotency_key, fingerprint)
            if existing is None:
                raise
            return existing, False

    def _check_active(self, conn: Connection, owner: str, limit: int) -> None:
        if not self._sqlite:  # serialise one owner's submissions across API processes
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:owner))"), {"owner": owner})
        active = conn.execute(_Statements.count_active, {"owner": owner}).scalar_one()
        if active >= limit:
            raise TooManyJobs(f"{active} jobs are queued or running for this API key (limit {limit}); "
                              "wait for some to finish.", detail={"active": int(active), "limit": limit})

    def claim(self, job_id: str, lease: Lease | None = None) -> Job | None:
        # One conditional UPDATE: atomic across threads and processes, on SQLite and Postgres alike.
        lease = lease or Lease("")
        params = {"job_id": job_id, "now": now_iso(), "holder": lease.holder, "token": lease.token,
                  "expires": lease.expires()}
        with self._tx() as conn:
            row = conn.execute(_Statements.claim, params).first()
        return _job(row) if row else None

    def renew(self, job_id: str, lease: Lease) -> bool:
        with self._tx() as conn:
            params = {"job_id": job_id, "token": lease.token, "expires": lease.expires()}
            return bool(conn.execute(_Statements.renew, params).rowcount)

    def put_stages(self, job_id: str, states: Mapping[str, StageState], *, unless_cancelled: bool = False,
                   lease: Lease | None = None) -> bool:
        params: dict[str, Any] = {"job_id": job_id, "states": {k: v.to_dict() for k, v in states.items()},
                                  "now": now_iso()}
        if lease is None:
            query = _Statements.put_stages_unless_cancelled if unless_cancelled else _Statements.put_stages
        else:  # fenced, and the write renews the lease
            query = (_Statements.put_stages_unless_cancelled_leased if unless_cancelled
                     else _Statements.put_stages_leased)
            params |= {"token": lease.token, "expires": lease.expires()}
        with self._tx() as conn:
            return bool(conn.execute(query, params).rowcount)

    def update_source(self, job_id: str, source: Source) -> None:
        with self._tx() as conn:
            self._set(conn, job_id, source=asdict(source))

    def finish(self, job_id: str, status: JobStatus, error: str | None = None,
               lease: Lease | None = None, stages: Mapping[str, StageState] | None = None) -> Job | None:
        # One UPDATE: a webhook becomes pending only where one is set; with a lease, only while
        # the job still holds it, so a worker whose job was reaped and run again cannot end it.
        params: dict[str, Any] = {"job_id": job_id, "new_status": status.value, "new_error": error,
                                  "cancel_error": _late_cancel(status, error), "now": now_iso()}
        if stages is None:
            query = _Statements.finish if lease is None else _Statements.finish_leased
        else:
            query = _Statements.finish_with_stages if lease is None else _Statements.finish_with_stages_leased
            params["states"] = {k: v.to_dict() for k, v in stages.items()}
        if lease is not None:
            params["token"] = lease.token
        with self._tx() as conn:
            row = conn.execute(query, params).first()
        return _job(row) if row else None

    def requeue(self, job_id: str, *, count_attempt: bool, lease: Lease | None = None) -> None:
        with self._tx() as conn:
            job = self._load_for_update(conn, job_id)
            if job is None:
                return
            if lease is not None and conn.execute(select(jobs_table.c.lease_token).where(
                    jobs_table.c.id == job_id)).scalar() != lease.token:
                return  # reaped meanwhile: the reaper already queued it again
            attempts = job.attempts if count_attempt else max(0, job.attempts - 1)
            # A stage it was running waits again, as after a recovery (``app.lifecycle.interrupted``):
            # a job handed back by a stop its run did not heed showed it running while queued.
            stages = {name: (StageState() if state.status == StageStatus.RUNNING else state).to_dict()
                      for name, state in job.stage_states.items()}
            self._set(conn, job_id, status=JobStatus.QUEUED.value, attempts=attempts, started_at=None,
                      stage_states=stages, lease_holder=None, lease_token=None, lease_expires=None,
                      publish_pending=True)

    def reap(self, decide: Callable[[Job], Job], now: float | None = None) -> list[Job]:
        t = jobs_table
        now = time.time() if now is None else now
        query = (select(t).where(t.c.status == JobStatus.RUNNING.value, t.c.lease_expires < now)
                 .order_by(t.c.created_at))
        reaped: list[Job] = []
        with self._engine.connect() as conn:  # most rounds find nothing: no write lock for that
            if conn.execute(query.with_only_columns(t.c.id).limit(1)).first() is None:
                return reaped
        with self._tx() as conn:
            if not self._sqlite:  # one reaper at a time across processes; the others skip this round
                if not conn.execute(text("SELECT pg_try_advisory_xact_lock(hashtext('lessonlens reaper'))")).scalar():
                    return []
                query = query.with_for_update(skip_locked=True)
            for row in conn.execute(query).all():
                job = decide(_job(row)).with_changes(updated_at=now_iso())
                # Conditional on the lapsed token: a renewal that got in first keeps the job.
                done = conn.execute(update(t).where(t.c.id == job.id, t.c.lease_token == row.lease_token,
                                                    t.c.lease_expires < now)
                                    .values(**job.to_record(), lease_holder=None, lease_token=None,
                                            lease_expires=None,
                                            publish_pending=job.status == JobStatus.QUEUED)).rowcount
                if done:
                    reaped.append(job)
        return reaped

    def unpublished(self, limit: int = 100) -> list[Job]:
        t = jobs_table
        with self._engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.publish_pending.is_(True), t.c.status == JobStatus.QUEUED.value)
                                .order_by(t.c.created_at).limit(limit)).all()
        return [_job(r) for r in rows]

    def take_unpublished(self, limit: int = 500) -> list[str]:
        query = _Statements.unpublished_ids
        with self._engine.connect() as conn:  # most rounds find none: no write lock for that
            if conn.execute(query, {"limit": 1}).first() is None:
                return []
        with self._tx() as conn:
            if not self._sqlite:
                query = query.with_for_update(skip_locked=True)
            ids = list(conn.execute(query, {"limit": limit}).scalars())
            if ids:
                conn.execute(_Statements.clear_published, {"ids": ids})
        return ids

    def mark_published(self, job_id: str) -> None:
        with self._tx() as conn:
            conn.execute(update(jobs_table).where(jobs_table.c.id == job_id).values(publish_pending=False))

    def request_cancel(self, job_id: str) -> Job | None:
        with self._tx() as conn:
            job = self._load_for_update(conn, job_id)
            if job is None or job.status.terminal:
                return job
            if job.status == JobStatus.QUEUED:  # ends here: no stage of it is left pending
                stages = not_run(job.stage_states, "the job was cancelled")
                values: dict[str, Any] = {"status": JobStatus.CANCELLED.value, "cancel_requested": True,
                                          "finished_at": now_iso(), "error": "cancelled by request",
                                          "stage_states": {k: v.to_dict() for k, v in stages.items()}}
                if job.webhook_url:
                    values["webhook_state"] = WebhookState.PENDING.value
                self._set(conn, job_id, **values)
            else:
                self._set(conn, job_id, cancel_requested=True)
        return self.get(job_id)

    def add_delivery(self, job_id: str, record: WebhookDeliveryRecord, state: WebhookState) -> None:
        with self._tx() as conn:
            job = self._load_for_update(conn, job_id)
            if job is None:
                return
            log_ = [asdict(d) for d in job.deliveries] + [asdict(record)]
            self._set(conn, job_id, deliveries=log_, webhook_state=state.value)

    def delete(self, job_id: str) -> bool:
        with self._tx() as conn:
            return bool(conn.execute(delete(jobs_table).where(jobs_table.c.id == job_id)).rowcount)

    def recover(self, decide: Callable[[Job], Job], job_id: str | None = None) -> list[Job]:
        t = jobs_table
        query = select(t).where(t.c.status == JobStatus.RUNNING.value).order_by(t.c.created_at)
        if job_id is not None:
            query = query.where(t.c.id == job_id)
        if not self._sqlite:  # a worker may take over a job while another one ends it
            query = query.with_for_update()
        recovered: list[Job] = []
        with self._tx() as conn:
            for row in conn.execute(query).all():
                job = decide(_job(row)).with_changes(updated_at=now_iso())
                conn.execute(update(t).where(t.c.id == job.id).values(
                    **job.to_record(), lease_holder=None, lease_token=None, lease_expires=None,
                    publish_pending=job.status == JobStatus.QUEUED))
                recovered.append(job)
        return recovered

    # ------------------------------------------------------------ batches

    def create_batch(self, batch: Batch) -> None:
        """Store a new batch (its jobs are created separately, through ``create``)."""
        with self._tx() as conn:
            conn.execute(batches_table.insert().values(**batch.to_record()))

    def get_batch(self, batch_id: str) -> Batch | None:
        """The batch with this id, or None."""
        with self._engine.connect() as conn:
            row = conn.execute(select(batches_table).where(batches_table.c.id == batch_id)).first()
        return _batch(row) if row else None

    def list_batches(self, owner: str, limit: int) -> list[Batch]:
        """An owner's batches, newest first."""
        t = batches_table
        with self._engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.owner == owner)
                                .order_by(t.c.created_at.desc(), t.c.id.desc()).limit(limit)).all()
        return [_batch(r) for r in rows]

    def finish_batch(self, batch_id: str) -> bool:
        """Mark a batch finished; True only for the one call that did (the batch webhook fires once)."""
        t = batches_table
        with self._tx() as conn:
            result = conn.execute(update(t).where(t.c.id == batch_id, t.c.finished_at.is_(None))
                                  .values(finished_at=now_iso()))
        return bool(result.rowcount)

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self._engine.dispose()
