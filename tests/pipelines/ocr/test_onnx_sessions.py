"""The engine's ONNX Runtime sessions and detector input: cheaper, and the same results as
RapidOCR's own (fast: the table on RapidOCR's preprocessing, bit for bit; slow: real models, with
their scalar steps folded, on frames of a real UI recording: the same boxes and texts, scores
within rounding)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from pipelines.ocr.engines import RapidOcrEngine, load_engine
from pipelines.ocr.onnx_sessions import Detector

RECORDING = "video/screencast_jupyterlab_ghcreds.mp4"


class _Preprocessing:
    """The part of RapidOCR's ``TextDetector`` that ``Detector.input`` uses, without a model."""

    def get_preprocess(self, max_wh: int) -> Any:
        from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess

        return DetPreProcess(960 if max_wh < 960 else 1500 if max_wh < 1500 else 2000, "max",
                             [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])


@pytest.mark.parametrize("size", [(40, 300), (261, 852), (720, 1280), (1080, 1920)])
def test_detector_input_is_rapidocrs_bit_for_bit(size: tuple[int, int]) -> None:
    rng = np.random.default_rng(size[0])
    image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    text_det = _Preprocessing()
    want = text_det.get_preprocess(max(size)).__call__(image)
    got = Detector(text_det).input(image)  # type: ignore[arg-type]
    assert got is not None and got.dtype == np.float32 and got.flags.c_contiguous
    assert got.shape == want.shape
    assert np.array_equal(got, want)


# ---------------------------------------------------------------- real models (slow)


def _frames(path: Path, times: tuple[float, ...]) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    out = []
    for t in times:
        cap.set(cv2.CAP_PROP_POS_MSEC, t * 1000)
        ok, frame = cap.read()
        assert ok, (path, t)
        out.append(frame)
    cap.release()
    return out


@pytest.fixture(scope="module")
def frames(testdata: Path) -> list[np.ndarray]:
    path = testdata / RECORDING
    if not path.is_file():
        pytest.skip(f"{path} not found")
    full = _frames(path, (5.0, 40.0))
    # A full 1080p frame, a region as read_region frames it, and one text line.
    region = cv2.copyMakeBorder(full[1][100:300, 200:900], 160, 160, 160, 160, cv2.BORDER_REPLICATE)
    return [*full, region]


@pytest.fixture(scope="module")
def engines(require_model: Any, model_dir: Path) -> tuple[RapidOcrEngine, Any]:
    """This engine, and RapidOCR as it comes (its own sessions and preprocessing)."""
    from rapidocr_onnxruntime import RapidOCR

    folder = require_model("ppocrv5")
    engine = load_engine("rapidocr", model_dir, threads=1)
    assert isinstance(engine, RapidOcrEngine)
    plain = RapidOCR(det_model_path=str(folder / "det" / "det.onnx"), rec_model_path=str(folder / "rec" / "rec.onnx"),
                     rec_keys_path=str(folder / "ppocrv5_dict.txt"), cls_model_path=str(folder / "cls" / "cls.onnx"),
                     det_limit_type="max", det_limit_side_len=2000, intra_op_num_threads=1, inter_op_num_threads=1,
                     rec_batch_num=engine.rec_batch)  # a batch is padded to its widest line: same batches
    return engine, plain


@pytest.mark.slow
def test_sessions_do_not_spin_and_keep_the_threads_asked_for(engines: tuple[RapidOcrEngine, Any]) -> None:
    rapid = engines[0]._load()
    for session in (rapid.text_det.infer.session, rapid.text_rec.session.session):
        options = session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
        assert options.intra_op_num_threads == 1
    # RapidOCR's own sessions spin (the default): the reason for building them again.
    plain = engines[1].text_det.infer.session.get_session_options()
    with pytest.raises(RuntimeError, match="does not have configuration"):
        plain.get_session_config_entry("session.intra_op.allow_spinning")


@pytest.mark.slow
def test_onnx_runtime_runs_the_folded_models(engines: tuple[RapidOcrEngine, Any], model_dir: Path) -> None:
    import onnxruntime as ort

    rapid = engines[0]._load()
    for session, name in ((rapid.text_det.infer.session, "det"), (rapid.text_rec.session.session, "rec")):
        folded = ort.InferenceSession(str(model_dir / "ppocrv5" / name / f"{name}.folded.onnx"),
                                      providers=["CPUExecutionProvider"])
        original = ort.InferenceSession(str(model_dir / "ppocrv5" / name / f"{name}.onnx"),
                                        providers=["CPUExecutionProvider"])
        shape = (1, 3, 96, 320) if name == "det" else (1, 3, 48, 320)
        x = np.random.default_rng(1).random(shape, dtype=np.float32) - 0.5
        outputs = [s.run(None, {s.get_inputs()[0].name: x})[0] for s in (session, folded, original)]
        assert np.array_equal(outputs[0], outputs[1])  # the engine's session is the folded model's
        assert not np.array_equal(outputs[0], outputs[2])  # which is not the original, bit for bit
        assert np.allclose(outputs[0], outputs[2], atol=1e-4)  # but the same up to rounding


