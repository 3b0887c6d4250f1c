"""Benchmark of a whole job (subtitles + ocr + classify): today's code and a baseline, side by side.

The media is real: the three UI screen recordings of ``../shared/testdata/video`` (JupyterHub,
JupyterLab + GitHub, a terminal; 130 s together) scaled to 1280x720 at 25 fps and looped to the
length asked for (default 10 minutes), with real English speech from ``../shared/testdata/audio``
(LJ Speech, LibriVox, DeepSpeech and SpeechBrain clips, 0.7 s apart) looped under it. It is built
with ffmpeg at run time into ``out/bench/`` (never stored in the repository). The recordings are
silent, and the speech does not talk about the screen: the screen-aware vocabulary runs (the
screen has plenty of terms) but its words are seldom used.

A screencast's video is small (this one: about 0.2 Mbit/s). ``--footage`` runs the job on real
film footage instead (``FOOTAGE``, a 1940 film clip with no burned-in text, looped) encoded at
``FOOTAGE_BITRATE``, as 720p video is usually delivered, with the same speech: what a job holds of
a heavier file (its compressed packets) shows in the peak RSS there.

Each side runs in a process of its own (so peak RSS is its own): the baseline from a git ref
exported to a temporary folder (default: the commit before issue 19's stage overlap), today's
from this tree. Models are loaded and warmed on the first 20 s before the timed run, as a worker
holds them. Printed per side: wall time, x real time, each stage's seconds, the decode seconds
(audio for Whisper; frames: what the OCR stage's thread spent on them, which is its wait for the
next sample where they are decoded ahead on a thread of their own) and their share of the wall
time, peak RSS; then whether
both sides produced the same transcript, vocabulary offers and on-screen events.

Usage::

    .venv/bin/python -m bench.bench_job                      # 10 minutes, baseline b4e512d
    .venv/bin/python -m bench.bench_job --minutes 2 --baseline HEAD~3
    .venv/bin/python -m bench.bench_job --minutes 2 --today on --today off:LESSONLENS_STAGE_OVERLAP=false
    .venv/bin/python -m bench.bench_job --footage --baseline HEAD~1   # real film at 3 Mbit/s
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT.parent / "shared" / "testdata"
RECORDINGS = ("screencast_jupyterhub_quota.mp4", "screencast_jupyterlab_ghcreds.mp4", "screencast_terminal_demotape.mp4")
SPEECH_PREFIXES = ("lj_", "librivox_", "ds_LDC", "ds_arctic", "ds_new", "sb_", "ps_", "sr_")
BASELINE = "b4e512d"  # main before issue 19's single pass and stage overlap
STAGES = ["subtitles", "ocr", "classify"]
W, H, FPS = 1280, 720, 25
FOOTAGE = TESTDATA / "video" / "mdn_friday.mp4"
FOOTAGE_BITRATE = "3M"


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def build_media(out: Path, minutes: float, footage: bool = False) -> Path:
    """The looped real screencast (or with ``footage``, the real film at ``FOOTAGE_BITRATE``)
    with real speech (cached in ``out``)."""
    kind = "film" if footage else "real"
    video = out / f"job-{kind}-{minutes:g}min.mp4"
    if video.is_file():
        return video
    out.mkdir(parents=True, exist_ok=True)
    longer = sorted(out.glob(f"job-{kind}-*min.mp4"), key=lambda p: float(p.stem.split("-")[-1][:-3]))
    longer = [p for p in longer if float(p.stem.split("-")[-1][:-3]) > minutes]
    if longer:  # the first minutes of a longer one, copied (no new encode)
        _ffmpeg("-i", str(longer[0]), "-t", str(round(minutes * 60, 3)), "-c", "copy", str(video))
        return video
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        unit = Path(tmp) / "unit.mp4"
        seconds = str(round(minutes * 60, 3))
        if footage:  # the clip's frames looped at the bitrate asked for, instead of the recordings'
            _ffmpeg("-stream_loop", "-1", "-i", str(FOOTAGE), "-t", seconds, "-an", "-vf",
                    f"scale={W}:{H}:force_original_aspect_ratio=increase,crop={W}:{H},fps={FPS},format=yuv420p",
                    "-c:v", "libx264", "-preset", "veryfast", "-b:v", FOOTAGE_BITRATE, "-maxrate", FOOTAGE_BITRATE,
                    "-bufsize", "6M", str(unit))
        else:
            inputs = [arg for name in RECORDINGS for arg in ("-i", str(TESTDATA / "video" / name))]
            chains = "".join(
                f"[{k}:v]scale={W}:{H}:force_original_aspect_ratio=decrease,pad={W}:{H}:(ow-iw)/2:(oh-ih)/2:"
                f"color=black,fps={FPS},format=yuv420p,setsar=1[v{k}];"
                for k in range(len(RECORDINGS)))
            concat = "".join(f"[v{k}]" for k in range(len(RECORDINGS))) + f"concat=n={len(RECORDINGS)}:v=1:a=0[v]"
            _ffmpeg(*inputs, "-filter_complex", chains + concat, "-map", "[v]", "-c:v", "libx264", "-preset",
                    "veryfast", "-crf", "23", str(unit))
        wavs = speech_clips()
        speech = Path(tmp) / "speech.wav"
        ins = [arg for p in wavs for arg in ("-i", str(p))]
        pads = "".join(f"[{k}:a]aresample=48000,pan=mono|c0=c0,apad=pad_dur=0.7[a{k}];" for k in range(len(wavs)))
        joined = "".join(f"[a{k}]" for k in range(len(wavs))) + f"concat=n={len(wavs)}:v=0:a=1[a]"
        _ffmpeg(*ins, "-filter_complex", pads + joined, "-map", "[a]", str(speech))
        _ffmpeg("-stream_loop", "-1", "-i", str(unit), "-stream_loop", "-1", "-i", str(speech), "-map", "0:v",
                "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-b:a", "96k", "-t", seconds, str(video))
    return video


def speech_clips() -> list[Path]:
    """The real speech clips, in the order the media joins them."""
    return sorted(p for p in (TESTDATA / "audio").glob("*.wav") if p.name.startswith(SPEECH_PREFIXES))


def speech_reference(seconds: float) -> str:
    """What the looped speech says in its first ``seconds``: each clip's reference file (human
    transcripts, or for a few the upstream test's expected string), clips 0.7 s apart, the one
    cut off by the end included whole."""
    import wave

    clips: list[tuple[float, str]] = []  # (seconds with the gap after it, what it says), read once
    for clip in speech_clips():
        with wave.open(str(clip)) as w:
            length = w.getnframes() / w.getframerate() + 0.7
        lines = clip.with_suffix(".txt").read_text().splitlines()
        clips.append((length, next(ln for ln in lines if ln.strip() and not ln.startswith("#"))))
    said: list[str] = []
    at = 0.0
    while clips and at < seconds:
        length, text = clips[len(said) % len(clips)]
        said.append(text)
        at += length
    return " ".join(said)


def word_errors(reference: str, transcript: str) -> tuple[int, int]:
    """Word errors of ``transcript`` against ``reference`` and the reference's words (Whisper's
    English normaliser on both, as ``bench_asr``)."""
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    norm = EnglishTextNormalizer()
    ref, hyp = norm(reference), norm(transcript)
    out = jiwer.process_words(ref, hyp or "<empty>")
    return out.substitutions + out.deletions + out.insertions, len(ref.split())


class _RssSampler:
    """Samples this process's RSS every ``every_s`` seconds (a thread): the peak, and the stages
    running when it was reached."""

    def __init__(self, running: set[str], every_s: float = 0.1) -> None:
        self.running = running
        self.peak_mb = 0.0
        self.at_peak: list[str] = []
        self.doing_at_peak: list[str] = []
        self.timeline: list[tuple[float, int, str]] = []  # (seconds, MB, stages running) every 10 s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._every = every_s
        self._page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20

    def _run(self) -> None:
        started = time.perf_counter()
        while not self._stop.wait(self._every):
            mb = self.now_mb()
            now = time.perf_counter() - started
            if not self.timeline or now - self.timeline[-1][0] >= 10:
                self.timeline.append((round(now, 1), round(mb), "+".join(sorted(self.running))))
            if mb > self.peak_mb:
                self.peak_mb, self.at_peak = mb, sorted(self.running)
                self.doing_at_peak = self._doing()

    def _doing(self) -> list[str]:
        """Where each other thread of this process is (its innermost frames of the project's own
        code, or of the library it is in): what the memory at the peak is being used for."""
        names = {t.ident: t.name for t in threading.enumerate()}
        out = []
        for ident, frame in sys._current_frames().items():
            if ident == threading.get_ident():
                continue
            stack = traceback.extract_stack(frame)
            own = [f for f in stack if "/pipelines/" in f.filename or "/app/" in f.filename]
            if not own:
                continue
            inner = f"{Path(stack[-1].filename).name}:{stack[-1].name}"
            out.append(f"{names.get(ident, ident)}: {own[-1].name} ({Path(own[-1].filename).name}) in {inner}")
        return sorted(out)

    def now_mb(self) -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self._page_mb

    def __enter__(self) -> _RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def warm_clip(media: Path) -> Path:
    """The first 20 s of ``media``, copied (no new encode), cached beside it: what a side warms
    its models on (made here, so a machine without ffmpeg, the ``device`` tool's, can be given it)."""
    warm = media.with_name(f"{media.stem}-first20s.mp4")
    if not warm.is_file():
        _ffmpeg("-i", str(media), "-t", "20", "-c", "copy", str(warm))
    return warm


def child(media: Path, out: Path, stages: list[str]) -> None:
    """Run the job on ``media`` with the code on PYTHONPATH (this tree or the baseline's); print JSON.

    The job's CPU budget is a worker's (``Settings.threads_per_job``: ``LESSONLENS_JOB_THREADS``,
    else the cores over ``LESSONLENS_WORKERS``) where the code takes one."""
    from app.model_cache import ModelCache
    from app.settings import Settings
    from app.stages.context import StageContext, StageOutcome
    from app.stages.graph import normalise_options, run_stages
    from pipelines import media as media_mod

    settings = Settings()
    models = ModelCache(settings)
    options = normalise_options(stages, {})
    out.mkdir(parents=True, exist_ok=True)
    warm = warm_clip(media)
    budget: dict[str, Any] = ({"threads": settings.threads_per_job()}
                              if "threads" in inspect.signature(run_stages).parameters else {})
    warm_ctx = StageContext(media_path=warm, out_dir=out / "warm", models=models, info=media_mod.probe(warm))
    run_stages(warm_ctx, stages, options, **budget)  # loads the models the job uses, as a worker holds them

    info = media_mod.probe(media)
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    running: set[str] = set()
    t0 = time.perf_counter()

    def on_stage(name: str, state: str, outcome: StageOutcome | None) -> None:
        (starts if state == "running" else ends)[name] = round(time.perf_counter() - t0, 2)
        (running.add if state == "running" else running.discard)(name)

    ctx = StageContext(media_path=media, out_dir=out / "job", models=models, info=info)
    # today's code takes the overlap setting (LESSONLENS_STAGE_OVERLAP=false: one after another)
    overlap: dict[str, Any] = {"overlap": settings.stage_overlap} if "overlap" in inspect.signature(run_stages).parameters else {}
    with _RssSampler(running) as rss:
        warm_mb = rss.now_mb()
        load0 = os.getloadavg()[0]
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        outcomes = run_stages(ctx, stages, options, on_stage, **overlap, **budget)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    subs = json.loads((out / "job" / "subtitles.json").read_text())  # the bench's stages include these two
    ocr = json.loads((out / "job" / "ocr.json").read_text())
    decode = {"audio_s": outcomes["subtitles"].summary["timings"]["decode_s"], "frames_s": ocr["timing"]["decode"]}
    print(json.dumps({
        "duration_s": info.duration,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 1),
        "x_real_time": round(wall / info.duration, 4),
        "stages": {n: {"seconds": o.seconds, "from": starts.get(n), "to": ends.get(n)} for n, o in outcomes.items()},
        "decode_s": decode,
        "decode_share_of_wall": round(sum(decode.values()) / wall, 3),
        "ocr_timing": ocr["timing"],
        "frames_sampled": ocr["frames_sampled"],
        "frames_ocred": ocr["frames_ocred"],
        "frames_probed": ocr.get("frames_probed"),  # the baseline's code may not write it
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_warm_mb": round(warm_mb),
        "rss_job_peak_mb": round(rss.peak_mb),
        "rss_peak_during": rss.at_peak,
        "rss_doing_at_peak": rss.doing_at_peak,
        "rss_timeline": rss.timeline,
        "load": [round(load0, 1), round(os.getloadavg()[0], 1)],
        "shot_changes": outcomes["subtitles"].summary.get("shot_changes"),
        "shot_changes_from": outcomes["subtitles"].summary.get("shot_changes_from"),
        "subtitles_timings": outcomes["subtitles"].summary.get("timings"),
        "sampled_segments": outcomes["subtitles"].summary.get("sampled_segments"),
        "transcript": " ".join(" ".join(c["lines"]) for c in subs["cues"]),
        "vocabulary": subs.get("vocabulary", []),
        "events": [[e["start"], e["end"], e["text"]] for e in ocr["events"]],
        "label": outcomes["classify"].summary["label"] if "classify" in outcomes else None,
    }))


