"""Pure processing stages of lessonlens: media, speech, subtitles, OCR, classification, fitting.

Nothing here reads environment variables or knows about HTTP or jobs; callers pass options
and paths in and get dataclasses back.
"""
