"""Fit: make a sentence, or a subtitle file's cues, readable (or speakable) in the time it has.

- ``estimates``: how long a text takes to read or to say (the reading-speed rule lives here).
- ``rules``: shortening rules (phrases, fillers, contractions, digits, hedges; trims, deletions).
- ``sentence``: ``SentenceFitter`` ranks rule, trim, deletion and LM candidates for one sentence.
- ``subtitle_file``: fits every cue of an SRT/WebVTT file.
- ``lm``: the language model's Protocol and ``load_lm``, which picks a runtime:
  ``lm_llamacpp`` (llama.cpp) or ``lm_ctranslate2`` (CTranslate2); both share ``lm_prompt``.
- ``lm_convert``: builds the LM's runtime files at install time.
"""
