"""The languages a fit knows, checked before any fitting starts.

Every language code Whisper knows can be fitted (the subtitles stage hears no other, and its cues
say which one they are in): extractive trims and, for languages other than English, the
multilingual e5 meaning check (``pipelines.fit.sentence``). German, English, Spanish, French and
Italian also have shortening rules (``pipelines.fit.rules``); speaking mode needs a language's mean
syllable rate (``pipelines.fit.estimates.SYLLABLE_RATES``) or a calibrated one. A code outside
these ("english", "zz") would be fitted by trims alone, in silence, as if it were a language:
``fit_language`` refuses it instead.
"""

from __future__ import annotations

from pipelines.asr import whisper_languages
from pipelines.exceptions import OptionsError, UnsupportedLanguageError
from pipelines.fit.estimates import normalize_language
from pipelines.fit.rules import RULE_LANGUAGES


def fit_language(language: str) -> str:
    """The base code of ``language`` (``en-GB`` -> ``en``, ``deu`` -> ``de``), a language the fit knows.

    Raises:
        UnsupportedLanguageError: not a language code Whisper knows; the message names the
            supported codes, those with shortening rules first.
    """
    try:
        base = normalize_language(language)
    except OptionsError:
        base = ""
    known = whisper_languages()
    if base in known:
        return base
    trims_only = sorted(known - RULE_LANGUAGES)
    raise UnsupportedLanguageError(
        f"Unknown fit language {language!r}: give a language code (a region such as 'en-GB' is fine). "
        f"Supported: {', '.join(sorted(RULE_LANGUAGES))} (shortening rules and trims) and, with trims only, "
        f"{', '.join(trims_only)}."
    )
