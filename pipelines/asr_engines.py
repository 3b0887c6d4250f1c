"""Load a Whisper engine: a model by registry name on the implementation a request asks for."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from pipelines.asr import (
    ENGINES,
    FASTER_WHISPER,
    WHISPER_MODELS,
    AsrEngine,
    FasterWhisperEngine,
    engine_model,
)
from pipelines.asr_openai import OpenAIWhisperEngine
from pipelines.exceptions import OptionsError
from pipelines.models import model_path

log = logging.getLogger(__name__)


def load_engine(
    name: str, model_dir: Path, *, engine: str = FASTER_WHISPER, device: str = "cpu", cpu_threads: int = 0,
    compute_type: str | None = None, batch_size: int = 1,
) -> AsrEngine:
    """Load a Whisper model by name (``whisper-tiny.en`` or ``whisper-base``) on ``engine``
    (``faster-whisper`` or ``openai-whisper``, which runs the model's ``-openai`` conversion).
    ``compute_type`` and ``batch_size``: faster-whisper's (``FasterWhisperEngine.load``).

    Raises:
        OptionsError: not a Whisper model or engine name.
        ModelNotInstalledError: its folder is missing, with the install command.
    """
    if name not in WHISPER_MODELS:
        raise OptionsError(f"Unknown Whisper model {name!r}. Valid: {', '.join(WHISPER_MODELS)}.")
    if engine not in ENGINES:
        raise OptionsError(f"Unknown ASR engine {engine!r}. Valid: {', '.join(ENGINES)}.")
    folder = model_path(engine_model(name, engine), model_dir)
    started = time.monotonic()
    loaded: AsrEngine
    if engine == FASTER_WHISPER:
        loaded = FasterWhisperEngine.load(name, folder, device=device, cpu_threads=cpu_threads,
                                          compute_type=compute_type, batch_size=batch_size)
    else:
        loaded = OpenAIWhisperEngine.load(name, folder, device=device, cpu_threads=cpu_threads)
    log.info("loaded %s (%s) from %s on %s in %.2f s", name, engine, folder, device, time.monotonic() - started)
    return loaded
