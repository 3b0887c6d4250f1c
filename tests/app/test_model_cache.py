"""``ModelCache`` on the device ``LESSONLENS_DEVICE`` names: the plan on any machine, and Whisper
and OCR really on a GPU where one is present (the test says why it skipped otherwise)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.model_cache import GPU_OCR_REC_BATCH, GPU_WHISPER_BATCH, DevicePlan, ModelCache
from app.settings import Settings
from pipelines.asr import AsrOptions, FasterWhisperEngine
from pipelines.media import load_audio
from pipelines.ocr.engines import RapidOcrEngine


def _gpus() -> int:
    import ctranslate2

    return int(ctranslate2.get_cuda_device_count())


def test_the_cpu_plan_is_int8_one_window_and_one_text_line_at_a_time() -> None:
    assert DevicePlan.for_setting("cpu") == DevicePlan("cpu", "int8", 1, False, 1)


def test_the_cuda_plan_is_float16_batched_and_ocr_on_cuda_only_where_onnxruntime_has_it() -> None:
    """OCR batches its lines only where it runs on the GPU: left on the CPU (no CUDA provider, as on
    this machine and the lent H200's image) it reads one line per call, as the CPU plan does."""
    import onnxruntime

    plan = DevicePlan.for_setting("cuda")
    assert (plan.device, plan.whisper_compute_type, plan.whisper_batch_size) == ("cuda", "float16", GPU_WHISPER_BATCH)
    assert plan.ocr_cuda == ("CUDAExecutionProvider" in onnxruntime.get_available_providers())
    assert plan.ocr_rec_batch == (GPU_OCR_REC_BATCH if plan.ocr_cuda else 1)


def test_auto_is_cuda_exactly_when_a_gpu_is_seen() -> None:
    assert DevicePlan.for_setting("auto").device == ("cuda" if _gpus() else "cpu")


def test_the_cache_loads_models_by_its_plan(tmp_path: Path) -> None:
    models = ModelCache(Settings(device="cpu", model_dir=tmp_path))
    assert models.device == DevicePlan()
    engine = models.ocr("rapidocr") if (tmp_path / "ppocrv5").exists() else None  # no weights: plan only
    assert engine is None or isinstance(engine, RapidOcrEngine)


@pytest.mark.slow
@pytest.mark.skipif(_gpus() == 0, reason="no CUDA GPU visible to CTranslate2: the GPU path runs where one is "
                                          "(LESSONLENS_DEVICE=cuda)")
def test_whisper_and_ocr_run_on_the_gpu(samples: Path, require_model) -> None:  # type: ignore[no-untyped-def]
    require_model("whisper-tiny.en")
    require_model("ppocrv5")
    models = ModelCache(Settings(device="cuda"))
    whisper = models.whisper("whisper-tiny.en")
    assert isinstance(whisper, FasterWhisperEngine)
    assert whisper.model.model.device == "cuda" and whisper.model.model.compute_type == "float16"
    assert whisper.batch_size == GPU_WHISPER_BATCH
    result = whisper.transcribe(load_audio(samples / "lesson.mp4"), AsrOptions(language="en"))
    assert len(" ".join(s.text for s in result.segments).split()) > 5
    ocr = models.ocr("rapidocr")
    assert isinstance(ocr, RapidOcrEngine) and ocr.rec_batch == (GPU_OCR_REC_BATCH if models.device.ocr_cuda else 1)
    frame = np.full((120, 480, 3), 255, np.uint8)
    import cv2

    cv2.putText(frame, "Safety first", (10, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (0, 0, 0), 3)
    assert "Safety" in " ".join(r.text for r in ocr.read(frame))


def test_a_load_hands_the_heaps_free_memory_back_before_and_after(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    calls: list[str] = []
    monkeypatch.setattr("app.model_cache.give_back", lambda: calls.append("trim"))
    models = ModelCache(Settings(device="cpu", model_dir=tmp_path))

    def load() -> str:
        calls.append("load")
        return "model"

    assert models.get("m", load) == "model" == models.get("m", load)
    assert calls == ["trim", "load", "trim"]  # once, around the load; a cached model costs nothing
