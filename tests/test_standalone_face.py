"""Face tracking and detection on the tiny files in tests/data only (no ../shared)."""

from __future__ import annotations

import numpy as np
import pytest

import twintake
from twintake.media import VideoWriter, iter_frames

try:  # the package-level exports; older trees only have the module
    from twintake.face import detect_faces, track_video
except ImportError:  # pragma: no cover - depends on the tree's state
    from twintake.face.tracker import detect_faces, track_video

FPS = 25.0
SIZE = 320
# MediaPipe face-mesh indices (fixed by the model): eye outer corners, mouth corners, lips
EYES = [33, 263]
MOUTH_CORNERS = [61, 291]
UPPER_LIP, LOWER_LIP = 13, 14


@pytest.fixture(scope="module")
def track(tiny_video):
    return track_video(tiny_video, FPS)


@pytest.fixture(scope="module")
def photo(tiny_photo):
    return next(iter(iter_frames(tiny_photo))).image


def _width(lm: np.ndarray) -> float:
    return float(lm[:, 0].max() - lm[:, 0].min())


def test_track_covers_every_frame(track):
    assert len(track) == 60
    assert track.landmarks.shape == (60, 478, 3)
    assert track.landmarks.dtype == np.float32
    assert track.valid.dtype == bool
    assert track.valid.mean() >= 0.95
    assert (track.width, track.height, track.fps) == (SIZE, SIZE, FPS)


def test_landmarks_are_inside_the_frame(track):
    lm = track.landmarks[track.valid]
    assert np.isfinite(lm).all()
    assert lm[..., 0].min() >= 0 and lm[..., 0].max() < SIZE
    assert lm[..., 1].min() >= 0 and lm[..., 1].max() < SIZE


def test_face_has_the_expected_size_and_layout(track):
    lm = track.landmarks[track.valid]
    widths = lm[..., 0].max(1) - lm[..., 0].min(1)
    assert 80 < float(np.median(widths)) < 150  # ~110 px in the 320 px clip
    # eyes above the mouth, left eye corner left of the right one (frontal, upright face)
    assert (lm[:, EYES, 1].mean(1) < lm[:, MOUTH_CORNERS, 1].mean(1) - 20).all()
    assert (lm[:, EYES[0], 0] < lm[:, EYES[1], 0]).all()


def test_track_is_steady_and_the_mouth_moves(track):
    lm = track.landmarks[track.valid]
    width = float(np.median(lm[..., 0].max(1) - lm[..., 0].min(1)))
    eye_step = np.linalg.norm(np.diff(lm[:, EYES, :2], axis=0), axis=-1)
    assert float(np.median(eye_step)) < 0.03 * width  # smooth, no jumps between frames
    opening = np.linalg.norm(lm[:, UPPER_LIP, :2] - lm[:, LOWER_LIP, :2], axis=-1)
    assert opening.max() - opening.min() > 3.0  # he is talking: the lips open and close


def test_detect_faces_on_the_photo(photo):
    faces = detect_faces(photo)
    assert len(faces) == 1
    lm = faces[0]
    assert lm.shape == (478, 3)
    assert _width(lm) >= 100
    assert lm[:, :2].min() >= 0 and lm[:, :2].max() < SIZE


def test_detect_faces_largest_first(photo):
    # the photo beside a half-size copy of itself: two faces, the big one first
    small = photo[::2, ::2]
    canvas = np.full((SIZE, SIZE + small.shape[1], 3), 200, np.uint8)
    canvas[:, :SIZE] = photo
    canvas[: small.shape[0], SIZE:] = small
    faces = detect_faces(canvas)
    assert len(faces) == 2
    assert _width(faces[0]) > 1.5 * _width(faces[1])
    assert faces[0][:, 0].max() < SIZE <= faces[1][:, 0].min()


def test_detect_faces_finds_none_in_noise():
    rng = np.random.default_rng(0)
    assert detect_faces(rng.integers(0, 256, (240, 240, 3), dtype=np.uint8)) == []


def test_tracking_a_video_without_a_face_fails_clearly(tmp_path):
    out = tmp_path / "plain.mp4"
    ramp = np.linspace(0, 255, 128, dtype=np.uint8)
    with VideoWriter(out, fps=FPS, width=128, height=128) as w:
        for i in range(10):
            img = np.empty((128, 128, 3), np.uint8)
            img[...] = ramp[None, :, None]
            img[:, :, 1] = 20 * i
            w.write(img)
    with pytest.raises(twintake.NoFaceError) as e:
        track_video(out, FPS)
    assert "no face" in str(e.value) and "\n" not in str(e.value)


def _small_face_canvas(photo: np.ndarray, dx: int = 0) -> np.ndarray:
    """A 1080 x 1920 phone frame with the 320 px test photo in it: a ~120 px face, too small for
    Face Mesh's own (short-range) detector on the whole frame."""
    canvas = np.full((1920, 1080, 3), 90, np.uint8)
    canvas[1100:1100 + SIZE, 380 + dx:380 + dx + SIZE] = photo
    return canvas


def test_detect_faces_finds_a_small_face_in_a_phone_frame(photo):
    canvas = _small_face_canvas(photo)
    faces = detect_faces(canvas)
    assert len(faces) == 1
    lm = faces[0]
    on_photo = detect_faces(photo)[0]
    # the same landmarks as on the photo alone, moved by where the photo was pasted
    err = np.abs(lm[:, :2] - (on_photo[:, :2] + [380, 1100]))
    assert float(np.median(err)) < 2.0


def test_tracking_follows_a_small_face_through_a_phone_video(tmp_path, photo):
    out = tmp_path / "phone.mp4"
    with VideoWriter(out, fps=FPS, width=1080, height=1920) as w:
        for i in range(12):
            w.write(_small_face_canvas(photo, dx=4 * i))
    tr = track_video(out, FPS)
    assert bool(tr.valid.all())
    centre_x = tr.landmarks[:, :, 0].mean(1)
    # it follows the face as it moves right by 4 px a frame (the One-Euro filter lags at first)
    assert bool((np.diff(centre_x) > 0).all())
    assert np.allclose(np.diff(centre_x)[-5:], 4.0, atol=1.0)
    assert 450 < centre_x[0] < 640 and 1150 < float(tr.landmarks[0, :, 1].mean()) < 1350


def test_a_lost_large_face_is_not_searched_for_as_a_small_one():
    from twintake.face.small_faces import SmallFaceSearch

    def no_detector():
        raise AssertionError("the full-range detector must not run for a lost large face")

    search = SmallFaceSearch(face_mesh=None, make_detector=no_detector, to_pixels=None)
    frame = np.zeros((720, 1280, 3), np.uint8)
    # last seen 400 px wide in a 720 px high frame: turned away or covered, not too small
    assert search.find(frame, prev_centre=np.array([640.0, 360.0]), prev_width=400.0) is None
    assert not search.active
