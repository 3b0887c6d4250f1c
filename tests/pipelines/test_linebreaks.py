"""Line layout: the one algorithm the segmenter, the fit and the translation merge share."""

from __future__ import annotations

from pipelines.linebreaks import layout_lines, wrap_lines


def test_wrap_lines_handles_text_without_spaces() -> None:
    assert wrap_lines("今日はアカウントの設定を行います", 5, 2) == ["今日はアカ", "ウントの設", "定を行いま", "す"]


def test_wrap_lines_is_the_best_layout_when_one_fits() -> None:
    text = "Open the settings page of your account and choose a new password"
    laid = layout_lines(text.split(), 42, 2)
    assert laid is not None
    assert wrap_lines(text, 42, 2) == list(laid[0]) == ["Open the settings page of your account", "and choose a new password"]


def test_wrap_lines_counts_the_fewest_lines_when_none_fits() -> None:
    text = " ".join(["word"] * 30)  # 149 chars
    assert layout_lines(text.split(), 42, 2) is None
    lines = wrap_lines(text, 42, 2)
    assert len(lines) == 4 and all(len(line) <= 42 for line in lines)
    assert wrap_lines("a supercalifragilisticexpialidocious word", 10, 2) == [
        "a", "supercalifragilisticexpialidocious", "word"]
    assert wrap_lines("  \n ", 42, 2) == []


def test_two_line_layout_makes_the_same_choice_as_the_general_search() -> None:
    """The one-pass two-line layout (the segmenter's hot path) must cost and split exactly as the
    dynamic programming over break points does, ties included."""
    import random

    from pipelines.linebreaks import _search_lines, _two_lines, break_cost

    vocabulary = ("the a to of and Export as PDF, settings. you it click button menu on in "
                  "Northwind Contoso 42 files? I we very small").split()
    rng = random.Random(11)
    compared = 0
    for _ in range(2000):
        words = [rng.choice(vocabulary) for _ in range(rng.randint(2, 16))]
        max_chars = rng.choice((20, 32, 37, 42))
        total = sum(len(w) for w in words) + len(words) - 1
        if total <= max_chars:
            continue
        breaks = [break_cost(words[i - 1], words[i]) for i in range(1, len(words))]
        assert _two_lines(words, breaks, max_chars, total / 2) == _search_lines(words, breaks, max_chars, 2, total / 2), words
        compared += 1
    assert compared > 1000
