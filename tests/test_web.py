"""The web app: its helpers, and the page driven in a real browser (Debian's Chromium through
Playwright), as a user would: upload a video, type text, generate, watch the result."""

import os
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from twintake.errors import MediaError

from .conftest import MEDIA
from .webtools import Server, free_port

VIDEO = MEDIA / "video" / "vretalking_face2.mp4"


# --------------------------------------------------------------------------- helpers (no browser)


def test_stage_tracker_reports_stage_count_and_time_left():
    from twintake.web.session import StageTracker

    now = [0.0]
    tracker = StageTracker(clock=lambda: now[0])
    tracker.update("track", 0, 100)
    now[0] = 2.0
    fraction, label = tracker.update("track", 50, 100)
    assert label.startswith("tracking 50/100")
    assert "about 2 s left" in label  # 50 items in 2 s -> 50 more in 2 s
    now[0] = 4.0
    done_tracking, _ = tracker.update("track", 100, 100)
    fraction_r, label_r = tracker.update("render", 10, 200)
    assert label_r.startswith("rendering 10/200")
    assert 0 < fraction < done_tracking <= fraction_r < 1.0


def test_check_upload_refuses_paths_outside_the_upload_folder(tmp_path):
    from twintake.web.session import VIDEO_TYPES, check_upload

    root = tmp_path / "uploads"
    root.mkdir()
    inside = root / "a.mp4"
    inside.write_bytes(b"x" * 10)
    assert check_upload(str(inside), VIDEO_TYPES, "a video", root, 1) == inside.resolve()
    with pytest.raises(MediaError, match="did not come from an upload"):
        check_upload(str(VIDEO), VIDEO_TYPES, "a video", root, 1000)
    with pytest.raises(MediaError, match="did not come from an upload"):
        check_upload(str(root / ".." / "x.mp4"), VIDEO_TYPES, "a video", root, 1000)
    wrong = root / "notes.txt"
    wrong.write_text("hello")
    with pytest.raises(MediaError, match="is not a video"):
        check_upload(str(wrong), VIDEO_TYPES, "a video", root, 1)
    big = root / "big.mp4"
    big.write_bytes(b"x" * (2 * 2**20))
    with pytest.raises(MediaError, match="over the 1 MB upload limit"):
        check_upload(str(big), VIDEO_TYPES, "a video", root, 1)


def test_avatar_name_is_a_safe_folder_name():
    from twintake.web.session import avatar_name

    assert avatar_name("  Anna B. ") == "Anna-B"
    assert avatar_name("../../etc/passwd") == "etc-passwd"
    assert avatar_name("سارة") == "سارة"
    with pytest.raises(MediaError):
        avatar_name("../")


def test_gallery_lists_avatars_with_thumbnails_and_skips_damaged_ones(tmp_path):
    import cv2

    import twintake
    from twintake.web.session import gallery_items

    photo = MEDIA / "portrait" / "avg_man1.jpg"
    if not photo.is_file():
        pytest.skip("shared media not found")
    avatars = tmp_path / "avatars"
    avatars.mkdir()
    twintake.Avatar.prepare(photo, avatars / "sam")
    (avatars / "broken").mkdir()
    (avatars / "broken" / "avatar.json").write_text("{not json")
    (avatars / "not-an-avatar").mkdir()
    items = gallery_items(avatars, tmp_path / "thumbs")
    assert [(i.name, i.kind) for i in items] == [("sam", "photo")]
    assert items[0].caption == "sam · photo"
    thumb = cv2.imread(str(items[0].thumbnail))
    assert thumb is not None and max(thumb.shape[:2]) == 256
    assert not any(p.suffix == ".jpg" for p in (avatars / "sam").iterdir() if p.name != "source.jpg")


def test_web_cli_refuses_a_malformed_login():
    from typer.testing import CliRunner

    from twintake.cli import app

    r = CliRunner().invoke(app, ["web", "--auth", "justaname"])
    assert r.exit_code == 2 and "user:password" in r.output


