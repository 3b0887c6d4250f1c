"""SmolLM2-135M-Instruct on CTranslate2: the fallback LM runtime.

Runtime choice (shared/MODELS.md, measured on this 2-core machine): transformers+gguf loads in
~28 s and takes ~1.3 s a sentence, so it cannot meet "load under 5 s, under 0.5 s a sentence".
``pipelines.fit.lm.load_lm`` picks llama.cpp (``pipelines.fit.lm_llamacpp``) first. CTranslate2
(this module's ``CTranslate2LM``, on the engine faster-whisper already brings) is the fallback where
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
  135M model mostly copies its input). The sentence fitter asks for four per call and calls again
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
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipelines.fit.lm_prompt import LMSettings, budget, clean_output, few_shot_prompt, user_turn
from pipelines.models import model_path

log = logging.getLogger(__name__)

MODEL_NAME = "smollm2-135m-ct2"


class CTranslate2LM:
    """SmolLM2-135M-Instruct (CTranslate2 int8) with a cached few-shot prompt.

    Build with ``CTranslate2LM.load(model_dir)`` once per worker; one thread at a time.
    """

    def __init__(self, generator: Any, tokenizer: Any, settings: LMSettings) -> None:
        self._generator = generator
        self._tokenizer = tokenizer
        self.settings = settings
        self._static = self._tokens(few_shot_prompt(settings.few_shot))

    @classmethod
    def load(cls, model_dir: Path, settings: LMSettings | None = None) -> CTranslate2LM:
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
        attempt: int = 0, deadline: float | None = None, stop: threading.Event | None = None,
    ) -> list[str]:
        """Shorter versions of ``sources``: one greedy each, then ``sampled`` sampled for the first.

        Args:
            sources: the sentence and variants of it (e.g. its rule-compressed form).
            target_ratio: wanted length as a fraction of the first source (0-1].
            sampled: sampled proposals for the first source (one more batched call).
            greedy: also decode each source greedily (one batched call).
            attempt: unused here: CTranslate2's random stream moves on from call to call.
            deadline: ``time.monotonic()`` after which no batch is started (a batch runs to its end).
            stop: once set, no further batch is started either.

        Proposals that reach the length limit (too long to fit) or are empty are left out.
        """
        if not sources or (deadline is not None and time.monotonic() >= deadline) or (stop is not None and stop.is_set()):
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
        if sampled > 0 and (deadline is None or time.monotonic() < deadline) and not (stop is not None and stop.is_set()):
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
