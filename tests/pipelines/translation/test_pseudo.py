"""Pseudo-translations: as long as asked, deterministic, source words kept."""

from __future__ import annotations

import pytest

from pipelines.translation.pseudo import PADDING, pseudo_translate

TEXT = "First, open the settings page and choose security."


@pytest.mark.parametrize(("language", "style"), [("de", "padding"), ("fr", "padding"), ("de", "stretch")])
def test_thirty_percent_longer_and_repeatable(language: str, style: str) -> None:
    out = pseudo_translate(TEXT, language, 1.3, style, seed="cue-0003")  # type: ignore[arg-type]
    assert len(out) >= round(len(TEXT) * 1.3) and len(out) <= round(len(TEXT) * 1.3) + 20
    assert out == pseudo_translate(TEXT, language, 1.3, style, seed="cue-0003")  # type: ignore[arg-type]
    if style == "padding":
        assert [w for w in out.split() if w in TEXT.split()] == TEXT.split()  # source words, in order
        assert out.startswith("First,")
        assert any(p in out for p in PADDING[language])
    else:
        assert len(out.split()) == len(TEXT.split())


def test_unknown_padding_language() -> None:
    with pytest.raises(ValueError, match="no padding words for 'ja'"):
        pseudo_translate(TEXT, "ja")
