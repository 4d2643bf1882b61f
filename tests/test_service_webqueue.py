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
def test_mounted_page_makes_its_video_through_the_queue(tmp_path, tiny_photo):
    """``twintake serve --web``: the page at /web (Chromium through Playwright) makes a video;
    while it renders, the job is a row of the service's store (owner ``web``) run by a worker."""
    import os
    import socket
    import sqlite3
    import subprocess
    import sys
    import time
    from pathlib import Path

    pytest.importorskip("gradio")
    pytest.importorskip("fastapi")
    playwright_api = pytest.importorskip("playwright.sync_api")
    chromium = Path("/usr/bin/chromium")
    if not chromium.is_file():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path / "data"
    env = {**os.environ, "TWINTAKE_API_KEYS": "k", "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([sys.executable, "-m", "twintake.cli", "serve", "--port", str(port), "--data", str(data),
                             "--web"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/web/"
        deadline = time.monotonic() + 120
        import urllib.request

        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve --web did not start"
                time.sleep(0.5)
        with playwright_api.sync_playwright() as p:
            b = p.chromium.launch(executable_path=str(chromium), args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update"])
            page = b.new_page(viewport={"width": 1400, "height": 1100})
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
            b.close()
        assert status.startswith("Done") and "Error" not in status, status
        assert ("web", "running") in seen, seen
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
