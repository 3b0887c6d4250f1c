"""Database migrations of the job store (Alembic).

``upgrade(url)`` brings a database to the newest schema; it is what ``alembic upgrade head``
does, callable from code, and safe when several processes start at once (on PostgreSQL they
take turns behind an advisory lock). A database whose tables ``SqlJobStore`` created itself
(before the API migrated at start) is adopted by the first migration, not recreated.

``ensure_schema(url)`` is what the API and the workers run at start: one query when the database
is already at ``HEAD`` (Alembic is not even imported then, which keeps the API's start fast); a new
SQLite file gets the tables of the store's metadata stamped ``HEAD``; else ``upgrade``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
_LOCK_KEY = 0x1E550_1E25  # pg_advisory_lock key: "lessonlens migrations"
HEAD = "0004"  # the newest revision in versions/ (tests/app/test_migrations.py checks it)


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` that needs no ``alembic.ini`` (what the installed package uses)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["url"] = url  # not a main option: configparser would choke on % in passwords
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision``; one process at a time on PostgreSQL."""
    from alembic import command

    if not url.startswith("postgresql"):
        command.upgrade(alembic_config(url), revision)
        return
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
            try:
                config = alembic_config(url)
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
                conn.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
                conn.commit()
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The database's Alembic revision; None when it has none (new, or made by ``create_all``)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            return None if value is None else str(value)
    finally:
        engine.dispose()


def ensure_schema(url: str) -> bool:
    """Bring the database to ``HEAD`` unless it is there already. Returns whether it migrated.

    Raises:
        sqlalchemy/alembic errors: the database cannot be reached or migrated (the message says which).
    """
    found = current_revision(url)
    if found == HEAD:
        return False
    started = time.monotonic()
    if not (found is None and url.startswith("sqlite") and _create_at_head(url)):
        upgrade(url)
    log.info("migrated the job store from %s to %s in %.2f s", found or "nothing", HEAD, time.monotonic() - started)
    return True


def _create_at_head(url: str) -> bool:
    """A new, empty SQLite database: the tables straight from the store's metadata, stamped
    ``HEAD`` (what the migrations build, without importing Alembic: a first start stays fast;
    tests/app/test_migrations.py checks both give the same schema). False when it has tables."""
    from app.store import metadata

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # another process creating it at once waits, then sees tables
            if inspect(conn).get_table_names():
                conn.rollback()
                return False
            metadata.create_all(conn)
            conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                                 "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))")
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": HEAD})
            conn.commit()
        return True
    finally:
        engine.dispose()
