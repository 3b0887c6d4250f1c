"""OCR engines behind one interface: RapidOCR with PP-OCRv5 (default) and EasyOCR (optional extra).

Engines load their model on first use, once (heavy imports inside the loader); the service keeps
one engine per worker. ``ENGINE_LANGUAGES`` says what each engine reads offline.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from pipelines.exceptions import EngineNotInstalledError, OptionsError
from pipelines.models import model_path
from pipelines.ocr.frames import PixelBox
from pipelines.ocr.model_fold import ensure_folded
from pipelines.ocr.onnx_sessions import Detector, cpu_session, rebuild_session, resolve_runtime

log = logging.getLogger(__name__)

# Latin-script languages whose letters the PP-OCRv5 alphabet (ppocrv5_dict.txt) holds. Checked
# letter by letter: French lacks only î ï œ ÿ, Romanian î, Dutch/Catalan ï, Turkish İ, Spanish ¡ ¿
# (read as other letters). Left out for missing common letters: Czech (ů ď ť), Slovak, Polish
# (ś ź), Icelandic (þ), Hungarian (ő ű), Latvian, Lithuanian, Vietnamese.
_LATIN = ("en", "fr", "de", "es", "it", "pt", "nl", "sv", "da", "no", "nb", "nn", "fi", "sl", "hr", "bs",
          "ro", "tr", "id", "ms", "ca", "eu", "gl", "et", "sq", "af", "sw", "tl")
ENGINE_LANGUAGES: dict[str, frozenset[str]] = {
    "rapidocr": frozenset((*_LATIN, "zh", "zh-hans", "zh-hant", "zh-cn", "zh-tw", "ja")),
    "easyocr": frozenset(("en",)),
}
"""Languages (ISO 639-1 codes, lower case) each engine reads offline with its installed weights."""

ENGINE_MODELS = {"rapidocr": "ppocrv5", "easyocr": "easyocr-en"}
"""Registry name (``pipelines.models``) of the weights each engine needs."""

# Text lines are found on a copy whose longer side is at most this, then cut from the full image
# and recognised at full size: on the real 1080p UI recordings, recall 0.9268 -> 0.9335 for about
# 20 % less CPU of the whole stage (bench/bench_ocr.py); 720p frames are detected as they are.
DETECT_MAX_SIDE = 1280
# Cores the caller may use for a moment on top of its own (``StageContext.spare_cores``: in a job,
# the OCR stage while Whisper waits for it): a read then recognises its lines on that many more
# threads at once (three at most). Set per stage thread; unset, a read recognises on the caller's.
SPARE_CORES: ContextVar[Callable[[], int] | None] = ContextVar("spare_cores", default=None)


@dataclass(frozen=True)
class Reading:
    """One line of text an engine read: axis-aligned pixel box, text, confidence (0-1), the
    script its letters are in (when known) and flags (``script-uncertain``: maybe another
    script read as look-alikes, see ``pipelines.ocr.scripts``)."""

    box: PixelBox
    text: str
    confidence: float
    script: str = ""
    flags: tuple[str, ...] = ()
    kept: bool = field(default=False, compare=False)  # an earlier reading of the same pixels (``KNOWN_LINES``)


KnownLine = Callable[[PixelBox], Reading | None]
"""The caller's reading of a line it read before and whose pixels have not changed since, by the
line's box in the image given to ``read`` (None: not known, or changed)."""
# Set by the caller of a read (``pipelines.ocr.reader``: a screen's lines re-read only because a
# change next to them grew the region read over them): each line the detector finds that the
# caller knows keeps that reading (``kept``) instead of being recognised again. Unset: every line
# is recognised.
KNOWN_LINES: ContextVar[KnownLine | None] = ContextVar("known_lines", default=None)

# Set by the caller of a read (``pipelines.ocr.reader``: a whole frame of moving footage,
# ``ChangeOptions.motion_read_scale``): the lines of the image are found on a copy this many times
# its size, then cut from the image itself and recognised at full size. Unset: 1.0 (the image's own
# size, at most ``DETECT_MAX_SIDE``). Engines without such a detector ignore it.
DETECT_SCALE: ContextVar[float] = ContextVar("detect_scale", default=1.0)

