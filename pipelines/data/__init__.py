"""Data files shipped with the pipelines (the trained classifier head)."""
