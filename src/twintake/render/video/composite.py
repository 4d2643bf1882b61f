"""Putting a chosen source mouth onto a base frame.

For output frame t with base frame b and chosen source frame s:
1. the bank crop of s (already face-aligned) is finely warped so its lip and jaw landmarks move
   to the target shape (thin-plate-spline displacement field, Bookstein 1989, evaluated on a
   coarse grid and upsampled);
2. it is warped into b's pose with b's similarity transform;
2b. the base frame's own lips and jaw are moved to the same target shape by a second TPS field,
   weighted by the union of the old and new face regions (skin moves, what lies below the chin
   does not), so the old mouth corners, lip line and jaw contour do not show through the blend;
3. it is blended with a feathered lower-face mask, after a smooth colour correction computed
   from the mask border by normalized convolution (Knutsson & Westin 1993) — a cheap membrane
   interpolation in the spirit of Poisson image editing (Pérez et al. 2003) and of
   "Coordinates for instant image cloning" (Farbman et al. 2009).
Pixels outside the mask are the base frame's, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.interpolate import RBFInterpolator

from ...face import landmarks as L
from ...face.align import apply_affine, invert_affine
from ..region import BlendRegion
from .bank import CropBox

_MASK_POINTS = np.concatenate([L.JAW, L.MASK_TOP])
_NOSTRILS_IN_MID = np.array([int(np.flatnonzero(L.MID_FACE == i)[0]) for i in (2, 98, 327, 64, 294)])
_JAW_IN_DESC = np.arange(len(L.LIPS_OUTER) + len(L.LIPS_INNER), len(L.MOUTH_POINTS))
#: Per jaw point: 1 at the chin, 0 at the two ends under the ears.
_CHIN_WEIGHT = np.clip(1.0 - np.abs(np.arange(len(L.JAW)) - (len(L.JAW) - 1) / 2) / ((len(L.JAW) - 1) / 2),
                       0, 1) ** 0.7


@dataclass
class CompositeOptions:
    """Options of the compositing step.

    Attributes:
        fine_warp: warp the chosen mouth's landmarks onto the target shape.
        max_warp_iod: largest landmark displacement of the fine warp, inter-ocular units.
        feather_iod: width of the mask's soft edge, inter-ocular units.
        grow_iod: how far the mask extends beyond the jaw line, inter-ocular units.
        color_correct: apply the border colour correction.
        warp_base: move the base frame's own lips and jaw to the target shape before blending
            (needs the base's mouth points), so no edge of the old shape survives under the
            feathered edge; only the face moves: below the lower of the two chins the base
            frame stays put.
        max_base_warp_iod: largest displacement of the base warp, inter-ocular units.
        chin_drop_iod: how far below the target jaw line the chosen mouth may still be blended
            (0: the chin contour and what lies below it - collar, scarf, beard - come from the
            warped base frame).
        warp_grid: cells of the warps' coarse displacement grid along the crop's shorter side
            (finer grids keep the inner and outer lip contours apart, so the opening follows the
            target).
        placement: how the target mouth is placed in the base frame: ``"head"`` (default) moves
            it with the base frame's 3D head pose fitted to the upper face
            (:class:`twintake.render.video.place.HeadPlacement`); ``"nose"`` adds ``nose_follow``
            times the base frame's nose offset from the person's mean nose position (the
            earlier placement; compared in ``docs/video.md``).
        nose_follow: share of the nose offset added with ``placement="nose"``.
        offset_model: with ``placement="head"``, the eyelids' mouth offset model
            (:class:`twintake.render.video.place.OffsetModel`): ``"default"`` (shipped),
            ``"none"`` (the rigid head placement alone) or the path of a model written by
            ``scripts/train_placement.py``.
        switch_fade_frames: at a cut to another source segment, the mouth shown last is
            warped to the new target and cross-faded out over this many frames (weights 2/3,
            1/3 for 2). Off by default: averaging two mouths blurs the lip seam, and the
            re-tracked pauses opened (silent mouth 0.028 -> 0.069 of the range on 12 videos).
    """

    fine_warp: bool = True
    max_warp_iod: float = 0.12
    feather_iod: float = 0.12
    grow_iod: float = 0.03
    color_correct: bool = True
    warp_base: bool = True
    max_base_warp_iod: float = 0.3
    chin_drop_iod: float = 0.0
    switch_fade_frames: int = 0
    warp_grid: int = 24
    placement: str = "head"
    nose_follow: float = 0.5
    offset_model: str = "default"


def smooth(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; large sigmas are applied on a downscaled copy (same result to the eye,
    10-50x faster)."""
    if sigma <= 3.0:
        return cv2.GaussianBlur(img, (0, 0), sigma)
    f = int(min(sigma / 1.5, 16))
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / f)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


