"""The language model a fit asks for shorter proposals: its Protocol and the runtime loader.

``load_lm`` picks llama.cpp (``lm_llamacpp``, built from source once by ``./scripts/setup``):
it loads in about 0.2 s and its proposals share the few-shot prompt's cache, so several
proposals cost little more than one. CTranslate2 (``lm_ctranslate2``) is the fallback where
llama-cpp-python is not built. Both runtimes import their libraries only when they load.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from pipelines.exceptions import ModelNotInstalledError
from pipelines.fit.lm_ctranslate2 import CTranslate2LM
from pipelines.fit.lm_llamacpp import LlamaCppLM
from pipelines.fit.lm_prompt import LMSettings

log = logging.getLogger(__name__)


class LanguageModel(Protocol):
    """Something that proposes shorter versions of sentences (the LM, or a test fake)."""

    def warm_up(self) -> None:
        """Run one short generation so the first request does not pay for the prompt's cache."""
        ...

    def shorten(
        self, sources: Sequence[str], target_ratio: float, sampled: int = 0, greedy: bool = True,
        attempt: int = 0, deadline: float | None = None, stop: threading.Event | None = None,
    ) -> list[str]:
        """Proposals about ``target_ratio`` times as long as the first source (0-1).

        One greedy proposal per source (unless ``greedy`` is False), plus ``sampled`` sampled
        ones for the first source. ``attempt`` numbers repeated calls for the same text, so a
        runtime with per-call seeds samples afresh instead of repeating itself. At
        ``deadline`` (``time.monotonic()``) a runtime stops decoding and returns the proposals
        it has finished (a runtime that cannot stop mid-call does not start after it); when
        ``stop`` is set (the fitter found a fitting answer without it), likewise.
        """
        ...


def load_lm(model_dir: Path, settings: LMSettings | None = None) -> LanguageModel:
    """SmolLM2 on the runtime ``settings.runtime`` names (see the module docstring).

    With ``auto``, llama.cpp when llama-cpp-python and the GGUF model are installed, else
    CTranslate2, with a warning that says why and how to get the faster runtime.

    Raises:
        ModelNotInstalledError: the chosen runtime's model or library is missing (says how).
    """
    settings = settings or LMSettings()
    if settings.runtime in ("auto", "llama.cpp"):
        try:
            return LlamaCppLM.load(Path(model_dir), settings)
        except ModelNotInstalledError as exc:
            if settings.runtime == "llama.cpp":
                raise
            log.warning("SmolLM2 runs on CTranslate2, the slower runtime: %s", exc)
    return CTranslate2LM.load(Path(model_dir), settings)
