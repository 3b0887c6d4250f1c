"""Errors raised by the pipelines. Every message says what was wrong and what to do."""

from __future__ import annotations

from dataclasses import dataclass


class PipelineError(Exception):
    """Base class for errors a caller can act on."""


class MediaError(PipelineError):
    """The input is not usable media (not media at all, truncated, corrupt, empty)."""


class NoAudioError(MediaError):
    """The media has no audio stream; callers usually report "no speech track" instead."""


class ModelNotInstalledError(PipelineError):
    """A model's weights are not where they should be."""


class UnknownModelError(PipelineError):
    """A model name that the registry does not know."""


class OptionsError(PipelineError):
    """Options that cannot work together or are out of range."""


class UnsupportedLanguageError(PipelineError):
    """A language or script that the chosen engine cannot handle offline."""


class EmptyInputError(PipelineError):
    """Nothing to work on: every input the stage accepts was missing or empty."""


class HeadFileError(PipelineError):
    """A trained classifier head file that cannot be read or does not fit the embedder."""


class ModelConversionError(PipelineError):
    """Converting a packaged model into the runtime's format failed."""


class SubtitleFormatError(PipelineError):
    """Subtitle text that is not SRT or WebVTT (or is broken)."""


class EngineNotInstalledError(PipelineError):
    """An optional engine whose packages this environment lacks (e.g. EasyOCR outside .venv-easyocr)."""


@dataclass(frozen=True)
class UnitProblem:
    """What is wrong with one unit of a translated file (``unit`` None: with the file as a whole)."""

    unit: str | None
    problem: str


class TranslationFileError(PipelineError):
    """A translated file that cannot be merged: not XLIFF/SRT/WebVTT, another job's, or units
    that are unknown, missing, untranslated or in the wrong language. ``problems`` lists them all."""

    def __init__(self, message: str, problems: tuple[UnitProblem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems
