"""How RapidOCR's PP-OCRv5 models run here: the runtime, its session options, the detector's input.

ONNX Runtime's options and the detector's input change no reading (the tests compare them with
RapidOCR's own bit for bit); ONNX Runtime runs the models with their scalar steps folded into
their convolutions (``pipelines.ocr.model_fold``: the same boxes and texts, scores within
rounding); OpenVINO gives the same texts, boxes within a pixel:

- **OpenVINO on the CPU, if chosen** (``RUNTIMES``; ``LESSONLENS_OCR_RUNTIME=openvino``). The same
  ONNX files, compiled by OpenVINO's CPU plugin in float32 (its default on CPUs with AMX or AVX-512
  BF16 is bfloat16, which changed a quarter of the recognised lines, so it is set): on the real UI
  recordings' frames a 1280-pixel detection took 2.6x less CPU than in ONNX Runtime (0.44 against
  1.14 s on one thread) and a line's recognition 20 % less, with the same characters on all 262
  lines compared, 3 pixels of 11 million on the other side of the detector's threshold, and the
  same events on the three recordings. It costs memory: ~200 MB more for a job (its CPU plugin,
  and what it compiles), so ONNX Runtime stays the default (README, Throughput of one job).

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


RUNTIMES = ("onnxruntime", "openvino")
"""What can run the OCR models on the CPU. On a GPU they run in ONNX Runtime's CUDA provider."""


def openvino_installed() -> bool:
    """Whether OpenVINO can be imported (a dependency of the project, so normally yes)."""
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


def resolve_runtime(runtime: str, use_cuda: bool = False) -> str:
    """The runtime that runs the models: ``runtime`` (one of ``RUNTIMES``), ONNX Runtime on a GPU.

    Raises:
        OptionsError: an unknown runtime, or ``openvino`` asked for where it is not installed.
    """
    from pipelines.exceptions import OptionsError

    if runtime not in RUNTIMES:
        raise OptionsError(f"Unknown OCR runtime {runtime!r}. Choose one of: {', '.join(RUNTIMES)}.")
    if use_cuda:
        return "onnxruntime"
    if runtime == "openvino" and not openvino_installed():
        raise OptionsError("OCR runtime 'openvino' is not installed here: run ./scripts/setup again (it installs "
                           "the pinned openvino), or set LESSONLENS_OCR_RUNTIME=onnxruntime.")
    return runtime


class _Name:
    def __init__(self, name: str) -> None:
        self.name = name


class OpenVinoSession:
    """An ONNX model compiled by OpenVINO for the CPU, run through ONNX Runtime's session calls
    (``run``, ``get_inputs``, ``get_outputs``), so RapidOCR's code uses it unchanged.

    Float32 throughout; ``threads`` inference threads (0: OpenVINO's default, the cores); one
    stream, threads not pinned to cores (the cores are shared with the other stages). Each
    calling thread has its own infer request, so reads on the spare cores can run at once.

    Memory: the inputs change shape from call to call (a region, a line's width), and OpenVINO
    keeps what it made for every shape unless told not to: on the real lab recording the OCR's
    peak RSS was 1,859 MB with its caches on, against 802 MB in ONNX Runtime. Its runtime cache
    and oneDNN's primitive cache are therefore off, and ``release`` (the detector: ~300 MB of
    intermediate tensors for a 1280-pixel frame) gives the tensors back after each call, as ONNX
    Runtime without its arena does. (oneDNN's cache is set by an environment variable of the
    process, ``ONEDNN_PRIMITIVE_CACHE_CAPACITY``, when not set already: a PyTorch loaded later in
    the same process, openai-whisper's engine, would run without that cache too.)
    """

    def __init__(self, model: Path, threads: int = 0, *, release: bool = False) -> None:
        import os
        import threading

        os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "0")  # read when OpenVINO loads oneDNN
        import openvino as ov

        core = ov.Core()
        config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY",
                                  "NUM_STREAMS": 1, "ENABLE_CPU_PINNING": False, "CPU_RUNTIME_CACHE_CAPACITY": 0}
        if threads > 0:
            config["INFERENCE_NUM_THREADS"] = threads
        self.release = release
        self.compiled = core.compile_model(core.read_model(str(model)), "CPU", config)
        self._inputs = [_Name(port.get_any_name()) for port in self.compiled.inputs]
        self._outputs = [_Name(port.get_any_name()) for port in self.compiled.outputs]
        self._local = threading.local()
        self._lock = threading.Lock()
        self._running = 0

    def get_inputs(self) -> list[_Name]:
        return self._inputs

    def get_outputs(self) -> list[_Name]:
        return self._outputs

    def run(self, names: list[str] | None, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The outputs named (None: all) for inputs by name, as ONNX Runtime's ``run`` gives them."""
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.compiled.create_infer_request()
        with self._lock:
            self._running += 1
        try:
            results = request.infer({name: np.ascontiguousarray(value) for name, value in feed.items()})
            by_name = {port.get_any_name(): value for port, value in results.items()}
            wanted = names or [o.name for o in self._outputs]
            return [np.array(by_name[name], copy=True) for name in wanted]  # the request reuses its buffers
        finally:
            with self._lock:  # released only when no other thread is inferring on this model
                self._running -= 1
                if self.release and not self._running:
                    self.compiled.release_memory()


def rebuild_session(holder: Any, model: Path, threads: int = 0, runtime: str = "onnxruntime",
                    *, release: bool = False) -> None:
    """Replace the session of RapidOCR's ``OrtInferSession`` ``holder`` by one of ``model``: in
    OpenVINO (``runtime`` ``openvino``; ``release``: ``OpenVinoSession``'s), or with
    ``session_options`` on the providers (and their options) RapidOCR chose (CUDA or the CPU)."""
    if runtime == "openvino":
        holder.session = OpenVinoSession(model, threads, release=release)
        return
    import onnxruntime as ort

    old = holder.session
    providers = old.get_providers()
    provider_options = old.get_provider_options()
    holder.session = ort.InferenceSession(
        str(model), sess_options=session_options(threads),
        providers=[(name, provider_options.get(name, {})) for name in providers],
    )


def cpu_session(model: Path, threads: int, runtime: str = "onnxruntime", *, release: bool = False) -> Any:
    """A session of ``model`` on the CPU on ``threads`` threads: OpenVINO's (``runtime``
    ``openvino``; ``release``: ``OpenVinoSession``'s) or ONNX Runtime's with ``session_options(threads)``."""
    if runtime == "openvino":
        return OpenVinoSession(model, threads, release=release)
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
