"""The fitter on real spoken sentences (../shared lectures; skipped where they are absent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.real_speech import real_sets
from pipelines.fit.estimates import reading_estimate
from pipelines.fit.guard import negation_count
from pipelines.fit.rules import numbers_in
from pipelines.fit.sentence import FitOptions, SentenceFitter, resolve_profile
from pipelines.fit.syntax import NAME_ENTITIES, sentence_problem

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fitter(require_model: Any, model_dir: Path) -> SentenceFitter:
    require_model("spacy-en-sm")
    # No LM: deterministic, and what the fitter does before (or without) it.
    return SentenceFitter.load(model_dir, threads=1, use_lm=False)


def test_real_dev_sentences_keep_their_facts_and_stay_sentences(testdata: Path, fitter: SentenceFitter) -> None:
    sets = real_sets(testdata / "text" / "lectures_spoken", seed=17, per_lecture=2)
    assert not set(sets.dev_lectures) & set(sets.test_lectures)
    profile = resolve_profile("netflix-en")
    assert fitter.parser is not None
    fitted = 0
    for item in sets.dev:
        text = item["text"]
        slot = reading_estimate(text, profile).seconds * 0.8
        result = fitter.fit(text, FitOptions(max_seconds=slot, time_budget_s=None))
        out = result.text
        assert numbers_in(text, "en") <= numbers_in(out, "en"), (text, out)
        assert negation_count(out) >= negation_count(text), (text, out)
        for ent in fitter.parser(text).ents:
            if ent.label_ in NAME_ENTITIES:
                assert ent.text.lower() in out.lower(), (ent.text, out)
        if result.fits and result.changed:
            fitted += 1
            problem = sentence_problem(fitter.parser(out))
            assert not problem or problem.split(" (")[0] == sentence_problem(fitter.parser(text)).split(" (")[0], (out, problem)
            assert all(c.acceptable for c in result.candidates[:1])
    # Rules, spoken cuts and parser deletions alone fit about 40 % of the dev set (bench_fit.py).
    assert fitted >= 0.25 * len(sets.dev), f"{fitted} of {len(sets.dev)} fitted"
