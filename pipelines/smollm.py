"""SmolLM2-135M-Instruct as a sentence shortener: the prompt, and the CTranslate2 runtime.

Runtime choice (shared/MODELS.md, measured on this 2-core machine): transformers+gguf loads in
~28 s and takes ~1.3 s a sentence, so it cannot meet "load under 5 s, under 0.5 s a sentence".
``load_shortener`` picks llama.cpp (``pipelines.smollm_llamacpp``, built from source once by
``./scripts/setup``): it loads in about 0.2 s and its proposals share the few-shot prompt's
cache, so several proposals cost little more than one. CTranslate2 (this module's
``SmolLM2Shortener``, on the engine faster-whisper already brings) is the fallback where
llama-cpp-python is not built: it loads in under a second but copies the prompt's cache for every
hypothesis, which makes each decoding step dearer the longer the few-shot prompt is.
``bench/bench_fit.py --runtimes`` measures both side by side.

Speed settings, and why:

- The few-shot prompt is a CTranslate2 *static prompt* with its state cached, so each call only
  runs the user turn (~30-60 tokens) through the model, not the ~200-token examples.
- ``max_length`` is the token count the slot allows (the source's tokens times the target
  ratio, plus a margin): a proposal that reaches it cannot fit, so decoding stops there instead
  of running on (135M models sometimes copy the source or ramble), and the proposal is dropped.
- Proposals are *sampled* (top-k 20, temperature 0.8) in one batched call (``num_hypotheses``):
  on the sentences that rules and trims could not fit, greedy decoding fitted 1-2 of 24 (the
  135M model mostly copies its input). The paraphraser asks for four per call and calls again
  only while none fits (``FitOptions.lm_candidates`` / ``lm_rounds``): with two examples, three
  a call fitted 88.0 % of the 267-sentence bench and four 92.5 %, for about 7 % more LM time;
  six a call costs a third more a call than four.
- Four few-shot examples, though each decoding step copies the key/value cache of the whole
  context for every hypothesis, so a step costs more the longer the static prompt: on 134 bench
  sentences (each run interleaved with the old strategy), two examples cut the CPU a sentence from
  1.37 s to 0.98 s (p50) but fitted 88 % against 96 %; none fitted 69 %.
- ``compute_type="int8"``: int8_float32 and int16 were no faster, float32 twice as slow.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from pipelines.exceptions import OptionsError
from pipelines.models import model_path

log = logging.getLogger(__name__)

MODEL_NAME = "smollm2-135m-ct2"
Runtime = Literal["auto", "llama.cpp", "ctranslate2"]

SYSTEM = (
    "You shorten sentences for subtitles. Keep the meaning, the names and the numbers. "
    "Reply with the shorter sentence only."
)
# Written for this prompt (lecture and tutorial speech); each keeps every fact of its source.
EXAMPLES: tuple[tuple[str, str], ...] = (
    (
        "So what we're going to do now is take a look at how the settings page of your account actually works.",
        "Now let's see how your account's settings page works.",
    ),
    (
        "It is really important that you remember to save your work before you close the program, "
        "otherwise you will lose all of it.",
        "Save your work before closing the program, or you'll lose it.",
    ),
    (
        "At this point in time, the vast majority of the students in this course have already "
        "completed the first assignment.",
        "Most students have already done the first assignment.",
    ),
    (
        "Variables are names that refer to values, and they can be used in expressions and passed "
        "to functions as arguments.",
        "Variables name values used in expressions and as function arguments.",
    ),
)


class Shortener(Protocol):
    """Something that proposes shorter versions of sentences (the LM, or a test fake)."""

    def shorten(
        self, sources: Sequence[str], target_ratio: float, sampled: int = 0, greedy: bool = True,
        attempt: int = 0,
    ) -> list[str]:
        """Proposals about ``target_ratio`` times as long as the first source (0-1).

        One greedy proposal per source (unless ``greedy`` is False), plus ``sampled`` sampled
        ones for the first source. ``attempt`` numbers repeated calls for the same text, so a
        runtime with per-call seeds samples afresh instead of repeating itself.
        """
        ...


def _turn(role: str, content: str) -> str:
    return f"<|im_start|>{role}\n{content}<|im_end|>\n"


def _instruction(text: str, target_words: int) -> str:
    return f"Shorten to at most {max(3, target_words)} words: {text}"


def few_shot_prompt(few_shot: int) -> str:
    """The system turn and the first ``few_shot`` examples as chat turns (the static prompt)."""
    return _turn("system", SYSTEM) + "".join(
        _turn("user", _instruction(src, round(len(dst.split())))) + _turn("assistant", dst)
        for src, dst in EXAMPLES[:few_shot]
    )


def user_turn(source: str, words: int) -> str:
    """The request for one source, up to where the model's answer starts."""
    return _turn("user", _instruction(source, words)) + "<|im_start|>assistant\n"


