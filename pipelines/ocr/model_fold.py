"""PP-OCRv5's models with their scalar affine steps folded into the convolutions next to them.

Done once, when the model folder is assembled (``pipelines.models``: ``det/det.folded.onnx``,
``rec/rec.folded.onnx``), as the ``onnx`` package it takes holds ~75 MB that a worker should not;
a folder assembled before has them made on first use, in a process of their own
(``ensure_folded``).

PP-OCRv5's detector and recogniser (PP-LCNetV3 and PP-HGNetV2 blocks) follow many convolutions,
and many activations, with a *learnable affine block*: the tensor times one number, plus another.
ONNX Runtime does not fold these into the convolution (its ``ConvMulFusion`` and ``ConvAddFusion``
take per-channel constants, not a single number), so each is one more pass over a full tensor:
a sixth of a recognition and of a detection (``Mul`` and ``Add`` in its profile).
``fold_affine`` folds them, exactly in arithmetic (float32 rounding aside):

- after a convolution: ``(W * x + B) * s + b`` is the convolution with weights ``W * s`` and bias
  ``B * s + b``;
- before 1x1 convolutions without padding (only): ``W * (s * x + b) + B`` is the convolution with
  weights ``W * s`` and bias ``B + b * sum(W)`` over its input channels. Before a padded
  convolution it would not be: the padding's zeros would become ``b``.

On one thread, a line 320 pixels wide at 48 took 10.0 ms to recognise instead of 11.7 ms and a
1280x736 detection 151 ms instead of 181 ms (AMD EPYC, ONNX Runtime 1.32); outputs differ from
the original models' by at most ~2e-6 (rounding).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def folded_path(model: Path) -> Path:
    """Where the model folder keeps ``model`` folded (``det/det.onnx``: ``det/det.folded.onnx``);
    ``pipelines.models`` writes it when it assembles the folder."""
    return model.with_name(f"{model.stem}.folded{model.suffix}")


def ensure_folded(model: Path) -> Path | None:
    """``model``'s folded file (``folded_path``), made now if it is missing, in a child process
    (``python -m pipelines.ocr.model_fold``) and renamed into place; None when it cannot be made
    (a read-only folder, a model this cannot read), with a warning saying so."""
    target = folded_path(model)
    if target.is_file():
        return target
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    started = time.monotonic()
    try:
        subprocess.run([sys.executable, "-m", "pipelines.ocr.model_fold", str(model), str(tmp)], check=True,
                       capture_output=True, text=True, timeout=300)
        os.replace(tmp, target)
    except (OSError, subprocess.SubprocessError) as err:
        detail = getattr(err, "stderr", None) or err
        log.warning("%s could not be made (%s): OCR runs the unfolded model, ~15 %% slower; run "
                    "./scripts/setup to assemble the model folder again", target, str(detail).strip()[-300:])
        tmp.unlink(missing_ok=True)
        return None
    log.info("%s made in %.1f s", target, time.monotonic() - started)
    return target


def fold_affine(model: Path) -> bytes:
    """``model`` (an ONNX file) with its scalar multiplies and adds folded into the convolutions
    beside them (module docstring), serialised. Its constants are first folded by ONNX Runtime's
    basic graph optimisation (the weights are ``Constant`` nodes in PP-OCRv5's files), which
    changes no value.
    """
    import onnx
    import onnxruntime as ort

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lessonlens-fold-") as tmp:
        basic = Path(tmp) / model.name
        options = ort.SessionOptions()
        options.log_severity_level = 4
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(basic)
        ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        proto = onnx.load(str(basic))
    after, before = fold_graph(proto.graph)
    log.info("%s: %d scalar steps folded into the convolution before them, %d into the one after (%.2f s)",
             model.name, after, before, time.monotonic() - started)
    data: bytes = proto.SerializeToString()
    return data


class _Graph:
    """An ONNX graph's nodes, initialisers and consumers, for rewriting in place."""

    def __init__(self, graph: Any) -> None:
        from onnx import numpy_helper

        self.graph = graph
        self.helper = numpy_helper
        self.inits = {init.name: init for init in graph.initializer}
        self.outputs = {out.name for out in graph.output}
        self.removed: set[int] = set()
        self.consumers: dict[str, list[Any]] = defaultdict(list)
        for node in graph.node:
            for name in node.input:
                self.consumers[name].append(node)

    def array(self, name: str) -> np.ndarray | None:
        init = self.inits.get(name)
        return None if init is None else np.asarray(self.helper.to_array(init))

    def scalar(self, name: str) -> float | None:
        value = self.array(name)
        if value is None or value.size != 1 or value.dtype != np.float32:
            return None
        return float(value.reshape(-1)[0])

    def only_consumer(self, name: str) -> Any:
        """The one live node reading ``name``, or None (several, none, or a graph output)."""
        users = [n for n in self.consumers[name] if id(n) not in self.removed]
        return users[0] if len(users) == 1 and name not in self.outputs else None

    def scalar_step(self, node: Any, name: str) -> float | None:
        """The number ``node`` (a Mul or Add) applies to ``name``, if its other input is one."""
        if node.op_type not in ("Mul", "Add") or len(node.input) != 2 or list(node.input).count(name) != 1:
            return None
        return self.scalar(node.input[1] if node.input[0] == name else node.input[0])

    def bypass(self, node: Any, by: str) -> None:
        """Drop ``node``; its readers read ``by`` instead."""
        self.removed.add(id(node))
        for user in self.consumers.pop(node.output[0], []):
            for k, name in enumerate(user.input):
                if name == node.output[0]:
                    user.input[k] = by
            self.consumers[by].append(user)

    def set_weights(self, conv: Any, weights: np.ndarray, bias: np.ndarray, tag: str) -> None:
        for k, value in ((1, weights), (2, bias)):
            name = f"{conv.output[0]}:{tag}:{k}"
            self.graph.initializer.append(self.helper.from_array(value.astype(np.float32), name))
            self.inits[name] = self.graph.initializer[-1]
            if k < len(conv.input):
                conv.input[k] = name
            else:
                conv.input.append(name)

    def conv_weights(self, conv: Any) -> tuple[np.ndarray, np.ndarray] | None:
        weights = self.array(conv.input[1]) if len(conv.input) > 1 else None
        if weights is None or weights.dtype != np.float32:
            return None
        bias = self.array(conv.input[2]) if len(conv.input) > 2 and conv.input[2] else None
        return weights, (np.zeros(weights.shape[0], np.float32) if bias is None else bias)

    def finish(self) -> None:
        keep = [n for n in self.graph.node if id(n) not in self.removed]
        del self.graph.node[:]
        self.graph.node.extend(keep)
        used = {name for node in keep for name in node.input}
        for init in list(self.graph.initializer):
            if init.name not in used:
                self.graph.initializer.remove(init)


def _plain_pointwise(conv: Any, weights: np.ndarray) -> bool:
    """A 1x1 convolution of one group, no padding, stride or dilation that could shift it."""
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    return (weights.ndim == 4 and weights.shape[2:] == (1, 1) and attrs.get("group", 1) == 1
            and not any(attrs.get("pads", [])) and auto_pad in (b"NOTSET", "NOTSET", b"VALID", "VALID"))


def fold_graph(graph: Any) -> tuple[int, int]:
    """Fold in place (``fold_affine``); the steps folded into a convolution before them and into
    1x1 convolutions after them."""
    g = _Graph(graph)
    after = before = 0
    for conv in list(graph.node):
        if conv.op_type != "Conv" or (weights_bias := g.conv_weights(conv)) is None:
            continue
        weights, bias = weights_bias
        folded = False
        while (step := g.only_consumer(conv.output[0])) is not None:
            value = g.scalar_step(step, conv.output[0])
            if value is None or step.output[0] in g.outputs:  # a graph output keeps its name
                break
            if step.op_type == "Mul":
                weights, bias = weights * np.float32(value), bias * np.float32(value)
            else:
                bias = bias + np.float32(value)
            g.bypass(step, conv.output[0])
            folded = True
            after += 1
        if folded:
            g.set_weights(conv, weights, bias, "after")
    for mul in list(graph.node):
        if id(mul) in g.removed or mul.op_type != "Mul":
            continue
        source = next((name for name in mul.input if g.scalar(name) is None), None)
        scale = g.scalar_step(mul, source) if source is not None else None
        if source is None or scale is None:
            continue
        last, shift = mul, 0.0
        add = g.only_consumer(mul.output[0])
        if add is not None and add.op_type == "Add" and (b := g.scalar_step(add, mul.output[0])) is not None:
            last, shift = add, b
        users = [n for n in g.consumers[last.output[0]] if id(n) not in g.removed]
        if not users or last.output[0] in g.outputs:
            continue
        convs: list[tuple[Any, np.ndarray, np.ndarray]] = []
        for user in users:
            weights_bias = g.conv_weights(user) if user.op_type == "Conv" else None
            if weights_bias is None or user.input[0] != last.output[0] or not _plain_pointwise(user, weights_bias[0]):
                break
            convs.append((user, *weights_bias))
        if len(convs) != len(users):
            continue
        for conv, weights, bias in convs:
            g.set_weights(conv, weights * np.float32(scale),
                          bias + np.float32(shift) * weights.sum(axis=(1, 2, 3), dtype=np.float32), "before")
        if last is not mul:
            g.bypass(last, mul.output[0])
        g.bypass(mul, source)
        before += 1 + (last is not mul)
    g.finish()
    return after, before


def main(argv: list[str]) -> int:
    """``python -m pipelines.ocr.model_fold MODEL OUT``: write ``MODEL`` folded to ``OUT``."""
    if len(argv) != 2:
        print("usage: python -m pipelines.ocr.model_fold MODEL.onnx OUT.onnx", file=sys.stderr)
        return 2
    Path(argv[1]).write_bytes(fold_affine(Path(argv[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
