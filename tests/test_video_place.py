"""Placement of the target mouth with the base frame's 3D head pose (render/video/place.py)."""

import numpy as np
import pytest

from twintake.errors import TwintakeError
from twintake.face import landmarks as L
from twintake.face.align import umeyama
from twintake.render.video.composite import CompositeOptions
from twintake.render.video.place import (LID_POINTS, MAX_OFFSET_IOD, PLACE_POINTS, HeadPlacement, OffsetModel,
                                         offset_model)


def _rotation(pitch: float, yaw: float) -> np.ndarray:
    cp, sp, cy, sy = np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    return ry @ rx


def _face(seed: int = 0) -> np.ndarray:
    """(478, 3) a rigid random 'face' in face-aligned units: upper face above y=0.3, mouth below,
    the lip centre in front of the mouth corners (depth)."""
    rng = np.random.default_rng(seed)
    pts = np.column_stack([rng.uniform(-1, 1, 478), rng.uniform(-0.6, 0.3, 478), rng.uniform(-0.3, 0.1, 478)])
    mouth = L.MOUTH_POINTS
    pts[mouth, 1] = rng.uniform(0.9, 1.4, len(mouth))
    pts[mouth, 2] = -0.2 + 0.15 * np.abs(pts[mouth, 0])  # protruding centre, deeper corners
    return pts


def test_umeyama_3d_recovers_a_known_pose():
    rng = np.random.default_rng(1)
    src = rng.normal(size=(30, 3))
    rot = _rotation(0.3, -0.2)
    dst = 1.3 * src @ rot.T + np.array([0.1, -0.4, 2.0])
    scale, r, shift = umeyama(src, dst)
    assert abs(scale - 1.3) < 1e-9
    assert np.allclose(r, rot, atol=1e-9)
    assert np.allclose(shift, [0.1, -0.4, 2.0], atol=1e-9)


def test_a_nodding_and_turning_head_moves_the_target_like_the_real_mouth():
    face = _face()
    ident = np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (3, 1, 1))
    poses = [np.eye(3), _rotation(0.25, 0.0), _rotation(-0.1, 0.35)]
    frames = np.stack([face @ r.T for r in poses]).astype(np.float32)
    # the mean face is the unrotated one when the rotated frames are not valid
    place = HeadPlacement(frames, np.array([True, False, False]), ident)
    target = face[L.MOUTH_POINTS, :2].reshape(-1)
    for r, fr in zip(poses, frames):
        got = place.place(target, fr, ident[0])
        want = fr[L.MOUTH_POINTS, :2].reshape(-1)
        assert np.abs(got - want).max() < 1e-4
    # a pitched head moves the mouth: the 2D target alone would be off by this much
    assert np.abs(frames[1][L.MOUTH_POINTS, :2].reshape(-1) - target).max() > 0.02


def test_placement_never_reads_the_base_frames_own_mouth():
    """Leakage guard: in self-reenactment the base frame's lips are the answer, so moving them
    (or the jaw) must not move the placed target."""
    face = _face(2)
    ident = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    place = HeadPlacement(face[None].astype(np.float32), np.array([True]), ident[None])
    base = (face @ _rotation(0.15, 0.1).T).astype(np.float32)
    target = face[L.MOUTH_POINTS, :2].reshape(-1)
    before = place.place(target, base, ident)
    moved = base.copy()
    moved[L.MOUTH_POINTS] += np.array([0.0, 0.3, 0.05], np.float32)  # the base's mouth opens wide
    assert np.array_equal(place.place(target, moved, ident), before)
    assert not np.isin(L.MOUTH_POINTS, PLACE_POINTS).any()


def test_no_valid_frame_leaves_the_target_where_it_is():
    face = _face(3).astype(np.float32)
    ident = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    place = HeadPlacement(face[None], np.array([False]), ident[None])
    target = face[L.MOUTH_POINTS, :2].reshape(-1)
    assert np.array_equal(place.place(target, face, ident), target.astype(np.float32))


def test_an_implausible_head_fit_leaves_the_target_where_it_is():
    """A tracking failure (upper-face points scattered) must not fling the mouth."""
    face = _face(4)
    ident = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    place = HeadPlacement(face[None].astype(np.float32), np.array([True]), ident[None])
    target = face[L.MOUTH_POINTS, :2].reshape(-1)
    base = (face @ _rotation(0.2, 0.0).T).astype(np.float32)
    assert np.abs(place.place(target, base, ident) - target).max() > 0.01  # a plausible pose moves it
    broken = base.copy()
    broken[PLACE_POINTS] += np.random.default_rng(5).normal(0, 0.4, (len(PLACE_POINTS), 3)).astype(np.float32)
    assert np.array_equal(place.place(target, broken, ident), target.astype(np.float32))
    turned = (face @ _rotation(0.0, np.radians(60)).T).astype(np.float32)  # beyond MAX_TURN_DEG
    assert np.array_equal(place.place(target, turned, ident), target.astype(np.float32))


