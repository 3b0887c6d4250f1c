"""Webhook URL rules, signatures, and background delivery with retries to a real local receiver."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.exceptions import UrlNotAllowed
from app.jobs import Job, JobStatus, Source, StageState, StageStatus, new_job_id
from app.store import SqlJobStore
from app.webhooks import WebhookDelivery, WebhookDispatcher, check_url, job_event, sign, verify
from tests.app.receiver import Receiver, verify_lessonlens
from tests.app.server_proc import wait_for

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


def test_dispatcher_retries_after_500_and_logs_every_attempt(tmp_path: Path) -> None:
    store = SqlJobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    with Receiver(SECRET, statuses=[500, 500]) as receiver:
        created = store.create(_finished_job(receiver.url))[0]
        job = store.finish(created.id, JobStatus.SUCCEEDED)
        assert job is not None
        dispatcher = WebhookDispatcher(store, SECRET, tries=4, backoff_s=0.05, allow_private=True)
        dispatcher.job_finished(job)  # as the start-up recovery does ...
        dispatcher.start()  # ... and start() picks up pending events too: still one delivery chain
        try:
            final = wait_for(lambda: (j := store.get(job.id)) and j.webhook_state == "delivered" and j,
                             10, "webhook delivery")
        finally:
            dispatcher.stop()
    assert [d.status_code for d in final.deliveries] == [500, 500, 200]
    assert [d.ok for d in final.deliveries] == [False, False, True]
    ids = {r["headers"]["X-Lessonlens-Event-Id"] for r in receiver.received}
    assert ids == {f"evt_{job.id}_succeeded"}
    assert all(r["valid"] for r in receiver.received)
    assert receiver.received[-1]["body"]["data"]["stages"]["subtitles"]["files"] == ["subtitles.srt"]
    store.close()


def test_dispatcher_gives_up_after_the_configured_tries(tmp_path: Path) -> None:
    store = SqlJobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    with Receiver(SECRET, statuses=[503] * 10) as receiver:
        created = store.create(_finished_job(receiver.url))[0]
        job = store.finish(created.id, JobStatus.SUCCEEDED)
        assert job is not None
        dispatcher = WebhookDispatcher(store, SECRET, tries=3, backoff_s=0.02, allow_private=True)
        dispatcher.start()
        try:
            final = wait_for(lambda: (j := store.get(job.id)) and j.webhook_state == "failed" and j,
                             10, "webhook give-up")
        finally:
            dispatcher.stop()
    assert len(final.deliveries) == 3 and len(receiver.received) == 3
    assert final.status == JobStatus.SUCCEEDED  # delivery never changes the job
    store.close()
