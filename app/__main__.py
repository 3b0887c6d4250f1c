"""``python -m app`` runs the lessonlens command line."""

from app.cli import main

main()
