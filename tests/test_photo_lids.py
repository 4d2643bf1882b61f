"""Blinks of a photo: the closed lid is supersampled (render/photo/lids.py)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def animator(tiny_photo):
    from twintake.render.photo import PhotoCompositor

    return PhotoCompositor(tiny_photo).animator


def _jag(img: np.ndarray, boxes) -> float:
    """Mean absolute luma step between neighbouring columns inside the eye boxes."""
    luma = img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return float(np.mean([np.abs(np.diff(luma[y0:y1, x0:x1], axis=1)).mean() for x0, y0, x1, y1 in boxes]))


def test_a_closed_lid_is_smoother_with_supersampling(animator, monkeypatch) -> None:
    import twintake.render.photo.lids as lids

    boxes = [e["box"] for e in animator.eyes]
    # the warp alone (the relit lid and the lashes drawn over it are the same in both)
    monkeypatch.setattr(lids.Lids, "relight", lambda self, out, band, shade=None, fold_w=None: None)
    monkeypatch.setattr(lids.Lids, "lashes", lambda self, out, blink: None)
    smooth, _ = animator.frame(0.0, 0.45, 1.0)
    monkeypatch.setattr(lids, "_SUPERSAMPLE_FROM", 2.0)  # off
    jagged, _ = animator.frame(0.0, 0.45, 1.0)
    assert _jag(smooth, boxes) < 0.9 * _jag(jagged, boxes)
    # outside the eyes nothing differs
    mask = np.ones(smooth.shape[:2], bool)
    for x0, y0, x1, y1 in boxes:
        mask[y0:y1, x0:x1] = False
    assert np.array_equal(smooth[mask], jagged[mask])


def test_an_open_eye_is_untouched_by_the_supersampling(animator, monkeypatch) -> None:
    import twintake.render.photo.lids as lids

    a, _ = animator.frame(0.0, 0.45, 0.2)
    monkeypatch.setattr(lids, "_SUPERSAMPLE_FROM", 2.0)
    b, _ = animator.frame(0.0, 0.45, 0.2)
    assert np.array_equal(a, b)


def _aperture(image: np.ndarray) -> float:
    from twintake.face.mediapipe import MediaPipeTracker
    from twintake.motion.head import eyelid_aperture

    faces = MediaPipeTracker().detect(image, 1)
    assert faces, "no face on the rendered frame"
    return float(eyelid_aperture(faces[0][None])[0])


def test_face_mesh_sees_the_shut_lid_shut(tiny_photo) -> None:
    """Face Mesh (the blink measure's tracker) reads the rendered shut lid well under half the
    open eye (real closed eyes pasted on portraits read 0.27-0.45; the lid that was grey from
    the eye shadow, with the crease dragged down, read 0.47 here), and half-closed in between."""
    from twintake.render.photo import PhotoCompositor, PhotoMotion

    comp = PhotoCompositor(tiny_photo)

    def frame(blink: float) -> np.ndarray:
        plan = PhotoMotion(open=np.zeros(1, np.float32), width=np.full(1, 0.45, np.float32),
                           blink=np.array([blink], np.float32), head=np.zeros((1, 4)))
        return comp.render(0, comp.image, plan, 0).image

    ap_open, ap_half, ap_shut = (_aperture(frame(b)) for b in (0.0, 0.45, 1.0))
    assert ap_shut < 0.35 * ap_open
    assert ap_shut < ap_half < ap_open


def test_the_crease_stays_while_the_lid_unfolds(animator) -> None:
    """The lid skin is stretched from just above the crease: along the eye's middle column the
    crease moves down by under a third of the lash line's travel (dragging it down with the
    lashes drew a second lid line, kinked at the eye corners)."""
    lids = animator.lids
    for e in lids.eyes:
        field = lids.eyelid_field(1.0)[0]
        m = 0.08 * e["ew"]
        vu = float(np.interp(0.0, e["us"], e["vu"]))
        vl = float(np.interp(0.0, e["ls"], e["vl"]))
        vs = np.arange(vu - m - e["crease"] - 0.2 * e["ew"], vl + 1.0, 0.25)
        pts = e["origin"][None] + vs[:, None] * lids.down[None]
        fx = cv2_sample(field[..., 0], pts)
        fy = cv2_sample(field[..., 1], pts)
        src = vs + fx * lids.down[0] + fy * lids.down[1]  # where each output row samples the photo
        where = lambda s: float(np.interp(s, src, vs))  # noqa: E731 - output row of photo row s
        crease = vu - m - e["crease"]
        travel_lash = where(vu - 1e-3) - vu
        travel_crease = where(crease) - crease
        assert travel_lash > 0.8 * (vl - vu)
        assert travel_crease < travel_lash / 3


def cv2_sample(img: np.ndarray, pts: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.remap(img, pts[None, :, 0].astype(np.float32), pts[None, :, 1].astype(np.float32),
                     cv2.INTER_LINEAR)[0]
