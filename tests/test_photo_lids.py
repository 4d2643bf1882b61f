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
    monkeypatch.setattr(lids.Lids, "relight", lambda self, out, band, shade=None: None)
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
    """Face Mesh (the blink measure's tracker) reads the rendered shut lid under half the open
    eye (a blink for the measure of ``motion.head.blink_events``; the lid that was grey from
    the eye shadow, with the crease dragged down, read 0.47 here), and the first reopening
    frame (closure 0.55) under its 0.65 hysteresis, as a real eye's reads (0.54): with the
    lash margin's lower edge at the asked position it read 0.62-0.77 and ended the blink a
    frame early."""
    from twintake.render.photo import PhotoCompositor, PhotoMotion

    comp = PhotoCompositor(tiny_photo)

    def frame(blink: float) -> np.ndarray:
        plan = PhotoMotion(open=np.zeros(1, np.float32), width=np.full(1, 0.45, np.float32),
                           blink=np.array([blink], np.float32), head=np.zeros((1, 4)))
        return comp.render(0, comp.image, plan, 0).image

    ap_open, ap_half, ap_shut = (_aperture(frame(b)) for b in (0.0, 0.55, 1.0))
    assert ap_shut < 0.5 * ap_open
    assert ap_half < 0.6 * ap_open


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


def test_the_lid_edge_lands_where_asked(animator) -> None:
    """At closure c the lid's edge - the middle of the photo's lash margin, the dark line a
    viewer and Face Mesh take for the lid - lies c of the way from the open upper lid to the
    lower lid along the eye's middle column (to 0.3 px; it lay half a margin short, 1-2 px)."""
    lids = animator.lids
    for c in (0.3, 0.55, 0.8):
        # the field at sub-pixel rows (the squeezed margin is under a pixel thick)
        offs = np.arange(-0.5, 0.5, 0.05)
        fields = [lids.eyelid_field(c, v_offset=o)[0] for o in offs]
        for e in lids.eyes:
            x = int(round(e["origin"][0]))
            pts, srcs = [], []
            for o, f in zip(offs, fields):
                ys = np.arange(*e["box"][1::2])
                p = np.stack([np.full(len(ys), x, np.float64), ys], 1) + o * lids.down
                pts.append(p)
                srcs.append(p + f[ys, x].astype(np.float64))
            v = (np.concatenate(pts) - e["origin"]) @ lids.down
            vs = (np.concatenate(srcs) - e["origin"]) @ lids.down
            u0 = float((np.array([x, 0.0]) - e["origin"]) @ lids.right)
            vu = float(np.interp(u0, e["us"], e["vu"]))
            vl = float(np.interp(u0, e["ls"], e["vl"]))
            m = 0.08 * e["ew"]
            # the output row showing the margin's middle: the first whose source is past it
            order = np.argsort(v)
            v, vs = v[order], vs[order]
            edge = float(v[np.argmax(vs >= vu - 0.5 * m)])
            assert abs(edge - (vu + c * (vl - vu))) < 0.35, (c, edge, vu, vl)


def _lab(img: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def _shut_lid_vs_skin(an) -> list[float]:
    """Per eye of a rendered shut frame: the CIELAB distance of the lid's median colour (over
    the eye opening) from the photo's median skin 0.12-0.35 eye widths round the eye, leaving
    out pixels darker than 0.6 x that ring's median (brow, lashes, liner)."""
    import cv2

    from twintake.render.photo.look import EYE_LOOPS, polygon_mask

    h, w = an.crop.shape[:2]
    shut, _ = an.frame(0.0, 0.45, 1.0, 0.0)
    lab, lab0 = _lab(shut), _lab(an.crop)
    out = []
    for loop, e in zip(EYE_LOOPS, an.lids.eyes):
        eye = polygon_mask(an.lm[loop], (w, h)) > 0.5
        ew = e["ew"]
        grown = [cv2.dilate(eye.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1,) * 2)) > 0
                 for k in (int(round(0.35 * ew)) | 1, int(round(0.12 * ew)) | 1)]
        ring = grown[0] & ~grown[1]
        ring &= lab0[..., 0] >= 0.6 * np.median(lab0[..., 0][ring])
        out.append(float(np.linalg.norm(np.median(lab[eye], 0) - np.median(lab0[ring], 0))))
    return out


@pytest.mark.parametrize("name", ["avg_woman1.jpg", "avg_woman2.jpg", "sadtalker_people_0.png"])
def test_shut_lid_is_the_skin_round_the_eye(media, name) -> None:
    """The shut lid takes the colour of the skin round the eye (CIELAB distance under 7.5, its
    convex shading included): the lid relit to the face's tone at the under-eye skin's
    lightness was 8-12 away on one eye of each (sadtalker_people_0, avg_woman1, avg_woman2)
    and read as a pale, flat, pasted patch."""
    from twintake.render.photo import PhotoCompositor

    an = PhotoCompositor(media / "portrait" / name, size=(512, 512)).animator
    for de in _shut_lid_vs_skin(an):
        assert de < 7.5, (name, de)
