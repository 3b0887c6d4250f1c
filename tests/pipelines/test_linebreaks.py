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
