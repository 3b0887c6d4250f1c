"""The SmolLM2 shortener: the prompt it builds and the calls it makes to CTranslate2.

Unit tests use a word tokenizer and a recording generator; the slow one loads the real model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.exceptions import OptionsError
from pipelines.fit.lm_ctranslate2 import CTranslate2LM
from pipelines.fit.lm_prompt import EXAMPLES, LMSettings

SOURCE = "Before you submit the form you should check every field that is marked as required."


@dataclass
class _Encoding:
    tokens: list[str]


class WordTokenizer:
    """Tokens are space-separated words; ids index a growing vocabulary."""

    def __init__(self) -> None:
        self.vocab: list[str] = []

    def encode(self, text: str, add_special_tokens: bool = False) -> _Encoding:
        return _Encoding(text.split(" "))

    def ids(self, text: str) -> list[int]:
        out = []
        for word in text.split(" "):
            if word not in self.vocab:
                self.vocab.append(word)
            out.append(self.vocab.index(word))
        return out

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return " ".join(self.vocab[i] for i in ids)


@dataclass
class _Result:
    sequences_ids: list[list[int]]


class RecordingGenerator:
    """Answers every prompt with the scripted texts (one per hypothesis, cut at ``max_length``
    as CTranslate2 does) and records the calls."""

    def __init__(self, tokenizer: WordTokenizer, answers: list[str]) -> None:
        self.tokenizer = tokenizer
        self.answers = answers
        self.calls: list[tuple[list[list[str]], dict[str, Any]]] = []

    def generate_batch(self, prompts: list[list[str]], **kwargs: Any) -> list[_Result]:
        self.calls.append((prompts, kwargs))
        n, limit = kwargs.get("num_hypotheses", 1), kwargs["max_length"]
        return [_Result([self.tokenizer.ids(a)[:limit] for a in self.answers[:n]]) for _ in prompts]


def shortener(answers: list[str], **settings: Any) -> tuple[CTranslate2LM, RecordingGenerator]:
    tokenizer = WordTokenizer()
    generator = RecordingGenerator(tokenizer, answers)
    return CTranslate2LM(generator, tokenizer, LMSettings(**settings)), generator


def test_static_prompt_holds_the_configured_number_of_examples() -> None:
    for few_shot in (0, 2, len(EXAMPLES)):
        lm, _ = shortener([], few_shot=few_shot)
        static = " ".join(lm._static)
        used = [src for src, _ in EXAMPLES if src.split(" ")[0] + " " + src.split(" ")[1] in static]
        assert len(used) == few_shot
        assert static.count("<|im_start|>assistant") == few_shot
    assert len(shortener([], few_shot=1)[0]._static) < len(shortener([], few_shot=4)[0]._static)


def test_sampled_proposals_come_from_one_call_with_the_cached_prompt() -> None:
    answers = ["Check every required field before submitting.", "Check required fields first.",
               "Check the form."]
    lm, generator = shortener(answers)
    proposals = lm.shorten([SOURCE], target_ratio=0.6, sampled=3, greedy=False)
    assert proposals == answers
    assert len(generator.calls) == 1
    prompts, kwargs = generator.calls[0]
    assert len(prompts) == 1 and kwargs["num_hypotheses"] == 3 and kwargs["sampling_topk"] > 1
    assert kwargs["static_prompt"] == lm._static and kwargs["cache_static_prompt"] is True
    assert kwargs["end_token"] == "<|im_end|>"
    # The decode stops where a proposal could no longer fit: well under the source's length.
    assert kwargs["max_length"] < len(SOURCE.split(" "))


def test_proposals_that_reach_the_length_limit_are_dropped() -> None:
    rambling = " ".join(["and"] * 40)
    lm, _ = shortener(["Check required fields first.", rambling])
    proposals = lm.shorten([SOURCE], target_ratio=0.6, sampled=2, greedy=False)
    assert proposals == ["Check required fields first."]


def test_greedy_and_sampled_are_separate_calls() -> None:
    lm, generator = shortener(["Check required fields first."])
    lm.shorten([SOURCE, "Check every required field."], target_ratio=0.6, sampled=1, greedy=True)
    assert [len(prompts) for prompts, _ in generator.calls] == [2, 1]
    assert "num_hypotheses" not in generator.calls[0][1]


@pytest.mark.parametrize("few_shot", [-1, len(EXAMPLES) + 1])
def test_few_shot_is_validated(few_shot: int) -> None:
    with pytest.raises(OptionsError, match="few_shot"):
        LMSettings(few_shot=few_shot)


@pytest.mark.slow
def test_real_model_gives_at_most_the_samples_asked_for(require_model, model_dir: Path) -> None:  # type: ignore[no-untyped-def]
    require_model("smollm2-135m-ct2")
    lm = CTranslate2LM.load(model_dir)
    text = ("In order to make sure that the results are correct, you really need to run the whole "
            "test suite again after every single change that you make to the code.")
    proposals = lm.shorten([text], target_ratio=0.6, sampled=3, greedy=False)
    assert 1 <= len(proposals) <= 3, "SmolLM2 gave no usable proposal"
    assert all(0 < len(p) < len(text) * 0.9 for p in proposals)
