"""Word times against the silence in the audio: how often Whisper's words reach into pauses.

    .venv/bin/python bench/bench_word_times.py                  # real files, then the generated lesson
    .venv/bin/python bench/bench_word_times.py --no-generated --only lj_ mdn_friday
    .venv/bin/python bench/bench_word_times.py --show 5         # the worst words of each file

Each file goes the way a job's audio goes (``transcribe_blocks`` over ``media.audio_blocks`` of
``media.iter_audio``, the engine the model cache loads; tiny.en for English, whisper-base with the
language detected for the rest), decoded once with ``fit_words_to_speech`` off: the words as
Whisper times them ("before"). "after" is those words through ``word_times.fit_segments`` on the
file's audio, which is what ``transcribe`` does at its end with the option on (one block: every
file here is under 15 minutes). Transcripts are cached (``~/.cache/lessonlens/bench_word_times``,
keyed by file, options and the source of the ASR modules), so a rerun decodes only what changed.

Real data (../shared/testdata, read in place): every recording in ``audio/`` (English, German,
French, Spanish, Portuguese, Russian, Chinese) and the videos with speech: ``mdn_friday`` (a film
clip with human captions) and the ``emk_``/``vsr_``/``rvo_`` clips. Generated data, printed apart:
the sample lesson (espeak-ng narration over slides, ``samples/make_samples.py``).

Per file, before -> after:

- ``words``; ``zero``: words under 20 ms;
- ``sil>=0.3``: words whose span holds a silent stretch of 0.3 s or more, and ``sil s``: the
  seconds of silence inside words (silent stretches of 0.1 s or more, clipped to the words), both
  by the loudness rule of ``pipelines.word_times.Silence``: 20 ms RMS every 10 ms; a step is silent
  under both the file's noise floor (5th percentile) + 6 dB and its speech level (95th
  percentile) - 25 dB. The fix moves words by this rule, so these columns show it did what it
  says; the next two are a check it does not know about:
- ``vad>=0.3`` and ``vad s``: the same against Silero VAD's non-speech (faster-whisper's
  ``get_speech_timestamps``, threshold 0.5, silences from 100 ms, speech padded 30 ms), which
  the fix never sees;
- ``moved``: words whose start or end moved, and the mean shift of the edges that moved.

Then the totals, and the fix's cost in milliseconds per minute of audio (silence measured and
words fitted, best of 3 on the longest real file).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TESTDATA = ROOT.parent / "shared" / "testdata"
CACHE = Path.home() / ".cache" / "lessonlens" / "bench_word_times"

from pipelines import media  # noqa: E402
from pipelines.asr import Segment, Word  # noqa: E402
from pipelines.word_times import Silence, fit_segments  # noqa: E402

ENGLISH = ("ds_LDC93S1", "ds_arctic", "ds_new-home", "fw_hotwords", "fw_stereo", "librivox_", "lj_", "ps_", "sb_",
           "sr_english", "mdn_friday", "emk_", "vsr_")
VIDEOS = ("mdn_friday", "emk_cartoon_en", "emk_kdrama_en", "vsr_rezero_en", "rvo_leon_zh_en", "rvo_coldwar_zh",
          "rvo_anime_zh")
ZERO_S = 0.02
LONG_SILENCE_S = 0.3
SILENCE_S = 0.1  # silent stretches counted in the seconds of silence inside words


@dataclass
class Figures:
    """One file's (or the total's) figures for one word list."""

    words: int = 0
    zero: int = 0
    holding: int = 0  # words holding a silent stretch >= LONG_SILENCE_S
    silence_s: float = 0.0
    vad_holding: int = 0
    vad_s: float = 0.0

    def add(self, other: Figures) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class Row:
    name: str
    seconds: float
    before: Figures
    after: Figures
    moved: int = 0
    shift_s: list[float] = field(default_factory=list)


def real_files(only: list[str] | None) -> list[Path]:
    audio = sorted(p for p in (TESTDATA / "audio").iterdir() if p.suffix in (".wav", ".ogg", ".mp3"))
    videos = [TESTDATA / "video" / f"{name}.mp4" for name in VIDEOS]
    files = [p for p in audio + videos if p.exists()]
    return [p for p in files if not only or any(p.stem.startswith(o) for o in only)]


def _source(*names: str) -> str:
    return hashlib.sha1(b"".join((ROOT / "pipelines" / n).read_bytes() for n in names)).hexdigest()


def decode(path: Path, engines: dict[str, Any]) -> list[Segment]:
    """The segments a job would get for ``path`` with ``fit_words_to_speech`` off (cached)."""
    from pipelines.asr import AsrOptions
    from pipelines.asr_blocks import transcribe_blocks

    english = path.stem.startswith(ENGLISH)
    options = AsrOptions(language="en" if english else "auto", fit_words_to_speech=False)
    key = {"file": hashlib.sha1(path.read_bytes()).hexdigest(), "options": asdict(options),
           "asr": _source("asr.py", "asr_guards.py", "asr_blocks.py", "vocabulary.py")}
    hit = CACHE / (hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest() + ".json")
    if hit.exists():
        doc = json.loads(hit.read_text())
    else:
        model = options.resolved_model()
        if model not in engines:
            from app.model_cache import ModelCache
            from app.settings import Settings

            engines[model] = ModelCache(Settings()).whisper(model, options.engine)
        transcript = transcribe_blocks(engines[model], media.audio_blocks(media.iter_audio(path)), options)
        doc = [asdict(s) for s in transcript.segments]
        CACHE.mkdir(parents=True, exist_ok=True)
        hit.write_text(json.dumps(doc))
    return [Segment(**{**s, "words": tuple(Word(**w) for w in s["words"])}) for s in doc]


def vad_nonspeech(audio: Any, duration: float) -> list[tuple[float, float]]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    chunks = get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=100, speech_pad_ms=30))
    out, at = [], 0.0
    for c in chunks:
        start, end = c["start"] / media.SAMPLE_RATE, c["end"] / media.SAMPLE_RATE
        if start > at:
            out.append((at, start))
        at = max(at, end)
    if at < duration:
        out.append((at, duration))
    return out


def _inside(start: float, end: float, spans: list[tuple[float, float]]) -> list[float]:
    return [min(b, end) - max(a, start) for a, b in spans if a < end and b > start]


def figures(words: list[Word], silence: Silence | None, nonspeech: list[tuple[float, float]]) -> Figures:
    out = Figures(words=len(words))
    long_runs = silence.runs(LONG_SILENCE_S) if silence else []
    runs = silence.runs(SILENCE_S) if silence else []
    long_vad = [(a, b) for a, b in nonspeech if b - a >= LONG_SILENCE_S]
    for w in words:
        out.zero += int(w.end - w.start < ZERO_S)
        out.holding += int(any(p >= LONG_SILENCE_S - 1e-6 for p in _inside(w.start, w.end, long_runs)))
        out.silence_s += float(sum(_inside(w.start, w.end, runs)))
        out.vad_holding += int(any(p >= LONG_SILENCE_S - 1e-6 for p in _inside(w.start, w.end, long_vad)))
        out.vad_s += float(sum(_inside(w.start, w.end, [(a, b) for a, b in nonspeech if b - a >= SILENCE_S])))
    return out


def measure(path: Path, engines: dict[str, Any], show: int) -> Row:
    segments = decode(path, engines)
    audio = media.load_audio(path)
    seconds = len(audio) / media.SAMPLE_RATE
    silence = Silence.measure(audio)
    nonspeech = vad_nonspeech(audio, seconds)
    before = [w for s in segments for w in s.words]
    after = [w for s in fit_segments(segments, audio) for w in s.words]
    assert [w.text for w in before] == [w.text for w in after]
    row = Row(path.stem, seconds, figures(before, silence, nonspeech), figures(after, silence, nonspeech))
    for b, a in zip(before, after, strict=True):
        if (b.start, b.end) != (a.start, a.end):
            row.moved += 1
            row.shift_s += [abs(x - y) for x, y in ((b.start, a.start), (b.end, a.end)) if x != y]
    if show:
        worst = sorted(zip(before, after, strict=True),
                       key=lambda ba: -sum(_inside(ba[0].start, ba[0].end, silence.runs(SILENCE_S)) if silence else [0.0]))
        for b, a in worst[:show]:
            print(f"    {b.text!r:18} {b.start:7.2f}-{b.end:7.2f} -> {a.start:7.2f}-{a.end:7.2f}")
    return row


HEADER = (f"{'file':30} {'audio s':>7} {'words':>5} {'zero':>7} {'sil>=0.3':>8} {'sil s':>11} {'vad>=0.3':>8} "
          f"{'vad s':>11} {'moved':>5} {'mean shift':>10}")


def print_row(name: str, seconds: float, b: Figures, a: Figures, moved: int, shifts: list[float]) -> None:
    mean = sum(shifts) / len(shifts) if shifts else 0.0
    print(f"{name[:30]:30} {seconds:>7.1f} {b.words:>5} {b.zero:>3}->{a.zero:<3} {b.holding:>3}->{a.holding:<4} "
          f"{b.silence_s:>5.2f}->{a.silence_s:<5.2f} {b.vad_holding:>3}->{a.vad_holding:<4} "
          f"{b.vad_s:>5.2f}->{a.vad_s:<5.2f} {moved:>5} {mean:>9.3f}s")


def report(title: str, rows: list[Row]) -> dict[str, Any]:
    print(f"\n== {title}: before -> after fitting words to speech")
    print(HEADER)
    before, after, shifts = Figures(), Figures(), []
    for r in rows:
        print_row(r.name, r.seconds, r.before, r.after, r.moved, r.shift_s)
        before.add(r.before)
        after.add(r.after)
        shifts += r.shift_s
    moved = sum(r.moved for r in rows)
    print_row(f"total ({len(rows)} files)", sum(r.seconds for r in rows), before, after, moved, shifts)
    return {"files": len(rows), "audio_s": round(sum(r.seconds for r in rows), 1), "moved": moved,
            "before": {k: round(v, 2) for k, v in asdict(before).items()},
            "after": {k: round(v, 2) for k, v in asdict(after).items()}}


def cost(path: Path, engines: dict[str, Any]) -> float:
    """Milliseconds per minute of audio to measure the silence and fit the words (best of 3)."""
    segments = decode(path, engines)
    audio = media.load_audio(path)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        fit_segments(segments, audio)
        best = min(best, time.perf_counter() - t0)
    return best * 1000 / (len(audio) / media.SAMPLE_RATE / 60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="real files whose names start so (default: all)")
    parser.add_argument("--no-real", action="store_true")
    parser.add_argument("--no-generated", action="store_true")
    parser.add_argument("--show", type=int, default=0, help="print each file's N words with most silence")
    args = parser.parse_args()
    engines: dict[str, Any] = {}
    results: dict[str, Any] = {}
    if not args.no_real:
        if not TESTDATA.is_dir():
            raise SystemExit(f"needs {TESTDATA} (the shared test data)")
        files = real_files(args.only)
        rows = []
        for path in files:
            if args.show:
                print(path.stem)
            rows.append(measure(path, engines, args.show))
        results["real"] = report("real recordings (../shared/testdata)", rows)
        longest = max(files, key=lambda p: media.probe(p).duration)
        results["ms_per_audio_minute"] = round(cost(longest, engines), 2)
        print(f"fit cost: {results['ms_per_audio_minute']} ms per minute of audio ({longest.name})")
    if not args.no_generated:
        from samples.make_samples import build

        lesson = build() / "lesson.mp4"
        results["generated"] = report("generated (espeak-ng sample lesson)", [measure(lesson, engines, args.show)])
    print(json.dumps(results))


if __name__ == "__main__":
    main()
