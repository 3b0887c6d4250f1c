"""The CTranslate2 -> openai-whisper conversion, and the openai-whisper engine on real speech."""

from __future__ import annotations

import json
from pathlib import Path

import jiwer
import pytest
from whisper_normalizer.english import EnglishTextNormalizer

from pipelines.asr import AsrOptions
from pipelines.asr_engines import load_engine
from pipelines.exceptions import ModelNotInstalledError
from pipelines.media import load_audio
from pipelines.whisper_convert import (
    CHECKPOINT,
    alignment_heads,
    convert_ct2_whisper_to_openai,
    dims_of,
    read_ctranslate2,
    state_dict_of,
)

whisper = pytest.importorskip("whisper", reason="openai-whisper not installed")
normalise = EnglishTextNormalizer()


def test_every_openai_whisper_weight_comes_from_the_ct2_model(require_model) -> None:  # type: ignore[no-untyped-def]
    import torch

    variables = read_ctranslate2(require_model("whisper-tiny.en") / "model.bin")
    dims = dims_of(variables)
    assert (dims.n_mels, dims.n_audio_layer, dims.n_audio_head, dims.n_text_layer, dims.n_vocab) == (80, 4, 6, 4, 51864)
    expected = whisper.model.Whisper(whisper.model.ModelDimensions(**dims.__dict__)).state_dict()
    converted = state_dict_of(variables)
    assert set(converted) == set(expected)
    assert all(tuple(converted[k].shape) == tuple(v.shape) for k, v in expected.items())
    # the key has no bias in openai-whisper; CTranslate2 fused zeros for it
    assert not variables["encoder/layer_0/self_attention/linear_0/bias"][384:768].any()
    # the encoder's positions are the same sinusoids openai-whisper computes
    assert torch.allclose(torch.from_numpy(converted["encoder.positional_embedding"].astype("float32")),
                          expected["encoder.positional_embedding"], atol=1e-3)


def test_not_a_whisper_model_bin_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"\x02\x00\x00\x00")
    with pytest.raises(ModelNotInstalledError, match="binary version 2"):
        read_ctranslate2(bogus)


@pytest.mark.slow
def test_converted_tiny_en_loads_and_transcribes_like_faster_whisper(  # type: ignore[no-untyped-def]
    require_model, model_dir: Path, samples: Path, tmp_path: Path
) -> None:
    checkpoint = convert_ct2_whisper_to_openai(require_model("whisper-tiny.en"), tmp_path)
    assert checkpoint.name == CHECKPOINT and alignment_heads(tmp_path)
    loaded = whisper.load_model(str(checkpoint), device="cpu")
    assert loaded.dims.n_text_layer == 4 and not loaded.is_multilingual
    del loaded
    # the installed conversion, through the engine: the same word-timed transcript as faster-whisper's
    require_model("whisper-tiny.en-openai")
    audio = load_audio(samples / "lesson.mp4")
    narration = json.loads((samples / "lesson.json").read_text())["narration"]
    openai = load_engine("whisper-tiny.en", model_dir, engine="openai-whisper").transcribe(
        audio, AsrOptions(engine="openai-whisper"))
    faster = load_engine("whisper-tiny.en", model_dir).transcribe(audio, AsrOptions())
    assert openai.language == "en" and openai.model == "whisper-tiny.en"
    assert jiwer.wer(normalise(faster.text), normalise(openai.text)) < 0.05
    assert jiwer.wer(normalise(narration), normalise(openai.text)) < 0.1
    assert len(openai.words) > 50 and all(0 <= w.start <= w.end <= openai.duration + 0.5 for w in openai.words)
    assert all(isinstance(w.start, float) for w in openai.words)
    # word timings agree with faster-whisper's (same weights, same VAD, same alignment heads)
    assert abs(openai.words[0].start - faster.words[0].start) < 0.3
