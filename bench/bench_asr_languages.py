"""Speech in other languages: lessonlens against faster-whisper alone, per file, on real recordings.

    .venv/bin/python bench/bench_asr_languages.py                         # whisper-base, language given
    .venv/bin/python bench/bench_asr_languages.py --detect                # also with the language detected
    .venv/bin/python bench/bench_asr_languages.py --models whisper-base whisper-small

Files (../shared/testdata/audio, never copied here): the FLEURS utterances (German, French,
Spanish, Portuguese; human transcriptions, lower case without punctuation) and the Russian
DeepSpeech sample (human). Each is decoded by faster-whisper's own ``transcribe`` (beam 5, VAD,
word timestamps, the language given: what whisper-asr-webservice runs) and by lessonlens's
engine with its default options, on the same weights. Word error rate and character error rate
after Whisper's basic (language-independent) normaliser; real-time factor = decode seconds /
audio seconds (wall: say the load). A model that is not installed is reported as such.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT.parent / "shared" / "testdata"
# file prefix -> Whisper language code
LANGUAGES = {"fleurs_de": "de", "fleurs_fr": "fr", "fleurs_es": "es", "fleurs_pt": "pt", "ds_ru": "ru"}


def items() -> list[tuple[str, Path, str, str]]:
    """(name, audio, language, reference) of every file with a human reference."""
    out = []
    for audio in sorted((TESTDATA / "audio").iterdir()):
        prefix = next((p for p in LANGUAGES if audio.name.startswith(p)), None)
        if prefix is None or audio.suffix == ".txt":
            continue
        lines = audio.with_suffix(".txt").read_text(encoding="utf-8").splitlines()
        ref = next(ln for ln in lines if ln.strip() and not ln.startswith("#"))
        out.append((audio.stem, audio, LANGUAGES[prefix], ref))
    return out


def scores(ref: str, hyp: str) -> tuple[int, int, int, int]:
    """Word errors, reference words, character errors, reference characters (normalised)."""
    import jiwer
    from whisper_normalizer.basic import BasicTextNormalizer

    norm = BasicTextNormalizer()
    r, h = " ".join(norm(ref).split()), " ".join(norm(hyp).split())
    words = jiwer.process_words(r, h or "<empty>")
    chars = jiwer.process_characters(r, h or "<empty>")
    return (words.substitutions + words.deletions + words.insertions, len(r.split()),
            chars.substitutions + chars.deletions + chars.insertions, len(r))


def run(model: str, detect: bool) -> dict[str, Any]:
    from app.model_cache import ModelCache
    from app.settings import Settings
    from pipelines import media
    from pipelines.asr import AsrOptions
    from pipelines.exceptions import ModelNotInstalledError, OptionsError

    try:
        engine = ModelCache(Settings()).whisper(model)
    except (ModelNotInstalledError, OptionsError) as err:
        print(f"\n== {model}: not available ({err})")
        return {"model": model, "installed": False}
    sides = ["faster-whisper", "lessonlens"] + (["lessonlens, detected"] if detect else [])
    print(f"\n== {model}: WER / CER per file, beam 5, VAD, word timestamps")
    print(f"{'file':22} {'lang':4} {'words':>5} {'audio s':>7} "
          + " ".join(f"{s + ' WER':>26} {'CER':>6} {'RTF':>5}" for s in sides))
    totals = {s: [0, 0, 0, 0, 0.0] for s in sides}
    audio_s = 0.0
    for name, path, lang, ref in items():
        audio = media.load_audio(path)
        seconds = len(audio) / media.SAMPLE_RATE
        audio_s += seconds
        row = []
        for side in sides:
            start = time.monotonic()
            if side == "faster-whisper":
                segments, _ = engine.model.transcribe(audio, language=lang, beam_size=5, vad_filter=True,
                                                      word_timestamps=True)
                text, detected = "".join(s.text for s in segments), lang
            else:
                options = AsrOptions(model=model, language="auto" if side.endswith("detected") else lang)
                transcript = engine.transcribe(audio, options)
                text, detected = transcript.text, transcript.language
            took = time.monotonic() - start
            we, wn, ce, cn = scores(ref, text)
            t = totals[side]
            t[0], t[1], t[2], t[3], t[4] = t[0] + we, t[1] + wn, t[2] + ce, t[3] + cn, t[4] + took
            mark = "" if detected == lang else f" ({detected}!)"
            row.append(f"{we / wn:>26.1%}{mark} {ce / cn:>6.1%} {took / seconds:>5.2f}")
        print(f"{name:22} {lang:4} {wn:>5} {seconds:>7.1f} " + " ".join(row))
    print(f"{'total':22} {'':4} {totals[sides[0]][1]:>5} {audio_s:>7.1f} "
          + " ".join(f"{t[0] / t[1]:>26.1%} {t[2] / t[3]:>6.1%} {t[4] / audio_s:>5.2f}" for t in totals.values()))
    with open("/proc/loadavg") as f:
        print("load average:", f.read().split()[:3])
    return {"model": model, "installed": True, "audio_s": round(audio_s, 1),
            **{s: {"wer": round(t[0] / t[1], 4), "cer": round(t[2] / t[3], 4), "rtf": round(t[4] / audio_s, 3)}
               for s, t in totals.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["whisper-base"])
    parser.add_argument("--detect", action="store_true", help="also let lessonlens detect the language")
    args = parser.parse_args()
    if not TESTDATA.is_dir():
        raise SystemExit(f"needs {TESTDATA} (the shared test data)")
    print(json.dumps([run(m, args.detect) for m in args.models]))


if __name__ == "__main__":
    main()
