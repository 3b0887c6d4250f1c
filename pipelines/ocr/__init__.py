"""OCR of screen text: sample frames, spot changed regions, read them, track text over time.

- ``frames``: frame sampling and change detection.
- ``engines``: the OCR engines (RapidOCR, EasyOCR) behind one Protocol.
- ``tracking``: links readings across frames into timed text events.
- ``reader``: ``run_ocr``, the stage that ties them together, and ``read_image``.
- ``band``, ``captions`` (with ``caption_options``, ``caption_layer``, ``caption_tracker``), ``caption_edges``,
  ``caption_cues``: burned-in captions (the band, its text
  layer, each caption's start and end checked by recognition, the cues).
- ``scripts``: other scripts re-read by Tesseract, or flagged.
"""