def budget(first_source: str, first_tokens: int, target_ratio: float, margin: float) -> tuple[int, int]:
    """Words to ask for and the token limit of a proposal (one that reaches it cannot fit)."""
    ratio = min(1.0, max(0.1, target_ratio))
    words = max(3, round(len(first_source.split()) * ratio))
    return words, max(8, int(first_tokens * ratio * margin) + 3)


_META = re.compile(
    r"^(?:here(?:'s| is)|sure|certainly|i (?:can|will|would)|shorter|shortened|rewritten|answer)\b[^:]*:\s*",
    re.IGNORECASE,
)


def clean_output(text: str) -> str:
    """First line of a model reply without quotes or a "Here is the shorter sentence:" preamble."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    first = _META.sub("", lines[0]).strip()
    if len(first) >= 2 and first[0] in "\"'“" and first[-1] in "\"'”":
        first = first[1:-1].strip()
    return "" if "<|" in first else first


@dataclass(frozen=True)
class LMSettings:
    """Decoding settings of the SmolLM2 shortener.

    Attributes:
        threads: CTranslate2 intra-op threads (2: this machine's cores).
        sampling_topk: top-k for sampled alternatives.
        sampling_temperature: temperature for sampled alternatives.
        length_margin: decoding stops after the target ratio times this times the source's
            tokens (plus 3): estimates are in characters or syllables, not tokens, hence slack.
        seed: CTranslate2's random seed, so sampled proposals are reproducible.
        few_shot: how many of ``EXAMPLES`` go into the static prompt (each costs decoding time).
        runtime: ``auto`` (llama.cpp when llama-cpp-python is built, else CTranslate2),
            ``llama.cpp`` or ``ctranslate2``.
    """

    threads: int = 2
    sampling_topk: int = 20
    sampling_temperature: float = 0.8
    length_margin: float = 1.2
    seed: int = 6
    few_shot: int = 4
    runtime: Runtime = "auto"

    def __post_init__(self) -> None:
        if not 0 <= self.few_shot <= len(EXAMPLES):
            raise OptionsError(f"few_shot must be within 0-{len(EXAMPLES)}, got {self.few_shot!r}.")
        if self.runtime not in ("auto", "llama.cpp", "ctranslate2"):
            raise OptionsError(f"runtime must be 'auto', 'llama.cpp' or 'ctranslate2', got {self.runtime!r}.")


class SmolLM2Shortener:
    """SmolLM2-135M-Instruct (CTranslate2 int8) with a cached few-shot prompt.

    Build with ``SmolLM2Shortener.load(model_dir)`` once per worker; one thread at a time.
    """

    def __init__(self, generator: Any, tokenizer: Any, settings: LMSettings) -> None:
        self._generator = generator
        self._tokenizer = tokenizer
        self.settings = settings
        self._static = self._tokens(few_shot_prompt(settings.few_shot))

    @classmethod
    def load(cls, model_dir: Path, settings: LMSettings | None = None) -> SmolLM2Shortener:
        """Load the converted model from ``<model_dir>/smollm2-135m-ct2``.

        Raises:
            ModelNotInstalledError: the model is not installed (the message says how).
        """
        settings = settings or LMSettings()
        folder = model_path(MODEL_NAME, Path(model_dir))
        started = time.monotonic()
        import ctranslate2
        from tokenizers import Tokenizer

        ctranslate2.set_random_seed(settings.seed)  # sampled proposals repeat from run to run
        generator = ctranslate2.Generator(
            str(folder), device="cpu", compute_type="int8", intra_threads=settings.threads
        )
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        shortener = cls(generator, tokenizer, settings)
        log.info("loaded %s in %.2f s", folder, time.monotonic() - started)
        return shortener

    def _tokens(self, text: str) -> list[str]:
        return list(self._tokenizer.encode(text, add_special_tokens=False).tokens)

    def _decode(self, ids: Sequence[int]) -> str:
        return str(self._tokenizer.decode(list(ids), skip_special_tokens=True))

    def warm_up(self) -> None:
        """Run one short generation so the static prompt is cached before the first request."""
        self.shorten(["This is a short warm-up sentence for the model to shorten."], target_ratio=0.8)

    def shorten(
        self, sources: Sequence[str], target_ratio: float, sampled: int = 0, greedy: bool = True,
        attempt: int = 0,
    ) -> list[str]:
        """Shorter versions of ``sources``: one greedy each, then ``sampled`` sampled for the first.

        Args:
            sources: the sentence and variants of it (e.g. its rule-compressed form).
            target_ratio: wanted length as a fraction of the first source (0-1].
            sampled: sampled proposals for the first source (one more batched call).
            greedy: also decode each source greedily (one batched call).
            attempt: unused here: CTranslate2's random stream moves on from call to call.

        Proposals that reach the length limit (too long to fit) or are empty are left out.
        """
        if not sources:
            return []
        words, limit = budget(sources[0], len(self._tokens(sources[0])), target_ratio, self.settings.length_margin)
        prompts = [self._tokens(user_turn(s, words)) for s in sources]
        limits = [limit] * len(sources)
        common = {
            "static_prompt": self._static,
            "cache_static_prompt": True,
            "include_prompt_in_result": False,
            "end_token": "<|im_end|>",
            "max_length": limit,
        }
        outputs: list[str] = []
        if greedy:
            results = self._generator.generate_batch(prompts, beam_size=1, **common)
            for result, limit in zip(results, limits, strict=True):
                ids = result.sequences_ids[0]
                if len(ids) < limit:
                    outputs.append(clean_output(self._decode(ids)))
        if sampled > 0:
            more = self._generator.generate_batch(
                prompts[:1],
                sampling_topk=self.settings.sampling_topk,
                sampling_temperature=self.settings.sampling_temperature,
                num_hypotheses=sampled,
                **common,
            )
            outputs.extend(clean_output(self._decode(ids)) for ids in more[0].sequences_ids
                           if len(ids) < limits[0])
        return [o for o in outputs if o]


def load_shortener(model_dir: Path, settings: LMSettings | None = None) -> Any:
    """The SmolLM2 shortener on the runtime ``settings.runtime`` names (see the module docstring).

    With ``auto``, llama.cpp when llama-cpp-python and the GGUF model are installed, else
    CTranslate2, with a warning that says why and how to get the faster runtime.

    Raises:
        ModelNotInstalledError: the chosen runtime's model or library is missing (says how).
    """
    settings = settings or LMSettings()
    if settings.runtime in ("auto", "llama.cpp"):
        from pipelines.exceptions import ModelNotInstalledError

        try:
            from pipelines.smollm_llamacpp import LlamaCppShortener

            return LlamaCppShortener.load(Path(model_dir), settings)
        except ModelNotInstalledError as exc:
            if settings.runtime == "llama.cpp":
                raise
            log.warning("SmolLM2 runs on CTranslate2, the slower runtime: %s", exc)
    return SmolLM2Shortener.load(Path(model_dir), settings)