LinePlace = Callable[[PixelBox], tuple[float, float]]
"""Where a line of the image given to ``read`` sits in the whole frame: its centre, as shares of
the frame's width and height."""
# Set by the caller of a read of a frame or of a region of one (``read_knowing``, ``read_region``),
# so that an engine can tell a line where captions sit (``pipelines.ocr.scripts``). Unset: unknown.
LINE_PLACE: ContextVar[LinePlace | None] = ContextVar("line_place", default=None)


def frame_place(width: int, height: int) -> LinePlace:
    """The ``LinePlace`` of a whole frame of ``width`` x ``height`` pixels."""
    return lambda b: ((b[0] + b[2]) / 2 / max(1, width), (b[1] + b[3]) / 2 / max(1, height))


class OcrEngine(Protocol):
    """What the pipeline needs from an OCR engine."""

    name: str

    def read(self, image: np.ndarray) -> list[Reading]:
        """Read every line of text in a BGR image; boxes in the image's pixels."""
        ...

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        """Recognise a BGR image that holds one line of text, without detection: text, confidence."""
        ...


@runtime_checkable
class LineDetector(Protocol):
    """An engine that can also give the lines it detected but could not read."""

    def read_detected(self, image: np.ndarray) -> list[Reading]:
        """Like ``read``, with the lines whose recognition came out empty kept (text "", 0)."""
        ...


def find_lines(engine: object, image: np.ndarray, scale: float) -> list[PixelBox] | None:
    """Where ``engine`` finds text lines in a BGR image looked at ``scale`` times its size (detection
    alone: no line is recognised), in the image's pixels; None when the engine cannot tell without
    reading (its wrappers pass the question on to the engine they wrap)."""
    finder = getattr(engine, "find_lines", None)
    return None if finder is None else finder(image, scale)


def _quad_to_box(points: Any) -> PixelBox:
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    return (int(pts[:, 0].min()), int(pts[:, 1].min()), int(np.ceil(pts[:, 0].max())),
            int(np.ceil(pts[:, 1].max())))


