"""Classify a recording as learning material or not, and which kind.

- ``chunks``: transcript and screen-text chunks, sampled and weighted.
- ``head``: the trained (or zero-shot) linear heads over sentence embeddings.
- ``visual_cues``: cues from frames or OCR samples (slides, code, whiteboard).
- ``classifier``: ``Classifier``, which combines them.
"""
