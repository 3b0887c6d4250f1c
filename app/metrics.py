"""Prometheus metrics of one app instance (own registry, so several apps can live in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from app.jobs import Job, StageStatus
from app.jobs import WebhookDeliveryRecord as Delivery

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_STAGE_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class Metrics:
    """Counters and histograms the API, the workers and the webhook dispatcher update."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Histogram("lessonlens_http_request_seconds", "HTTP request latency.",
                                  ["method", "route", "status"], buckets=_LATENCY_BUCKETS, registry=r)
        self.submitted = Counter("lessonlens_jobs_submitted_total", "Jobs accepted.", ["source"], registry=r)
        self.finished = Counter("lessonlens_jobs_finished_total", "Jobs finished.", ["status"], registry=r)
        self.stage_seconds = Histogram("lessonlens_stage_seconds", "Stage run time.", ["stage", "status"],
                                       buckets=_STAGE_BUCKETS, registry=r)
        self.source_seconds = Histogram("lessonlens_submit_source_seconds",
                                        "Submit: receiving and probing the media or checking a URL (waiting included).",
                                        ["kind"], buckets=_LATENCY_BUCKETS, registry=r)
        self.webhooks = Counter("lessonlens_webhook_attempts_total", "Webhook delivery attempts.",
                                ["outcome"], registry=r)
        self.queue_depth = Gauge("lessonlens_queue_depth", "Job ids waiting for a worker.", registry=r)
        self.workers_busy = Gauge("lessonlens_workers_busy", "Workers running a job.", registry=r)

    def job_finished(self, job: Job) -> None:
        self.finished.labels(job.status.value).inc()
        for name, state in job.stage_states.items():
            if state.seconds is not None and state.status in (StageStatus.SUCCEEDED, StageStatus.SKIPPED):
                self.stage_seconds.labels(name, state.status.value).observe(state.seconds)

    def webhook_attempt(self, record: Delivery) -> None:
        self.webhooks.labels("ok" if record.ok else "error").inc()
