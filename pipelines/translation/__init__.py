"""The translation round trip: a job's cues and on-screen texts out as XLIFF, translations back in.

- ``units``: what a translator gets (one unit per cue and per distinct on-screen text, with
  context notes and a length limit from the slot and the style profile).
- ``xliff``: XLIFF 2.1 / 1.2 writing, reading and schema validation (schemas in ``schemas/``).
- ``languages``: the language on-screen text is written in, from its script (jobs without speech).
- ``targets``: a translated XLIFF, SRT or WebVTT file checked against the job's units.
- ``merge``: the targets fitted to their slots (the sentence fitter) with a report per cue.
- ``preview``: a preview video with the target subtitles burned in.
- ``pseudo``: scripted pseudo-translations for tests and benchmarks.
"""
