"""Models loaded once per worker process and shared by every job it runs, on the device
``LESSONLENS_DEVICE`` names (``DevicePlan``)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar, cast

from app.allocator import give_back, tune_allocator
from app.settings import Settings
from pipelines.asr import FASTER_WHISPER, engine_model

if TYPE_CHECKING:  # the modules themselves load on first use: the API starts without them
    from pipelines.asr import AsrEngine
    from pipelines.classify.classifier import Classifier
    from pipelines.embeddings import SentenceEmbedder
    from pipelines.fit.sentence import SentenceFitter
    from pipelines.ocr.engines import OcrEngine

log = logging.getLogger(__name__)
T = TypeVar("T")

GPU_WHISPER_BATCH = 16  # speech chunks decoded at once on a GPU (faster-whisper's batched pipeline)
GPU_OCR_REC_BATCH = 32  # text lines per recognition call on a GPU (RapidOCR's default: 6)


@dataclass(frozen=True)
class DevicePlan:
    """What ``LESSONLENS_DEVICE`` means for each runtime: where Whisper runs and at which
    precision, whether OCR runs on ONNX Runtime's CUDA provider, and the batch sizes."""

    device: Literal["cpu", "cuda"] = "cpu"
    whisper_compute_type: str = "int8"  # CTranslate2: int8 is fastest on CPUs, float16 on GPUs
    whisper_batch_size: int = 1  # 1: one 30 s window after another (the CPU's best)
    ocr_cuda: bool = False  # only where onnxruntime-gpu is installed (else RapidOCR warns and uses the CPU)
    # On the CPU one line per recogniser call: a batch is padded to its widest line, which on
    # UI text (lines of 1-30 heights wide) cost 16-20 % more CPU on real recordings' reads and
    # held ~300 MB more at the peak of a 720p read, for the same words (bench/bench_ocr.py).
    ocr_rec_batch: int = 1

    @classmethod
    def for_setting(cls, device: str) -> DevicePlan:
        """The plan of ``cpu``, ``cuda`` or ``auto`` (CUDA when CTranslate2 sees a GPU)."""
        if device == "auto":
            import ctranslate2

            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        if device != "cuda":
            return cls()
        import onnxruntime

        ocr_cuda = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
        if not ocr_cuda:
            log.warning("LESSONLENS_DEVICE=cuda: ONNX Runtime has no CUDA provider here (install onnxruntime-gpu); "
                        "OCR runs on the CPU")
        # OCR left on the CPU keeps the CPU's one line per call (and with it the spare core's
        # recognitions): batches of 32 there cost CPU for nothing (``ocr_rec_batch``)
        return cls("cuda", "float16", GPU_WHISPER_BATCH, ocr_cuda, GPU_OCR_REC_BATCH if ocr_cuda else 1)


