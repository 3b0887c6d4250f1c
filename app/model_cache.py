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
        self._key_locks: dict[str, threading.Lock] = {}

    def get(self, key: str, loader: Callable[[], T]) -> T:
        """The model cached under ``key``, loading it with ``loader`` the first time."""
        # One lock per model: loading one never waits for another, and a loader may itself
        # ask for a shared model (the classifier asks for the embedder).
        with self._lock:
            if key in self._models:
                return self._models[key]  # type: ignore[no-any-return]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._models:
                    return self._models[key]  # type: ignore[no-any-return]
            started = time.monotonic()
            model = loader()
            log.info("loaded model %s in %.2f s", key, time.monotonic() - started)
            with self._lock:
                self._models[key] = model
            return model

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

    def embedder(self) -> Any:
        """MiniLM sentence embeddings, shared by the classifier and the paraphraser."""
        from pipelines.embeddings import SentenceEmbedder

        return self.get("embedder", lambda: SentenceEmbedder.load(self.settings.model_dir,
                                                                  threads=self.settings.cpu_threads or None))

    def classifier(self) -> Any:
        """The learning-content classifier (MiniLM, the multilingual e5 and the shipped head)."""

        def load() -> Any:
            from pipelines.classify import Classifier
            from pipelines.embeddings import MultilingualEmbedder
            from pipelines.exceptions import ModelNotInstalledError

            try:
                multilingual = MultilingualEmbedder.load()
            except ModelNotInstalledError as exc:
                log.warning("non-English text will be scored with the English model: %s", exc)
                multilingual = None
            return Classifier.from_embedders(self.embedder(), multilingual_embedder=multilingual)

        return self.get("classifier", load)

    def paraphraser(self) -> Any:
        """The duration-constrained paraphraser (MiniLM, and SmolLM2 on llama.cpp or CTranslate2)."""

        def load() -> Any:
            from pipelines.paraphrase import Paraphraser
            from pipelines.smollm import LMSettings, load_shortener

            lm = load_shortener(self.settings.model_dir, LMSettings(threads=self.settings.cpu_threads or 2,
                                                                    runtime=self.settings.lm_runtime))
            lm.warm_up()
            return Paraphraser(self.embedder(), lm)

        return self.get("paraphraser", load)
