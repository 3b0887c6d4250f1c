"""Alembic migrations of the job store on SQLite (PostgreSQL: tests/app/test_distributed.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.exceptions import InvalidInput
from app.jobs import Job, Source, new_job_id
from app.migrations import HEAD, current_revision, ensure_schema, upgrade
from app.store import SqlJobStore, jobs_table, metadata
from tests.app.server_proc import ServerProcess


def _revision_and_diff(url: str) -> tuple[str | None, list[object]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn)
            return context.get_current_revision(), list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_upgrade_creates_the_store_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    upgrade(url)
    revision, diff = _revision_and_diff(url)
    assert revision == HEAD and diff == []
    store = SqlJobStore(url, create=False)
    job = Job(id=new_job_id(), owner="o", source=Source("path", "/x.mp4"), stages=("subtitles",), options={})
    store.create(job)
    assert store.get(job.id) == job
    store.close()


def test_upgrade_adopts_a_database_the_store_created(tmp_path: Path) -> None:
    """The embedded default creates its tables itself; migrating later keeps them and their rows."""
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    store = SqlJobStore(url)
    job = Job(id=new_job_id(), owner="o", source=Source("path", "/x.mp4"), stages=("subtitles",), options={})
    store.create(job)
    store.close()
    upgrade(url)
    upgrade(url)
    revision, diff = _revision_and_diff(url)
    assert revision == HEAD and diff == []
    engine = create_engine(url)
    assert "alembic_version" in inspect(engine).get_table_names()
    engine.dispose()
    store = SqlJobStore(url)
    assert store.get(job.id) == job
    store.close()


def test_head_is_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    from app.migrations import alembic_config

    assert ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() == HEAD


def test_ensure_schema_migrates_once_then_only_looks(tmp_path: Path) -> None:
    """A new database and one the store created itself are both brought to HEAD; then it is a
    single query (the API runs it on every start)."""
    new = f"sqlite:///{tmp_path / 'new.db'}"
    assert current_revision(new) is None
    assert ensure_schema(new) is True
    assert ensure_schema(new) is False
    revision, diff = _revision_and_diff(new)
    assert revision == HEAD and diff == []

    old = f"sqlite:///{tmp_path / 'old.db'}"
    store = SqlJobStore(old)  # tables from create_all, no revision (how the API made them before)
    job = Job(id=new_job_id(), owner="o", source=Source("path", "/x.mp4"), stages=("subtitles",), options={})
    store.create(job)
    store.close()
    assert ensure_schema(old) is True and current_revision(old) == HEAD
    store = SqlJobStore(old, create=False)
    assert store.get(job.id) == job
    store.close()



def test_upgrade_from_0003_adds_the_idempotency_fingerprint(tmp_path: Path) -> None:
    """A job keyed before 0004 keeps answering its key (no fingerprint to compare); new ones get one."""
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    upgrade(url, "0003")
    job = Job(id=new_job_id(), owner="o", source=Source("path", "/x.mp4"), stages=("subtitles",), options={},
              idempotency_key="k")
    engine = create_engine(url)
    assert "idempotency_fingerprint" not in {c["name"] for c in inspect(engine).get_columns("jobs")}
    with engine.begin() as conn:
        conn.execute(jobs_table.insert().values(**job.to_record()))
    engine.dispose()
    upgrade(url)
    assert _revision_and_diff(url) == (HEAD, [])
    store = SqlJobStore(url, create=False)
    assert store.find_idempotent("o", "k", {"media": "m"}) == job
    store.create(job.with_changes(id=new_job_id(), idempotency_key="k2"), fingerprint={"media": "m"})
    with pytest.raises(InvalidInput, match="new Idempotency-Key"):
        store.find_idempotent("o", "k2", {"media": "other"})
    store.close()


@pytest.mark.e2e
def test_the_api_migrates_its_store_at_start(start_server: Callable[..., ServerProcess], tmp_path: Path) -> None:
    """A real server on a new data folder, then again on it: the store is at HEAD, rows kept."""
    data = tmp_path / "data"
    server = start_server(data_dir=data)
    with server.client() as c:
        assert c.get("/healthz").status_code == 200
    server.stop()
    url = f"sqlite:///{(data / 'jobs.db').resolve()}"
    assert _revision_and_diff(url) == (HEAD, [])
    again = start_server(data_dir=data)
    with again.client() as c:
        assert c.get("/v1/jobs").json()["jobs"] == []
    assert again.log().count("migrated the job store") == 1  # the log file is the data folder's: the first start


def test_a_new_sqlite_store_is_created_at_head_as_the_migrations_would(tmp_path: Path) -> None:
    """The shortcut of a first start (tables from the metadata, stamped HEAD) gives the schema the
    migrations give, and later migrations start from HEAD."""
    created, migrated = f"sqlite:///{tmp_path / 'created.db'}", f"sqlite:///{tmp_path / 'migrated.db'}"
    assert ensure_schema(created) is True
    upgrade(migrated)
    assert _revision_and_diff(created) == (HEAD, [])

    def schema(url: str) -> dict[str, object]:
        engine = create_engine(url)
        try:
            found = inspect(engine)
            return {t: (sorted((c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(t)),
                        sorted(str(sorted(i.items())) for i in found.get_indexes(t)))
                    for t in found.get_table_names()}
        finally:
            engine.dispose()

    assert schema(created) == schema(migrated)