@pytest.mark.slow
def test_detection_and_recognition_match_rapidocrs_own(engines: tuple[RapidOcrEngine, Any],
                                                       frames: list[np.ndarray]) -> None:
    engine, plain = engines
    rapid = engine._load()
    lines = 0
    for frame in frames:
        want, _ = plain.text_det(frame)
        got = Detector(rapid.text_det)(frame)
        assert got is not None and np.array_equal(got, want)
        crops = rapid.get_crop_img_list(frame, list(want))
        lines += len(crops)
        got_lines, want_lines = rapid.text_rec(crops)[0], plain.text_rec(crops)[0]
        assert [text for text, _ in got_lines] == [text for text, _ in want_lines]
        assert np.allclose([score for _, score in got_lines], [score for _, score in want_lines], atol=1e-4)
    assert lines >= 20  # the frames hold text: the comparison compared something
    assert any(r.text for r in engine.read(frames[0]))


@pytest.mark.slow
def test_a_large_frame_is_searched_for_lines_at_1280_and_read_at_full_size(engines: tuple[RapidOcrEngine, Any]) -> None:
    from pipelines.ocr.engines import DETECT_MAX_SIDE

    engine = engines[0]
    engine._load()
    frame = np.full((1080, 1920, 3), 255, np.uint8)
    cv2.putText(frame, "Quarterly report", (1300, 900), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (0, 0, 0), 3)
    seen: list[tuple[int, ...]] = []
    detector = engine._detector
    assert detector is not None

    def spy(image: np.ndarray, wide: bool = False) -> Any:
        seen.append(image.shape[:2])
        return detector(image, wide)

    engine._detector = spy  # type: ignore[assignment]
    try:
        readings = engine.read(frame)
    finally:
        engine._detector = detector
    assert seen == [(round(1080 * DETECT_MAX_SIDE / 1920), DETECT_MAX_SIDE)]
    [reading] = readings
    assert reading.text.replace(" ", "").lower() == "quarterlyreport"
    x0, y0, x1, y1 = reading.box  # in the frame's own pixels
    assert 1280 <= x0 <= 1310 and 850 <= y0 <= 880 and x1 >= 1600 and 890 <= y1 <= 925


@pytest.mark.slow
def test_a_spare_core_detects_and_recognises_with_the_same_readings(engines: tuple[RapidOcrEngine, Any],
                                                                    frames: list[np.ndarray]) -> None:
    """Lines are recognised on two threads, and text found by the detector on one thread more."""
    import threading

    from pipelines.ocr.engines import SPARE_CORES

    engine = engines[0]
    rapid = engine._load()
    detector = engine._detector
    assert detector is not None and detector.wide is not None  # made for an engine on a share of the cores
    alone = [engine.read(frame) for frame in frames]
    recognise, wide = rapid.text_rec, detector.wide
    threads: set[int] = set()
    wide_runs: list[tuple[int, ...]] = []

    def spy(crops: Any, *args: Any, **kwargs: Any) -> Any:
        threads.add(threading.get_ident())
        return recognise(crops, *args, **kwargs)

    class Wide:
        def get_inputs(self) -> Any:
            return wide.get_inputs()

        def run(self, names: Any, feed: dict[str, np.ndarray]) -> Any:
            wide_runs.append(next(iter(feed.values())).shape)
            return wide.run(names, feed)

    rapid.text_rec = spy
    detector.wide = Wide()
    token = SPARE_CORES.set(lambda: 1)
    try:
        lent = [engine.read(frame) for frame in frames]
    finally:
        SPARE_CORES.reset(token)
        rapid.text_rec, detector.wide = recognise, wide
    assert lent == alone and sum(map(len, alone)) >= 20
    assert len(threads) == 2 and threading.get_ident() in threads  # the caller's and one more
    assert len(wide_runs) == len(frames)  # each frame's detection on the wide session


# ---------------------------------------------------------------- OpenVINO (LESSONLENS_OCR_RUNTIME=openvino)


def test_an_unknown_or_missing_runtime_is_refused_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import pipelines.ocr.onnx_sessions as sessions
    from pipelines.exceptions import OptionsError

    with pytest.raises(OptionsError, match=r"Unknown OCR runtime 'tensorrt'.*onnxruntime, openvino"):
        sessions.resolve_runtime("tensorrt")
    assert sessions.resolve_runtime("openvino", use_cuda=True) == "onnxruntime"  # CUDA is ONNX Runtime's
    monkeypatch.setattr(sessions, "openvino_installed", lambda: False)
    with pytest.raises(OptionsError, match="LESSONLENS_OCR_RUNTIME=onnxruntime"):
        sessions.resolve_runtime("openvino")
    assert sessions.resolve_runtime("onnxruntime") == "onnxruntime"


