"""The artifact measures of ``twintake eval`` (pops, worst-frame LMD, outside change, ghost) on
constructed cases with known answers; ghost validated on a pasted, shifted mouth."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from twintake.evaluate import artifacts as A
from twintake.face import landmarks as L
from twintake.media import iter_frames


def test_pops_counts_one_frame_flashes_only():
    op = np.zeros(100)
    op[20] = 1.0              # a one-frame flash: a pop
    op[50:53] = 1.0           # a three-frame opening: not a pop
    op[80] = 0.2              # a small bump under 25 % of the range: not a pop
    p = A.pops(op, open_range=1.0)
    assert np.flatnonzero(p).tolist() == [20]
    assert A.pops_per_min(op, 1.0, fps=25.0) == pytest.approx(1 / (100 / 25 / 60))
    op[60] = -1.0             # a one-frame closing is a pop too
    assert A.pops(op, 1.0).sum() == 2


def test_lmd_p95_sees_the_worst_frames():
    truth = np.zeros((100, 114))
    gen = truth.copy()
    gen[:10] += 0.1           # 10 % of the frames off by 0.1 * sqrt(2) in every point
    assert A.lmd_p95(gen, truth) == pytest.approx(0.1 * np.sqrt(2))
    assert A.lmd_p95(truth, truth) == 0.0


@pytest.fixture(scope="module")
def face(tiny_photo):
    from twintake.face.tracker import detect_faces

    img = next(iter(iter_frames(tiny_photo))).image
    faces = detect_faces(img)
    assert faces, "the test portrait has a face"
    return img, faces[0]


def test_outside_change_ignores_the_face_and_counts_the_rest(face):
    img, lm = face
    out = img.copy()
    # change the whole face oval: outside_change stays 0
    oval = A.face_region_mask(lm, img.shape[:2])
    out[oval] = 255 - out[oval]
    assert A.outside_change(out, img, lm) == 0.0
    # change a 20x20 block in the top-left corner (outside the face)
    out[:20, :20] = 255 - img[:20, :20] // 2 - 100
    frac = A.outside_change(out, img, lm)
    assert 0.5 * 400 / oval.size < frac <= 400 / oval.size


def _shifted_mouth(img: np.ndarray, lm: np.ndarray, dy: float, erase_old: bool) -> tuple[np.ndarray, np.ndarray]:
    """Paste the mouth ``dy`` px lower, with a feathered mask around the new lips only; with
    ``erase_old`` the old lips are first painted over with the skin around them."""
    h, w = img.shape[:2]
    out = img.copy()
    lips = lm[L.LIPS_OUTER, :2]
    if erase_old:
        m = np.zeros((h, w), np.uint8)
        cv2.fillPoly(m, [np.round(lips).astype(np.int32)], 255)
        m = cv2.dilate(m, np.ones((9, 9), np.uint8))
        out = cv2.inpaint(out, m, 7, cv2.INPAINT_TELEA)
    shift = np.float32([[1, 0, 0], [0, 1, dy]])
    moved = cv2.warpAffine(img, shift, (w, h), borderMode=cv2.BORDER_REFLECT)
    a = np.zeros((h, w), np.float32)
    cv2.fillPoly(a, [np.round(lips + [0, dy]).astype(np.int32)], 1.0)
    a = cv2.GaussianBlur(cv2.dilate(a, np.ones((5, 5), np.uint8)), (0, 0), 2.0)[..., None]
    out = np.clip(out * (1 - a) + moved * a, 0, 255).astype(np.uint8)
    new_lm = lm.copy()
    new_lm[L.LIPS_OUTER, 1] += dy
    new_lm[L.LIPS_INNER, 1] += dy
    return out, new_lm


def test_ghost_sees_old_lips_left_beside_a_pasted_shifted_mouth(face):
    img, lm = face
    iod = float(L.interocular_px(lm[None])[0])
    dy = 0.3 * iod
    ghosty, new_lm = _shifted_mouth(img, lm, dy, erase_old=False)
    clean, _ = _shifted_mouth(img, lm, dy, erase_old=True)
    g_ghost = A.ghost([A.ghost_frame(ghosty, img, lm, new_lm)])
    g_clean = A.ghost([A.ghost_frame(clean, img, lm, new_lm)])
    g_same = A.ghost([A.ghost_frame(img, img, lm, new_lm)])
    assert g_same == pytest.approx(1.0)          # nothing changed: every old edge survives
    assert g_ghost > 0.7                         # the old lips are still there beside the new
    assert g_clean < 0.6 * g_ghost               # painted over: most of the old edges are gone
    # same contours: nothing to measure
    assert np.isnan(A.ghost([A.ghost_frame(img, img, lm, lm)]))
