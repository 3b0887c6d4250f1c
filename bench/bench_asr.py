"""Speech benchmark: accuracy, speed, memory and pipeline overhead, per Whisper model.

    .venv/bin/python bench/bench_asr.py [--models whisper-tiny.en whisper-base] [--repeat 2]

For each model, in a fresh child process (so peak RSS is the model's own):
- WER (Whisper English normalisation) over the ../shared/testdata/audio items whose reference
  is human or public knowledge (LJ Speech, LibriVox, Harvard sentences, TIMIT, "go forward");
- on a 60 s English MP4 made from those items (speech plus a still video track): the real-time
  factor of the whole subtitles stage (probe, decode + resample, Whisper, segmentation, writing)
  and of faster-whisper alone on the same samples, side by side, and the share of wall time
  spent outside the model call;
- peak RSS of the process.
Settings: beam 5, word timestamps, voice-activity filter (the defaults).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TESTDATA = ROOT.parent / "shared" / "testdata"
TRUSTED = ("lj_", "librivox_", "sb_", "ps_goforward", "ds_LDC93S1")


def reference(path: Path) -> str:
    return next(ln for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#"))


def items() -> list[tuple[Path, str]]:
    wavs = sorted(p for p in (TESTDATA / "audio").glob("*.wav") if p.name.startswith(TRUSTED))
    return [(p, reference(p.with_suffix(".txt"))) for p in wavs]


def make_clip(out: Path, seconds: float = 60.0) -> tuple[Path, str]:
    """A ~60 s English MP4 (AAC + H.264 still) from trusted items, and its reference text."""
    chosen, total, texts = [], 0.0, []
    for wav, text in items():
        dur = float(
            subprocess.run(
                ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(wav)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        if total + dur + 0.4 > seconds:
            continue  # whole utterances only: the reference must match what is heard
        chosen.append(wav)
        texts.append(text)
        total += dur + 0.4
    # Items differ in sample rate: resample each before joining (the concat demuxer would not).
    inputs = [arg for w in chosen for arg in ("-i", str(w))]
    graph = "".join(f"[{i}:a]aresample=16000,apad=pad_dur=0.4[a{i}];" for i in range(len(chosen)))
    graph += "".join(f"[a{i}]" for i in range(len(chosen))) + f"concat=n={len(chosen)}:v=0:a=1,apad[out]"
    wav = out / "clip.wav"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            *inputs,
            "-filter_complex",
            graph,
            "-map",
            "[out]",
            "-t",
            str(seconds),
            "-ac",
            "1",
            str(wav),
        ],
        check=True,
    )
    mp4 = out / "clip.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=navy:s=1280x720:r=24",
            "-i",
            str(wav),
            "-shortest",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-tune",
            "stillimage",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            str(mp4),
        ],
        check=True,
    )
    return mp4, " ".join(texts)


def run_model(name: str, clip: str, clip_ref: str, repeat: int, queue: mp.Queue) -> None:  # type: ignore[type-arg]
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    from app.model_cache import ModelCache
    from app.settings import Settings
    from app.stages.context import StageContext
    from app.stages.graph import run_stages
    from pipelines import media
    from pipelines.asr import AsrOptions

    norm = EnglishTextNormalizer()
    settings = Settings()
    cache = ModelCache(settings)
    t0 = time.monotonic()
    engine = cache.whisper(name)
    load_s = time.monotonic() - t0
    options = AsrOptions(model=name)
    refs, hyps = [], []
    for wav, text in items():
        hyp = engine.transcribe(media.load_audio(wav), options).text
        refs.append(norm(text))
        hyps.append(norm(hyp))
    wer = jiwer.wer(refs, hyps)

    info = media.probe(clip)
    stage_s, alone_s, model_s = [], [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            ctx = StageContext(media_path=Path(clip), out_dir=Path(out), models=cache)
            start = time.monotonic()
            outcome = run_stages(ctx, ["subtitles"], {"subtitles": {"model": name}})["subtitles"]
            stage_s.append(time.monotonic() - start)
            model_s.append(outcome.summary["timings"]["asr_s"])
            clip_text = (Path(out) / "transcript.txt").read_text()
        audio = media.load_audio(clip)
        start = time.monotonic()
        segments, _ = engine._model.transcribe(
            audio,
            language="en",
            beam_size=5,
            vad_filter=True,
            word_timestamps=True,
            condition_on_previous_text=False,
        )
        list(segments)
        alone_s.append(time.monotonic() - start)
    best = min(range(repeat), key=lambda i: stage_s[i])
    queue.put(
        {
            "model": name,
            "load_s": round(load_s, 2),
            "items": len(refs),
            "wer": round(wer, 4),
            "clip_s": round(info.duration, 1),
            "clip_wer": round(jiwer.wer(norm(clip_ref), norm(clip_text)), 4),
            "rtf_stage": round(stage_s[best] / info.duration, 4),
            "rtf_faster_whisper_alone": round(min(alone_s) / info.duration, 4),
            "overhead_share": round((stage_s[best] - model_s[best]) / stage_s[best], 4),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=["whisper-tiny.en", "whisper-base"])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if not TESTDATA.is_dir():
        raise SystemExit(f"needs {TESTDATA} (the shared test data)")
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        clip, clip_ref = make_clip(Path(tmp))
        rows = []
        for name in args.models:
            queue: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
            proc = ctx.Process(target=run_model, args=(name, str(clip), clip_ref, args.repeat, queue))
            proc.start()
            rows.append(queue.get())
            proc.join()
    print(
        f"{'model':16} {'items':>5} {'WER':>7} {'clipWER':>7} {'RTF':>7} {'RTF fw':>7} "
        f"{'overhead':>8} {'RSS MB':>7} {'load s':>6}"
    )
    for r in rows:
        print(
            f"{r['model']:16} {r['items']:>5} {r['wer']:>7.2%} {r['clip_wer']:>7.2%} {r['rtf_stage']:>7.3f} "
            f"{r['rtf_faster_whisper_alone']:>7.3f} {r['overhead_share']:>8.1%} {r['peak_rss_mb']:>7.0f} "
            f"{r['load_s']:>6.2f}"
        )
    print(
        "RTF: whole subtitles stage from MP4 on a {:.0f} s clip; RTF fw: faster-whisper alone, same audio.".format(
            rows[0]["clip_s"]
        )
    )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
