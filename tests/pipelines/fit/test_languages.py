"""The languages a fit knows: every code Whisper knows (rules for five), nothing else."""

from __future__ import annotations

import re

import pytest

from pipelines.asr import whisper_languages
from pipelines.exceptions import UnsupportedLanguageError
from pipelines.fit.languages import fit_language
from pipelines.fit.rules import RULE_LANGUAGES, rule_candidates


@pytest.mark.parametrize(("language", "base"), [("en", "en"), ("en-GB", "en"), ("DE", "de"), ("deu", "de"),
                                                 ("pt_BR", "pt"), ("ko", "ko"), ("yue", "yue")])
def test_a_language_code_whisper_knows_is_fitted(language: str, base: str) -> None:
    assert fit_language(language) == base


@pytest.mark.parametrize("language", ["english", "zz", "", "  ", "en GB", "xx-YY"])
def test_anything_else_is_refused_naming_the_supported_codes(language: str) -> None:
    """Before, "english" and "zz" were fitted by trims alone: the text came back unchanged."""
    with pytest.raises(UnsupportedLanguageError) as refused:
        fit_language(language)
    message = str(refused.value)
    assert message.startswith(f"Unknown fit language {language!r}: give a language code")
    assert "de, en, es, fr, it (shortening rules and trims)" in message
    assert set(re.findall(r"\b[a-z]{2,3}\b", message.split("Supported: ")[1])) >= whisper_languages()


def test_the_rule_languages_are_those_with_rules() -> None:
    assert sorted(RULE_LANGUAGES) == ["de", "en", "es", "fr", "it"]
    assert whisper_languages() >= RULE_LANGUAGES
    assert rule_candidates("In order to see it, we do this.", "en")
    assert rule_candidates("In order to see it, we do this.", "ko") == []  # trims only
