"""The base timeline: forward-only video-texture loop, cross-faded jumps, ping-pong fallback."""

from __future__ import annotations

import numpy as np

from twintake.render.video.timeline import MIN_LOOP_S, base_timeline, loop_features, loop_indices


def _source(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    face = np.stack([np.sin(t / 9.0), np.cos(t / 13.0)], 1) + rng.normal(scale=0.01, size=(n, 2))
    openness = 0.2 + 0.2 * np.sin(t / 3.0) ** 2
    return face, openness


def test_speech_shorter_than_video_shows_the_video_itself():
    face, op = _source(100)
    tl = base_timeline(60, op, face, 25.0)
    assert tl.mode == "identity" and tl.base.tolist() == list(range(60)) and (tl.fade_from < 0).all()


def test_loop_only_moves_forward_except_at_its_jumps():
    n, fps = 200, 25.0
    face, op = _source(n)
    tl = base_timeline(1000, op, face, fps)
    assert tl.mode == "loop" and len(tl.base) == 1000
    d = np.diff(tl.base)
    jumps = np.flatnonzero(d != 1)
    assert len(jumps) == len(tl.jumps) >= 3
    assert (d[jumps] < 0).all()                                  # jumps go back to an earlier frame ...
    assert {int(t) for t, _, _ in tl.jumps} == set((jumps + 1).tolist())
    i, j = tl.jumps[0][1], tl.jumps[0][2]
    assert i - j >= 2.0 * fps                                    # ... at least 2 s back
    # the frames that follow each other across the jump look alike: i + 1 (skipped) ~ j
    gap = np.linalg.norm(face[i + 1] - face[j])
    typical = np.median(np.linalg.norm(face[:, None] - face[None], axis=-1))
    assert gap < 0.1 * typical
    assert op[i] < np.percentile(op, 50) and op[j] < np.percentile(op, 50)   # closed mouths


def test_loop_jumps_are_cross_faded_symmetrically():
    face, op = _source(200)
    tl = loop_indices(600, op, face, 25.0, fade_s=0.24)
    t_jump, i, j = tl.jumps[0]
    window = np.flatnonzero(tl.fade_from >= 0)
    window = window[window < t_jump + 10]
    assert window.min() == t_jump - 3 and window.max() == t_jump + 2
    # before the jump the post-jump frames fade in, after it the pre-jump ones fade out
    assert tl.fade_from[t_jump - 1] == j - 1 and tl.fade_from[t_jump] == i + 1
    a = tl.fade_alpha[t_jump - 3:t_jump + 3]
    assert np.all(a > 0) and np.all(a < 0.5)
    assert np.allclose(a, a[::-1])                      # the weight of the other side peaks at the jump


def test_short_source_falls_back_to_pingpong():
    fps = 25.0
    n = int(MIN_LOOP_S * fps) - 5
    face, op = _source(n)
    tl = base_timeline(200, op, face, fps)
    assert tl.mode == "pingpong" and np.all(np.abs(np.diff(tl.base)) == 1)


def test_loop_features_scale_by_the_eye_distance_and_mark_missing_faces():
    lm = np.zeros((3, 478, 3), np.float32)
    lm[:, 33, 0], lm[:, 263, 0] = 100.0, 200.0     # eye corners 100 px apart
    lm[:, 10, :2] = [150.0, 50.0]
    f = loop_features(lm, np.array([True, True, False]))
    assert f.shape == (3, 18)
    assert f[0, 0] == 1.5 and f[0, 1] == 0.5       # forehead point / 100 px
    assert np.isnan(f[2]).all()
