"""Models loaded once per worker process and shared by every job it runs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from app.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class ModelCache:
    """Lazily loads each model on first use, once, thread-safely; later calls reuse it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: str, loader: Callable[[], T]) -> T:
        """The model cached under ``key``, loading it with ``loader`` the first time."""
        with self._lock:
            if key not in self._models:
                started = time.monotonic()
                self._models[key] = loader()
                log.info("loaded model %s in %.2f s", key, time.monotonic() - started)
            return self._models[key]  # type: ignore[no-any-return]

    def loaded(self) -> list[str]:
        with self._lock:
            return sorted(self._models)

    def whisper(self, name: str) -> Any:
        """A Whisper engine for a registry name such as ``whisper-tiny.en``."""
        from pipelines.asr import load_engine

        return self.get(
            f"asr:{name}",
            lambda: load_engine(
                name,
                self.settings.model_dir,
                device=self.settings.device,
                cpu_threads=self.settings.cpu_threads,
            ),
        )
