"""Speech recognition with Whisper, through faster-whisper (CTranslate2) on packaged weights.

``load_engine(name, model_dir)`` gives an engine that keeps its model in memory; call
``engine.transcribe(audio, options)`` per file. Engines implement ``AsrEngine`` so a second
Whisper implementation can be added beside faster-whisper.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pipelines.exceptions import OptionsError
from pipelines.models import model_path

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

ENGLISH_MODEL = "whisper-tiny.en"
MULTILINGUAL_MODEL = "whisper-base"
WHISPER_MODELS = (ENGLISH_MODEL, MULTILINGUAL_MODEL)
SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class AsrOptions:
    """How to transcribe.

    Attributes:
        model: a registry name, or "auto": tiny.en for English, base for anything else.
        language: an ISO 639-1 code, or "auto" to detect it (needs a multilingual model).
        beam_size: beam search width; 5 is Whisper's own default.
        vad_filter: drop non-speech with Silero VAD before decoding (fewer hallucinations).
        word_timestamps: per-word timings (the subtitle segmenter needs them).
        initial_prompt: text that primes spelling and style (e.g. product names).
        hotwords: words to favour, space-separated.
    """

    model: str = "auto"
    language: str = "en"
    beam_size: int = 5
    vad_filter: bool = True
    word_timestamps: bool = True
    initial_prompt: str | None = None
    hotwords: str | None = None

    def __post_init__(self) -> None:
        if self.model != "auto" and self.model not in WHISPER_MODELS:
            raise OptionsError(
                f"Unknown Whisper model {self.model!r}. Valid: auto, {', '.join(WHISPER_MODELS)}."
            )
        if not 1 <= self.beam_size <= 20:
            raise OptionsError(f"beam_size must be between 1 and 20, got {self.beam_size}.")
        if self.language != "auto" and not (self.language.isalpha() and 2 <= len(self.language) <= 3):
            raise OptionsError(
                f"language must be 'auto' or an ISO 639-1 code like 'en', got {self.language!r}."
            )
        if self.model == ENGLISH_MODEL and self.language not in ("en", "auto"):
            raise OptionsError(
                f"{ENGLISH_MODEL} only understands English; for language {self.language!r} use "
                f"model {MULTILINGUAL_MODEL!r} or 'auto'."
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> AsrOptions:
        """Build from user-supplied values, with a clear error for unknown keys or bad types."""
        names = {f.name: f for f in fields(cls)}
        unknown = set(values) - set(names)
        if unknown:
            raise OptionsError(f"Unknown ASR option(s): {', '.join(sorted(unknown))}.")
        try:
            clean: dict[str, Any] = {}
            for key, value in values.items():
                if key == "beam_size":
                    clean[key] = int(value)
                elif key in ("vad_filter", "word_timestamps"):
                    if not isinstance(value, bool):
                        raise TypeError(f"{key} must be true or false")
                    clean[key] = value
                else:
                    clean[key] = None if value is None else str(value)
        except (TypeError, ValueError) as err:
            raise OptionsError(f"Bad ASR option: {err}.") from None
        return cls(**clean)

    def resolved_model(self) -> str:
        """The registry name this request runs on."""
        if self.model != "auto":
            return self.model
        return ENGLISH_MODEL if self.language == "en" else MULTILINGUAL_MODEL


@dataclass(frozen=True)
class Word:
    """One recognised word; ``text`` keeps Whisper's leading space."""

    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0


@dataclass(frozen=True)
class Transcript:
    """Everything Whisper said about one audio track."""

    segments: tuple[Segment, ...]
    language: str
    language_probability: float
    duration: float
    model: str
    seconds: float = 0.0

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments).strip()


class AsrEngine(Protocol):
    """A loaded speech recogniser."""

    name: str

    def transcribe(
        self, audio: np.ndarray, options: AsrOptions, progress: Callable[[float], None] | None = None
    ) -> Transcript: ...


class FasterWhisperEngine:
    """Whisper on CTranslate2. Thread-safe for concurrent ``transcribe`` calls."""

    def __init__(
        self, name: str, folder: Path, *, device: str = "cpu", cpu_threads: int = 0, num_workers: int = 1
    ) -> None:
        from faster_whisper import WhisperModel

        self.name = name
        self.folder = folder
        if device == "auto":
            import ctranslate2

            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        compute_type = "int8" if device == "cpu" else "float16"
        self._model = WhisperModel(
            str(folder),
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=num_workers,
        )
        self.multilingual = bool(self._model.model.is_multilingual)

    def transcribe(
        self, audio: np.ndarray, options: AsrOptions, progress: Callable[[float], None] | None = None
    ) -> Transcript:
        if options.language == "auto" and not self.multilingual:
            language: str | None = "en"
        else:
            language = None if options.language == "auto" else options.language
        if language not in (None, "en") and not self.multilingual:
            raise OptionsError(f"{self.name} is English-only; it cannot transcribe {language!r}.")
        started = time.monotonic()
        segments_iter, info = self._model.transcribe(
            audio,
            language=language,
            beam_size=options.beam_size,
            vad_filter=options.vad_filter,
            word_timestamps=options.word_timestamps,
            initial_prompt=options.initial_prompt,
            hotwords=options.hotwords,
            condition_on_previous_text=False,
        )
        duration = float(len(audio)) / SAMPLE_RATE
        segments: list[Segment] = []
        for seg in segments_iter:  # decoding happens while iterating
            words = tuple(
                Word(float(w.start), float(w.end), w.word, float(w.probability)) for w in (seg.words or [])
            )
            segments.append(
                Segment(
                    float(seg.start),
                    float(seg.end),
                    seg.text,
                    words,
                    float(seg.avg_logprob),
                    float(seg.no_speech_prob),
                )
            )
            if progress and duration > 0:
                progress(min(1.0, seg.end / duration))
        if progress:
            progress(1.0)
        return Transcript(
            segments=tuple(segments),
            language=info.language,
            language_probability=float(info.language_probability),
            duration=duration,
            model=self.name,
            seconds=time.monotonic() - started,
        )


def load_engine(name: str, model_dir: Path, *, device: str = "cpu", cpu_threads: int = 0) -> AsrEngine:
    """Load a Whisper model by registry name (``whisper-tiny.en`` or ``whisper-base``).

    Raises:
        OptionsError: not a Whisper model name.
        ModelNotInstalledError: its folder is missing, with the install command.
    """
    if name not in WHISPER_MODELS:
        raise OptionsError(f"Unknown Whisper model {name!r}. Valid: {', '.join(WHISPER_MODELS)}.")
    folder = model_path(name, model_dir)
    started = time.monotonic()
    engine = FasterWhisperEngine(name, folder, device=device, cpu_threads=cpu_threads)
    log.info("loaded %s from %s on %s in %.2f s", name, folder, device, time.monotonic() - started)
    return engine
