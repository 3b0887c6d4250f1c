"""Benchmark the translation round trip (issue 20): export, import, and how many over-long
translated cues fit after import.

The lesson: about ten minutes of narration (~150 cues) built from the project's own fit
sentences (bench/data/fit_devset.jsonl) spoken at a steady 2.6 words a second with a pause after
each sentence, cut into cues by the real segmenter under the netflix-en profile. No human
translations of CC-licensed talks were found in ../shared/testdata (its German and French texts
are FLEURS read speech without an English source), so the targets are scripted
pseudo-translations (``pipelines.translation.pseudo``), 30 % longer than the source:

- ``padding``: German or French hedges and particles inserted between the source words;
- ``stretch``: every word made longer, nothing removable (the hard case).

Prints the export and import times (import = read + check + fit; the fit time is also shown
alone), the share of cues over their limit after translation, and the share of those that fit
after import, with the mean similarity kept and the methods that won.

Usage:
    .venv/bin/python bench/bench_translation.py
    .venv/bin/python bench/bench_translation.py --languages de --styles padding --minutes 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.asr import Word  # noqa: E402
from pipelines.fit.sentence import SentenceFitter  # noqa: E402
from pipelines.fit.subtitle_file import SubtitleFitOptions  # noqa: E402
from pipelines.models import DEFAULT_MODEL_DIR  # noqa: E402
from pipelines.subtitles import PROFILES, segment_words  # noqa: E402
from pipelines.translation.merge import merge_translation  # noqa: E402
from pipelines.translation.pseudo import pseudo_translate  # noqa: E402
from pipelines.translation.targets import check_translation, read_translation  # noqa: E402
from pipelines.translation.units import SourceCue, TranslationDocument, build_document  # noqa: E402
from pipelines.translation.xliff import write_xliff  # noqa: E402

DEVSET = ROOT / "bench" / "data" / "fit_devset.jsonl"
WORDS_PER_SECOND = 2.6
SENTENCE_PAUSE_S = 0.6


def lesson_cues(minutes: float) -> list[SourceCue]:
    """Cues of a narration of ``minutes`` built from the devset sentences, cut by the real segmenter."""
    sentences = [json.loads(line)["text"] for line in DEVSET.read_text(encoding="utf-8").splitlines() if line]
    words: list[Word] = []
    t = 0.5
    for sentence in sentences:
        for w in sentence.split():
            length = (0.1 + 0.05 * len(w)) * 2.6 / WORDS_PER_SECOND  # longer words take longer
            words.append(Word(t, t + length * 0.85, w, 0.95))
            t += length
        t += SENTENCE_PAUSE_S
        if t > minutes * 60:
            break
    return [SourceCue(c.index, c.start, c.end, c.lines) for c in segment_words(words, PROFILES["netflix-en"])]


def run(doc: TranslationDocument, language: str, style: str, fitter: SentenceFitter) -> dict[str, object]:
    doc = replace(doc, target_language=language)
    texts = {u.id: pseudo_translate(u.source, language, 1.3, style, seed=u.id) for u in doc.units}  # type: ignore[arg-type]
    translated = write_xliff(doc, "2.1", texts)
    over_before = [u for u in doc.cues if len(texts[u.id]) > u.limit.max_chars]
    started = time.monotonic()
    targets = check_translation(doc, read_translation(translated), language)
    read_s = time.monotonic() - started
    result = merge_translation(doc, targets, SubtitleFitOptions(language=language), fitter)
    import_s = time.monotonic() - started
    report = {r.id: r for r in result.report}
    over_ids = {u.id for u in over_before}
    fitted = [report[i] for i in over_ids if report[i].status != "over"]
    sims = [r.similarity for r in fitted]
    return {
        "cues": len(doc.cues), "over_before": len(over_before),
        "fit_after": len(fitted), "share": len(fitted) / max(1, len(over_before)),
        "still_over": result.counts["over"], "read_check_s": read_s, "import_s": import_s,
        "fit_s": result.elapsed_s, "similarity": statistics.mean(sims) if sims else float("nan"),
        "methods": Counter(r.method.split(":")[0] for r in fitted).most_common(4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--languages", default="de,fr")
    parser.add_argument("--styles", default="padding,stretch")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    cues = lesson_cues(args.minutes)
    started = time.monotonic()
    doc = build_document("bench", "en", cues, PROFILES["netflix-en"], "netflix-en", (), "de")
    exports = {v: write_xliff(doc, v) for v in ("2.1", "1.2")}  # type: ignore[arg-type]
    export_s = time.monotonic() - started
    print(f"lesson: {len(cues)} cues over {cues[-1].end / 60:.1f} min; export (units + XLIFF 2.1 + 1.2): "
          f"{export_s:.3f} s ({', '.join(f'{v}: {len(b) // 1024} KiB' for v, b in exports.items())})")
    t0 = time.monotonic()
    fitter = SentenceFitter.load(DEFAULT_MODEL_DIR, threads=args.threads, use_lm=False)
    print(f"sentence fitter (MiniLM; the LM serves English only) loaded in {time.monotonic() - t0:.1f} s")
    print(f"{'target':<16} {'over':>5} {'fit':>5} {'share':>7} {'left':>5} {'read+check':>11} "
          f"{'fit':>7} {'import':>7} {'sim':>6}  methods")
    for language in args.languages.split(","):
        for style in args.styles.split(","):
            r = run(doc, language, style, fitter)
            print(f"{language + ' ' + style:<16} {r['over_before']:>5} {r['fit_after']:>5} {r['share']:>7.1%} "
                  f"{r['still_over']:>5} {r['read_check_s']:>10.3f}s {r['fit_s']:>6.2f}s {r['import_s']:>6.2f}s "
                  f"{r['similarity']:>6.3f}  {r['methods']}")


if __name__ == "__main__":
    main()
