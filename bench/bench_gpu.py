"""Whisper through ``ModelCache`` on the device ``LESSONLENS_DEVICE`` names: speed of one worker.

Loads the model the way a worker does (``app.model_cache``: on ``cuda`` float16 and batched
windows, on ``cpu`` int8 one window at a time), decodes a media file's audio, repeats it to
``--minutes``, transcribes it, and prints the plan, load time, wall time, x real time and hours of
speech per hour of one worker. For a GPU machine (the ``device`` tool), where nothing else of the
service needs to run::

    LESSONLENS_DEVICE=cuda python bench/bench_gpu.py samples/build/lesson.mp4 --minutes 10
    LESSONLENS_DEVICE=cpu  .venv/bin/python bench/bench_gpu.py samples/build/lesson.mp4 --minutes 2
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.model_cache import ModelCache
from app.settings import Settings
from pipelines.asr import AsrOptions
from pipelines.media import SAMPLE_RATE, load_audio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("media", type=Path)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--model", default="whisper-tiny.en")
    parser.add_argument("--language", default="en")
    args = parser.parse_args()
    settings = Settings()
    models = ModelCache(settings)
    started = time.perf_counter()
    whisper = models.whisper(args.model)
    load_s = time.perf_counter() - started
    audio = load_audio(args.media)
    repeats = max(1, int(np.ceil(args.minutes * 60 * SAMPLE_RATE / len(audio))))
    audio = np.tile(audio, repeats)[: int(args.minutes * 60 * SAMPLE_RATE)]
    duration = len(audio) / SAMPLE_RATE
    whisper.transcribe(audio[: 30 * SAMPLE_RATE], AsrOptions(language=args.language))  # warm (kernels, caches)
    started, cpu = time.perf_counter(), time.process_time()
    result = whisper.transcribe(audio, AsrOptions(language=args.language))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    plan = models.device
    print(json.dumps({
        "device": plan.device, "compute_type": plan.whisper_compute_type, "batch": plan.whisper_batch_size,
        "model": args.model, "audio_s": round(duration, 1), "load_s": round(load_s, 2), "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 1), "x_real_time": round(wall / duration, 4),
        "hours_per_hour": round(duration / wall, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "words": sum(len(s.text.split()) for s in result.segments),
    }), flush=True)


if __name__ == "__main__":
    main()
