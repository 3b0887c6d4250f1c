"""Database migrations of the job store (Alembic).

``upgrade(url)`` brings a database to the newest schema; it is what ``alembic upgrade head``
does, callable from code, and safe when several processes start at once (on PostgreSQL they
take turns behind an advisory lock). A database whose tables ``SqlJobStore`` created itself
(the embedded SQLite default) is adopted by the first migration, not recreated.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
_LOCK_KEY = 0x1E550_1E25  # pg_advisory_lock key: "lessonlens migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` that needs no ``alembic.ini`` (what the installed package uses)."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["url"] = url  # not a main option: configparser would choke on % in passwords
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision``; one process at a time on PostgreSQL."""
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
