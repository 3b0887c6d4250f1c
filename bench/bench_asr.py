"""Speech benchmark: lessonlens against faster-whisper alone, per file, on real recordings.

    .venv/bin/python bench/bench_asr.py                      # dev split: per-file WER, both sides
    .venv/bin/python bench/bench_asr.py --split test         # the held-out files
    .venv/bin/python bench/bench_asr.py --set hallucination_silence_threshold=2   # a tuning try
    .venv/bin/python bench/bench_asr.py --speed --split none # stage vs faster-whisper alone, RSS
    .venv/bin/python bench/bench_asr.py --engines            # faster-whisper vs openai-whisper, WER + RTF

Baseline: faster-whisper's own ``transcribe`` with its defaults, beam 5, VAD and word timestamps
(what whisper-asr-webservice's faster_whisper engine runs), on the same weights. lessonlens:
``FasterWhisperEngine.transcribe`` with ``AsrOptions`` (plus any ``--set``).

Files (../shared/testdata, never copied here): the English utterances whose reference is human
or public knowledge (LJ Speech, LibriVox, TIMIT, Harvard sentences, CMU ARCTIC prompt, "go
forward ten meters"), split by name in alternation into dev and test; per split one long-form
clip joining that split's utterances (0.6 s apart: one stretch of speech for VAD, so windows
carry context); the MDN film clip (human captions) in dev. Rows marked ``regr`` have only an
upstream test's expected string (PSEUDO or asserted): regression only, never in the totals; nor
is the ``gen`` row, the generated sample lesson (espeak-ng narration over slides, with pauses).

``--engines``: lessonlens on each Whisper implementation (``AsrOptions.engine``), same model,
same beam and options, per file: WER and real-time factor (decode seconds / audio seconds).

Transcripts are cached (``~/.cache/lessonlens/bench_asr``, keyed by file, model, options and the
source of pipelines/asr.py), so tuning runs decode only what changed. WER uses Whisper's English
normaliser. ``--speed`` times, in a fresh child process per model, the whole subtitles stage on
the dev long-form clip as an MP4 against faster-whisper alone on the same audio (best of
``--repeat``; wall seconds, and the process's CPU seconds, which a shared machine's load
disturbs less), and the process's peak RSS.

Subtitle timing, on lessonlens's transcripts of the same files (netflix-en profile): the share
of cues within reading speed, of all cues and of those whose timing allows it (a run of speech
that, with lead-in and lag-out, lasts as long as reading its cues takes); with video, the shot
changes found, cues whose display crosses a cut their speech does not, and in- or out-times
within the snap zone of a cut without being on it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
TESTDATA = ROOT.parent / "shared" / "testdata"
CACHE = Path.home() / ".cache" / "lessonlens" / "bench_asr"

# prefix -> reference kind (MANIFEST.tsv): what the WER is measured against
KINDS = {
    "ds_LDC93S1": "human",
    "ds_arctic": "known",
    "librivox_": "human",
    "lj_": "human",
    "ps_goforward": "known",
    "sb_": "known",
}
REGRESSION = ("ds_new-home", "sr_english")  # upstream-asserted strings only
GAP_S = 0.6


@dataclass(frozen=True)
class Item:
    name: str
    path: Path
    reference: str
    kind: str  # human | known | regr
    split: str  # dev | test


def reference(path: Path) -> str:
    return next(ln for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#"))


def vtt_text(path: Path) -> str:
    lines = [ln for ln in path.read_text().splitlines() if ln.strip() and "-->" not in ln and ln != "WEBVTT"]
    return re.sub(r"<[^>]+>", "", " ".join(lines))


def utterances() -> list[Item]:
    """The short real utterances with a trusted reference, alternately dev and test by name."""
    wavs = sorted((TESTDATA / "audio").glob("*.wav"))
    trusted = [w for w in wavs if w.name.startswith(tuple(KINDS))]
    out = []
    for k, wav in enumerate(trusted):
        kind = next(v for p, v in KINDS.items() if wav.name.startswith(p))
        out.append(Item(wav.stem, wav, reference(wav.with_suffix(".txt")), kind, "dev" if k % 2 == 0 else "test"))
    for wav in wavs:
        if wav.name.startswith(REGRESSION):
            out.append(Item(wav.stem, wav, reference(wav.with_suffix(".txt")), "regr", "dev"))
    return out


def make_longform(parts: list[Item], out: Path) -> Path:
    """One WAV joining the utterances, ``GAP_S`` apart (resampled: they differ in rate)."""
    if out.exists():
        return out
    inputs = [arg for it in parts for arg in ("-i", str(it.path))]
    graph = "".join(f"[{i}:a]aresample=16000,apad=pad_dur={GAP_S}[a{i}];" for i in range(len(parts)))
    graph += "".join(f"[a{i}]" for i in range(len(parts))) + f"concat=n={len(parts)}:v=0:a=1[out]"
    tmp = out.with_suffix(".part.wav")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex", graph, "-map", "[out]", "-ac", "1", str(tmp)],
        check=True,
    )
    tmp.rename(out)
    return out


def make_mp4(wav: Path, out: Path) -> Path:
    """The long-form clip as an MP4 (AAC + a still H.264 picture), as a user would upload it."""
    if not out.exists():
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=navy:s=1280x720:r=24", "-i", str(wav),
             "-shortest", "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage", "-c:a", "aac",
             "-b:a", "96k", str(out)],
            check=True,
        )
    return out


def all_items() -> list[Item]:
    short = utterances()
    CACHE.mkdir(parents=True, exist_ok=True)
    items = list(short)
    for split in ("dev", "test"):
        parts = [it for it in short if it.split == split and it.kind != "regr"]
        digest = hashlib.sha1("|".join(p.name for p in parts).encode()).hexdigest()[:10]
        wav = make_longform(parts, CACHE / f"longform-{split}-{digest}.wav")
        kind = "human" if any(p.kind == "human" for p in parts) else "known"
        items.append(Item(f"longform_{split} ({len(parts)} utt.)", wav, " ".join(p.reference for p in parts), kind, split))
    friday = TESTDATA / "video" / "mdn_friday.mp4"
    items.append(Item("mdn_friday (film)", friday, vtt_text(friday.with_suffix(".vtt")), "human", "dev"))
    from samples.make_samples import build

    lesson = build() / "lesson.mp4"
    narration = json.loads(lesson.with_suffix(".json").read_text())["narration"]
    items.append(Item("samples lesson (espeak)", lesson, narration, "gen", "dev"))
    return items


# ---------------------------------------------------------------- decoding, cached


def _digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()[:16]


def _cached(key: dict[str, Any], path: Path, decode: Any) -> dict[str, Any]:
    name = hashlib.sha1(json.dumps({**key, "file": _digest(path)}, sort_keys=True).encode()).hexdigest()
    hit = CACHE / f"{name}.json"
    if hit.exists():
        return dict(json.loads(hit.read_text()))
    doc = decode()
    hit.write_text(json.dumps(doc))
    return doc


class Decoders:
    """Baseline and lessonlens transcripts for one model, decoded on first use and cached."""

    def __init__(self, model: str, overrides: dict[str, Any]) -> None:
        import faster_whisper

        from pipelines.asr import AsrOptions

        self.model = model
        self.options = AsrOptions(model=model, **overrides)
        self.fw_version = faster_whisper.__version__
        self.asr_source = (_source("asr.py") + _source("asr_guards.py") + _source("asr_openai.py")
                           + _source("word_times.py"))
        self._engine: Any = None

    def engine(self) -> Any:
        if self._engine is None:
            from app.model_cache import ModelCache
            from app.settings import Settings

            self._engine = ModelCache(Settings()).whisper(self.model, self.options.engine)
        return self._engine

    def baseline(self, path: Path) -> dict[str, Any]:
        def decode() -> dict[str, Any]:
            from pipelines import media

            audio = media.load_audio(path)
            start = time.monotonic()
            segments, _ = self.engine().model.transcribe(
                audio, language="en", beam_size=5, vad_filter=True, word_timestamps=True
            )
            segs = [
                {"start": s.start, "end": s.end, "text": s.text,
                 "words": [{"start": w.start, "end": w.end, "text": w.word, "probability": w.probability}
                           for w in s.words or []]}
                for s in segments
            ]
            return {"text": "".join(s["text"] for s in segs).strip(), "segments": segs,
                    "seconds": time.monotonic() - start, "loops_repaired": 0}

        return _cached({"side": "baseline", "model": self.model, "fw": self.fw_version}, path, decode)

    def lessonlens(self, path: Path, screen: tuple[Any, ...] = ()) -> dict[str, Any]:
        def decode() -> dict[str, Any]:
            from pipelines import media

            transcript = self.engine().transcribe(media.load_audio(path), self.options, screen=screen)
            segs = [asdict(s) for s in transcript.segments]
            return {"text": transcript.text, "segments": segs, "seconds": transcript.seconds,
                    "loops_repaired": transcript.loops_repaired, "language": transcript.language,
                    "vocabulary": [asdict(w) for w in transcript.vocabulary]}

        key = {"side": "lessonlens", "options": asdict(self.options), "fw": self.fw_version, "asr": self.asr_source,
               "screen": [asdict(e) for e in screen], "vocabulary": _source("vocabulary.py")}
        return _cached(key, path, decode)


# ---------------------------------------------------------------- accuracy


def errors(ref: str, hyp: str) -> tuple[int, int]:
    """Word errors of ``hyp`` against ``ref`` and the reference's words, both normalised."""
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    norm = EnglishTextNormalizer()
    out = jiwer.process_words(norm(ref), norm(hyp) or "<empty>")
    return out.substitutions + out.deletions + out.insertions, len(norm(ref).split())


