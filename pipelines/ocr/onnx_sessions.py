"""How RapidOCR's PP-OCRv5 models run in ONNX Runtime here: session options and the detector's input.

Both change the cost of a read, never its result (the tests compare readings bit for bit):

- **Sessions without spinning.** ONNX Runtime's intra-op threads spin while they wait for work
  by default. On a machine whose cores are shared (the other stages of a job, other workers) the
  spinning threads burn the CPU the others need: measured on the real UI recordings' reads at a
  load average of 11-13, the same reads took 21.6 s of CPU with spinning and 15.4 s without, at
  the same peak RSS. RapidOCR builds its sessions with spinning on and no way to say otherwise,
  so the detector's and recogniser's sessions are built again with ``session_options``. (Its
  memory arena stays off: on, it cut a little more CPU but held ~400 MB more after a 1080p frame.)
- **The detector's input through a lookup table.** RapidOCR normalises the resized frame in
  float64 (~8 % of a detection on a 1080p frame); ``Detector`` maps each byte through a
  table of the same float32 values (made by RapidOCR's own normalisation), in one pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np


def session_options(threads: int = 0) -> Any:
    """ONNX Runtime session options for an OCR model: full graph optimisation, sequential
    execution, no spinning, ``threads`` intra-op threads (0: the runtime's default, the cores)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.enable_cpu_mem_arena = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    if threads > 0:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return options


def rebuild_session(holder: Any, model: Path, threads: int = 0) -> None:
    """Replace the session of RapidOCR's ``OrtInferSession`` ``holder`` by one of ``model`` with
    ``session_options``, on the providers (and their options) RapidOCR chose (CUDA or the CPU)."""
    import onnxruntime as ort

    old = holder.session
    providers = old.get_providers()
    provider_options = old.get_provider_options()
    holder.session = ort.InferenceSession(
        str(model), sess_options=session_options(threads),
        providers=[(name, provider_options.get(name, {})) for name in providers],
    )


def cpu_session(model: Path, threads: int) -> Any:
    """An ONNX Runtime session of ``model`` on the CPU with ``session_options(threads)``."""
    import onnxruntime as ort

    return ort.InferenceSession(str(model), sess_options=session_options(threads), providers=["CPUExecutionProvider"])


class Detector:
    """RapidOCR's text detector (``TextDetector``) with its input normalised by a table.

    Resizes as RapidOCR does (its own ``DetPreProcess.resize``), maps each byte of each channel
    to the float32 value RapidOCR's float64 normalisation gives it, then runs RapidOCR's session
    and post-processing: the same boxes, cheaper.
    """

    def __init__(self, text_det: Any) -> None:
        """``text_det``: a RapidOCR ``TextDetector`` (its limits, session and post-processing)."""
        self.text_det = text_det
        levels = np.repeat(np.arange(256, dtype=np.uint8).reshape(1, 256, 1), 3, axis=2)
        self.table = np.asarray(text_det.get_preprocess(0).normalize(levels), dtype=np.float32)  # (1, 256, 3)
        self.wide: Any = None  # the same model on more threads (``__call__(wide=True)``), if made

    def input(self, image: np.ndarray) -> np.ndarray | None:
        """The detector's input for a BGR image: (1, 3, H, W) float32; None for an empty resize."""
        resized = self.text_det.get_preprocess(max(image.shape[:2])).resize(image)
        if resized is None:
            return None
        normalised = cv2.LUT(np.ascontiguousarray(resized), self.table)
        return np.ascontiguousarray(normalised.transpose(2, 0, 1)[np.newaxis])

    def __call__(self, image: np.ndarray, wide: bool = False) -> np.ndarray | None:
        """Text boxes (N, 4, 2) in the image's pixels, as RapidOCR's ``text_det`` gives them;
        ``wide``: on the ``wide`` session, where there is one."""
        prepared = self.input(image)
        if prepared is None:
            return None
        shape = (image.shape[0], image.shape[1])
        if wide and self.wide is not None:
            preds = self.wide.run(None, {self.wide.get_inputs()[0].name: prepared})[0]
        else:
            preds = self.text_det.infer(prepared)[0]
        boxes, _ = self.text_det.postprocess_op(preds, shape)
        return np.asarray(self.text_det.filter_tag_det_res(boxes, shape))
