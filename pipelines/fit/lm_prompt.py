"""The SmolLM2 prompt and decoding settings both LM runtimes share.

``lm_ctranslate2`` and ``lm_llamacpp`` build the same chat prompt (a system turn, few-shot
examples as a static prompt, then one user turn per source), ask for the same number of words,
stop at the same token limit and clean replies the same way; this module is the one place that
says how. ``lm`` picks between the runtimes; neither runtime imports the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pipelines.exceptions import OptionsError

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