def accuracy(items: list[Item], decoders: Decoders) -> dict[str, Any]:
    print(f"\n== {decoders.model}: WER per file, faster-whisper baseline vs lessonlens")
    print(f"{'file':36} {'split':5} {'ref':5} {'words':>5} {'baseline':>8} {'lessonlens':>10}  {'':4} loops")
    totals: dict[str, list[int]] = {}
    worse: list[str] = []
    for it in items:
        base, lens = decoders.baseline(it.path), decoders.lessonlens(it.path)
        (eb, n), (el, _) = errors(it.reference, base["text"]), errors(it.reference, lens["text"])
        mark = "BETTER" if el < eb else ("WORSE" if el > eb else "")
        print(f"{it.name:36} {it.split:5} {it.kind:5} {n:>5} {eb / n:>8.2%} {el / n:>10.2%}  {mark:6} "
              f"{lens['loops_repaired']}")
        if it.kind in ("regr", "gen"):
            continue
        t = totals.setdefault(it.split, [0, 0, 0, 0, 0])
        t[0] += eb
        t[1] += el
        t[2] += n
        t[3] += round(base["seconds"] * 1000)
        t[4] += round(lens["seconds"] * 1000)
        if el > eb:
            worse.append(it.name)
    summary: dict[str, Any] = {"model": decoders.model, "worse_files": worse}
    for split, (eb, el, n, _, _) in totals.items():
        print(f"{split + ' total (human/known refs)':36} {'':5} {'':5} {n:>5} {eb / n:>8.2%} {el / n:>10.2%}")
        summary[split] = {"words": n, "wer_baseline": round(eb / n, 4), "wer_lessonlens": round(el / n, 4)}
    print("files where lessonlens is worse than the baseline:", ", ".join(worse) or "none")
    return summary