class ModelCache:
    """Lazily loads each model on first use, once, thread-safely; later calls reuse it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        tune_allocator(settings.malloc_mmap_threshold_kb)  # the process runs jobs: see app.allocator
        self._plan: DevicePlan | None = None
        self._models: dict[str, object] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}

    def get(self, key: str, loader: Callable[[], T]) -> T:
        """The model cached under ``key``, loading it with ``loader`` the first time."""
        # One lock per model: loading one never waits for another, and a loader may itself
        # ask for a shared model (the classifier asks for the embedder).
        with self._lock:
            if key in self._models:
                return cast(T, self._models[key])  # stored by a loader of T under this key
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._models:
                    return cast(T, self._models[key])  # stored by a loader of T under this key
            started = time.monotonic()
            # The heap's free memory handed back before and after: a load sits on what the job
            # freed (a stage that ended), and leaves its file's buffers free in the heap
            # (whisper-base on CTranslate2 beside tiny.en: RSS 378 -> 309 MB after it).
            give_back()
            model = loader()
            give_back()
            log.info("loaded model %s in %.2f s", key, time.monotonic() - started)
            with self._lock:
                self._models[key] = model
            return model

    def loaded(self) -> list[str]:
        """Keys of the models loaded so far."""
        with self._lock:
            return sorted(self._models)

    @property
    def device(self) -> DevicePlan:
        """The device plan of the settings, worked out on first use (``auto`` probes for a GPU)."""
        with self._lock:
            if self._plan is None:
                self._plan = DevicePlan.for_setting(self.settings.device)
                log.info("models run on %s", self._plan)
            return self._plan

    def whisper(self, name: str, engine: str = FASTER_WHISPER, threads: int = 0) -> AsrEngine:
        """A Whisper engine for a model name such as ``whisper-tiny.en`` on ``engine``
        (faster-whisper or openai-whisper). ``threads``: its CPU threads when it runs beside
        another stage (CTranslate2 fixes them at load, so each budget is a model of its own);
        0: ``cpu_threads``."""
        from pipelines.asr_engines import load_engine

        threads = threads or self.settings.cpu_threads

        def load() -> AsrEngine:
            plan = self.device
            return load_engine(name, self.settings.model_dir, engine=engine, device=plan.device,
                               cpu_threads=threads, compute_type=plan.whisper_compute_type,
                               batch_size=plan.whisper_batch_size)

        return self.get(f"asr:{engine_model(name, engine)}" + (f":t{threads}" if threads != self.settings.cpu_threads else ""),
                        load)

    def ocr(self, engine: str, threads: int = 0) -> OcrEngine:
        """An OCR engine by name (``rapidocr`` or ``easyocr``); ``threads``: its ONNX Runtime
        threads when it runs beside another stage (0: ``cpu_threads``, else the runtime's own)."""
        from pipelines.ocr.engines import load_engine

        threads = threads or self.settings.cpu_threads

        def load() -> OcrEngine:
            plan = self.device
            return load_engine(engine, self.settings.model_dir, use_cuda=plan.ocr_cuda, rec_batch=plan.ocr_rec_batch,
                               threads=threads, runtime=self.settings.ocr_runtime)

        return self.get(f"ocr:{engine}" + (f":t{threads}" if threads != self.settings.cpu_threads else ""), load)

    def embedder(self) -> SentenceEmbedder:
        """MiniLM sentence embeddings, shared by the classifier and the sentence fitter."""
        from pipelines.embeddings import SentenceEmbedder

        return self.get("embedder", lambda: SentenceEmbedder.load(self.settings.model_dir,
                                                                  threads=self.settings.cpu_threads or None))

    def classifier(self) -> Classifier:
        """The learning-content classifier (MiniLM, the multilingual e5 and the shipped head)."""

        def load() -> Classifier:
            from pipelines.classify.classifier import Classifier
            from pipelines.embeddings import MultilingualEmbedder
            from pipelines.exceptions import ModelNotInstalledError

            try:
                multilingual = MultilingualEmbedder.load()
            except ModelNotInstalledError as exc:
                log.warning("non-English text will be scored with the English model: %s", exc)
                multilingual = None
            return Classifier.from_embedders(self.embedder(), multilingual_embedder=multilingual)

        return self.get("classifier", load)

    def fitter(self) -> SentenceFitter:
        """The sentence fitter (MiniLM, spaCy's English parser, and SmolLM2 on llama.cpp or
        CTranslate2). The LM's threads: ``cpu_threads``, or else the CPUs shared out between the
        workers and the API process (llama.cpp's threads wait for each other, so more threads than
        free cores makes a call slower, not faster)."""

        def load() -> SentenceFitter:
            from pipelines.fit.lm import load_lm
            from pipelines.fit.lm_prompt import LMSettings
            from pipelines.fit.sentence import SentenceFitter, load_multilingual
            from pipelines.fit.syntax import load_parser

            threads = self.settings.cpu_threads or max(1, (os.cpu_count() or 2) // (self.settings.workers + 1))
            lm = load_lm(self.settings.model_dir, LMSettings(threads=threads, runtime=self.settings.lm_runtime))
            lm.warm_up()
            multilingual = load_multilingual(threads)  # before MiniLM's torch: see SentenceFitter.load
            return SentenceFitter(self.embedder(), lm, load_parser(self.settings.model_dir), multilingual)

        return self.get("fitter", load)
