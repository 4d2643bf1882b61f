"""Blinks of a photo avatar: the photo's own upper lid unfolded over the eye by a warp.

Split from :mod:`.animator` (which calls it for every frame with a blink). The lid is a pure
warp of the photo's own lid skin (:meth:`Lids.eyelid_field`), relit like the skin under the eye
(:meth:`Lids.relight`), and - near closure, where the warp squeezes the whole eye opening into a
pixel or two - supersampled along the eye's vertical axis (:meth:`Lids.supersample`), so the
closed lid ends in a soft lash line instead of a jagged, aliased dark crescent.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["Lids", "R_UPPER", "R_LOWER", "L_UPPER", "L_LOWER"]

# MediaPipe face-mesh indices of the eyelids (corner to corner) and the brows' lower edge
R_UPPER = np.array([246, 161, 160, 159, 158, 157, 173])
R_LOWER = np.array([7, 163, 144, 145, 153, 154, 155])
L_UPPER = np.array([466, 388, 387, 386, 385, 384, 398])
L_LOWER = np.array([249, 390, 373, 374, 380, 381, 382])
_BROW_LOW = (np.array([46, 53, 52, 65, 55]), np.array([276, 283, 282, 295, 285]))
#: Lash margin above the upper lid, eye widths (translated down as the lid closes).
_LASH_MARGIN = 0.08
#: How much the lash margin thins when shut (its lashes point down over it).
_LASH_THIN = 0.6
#: Share of the eye opening the lid covers at blink 1.
_CLOSE = 1.0
#: Lid skin stretched over the eye, eye widths above the lash margin (at most 60 % to the brow).
_LID_REACH = 0.30
#: Vertical supersamples of the lid warp near closure (blink >= :data:`_SUPERSAMPLE_FROM`).
_SUPERSAMPLES = 6
_SUPERSAMPLE_FROM = 0.4


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


class Lids:
    """The eyes of one photo (working crop): geometry, blink warp, relighting.

    Args:
        crop: (h, w, 3) uint8 working crop.
        lm: (478, 2+) landmarks in crop pixels.
        right, down: (2,) unit vectors of the face's horizontal and vertical axes.
    """

    def __init__(self, crop: np.ndarray, lm: np.ndarray, right: np.ndarray, down: np.ndarray) -> None:
        self.crop, self.lm = crop, lm
        self.right, self.down = right, down
        self.eyes = [self._eye_geometry(u, lo) for u, lo in ((R_UPPER, R_LOWER), (L_UPPER, L_LOWER))]

    def _eye_geometry(self, upper_i: np.ndarray, lower_i: np.ndarray) -> dict:
        """Eye frame and lid curves of one eye (for :meth:`eyelid_field`)."""
        lm = self.lm
        up = lm[upper_i]
        lo = lm[lower_i]
        c0, c1 = 0.5 * (up[0] + lo[0]), 0.5 * (up[-1] + lo[-1])
        ew = float(np.linalg.norm(c1 - c0))
        origin = 0.5 * (c0 + c1)
        r, d = self.right, self.down
        us = np.concatenate([[-0.5 * ew], (up - origin) @ r, [0.5 * ew]])
        vu = np.concatenate([[0.0], (up - origin) @ d, [0.0]])
        ls = np.concatenate([[-0.5 * ew], (lo - origin) @ r, [0.5 * ew]])
        vl = np.concatenate([[0.0], (lo - origin) @ d, [0.0]])
        ou, ol = np.argsort(us), np.argsort(ls)
        h, w = self.crop.shape[:2]
        pad = 0.6 * ew
        x0 = int(max(0, np.floor(origin[0] - pad - 0.1 * ew)))
        x1 = int(min(w, np.ceil(origin[0] + pad + 0.1 * ew)))
        y0 = int(max(0, np.floor(origin[1] - 0.7 * ew)))
        y1 = int(min(h, np.ceil(origin[1] + 0.5 * ew)))
        # the brow's lower edge above this eye: the unfolding lid skin stops short of it
        brow = lm[_BROW_LOW[0] if upper_i[0] == R_UPPER[0] else _BROW_LOW[1]]
        bs, bv = (brow - origin) @ r, (brow - origin) @ d
        ob = np.argsort(bs)
        # the lid skin's brightness: the skin just below the lower lid (lit like an open lid)
        below = origin + np.array([[t * ew, 0.0] for t in np.linspace(-0.25, 0.25, 5)]) @ np.stack([r, d]) \
            + (float(np.max(vl)) + 0.18 * ew) * d
        ys = np.clip(np.round(below[:, 1]).astype(int), 0, h - 1)
        xs = np.clip(np.round(below[:, 0]).astype(int), 0, w - 1)
        skin_rgb = np.median(self.crop[ys, xs].astype(np.float64), axis=0)
        return dict(origin=origin, ew=ew, us=us[ou], vu=vu[ou], ls=ls[ol], vl=vl[ol], box=(x0, y0, x1, y1),
                    bs=bs[ob], bv=bv[ob], skin_rgb=skin_rgb)

    def eyelid_field(self, blink: float, v_offset: float = 0.0) -> tuple[np.ndarray, np.ndarray] | None:
        """The blink of both eyes closed by ``blink`` (0..1): ``(field, band)``, a backward
        displacement (h, w, 2) float32 (working-crop pixels, added to the mouth warp) and the
        (h, w) float32 weight of the unfolded lid (for :meth:`_relight_lids`), or None when
        ``blink`` < 0.02.

        A pure warp of the photo's own upper lid, no pasted shape: per column of the eye frame
        (u along the eye, v down) the lash margin (a band ``m`` = :data:`_LASH_MARGIN` eye
        widths above the upper lid, thinning by :data:`_LASH_THIN` as it closes) is translated
        down by ``d = blink * (v_l - v_u)`` onto the lower lid; the lid skin above it, from
        ``v_u - m - R`` (``R`` = :data:`_LID_REACH` eye widths, at most 60 % of the way to the
        brow's lower edge) to the margin, is *stretched* over the same span plus ``d`` (the
        lid unfolding from its crease, as a real upper lid does); the eye opening is
        compressed into the strip left above the lower lid. Faded out beyond the eye corners;
        no global spline (it would overshoot through nearly coincident lids). Painting new lid
        skin (mirrored from below the eye) over the opening was tried first: on a closed eye it
        read as an oval sticker with a dark rim.

        ``v_offset`` (pixels along the eye's down axis) evaluates the field at points shifted by
        that much from the pixel centres (for the supersampling of :meth:`supersample`); the
        returned field then maps the shifted points."""
        if blink < 0.02:
            return None
        h, w = self.crop.shape[:2]
        field = np.zeros((h, w, 2), np.float32)
        band = np.zeros((h, w), np.float32)
        for e in self.eyes:
            x0, y0, x1, y1 = e["box"]
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            px, py = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
            px = px + v_offset * self.down[0]
            py = py + v_offset * self.down[1]
            rel = np.stack([px - e["origin"][0], py - e["origin"][1]], -1)
            u = rel @ self.right
            v = rel @ self.down
            ew = e["ew"]
            vu = np.interp(u, e["us"], e["vu"])
            vl = np.maximum(np.interp(u, e["ls"], e["vl"]), vu)
            hgt = vl - vu
            m = _LASH_MARGIN * ew
            # up to _LID_REACH, at most 60 % of the way to the brow (a close brow and its
            # shadow would be dragged over the eye)
            to_brow = vu - m - np.interp(u, e["bs"], e["bv"])
            reach = np.clip(0.6 * to_brow, 0.08 * ew, _LID_REACH * ew)
            d = _CLOSE * blink * hgt
            top = vu - m - reach  # the lid skin stretched from here ...
            src = v.copy()
            # the lash margin thins as the lid closes (its lashes point down over it): a
            # closed eye shows a thin lash line, not a dark slit
            me = m * (1.0 - _LASH_THIN * blink)
            a = (v >= top) & (v < vu - me + d)  # ... down to the translated lash margin
            src[a] = top[a] + (v[a] - top[a]) * (reach[a] + m - me) / np.maximum(reach[a] + m - me + d[a], 1e-6)
            b = (v >= vu - me + d) & (v < vu + d)
            src[b] = vu[b] - m + (v[b] - (vu[b] - me + d[b])) * m / me  # the lash margin, translated
            c = (v >= vu + d) & (v <= vl)
            src[c] = vu[c] + (v[c] - vu[c] - d[c]) * hgt[c] / np.maximum(hgt[c] - d[c], 1e-6)
            fade = np.clip((0.62 * ew - np.abs(u)) / (0.14 * ew), 0.0, 1.0)
            fade = fade * fade * (3 - 2 * fade)
            dv = (src - v) * fade
            field[y0:y1, x0:x1, 0] += (dv * self.down[0]).astype(np.float32)
            field[y0:y1, x0:x1, 1] += (dv * self.down[1]).astype(np.float32)
            # where the unfolded lid lies over the eye (for relighting), feathered
            # broad at the top (no edge where the photo's lid skin meets the relit one)
            lid = _smoothstep((v - vu + m + 0.5 * reach) / np.maximum(0.5 * reach + m, 0.5)) * \
                (1 - _smoothstep((v - vu - d + 1.0 * m) / max(0.5 * m, 0.5)))
            band[y0:y1, x0:x1] = np.maximum(band[y0:y1, x0:x1], (0.8 * lid * fade * min(1.0, 2 * blink)).astype(np.float32))
        return field, band

    def relight(self, out: np.ndarray, band: np.ndarray) -> None:
        """Light the unfolded lid (``band`` (h, w) float32 weight) of ``out`` (in place) like
        the skin just below the eye, blended by up to 80 %: its colour becomes 0.92 x that
        skin's colour, modulated by 0.8 of the stretched lid's own luminance detail (relative to
        a Gaussian mean of 0.06 eye widths, clipped to 0.6-1.3). The crease's shadow and the
        lashes stretched into streaks fade; the lid's shading stays."""
        for e in self.eyes:
            x0, y0, x1, y1 = e["box"]
            b = band[y0:y1, x0:x1]
            if x1 - x0 < 2 or y1 - y0 < 2 or float(b.max()) <= 0.0:
                continue
            roi = out[y0:y1, x0:x1].astype(np.float32)
            luma = roi @ np.array([0.299, 0.587, 0.114], np.float32)
            mean = cv2.GaussianBlur(luma, (0, 0), max(0.8, 0.06 * e["ew"]))
            detail = np.clip(1.0 + 0.8 * (luma / np.maximum(mean, 1.0) - 1.0), 0.6, 1.3)
            lid = (0.92 * e["skin_rgb"]).astype(np.float32)[None, None, :] * detail[..., None]
            roi += b[..., None] * (lid - roi)
            out[y0:y1, x0:x1] = np.clip(roi + 0.5, 0, 255).astype(np.uint8)


    def supersample(self, out: np.ndarray, blink: float, other: np.ndarray | None, px: np.ndarray,
                    py: np.ndarray) -> None:
        """Re-render the eye boxes of ``out`` (in place) as the mean of :data:`_SUPERSAMPLES`
        remaps at sub-pixel offsets along the eye's down axis (blink >= 0.4 only): the warp
        squeezes the eye opening into a thin strip there, and one sample per pixel turns the
        iris and lashes into a jagged dark crescent.

        Args:
            out: (h, w, 3) uint8 frame already remapped with the full field.
            blink: lid closure 0..1.
            other: (h, w, 2) float32 field of everything but the lids (mouth, brows), or None.
            px, py: (h, w) float32 pixel grids of the crop.
        """
        if blink < _SUPERSAMPLE_FROM:
            return
        k = _SUPERSAMPLES
        acc = None
        for j in range(k):
            off = (j + 0.5) / k - 0.5
            f = self.eyelid_field(blink, v_offset=off)
            if f is None:
                return
            fx = f[0][..., 0] + off * self.down[0]
            fy = f[0][..., 1] + off * self.down[1]
            if other is not None:
                fx = fx + other[..., 0]
                fy = fy + other[..., 1]
            for i, e in enumerate(self.eyes):
                x0, y0, x1, y1 = e["box"]
                if x1 - x0 < 2 or y1 - y0 < 2:
                    continue
                mx = (px[y0:y1, x0:x1] + fx[y0:y1, x0:x1]).astype(np.float32)
                my = (py[y0:y1, x0:x1] + fy[y0:y1, x0:x1]).astype(np.float32)
                s = cv2.remap(self.crop, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT).astype(np.float32)
                if acc is None:
                    acc = [None, None]
                acc[i] = s if acc[i] is None else acc[i] + s
        if acc is None:
            return
        for i, e in enumerate(self.eyes):
            if acc[i] is not None:
                x0, y0, x1, y1 = e["box"]
                out[y0:y1, x0:x1] = np.clip(acc[i] / k + 0.5, 0, 255).astype(np.uint8)