# --------------------------------------------------------------------------- the page in a browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("gradio")
    if not VIDEO.is_file():
        pytest.skip("shared media not found")
    work = tmp_path_factory.mktemp("web")
    port = free_port()
    running = Server([sys.executable, "-m", "twintake.cli", "web", "--port", str(port), "--avatars",
                      str(work / "avatars")], work, port)
    yield running.url
    running.stop()


@pytest.fixture
def page(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(server)
    page.wait_for_selector("#generate", timeout=60_000)
    yield page
    page.close()


def _upload_source(page, path: Path) -> None:
    page.locator("#source-upload input[type=file]").set_input_files(str(path))
    page.wait_for_selector(f"#avatar-choice:has-text('{path.name}')", timeout=60_000)


def _wait_status(page, words: tuple[str, ...], timeout_s: float) -> str:
    """Wait until the status line contains one of ``words``; return its text."""
    js = "(words) => { const s = document.querySelector('#status'); " \
         "return s && words.some(w => s.innerText.includes(w)); }"
    page.wait_for_function(js, arg=list(words), timeout=timeout_s * 1000)
    return page.locator("#status").inner_text()


def test_page_makes_a_video_of_typed_text(page, tmp_path):
    _upload_source(page, VIDEO)
    page.locator("#speech-text textarea").fill("Hello there. This video was made in the browser, on the CPU.")
    page.locator("#generate").click()
    status = _wait_status(page, ("Done", "Error", "Cancelled"), timeout_s=600)
    assert status.startswith("Done"), status
    page.wait_for_function("() => { const v = document.querySelector('#result-video video'); "
                           "return v && v.src && v.readyState >= 1 && isFinite(v.duration); }", timeout=60_000)
    video_s = page.evaluate("() => document.querySelector('#result-video video').duration")
    # the speech on its own, downloaded through the page's own download link
    href = page.locator("#result-audio a.download-link").get_attribute("href")
    wav = tmp_path / "speech.wav"
    wav.write_bytes(page.request.get(href).body())  # the visitor's own cookie: only they may download it
    with wave.open(str(wav)) as f:
        speech_s = f.getnframes() / f.getframerate()
    assert speech_s > 2.0  # ~11 words of speech
    assert abs(video_s - speech_s) <= 0.1 * speech_s, (video_s, speech_s)
    assert "Traceback" not in page.content()
    shot = os.environ.get("TWINTAKE_WEB_SCREENSHOT") or str(tmp_path / "web.png")
    page.screenshot(path=shot, full_page=True)


def test_page_shows_one_readable_error_for_a_photo_without_a_face(page, tmp_path):
    import cv2

    # a landscape: sky gradient, ground, a sun; no face anywhere
    h, w = 360, 480
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :, 0] = np.linspace(255, 120, h)[:, None]
    img[:, :, 1] = np.linspace(200, 160, h)[:, None]
    img[:, :, 2] = 90
    img[240:] = (40, 140, 60)
    cv2.circle(img, (380, 80), 40, (60, 220, 255), -1)
    photo = tmp_path / "landscape.png"
    cv2.imwrite(str(photo), img)
    _upload_source(page, photo)
    page.locator("#speech-text textarea").fill("Hello.")
    page.locator("#generate").click()
    status = _wait_status(page, ("Done", "Error", "Cancelled"), timeout_s=120)
    assert status.startswith("Error"), status
    assert "no face" in status.lower()
    assert "Traceback" not in page.content()
    assert page.evaluate("() => { const v = document.querySelector('#result-video video'); "
                         "return !(v && v.src); }")


def test_cancel_stops_the_job_and_frees_the_worker(page):
    _upload_source(page, VIDEO)
    text = " ".join(["This is a long text that keeps the renderer busy for a while."] * 6)
    page.locator("#speech-text textarea").fill(text)
    page.locator("#generate").click()
    page.wait_for_timeout(3000)
    page.locator("#cancel").click()
    status = _wait_status(page, ("Cancelled", "Done", "Error"), timeout_s=120)
    assert status.startswith("Cancelled"), status
    # the worker is free again: an empty text is refused at once instead of waiting in the queue
    page.locator("#speech-text textarea").fill("")
    page.locator("#generate").click()
    status = _wait_status(page, ("Error",), timeout_s=30)
    assert "text is empty" in status