def _lids_moved(face: np.ndarray, rot: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """The face rotated by ``rot`` with its eyelid points moved by ``delta`` (3,) in the face's own
    (unrotated) frame."""
    moved = face.copy()
    moved[LID_POINTS] += delta
    return (moved @ rot.T).astype(np.float32)


def test_the_eyelid_offset_moves_the_mouth_by_the_models_prediction_in_any_head_pose():
    face = _face(6)
    face[LID_POINTS, 1] = np.linspace(-0.1, 0.1, len(LID_POINTS))  # eyelids in the upper face
    ident = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    weights = np.zeros((3 * len(LID_POINTS), 2))
    weights[1::3, 1] = 0.5 / len(LID_POINTS)  # mean lid height -> half of it down the mouth
    weights[0::3, 0] = -0.25 / len(LID_POINTS)  # mean lid x -> a quarter of it the other way
    model = OffsetModel(weights=weights)
    place = HeadPlacement(face[None].astype(np.float32), np.array([True]), ident[None], offset=model)
    rigid = HeadPlacement(face[None].astype(np.float32), np.array([True]), ident[None])
    target = face[L.MOUTH_POINTS, :2].reshape(-1)
    rot = _rotation(0.2, -0.15)
    still = _lids_moved(face, rot, np.zeros(3))
    assert np.abs(place.place(target, still, ident) - rigid.place(target, still, ident)).max() < 1e-6
    moved = _lids_moved(face, rot, np.array([0.04, 0.02, 0.0]))
    shift = (place.place(target, moved, ident) - rigid.place(target, moved, ident)).reshape(-1, 2)
    # the head's rotation is undone before the model reads the lids: +0.02 up -> 0.01, +0.04 x -> -0.01
    assert np.allclose(shift, [-0.01, 0.01], atol=2e-3)
    far = _lids_moved(face, rot, np.array([0.0, 1.0, 0.0]))  # a wild lid reading is clipped
    shift = (place.place(target, far, ident) - rigid.place(target, far, ident)).reshape(-1, 2)
    assert np.allclose(shift[:, 1], MAX_OFFSET_IOD, atol=1e-5)


def test_the_offset_model_never_reads_the_base_frames_mouth_either():
    """Leakage guard with the eyelid offset: the base's lips, jaw and cheeks do not move the target."""
    face = _face(7)
    ident = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    model = OffsetModel(weights=np.random.default_rng(8).normal(0, 0.3, (3 * len(LID_POINTS), 2)))
    place = HeadPlacement(face[None].astype(np.float32), np.array([True]), ident[None], offset=model)
    base = (face @ _rotation(0.1, 0.1).T).astype(np.float32)
    target = face[L.MOUTH_POINTS, :2].reshape(-1)
    moved = base.copy()
    moved[L.MOUTH_POINTS] += np.array([0.02, 0.3, 0.05], np.float32)
    moved[[50, 280, 123, 352, 205, 425]] += np.array([0.0, -0.05, 0.0], np.float32)  # cheeks rise (a smile)
    assert np.array_equal(place.place(target, moved, ident), place.place(target, base, ident))
    assert not np.isin(LID_POINTS, np.concatenate([L.MOUTH_POINTS, L.FACE_OVAL])).any()


def test_the_offset_model_is_fitted_saved_and_checked_on_load(tmp_path):
    rng = np.random.default_rng(9)
    x = rng.normal(0, 0.02, (2000, 3 * len(LID_POINTS)))
    w = rng.normal(0, 0.1, (x.shape[1], 2))  # offsets within MAX_OFFSET_IOD
    y = x @ w + rng.normal(0, 0.002, (len(x), 2))
    model = OffsetModel.fit(x, y, ridge=1e-6, info="synthetic")
    assert np.corrcoef(model.predict(x)[:, 0], (x @ w)[:, 0])[0, 1] > 0.99
    path = tmp_path / "m.npz"
    model.save(path)
    assert np.array_equal(OffsetModel.load(path).weights, model.weights)
    np.savez(tmp_path / "other.npz", weights=w[:6], points=LID_POINTS[:2], info=np.array(""))
    with pytest.raises(TwintakeError, match="train_placement"):
        OffsetModel.load(tmp_path / "other.npz")
    with pytest.raises(TwintakeError, match="missing.npz"):
        offset_model(str(tmp_path / "missing.npz"))
    assert offset_model("none") is None


def test_the_shipped_offset_model_is_the_default_and_reads_the_lids_it_names():
    model = offset_model(CompositeOptions().offset_model)
    assert model is not None and model.weights.shape == (3 * len(LID_POINTS), 2)
    assert "leave-one-video-out" in model.info


@pytest.mark.parametrize("content", [b"", b"not a zip", np.arange(3).tobytes()])
def test_a_broken_offset_model_file_is_one_clear_error(tmp_path, content):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(content)
    with pytest.raises(TwintakeError, match="broken.npz could not be read"):
        offset_model(str(bad))


def test_collapsed_landmarks_leave_the_target_where_it_is():
    face = _face(10).astype(np.float32)
    ident = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    model = OffsetModel(weights=np.ones((3 * len(LID_POINTS), 2)))
    place = HeadPlacement(face[None], np.array([True]), ident[None], offset=model)
    target = face[L.MOUTH_POINTS, :2].reshape(-1)
    got = place.place(target, np.zeros_like(face), ident)
    assert np.array_equal(got, target.astype(np.float32)) and np.isfinite(got).all()