class RapidOcrEngine:
    """RapidOCR (onnxruntime) with the PP-OCRv5 models; loads on first use, once."""

    name = "rapidocr"

    def __init__(self, model_folder: Path, *, use_cuda: bool = False, rec_batch: int = 1, threads: int = 0,
                 runtime: str = "onnxruntime") -> None:
        """``use_cuda``: ONNX Runtime's CUDA provider (onnxruntime-gpu; RapidOCR falls back to the
        CPU with a warning without it); ``rec_batch``: text lines recognised per call; ``threads``:
        the runtime's inference threads (0: its default, the cores); ``runtime``: what runs the
        models on the CPU (``pipelines.ocr.onnx_sessions.RUNTIMES``).

        Raises:
            OptionsError: an unknown runtime, or one that is not installed.
        """
        self.model_folder = Path(model_folder)
        self.use_cuda = use_cuda
        self.runtime = resolve_runtime(runtime, use_cuda)
        self.rec_batch = rec_batch
        self.threads = threads
        self._engine: Any = None
        self._detector: Detector | None = None
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        # The detector's last look (image, scale, quads): a probe's lines read next (``_quads``).
        self._last_look: tuple[np.ndarray, float, np.ndarray | None] | None = None

    def _load(self) -> Any:
        with self._lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR

                d = self.model_folder
                started = time.monotonic()
                # Detection at the image's own resolution (limit "max" 2000): the default
                # ("min" 736) blows small regions up to 736 pixels, slow and no better.
                self._engine = RapidOCR(
                    det_model_path=str(d / "det" / "det.onnx"),
                    rec_model_path=str(d / "rec" / "rec.onnx"),
                    rec_keys_path=str(d / "ppocrv5_dict.txt"),
                    cls_model_path=str(d / "cls" / "cls.onnx"),
                    det_limit_type="max",
                    det_limit_side_len=2000,
                    det_use_cuda=self.use_cuda,
                    cls_use_cuda=self.use_cuda,
                    rec_use_cuda=self.use_cuda,
                    rec_batch_num=self.rec_batch,
                    **({"intra_op_num_threads": self.threads, "inter_op_num_threads": 1} if self.threads else {}),
                )
                # Sessions that do not spin, and a cheaper detector input (``onnx_sessions``):
                # the same readings for less CPU; in ONNX Runtime, the models with their scalar
                # steps folded into their convolutions (``model_fold``: 15 % less CPU a call).
                # The classifier is never run (no rotated text).
                det, rec = (self._model_file(d / name / f"{name}.onnx") for name in ("det", "rec"))
                rebuild_session(self._engine.text_det.infer, det, self.threads, self.runtime, release=True)
                rebuild_session(self._engine.text_rec.session, rec, self.threads, self.runtime)
                self._detector = Detector(self._engine.text_det)
                if self.threads and not self.use_cuda:  # for the moments a core is spare (``_wide``)
                    self._detector.wide = cpu_session(det, self.threads + 1, self.runtime, release=True)
                log.info("loaded RapidOCR PP-OCRv5 from %s on %s in %.2f s", d,
                         "CUDA" if self.use_cuda else self.runtime, time.monotonic() - started)
            return self._engine

    def _model_file(self, model: Path) -> Path:
        """The file the runtime runs for ``model``: in ONNX Runtime its folded form, which the
        model folder holds or is given now (``model_fold``); OpenVINO compiles the original (as
        measured, README "Throughput of one job")."""
        if self.runtime != "onnxruntime":
            return model
        return ensure_folded(model) or model

    def read(self, image: np.ndarray) -> list[Reading]:
        """Read the text lines of a BGR image.

        Detection, then words that the detector split apart on one line are joined into that
        line, then each line is recognised: a line reads the same whether the whole frame or
        only a region around it was given (the detector splits lines differently in crops).
        """
        return [r for r in self.read_detected(image) if r.text]

    def read_detected(self, image: np.ndarray) -> list[Reading]:
        """``read``, with the lines the recogniser read as nothing kept (text "", confidence 0):
        PP-OCRv5 finds Hebrew lines, say, but reads many of them as nothing at all, and a
        recogniser of that script (``pipelines.ocr.scripts``) can still read them."""
        engine = self._load()
        h, w = image.shape[:2]
        pad = max(0, 32 - h)  # the detector needs some height
        src = cv2.copyMakeBorder(image, 0, pad, 0, 0, cv2.BORDER_REPLICATE) if pad else image
        # Lines found at most DETECT_MAX_SIDE (or as the caller says), cropped and read at full size.
        quads = self._quads(src, DETECT_SCALE.get())
        if quads is None or len(quads) == 0:
            return []
        known = KNOWN_LINES.get()
        lines: list[tuple[PixelBox, PixelBox, list[int], Reading | None]] = []  # (box, unclipped, members, known)
        for members in join_line_boxes([_quad_to_box(q) for q in quads]):
            x0, y0, x1, y1 = whole = union_boxes([_quad_to_box(quads[i]) for i in members])
            box = (max(0, x0), max(0, y0), min(w, x1), min(h, y1))
            if box[2] > box[0] and box[3] > box[1]:
                lines.append((box, whole, members, known(box) if known is not None else None))
        crops = []
        for _, (x0, y0, x1, y1), members, old in lines:
            if old is not None:
                continue
            if len(members) == 1:  # keep the detector's own (possibly slanted) crop
                crops.append(engine.get_crop_img_list(src, [quads[members[0]]])[0])
            else:
                crops.append(src[y0:y1, x0:x1])
        texts = iter(self._recognise(engine, crops) if crops else [])
        out = []
        for box, _, _, old in lines:
            if old is not None:
                out.append(replace(old, box=box, kept=True))
                continue
            text, score = next(texts)
            text = str(text).strip()
            out.append(Reading(box, text, float(score) if text else 0.0))
        return out

    def find_lines(self, image: np.ndarray, scale: float) -> list[PixelBox]:
        """The detector's boxes on a copy ``scale`` times the size of ``image`` (``_quads``), in
        ``image``'s pixels: at three quarters of the size about half a read's detection, and no
        recognition."""
        self._load()
        quads = self._quads(image, scale)
        return [] if quads is None else [_quad_to_box(q) for q in quads]

    def _quads(self, image: np.ndarray, scale: float) -> np.ndarray | None:
        """The detector's quads (N, 4, 2) on a copy ``scale`` times the size of ``image``, at most
        ``DETECT_MAX_SIDE`` on its longer side, in ``image``'s pixels (None: nothing to detect on).

        The same image (the same array, not a copy) looked at again at the same scale, as a
        probe's frame read where the probe found lines, gives the last look's quads again."""
        assert self._detector is not None  # made with the engine
        scale = min(scale, DETECT_MAX_SIDE / max(image.shape[:2]))
        last = self._last_look
        if last is not None and last[0] is image and last[1] == scale:
            return last[2]
        if scale >= 1.0:
            quads = self._detector(image, self._wide())
        else:
            small = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                               interpolation=cv2.INTER_AREA)
            found = self._detector(small, self._wide())
            quads = None if found is None else np.asarray(found, np.float32) / scale
        self._last_look = (image, scale, quads) if scale < 1.0 else None
        return quads

    @staticmethod
    def _wide() -> bool:
        """Whether a core is spare now (``SPARE_CORES``): a detection then runs on one thread
        more. In a job, OCR mostly runs while Whisper waits for it: on 2 cores the 2 minutes of
        ``bench_job`` took 48.2-48.6 s instead of 51.6-54.1 s, with the same events."""
        spare = SPARE_CORES.get()
        return spare is not None and spare() > 0

    def _recognise(self, engine: Any, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """Each crop's text and score; on the spare cores too when there are some (one line per
        call, so how the lines are shared out changes no reading)."""
        spare = SPARE_CORES.get()
        extra = min(spare() if spare is not None and self.rec_batch == 1 else 0, len(crops) - 1, 3)
        if extra <= 0:
            return list(engine.text_rec(crops)[0])
        # Widest first, each to the least loaded share, so that the shares take about as long;
        # with at least as many lines as shares, none is empty.
        widths = [c.shape[1] / max(1, c.shape[0]) for c in crops]
        shares: list[list[int]] = [[] for _ in range(extra + 1)]
        loads = [0.0] * (extra + 1)
        for i in sorted(range(len(crops)), key=lambda i: -widths[i]):
            k = loads.index(min(loads))
            shares[k].append(i)
            loads[k] += widths[i]
        if self._pool is None:
            with self._lock:
                self._pool = self._pool or ThreadPoolExecutor(3, thread_name_prefix="ocr-rec")
        futures = [self._pool.submit(engine.text_rec, [crops[i] for i in share]) for share in shares[1:]]
        results = [engine.text_rec([crops[i] for i in shares[0]])] + [f.result() for f in futures]
        texts: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        for share, result in zip(shares, results, strict=True):
            for i, text in zip(share, result[0], strict=True):
                texts[i] = text
        return texts

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        """Recognise one line (the whole image) with the PP-OCRv5 recogniser alone."""
        texts, _ = self._load().text_rec([image])
        text, score = texts[0]
        return str(text).strip(), float(score)


def union_boxes(boxes: list[PixelBox]) -> PixelBox:
    """The smallest box holding all of ``boxes``."""
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
            max(b[3] for b in boxes))