def _side(name: str, tree: Path, media: Path, out: Path, stages: list[str],
          env_extra: dict[str, str] | None = None) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree), **(env_extra or {})}
    cmd = [sys.executable, str(ROOT / "bench" / "bench_job.py"), "--child", str(media), "--out", str(out / f"{name}-out"),
           "--stages", ",".join(stages)]
    proc = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _row(name: str, r: dict[str, Any]) -> str:
    stages = ", ".join(f"{n} {s['seconds']:.1f} s ({s['from']:.0f}-{s['to']:.0f})" for n, s in r["stages"].items())
    d = r["decode_s"]
    rss = (f" (warm {r['rss_warm_mb']} MB, job peak {r['rss_job_peak_mb']} MB with {'+'.join(r['rss_peak_during'])})"
           if "rss_warm_mb" in r else "")
    load = f"; load {r['load'][0]} -> {r['load'][1]}" if "load" in r else ""
    return (f"{name:8} wall {r['wall_s']:6.1f} s  {r['x_real_time']:.3f}x real time  cpu {r['cpu_s']:.0f} s  "
            f"peak RSS {r['peak_rss_mb']} MB{rss}{load}\n{'':9}stages: {stages}\n{'':9}decode: audio "
            f"{d['audio_s']:.1f} s + frames {d['frames_s']:.1f} s = {r['decode_share_of_wall']:.0%} of wall; OCR'd "
            f"{r['frames_ocred']} of {r['frames_sampled']} samples (looked at, not read: {r.get('frames_probed')}); ocr timing {r['ocr_timing']}\n{'':9}subtitles "
            f"timings {r.get('subtitles_timings')}; shot changes {r.get('shot_changes')} (from {r.get('shot_changes_from') or '?'}); segments decoded at a "
            f"fallback temperature {r.get('sampled_segments')}"
            + (f"\n{'':9}RSS MB every 10 s: " + " ".join(f"{mb}" for _, mb, _ in r["rss_timeline"])
               if r.get("rss_timeline") else "")
            + (f"\n{'':9}at the peak: " + "; ".join(r["rss_doing_at_peak"]) if r.get("rss_doing_at_peak") else ""))


