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

    def ocr(self, engine: str) -> Any:
        """An OCR engine by name (``rapidocr`` or ``easyocr``)."""
        from pipelines.ocr import load_engine

        return self.get(f"ocr:{engine}", lambda: load_engine(engine, self.settings.model_dir))

    def classifier(self) -> Any:
        """The learning-content classifier (MiniLM, the multilingual e5 and the shipped head)."""
        from pipelines.classify import Classifier

        return self.get("classifier", lambda: Classifier.load(self.settings.model_dir,
                                                              threads=self.settings.cpu_threads or None))

    def paraphraser(self) -> Any:
        """The duration-constrained paraphraser (MiniLM and SmolLM2)."""
        from pipelines.paraphrase import Paraphraser

        return self.get("paraphraser", lambda: Paraphraser.load(self.settings.model_dir,
                                                                threads=self.settings.cpu_threads or 2))
