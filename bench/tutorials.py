"""Generated software tutorials whose narration reads out the UI labels and names on screen.

Each tutorial is a few slides (a title and UI labels drawn as bullets) narrated by espeak-ng,
built with ``samples.make_samples.make_lesson``. ``TERMS`` of a slide are what is both on screen
and said: the words the subtitles should spell exactly as the screen does.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

TUTORIALS: list[list[dict[str, object]]] = [
    [
        {"title": "Exporting Reports", "bullets": ["Grafana", "Date Range", "Export as PDF"],
         "narration": "Open Grafana and choose a date range. Then press Export as PDF to save the report.",
         "terms": ["Grafana", "Export as PDF"]},
        {"title": "Sharing a Dashboard", "bullets": ["Share Link", "Snapshot", "Copy URL"],
         "narration": "To share it, click Share Link, open the Snapshot tab and press Copy URL.",
         "terms": ["Share Link", "Snapshot", "Copy URL"]},
    ],
    [
        {"title": "Your First Notebook", "bullets": ["JupyterLab", "Python 3 (ipykernel)", "Restart Kernel"],
         "narration": "Start JupyterLab and pick the ipykernel. If it hangs, choose Restart Kernel.",
         "terms": ["JupyterLab", "ipykernel", "Restart Kernel"]},
        {"title": "Installing Packages", "bullets": ["pip install numpy", "NumPy", "PyPI"],
         "narration": "Packages come from PyPI. Install NumPy with pip, then import it.",
         "terms": ["PyPI", "NumPy"]},
    ],
    [
        {"title": "Deploying the App", "bullets": ["Kubernetes", "Helm Chart", "kubectl apply"],
         "narration": "We deploy on Kubernetes with a Helm Chart. Check the pods with kubectl.",
         "terms": ["Kubernetes", "Helm Chart", "kubectl"]},
        {"title": "Single Sign-On", "bullets": ["OAuth", "Client ID", "Redirect URI"],
         "narration": "Set up OAuth: paste the Client ID, then add the Redirect URI.",
         "terms": ["OAuth", "Client ID", "Redirect URI"]},
    ],
    [
        {"title": "Nightly Backups", "bullets": ["PostgreSQL", "pg_dump", "Nextcloud"],
         "narration": "Every night PostgreSQL is saved with pg_dump, and the file goes to Nextcloud.",
         "terms": ["PostgreSQL", "Nextcloud"]},
        {"title": "Restoring Data", "bullets": ["Restore Backup", "Confirm", "GitHub Issues"],
         "narration": "To restore, press Restore Backup and Confirm. Report problems in GitHub Issues.",
         "terms": ["Restore Backup", "Confirm", "GitHub Issues"]},
    ],
]


def build(out: Path) -> list[tuple[Path, list[dict[str, object]]]]:
    """The tutorial videos in ``out`` (made once) with their slides (times and terms)."""
    from samples.make_samples import make_lesson

    out.mkdir(parents=True, exist_ok=True)
    made = []
    for n, slides in enumerate(TUTORIALS):
        video, meta = out / f"tutorial{n}.mp4", out / f"tutorial{n}.json"
        if not (video.exists() and meta.exists()):
            with tempfile.TemporaryDirectory() as tmp:
                ref = make_lesson(out, Path(tmp), slides, video.name)
            for slide, spec in zip(ref["slides"], slides, strict=True):  # type: ignore[call-overload]
                slide["terms"] = spec["terms"]
            meta.write_text(json.dumps(ref))
        made.append((video, json.loads(meta.read_text())["slides"]))
    return made
