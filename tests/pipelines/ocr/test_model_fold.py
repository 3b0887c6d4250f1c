"""Scalar multiplies and adds folded into convolutions: the same outputs up to rounding, the
steps gone, and nothing folded where the arithmetic would change (fast: small graphs built here;
the real models are compared in test_onnx_sessions)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from pipelines.ocr.model_fold import fold_affine, fold_graph, folded_path


def _init(name: str, value: np.ndarray | float) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value, dtype=np.float32).reshape(np.shape(value) or (1,)), name)


def _model(outputs: list[str], nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto]) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, None, 8, 8]) for name in outputs], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])


def _block() -> onnx.ModelProto:
    """conv 3x3 -> *s +b -> hardswish -> *s +b -> conv 1x1 (y); hardswish -> *s -> conv 3x3 padded (z)."""
    rng = np.random.default_rng(7)
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Mul", ["c1", "s1"], ["m1"]),
        helper.make_node("Add", ["t1", "m1"], ["a1"]),  # the number first: either order
        helper.make_node("HardSwish", ["a1"], ["h"]),
        helper.make_node("Mul", ["s2", "h"], ["m2"]),
        helper.make_node("Add", ["m2", "t2"], ["a2"]),
        helper.make_node("Conv", ["a2", "w2", "b2"], ["y"]),
        helper.make_node("Mul", ["h", "s3"], ["m3"]),
        helper.make_node("Conv", ["m3", "w3"], ["z"], pads=[1, 1, 1, 1]),
    ]
    inits = [
        _init("w1", rng.standard_normal((4, 4, 3, 3))), _init("b1", rng.standard_normal(4)),
        _init("s1", 0.7), _init("t1", -0.3), _init("s2", 1.3), _init("t2", 0.25),
        _init("w2", rng.standard_normal((6, 4, 1, 1))), _init("b2", rng.standard_normal(6)),
        _init("s3", 0.5), _init("w3", rng.standard_normal((2, 4, 3, 3))),
    ]
    return _model(["y", "z"], nodes, inits)


def _run(model: onnx.ModelProto | bytes) -> list[np.ndarray]:
    data = model if isinstance(model, bytes) else model.SerializeToString()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(3).standard_normal((1, 4, 8, 8)).astype(np.float32)
    return list(session.run(None, {"x": x}))


def _ops(model: onnx.ModelProto) -> list[str]:
    return [node.op_type for node in model.graph.node]


def test_steps_after_a_conv_and_before_a_pointwise_conv_are_folded() -> None:
    model = _block()
    want = _run(model)
    folded = onnx.ModelProto()
    folded.CopyFrom(model)
    after, before = fold_graph(folded.graph)
    assert (after, before) == (2, 2)
    # The padded 3x3 convolution keeps its multiply: the padding's zeros would be scaled otherwise.
    assert sorted(_ops(folded)) == ["Conv", "Conv", "Conv", "HardSwish", "Mul"]
    got = _run(folded)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        assert np.allclose(g, w, atol=1e-5, rtol=1e-5)
    onnx.checker.check_model(folded)
    assert {i.name for i in folded.graph.initializer} >= {"s3", "w3"}
    assert not {"s1", "t1", "s2", "t2", "w1", "w2"} & {i.name for i in folded.graph.initializer}


def test_a_step_whose_input_is_read_elsewhere_or_is_an_output_stays() -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"]),
        helper.make_node("Mul", ["c", "s"], ["m"]),  # c is also an output: cannot fold into w
        helper.make_node("Add", ["m", "v"], ["y"]),  # a per-channel add, not one number
    ]
    rng = np.random.default_rng(8)
    model = _model(["c", "y"], nodes, [_init("w", rng.standard_normal((4, 4, 1, 1))), _init("s", 2.0),
                                       _init("v", rng.standard_normal((1, 4, 1, 1)))])
    assert fold_graph(model.graph) == (0, 0)
    assert _ops(model) == ["Conv", "Mul", "Add"]


def test_fold_affine_reads_a_file_and_gives_the_same_outputs(tmp_path: Path) -> None:
    path = tmp_path / "det.onnx"
    onnx.save(_block(), str(path))
    data = fold_affine(path)
    folded = onnx.load_from_string(data)
    assert _ops(folded).count("Mul") < _ops(_block()).count("Mul")
    for g, w in zip(_run(data), _run(_block()), strict=True):
        assert np.allclose(g, w, atol=1e-5, rtol=1e-5)
    assert folded_path(path) == tmp_path / "det.folded.onnx"


def test_a_step_that_gives_a_graph_output_stays() -> None:
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]), helper.make_node("Mul", ["c", "s"], ["y"])]
    model = _model(["y"], nodes, [_init("w", np.ones((4, 4, 1, 1))), _init("s", 2.0)])
    want = _run(model)
    assert fold_graph(model.graph) == (0, 0)
    assert _ops(model) == ["Conv", "Mul"] and np.array_equal(_run(model)[0], want[0])
