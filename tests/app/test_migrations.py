"""Alembic migrations of the job store on SQLite (PostgreSQL: tests/app/test_distributed.py)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.jobs import Job, Source, new_job_id
from app.migrations import upgrade
from app.store import SqlJobStore, metadata


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
    assert revision == "0002" and diff == []
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
    assert revision == "0002" and diff == []
    engine = create_engine(url)
    assert "alembic_version" in inspect(engine).get_table_names()
    engine.dispose()
    store = SqlJobStore(url)
    assert store.get(job.id) == job
    store.close()
