"""The stages a job runs: the graph (``graph``), what they share (``context``), the options
helper (``options``) and one module per stage (``subtitles``, ``ocr``, ``classify``, ``fit``)."""
