"""Bad input gets one clear error, and no output file (or temp file) is left behind."""

from __future__ import annotations

import os
import threading

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

import twintake
from twintake.cli import app
from twintake.media import VideoWriter, iter_frames, write_wav

VIDEO = "video/vretalking_face2.mp4"
SPEECH = "speech_en/realthreed_obama_5s.wav"


def _nothing_written(folder, name="out.mp4"):
    return not (folder / name).exists() and not any(p.name.startswith(".") for p in folder.iterdir())


@pytest.fixture()
def outdir(tmp_path):
    d = tmp_path / "out"
    d.mkdir()
    return d


def test_not_a_media_file(media, outdir, tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is text, not a video")
    with pytest.raises(twintake.MediaError, match="notes.mp4"):
        twintake.lipsync(bad, media / SPEECH, outdir / "out.mp4")
    assert _nothing_written(outdir)


def test_corrupt_video(media, outdir, tmp_path):
    bad = tmp_path / "cut.mp4"
    bad.write_bytes((media / VIDEO).read_bytes()[:20000])
    with pytest.raises(twintake.MediaError, match="cut.mp4"):
        twintake.lipsync(bad, media / SPEECH, outdir / "out.mp4")
    assert _nothing_written(outdir)


def test_video_without_video_stream(media, outdir):
    with pytest.raises(twintake.MediaError, match="no video stream"):
        twintake.lipsync(media / SPEECH, media / SPEECH, outdir / "out.mp4")
    assert _nothing_written(outdir)


def test_speech_without_audio(media, outdir):
    with pytest.raises(twintake.MediaError, match="no audio stream"):
        twintake.lipsync(media / VIDEO, media / "video/musetalk_sun.mp4", outdir / "out.mp4")
    assert _nothing_written(outdir)


def test_silent_speech(media, outdir, tmp_path):
    wav = tmp_path / "silence.wav"
    write_wav(wav, np.zeros(16000 * 2, np.float32), 16000)
    with pytest.raises(twintake.SpeechError, match="silent"):
        twintake.lipsync(media / VIDEO, wav, outdir / "out.mp4")
    with pytest.raises(twintake.SpeechError, match="silent"):  # an all-zero audio track
        twintake.lipsync(media / VIDEO, media / "video/liveportrait_d18.mp4", outdir / "out.mp4")
    assert _nothing_written(outdir)


def _write_video(path, frames, fps=25):
    h, w = frames[0].shape[:2]
    with VideoWriter(path, fps, w, h) as wr:
        for f in frames:
            wr.write(f)


def test_no_face_anywhere(media, outdir, tmp_path):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:240, 0:320]
    frames = []
    for i in range(20):
        img = np.stack([(x + 3 * i) % 256, (y * 2) % 256, np.full_like(x, 90)], -1).astype(np.uint8)
        frames.append(np.clip(img + rng.integers(0, 20, img.shape), 0, 255).astype(np.uint8))
    vid = tmp_path / "landscape.mp4"
    _write_video(vid, frames)
    with pytest.raises(twintake.NoFaceError, match=r"no face found in any of the 20 frames of .*landscape.mp4"):
        twintake.lipsync(vid, media / SPEECH, outdir / "out.mp4")
    assert _nothing_written(outdir)


def test_face_too_small(media, outdir, tmp_path):
    frames = []
    for f in iter_frames(media / VIDEO, stop=25):
        small = cv2.resize(f.image, (150, 150), interpolation=cv2.INTER_AREA)
        frames.append(cv2.copyMakeBorder(small, 165, 165, 245, 245, cv2.BORDER_CONSTANT, value=(40, 40, 40)))
    vid = tmp_path / "tiny_face.mp4"
    _write_video(vid, frames)
    with pytest.raises(twintake.NoFaceError, match="too small"):
        twintake.lipsync(vid, media / SPEECH, outdir / "out.mp4")
    assert _nothing_written(outdir)


def test_speech_longer_than_limit(media, outdir):
    opts = twintake.LipsyncOptions(max_duration_s=2.0)
    with pytest.raises(twintake.SpeechError, match="limit"):
        twintake.lipsync(media / VIDEO, media / SPEECH, outdir / "out.mp4", opts)
    assert _nothing_written(outdir)


