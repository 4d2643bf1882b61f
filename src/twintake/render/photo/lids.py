"""Blinks of a photo avatar: the photo's own upper lid unfolded over the eye by a warp.

Split from :mod:`.animator` (which calls it for every frame with a blink). The lid is a pure
warp of the photo's own lid skin (:meth:`Lids.eyelid_field`), relit like the skin under the eye
(:meth:`Lids.relight`), and - near closure, where the warp squeezes the whole eye opening into a
pixel or two - supersampled along the eye's vertical axis (:meth:`Lids.supersample`), so the
closed lid ends in a soft lash line instead of a jagged, aliased dark crescent. The lid skin is
stretched from just above the photo's own crease (found once per photo), so the crease stays
in place and flattens instead of sliding down as a second lid line; the closed lid is relit
fully like the skin below the eye with a convex shading, and the photo's own upper lashes hang
down from the lash line (:meth:`Lids.lashes`). Face Mesh reads such a lid at 0.25-0.42 of the
open eye on stills of five shared portraits (0.62 on avg_man1's smiling squint); a real closed
eye pasted on the same portraits reads 0.27-0.45 (``docs/photo.md``).
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
#: The stretched lid skin starts this far above the crease, eye widths (the crease itself
#: moves down a little and flattens; above it nothing moves).
_ABOVE_CREASE = 0.03
#: Lash margin above the upper lid, eye widths (translated down as the lid closes).
_LASH_MARGIN = 0.08
#: How much the lash margin thins when shut (its lashes point down over it).
_LASH_THIN = 0.6
#: Share of the eye opening the lid covers at blink 1.
_CLOSE = 1.0
#: Lid skin stretched over the eye: from just above the crease (:data:`_ABOVE_CREASE`) to the
#: lash margin, at most this many eye widths (and 60 % of the way to the brow).
_LID_REACH = 0.30
#: Length of the lashes hanging down from a closed lid, eye widths.
_LASH_DOWN = 0.06
#: The relit lid: its colour (:meth:`Lids.relight`) x this, with this share of the stretched
#: lid's own luminance detail, blended in by this much over the lid.
_LID_GAIN = 1.0
_DETAIL = 0.5
_RELIGHT = 1.0
#: The lid's detail is blurred along the eye by this many eye widths (no lash streaks).
_STREAK_BLUR = 0.025
#: Share of the relit lid (from its top) over which its colour goes from the fold's to the skin's.
_FOLD_MIX = 0.5
#: The relighting reaches this far (eye widths) above the crease: its shadow flattens as the
#: fold opens.
_FLATTEN = 0.1
#: Shading of the convex closed lid: brighter in its middle, darker where it turns into the
#: lash line (fractions of the lid's brightness).
_LID_HIGHLIGHT = 0.06
_LID_TURN = 0.12
#: Vertical supersamples of the lid warp near closure (blink >= :data:`_SUPERSAMPLE_FROM`).
_SUPERSAMPLES = 6
_SUPERSAMPLE_FROM = 0.4


def _with_lightness(colour: np.ndarray, like: np.ndarray) -> np.ndarray:
    """(3,) float64 RGB: ``colour``'s CIELAB chroma (a*, b*) at the lightness (L*) of ``like``
    (both (3,) RGB 0-255)."""
    lab = cv2.cvtColor(np.float32([[np.clip(colour, 0, 255) / 255.0, np.clip(like, 0, 255) / 255.0]]),
                       cv2.COLOR_RGB2LAB)[0]
    lab[0, 0] = lab[1, 0]
    return cv2.cvtColor(lab[None, :1], cv2.COLOR_LAB2RGB)[0, 0].astype(np.float64) * 255.0


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


class Lids:
    """The eyes of one photo (working crop): geometry, blink warp, relighting.

    Args:
        crop: (h, w, 3) uint8 working crop.
        lm: (478, 2+) landmarks in crop pixels.
        right, down: (2,) unit vectors of the face's horizontal and vertical axes.
        skin: (3,) RGB of the face's skin (:attr:`PhotoLook.skin`), the closed lid's tone; None
            = the colour of the skin below each eye.
    """

    def __init__(self, crop: np.ndarray, lm: np.ndarray, right: np.ndarray, down: np.ndarray,
                 skin: np.ndarray | None = None) -> None:
        self.crop, self.lm = crop, lm
        self.right, self.down = right, down
        self.eyes = [self._eye_geometry(u, lo) for u, lo in ((R_UPPER, R_LOWER), (L_UPPER, L_LOWER))]
        # the lid crease of the face: the nearer of the two eyes' (one face, one crease height)
        crease = min(self._crease(e) for e in self.eyes)
        for e in self.eyes:
            e["crease"] = crease * e["ew"]
            e["fold_rgb"] = self._fold_rgb(e)
            if skin is not None:
                # the face's skin tone at the under-eye skin's lightness: under-eye skin is often
                # yellower or greyer (shadow, concealer) and its hue made the lid a khaki patch
                e["skin_rgb"] = _with_lightness(np.asarray(skin, np.float64), e["skin_rgb"])

    def _fold_rgb(self, e: dict) -> np.ndarray:
        """(3,) float64 median RGB of the lid fold just above the crease (0.1 eye widths), where
        the relit lid meets the photo's own skin."""
        ew = e["ew"]
        h, w = self.crop.shape[:2]
        pts = np.array([e["origin"] + u * self.right
                        + (float(np.interp(u, e["us"], e["vu"])) - _LASH_MARGIN * ew - e["crease"] - 0.1 * ew) * self.down
                        for u in np.linspace(-0.25, 0.25, 5) * ew])
        ys = np.clip(np.round(pts[:, 1]).astype(int), 0, h - 1)
        xs = np.clip(np.round(pts[:, 0]).astype(int), 0, w - 1)
        return np.median(self.crop[ys, xs].astype(np.float64), axis=0)

    def _crease(self, e: dict) -> float:
        """Height of the upper lid's crease above the lash margin, eye widths: the darkest row
        of the median luminance profile over the middle of the lid, 0.04-0.30 eye widths above
        the lash margin (hooded lids: close to it; a deep-set eye: far)."""
        ew = e["ew"]
        m = _LASH_MARGIN * ew
        luma = cv2.cvtColor(self.crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
        ks = np.linspace(0.04, _LID_REACH, 27) * ew
        prof = []
        for u in np.linspace(-0.3, 0.3, 13) * ew:
            vu = float(np.interp(u, e["us"], e["vu"]))
            pts = e["origin"] + u * self.right + (vu - m - ks)[:, None] * self.down
            prof.append(cv2.remap(luma, pts[None, :, 0].astype(np.float32), pts[None, :, 1].astype(np.float32),
                                  cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0])
        return float(ks[int(np.argmin(np.median(np.array(prof), 0)))] / ew)

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

    def eyelid_field(self, blink: float, v_offset: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The blink of both eyes closed by ``blink`` (0..1): ``(field, band, shade, fold_w)``,
        a backward displacement (h, w, 2) float32 (working-crop pixels, added to the mouth
        warp), the (h, w) float32 weight of the unfolded lid, its (h, w) float32 convex shading
        gain and the (h, w) float32 weight of the fold's colour in it (all three for
        :meth:`relight`), or None when ``blink`` < 0.02.

        A pure warp of the photo's own upper lid, no pasted shape: per column of the eye frame
        (u along the eye, v down) the lash margin (a band ``m`` = :data:`_LASH_MARGIN` eye
        widths above the upper lid, thinning by :data:`_LASH_THIN` as it closes) is translated
        down by ``d = blink * (v_l - v_u)`` onto the lower lid; the lid skin above it, from
        ``v_u - m - R`` to the margin, is *stretched* over the same span plus ``d`` (the lid
        unfolding from its crease, as a real upper lid does). ``R`` reaches just above the
        photo's lid crease (:data:`_ABOVE_CREASE`, the crease found once per photo as the darkest
        row above the lashes), at most :data:`_LID_REACH` eye widths and 60 % of the way to the
        brow's lower edge: the crease stays nearly in place and above it nothing moves. The eyeball
        stays where it is and the lid slides over it (compressing the eye opening above the
        lower lid, as before, squashed the iris into a flat ellipse on a half-closed eye: Face
        Mesh read it as a nearly open eye, a person as a squint). Faded out beyond the eye
        corners; no global spline (it would overshoot through nearly coincident lids). Painting new lid
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
        shade = np.ones((h, w), np.float32)
        fold_w = np.zeros((h, w), np.float32)
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
            # and only from just above the crease: above it nothing moves (dragging a crease
            # that lies close to the lashes down drew a second lid line, kinked at the corners)
            to_brow = vu - m - np.interp(u, e["bs"], e["bv"])
            reach = np.clip(np.minimum(0.6 * to_brow, e["crease"] + _ABOVE_CREASE * ew), 0.08 * ew, _LID_REACH * ew)
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
            src[c] = v[c]  # the eyeball stays; the lid slides over it
            fade = np.clip((0.62 * ew - np.abs(u)) / (0.14 * ew), 0.0, 1.0)
            fade = fade * fade * (3 - 2 * fade)
            dv = (src - v) * fade
            field[y0:y1, x0:x1, 0] += (dv * self.down[0]).astype(np.float32)
            field[y0:y1, x0:x1, 1] += (dv * self.down[1]).astype(np.float32)
            # where the unfolded lid lies over the eye (for relighting), feathered
            # broad at the top (no edge where the photo's lid skin meets the relit one)
            lid_top = vu - m - reach - _FLATTEN * ew  # the crease's shadow flattens too
            lid = _smoothstep((v - lid_top) / np.maximum(vu - m - 0.3 * reach - lid_top, 0.5)) * \
                (1 - _smoothstep((v - vu - d + 1.0 * m) / max(0.5 * m, 0.5)))
            band[y0:y1, x0:x1] = np.maximum(band[y0:y1, x0:x1], (_RELIGHT * lid * fade * min(1.0, 2 * blink)).astype(np.float32))
            # a closed lid is convex: lit in its middle, darker where it turns into the lash line
            lidtop = vu - m - 0.5 * reach
            t = np.clip((v - lidtop) / np.maximum(vu + d - lidtop, 1.0), 0.0, 1.0)
            sh = 1.0 + _LID_HIGHLIGHT * np.sin(np.pi * t) ** 2 - _LID_TURN * _smoothstep((t - 0.75) / 0.25)
            shade[y0:y1, x0:x1] = (1.0 + (sh - 1.0) * fade * min(1.0, blink)).astype(np.float32)
            # the lid's colour runs from the fold's at the top of the band to the skin's below
            # the eye over its upper part (no oval edge where the two skins differ)
            fold_w[y0:y1, x0:x1] = (1.0 - _smoothstep((v - lid_top) / np.maximum(_FOLD_MIX * (vu + d - lid_top), 0.5))
                                    ).astype(np.float32)
        return field, band, shade, fold_w

    def relight(self, out: np.ndarray, band: np.ndarray, shade: np.ndarray | None = None,
                fold_w: np.ndarray | None = None) -> None:
        """Light the unfolded lid (``band`` (h, w) float32 weight, 0..1) of ``out`` ((h, w, 3)
        uint8, in place) like the skin just below the eye: its colour becomes
        :data:`_LID_GAIN` x the face's skin tone at that skin's lightness (``skin`` given to the
        constructor; else that skin's own colour), towards the top the colour of the fold above
        the crease (``fold_w`` (h, w) float32 weight, None = 0), modulated by :data:`_DETAIL` of
        the stretched lid's own luminance detail (blurred along the eye by
        :data:`_STREAK_BLUR`, relative to a Gaussian mean of 0.06 eye widths, clipped to
        0.6-1.3) and by ``shade`` ((h, w) float32 gain, the closed lid's convex shading; None =
        1). The crease's shadow, eye shadow and the lashes stretched into streaks fade (a lid
        left 80 % relit was grey under avg_woman1's eye shadow and read as an open eye)."""
        for e in self.eyes:
            x0, y0, x1, y1 = e["box"]
            b = band[y0:y1, x0:x1]
            if x1 - x0 < 2 or y1 - y0 < 2 or float(b.max()) <= 0.0:
                continue
            roi = out[y0:y1, x0:x1].astype(np.float32)
            luma = roi @ np.array([0.299, 0.587, 0.114], np.float32)
            mean = cv2.GaussianBlur(luma, (0, 0), max(0.8, 0.06 * e["ew"]))
            # the detail is smoothed along the eye: the stretched lashes run across it as
            # streaks, the lid's own shading runs down it
            along = cv2.GaussianBlur(luma, (0, 0), sigmaX=max(0.8, _STREAK_BLUR * e["ew"]), sigmaY=0.5)
            detail = np.clip(1.0 + _DETAIL * (along / np.maximum(mean, 1.0) - 1.0), 0.6, 1.3)
            lid = (_LID_GAIN * e["skin_rgb"]).astype(np.float32)[None, None, :] * detail[..., None]
            if fold_w is not None:
                fw = fold_w[y0:y1, x0:x1, None]
                lid = lid + fw * ((_LID_GAIN * e["fold_rgb"]).astype(np.float32)[None, None, :] * detail[..., None] - lid)
            if shade is not None:
                lid = lid * shade[y0:y1, x0:x1, None]
            roi += b[..., None] * (lid - roi)
            out[y0:y1, x0:x1] = np.clip(roi + 0.5, 0, 255).astype(np.uint8)

    def lashes(self, out: np.ndarray, blink: float) -> None:
        """Hang the photo's own upper lashes down from the closed lid's lash line (in place on
        ``out`` (h, w, 3) uint8, blink >= 0.5): the lash margin band above the open upper lid,
        mirrored below the lash line, :data:`_LASH_DOWN` eye widths long, darkening only (a
        lash never brightens the skin under it)."""
        k = float(np.clip((blink - 0.5) / 0.4, 0.0, 1.0))
        if k <= 0.0:
            return
        h, w = self.crop.shape[:2]
        for e in self.eyes:
            x0, y0, x1, y1 = e["box"]
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            px, py = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
            rel = np.stack([px - e["origin"][0], py - e["origin"][1]], -1)
            u, v = rel @ self.right, rel @ self.down
            ew = e["ew"]
            vu = np.interp(u, e["us"], e["vu"])
            vl = np.maximum(np.interp(u, e["ls"], e["vl"]), vu)
            seam = vu + _CLOSE * blink * (vl - vu)
            m = _LASH_MARGIN * ew
            ln = max(_LASH_DOWN * ew, 1.0)
            t = (v - seam) / ln
            vs = vu - np.clip(t, 0.0, 1.0) * m  # lash roots at the line, tips below
            mx = (px + (vs - v) * self.down[0]).astype(np.float32)
            my = (py + (vs - v) * self.down[1]).astype(np.float32)
            lash = cv2.remap(self.crop, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT).astype(np.float32)
            fade = np.clip((0.55 * ew - np.abs(u)) / (0.12 * ew), 0.0, 1.0)
            wgt = (k * _smoothstep(fade) * np.clip(1.0 - t, 0.0, 1.0) * (t > -0.25)).astype(np.float32)
            roi = out[y0:y1, x0:x1].astype(np.float32)
            roi += wgt[..., None] * np.minimum(lash - roi, 0.0)
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