def join_line_boxes(boxes: list[PixelBox], max_gap: float = 0.2) -> list[list[int]]:
    """Group boxes that are pieces of one line: side by side (gap under ``max_gap`` x height)
    and overlapping vertically by most of the lower one. Returns index groups, left to right."""
    order = sorted(range(len(boxes)), key=lambda i: boxes[i][0])
    groups: list[list[int]] = []
    spans: list[PixelBox] = []
    for i in order:
        b = boxes[i]
        for g, span in enumerate(spans):
            last = boxes[groups[g][-1]]
            height = min(b[3] - b[1], last[3] - last[1])
            v_overlap = min(b[3], last[3]) - max(b[1], last[1])
            gap = b[0] - span[2]
            if height > 0 and v_overlap >= 0.6 * height and gap <= max_gap * max(b[3] - b[1], last[3] - last[1]):
                groups[g].append(i)
                spans[g] = union_boxes([span, b])
                break
        else:
            groups.append([i])
            spans.append(b)
    return groups


class EasyOcrEngine:
    """EasyOCR (CRAFT + english_g2) on CPU; loads on first use, once. Needs ``.venv-easyocr``."""

    name = "easyocr"

    def __init__(self, model_folder: Path, languages: tuple[str, ...] = ("en",)) -> None:
        self.model_folder = Path(model_folder)
        self.languages = languages
        self._reader: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._reader is None:
                try:
                    import easyocr
                except ImportError as err:
                    raise EngineNotInstalledError(
                        "The easyocr engine is an optional extra that this environment lacks "
                        f"({err}). Install it with ./scripts/setup-easyocr and run lessonlens from "
                        ".venv-easyocr, or use engine 'rapidocr'."
                    ) from err
                started = time.monotonic()
                self._reader = easyocr.Reader(
                    list(self.languages),
                    model_storage_directory=str(self.model_folder),
                    download_enabled=False,
                    gpu=False,
                    verbose=False,
                )
                log.info("loaded EasyOCR from %s in %.2f s", self.model_folder, time.monotonic() - started)
            return self._reader

    def read(self, image: np.ndarray) -> list[Reading]:
        """Read the text lines of a BGR image (EasyOCR merges words of a line, ``width_ths``)."""
        reader = self._load()
        result = reader.readtext(image, width_ths=1.0)
        return [Reading(_quad_to_box(quad), str(text), float(score)) for quad, text, score in result]

    def read_line(self, image: np.ndarray) -> tuple[str, float]:
        """Recognise one line (the whole image) with EasyOCR's recogniser alone."""
        result = self._load().recognize(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        if not result:
            return "", 0.0
        return " ".join(str(t) for _, t, _ in result).strip(), min(float(c) for _, _, c in result)


def read_knowing(engine: OcrEngine, image: np.ndarray, known: KnownLine | None,
                 place: LinePlace | None = None, scale: float = 1.0) -> list[Reading]:
    """``engine.read(image)``, the lines ``known`` knows kept as it read them (``KNOWN_LINES``);
    ``place``: where the image's lines sit in the frame (``LINE_PLACE``; None: unknown);
    ``scale``: the size of the copy its lines are found on (``DETECT_SCALE``)."""
    token = KNOWN_LINES.set(known)
    placed = LINE_PLACE.set(place)
    scaled = DETECT_SCALE.set(scale)
    try:
        return engine.read(image)
    finally:
        DETECT_SCALE.reset(scaled)
        LINE_PLACE.reset(placed)
        KNOWN_LINES.reset(token)


def read_region(frame: np.ndarray, region: PixelBox, engine: OcrEngine, known: KnownLine | None = None) -> list[Reading]:
    """Read one region of a frame, framed by a replicated border.

    The detector splits lines into words, or drops punctuation, in a crop that ends close to the
    text; a uniform border about as wide as the region is high (not more of the frame, which may
    cut a neighbouring line) makes it read the line as it does in the whole frame. ``known``:
    the caller's readings of unchanged lines, by their box in the frame (``KNOWN_LINES``).
    """
    x0, y0, x1, y1 = region
    border = min(max(32, y1 - y0), 160)

    def to_frame(b: PixelBox) -> PixelBox:
        return (max(x0, b[0] + x0 - border), max(y0, b[1] + y0 - border),
                min(x1, b[2] + x0 - border), min(y1, b[3] + y0 - border))

    padded = cv2.copyMakeBorder(frame[y0:y1, x0:x1], border, border, border, border, cv2.BORDER_REPLICATE)
    in_frame = frame_place(frame.shape[1], frame.shape[0])
    out = []
    for r in read_knowing(engine, padded, None if known is None else lambda b: known(to_frame(b)),
                          lambda b: in_frame(to_frame(b))):
        box = to_frame(r.box)
        if box[2] > box[0] and box[3] > box[1]:
            out.append(replace(r, box=box))
    return out


def load_engine(name: str, model_dir: Path, *, use_cuda: bool = False, rec_batch: int = 1,
                threads: int = 0, runtime: str = "onnxruntime") -> OcrEngine:
    """An OCR engine by name, its weights found in ``model_dir``; the model loads on first read.
    ``use_cuda``, ``rec_batch``, ``threads`` and ``runtime``: RapidOCR's (``RapidOcrEngine``).

    Raises:
        OptionsError: unknown engine name.
        EngineNotInstalledError: the engine's package is not in this environment (easyocr).
        ModelNotInstalledError: the engine's weights are not installed (says how to install).
    """
    if name not in ENGINE_MODELS:
        raise OptionsError(f"Unknown OCR engine {name!r}. Choose one of: {', '.join(sorted(ENGINE_MODELS))}.")
    if name == "easyocr" and importlib.util.find_spec("easyocr") is None:
        raise EngineNotInstalledError(
            "The easyocr engine is an optional extra that this environment lacks. Install it with "
            "./scripts/setup-easyocr and run lessonlens from .venv-easyocr, or use engine 'rapidocr'."
        )
    folder = model_path(ENGINE_MODELS[name], model_dir)
    if name == "easyocr":
        return EasyOcrEngine(folder)
    return RapidOcrEngine(folder, use_cuda=use_cuda, rec_batch=rec_batch, threads=threads, runtime=runtime)