def engines(items: list[Item], model: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """lessonlens on faster-whisper and on openai-whisper side by side: WER and RTF per file."""
    from pipelines import media
    from pipelines.asr import ENGINES

    sides = [Decoders(model, {**overrides, "engine": e}) for e in ENGINES]
    print(f"\n== {model}: lessonlens per engine, beam {sides[0].options.beam_size}: WER and RTF per file")
    print(f"{'file':36} {'ref':5} {'words':>5} {'audio s':>7} " + " ".join(f"{e + ' WER':>19} {'RTF':>6}" for e in ENGINES))
    total = {e: [0, 0.0] for e in ENGINES}  # errors, decode seconds
    words = audio = 0.0
    for it in items:
        seconds = media.probe(it.path).duration
        docs = [d.lessonlens(it.path) for d in sides]
        errs = [errors(it.reference, doc["text"]) for doc in docs]
        n = errs[0][1]
        print(f"{it.name:36} {it.kind:5} {n:>5} {seconds:>7.1f} "
              + " ".join(f"{e / n:>19.2%} {doc['seconds'] / seconds:>6.2f}" for (e, _), doc in zip(errs, docs, strict=True)))
        if it.kind in ("regr", "gen"):
            continue
        words, audio = words + n, audio + seconds
        for engine, (e, _), doc in zip(ENGINES, errs, docs, strict=True):
            total[engine][0] += e
            total[engine][1] += doc["seconds"]
    print(f"{'total (human/known refs)':36} {'':5} {words:>5.0f} {audio:>7.1f} "
          + " ".join(f"{e / words:>19.2%} {t / audio:>6.2f}" for e, t in total.values()))
    first, second = (total[e] for e in ENGINES)
    print(f"{ENGINES[1]} is {second[1] / first[1]:.1f}x slower than {ENGINES[0]}; WER difference "
          f"{(second[0] - first[0]) / words:+.2%} (target within 1 point)")
    with open("/proc/loadavg") as f:
        print("load average:", f.read().split()[:3])
    return {"model": model, "words": words, "audio_s": round(audio, 1),
            **{e: {"wer": round(e_ / words, 4), "rtf": round(t / audio, 3)} for e, (e_, t) in total.items()}}


# ---------------------------------------------------------------- subtitle timing


def _words(doc: dict[str, Any]) -> list[Any]:
    from pipelines.asr import Word

    return [Word(w["start"], w["end"], w["text"], w["probability"]) for s in doc["segments"] for w in s["words"]]


def _has_video(path: Path) -> bool:
    from pipelines import media

    return media.probe(path).has_video


def _shots(path: Path) -> tuple[float, ...]:
    from pipelines.shots import detect_shot_changes

    def detect() -> dict[str, Any]:
        return {"cuts": list(detect_shot_changes(path))}

    return tuple(_cached({"side": "shots", "source": _source("shots.py")}, path, detect)["cuts"])


def _source(name: str) -> str:
    return hashlib.sha1((ROOT / "pipelines" / name).read_bytes()).hexdigest()


def timing(items: list[Item], transcript: Any, profile_name: str = "netflix-en") -> dict[str, Any]:
    """Reading speed and shot-change placement of lessonlens's cues on each file's transcript."""
    from pipelines.asr import Segment, Transcript
    from pipelines.subtitles import PROFILES, build_cues

    profile = PROFILES[profile_name]
    print(f"\n== subtitle timing ({profile.name}): cues within reading speed, of all / where timing allows; "
          f"shot changes")
    print(f"{'file':36} {'cues':>4} {'within':>7} {'allowed':>7} {'within allowed':>14} {'cuts':>4} "
          f"{'crossing':>8} {'near':>4}")
    total = [0, 0, 0, 0, 0, 0]
    for it in items:
        if it.kind == "regr":
            continue
        words = _words(transcript(it.path))
        if not words:
            continue
        cuts = _shots(it.path) if _has_video(it.path) else ()
        fake = Transcript((Segment(0, 0, "", tuple(words)),), "en", 1.0, 0.0, "")
        result = build_cues(fake, profile, cuts)
        r = result.reading_speed
        assert r is not None
        crossing, near = _cut_problems(list(result.cues), cuts, profile)
        print(f"{it.name:36} {r.cues:>4} {r.within / r.cues:>7.1%} {r.allowed:>7} {r.share_allowed:>14.1%} "
              f"{len(cuts):>4} {crossing:>8} {near:>4}")
        for k, v in enumerate((r.cues, r.within, r.allowed, r.within_allowed, crossing, near)):
            total[k] += v
    cues, within, allowed, within_allowed, crossing, near = total
    share = within_allowed / allowed if allowed else 1.0
    print(f"{'total':36} {cues:>4} {within / max(cues, 1):>7.1%} {allowed:>7} {share:>14.1%} {'':>4} "
          f"{crossing:>8} {near:>4}")
    return {"cues": cues, "within": within, "allowed": allowed, "within_allowed": within_allowed,
            "share_within_allowed": round(share, 4), "crossing_cuts": crossing, "near_cuts": near}


SHOT_VIDEOS = ("emk_cartoon_en", "emk_kdrama_en", "vsr_rezero_en", "rvo_anime_zh", "rvo_coldwar_zh",
               "rvo_leon_zh_en", "svocr_drama_2line_zh", "svocr_drama_faint_zh")


def _cut_problems(cues: list[Any], cuts: tuple[float, ...], profile: Any) -> tuple[int, int]:
    """Cues whose display crosses a cut their speech does not; in/out times near a cut, not on it."""
    crossing = sum(1 for c in cues for t in cuts
                   if c.start + 1e-3 < t < c.end - 1e-3 and not c.words[0].start < t < c.words[-1].end)
    near = sum(1 for c in cues for t in cuts for edge in (c.start, c.end + profile.min_gap_s)
               if 2e-3 < abs(edge - t) < profile.shot_snap_s - 1e-3)
    return crossing, near


def shot_timing() -> dict[str, Any]:
    """On the real videos with speech and cuts (whisper-base, language detected): cue times
    against the shot changes, timed without and with them."""
    from pipelines.subtitles import PROFILES, segment_words

    profile = PROFILES["netflix-en"]
    decoders = Decoders("whisper-base", {"language": "auto"})
    print("\n== shot changes on real videos (whisper-base, language detected): cues crossing a cut their "
          "speech does not / in or out within 12 frames of a cut, without -> with shot timing")
    print(f"{'video':28} {'lang':>4} {'cuts':>4} {'cues':>4} {'crossing':>10} {'near':>8}")
    total = [0, 0, 0, 0, 0]
    for name in SHOT_VIDEOS:
        path = TESTDATA / "video" / f"{name}.mp4"
        doc = decoders.lessonlens(path)
        words = _words(doc)
        cuts = _shots(path)
        if not words:
            continue
        plain, timed = segment_words(words, profile), segment_words(words, profile, cuts)
        (c0, n0), (c1, n1) = _cut_problems(plain, cuts, profile), _cut_problems(timed, cuts, profile)
        lang = doc.get("language", "?")
        print(f"{name:28} {lang:>4} {len(cuts):>4} {len(timed):>4} {c0:>4} -> {c1:<3} {n0:>2} -> {n1:<3}")
        for k, v in enumerate((len(timed), c0, c1, n0, n1)):
            total[k] += v
    print(f"{'total':28} {'':>4} {'':>4} {total[0]:>4} {total[1]:>4} -> {total[2]:<3} {total[3]:>2} -> {total[4]:<3}")
    return {"cues": total[0], "crossing_before": total[1], "crossing_after": total[2], "near_before": total[3],
            "near_after": total[4]}


# ---------------------------------------------------------------- screen-aware vocabulary


@dataclass(frozen=True)
class OnScreen:
    start: float
    end: float
    text: str
    confidence: float


def _screen_text(path: Path) -> tuple[OnScreen, ...]:
    """The ocr stage's timed on-screen text of a video (rapidocr, default options), cached."""

    def read() -> dict[str, Any]:
        from app.model_cache import ModelCache
        from app.settings import Settings
        from pipelines.ocr.reader import run_ocr

        result = run_ocr(path, ModelCache(Settings()).ocr("rapidocr"))
        return {"events": [[e.start, e.end, e.text, e.confidence] for e in result.events]}

    doc = _cached({"side": "ocr"}, path, read)
    return tuple(OnScreen(*e) for e in doc["events"])


def vocabulary(decoders: Decoders) -> dict[str, Any]:
    """On generated tutorials: on-screen terms said in the narration that come out spelled exactly."""
    import tutorials

    from pipelines.vocabulary import used

    print("\n== screen-aware vocabulary: on-screen terms said in the narration, spelled exactly")
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    norm = EnglishTextNormalizer()
    print(f"{'video':36} {'terms':>5} {'without':>8} {'with':>8} {'offered':>7} {'used':>4} {'WER without':>11} "
          f"{'WER with':>8}")
    totals = [0, 0, 0]
    wer_rows: list[tuple[str, str, str]] = []
    missed: list[str] = []
    for video, slides in tutorials.build(CACHE / "tutorials"):
        screen = _screen_text(video)
        plain, aware = decoders.lessonlens(video), decoders.lessonlens(video, screen)
        row = [0, 0, 0]
        for slide in slides:
            for doc, k in ((plain, 1), (aware, 2)):
                said = " ".join(w.text.strip() for w in _words(doc) if slide["start"] <= w.start < slide["end"])
                hits = used(slide["terms"], said)
                row[k] += len(hits)
                if k == 2:
                    missed += [t for t in slide["terms"] if t not in hits]
            row[0] += len(slide["terms"])
        offered = sum(len(w["offered"]) for w in aware.get("vocabulary", []))
        used_n = sum(len(w["used"]) for w in aware.get("vocabulary", []))
        ref = norm(" ".join(str(slide["narration"]) for slide in slides))
        wer_rows.append((ref, norm(plain["text"]), norm(aware["text"])))
        print(f"{video.name:36} {row[0]:>5} {row[1] / row[0]:>8.1%} {row[2] / row[0]:>8.1%} {offered:>7} {used_n:>4} "
              f"{jiwer.wer(ref, wer_rows[-1][1]):>11.1%} {jiwer.wer(ref, wer_rows[-1][2]):>8.1%}")
        totals = [a + b for a, b in zip(totals, row, strict=True)]
    refs = [r for r, _, _ in wer_rows]
    wer_without = jiwer.wer(refs, [h for _, h, _ in wer_rows])
    wer_with = jiwer.wer(refs, [h for _, _, h in wer_rows])
    print(f"{'total':36} {totals[0]:>5} {totals[1] / totals[0]:>8.1%} {totals[2] / totals[0]:>8.1%} {'':>7} {'':>4} "
          f"{wer_without:>11.1%} {wer_with:>8.1%}")
    print("not spelled as on screen:", ", ".join(missed) or "none")
    return {"terms": totals[0], "exact_without": round(totals[1] / totals[0], 4),
            "exact_with": round(totals[2] / totals[0], 4), "missed": missed,
            "wer_without": round(wer_without, 4), "wer_with": round(wer_with, 4)}


# ---------------------------------------------------------------- speed and memory


def run_speed(name: str, clip: str, repeat: int, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from app.model_cache import ModelCache
    from app.settings import Settings
    from app.stages.context import StageContext
    from app.stages.graph import run_stages
    from pipelines import media

    cache = ModelCache(Settings())
    t0 = time.monotonic()
    engine = cache.whisper(name)
    load_s = time.monotonic() - t0
    info = media.probe(clip)
    stage_s, alone_s, model_s, stage_cpu, alone_cpu, file_s, file_cpu = [], [], [], [], [], [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            ctx = StageContext(media_path=Path(clip), out_dir=Path(out), models=cache)
            start, cpu = time.monotonic(), time.process_time()
            outcome = run_stages(ctx, ["subtitles"], {"subtitles": {"model": name}})["subtitles"]
            stage_s.append(time.monotonic() - start)
            stage_cpu.append(time.process_time() - cpu)
            model_s.append(outcome.summary["timings"]["asr_s"])
        audio = media.load_audio(clip)
        start, cpu = time.monotonic(), time.process_time()
        segments, _ = engine.model.transcribe(audio, language="en", beam_size=5, vad_filter=True, word_timestamps=True)
        list(segments)
        alone_s.append(time.monotonic() - start)
        alone_cpu.append(time.process_time() - cpu)
        # The same, handed the MP4 as the stage is (faster-whisper decodes it with PyAV itself),
        # as a service running faster-whisper alone on an uploaded video would.
        start, cpu = time.monotonic(), time.process_time()
        segments, _ = engine.model.transcribe(clip, language="en", beam_size=5, vad_filter=True, word_timestamps=True)
        list(segments)
        file_s.append(time.monotonic() - start)
        file_cpu.append(time.process_time() - cpu)
    queue.put(
        {
            "model": name,
            "load_s": round(load_s, 2),
            "clip_s": round(info.duration, 1),
            "stage_s": round(min(stage_s), 2),
            "asr_s": round(min(model_s), 2),
            "faster_whisper_alone_s": round(min(alone_s), 2),
            "overhead": round(min(stage_s) / min(alone_s) - 1, 4),
            # CPU seconds of the process (all threads): what the work costs, whatever the load
            "stage_cpu_s": round(min(stage_cpu), 2),
            "faster_whisper_alone_cpu_s": round(min(alone_cpu), 2),
            "cpu_overhead": round(min(stage_cpu) / min(alone_cpu) - 1, 4),
            "faster_whisper_file_s": round(min(file_s), 2),
            "faster_whisper_file_cpu_s": round(min(file_cpu), 2),
            "overhead_vs_file": round(min(stage_s) / min(file_s) - 1, 4),
            "cpu_overhead_vs_file": round(min(stage_cpu) / min(file_cpu) - 1, 4),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    )


def speed(models: list[str], repeat: int) -> list[dict[str, Any]]:
    dev = next(it for it in all_items() if it.name.startswith("longform_dev"))
    clip = make_mp4(dev.path, dev.path.with_suffix(".mp4"))
    ctx = mp.get_context("spawn")
    rows = []
    for name in models:
        queue: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        proc = ctx.Process(target=run_speed, args=(name, str(clip), repeat, queue))
        proc.start()
        rows.append(queue.get())
        proc.join()
    print(f"\n== speed: whole subtitles stage (MP4 in, files out) vs faster-whisper alone, best of {repeat}")
    print(f"{'model':16} {'clip s':>6} {'stage s':>7} {'asr s':>6} {'fw s':>6} {'overhead':>8} {'stage cpu':>9} "
          f"{'fw cpu':>6} {'cpu overhead':>12} {'RSS MB':>7} {'load s':>6}")
    for r in rows:
        print(f"{r['model']:16} {r['clip_s']:>6} {r['stage_s']:>7} {r['asr_s']:>6} {r['faster_whisper_alone_s']:>6} "
              f"{r['overhead']:>8.1%} {r['stage_cpu_s']:>9} {r['faster_whisper_alone_cpu_s']:>6} "
              f"{r['cpu_overhead']:>12.1%} {r['peak_rss_mb']:>7.0f} {r['load_s']:>6}")
        print(f"{'':16} faster-whisper handed the MP4 (decoding it itself): {r['faster_whisper_file_s']} s, "
              f"{r['faster_whisper_file_cpu_s']} s CPU; overhead {r['overhead_vs_file']:.1%}, "
              f"CPU {r['cpu_overhead_vs_file']:.1%}")
    with open("/proc/loadavg") as f:
        print("load average while timing:", f.read().split()[:3])
    return rows


def parse_sets(values: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for v in values:
        key, _, raw = v.partition("=")
        out[key] = None if raw in ("", "none", "None") else json.loads(raw) if raw[:1] in "-0123456789tf[" else raw
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["whisper-tiny.en"])
    parser.add_argument("--split", choices=["dev", "test", "all", "none"], default="dev")
    parser.add_argument("--set", action="append", default=[], metavar="OPTION=VALUE",
                        help="an AsrOptions field for lessonlens, e.g. hallucination_silence_threshold=2")
    parser.add_argument("--speed", action="store_true", help="also time the stage against faster-whisper alone")
    parser.add_argument("--shots", action="store_true",
                        help="also time cues to the cuts of the real videos with speech (whisper-base)")
    parser.add_argument("--vocabulary", action="store_true",
                        help="also measure screen-aware vocabulary on generated tutorials (runs OCR)")
    parser.add_argument("--engines", action="store_true",
                        help="lessonlens on faster-whisper and on openai-whisper side by side (WER, RTF) instead")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if not TESTDATA.is_dir():
        raise SystemExit(f"needs {TESTDATA} (the shared test data)")
    results: dict[str, Any] = {}
    if args.engines and args.split != "none":
        items = [it for it in all_items() if args.split == "all" or it.split == args.split]
        items.sort(key=lambda it: it.split)
        results["engines"] = [engines(items, m, parse_sets(args.set)) for m in args.models]
    elif args.split != "none":
        items = [it for it in all_items() if args.split == "all" or it.split == args.split]
        items.sort(key=lambda it: it.split)  # dev rows first
        decoders = [Decoders(m, parse_sets(args.set)) for m in args.models]
        results["accuracy"] = [accuracy(items, d) for d in decoders]
        results["timing"] = timing(items, decoders[0].lessonlens)
    if args.shots:
        results["shots"] = shot_timing()
    if args.vocabulary:
        results["vocabulary"] = vocabulary(Decoders(args.models[0], parse_sets(args.set)))
    if args.speed:
        results["speed"] = speed(args.models, args.repeat)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