def test_the_setting_reaches_the_engine(tmp_path: Path) -> None:
    from app.model_cache import ModelCache
    from app.settings import Settings

    settings = Settings(data_dir=tmp_path, ocr_runtime="openvino")
    engine = ModelCache(settings).ocr("rapidocr", threads=1)
    assert isinstance(engine, RapidOcrEngine) and engine.runtime == "openvino"  # nothing loaded yet
    assert Settings(data_dir=tmp_path).ocr_runtime == "onnxruntime"


@pytest.fixture(scope="module")
def openvino_engine(require_model: Any, model_dir: Path) -> RapidOcrEngine:
    require_model("ppocrv5")
    engine = load_engine("rapidocr", model_dir, threads=1, runtime="openvino")
    assert isinstance(engine, RapidOcrEngine)
    engine._load()
    return engine


@pytest.mark.slow
def test_openvino_runs_float32_on_the_threads_asked_for(openvino_engine: RapidOcrEngine) -> None:
    from pipelines.ocr.onnx_sessions import OpenVinoSession

    rapid = openvino_engine._load()
    detector = openvino_engine._detector
    assert detector is not None
    sessions = [rapid.text_det.infer.session, rapid.text_rec.session.session, detector.wide]
    assert all(isinstance(s, OpenVinoSession) for s in sessions)
    # bfloat16 (OpenVINO's default where the CPU has AMX or AVX-512 BF16) changes the readings.
    assert {str(s.compiled.get_property("INFERENCE_PRECISION_HINT")) for s in sessions} == {"<Type: 'float32'>"}
    assert [s.compiled.get_property("INFERENCE_NUM_THREADS") for s in sessions] == [1, 1, 2]
    assert [s.release for s in sessions] == [True, False, True]  # the detector gives its tensors back


@pytest.mark.slow
def test_openvino_reads_real_frames_as_onnx_runtime_does(openvino_engine: RapidOcrEngine,
                                                          engines: tuple[RapidOcrEngine, Any],
                                                          frames: list[np.ndarray]) -> None:
    """Same lines and texts; boxes within a pixel (float32 in both, summed in another order)."""
    onnx = engines[0]
    lines = 0
    for frame in frames:
        want, got = onnx.read(frame), openvino_engine.read(frame)
        assert [r.text for r in got] == [r.text for r in want]
        for a, b in zip(got, want, strict=True):
            assert max(abs(p - q) for p, q in zip(a.box, b.box, strict=True)) <= 1, (a, b)
            assert a.confidence == pytest.approx(b.confidence, abs=1e-3)
        lines += len(want)
    assert lines >= 20


@pytest.mark.slow
def test_openvino_reads_on_several_threads_at_once(openvino_engine: RapidOcrEngine, frames: list[np.ndarray]) -> None:
    """Each thread has its own infer request: the same readings read at once as one by one (the
    spare cores recognise lines this way, and two jobs of a worker share an engine)."""
    from concurrent.futures import ThreadPoolExecutor

    alone = [openvino_engine.read(frame) for frame in frames]
    with ThreadPoolExecutor(3) as pool:
        together = list(pool.map(openvino_engine.read, frames * 2))
    assert together == alone * 2 and sum(map(len, alone)) >= 20


@pytest.mark.slow
def test_a_model_folder_assembled_before_the_folded_files_gets_them_on_first_use(
        require_model: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import shutil

    source = require_model("ppocrv5")
    folder = tmp_path / "ppocrv5"
    for name in ("det/det.onnx", "rec/rec.onnx", "cls/cls.onnx", "ppocrv5_dict.txt"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / name, folder / name)
    engine = RapidOcrEngine(folder, threads=1)
    with caplog.at_level(logging.INFO, logger="pipelines.ocr.model_fold"):
        engine._load()
    for name in ("det", "rec"):
        made = folder / name / f"{name}.folded.onnx"
        assert made.read_bytes() == (source / name / f"{name}.folded.onnx").read_bytes()  # as set-up makes it
    assert "det.folded.onnx made in" in caplog.text
    assert not list(folder.rglob("*.tmp"))


@pytest.mark.slow
def test_a_folded_file_that_cannot_be_made_leaves_the_original_model_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from pipelines.ocr.model_fold import ensure_folded

    broken = tmp_path / "det.onnx"
    broken.write_bytes(b"not a model")
    assert ensure_folded(broken) is None
    assert "det.folded.onnx could not be made" in caplog.text and "./scripts/setup" in caplog.text
    assert not list(tmp_path.glob("*.tmp")) and not (tmp_path / "det.folded.onnx").exists()
