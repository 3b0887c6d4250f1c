"""Speech in other languages: lessonlens against faster-whisper alone, per file, on real recordings.

    .venv/bin/python bench/bench_asr_languages.py                         # whisper-base, language given
    .venv/bin/python bench/bench_asr_languages.py --detect                # also with the language detected
    .venv/bin/python bench/bench_asr_languages.py --models whisper-base whisper-small
    .venv/bin/python bench/bench_asr_languages.py --mixed                 # recordings in two languages

Files (../shared/testdata/audio, never copied here): the FLEURS utterances (German, French,
Spanish, Portuguese; human transcriptions, lower case without punctuation) and the Russian
DeepSpeech sample (human). Each is decoded by faster-whisper's own ``transcribe`` (beam 5, VAD,
word timestamps, the language given: what whisper-asr-webservice runs) and by lessonlens's
engine with its default options, on the same weights. Word error rate and character error rate
after Whisper's basic (language-independent) normaliser; real-time factor = decode seconds /
audio seconds (wall: say the load). A model that is not installed is reported as such.

``--mixed``: speech in two or three languages, the language left to the model on both sides
(faster-whisper's ``transcribe`` with ``language=None``, lessonlens with ``language="auto"``):
real utterances of different languages with human references (FLEURS, LJ Speech, LibriVox,
SpeechBrain, DeepSpeech) joined 1 s apart at run time (``MIXED``), and the real bilingual
recording ``fw_multilingual.mp3`` (English, then German; its reference is Whisper tiny's output,
so its row is regression only, ``regr``, never in the totals). Per part (the words whose middle
falls in the part's time): word error rate, and for lessonlens the language its segments there
were heard in. Totals: the parts in the language the recording begins in, and the others.
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


MIXED = {  # name: the parts, real utterances (file stem, language), joined 1 s apart
    "en+de": [("lj_LJ001-0001", "en"), ("fleurs_de-006", "de")],
    "de+en": [("fleurs_de-009", "de"), ("librivox_sns01_0870", "en")],
    "en+fr": [("lj_LJ001-0002", "en"), ("fleurs_fr-001", "fr")],
    "en+es+en": [("sb_spk1_snt1", "en"), ("fleurs_es-000", "es"), ("lj_LJ001-0003", "en")],
    "en+ru": [("librivox_sns01_0880", "en"), ("ds_ru", "ru")],
}
GAP_S = 1.0


def _reference(stem: str) -> str:
    path = TESTDATA / "audio" / f"{stem}.txt"
    return next(ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#"))


def _mixed_items() -> list[tuple[str, Any, list[tuple[float, float, str, str]], bool]]:
    """(name, audio, parts as (start, end, language, reference), regression only) of each mixed recording."""
    import numpy as np

    from pipelines import media

    out: list[tuple[str, Any, list[tuple[float, float, str, str]], bool]] = []
    for name, parts in MIXED.items():
        pieces, spans, at = [], [], 0.0
        for stem, lang in parts:
            path = next((TESTDATA / "audio").glob(f"{stem}.*[!t]"))
            audio = media.load_audio(path)
            pieces += [audio, np.zeros(int(GAP_S * media.SAMPLE_RATE), np.float32)]
            spans.append((at, at + len(audio) / media.SAMPLE_RATE, lang, _reference(stem)))
            at += len(audio) / media.SAMPLE_RATE + GAP_S
        out.append((name, np.concatenate(pieces[:-1]), spans, False))
    real = TESTDATA / "audio" / "fw_multilingual.mp3"
    lines = [ln for ln in real.with_suffix(".txt").read_text(encoding="utf-8").splitlines() if ln.startswith("[")]
    refs = {ln[1:3]: ln[5:] for ln in lines}
    audio = media.load_audio(real)
    out.append(("fw_multilingual (real)", audio, [(0.0, 29.5, "en", refs["en"]),
                                                 (29.5, len(audio) / media.SAMPLE_RATE, "de", refs["de"])], True))
    return out


def mixed(model: str) -> dict[str, Any]:
    """Recordings in two or three languages, the language left to the model (see the module doc)."""
    from collections import Counter

    from app.model_cache import ModelCache
    from app.settings import Settings
    from pipelines.asr import AsrOptions

    engine = ModelCache(Settings()).whisper(model)
    sides = ["faster-whisper", "lessonlens"]
    print(f"\n== {model}, recordings in several languages, the language left to the model: WER per part")
    totals = {(side, first): [0, 0] for side in sides for first in (True, False)}
    seconds = {side: 0.0 for side in sides}
    audio_s = 0.0
    for name, audio, parts, regression in _mixed_items():
        length = len(audio) / 16000
        audio_s += 0.0 if regression else length
        cells = []
        for side in sides:
            start = time.monotonic()
            if side == "faster-whisper":
                segments, info = engine.model.transcribe(audio, language=None, beam_size=5, vad_filter=True,
                                                         word_timestamps=True)
                words = [(w.start, w.end, w.word, info.language) for s in segments for w in (s.words or [])]
            else:
                transcript = engine.transcribe(audio, AsrOptions(model=model, language="auto"))
                words = [(w.start, w.end, w.text, s.language or transcript.language)
                         for s in transcript.segments for w in s.words]
            took = time.monotonic() - start
            seconds[side] += 0.0 if regression else took
            for p0, p1, lang, ref in parts:
                mine = [w for w in words if p0 - GAP_S / 2 <= (w[0] + w[1]) / 2 < p1 + GAP_S / 2]
                we, wn, _, _ = scores(ref, "".join(w[2] for w in mine))
                heard = Counter(w[3] for w in mine).most_common(1)
                said = heard[0][0] if heard and side == "lessonlens" else ""
                cells.append(f"{side[:4]} {lang}: {we / wn:6.1%}{' as ' + said if said and said != lang else ''}")
                if not regression:
                    t = totals[(side, lang == parts[0][2])]
                    t[0], t[1] = t[0] + we, t[1] + wn
            cells[-1] += f" (RTF {took / length:.2f})"
        print(f"{name + (' regr' if regression else ''):26} {length:5.1f} s  " + "  ".join(cells))
    print("total (joins): " + "  ".join(
        f"{side} {'first' if first else 'other'} language {t[0] / max(1, t[1]):.1%} ({t[1]} words)"
        for (side, first), t in totals.items()))
    print("RTF (joins): " + "  ".join(f"{side} {seconds[side] / audio_s:.2f}" for side in sides))
    return {"model": model, "mixed": {f"{side}, {'first' if first else 'other'} language":
                                      {"wer": round(t[0] / max(1, t[1]), 4), "words": t[1]}
                                      for (side, first), t in totals.items()},
            "rtf": {side: round(seconds[side] / audio_s, 3) for side in sides}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["whisper-base"])
    parser.add_argument("--detect", action="store_true", help="also let lessonlens detect the language")
    parser.add_argument("--mixed", action="store_true", help="recordings in several languages instead")
    args = parser.parse_args()
    if not TESTDATA.is_dir():
        raise SystemExit(f"needs {TESTDATA} (the shared test data)")
    print(json.dumps([mixed(m) if args.mixed else run(m, args.detect) for m in args.models]))


if __name__ == "__main__":
    main()
