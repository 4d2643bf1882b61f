"""Mouth selection (render/video/select.py, plan.selection_features): leakage guards."""

import numpy as np

from twintake.render.video.plan import selection_features
from twintake.render.video.select import SelectOptions, select_frames


def _bank(n: int = 60, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 0.05, (n, 114)).astype(np.float32)


def test_selection_does_not_prefer_the_frame_under_the_output_frame():
    """Self-reenactment leakage guard: the base frame under output frame t is the real frame,
    whose mouth is the answer. Given the same targets, the selection must not change when only
    the base frame's index changes (it may see the base's head pose, not which frame it is)."""
    bank = _bank()
    bank[30:] = bank[:30]  # every mouth twice: frames i and i + 30 are equally good
    allowed = np.ones(60, bool)
    pose = np.zeros((60, 3), np.float32)
    target = bank[5:15] + 0.001
    opts = SelectOptions(min_dwell=1)
    picks = [select_frames(selection_features(target, 8.0), selection_features(bank, 8.0), allowed,
                           base_pose=pose[:10], bank_pose=pose, options=opts, base_index=base)
             for base in (np.arange(5, 15), np.arange(35, 45), np.zeros(10, np.int64))]
    assert all(np.array_equal(p, picks[0]) for p in picks[1:])
    # and when the target IS the base frame's mouth, a twin elsewhere is as good as the frame
    # itself: nothing favours the index under the output frame
    for base in (np.arange(5, 15), np.arange(35, 45)):
        got = select_frames(selection_features(target, 8.0), selection_features(bank, 8.0), allowed,
                            base_pose=pose[:10], bank_pose=pose, options=opts, base_index=base)
        assert np.array_equal(got % 30, np.arange(5, 15))


def test_leave_segment_out_never_returns_a_frame_near_the_base():
    bank = _bank(seed=1)
    allowed = np.ones(60, bool)
    target = bank[20:30]
    base = np.arange(20, 30)
    got = select_frames(selection_features(target, 8.0), selection_features(bank, 8.0), allowed,
                        options=SelectOptions(), exclude_radius=5, base_index=base)
    assert (np.abs(got - base) > 5).all()
