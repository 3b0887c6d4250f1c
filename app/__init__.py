"""The lessonlens service: settings, CLI, job API, workers, webhooks, web page."""
