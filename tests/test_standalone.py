"""Media I/O, speech loading and bad-input errors on the tiny files in tests/data only.

Runs from the repository alone (no ../shared). Imports only the stable public paths.
"""

from __future__ import annotations

import os
import re
import stat

import numpy as np
import pytest

import twintake
from twintake.media import VideoWriter, iter_frames, load_audio, probe, write_wav
from twintake.speech.input import load_speech

FPS = 25
N_FRAMES = 60  # tiny_talk.mp4: 2.4 s at 25 fps
SIZE = 320


@pytest.fixture(scope="module")
def video_frames(tiny_video):
    """All frames of the tiny video, (60, 320, 320, 3) uint8."""
    return np.stack([f.image for f in iter_frames(tiny_video)])


def _tone(freq_hz: float, seconds: float, rate: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def _peak_hz(x: np.ndarray, rate: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spec)])


def _leftovers(folder) -> list[str]:
    """Hidden temporary files a writer may have left in ``folder``."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


# -- probe ------------------------------------------------------------------------------------


def test_version_is_a_release_number():
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)?", twintake.__version__)


def test_probe_tiny_video(tiny_video):
    info = probe(tiny_video)
    assert not info.is_image
    v, a = info.video, info.audio
    assert (v.width, v.height) == (SIZE, SIZE)
    assert v.fps == pytest.approx(FPS)
    assert v.frame_count == N_FRAMES
    assert v.duration_s == pytest.approx(2.4, abs=1 / FPS)
    assert v.codec == "h264" and v.rotation_deg == 0 and not v.variable_frame_rate
    assert a is not None and a.codec == "aac"
    assert (a.sample_rate_hz, a.channels) == (16000, 1)
    assert a.duration_s == pytest.approx(2.4, abs=0.05)


def test_probe_tiny_photo(tiny_photo):
    info = probe(tiny_photo)
    assert info.is_image
    assert info.audio is None
    assert (info.video.width, info.video.height) == (SIZE, SIZE)
    assert info.video.frame_count == 1
    assert info.duration_s == 0.0


def test_probe_tiny_speech(tiny_speech):
    info = probe(tiny_speech)
    assert info.video is None and not info.is_image
    assert (info.audio.sample_rate_hz, info.audio.channels) == (16000, 1)
    assert info.audio.duration_s == pytest.approx(3.0, abs=1e-3)


# -- decode -----------------------------------------------------------------------------------


def test_iter_frames_gives_every_frame_on_the_timeline(video_frames, tiny_video):
    assert video_frames.shape == (N_FRAMES, SIZE, SIZE, 3)
    assert video_frames.dtype == np.uint8
    frames = list(iter_frames(tiny_video, start=0, stop=3))
    assert [f.index for f in frames] == [0, 1, 2]
    assert [f.time_s for f in frames] == pytest.approx([0.0, 0.04, 0.08])
    # a real picture, and the person moves: not one repeated frame
    assert video_frames.std() > 20
    assert np.abs(video_frames[0].astype(int) - video_frames[-1]).mean() > 1.0


def test_iter_frames_start_stop_match_a_full_decode(video_frames, tiny_video):
    part = list(iter_frames(tiny_video, start=40, stop=45))
    assert [f.index for f in part] == [40, 41, 42, 43, 44]
    for f in part:
        assert np.array_equal(f.image, video_frames[f.index])


def test_iter_frames_at_half_rate_takes_every_other_frame(video_frames, tiny_video):
    half = list(iter_frames(tiny_video, fps=12.5))
    assert len(half) == N_FRAMES // 2
    for f in half[::7]:
        assert np.array_equal(f.image, video_frames[2 * f.index])


def test_iter_frames_of_a_photo_is_one_frame(tiny_photo):
    frames = list(iter_frames(tiny_photo))
    assert len(frames) == 1
    assert frames[0].image.shape == (SIZE, SIZE, 3)


def test_iter_frames_rejects_negative_start(tiny_video):
    with pytest.raises(ValueError):
        next(iter_frames(tiny_video, start=-1))


# -- audio --------------------------------------------------------------------------------------


def test_load_audio_of_the_video_track(tiny_video):
    a = load_audio(tiny_video, 16000)
    assert a.dtype == np.float32 and a.ndim == 1
    assert len(a) == pytest.approx(2.4 * 16000, abs=16000 / FPS)
    assert np.abs(a).max() <= 1.0
    assert np.sqrt(np.mean(a**2)) > 0.01  # speech, not silence


@pytest.mark.parametrize("rate", [8000, 24000, 44100])
def test_load_audio_resamples_and_keeps_level(tiny_speech, rate):
    ref = load_audio(tiny_speech, 16000)
    a = load_audio(tiny_speech, rate)
    assert len(a) == pytest.approx(3.0 * rate, abs=rate * 0.01)
    rms_ref, rms = np.sqrt(np.mean(ref**2)), np.sqrt(np.mean(a**2))
    assert rms == pytest.approx(rms_ref, rel=0.15)


def test_resampling_keeps_the_pitch_of_a_tone(tmp_path):
    write_wav(tmp_path / "tone.wav", _tone(440.0, 1.0, 16000), 16000)
    a = load_audio(tmp_path / "tone.wav", 24000)
    assert len(a) == pytest.approx(24000, abs=48)
    assert _peak_hz(a, 24000) == pytest.approx(440.0, abs=2.0)


def test_write_wav_round_trip_is_exact_for_int16(tmp_path):
    rng = np.random.default_rng(0)
    pcm = rng.integers(-20000, 20000, 8000).astype(np.int16)
    write_wav(tmp_path / "x.wav", pcm, 16000)
    back = load_audio(tmp_path / "x.wav", 16000)
    assert np.allclose(back * 32768.0, pcm, atol=1.0)
    assert probe(tmp_path / "x.wav").audio.channels == 1


def test_write_wav_rejects_stereo_and_nan(tmp_path):
    with pytest.raises(ValueError):
        write_wav(tmp_path / "s.wav", np.zeros((100, 2), np.float32), 16000)
    bad = np.zeros(100, np.float32)
    bad[3] = np.nan
    with pytest.raises(ValueError):
        write_wav(tmp_path / "n.wav", bad, 16000)
    assert not (tmp_path / "s.wav").exists() and not (tmp_path / "n.wav").exists()


def test_load_speech_keeps_an_aac_rate(tiny_speech):
    s = load_speech(tiny_speech)
    assert isinstance(s, twintake.Speech)
    assert s.sample_rate_hz == 16000
    assert s.samples.dtype == np.float32 and s.samples.ndim == 1
    assert s.duration_s == pytest.approx(3.0, abs=1e-3)
    assert s.phones == []


def test_load_speech_resamples_a_rate_aac_cannot_take(tmp_path):
    rng = np.random.default_rng(1)
    noise = (0.3 * rng.standard_normal(11000)).clip(-1, 1).astype(np.float32)
    write_wav(tmp_path / "odd.wav", noise * _tone(3.0, 1.0, 11000, 1.0), 11000)
    s = load_speech(tmp_path / "odd.wav")
    assert s.sample_rate_hz == 48000
    assert s.duration_s == pytest.approx(1.0, abs=0.01)


def test_load_speech_refuses_silence(tmp_path):
    write_wav(tmp_path / "quiet.wav", np.zeros(16000, np.float32), 16000)
    with pytest.raises(twintake.SpeechError, match="silent"):
        load_speech(tmp_path / "quiet.wav")


def test_load_speech_refuses_too_long(tiny_speech):
    with pytest.raises(twintake.SpeechError):
        load_speech(tiny_speech, max_duration_s=1.0)


def test_load_speech_of_a_photo_has_no_audio(tiny_photo):
    with pytest.raises(twintake.MediaError, match="no audio stream"):
        load_speech(tiny_photo)


# -- VideoWriter ------------------------------------------------------------------------------


def _colour_frames(n: int, w: int, h: int) -> list[np.ndarray]:
    out = []
    for i in range(n):
        img = np.empty((h, w, 3), np.uint8)
        img[...] = (40 + 8 * i, 200 - 6 * i, 90)
        out.append(img)
    return out


def test_video_writer_round_trip(tmp_path):
    out = tmp_path / "w.mp4"
    frames = _colour_frames(25, 64, 48)
    audio = _tone(300.0, 1.0, 16000, 0.3)
    with VideoWriter(out, fps=FPS, width=64, height=48, audio_sample_rate_hz=16000) as w:
        for i, img in enumerate(frames):
            w.write(img)
            w.write_audio(audio[i * 640:(i + 1) * 640])
    assert w.frames_written == 25 and w.audio_samples_written == 16000
    info = probe(out)
    assert (info.video.width, info.video.height) == (64, 48)
    assert info.video.frame_count == 25
    assert info.video.fps == pytest.approx(FPS)
    assert info.duration_s == pytest.approx(1.0, abs=1 / FPS)
    assert info.audio.sample_rate_hz == 16000
    back = [f.image for f in iter_frames(out)]
    assert len(back) == 25
    for img, ref in zip(back, frames):  # colours survive H.264 (crf 18) within a few levels
        assert np.abs(img.astype(int).mean((0, 1)) - ref[0, 0]).max() < 6
    sound = load_audio(out, 16000)
    assert _peak_hz(sound[1000:15000], 16000) == pytest.approx(300.0, abs=3.0)
    assert _leftovers(tmp_path) == []


def test_video_writer_crops_odd_sizes_to_even(tmp_path):
    out = tmp_path / "odd.mp4"
    with VideoWriter(out, fps=FPS, width=65, height=49) as w:
        for img in _colour_frames(3, 65, 49):
            w.write(img)
    assert (w.width, w.height) == (64, 48)
    assert (probe(out).video.width, probe(out).video.height) == (64, 48)
    assert probe(out).audio is None


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        with VideoWriter(tmp_path / "m.mp4", fps=FPS, width=32, height=32) as w:
            w.write(np.zeros((32, 32, 3), np.uint8))
        write_wav(tmp_path / "m.wav", np.zeros(100, np.float32), 16000)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.mp4").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "m.wav").stat().st_mode) == mode


def test_video_writer_leaves_nothing_after_an_exception(tmp_path):
    out = tmp_path / "never.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(out, fps=FPS, width=32, height=32) as w:
            w.write(np.zeros((32, 32, 3), np.uint8))
            raise RuntimeError("stop")
    assert not out.exists()
    assert _leftovers(tmp_path) == []


def test_video_writer_keeps_an_existing_file_on_abort(tmp_path):
    out = tmp_path / "old.mp4"
    out.write_bytes(b"previous")
    w = VideoWriter(out, fps=FPS, width=32, height=32)
    w.write(np.zeros((32, 32, 3), np.uint8))
    w.abort()
    assert out.read_bytes() == b"previous"
    assert _leftovers(tmp_path) == []


def test_video_writer_without_frames_is_an_error(tmp_path):
    w = VideoWriter(tmp_path / "empty.mp4", fps=FPS, width=32, height=32)
    with pytest.raises(twintake.OutputError, match="no video frame"):
        w.close()
    assert list(tmp_path.iterdir()) == []


def test_video_writer_rejects_a_wrong_frame(tmp_path):
    with VideoWriter(tmp_path / "x.mp4", fps=FPS, width=32, height=32) as w:
        with pytest.raises(ValueError):
            w.write(np.zeros((32, 30, 3), np.uint8))
        with pytest.raises(ValueError):
            w.write(np.zeros((32, 32, 3), np.float32))
        w.write(np.zeros((32, 32, 3), np.uint8))
    assert probe(tmp_path / "x.mp4").video.frame_count == 1


@pytest.mark.parametrize("name", ["missing/out.mp4", "out.avi"])
def test_video_writer_bad_target(tmp_path, name):
    with pytest.raises(twintake.OutputError):
        VideoWriter(tmp_path / name, fps=FPS, width=32, height=32)
    assert not (tmp_path / "missing").exists()


# -- bad input through the public API ---------------------------------------------------------


@pytest.fixture()
def outdir(tmp_path):
    d = tmp_path / "out"
    d.mkdir()
    return d


def _one_line(e: pytest.ExceptionInfo) -> str:
    text = str(e.value)
    assert text and "\n" not in text and "Traceback" not in text
    return text


def test_text_file_as_video_is_a_media_error(tmp_path, outdir, tiny_speech):
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is text, not a video\n" * 20)
    with pytest.raises(twintake.MediaError) as e:
        twintake.lipsync(bad, tiny_speech, outdir / "out.mp4")
    assert "notes.mp4" in _one_line(e)
    assert list(outdir.iterdir()) == []


def test_missing_video_is_a_media_error(tmp_path, outdir, tiny_speech):
    with pytest.raises(twintake.MediaError) as e:
        twintake.lipsync(tmp_path / "nobody.mp4", tiny_speech, outdir / "out.mp4")
    assert "nobody.mp4" in _one_line(e)
    assert list(outdir.iterdir()) == []


def test_missing_speech_is_a_media_error(tmp_path, outdir, tiny_video):
    with pytest.raises(twintake.MediaError) as e:
        twintake.lipsync(tiny_video, tmp_path / "nothing.wav", outdir / "out.mp4")
    assert "nothing.wav" in _one_line(e)
    assert list(outdir.iterdir()) == []


def test_speech_file_as_video_has_no_video_stream(outdir, tiny_speech):
    with pytest.raises(twintake.MediaError, match="no video stream") as e:
        twintake.lipsync(tiny_speech, tiny_speech, outdir / "out.mp4")
    _one_line(e)


def test_photo_as_speech_has_no_audio_stream(outdir, tiny_video, tiny_photo):
    with pytest.raises(twintake.MediaError, match="no audio stream") as e:
        twintake.lipsync(tiny_video, tiny_photo, outdir / "out.mp4")
    _one_line(e)


@pytest.mark.parametrize("name", ["no_such_folder/out.mp4", "out.avi"])
def test_bad_output_is_an_output_error(tmp_path, tiny_video, tiny_speech, name):
    with pytest.raises(twintake.OutputError) as e:
        twintake.lipsync(tiny_video, tiny_speech, tmp_path / name)
    _one_line(e)
    assert not (tmp_path / name).exists()


def test_errors_share_one_base_class():
    for cls in (twintake.MediaError, twintake.OutputError, twintake.SpeechError,
                twintake.NoFaceError, twintake.AvatarError):
        assert issubclass(cls, twintake.TwintakeError)
    assert not issubclass(twintake.MediaError, twintake.OutputError)
