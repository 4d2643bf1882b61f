"""End to end on the tiny files in tests/data only (no ../shared): lip-sync of a video and of a
photo, an avatar prepared once and reused, and the command line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import twintake
from twintake.media import iter_frames, load_audio, probe

FPS = 25.0
SIZE = 320
SPEECH_S = 3.0
TOP_BAND = slice(0, 80)  # rows above the face (landmarks start at y ~ 93 in the 320 px clip)
# MediaPipe face-mesh indices of the mouth: corners, upper lip top, lower lip bottom
MOUTH = [61, 291, 0, 17]


def _frames(path) -> np.ndarray:
    return np.stack([f.image for f in iter_frames(path)]).astype(np.int16)


def _mouth_box(landmarks: np.ndarray, pad: int = 6) -> tuple[slice, slice]:
    pts = landmarks[MOUTH, :2]
    x0, y0 = (pts.min(0) - pad).astype(int)
    x1, y1 = (pts.max(0) + pad).astype(int)
    return slice(y0, y1), slice(x0, x1)


def _detect_faces(image):
    try:
        from twintake.face import detect_faces
    except ImportError:  # pragma: no cover - the package-level export is newer
        from twintake.face.tracker import detect_faces
    return detect_faces(image)


@pytest.fixture(scope="module")
def source_frames(tiny_video):
    return _frames(tiny_video)


# -- a talking video ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def video_result(tmp_path_factory, tiny_video, tiny_speech):
    out = tmp_path_factory.mktemp("lipsync") / "out.mp4"
    return twintake.lipsync(tiny_video, tiny_speech, out)


def test_lipsync_result_describes_the_file(video_result):
    r = video_result
    assert r.path.is_file()
    assert (r.width, r.height, r.fps) == (SIZE, SIZE, FPS)
    assert r.frames == round(SPEECH_S * FPS)  # the speech (3 s) is longer than the video (2.4 s)
    assert r.frames_without_face == []


def test_lipsync_lasts_as_long_as_the_speech(video_result):
    info = probe(video_result.path)
    assert info.video.duration_s == pytest.approx(SPEECH_S, abs=1 / FPS)
    assert info.video.frame_count == pytest.approx(SPEECH_S * FPS, abs=1)
    assert info.audio is not None
    assert info.audio.duration_s == pytest.approx(SPEECH_S, abs=1 / FPS)


def test_lipsync_carries_the_new_speech_not_the_videos_sound(video_result, tiny_speech, tiny_video):
    heard = load_audio(video_result.path, 16000)
    speech = load_audio(tiny_speech, 16000)
    original = load_audio(tiny_video, 16000)
    n = min(len(heard), len(speech), len(original))
    assert np.corrcoef(heard[:n], speech[:n])[0, 1] > 0.95
    assert abs(np.corrcoef(heard[:n], original[:n])[0, 1]) < 0.3


@pytest.fixture(scope="module")
def matched(video_result, source_frames):
    """Output frames, and for each the source frame whose top band is closest (and how close)."""
    out = _frames(video_result.path)
    src_top = source_frames[:, TOP_BAND].astype(np.float32)
    diff = np.stack([np.abs(src_top - frame[TOP_BAND]).mean(axis=(1, 2, 3)) for frame in out])
    return out, diff.argmin(axis=1), diff.min(axis=1)


def test_lipsync_leaves_the_top_of_the_frame_alone(matched):
    out, match, top_diff = matched
    # every output frame shows some source frame unchanged above the face (re-encoding noise only)
    assert top_diff.max() < 3.0
    assert len(set(match.tolist())) > 20  # and the video plays, it is not one still frame


def test_lipsync_changes_the_mouth(matched, source_frames, tiny_video):
    out, match, top_diff = matched
    first = next(iter(iter_frames(tiny_video))).image
    rows, cols = _mouth_box(_detect_faces(first)[0])
    mouth = np.array([np.abs(out[i, rows, cols] - source_frames[j, rows, cols]).mean()
                      for i, j in enumerate(match)])
    assert mouth.max() > 2 * top_diff.max()  # new mouth shapes, not a copy of the source


def test_lipsync_with_short_generated_speech_is_cut_and_reuses_the_track(
        video_result, tiny_video, tiny_speech, tmp_path):
    speech = load_audio(tiny_speech, 16000)[:16000]  # 1.0 s
    s = twintake.Speech(samples=speech, sample_rate_hz=16000)
    r = twintake.lipsync(tiny_video, s, tmp_path / "short.mp4")
    assert r.frames == 25
    assert probe(r.path).duration_s == pytest.approx(1.0, abs=1 / FPS)
    assert "track" in r.cache_hits  # the first lip-sync of this video stored its face track


def test_lipsync_options_are_used(video_result, tiny_video, tiny_speech, tmp_path):
    opts = twintake.LipsyncOptions(crf=40, preset="ultrafast", use_cache=False, enhance="none")
    r = twintake.lipsync(tiny_video, tiny_speech, tmp_path / "low.mp4", opts)
    assert r.frames == video_result.frames
    assert r.cache_hits == []  # use_cache=False: tracked again
    # crf 40 is far coarser than the default 18: a much smaller file
    assert r.path.stat().st_size < 0.6 * video_result.path.stat().st_size


# -- a photo ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def photo_result(tmp_path_factory, tiny_photo, tiny_speech):
    # without the frame mark: these tests hold the renderer to "the background stays still";
    # the mark's own bound on a still background is tested in test_provenance.py
    out = tmp_path_factory.mktemp("photo") / "photo.mp4"
    return twintake.lipsync(tiny_photo, tiny_speech, out, provenance=False)


def test_photo_lipsync_size_and_duration(photo_result):
    info = probe(photo_result.path)
    assert (info.video.width, info.video.height) == (SIZE, SIZE)
    assert info.video.fps == pytest.approx(25.0)  # photos are animated at 25 fps by default
    assert info.duration_s == pytest.approx(SPEECH_S, abs=1 / FPS)
    assert photo_result.frames == round(SPEECH_S * FPS)
    assert info.audio is not None


def test_photo_lipsync_moves_the_mouth_not_the_background(photo_result, tiny_photo):
    out = _frames(photo_result.path)
    photo = next(iter(iter_frames(tiny_photo))).image
    rows, cols = _mouth_box(_detect_faces(photo)[0])
    mouth = out[:, rows, cols]
    assert np.abs(mouth - mouth[0]).mean(axis=(1, 2, 3)).max() > 8.0
    for ys, xs in [(slice(0, 40), slice(0, 40)), (slice(0, 40), slice(-40, None)),
                   (slice(-40, None), slice(0, 40)), (slice(-40, None), slice(-40, None))]:
        corner = out[:, ys, xs]
        assert np.abs(corner - corner[0]).mean(axis=(1, 2, 3)).max() < 0.75
        assert np.abs(corner - photo[ys, xs].astype(np.int16)).mean(axis=(1, 2, 3)).max() < 6.0


# -- an avatar ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def avatar_dir(tmp_path_factory, tiny_video):
    path = tmp_path_factory.mktemp("avatars") / "tiny"
    twintake.Avatar.prepare(tiny_video, path)
    return path


def test_avatar_prepare_writes_a_folder(avatar_dir):
    assert (avatar_dir / "avatar.json").is_file()
    av = twintake.Avatar.load(avatar_dir)
    assert av.kind == "video"
    assert av.name == "tiny"
    assert av.voice is None  # 2.4 s of the video's audio is too short to clone


def test_avatar_say_audio(avatar_dir, tiny_speech, tmp_path):
    av = twintake.Avatar.load(avatar_dir)
    r = av.say(audio=tiny_speech, out=tmp_path / "said.mp4")
    info = probe(r.path)
    assert (info.video.width, info.video.height) == (SIZE, SIZE)
    assert info.duration_s == pytest.approx(SPEECH_S, abs=1 / FPS)
    assert r.frames == round(SPEECH_S * FPS)


def test_avatar_prepare_will_not_overwrite(avatar_dir, tiny_video):
    with pytest.raises(twintake.AvatarError, match="already exists"):
        twintake.Avatar.prepare(tiny_video, avatar_dir)
    assert twintake.Avatar.load(avatar_dir).kind == "video"  # still intact


def test_avatar_load_of_a_plain_folder_fails(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(twintake.AvatarError):
        twintake.Avatar.load(tmp_path / "empty")


def test_avatar_say_needs_text_or_audio(avatar_dir, tiny_speech, tmp_path):
    av = twintake.Avatar.load(avatar_dir)
    for text, audio in [("Hello.", tiny_speech), (None, None)]:
        # one clear error before any work (AvatarError in older trees, SpeechError now)
        with pytest.raises((twintake.AvatarError, twintake.SpeechError), match="either") as e:
            av.say(text, audio=audio, out=tmp_path / "x.mp4")
        assert "\n" not in str(e.value)
    assert list(tmp_path.iterdir()) == []


# -- the command line ---------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twintake.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_cli_say_writes_the_video(tiny_video, tiny_speech, tmp_path):
    out = tmp_path / "cli.mp4"
    res = _cli("say", str(tiny_video), "--audio", str(tiny_speech), "-o", str(out), "-q")
    assert res.returncode == 0, res.stderr
    assert out.is_file()
    assert probe(out).duration_s == pytest.approx(SPEECH_S, abs=1 / FPS)
    assert "Traceback" not in res.stderr


def test_cli_missing_source_is_one_line_exit_1(tiny_speech, tmp_path):
    out = tmp_path / "cli.mp4"
    res = _cli("say", str(tmp_path / "nobody.mp4"), "--audio", str(tiny_speech), "-o", str(out),
               "-q")
    assert res.returncode == 1
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "nobody.mp4" in lines[0]
    assert not out.exists()
