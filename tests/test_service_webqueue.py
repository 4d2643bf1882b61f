"""The web page's jobs through the service queue (``twintake serve --web``): the adapter the page
calls like ``make_video`` runs the job in a worker process of the pool, forwards progress, and
cancels."""

from __future__ import annotations

import threading

import pytest

from twintake.errors import Cancelled
from twintake.hooks import RecordingHook
from twintake.options import LipsyncOptions
from twintake.service.store import JobStore
from twintake.service.webqueue import QueuedJobs
from twintake.service.workers import WorkerPool


@pytest.fixture(scope="module")
def queue(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    store = JobStore(data / "jobs.sqlite3")
    pool = WorkerPool(store, data / "jobs", 1)
    pool.start()
    yield QueuedJobs(store, pool, data / "jobs"), store
    pool.stop()
    store.close()


@pytest.mark.slow
def test_page_job_runs_in_the_queue(queue, tiny_photo, tiny_speech, tmp_path):
    run, store = queue
    hook = RecordingHook()
    out = tmp_path / "v.mp4"
    res = run(tiny_photo, None, audio=tiny_speech, out=out, options=LipsyncOptions(enhance="none"), hook=hook)
    assert out.stat().st_size > 10_000
    assert res.render.frames >= 70 and abs(res.render.duration_s - 3.0) < 0.1 and res.render.width == 320
    assert abs(len(res.speech.samples) / res.speech.sample_rate_hz - 3.0) < 0.1
    assert "render" in hook.stages
    assert store.list("web", "video") == []  # the page keeps its own copy; the queue keeps nothing


def test_page_cancel_stops_the_queued_job(queue, tiny_photo, tiny_speech, tmp_path):
    run, store = queue
    cancel = threading.Event()

    def hook(stage, completed, total=None):
        cancel.set()  # the user presses Cancel as soon as the job shows progress

    with pytest.raises(Cancelled):
        run(tiny_photo, None, audio=tiny_speech, out=tmp_path / "v.mp4", hook=hook, cancel=cancel)
    assert not (tmp_path / "v.mp4").exists()
    assert store.list("web", "video") == []


@pytest.mark.slow
def test_mounted_page_makes_its_video_through_the_queue(tmp_path, tiny_photo, browser):
    """``twintake serve --web``: the page at /web (Chromium through Playwright) makes a video;
    while it renders, the job is a row of the service's store (owner ``web``) run by a worker."""
    import sqlite3
    import sys
    import time

    from .webtools import Server, free_port

    pytest.importorskip("fastapi")
    port = free_port()
    data = tmp_path / "data"
    server = Server([sys.executable, "-m", "twintake.cli", "serve", "--port", str(port), "--data", str(data),
                     "--web"], tmp_path, port, env={"TWINTAKE_API_KEYS": "k"}, ready="web/", group=True)
    try:
        url = server.url + "web/"
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url)
        page.wait_for_selector("#generate", timeout=60_000)
        page.locator("#source-upload input[type=file]").set_input_files(str(tiny_photo))
        page.wait_for_selector(f"#avatar-choice:has-text('{tiny_photo.name}')", timeout=60_000)
        page.locator("#speech-text textarea").fill("Hello there.")
        page.locator("#generate").click()
        seen = set()
        deadline = time.monotonic() + 300
        status = ""
        while time.monotonic() < deadline:
            with sqlite3.connect(data / "jobs.sqlite3", timeout=5) as db:
                seen |= {tuple(r) for r in db.execute("SELECT owner, status FROM jobs")}
            status = page.locator("#status").inner_text()
            if any(w in status for w in ("Done", "Error", "Cancelled")):
                break
            time.sleep(0.2)
        page.close()
        assert status.startswith("Done") and "Error" not in status, status
        assert ("web", "running") in seen, seen
    finally:
        server.stop()
