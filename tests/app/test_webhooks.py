"""Webhook URL rules and signatures (retries and their record: test_lifecycle.py)."""

from __future__ import annotations

import pytest

from app.exceptions import UrlNotAllowed
from app.jobs import Job, JobStatus, Source, StageState, StageStatus, new_job_id
from app.webhooks import WebhookDelivery, check_url, job_event, sign, verify
from tests.app.receiver import verify_lessonlens

SECRET = "s3cret"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hook", "http://localhost:8080/", "http://10.1.2.3/", "http://192.168.0.1/",
    "http://169.254.169.254/latest/meta-data", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/", "http://100.64.0.1/",
])
def test_private_addresses_refused_unless_allowed(url: str) -> None:
    with pytest.raises(UrlNotAllowed, match="private, loopback or reserved"):
        check_url(url, allow_private=False)
    assert check_url(url, allow_private=True) == url


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "example.com/hook", "http://",
                                 "http://[bad/", "https://" + "a" * 3000 + ".com/"])
def test_malformed_urls_refused(url: str) -> None:
    with pytest.raises(UrlNotAllowed):
        check_url(url, allow_private=True)


def test_public_literal_address_accepted() -> None:
    assert check_url("https://8.8.8.8/hook", allow_private=False)


def test_delivery_needs_a_secret_and_validates_in_constructor() -> None:
    with pytest.raises(UrlNotAllowed, match="LESSONLENS_WEBHOOK_SECRET"):
        WebhookDelivery("https://8.8.8.8/", "")
    with pytest.raises(UrlNotAllowed):
        WebhookDelivery("http://127.0.0.1/", SECRET)


def test_signature_matches_the_documented_recipe_and_rejects_tampering() -> None:
    body = b'{"a":1}'
    sig = sign(SECRET, 1_700_000_000, body)
    headers = {"X-Lessonlens-Timestamp": "1700000000", "X-Lessonlens-Signature": sig}
    assert verify(SECRET, "1700000000", sig, body, now=1_700_000_010)
    assert not verify(SECRET, "1700000000", sig, b'{"a":2}', now=1_700_000_010)
    assert not verify("other", "1700000000", sig, body, now=1_700_000_010)
    assert not verify(SECRET, "1700000000", sig, body, now=1_700_001_000)  # too old: replay
    assert not verify_lessonlens(SECRET, headers, body)  # the README snippet checks freshness too
    delivery = WebhookDelivery("https://8.8.8.8/", SECRET, resolve=False)
    event = job_event(_finished_job())
    fresh = delivery.headers(event, 1)
    assert verify_lessonlens(SECRET, fresh, event.body)


def _finished_job(webhook: str | None = None) -> Job:
    return Job(id=new_job_id(), owner="a", source=Source("upload", "/x", "x.mp4"), stages=("subtitles",),
               options={}, status=JobStatus.SUCCEEDED, webhook_url=webhook,
               stage_states={"subtitles": StageState(StageStatus.SUCCEEDED, 1.0, seconds=2.0,
                                                     files=("subtitles.srt",))})