def test_output_folder_missing_or_not_a_folder(media, tmp_path):
    with pytest.raises(twintake.OutputError, match="does not exist"):
        twintake.lipsync(media / VIDEO, media / SPEECH, tmp_path / "missing" / "out.mp4")
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(twintake.OutputError):
        twintake.lipsync(media / VIDEO, media / SPEECH, afile / "out.mp4")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_output_folder_not_writable(media, outdir):
    outdir.chmod(0o555)
    try:
        with pytest.raises(twintake.OutputError, match="not writable"):
            twintake.lipsync(media / VIDEO, media / SPEECH, outdir / "out.mp4")
    finally:
        outdir.chmod(0o755)


def test_interrupt_during_render_leaves_nothing(media, outdir):
    def hook(stage, done, total):
        if stage == "render" and done == 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        twintake.lipsync(media / VIDEO, media / SPEECH, outdir / "out.mp4", hook=hook)
    assert _nothing_written(outdir)


def test_cancel_event_leaves_nothing(media, outdir):
    cancel = threading.Event()

    def hook(stage, done, total):
        if stage == "render" and done == 5:
            cancel.set()

    with pytest.raises(twintake.Cancelled):
        twintake.lipsync(media / VIDEO, media / SPEECH, outdir / "out.mp4", hook=hook, cancel=cancel)
    assert _nothing_written(outdir)


def test_cli_prints_one_line_and_fails(media, outdir, tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("text")
    r = CliRunner().invoke(app, ["say", str(bad), "--audio", str(media / SPEECH), "-o", str(outdir / "out.mp4")])
    assert r.exit_code == 1
    lines = [ln for ln in r.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "notes.mp4" in lines[0]
    assert "Traceback" not in r.output
    assert _nothing_written(outdir)


@pytest.mark.parametrize("size", ["512", "512x", "0x512", "axb", "99999x512"])
def test_cli_bad_size_is_a_usage_error(media, outdir, size):
    r = CliRunner().invoke(app, ["say", str(media / "portrait/avg_man1.jpg"), "--audio", str(media / SPEECH),
                                 "--size", size, "-o", str(outdir / "out.mp4")])
    assert r.exit_code == 2
    assert "WIDTHxHEIGHT" in r.output and "Traceback" not in r.output
    assert _nothing_written(outdir)


def test_cli_size_crops_a_photo_to_that_size(media, outdir):
    out = outdir / "out.mp4"
    r = CliRunner().invoke(app, ["say", str(media / "portrait/avg_man1.jpg"), "--audio",
                                 str(media / "speech_en/ljspeech_lj001_0012.wav"), "--size", "320x240", "-q",
                                 "-o", str(out)])
    assert r.exit_code == 0, r.output
    info = twintake.media.probe(out)
    assert (info.video.width, info.video.height) == (320, 240)


def test_output_that_is_the_source_is_refused(media, outdir):
    import hashlib
    import shutil

    src = outdir / "mine.mp4"
    shutil.copy(media / VIDEO, src)
    before = hashlib.md5(src.read_bytes()).hexdigest()
    with pytest.raises(twintake.OutputError, match="own input file"):
        twintake.lipsync(src, media / SPEECH, src)
    assert hashlib.md5(src.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in outdir.iterdir()) == ["mine.mp4"]


@pytest.mark.slow
def test_sigterm_stops_the_cli_and_leaves_nothing(media, outdir):
    """`timeout`, `docker stop` and systemd send SIGTERM: the job stops as on Ctrl-C (exit 143)
    and no output or hidden temporary file is left."""
    import signal
    import subprocess
    import sys
    import time

    long_speech = media / "speech_en/musetalk_eng.wav"  # 60 s: still rendering when the signal comes
    proc = subprocess.Popen([sys.executable, "-m", "twintake.cli", "say", str(media / VIDEO), "--audio",
                             str(long_speech), "-o", str(outdir / "out.mp4"), "--no-cache", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not any(".tmp-" in p.name for p in outdir.iterdir()):
        time.sleep(0.05)  # until the encoder has opened its temporary output (rendering)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated: the job stopped" in err and "Traceback" not in err
    assert list(outdir.iterdir()) == []
