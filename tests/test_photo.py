"""Photo avatars (twintake.render.photo): real portraits from ../shared/media speaking a real
English clip; every property is measured on the encoded output with the face mesh."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twintake.errors import NoFaceError

MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
SPEECH = MEDIA / "speech_en" / "realthreed_obama_5s.wav"
PORTRAITS = ["portrait/realthreed_macron.png", "portrait/avg_woman2.jpg"]  # large face, ~90 px face

pytestmark = pytest.mark.skipif(not SPEECH.exists(), reason="shared media not available")


@pytest.fixture(scope="module")
def speech():
    from twintake.pipeline import ensure_phones, load_speech

    return ensure_phones(load_speech(SPEECH))


@pytest.fixture(scope="module", params=PORTRAITS)
def rendered(request, speech, tmp_path_factory):
    """(photo path, RenderResult, FaceTrack of the output, frames (T, H, W, 3) uint8,
    unsmoothed (T, 478, 3) landmarks (None where no face))."""
    from twintake.face.tracker import MediaPipeTracker, track_video
    from twintake.media import iter_frames
    from twintake.render.photo import render_photo

    photo = MEDIA / request.param
    out = tmp_path_factory.mktemp("photo") / (photo.stem + ".mp4")
    calls = []
    # crf 12: the corner test measures the renderer, not x264 (crf 18 alone costs ~35 dB on JPEG noise)
    res = render_photo(photo, speech, out, crf=12, progress=lambda s, c, t: calls.append(s))
    assert "render" in calls
    track = track_video(out, fps=res.fps)
    frames = np.stack([f.image for f in iter_frames(out, fps=res.fps)])
    # blinks last 3-5 frames: measure them without track_video's One-Euro smoothing
    raw = list(MediaPipeTracker(res.fps, smooth=False).track_frames(iter(frames)))
    return photo, res, track, frames, raw


def _iod(lm: np.ndarray) -> np.ndarray:
    from twintake.face import landmarks as L

    return L.interocular_px(lm)


def test_output_matches_speech(rendered, speech):
    photo, res, track, frames, _ = rendered
    from twintake.render.photo import load_photo

    img = load_photo(photo)
    assert res.frames == round(speech.duration_s * 25.0)
    assert abs(res.duration_s - speech.duration_s) <= 1 / 25
    assert (res.width, res.height) == (img.shape[1] // 2 * 2, img.shape[0] // 2 * 2)
    assert len(frames) == res.frames
    assert track.valid.mean() > 0.95


def test_mouth_opening_follows_loudness(rendered, speech):
    from twintake.speech.analysis import loudness_envelope

    _, res, track, _, _ = rendered
    lm = track.landmarks
    opening = np.linalg.norm(lm[:, 14, :2] - lm[:, 13, :2], axis=1) / _iod(lm)
    loud = loudness_envelope(speech.samples, speech.sample_rate_hz, res.fps)[: len(opening)]
    ok = track.valid[: len(loud)]
    r = np.corrcoef(opening[: len(loud)][ok], loud[ok])[0, 1]
    assert r >= 0.4, f"mouth opening vs loudness r = {r:.2f}"
    assert opening[ok].max() > 0.12  # really opens (inner gap > 12 % of the eye distance)


def test_blinks(rendered):
    _, res, _, _, raw = rendered
    lm = np.stack([p for p in raw if p is not None])
    lids = (np.linalg.norm(lm[:, 159, :2] - lm[:, 145, :2], axis=1)
            + np.linalg.norm(lm[:, 386, :2] - lm[:, 374, :2], axis=1)) / _iod(lm)
    closed = lids < 0.7 * np.median(lids)
    # blink events: runs of closed frames
    events = int(np.sum(closed[1:] & ~closed[:-1]) + closed[0])
    assert events >= max(1, int(res.duration_s // 6)), f"{events} blinks in {res.duration_s:.1f} s"
    assert closed.mean() < 0.25  # eyes are open most of the time


def test_background_stays(rendered):
    from twintake.render.photo import load_photo

    photo, res, _, frames, _ = rendered
    img = load_photo(photo)[: res.height, : res.width].astype(np.float64)
    k = max(8, res.width // 10)
    for y, x in ((0, 0), (0, res.width - k), (res.height - k, 0), (res.height - k, res.width - k)):
        ref = img[y:y + k, x:x + k]
        for t in (0, len(frames) // 2, len(frames) - 1):
            mse = float(np.mean((frames[t, y:y + k, x:x + k].astype(np.float64) - ref) ** 2))
            psnr = 10 * np.log10(255.0**2 / max(mse, 1e-9))
            assert psnr >= 35.0, f"corner ({x},{y}) frame {t}: PSNR {psnr:.1f} dB"


def test_open_mouth_has_dark_interior(rendered):
    import cv2

    from twintake.face import landmarks as L

    _, _, track, frames, _ = rendered
    lm = track.landmarks
    opening = np.linalg.norm(lm[:, 14, :2] - lm[:, 13, :2], axis=1) / _iod(lm)
    opening[~track.valid] = 0
    dark_fracs = []
    for t in np.argsort(-opening)[:5]:
        img = frames[t]
        luma = img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        mask = np.zeros(img.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(lm[t, L.LIPS_INNER, :2]).astype(np.int32)], 1)
        inside = luma[mask > 0]
        assert inside.size >= 10
        # skin reference: the cheeks just beside the nose
        cheek = np.array([luma[int(lm[t, i, 1]), int(lm[t, i, 0])] for i in (205, 425, 50, 280)])
        dark_fracs.append(float(np.mean(inside < 0.6 * np.median(cheek))))
    # the interior is not a skin-coloured hole: part of it is clearly darker than the skin
    assert np.median(dark_fracs) >= 0.15, f"dark fraction of the open mouths: {dark_fracs}"


def test_no_face_names_file(tmp_path, speech):
    from PIL import Image

    from twintake.render.photo import render_photo

    p = tmp_path / "wall.png"
    rng = np.random.default_rng(0)
    g = np.linspace(0, 255, 320)[None, :, None] * np.ones((240, 1, 3))
    Image.fromarray(np.clip(g + rng.normal(0, 8, g.shape), 0, 255).astype(np.uint8)).save(p)
    with pytest.raises(NoFaceError, match="wall.png"):
        render_photo(p, speech, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_tiny_face_refused(tmp_path, speech):
    from PIL import Image

    from twintake.face import landmarks as L
    from twintake.face.tracker import detect_faces
    from twintake.render.photo import load_photo, render_photo

    img = load_photo(MEDIA / PORTRAITS[0])
    fw = float(L.face_width_px(detect_faces(img)[0]))
    s = 30.0 / fw
    small = Image.fromarray(img).resize((round(img.shape[1] * s), round(img.shape[0] * s)), Image.LANCZOS)
    p = tmp_path / "tiny.png"
    small.save(p)
    with pytest.raises(NoFaceError, match="small"):
        render_photo(p, speech, tmp_path / "out.mp4")
