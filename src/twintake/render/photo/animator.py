"""The photo animator: one frame of a photo's working crop for a mouth shape, a blink and a
head pose (flat memory: nothing is kept per frame).

1. **Warp** - target positions of the inner/outer lip, the jaw line and the eyelids are turned
   into a smooth backward displacement field by a thin-plate spline (Bookstein, "Principal
   warps: thin-plate splines and the decomposition of deformations", IEEE TPAMI 11(6), 1989)
   fitted with fixed anchors on the upper face and a ring around the head, evaluated on a coarse
   grid, upsampled and applied with ``cv2.remap`` (as the fine warp of
   :mod:`twintake.render.video.composite`). The lower lip and chin follow the opening (jaw drop), the
   upper lip rises slightly; each outer-lip point follows the inner contour of its own lip
   (interpolated along the mouth), so the lips never fold over each other. Fields are fitted
   once per node of a grid in (opening, width) space and blended (:meth:`PhotoAnimator.warp_field`).
2. **Mouth interior** - the open mouth's inside (upper teeth band, dark cavity, tongue hint) is
   painted from the lip-aligned model of :mod:`twintake.render.photo.mouth_interior`, lit like the
   photo (its own teeth when it shows some, else skin and eye whites) and blurred or sharpened
   to the photo's measured sharpness at working scale.
3. **Blinks** - the photo's own upper lid unfolds down over the eye: the lash margin slides
   onto the lower lid, the lid skin above it stretches (:meth:`PhotoAnimator.eyelid_field`).
4. **Brows** - lifted on emphasis by a smooth bump around them that fades at the lids
   (:meth:`PhotoAnimator.brow_field`). Head motion is applied afterwards on the whole photo
   (:mod:`twintake.render.photo.body`).

The motion itself (mouth, blinks, head, brows) comes from :mod:`twintake.motion.photo`.
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
from scipy.interpolate import RBFInterpolator

from ...face import landmarks as L
from ...motion.visemes import VISEMES
from .lids import L_LOWER, L_UPPER, R_LOWER, R_UPPER, Lids
from .mouth_interior import MouthInteriorModel, PhotoLook, PhotoMouth

__all__ = ["PhotoAnimator"]

# Eyelid contours (MediaPipe FACEMESH_RIGHT_EYE / LEFT_EYE), upper and lower lid in matching
# order from the outer to the inner corner.
_EYE_CORNERS = np.array([33, 133, 263, 362])
_BROWS = np.array([70, 63, 105, 66, 107, 300, 293, 334, 296, 336, 55, 285])
_NOSE = np.array([1, 2, 4, 5, 6, 195, 197, 98, 327, 48, 278, 64, 294, 168])
_CHEEKS = np.array([147, 187, 205, 425, 411, 376, 123, 352, 50, 280, 116, 345])
#: Node spacing of the cached warp fields in mouth space (opening, width).
_OP_STEP = 0.1
_WD_STEP = 0.1
#: Chin centre line between lower lip and chin (moves with the jaw).
_CHIN_LINE = np.array([18, 200, 199, 175])
#: A photo whose inner-lip gap exceeds this fraction of the inner mouth width has an open rest.
_OPEN_REST = 0.05
#: Real speech's inner-lip opening / inner mouth width, 99th percentile, when the model file
#: does not store it (measured by scripts/train_mouth_model.py on the 9 real talking videos).
_REAL_OPEN_P99 = 0.40
#: An open photo keeps at least this much opening range (inner widths) above its own gap.
_MIN_HEADROOM = 0.08


class PhotoAnimator:
    """Per-frame warp of the working crop (see the module docstring)."""

    def __init__(self, crop: np.ndarray, lm: np.ndarray, interior: MouthInteriorModel) -> None:
        self.crop = crop
        #: content seed of the photo: a hash of the crop (two photos never blink in unison)
        self.photo_seed = int.from_bytes(hashlib.blake2b(np.ascontiguousarray(crop[::3, ::3]).tobytes(),
                                                         digest_size=8).digest(), "little")
        self.lm = lm
        self.interior = interior
        h, w = crop.shape[:2]
        self.size = (w, h)
        e = lm[263] - lm[33]
        self.iod = float(np.linalg.norm(L.eye_centres(lm[None])[1][0] - L.eye_centres(lm[None])[0][0]))
        self.right = e / max(float(np.linalg.norm(e)), 1e-6)
        self.down = np.array([-self.right[1], self.right[0]])
        self.fw = float(np.linalg.norm(lm[454] - lm[234]))
        self.mw = float(np.linalg.norm(lm[291] - lm[61]))
        inner = lm[L.LIPS_INNER]
        # lighting and sharpness of the photo at working scale, for the synthesized interior
        self.look = PhotoLook.measure(crop, lm)
        # lip midline between the photo's upper and lower inner lip (closed relaxed mouth)
        upper = inner[1:10]
        lower = inner[19:10:-1]
        self.mid = 0.5 * (upper + lower)
        self.photo_gap = (lower - upper) @ self.down
        #: the photo's own inner-lip gap per column (9,), pixels: the rest pose keeps it
        self.rest_gap = np.maximum(self.photo_gap, 0.0)
        #: the photo shows an open mouth (centre gap over 5 % of the inner mouth width)
        span0 = float(np.linalg.norm(inner[10] - inner[0]))
        self.rest_open = float(self.rest_gap[4]) > _OPEN_REST * max(span0, 1e-6)
        # an open photo showing its own teeth keeps them (no second, generic set)
        self.own = None
        if self.rest_open and self.look.teeth is not None:
            self.own = PhotoMouth(crop, inner, interior, self.look)
        c0, c1 = inner[0], inner[10]
        span = float(np.linalg.norm(c1 - c0))
        self.xfrac = np.clip(((self.mid - c0) @ self.right) / max(span, 1e-6), 0.02, 0.98)
        self.prof = np.sin(np.pi * self.xfrac) ** 0.6
        self.centre_mouth = 0.5 * (c0 + c1)
        self._outer_follow = self._outer_lip_weights()
        # control points: moving sets
        self.moving = np.concatenate([L.LIPS_INNER, L.LIPS_OUTER, L.JAW, _CHIN_LINE])
        self.lids = Lids(crop, lm, self.right, self.down, self.look.skin)
        self.eyes = self.lids.eyes
        oval = lm[L.FACE_OVAL]
        cx, cy = oval.mean(0)
        chin = lm[L.CHIN]
        fixed_idx = np.unique(np.concatenate([L.STABLE, _EYE_CORNERS, _BROWS, _NOSE, _CHEEKS, R_LOWER, L_LOWER,
                                              R_UPPER, L_UPPER, L.FACE_OVAL[:9], L.FACE_OVAL[-9:]]))
        fixed_idx = np.setdiff1d(fixed_idx, self.moving)
        # ring around the face (and well below the chin) that never moves
        ang = np.linspace(0, 2 * np.pi, 28, endpoint=False)
        rx = 0.5 * float(np.ptp(oval @ self.right)) + 0.28 * self.fw
        ry_up = 0.5 * float(np.ptp(oval @ self.down)) + 0.28 * self.fw
        centre = np.array([cx, cy])
        below = float((chin - centre) @ self.down) + 0.35 * self.fw
        ry = np.where(np.sin(ang) > 0, below, ry_up)
        ring_pts = centre + (np.cos(ang) * rx)[:, None] * self.right + (np.sin(ang) * ry)[:, None] * self.down
        bx = np.linspace(0, w - 1, 6)
        by = np.linspace(0, h - 1, 6)
        border = np.concatenate([np.stack([bx, np.zeros(6)], 1), np.stack([bx, np.full(6, h - 1.0)], 1),
                                 np.stack([np.zeros(6), by], 1), np.stack([np.full(6, w - 1.0), by], 1)])
        self.fixed = np.concatenate([lm[fixed_idx], ring_pts, border])
        # warp mask: inside the ring, feathered
        poly = centre + (np.cos(ang) * (rx - 0.04 * self.fw))[:, None] * self.right + \
            (np.sin(ang) * (ry - 0.04 * self.fw))[:, None] * self.down
        mask = np.zeros((h, w), np.float32)
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1.0, lineType=cv2.LINE_AA)
        self.warp_mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.05 * self.fw))
        # blend mask for pasting back: wherever anything may move
        self.paste_mask = np.clip(self.warp_mask * 1.02, 0, 1)
        self.brow_weight = self._brow_weight()
        step = int(max(4, min(w, h) / 48))
        gx, gy = np.meshgrid(np.arange(0, w + step, step, dtype=np.float64),
                             np.arange(0, h + step, step, dtype=np.float64))
        self._grid = np.stack([gx.ravel(), gy.ravel()], 1)
        self._grid_shape = gx.shape
        self._step = step
        self._nodes: dict[tuple[int, int], np.ndarray | None] = {}
        self._px, self._py = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))

    def _outer_lip_weights(self) -> np.ndarray:
        """(20, 20) float64 matrix F: displacement of the outer lip contour = F @ displacement
        of the inner contour (both in :data:`LIPS_OUTER` / :data:`LIPS_INNER` order).

        Each upper (lower) outer point takes the displacement of the upper (lower) inner contour
        linearly interpolated at its position along the mouth axis; the upper lip's top edge
        follows by 0.75 (the lip stretches), corners follow the inner corners. Matching by
        contour, not by nearest point: on a closed mouth the nearest inner point of an upper
        outer point is often on the *lower* inner lip, which folds the lip over itself."""
        lm = self.lm
        inner = lm[L.LIPS_INNER]
        c0, c1 = inner[0], inner[10]
        span = max(float(np.linalg.norm(c1 - c0)), 1e-6)
        u_in = ((inner - c0) @ self.right) / span
        chains = (np.arange(0, 11), np.r_[np.arange(10, 20), 0])  # upper, lower inner chains (corner to corner)
        f = np.zeros((20, 20))
        f[0, 0] = f[10, 10] = 1.0
        for j, idx in enumerate(L.LIPS_OUTER):
            if j in (0, 10):
                continue
            chain = chains[0] if j < 10 else chains[1]
            gain = 0.75 if j < 10 else 1.0
            uc = u_in[chain]
            order = np.argsort(uc)
            uc, ch = uc[order], chain[order]
            u = float(np.clip(((lm[idx] - c0) @ self.right) / span, uc[0], uc[-1]))
            k = int(np.clip(np.searchsorted(uc, u) - 1, 0, len(uc) - 2))
            t = (u - uc[k]) / max(float(uc[k + 1] - uc[k]), 1e-9)
            f[j, ch[k]] += gain * (1 - t)
            f[j, ch[k + 1]] += gain * t
        return f

    def eyelid_field(self, blink: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The blink warp of both eyes (:meth:`.lids.Lids.eyelid_field`)."""
        return self.lids.eyelid_field(blink)

    def _inner_width(self, wd: np.ndarray) -> np.ndarray:
        """Target inner-mouth width (corner 78 to 308, working pixels) at width ``wd``."""
        span0 = float(np.linalg.norm(self.lm[L.LIPS_INNER[10]] - self.lm[L.LIPS_INNER[0]]))
        return np.maximum(span0 + 2.0 * (np.asarray(wd, np.float64) - VISEMES["sil"].width) * 0.16 * self.mw, 1e-6)

    def opening_ratio(self, op: np.ndarray, wd: np.ndarray) -> np.ndarray:
        """Centre inner-lip gap (13-14) over inner-mouth width (78-308) of the target mouth at
        opening ``op`` >= 0 and width ``wd`` (arrays of one shape, float64): the photo's own gap
        plus ``op`` x 0.42 mouth widths (:meth:`targets`)."""
        gap = float(self.rest_gap[4]) + np.asarray(op, np.float64) * 0.42 * self.mw * float(self.prof[4])
        return gap / self._inner_width(wd)

    def limit_opening(self, op: np.ndarray, wd: np.ndarray) -> np.ndarray:
        """Openings ``op`` (T,) of an *open* photo's mouth, softly compressed so the total
        inner-lip gap stays within real speech; (T,) float32, unchanged for ``op`` <= 0
        (closures) and for photos whose mouth is closed at rest.

        Openings add to the photo's own gap (the rest pose), so a smile already open by 0.15-0.22
        inner widths would reach 0.5-0.6 (a scream) on loud syllables. The total opening ratio
        ``r = r0 + e`` (:meth:`opening_ratio`; ``r0`` the photo's own) becomes
        ``r0 + e / sqrt(1 + (e / H)^2)`` with ``H = max(c - r0, 0.08)`` and ``c`` the 99th
        percentile of real speech (``MouthInteriorModel.open_pct``, 0.40; 0.08 keeps speech
        visible on a photo already open that wide): slope 1 at the rest, 0.71 H at ``e = H``,
        0.89 H at ``2 H``, never above ``c`` (no hard clip: louder still means wider). Face mesh
        reads the widest frames of the output at 0.29-0.35 inner widths, around the real 95th
        percentile (0.31; docs/photo.md)."""
        op = np.asarray(op, np.float64)
        if not self.rest_open:
            return op.astype(np.float32)
        wd = np.broadcast_to(np.asarray(wd, np.float64), op.shape)
        pct = self.interior.open_pct
        cap = float(pct[3]) if pct is not None and len(pct) >= 4 else _REAL_OPEN_P99
        r0 = self.opening_ratio(np.zeros_like(op), wd)
        e = np.maximum(self.opening_ratio(np.maximum(op, 0.0), wd) - r0, 0.0)
        hr = np.maximum(cap - r0, _MIN_HEADROOM)
        e2 = e / np.sqrt(1.0 + (e / hr) ** 2)
        per_op = np.maximum(self.opening_ratio(np.ones_like(op), wd) - r0, 1e-9)
        return np.where(op > 0, e2 / per_op, op).astype(np.float32)

    def targets(self, op: float, wd: float) -> tuple[np.ndarray, np.ndarray]:
        """Target positions (M, 2) of the moving control points (lips, jaw, chin line) and
        the target inner-lip polygon (20, 2), working pixels, for opening ``op`` and width
        ``wd`` (0..1, 0.45 = rest).

        ``op`` is relative to the photo's own mouth, which is the rest pose: 0 = exactly the
        photo's lips (a smiling photo keeps its smile), > 0 (up to ~1.3) opens further by
        ``op`` x 0.42 mouth widths, < 0 (down to -1) closes the photo's own opening by the
        fraction ``-op`` (bilabial closures of an open-mouthed photo; at -1, 90 % of the gap,
        :class:`PhotoMouth` paints the rest as the seam of closed lips): the upper lip comes
        down by 45 % of the closed gap, the lower lip and, partly, the jaw rise by 55 %."""
        lm = self.lm
        d, r = self.down, self.right
        gap_max = 0.42 * self.mw  # widest inner-lip gap
        opp, close = max(float(op), 0.0), min(max(-float(op), 0.0), 1.0)
        gap = opp * gap_max * self.prof  # (9,)
        # (9,) how much of the photo's own gap is closed: 90 %, the rest is painted as the lips'
        # seam (coincident targets would fold the backward warp)
        shut = 0.9 * close * self.rest_gap
        widen = (wd - VISEMES["sil"].width) * 0.16 * self.mw  # per corner, pixels
        lat = ((2 * self.xfrac - 1) * widen)[:, None] * r  # (9, 2)
        # open from the photo's own lips (at op = 0 the mouth is exactly the photo's: no squeeze)
        up = lm[L.LIPS_INNER[1:10]] - (0.28 * gap - 0.45 * shut)[:, None] * d + lat
        lo = lm[L.LIPS_INNER[19:10:-1]] + (0.72 * gap - 0.55 * shut)[:, None] * d + lat
        jaw_drop = 0.72 * opp * gap_max - 0.3 * close * float(self.rest_gap[4])
        inner = lm[L.LIPS_INNER].copy()
        corner_shift = 0.25 * jaw_drop * d
        inner[0] = inner[0] - widen * r + corner_shift
        inner[10] = inner[10] + widen * r + corner_shift
        inner[1:10] = up
        inner[19:10:-1] = lo
        disp_in = inner - lm[L.LIPS_INNER]
        # outer lip points follow the inner contour of *their own* lip (see _outer_lip_weights)
        outer = lm[L.LIPS_OUTER] + self._outer_follow @ disp_in
        jaw = lm[L.JAW].copy()
        n = len(L.JAW)
        wgt = np.clip(1.0 - np.abs(np.arange(n) - (n - 1) / 2) / ((n - 1) / 2), 0, 1) ** 0.8
        jaw = jaw + (wgt * jaw_drop)[:, None] * d + (wgt * 0.0)[:, None]
        chin_line = lm[_CHIN_LINE] + np.array([0.9, 0.95, 1.0, 1.0])[:, None] * jaw_drop * d
        tgt = np.concatenate([inner, outer, jaw, chin_line])
        return tgt, inner

    def coarse_field(self, tgt: np.ndarray) -> np.ndarray | None:
        """Backward displacement (output -> photo) on the coarse grid, (gh, gw, 2) float32
        working pixels, for the moving control points at ``tgt``; None when ~0."""
        src = self.lm[self.moving]
        disp = src - tgt
        if float(np.abs(disp).max()) < 0.05:
            return None
        pts = np.concatenate([tgt, self.fixed])
        vals = np.concatenate([disp, np.zeros((len(self.fixed), 2))])
        rbf = RBFInterpolator(pts, vals, kernel="thin_plate_spline", smoothing=2.0)
        coarse = rbf(self._grid).reshape(*self._grid_shape, 2).astype(np.float32)
        # a spline can overshoot between close control points: never move further than the
        # largest control displacement
        lim = float(np.linalg.norm(disp, axis=1).max())
        nrm = np.linalg.norm(coarse, axis=2, keepdims=True)
        coarse *= np.minimum(1.0, lim / np.maximum(nrm, 1e-6))
        return coarse

    def _node(self, i: int, j: int) -> np.ndarray | None:
        """Cached coarse field at the mouth-space node (i * _OP_STEP, j * _WD_STEP)."""
        key = (i, j)
        if key not in self._nodes:
            self._nodes[key] = self.coarse_field(self.targets(i * _OP_STEP, j * _WD_STEP)[0])
        return self._nodes[key]

    def warp_field(self, op: float, wd: float) -> np.ndarray | None:
        """Backward displacement (h, w, 2) float32 (output -> photo) for opening ``op`` and
        width ``wd``, or None when ~0.

        The control targets are affine in (op, wd) and the spline's field varies smoothly with
        them, so fields are fitted once per node of a 0.1 x 0.1 grid in that space, cached and
        blended bilinearly: within 0.05 working pixels of a direct fit (0.4 px just above
        closure), while a direct fit per frame cost ~20 ms, most of the frame time."""
        x, y = op / _OP_STEP, wd / _WD_STEP
        i0, j0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - i0, y - j0
        coarse = None
        for di, dj, wgt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
            if wgt < 1e-6:
                continue
            node = self._node(i0 + di, j0 + dj)
            if node is not None:
                coarse = wgt * node if coarse is None else coarse + wgt * node
        if coarse is None or float(np.abs(coarse).max()) < 0.05:
            return None
        gh, gw = self._grid_shape
        w, h = self.size
        full = cv2.resize(coarse, ((gw - 1) * self._step + 1, (gh - 1) * self._step + 1),
                          interpolation=cv2.INTER_LINEAR)[:h, :w]
        return full * self.warp_mask[..., None]

    def frame(self, op: float, wd: float, blink: float, brow: float = 0.0) -> tuple[np.ndarray, bool]:
        """Render one working-crop frame: (h, w, 3) uint8 and whether anything changed.

        Args:
            op, wd: mouth opening and width (:meth:`targets`); blink: lid closure 0..1;
            brow: eyebrow lift in inter-ocular distances (+ = up; :meth:`brow_field`).
        Head motion is applied on the whole photo afterwards (:class:`.body.BodyMotion`)."""
        tgt, inner = self.targets(op, wd)
        field = self.warp_field(op, wd)
        if abs(brow) * self.iod > 0.05:
            bf = self.brow_field(brow)
            field = bf if field is None else field + bf
        lids = self.lids.eyelid_field(blink)
        other = field
        if lids is not None:
            field = lids[0] if field is None else field + lids[0]
        if field is None:
            return self.crop, False
        qx = self._px + field[..., 0]
        qy = self._py + field[..., 1]
        out = cv2.remap(self.crop, qx, qy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        if lids is not None:
            self.lids.supersample(out, blink, other, self._px, self._py)
            self.lids.relight(out, lids[1], lids[2])
            self.lids.lashes(out, blink)
        gap_px = float(np.linalg.norm(inner[15] - inner[5]))
        if self.own is not None:
            # the photo's own teeth, hanging from the upper lip / rising with the lower lip
            self.own.paint(out, inner, strength=1.0)
        else:
            # the generic interior; on an open photo only where the mouth opens beyond its own
            excess = gap_px - float(self.rest_gap[4]) if self.rest_open else gap_px
            if excess > 0.8:
                strength = excess / max(2.0, 0.06 * self.mw) if self.rest_open else excess / 2.0
                self.interior.paint(out, inner, self.look, strength=float(np.clip(strength, 0, 1)),
                                    iod_px=self.iod)
        return out, True

    def brow_field(self, lift: float) -> np.ndarray:
        """Backward displacement (h, w, 2) float32 lifting both eyebrows by ``lift`` inter-ocular
        distances: a smooth bump around the brows (:attr:`brow_weight`) that fades to zero at
        the upper lids and on the forehead, so the lids and the hairline stay put."""
        d = float(lift) * self.iod
        return self.brow_weight[..., None] * (d * self.down).astype(np.float32)

    def _brow_weight(self) -> np.ndarray:
        """(h, w) float32 weight of the brow lift (1 on the brows)."""
        h, w = self.crop.shape[:2]
        m = np.zeros((h, w), np.float32)
        th = max(1, int(round(0.12 * self.iod)))
        for idx in (_BROWS[:5], _BROWS[5:10]):
            pts = np.round(self.lm[idx]).astype(np.int32)
            cv2.polylines(m, [pts], False, 1.0, th, cv2.LINE_AA)
        m = cv2.GaussianBlur(m, (0, 0), max(1.0, 0.12 * self.iod))
        m /= max(float(m.max()), 1e-6)
        # nothing moves at and below the upper lids
        lids = np.zeros((h, w), np.float32)
        for up in (R_UPPER, L_UPPER):
            loop = np.concatenate([self.lm[up], self.lm[up][::-1] + 0.6 * self.iod * self.down])
            cv2.fillPoly(lids, [np.round(loop).astype(np.int32)], 1.0, cv2.LINE_AA)
        lids = cv2.GaussianBlur(lids, (0, 0), max(1.0, 0.05 * self.iod))
        return (m * (1.0 - lids)).astype(np.float32)