class Compositor:
    """Blends bank crops onto base frames (see module docstring).

    Args:
        box: the bank's crop box.
        options: compositing options.
    """

    def __init__(self, box: CropBox, options: CompositeOptions | None = None) -> None:
        self.box = box
        self.o = options or CompositeOptions()
        self.size = (box.width_px, box.height_px)
        a2c = box.aligned_to_crop()
        self._a2c = a2c
        # fixed anchors of the fine warp: the crop border and the row under the nose
        w, h = self.size
        xs = np.linspace(0, w - 1, 9)
        ys = np.linspace(0, h - 1, 9)
        border = np.concatenate([np.stack([xs, np.zeros_like(xs)], 1), np.stack([xs, np.full_like(xs, h - 1)], 1),
                                 np.stack([np.zeros_like(ys), ys], 1), np.stack([np.full_like(ys, w - 1), ys], 1)])
        self._border = border
        step = max(3, int(min(w, h) / self.o.warp_grid))
        gx, gy = np.meshgrid(np.arange(0, w + step, step, dtype=np.float64),
                             np.arange(0, h + step, step, dtype=np.float64))
        self._grid = np.stack([gx.ravel(), gy.ravel()], 1)
        self._grid_shape = gx.shape
        self._step = step
        gx2, gy2 = np.meshgrid(np.arange(0, w + 2 * step, 2 * step, dtype=np.float64),
                               np.arange(0, h + 2 * step, 2 * step, dtype=np.float64))
        self._grid2 = np.stack([gx2.ravel(), gy2.ravel()], 1)
        self._grid2_shape = gx2.shape
        px, py = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        self._px, self._py = px, py

    def _fine_warp(self, crop: np.ndarray, src_pts: np.ndarray, dst_pts: np.ndarray) -> np.ndarray:
        """Warp ``crop`` so that ``src_pts`` (crop px) land on ``dst_pts`` (crop px)."""
        lim = self.o.max_warp_iod * self.box.scale
        d = src_pts - dst_pts
        norm = np.linalg.norm(d, axis=1, keepdims=True)
        d = d * np.minimum(1.0, lim / np.maximum(norm, 1e-9))
        if float(np.abs(d).max()) < 0.3:
            return crop
        # pin the nose: a row of fixed points a little above the upper lip
        top = float(src_pts[: len(L.LIPS_OUTER), 1].min()) - 0.15 * self.box.scale
        w = self.size[0]
        row = np.stack([np.linspace(0, w - 1, 9), np.full(9, top)], 1)
        fixed = np.concatenate([self._border, row])
        pts = np.concatenate([dst_pts, fixed])
        disp = np.concatenate([d, np.zeros_like(fixed)])
        rbf = RBFInterpolator(pts, disp, kernel="thin_plate_spline", smoothing=1.0)
        coarse = rbf(self._grid).reshape(*self._grid_shape, 2).astype(np.float32)
        w, h = self.size
        gh, gw = self._grid_shape
        full = cv2.resize(coarse, ((gw - 1) * self._step + 1, (gh - 1) * self._step + 1),
                          interpolation=cv2.INTER_LINEAR)[:h, :w]
        return cv2.remap(crop, self._px + full[..., 0], self._py + full[..., 1], cv2.INTER_CUBIC,
                         borderMode=cv2.BORDER_REFLECT)

    def composite(self, base: np.ndarray, base_to_aligned: np.ndarray, base_landmarks: np.ndarray,
                  crop: np.ndarray, crop_desc: np.ndarray, target_desc: np.ndarray,
                  crop_mid_face: np.ndarray | None = None) -> np.ndarray:
        """Blend one chosen mouth onto one base frame; see :meth:`composite_blend` (same
        arguments) for the details. Returns the (H, W, 3) uint8 RGB frame."""
        return self.composite_blend(base, base_to_aligned, base_landmarks, crop, crop_desc, target_desc,
                                    crop_mid_face)[0]

    def composite_blend(self, base: np.ndarray, base_to_aligned: np.ndarray, base_landmarks: np.ndarray,
                        crop: np.ndarray, crop_desc: np.ndarray, target_desc: np.ndarray,
                        crop_mid_face: np.ndarray | None = None, base_desc: np.ndarray | None = None,
                        fade_crop: np.ndarray | None = None, fade_desc: np.ndarray | None = None,
                        fade_weight: float = 0.0) -> tuple[np.ndarray, "BlendRegion | None"]:
        """Blend one chosen mouth onto one base frame and say where it was blended.

        Args:
            base: (H, W, 3) uint8 RGB base frame (not modified).
            base_to_aligned: (2, 3) pixel -> face-aligned transform of the base frame.
            base_landmarks: (478, 2+) base landmarks in pixels.
            crop: (Hc, Wc, 3) uint8 bank crop of the chosen source frame.
            crop_desc: (114,) face-aligned mouth points of the chosen source frame.
            target_desc: (114,) target mouth points in the base frame's face-aligned frame
                (where the lips must end up in the output).
            crop_mid_face: (len(MID_FACE), 2) the chosen frame's mid-face points in crop pixels;
                when given, an affine fitted from them to the base's corrects the residual
                misalignment (head pitch) that a similarity cannot.
            base_desc: (114,) face-aligned mouth points of the base frame; with
                ``options.warp_base`` the base's own lips and jaw are first moved to the target.
            fade_crop, fade_desc, fade_weight: another bank crop (and its (114,) points) mixed
                in with this weight after both are warped to the target shape - the cross-fade
                from the previous source segment at a cut (landmark-aligned, so no double lips).
        Returns:
            ((H, W, 3) uint8 RGB frame, the :class:`BlendRegion` or None when nothing was
            blended); pixels outside the region are ``base``'s, bit for bit.
        """
        o = self.o
        scale = self.box.scale
        src_pts = apply_affine(self._a2c, crop_desc.reshape(-1, 2))
        p2c = self.box.pixel_to_crop(base_to_aligned)
        corr = np.eye(3)  # chosen-crop coords -> base-crop coords
        if crop_mid_face is not None:
            base_mid = apply_affine(p2c, base_landmarks[L.MID_FACE, :2])
            corr = _robust_affine(crop_mid_face, base_mid, max_change=0.12)
        # the target is where the lips must be in the base frame: in the chosen crop's
        # coordinates that is the mid-face correction undone
        dst_pts = apply_affine(np.linalg.inv(corr)[:2], apply_affine(self._a2c, target_desc.reshape(-1, 2)))
        if o.fine_warp:
            crop = self._fine_warp(crop, src_pts, dst_pts)
        if fade_crop is not None and fade_desc is not None and fade_weight > 0:
            other = fade_crop
            if o.fine_warp:
                other = self._fine_warp(fade_crop, apply_affine(self._a2c, fade_desc.reshape(-1, 2)), dst_pts)
            crop = cv2.addWeighted(crop, 1.0 - float(fade_weight), other, float(fade_weight), 0.0)
        if o.fine_warp:
            lim = o.max_warp_iod * scale
            d = dst_pts - src_pts
            n = np.linalg.norm(d, axis=1, keepdims=True)
            moved = src_pts + d * np.minimum(1.0, lim / np.maximum(n, 1e-9))
        else:
            moved = src_pts
        base_crop_pts = apply_affine(p2c, base_landmarks[_MASK_POINTS, :2])
        jaw_moved = apply_affine(corr[:2], moved[_JAW_IN_DESC])
        jaw_src = apply_affine(corr[:2], src_pts[_JAW_IN_DESC])
        # the new lips with a feather's width of margin above them: where the new upper lip lies
        # higher than the base's own (under-nose points of the mask's top), it is still covered
        lips_new = apply_affine(corr[:2], moved[: len(L.LIPS_OUTER)]) - np.array([0.0, o.feather_iod * scale])
        hull_pts = np.concatenate([base_crop_pts, jaw_moved, jaw_src, lips_new])
        w, h = self.size
        mask = np.zeros((h, w), np.float32)
        hull = cv2.convexHull(hull_pts.astype(np.float32)).astype(np.int32)
        cv2.fillConvexPoly(mask, hull, 1.0, lineType=cv2.LINE_AA)
        # Keep the blend inside the base's face at the sides (no background, ears or earrings
        # from another frame), but let it reach below the chin for a lower-opening jaw.
        side = np.zeros((h, w), np.float32)
        side_src = np.zeros((h, w), np.float32)
        warp_base = o.warp_base and base_desc is not None
        drop = (o.chin_drop_iod if warp_base else 0.35) * scale
        jaw_keep = jaw_moved if warp_base else jaw_src
        for canvas, jaw in ((side, apply_affine(p2c, base_landmarks[L.JAW, :2])), (side_src, jaw_keep)):
            poly = _face_interior(jaw, inset=0.06 * scale, drop=drop)
            cv2.fillPoly(canvas, [poly.astype(np.int32)], 1.0, lineType=cv2.LINE_AA)
        # inside both faces; with the base's jaw moved to the target, the target's face alone
        side = side_src if warp_base else np.minimum(side, side_src)
        grow = max(1, int(round(o.grow_iod * scale)))
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
        mask = np.minimum(mask, side)
        sigma = max(1.0, o.feather_iod * scale / 2)
        er = max(1, int(round(sigma)))
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * er + 1, 2 * er + 1)))
        mask = smooth(mask, sigma)
        # never blend the nose: fade the mask in below the lower of the two nostril lines
        nostrils = [apply_affine(p2c, base_landmarks[L.MID_FACE[_NOSTRILS_IN_MID], :2])]
        if crop_mid_face is not None:
            nostrils.append(apply_affine(corr[:2], crop_mid_face[_NOSTRILS_IN_MID]))
        y_cut = max(float(p[:, 1].max()) for p in nostrils) + 0.02 * scale
        ramp = max(1.0, 0.08 * scale)
        # ... but never into the new upper lip: the mask is 1 from just above its border, with a
        # shorter ramp (and then a cut nearer the nose) where the lip sits close under the nose;
        # otherwise the base frame's own lip, warped, shows in the new one's Cupid's bow (a pale
        # second lip line; in self-reenactment the real mouth's texture)
        lip_top = float(lips_new[:, 1].min()) + (o.feather_iod - 0.02) * scale
        if y_cut + ramp > lip_top:
            ramp = max(1.0, min(ramp, max(lip_top - y_cut, 0.03 * scale)))
            y_cut = min(y_cut, lip_top - ramp)
        ys = np.arange(h, dtype=np.float32)[:, None]
        mask *= np.clip((ys - y_cut) / ramp, 0.0, 1.0)
        mask[:2, :] = 0
        mask[-2:, :] = 0
        mask[:, :2] = 0
        mask[:, -2:] = 0

        # ROI of the crop in the base frame
        c2p = invert_affine(p2c)
        corners = apply_affine(c2p, np.array([[0, 0], [w, 0], [0, h], [w, h]], np.float64))
        hb, wb = base.shape[:2]
        x0 = int(max(0, np.floor(corners[:, 0].min())))
        y0 = int(max(0, np.floor(corners[:, 1].min())))
        x1 = int(min(wb, np.ceil(corners[:, 0].max()) + 1))
        y1 = int(min(hb, np.ceil(corners[:, 1].max()) + 1))
        if x1 - x0 < 4 or y1 - y0 < 4:
            return base, None
        # ROI pixel -> base crop -> chosen crop (inverse maps for WARP_INVERSE_MAP)
        p2c3 = np.vstack([p2c, [0, 0, 1]])
        m_mask = p2c.copy()
        m_mask[:, 2] += m_mask[:, :2] @ np.array([x0, y0], np.float64)
        m = (np.linalg.inv(corr) @ p2c3)[:2]
        m[:, 2] += m[:, :2] @ np.array([x0, y0], np.float64)
        rsize = (x1 - x0, y1 - y0)
        flags = cv2.WARP_INVERSE_MAP
        src = cv2.warpAffine(crop, m, rsize, flags=cv2.INTER_CUBIC | flags, borderMode=cv2.BORDER_REPLICATE)
        alpha = cv2.warpAffine(mask, m_mask, rsize, flags=cv2.INTER_LINEAR | flags, borderMode=cv2.BORDER_CONSTANT,
                               borderValue=0)
        alpha[alpha < 1.0 / 255] = 0.0
        src_full, alpha_full = src, alpha
        nz_y = np.flatnonzero(alpha.any(axis=1))
        nz_x = np.flatnonzero(alpha.any(axis=0))
        if len(nz_y) == 0:
            return base, None
        # work only on the bounding box of the mask
        by0, by1, bx0, bx1 = int(nz_y[0]), int(nz_y[-1]) + 1, int(nz_x[0]), int(nz_x[-1]) + 1
        alpha = alpha[by0:by1, bx0:bx1]
        src = src[by0:by1, bx0:bx1]
        gy0, gx0 = y0 + by0, x0 + bx0
        base_roi = base[gy0:gy0 + alpha.shape[0], gx0:gx0 + alpha.shape[1]]
        warped = None
        if warp_base:
            old = apply_affine(self._a2c, np.asarray(base_desc, np.float64).reshape(-1, 2))
            new = apply_affine(corr[:2], moved)
            warped = self._warp_base(base, p2c, old, new, (x0, y0, x1, y1))
        if warped is not None:
            wimg, wgt = warped
            nz = (alpha_full > 0) | (wgt > 1.0 / 255)
            ys_, xs_ = np.flatnonzero(nz.any(axis=1)), np.flatnonzero(nz.any(axis=0))
            by0, by1, bx0, bx1 = int(ys_[0]), int(ys_[-1]) + 1, int(xs_[0]), int(xs_[-1]) + 1
            src, alpha = src_full[by0:by1, bx0:bx1], alpha_full[by0:by1, bx0:bx1]
            wgt = wgt[by0:by1, bx0:bx1]
            gy0, gx0 = y0 + by0, x0 + bx0
            base_roi = base[gy0:gy0 + alpha.shape[0], gx0:gx0 + alpha.shape[1]]
            wimg = wimg[by0:by1, bx0:bx1].astype(np.float32)
            bf = base_roi.astype(np.float32)
            under = bf + wgt[..., None] * (wimg - bf)  # the base with its mouth moved to the target
            roi = under
            region_alpha = np.maximum(alpha, wgt)
        else:
            roi = base_roi.astype(np.float32)
            region_alpha = alpha
        under_u8 = roi if warped is None else np.clip(roi + 0.5, 0, 255).astype(np.uint8)
        if warped is None:
            under_u8 = base_roi
        delta = src.astype(np.float32) - roi
        if o.color_correct:
            delta -= self._colour_shift(under_u8, src, alpha, scale)
        out_roi = roi + alpha[..., None] * delta
        out = base.copy()
        blended = np.clip(out_roi + 0.5, 0, 255).astype(np.uint8)
        # guarantee bit-exact pixels where nothing was changed
        untouched = region_alpha == 0
        blended[untouched] = base_roi[untouched]
        out[gy0:gy0 + alpha.shape[0], gx0:gx0 + alpha.shape[1]] = blended
        return out, BlendRegion(y0=gy0, x0=gx0, alpha=region_alpha, crop_mask=mask)

    def _warp_base(self, base: np.ndarray, p2c: np.ndarray, old: np.ndarray, new: np.ndarray,
                   roi: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray] | None:
        """The base frame's ROI with its lips and jaw moved from ``old`` to ``new`` (both (57, 2)
        base-crop pixels), and the (h, w) float32 weight of the move (the face region, feathered).

        A thin-plate-spline displacement (Bookstein 1989) pinned on the crop border and on a row
        under the nose, multiplied by the union of the old and the new face region (jaw line
        polygons), so skin moves with the jaw and what lies below the chin stays put. None when
        the shapes already agree (nothing to move).
        """
        scale = self.box.scale
        d = old - new
        # the jaw line moves at the chin, not under the ears (there the two frames' jaw points
        # differ by tracking noise and head turn, and moving them would bend the cheek outline)
        d[_JAW_IN_DESC] *= _CHIN_WEIGHT[:, None]
        n = np.linalg.norm(d, axis=1, keepdims=True)
        lim = self.o.max_base_warp_iod * scale
        d = d * np.minimum(1.0, lim / np.maximum(n, 1e-9))
        if float(np.abs(d).max()) < 0.5:
            return None
        w, h = self.size
        top = float(min(old[: len(L.LIPS_OUTER), 1].min(), new[: len(L.LIPS_OUTER), 1].min())) - 0.15 * scale
        row = np.stack([np.linspace(0, w - 1, 9), np.full(9, top)], 1)
        fixed = np.concatenate([self._border, row])
        rbf = RBFInterpolator(np.concatenate([new, fixed]), np.concatenate([d, np.zeros_like(fixed)]),
                              kernel="thin_plate_spline", smoothing=1.0)
        # the base warp is smooth (no lip-thin detail to keep apart): a grid twice as coarse
        coarse = rbf(self._grid2).reshape(*self._grid2_shape, 2).astype(np.float32)
        gh, gw = self._grid2_shape
        field = cv2.resize(coarse, ((gw - 1) * 2 * self._step + 1, (gh - 1) * 2 * self._step + 1),
                           interpolation=cv2.INTER_LINEAR)[:h, :w]
        weight = np.zeros((h, w), np.float32)
        for jaw in (old[_JAW_IN_DESC], new[_JAW_IN_DESC]):
            # a little below the chin too, so a chin that moves up leaves no contour behind
            poly = _face_interior(jaw, inset=0.0, drop=0.08 * scale)
            cv2.fillPoly(weight, [poly.astype(np.int32)], 1.0, lineType=cv2.LINE_AA)
        weight = smooth(weight, max(1.0, 0.025 * scale))
        ys = np.arange(h, dtype=np.float32)[:, None]
        weight *= np.clip((ys - (top - 0.05 * scale)) / max(1.0, 0.05 * scale), 0.0, 1.0)
        weight[:2], weight[-2:], weight[:, :2], weight[:, -2:] = 0, 0, 0, 0
        # into the ROI: field and weight resampled on the pixels of the weight's box only;
        # crop displacement -> frame displacement with the inverse of the similarity's linear part
        x0, y0, x1, y1 = roi
        nz_r, nz_c = np.flatnonzero(weight.max(axis=1) > 1.0 / 255), np.flatnonzero(weight.max(axis=0) > 1.0 / 255)
        if len(nz_r) == 0:
            return None
        corners = np.array([[nz_c[0], nz_r[0]], [nz_c[-1] + 1, nz_r[0]], [nz_c[0], nz_r[-1] + 1],
                            [nz_c[-1] + 1, nz_r[-1] + 1]], np.float64)
        fc = apply_affine(invert_affine(p2c), corners)
        sx0, sy0 = max(x0, int(np.floor(fc[:, 0].min())) - 1), max(y0, int(np.floor(fc[:, 1].min())) - 1)
        sx1, sy1 = min(x1, int(np.ceil(fc[:, 0].max())) + 2), min(y1, int(np.ceil(fc[:, 1].max())) + 2)
        if sx1 - sx0 < 2 or sy1 - sy0 < 2:
            return None
        m_roi = p2c.copy()
        m_roi[:, 2] += m_roi[:, :2] @ np.array([sx0, sy0], np.float64)
        rsize = (sx1 - sx0, sy1 - sy0)
        inv = cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR
        both = cv2.warpAffine(np.dstack([field * weight[..., None], weight]), m_roi, rsize, flags=inv,
                              borderMode=cv2.BORDER_CONSTANT)  # one resampling for field and weight
        fr, wr_sub = both[..., :2], np.ascontiguousarray(both[..., 2])
        a_inv = np.linalg.inv(p2c[:, :2]).astype(np.float32)
        fx = a_inv[0, 0] * fr[..., 0] + a_inv[0, 1] * fr[..., 1]
        fy = a_inv[1, 0] * fr[..., 0] + a_inv[1, 1] * fr[..., 1]
        gx, gy = np.meshgrid(np.arange(sx0, sx1, dtype=np.float32), np.arange(sy0, sy1, dtype=np.float32))
        img = base[y0:y1, x0:x1].copy()
        img[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = cv2.remap(base, gx + fx, gy + fy, cv2.INTER_LINEAR,
                                                              borderMode=cv2.BORDER_REPLICATE)
        wr = np.zeros((y1 - y0, x1 - x0), np.float32)
        wr_sub[wr_sub < 1.0 / 255] = 0.0
        wr[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = wr_sub
        return img, wr

    @staticmethod
    def _colour_shift(base: np.ndarray, src: np.ndarray, alpha: np.ndarray, scale: float) -> np.ndarray:
        """Smooth per-pixel colour offset (base - src) measured on the mask's feathered border
        and spread inwards by normalized convolution; computed at low resolution.

        Pixels that differ by more than a colour shift can explain (background seen past the
        face, moving hair, teeth) are ignored; the offset is bounded to +-35 levels.
        """
        h, w = alpha.shape
        f = max(1, int(scale / 32))
        size = (max(1, w // f), max(1, h // f))
        b = cv2.resize(base, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        sr = cv2.resize(src, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        a = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
        raw = b - sr
        ring = a * (1.0 - a) * 4.0
        ring[(a < 0.02) | (np.abs(raw).max(axis=2) > 30)] = 0
        wsum = float(ring.sum())
        if wsum <= 1e-3:
            return np.zeros(3, np.float32)
        diff = raw * ring[..., None]
        glob = np.clip(diff.reshape(-1, 3).sum(0) / wsum, -20, 20)
        sig = max(1.0, 0.25 * scale / f)
        local = cv2.GaussianBlur(diff - glob * ring[..., None], (0, 0), sig)
        norm = cv2.GaussianBlur(ring, (0, 0), sig)
        shift = glob + np.clip(local / (norm[..., None] + 0.05), -15, 15)
        return -cv2.resize(shift.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def _robust_affine(src: np.ndarray, dst: np.ndarray, max_change: float) -> np.ndarray:
    """Least-squares affine ``src -> dst`` as a 3x3 matrix; identity when it is implausible
    (any singular value off by more than ``max_change`` from 1, or a shift > 10 % of the span)."""
    a = np.hstack([src, np.ones((len(src), 1))])
    sol, *_ = np.linalg.lstsq(a, dst, rcond=None)
    m = np.eye(3)
    m[:2] = sol.T
    sv = np.linalg.svd(m[:2, :2], compute_uv=False)
    span = float(np.ptp(src, axis=0).max()) + 1e-6
    shift = np.abs(apply_affine(m[:2], src) - src).max()
    if np.any(np.abs(sv - 1) > max_change) or shift > 0.1 * span + 0.1 * span:
        return np.eye(3)
    return m


def _face_interior(jaw: np.ndarray, inset: float, drop: float) -> np.ndarray:
    """Polygon of the face below the cheeks: the jaw line moved ``inset`` pixels inwards, its
    chin part also ``drop`` pixels down, closed by a line far above (crop pixels)."""
    centre_x = float(jaw[:, 0].mean())
    pts = jaw.astype(np.float64).copy()
    pts[:, 0] += np.sign(centre_x - pts[:, 0]) * inset
    n = len(pts)
    # weight 1 at the chin (middle of the jaw line), 0 at the ends below the ears
    wgt = np.clip(1.0 - np.abs(np.arange(n) - (n - 1) / 2) / ((n - 1) / 2), 0, 1) ** 0.7
    pts[:, 1] += wgt * drop
    top = float(jaw[:, 1].min()) - 10 * inset - drop
    return np.vstack([[pts[0, 0], top], pts, [pts[-1, 0], top]])
