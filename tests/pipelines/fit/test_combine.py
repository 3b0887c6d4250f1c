"""Combinations of cuts: the cheapest sets that fit and keep the facts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.fit.combine import cheapest_fits
from pipelines.fit.guard import Guard
from pipelines.fit.syntax import Cut, optional_cuts, plan


def _cut(text: str, phrase: str, kind: str, cost: float) -> Cut:
    start = text.index(phrase)
    return Cut(start, start + len(phrase), kind, cost, phrase.strip(" ,"))


def test_a_refused_cheap_cut_does_not_block_a_dearer_set_that_fits() -> None:
    text = "Really, the big red dog quickly ran home through the park yesterday."
    cuts = [_cut(text, "Really, ", "discourse", 0.05), _cut(text, " quickly", "advmod", 0.35),
            _cut(text, " through the park", "prep", 0.5), _cut(text, " yesterday", "npadvmod", 0.5),
            _cut(text, " red", "hedge", 0.1)]
    # The guard refuses any text without "red"; the slot needs about 25 characters saved.
    found = cheapest_fits(text, cuts, fits=lambda t: len(t) <= len(text) - 25,
                          allowed=lambda t: "red" in t, need=25)
    assert found
    texts = [t for t, _, _ in found]
    assert all("red" in t and len(t) <= len(text) - 25 for t in texts)
    costs = [c for _, c, _ in found]
    assert costs == sorted(costs)
    assert texts[0] == "The big red dog quickly ran home yesterday."  # 0.55: the cheapest set that fits
    # The greedy plan takes the refused cut first, and every later step keeps it.
    assert all("red" not in t for t, _, _ in plan(text, sorted(cuts, key=lambda c: c.cost / c.saved))[1:])


def test_overlapping_cuts_never_go_together_and_nothing_is_found_when_nothing_fits() -> None:
    text = "We went to the shop in the town on Monday."
    cuts = [_cut(text, " in the town", "prep", 0.5), _cut(text, " the shop in the town", "prep", 0.5)]
    found = cheapest_fits(text, cuts, fits=lambda t: len(t) < 30, allowed=lambda t: True)
    assert [t for t, _, _ in found] == ["We went to on Monday."]
    assert cheapest_fits(text, cuts, fits=lambda t: len(t) < 10, allowed=lambda t: True) == []


@pytest.mark.slow
def test_on_a_real_parse_the_answers_keep_the_facts(require_model: Any, model_dir: Path) -> None:
    require_model("spacy-en-sm")
    from pipelines.fit.syntax import load_parser

    nlp = load_parser(model_dir)
    text = ("In this case, the corresponding eigenvalue, which we call lambda, would have to be 1, "
            "since rotations never stretch anything in the plane.")
    guard = Guard()
    facts = guard.facts(text, nlp(text))
    found = cheapest_fits(text, optional_cuts(nlp(text)), fits=lambda t: len(t) <= 0.8 * len(text),
                          allowed=lambda t: not guard.check(facts, t))
    assert found
    for t, _, _ in found:
        assert "1" in t and "never" in t and "eigenvalue" in t, t
        assert len(t) <= 0.8 * len(text)
