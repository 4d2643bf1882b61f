"""End-to-end lip-sync on real media: the behaviour users rely on."""

from __future__ import annotations

import os

import numpy as np
import pytest

import twintake
from twintake.face import landmarks as L
from twintake.face.tracker import track_video
from twintake.hooks import RecordingHook
from twintake.media import iter_frames, load_audio, probe, write_wav
from twintake.speech.analysis import loudness_envelope

from .conftest import pearson

VIDEO = "video/vretalking_face2.mp4"  # 844x844, 25 fps, 5.04 s, English
SPEECH = "speech_en/ljspeech_lj001_0012.wav"  # 8.2 s: longer than the video (ping-pong)
SILENCE_AT_S = 3.0


@pytest.fixture(scope="module")
def run(media, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lipsync")
    # a cache of its own: the first run must track, the second must not
    old_cache = os.environ.get("TWINTAKE_CACHE")
    os.environ["TWINTAKE_CACHE"] = str(tmp / "cache")
    sr = 22050
    speech = load_audio(media / SPEECH, sr)
    cut = int(SILENCE_AT_S * sr)
    speech = np.concatenate([speech[:cut], np.zeros(sr, np.float32), speech[cut:]])
    wav = tmp / "speech.wav"
    write_wav(wav, speech, sr)
    hook = RecordingHook()
    out = tmp / "out.mp4"
    result = twintake.lipsync(media / VIDEO, wav, out, hook=hook)
    yield {"result": result, "out": out, "wav": wav, "speech": speech, "sr": sr, "hook": hook, "tmp": tmp,
           "video": media / VIDEO}
    os.environ["TWINTAKE_CACHE"] = old_cache or ""
    if old_cache is None:
        os.environ.pop("TWINTAKE_CACHE")


def test_output_matches_speech_and_source(run):
    res, out = run["result"], run["out"]
    info = probe(out)
    src = probe(run["video"])
    speech_s = len(run["speech"]) / run["sr"]
    assert abs(info.duration_s - speech_s) <= 1.0 / src.video.fps + 1e-3
    assert abs(res.duration_s - speech_s) <= 1.0 / src.video.fps
    assert info.video.fps == pytest.approx(src.video.fps, abs=0.01)
    assert (info.video.width, info.video.height) == (src.video.width, src.video.height)
    assert info.audio is not None
    assert res.frames == info.video.frame_count or abs(res.frames - info.video.frame_count) <= 1
    assert res.frames_without_face == []
    assert {"track", "render"} <= set(run["hook"].stages)


def test_pixels_outside_lower_face_are_the_source(run):
    track = track_video(run["video"], fps=25.0)
    psnrs = []
    src_frames = {f.index: f.image for f in iter_frames(run["video"])}
    base = np.asarray(run["result"].base_frames)
    jumps = np.flatnonzero(np.diff(base) != 1) + 1
    for f in iter_frames(run["out"]):
        if f.index >= len(src_frames) or f.index % 5 or base[f.index] != f.index:
            continue
        if len(jumps) and np.abs(jumps - f.index).min() <= 4:  # cross-faded into the loop's jump
            continue
        src = src_frames[f.index]
        lm = track.landmarks[f.index]
        pts = lm[np.concatenate([L.JAW, L.UNDER_NOSE, L.LIPS_OUTER]), :2]
        x0, y0 = pts.min(0)
        x1, y1 = pts.max(0)
        pad = 0.35 * float(L.interocular_px(lm))
        keep = np.ones(src.shape[:2], bool)
        keep[int(max(0, y0 - pad)):int(y1 + 2 * pad), int(max(0, x0 - pad)):int(x1 + pad)] = False
        diff = f.image[keep].astype(np.float64) - src[keep].astype(np.float64)
        mse = float((diff**2).mean())
        psnrs.append(10 * np.log10(255**2 / max(mse, 1e-10)))
    assert psnrs and min(psnrs) >= 40.0, psnrs


def _mouth_opening(path, fps):
    track = track_video(path, fps=fps)
    lm = track.landmarks
    gap = np.linalg.norm(lm[:, L.LOWER_INNER_LIP, :2] - lm[:, L.UPPER_INNER_LIP, :2], axis=1)
    return gap / np.maximum(L.interocular_px(lm), 1e-6), track.valid


def test_mouth_follows_loudness_and_closes_in_silence(run):
    fps = run["result"].fps
    opening, valid = _mouth_opening(run["out"], fps)
    assert valid.mean() > 0.95
    loud = loudness_envelope(run["speech"], run["sr"], fps)[: len(opening)]
    n = min(len(loud), len(opening))
    r = pearson(opening[:n][valid[:n]], np.maximum(loud[:n], -60)[valid[:n]])
    assert r >= 0.4, r
    # the inserted second of silence (margins for the easing ramp and anticipation)
    src_open, src_valid = _mouth_opening(run["video"], fps)
    closed, widest = np.percentile(src_open[src_valid], [2, 98])
    t = np.arange(n) / fps
    silent = (t > SILENCE_AT_S + 0.15) & (t < SILENCE_AT_S + 0.75)
    assert opening[silent].max() < closed + 0.15 * (widest - closed), (opening[silent], closed, widest)
    # ... while the mouth does open when speaking
    speaking = loud[:n] > np.percentile(loud[:n], 60)
    assert np.percentile(opening[speaking], 90) > closed + 0.4 * (widest - closed)


def test_second_run_uses_cached_track(run):
    hook = RecordingHook()
    out2 = run["tmp"] / "again.mp4"
    res = twintake.lipsync(run["video"], run["wav"], out2, hook=hook)
    assert "track" in res.cache_hits
    assert "track" not in hook.stages and "bank" not in hook.stages
    assert out2.is_file()


def test_longer_speech_loops_the_video_forward(run):
    """Speech longer than the video: the base frames run forward and jump back to a similar
    frame (video textures), never play backwards."""
    base = np.asarray(run["result"].base_frames)
    n_src = probe(run["video"]).video.frame_count
    assert len(base) == run["result"].frames and base.max() < n_src
    d = np.diff(base)
    assert set(np.unique(d[d != 1]).tolist()) <= set(range(-n_src, -int(2 * 25) + 1))  # only jumps >= 2 s back
    assert 1 <= (d != 1).sum() <= len(base) // 50