def _variant(text: str) -> tuple[str, dict[str, str]]:
    """``name:KEY=VALUE,KEY=VALUE`` (a side of today's code run with those environment variables)."""
    name, _, env = text.partition(":")
    pairs = [kv.split("=", 1) for kv in env.split(",") if kv]
    if not name or any(len(kv) != 2 for kv in pairs):
        raise SystemExit(f"--today {text!r}: expected NAME or NAME:KEY=VALUE[,KEY=VALUE]")
    return name, dict((k, v) for k, v in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--baseline", default=BASELINE, help="git ref of the code to compare with")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--stages", default=",".join(STAGES),
                        help="the job's stages (subtitles and ocr always; classify can be left out)")
    parser.add_argument("--only", choices=["baseline", "today"], help="run one side")
    parser.add_argument("--footage", action="store_true",
                        help=f"real film footage at {FOOTAGE_BITRATE}bit/s instead of the screencast")
    parser.add_argument("--today", action="append", type=_variant, metavar="NAME[:KEY=VALUE,...]",
                        help="a side of today's code with these environment variables (repeatable; default: "
                             "one side 'today'), e.g. --today off:LESSONLENS_STAGE_OVERLAP=false --today on")
    args = parser.parse_args()
    stages = [s for s in args.stages.split(",") if s]
    if not {"subtitles", "ocr"} <= set(stages) or not set(stages) <= set(STAGES):
        raise SystemExit(f"--stages {args.stages!r}: subtitles and ocr, and classify if wanted")
    if args.child:
        child(args.child, args.out, stages)
        return
    media = build_media(args.out, args.minutes, args.footage)
    what = f"real film at {FOOTAGE_BITRATE}bit/s" if args.footage else "real UI recordings"
    print(f"media: {media.name} ({what} looped to {args.minutes:g} min, 1280x720 {FPS} fps, "
          f"{media.stat().st_size / 1e6:.0f} MB, real speech); load before: {os.getloadavg()[0]:.1f}", flush=True)
    results: dict[str, dict[str, Any]] = {}
    reference = speech_reference(args.minutes * 60)
    todays: list[tuple[str, dict[str, str]]] = args.today or [("today", {})]
    with tempfile.TemporaryDirectory(prefix="bench-job-") as tmp:
        base = Path(tmp) / "baseline"
        base.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
        sides: list[tuple[str, Path, dict[str, str]]] = [("baseline", base, {})] + [(name, ROOT, env) for name, env in todays]
        for name, tree, env in sides:
            if args.only and (name == "baseline") != (args.only == "baseline"):
                continue
            results[name] = _side(name, tree, media, Path(tmp), stages, env)
            wrong, total = word_errors(reference, results[name]["transcript"])
            print(_row(name, results[name]), f"\n{'':9}transcript: word error rate {wrong / max(1, total):.3f} "
                  f"({wrong} of {total} words of the clips' references)"
                  f"\n{'':9}load after: {os.getloadavg()[0]:.1f}", flush=True)
    if len(results) >= 2:
        first, a = next(iter(results.items()))
        for name, b in list(results.items())[1:]:
            print(f"{name} vs {first}: same transcript: {a['transcript'] == b['transcript']}; same vocabulary "
                  f"offers: {a['vocabulary'] == b['vocabulary']}; same on-screen events: {a['events'] == b['events']} "
                  f"({len(a['events'])} / {len(b['events'])}); labels {a['label']} / {b['label']}")
            if a["transcript"] != b["transcript"]:
                print(f"  transcripts differ: {_first_difference(a['transcript'], b['transcript'])}")


def _first_difference(a: str, b: str, context: int = 8) -> str:
    """Where two transcripts part: the word index and a few words of each from there."""
    wa, wb = a.split(), b.split()
    at = next((i for i, (x, y) in enumerate(zip(wa, wb, strict=False)) if x != y), min(len(wa), len(wb)))
    return (f"word {at} of {len(wa)} / {len(wb)}: {' '.join(wa[max(0, at - 2):at + context])!r} / "
            f"{' '.join(wb[max(0, at - 2):at + context])!r}")


if __name__ == "__main__":
    main()
