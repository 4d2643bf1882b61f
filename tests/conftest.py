"""Shared fixtures.

Two kinds of media:
- tiny files in ``tests/data`` (part of the repository; made by ``tests/data/make_test_media.py``):
  ``tiny_video``, ``tiny_photo``, ``tiny_speech``. Tests using only these never skip.
- real media from ``../shared/media`` (never copied into the repo): the ``media`` fixture, which
  skips the test when that folder is absent.

The long end-to-end tests are marked ``slow`` here (see ``SLOW``), so that
``pytest -m "not slow"`` is a quick subset.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
MEDIA = TESTS.parents[1] / "shared" / "media"

#: Node-id prefixes (relative to the repository root) of the tests marked ``slow``: the ones that
#: took more than ~8 s each on 2 shared cores (``pytest --durations``). A prefix may name a
#: whole file, a test, or a test with its parameters.
SLOW = frozenset({
    "tests/test_xtts.py",  # 70 s: a tiny random XTTS-v2 built and loaded (real-size decoder), 4 CLI runs
    "tests/test_avatar_create.py",  # 90 s: a tiny random SD pipeline built, loaded and run, face filter
    "tests/test_web_create.py::test_create_makes_the_avatar_and_selects_it_in_the_gallery",  # 130 s: server, tiny SD
    "tests/test_xtts_prepare.py",  # 45 s + 90 s: a tiny random XTTS-v2 built; prepare and say with it
    "tests/test_wav2lip.py::test_eval_puts_wav2lip_in_the_same_table",  # 14 s: two methods evaluated
    "tests/test_wav2lip.py::test_lipsync_end_to_end",  # 10 s: render + the source prepared for the check
    "tests/test_avatar.py::test_round_trip_gives_the_same_frames_as_one_shot",  # 30 s
    "tests/test_avatar.py::test_photo_avatar_prepare_and_say",  # 9 s
    "tests/test_enhance.py::test_avatar_defaults_end_to_end",  # 20 s
    "tests/test_eval_protocol.py",  # 42 s: every test shares a ~21 s evaluation per video
    "tests/test_fps_option.py::test_fps_50_doubles_frames_and_keeps_duration",  # 24 s
    "tests/test_lipsync.py",  # 44 s: a 21 s render shared by the file, then 10 s and 8 s tests
    # a ~8-12 s photo render per portrait, shared by these
    "tests/test_photo.py::test_output_matches_speech",
    "tests/test_photo.py::test_mouth_opening_follows_loudness",
    "tests/test_photo.py::test_blinks",
    "tests/test_photo.py::test_background_stays",
    "tests/test_photo.py::test_open_mouth_shows_teeth_over_dark_cavity",
    "tests/test_tts.py::test_mixed_text_both_languages",  # 23 s
    "tests/test_tts.py::test_arabic_kokoro_tts",  # 15 s
    "tests/test_tts.py::test_english_tts_audio_and_timings",  # 11 s
    "tests/test_tts.py::test_arabic_digits_spoken",  # 10 s
    "tests/test_tts.py::test_arabic_kokoro_voice_packs",  # 9 s
    "tests/test_tts.py::test_arabic_tts",  # 8.5 s
    "tests/test_tts.py::test_speed_changes_duration",  # 8 s (11 s once the tests above are skipped)
    "tests/test_voice.py::test_speaker_similarity_improves",  # 22 s
    "tests/test_voice.py::test_conversion_keeps_intelligibility",  # 21 s
    "tests/test_voice.py::test_synthesize_with_voice_keeps_timings",  # 15 s
    "tests/test_voice.py::test_conversion_adds_no_high_band_hiss",  # 11 s
    "tests/test_voice.py::test_conversion_moves_f0_to_reference",  # 11 s (+6 s set-up)
    # the browser tests: an 11 s web-server start, then a render each (skip without chromium)
    "tests/test_web.py::test_page_makes_a_video_of_typed_text",
    "tests/test_web.py::test_page_shows_one_readable_error_for_a_photo_without_a_face",
    "tests/test_web.py::test_cancel_stops_the_job_and_frees_the_worker",
    # the page under real use (issue 19): a job each, watched and cancelled in Chromium
    "tests/test_web_visits.py::test_long_text_is_refused_before_it_queues",  # 11 s server start
    "tests/test_web_visits.py::test_second_visitor_sees_queue_position_and_wait",
    "tests/test_web_visits.py::test_progress_is_shown_next_to_the_buttons_during_speech",
    "tests/test_web_visits.py::test_cancel_during_speech_synthesis_within_a_second",
    "tests/test_web_visits.py::test_files_are_private_and_deleted_when_the_visit_ends",  # waits for the sweep
    "tests/test_video_report.py",  # 16 s
    # text to video, streamed: TTS of six sentences and a render each (~10-25 s)
    "tests/test_streaming.py::test_rendering_starts_before_the_speech_is_finished",
    "tests/test_streaming.py::test_streamed_speech_carries_one_continuous_audio_mark",
    "tests/test_streaming.py::test_whole_and_streamed_speech_have_the_same_length",
})


def _data_file(name: str) -> Path:
    p = DATA / name
    if not p.is_file():  # fail, never skip: these files are part of the repository
        raise FileNotFoundError(f"{p} is missing; regenerate it with tests/data/make_test_media.py")
    return p


@pytest.fixture(scope="session")
def tiny_video() -> Path:
    """2.4 s talking video, 320x320 at 25 fps (60 frames), H.264 + mono AAC 16 kHz."""
    return _data_file("tiny_talk.mp4")


@pytest.fixture(scope="session")
def tiny_photo() -> Path:
    """320x320 JPEG portrait, one frontal face ~120 px wide."""
    return _data_file("tiny_portrait.jpg")


@pytest.fixture(scope="session")
def tiny_speech() -> Path:
    """3.0 s of English speech, mono 16 kHz 16-bit WAV."""
    return _data_file("tiny_speech.wav")


@pytest.fixture(scope="session")
def media() -> Path:
    if not (MEDIA / "MANIFEST.tsv").is_file():
        pytest.skip(f"shared test media not found at {MEDIA}")
    return MEDIA


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Keep the tests' cache apart from the user's."""
    old = os.environ.get("TWINTAKE_CACHE")
    os.environ["TWINTAKE_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("TWINTAKE_CACHE", None)
    else:
        os.environ["TWINTAKE_CACHE"] = old


@pytest.fixture
def config_home(tmp_path, monkeypatch) -> Path:
    """A fresh ``XDG_CONFIG_HOME`` for the test (the provenance signing key and the neural
    backends' first-use licence notices live there); returns the folder."""
    folder = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder


@pytest.fixture(scope="module")
def xtts_dir(tmp_path_factory) -> Path:
    """A tiny randomly initialised XTTS-v2 checkpoint folder in the published layout
    (:func:`tests.neural_models.build_tiny_xtts`); skips without coqui-tts."""
    pytest.importorskip("TTS")
    from .neural_models import build_tiny_xtts

    return build_tiny_xtts(tmp_path_factory.mktemp("xtts") / "XTTS-v2")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, through Playwright (the web page's tests); skips without them."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    pytest.importorskip("gradio")
    from .webtools import launch_chromium

    with playwright_api.sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


def _is_slow(nodeid: str) -> bool:
    for prefix in SLOW:
        if nodeid == prefix or nodeid.startswith((prefix + "[", prefix + "::")):
            return True
    return False


def pytest_collection_modifyitems(config, items):
    for item in items:
        # compare ids relative to the repository root, whatever folder pytest was started from
        try:
            rel = Path(item.path).resolve().relative_to(TESTS.parent).as_posix()
        except ValueError:
            continue
        nodeid = "::".join([rel, *item.nodeid.split("::")[1:]])
        if _is_slow(nodeid):
            item.add_marker(pytest.mark.slow)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64) - np.mean(a)
    b = np.asarray(b, np.float64) - np.mean(b)
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-12))
