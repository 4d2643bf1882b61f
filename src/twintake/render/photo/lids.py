"""Blinks of a photo avatar: the photo's own upper lid unfolded over the eye by a warp.

Split from :mod:`.animator` (which calls it for every frame with a blink). The lid is a pure
warp of the photo's own lid skin (:meth:`Lids.eyelid_field`) whose edge - the middle of the
lash margin - lands where the closure asks, from corner to corner of the eye; it is relit with
the photo's own skin round the eye (:meth:`Lids.relight`: that skin filled in over the eye,
with its colour, its light gradient and its texture), and - near closure, where the warp
squeezes the whole eye opening into a pixel or two - supersampled along the eye's vertical
axis (:meth:`Lids.supersample`). The lid skin is stretched from just above the photo's own
crease (found once per photo), so the crease stays in place and flattens instead of sliding
down as a second lid line; the shut lid covers the lower lid's own margin and ends in one soft
dark lash line (:meth:`Lids.lashes`). Face Mesh reads the shut lid at 0.22-0.42 of the open
eye on stills of six shared portraits (``docs/photo.md``).
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
#: The eyes' corners (outer, inner), right and left, beyond the lid indices' ends.
_CORNERS = ((33, 133), (263, 362))
#: The lid warp fades out from 0.14 eye widths inside this distance from the eye's centre
#: (along the eye, eye widths) to it; the corners lie at about 0.57.
_FADE_TO = 0.7
#: The stretched lid skin starts this far above the crease, eye widths (the crease itself
#: moves down a little and flattens; above it nothing moves).
_ABOVE_CREASE = 0.03
#: Lash margin above the upper lid, eye widths (translated down as the lid closes).
_LASH_MARGIN = 0.08
#: How much the lash margin thins when shut (its lashes point down over it).
_LASH_THIN = 0.6
#: Lid skin stretched over the eye: from just above the crease (:data:`_ABOVE_CREASE`) to the
#: lash margin, at most this many eye widths (and 60 % of the way to the brow).
_LID_REACH = 0.30
#: The relit lid's skin texture: this share of the luminance detail of the photo's own skin
#: below the eye (mirrored up over the lid, relative to a Gaussian mean of
#: :data:`_TEXTURE_SCALE` eye widths), clipped to +-:data:`_TEXTURE_CLIP`.
_DETAIL = 1.0
_TEXTURE_SCALE = 0.05
_TEXTURE_CLIP = 0.12
#: The skin texture is mirrored about a line this far (eye widths) below the lower lid (below
#: the lower lashes).
_MIRROR_BELOW = 0.12
#: The shut lid covers the lower lid's own margin (its lashes and rim) down to this far
#: (eye widths) below the lower lid, fading out.
_COVER_BELOW = 0.1
#: The closed lid's lash line: a soft dark line (Gaussian, this sigma in eye widths) of the
#: photo's lash colour at this strength (0..1), tapering towards the eye corners.
_LASH_SIGMA = 0.022
_LASH_STRENGTH = 0.9
#: Below the seam the closed lid's lashes fade over this many eye widths (they point down).
_LASH_TAIL = 0.04
#: The shut lid's colour: the skin round the eye filled in by a Gaussian of this sigma (eye
#: widths), pixels darker than this share of the ring's median luminance left out.
_FILL_SIGMA = 0.22
_FILL_DARK = 0.6
#: The relighting reaches this far (eye widths) above the crease: its shadow flattens as the
#: fold opens.
_FLATTEN = 0.1
#: The relit lid covers at least this far (eye widths) above the lash margin (long lashes).
_LID_FULL = 0.12
#: Shading of the convex closed lid: brighter in its middle, darker where it turns into the
#: lash line (fractions of the lid's brightness).
_LID_HIGHLIGHT = 0.1
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
        skin: (3,) RGB of the face's skin (:attr:`PhotoLook.skin`), at the lightness of the skin
            below each eye: only a fallback - the closed lid's tone where too little skin lies
            round the eye to fill it in (:meth:`_skin_fill`), and the lash colour's base where no
            lash margin is seen; None = the colour of the skin below each eye.
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
            # the pixel grids over the eye's box, (bh, bw) float64 x and y: built once per photo,
            # read on every blinking frame (:meth:`eyelid_field`) and by :meth:`_skin_maps`
            x0, y0, x1, y1 = e["box"]
            e["px"], e["py"] = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
            if skin is not None:
                # the face's skin tone at the under-eye skin's lightness: under-eye skin is often
                # yellower or greyer (shadow, concealer) and its hue made the lid a khaki patch
                e["skin_rgb"] = _with_lightness(np.asarray(skin, np.float64), e["skin_rgb"])
            if e["box"][2] - e["box"][0] >= 2 and e["box"][3] - e["box"][1] >= 2:
                self._skin_maps(e)

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
        # the lid curves run out to the eye's own corners (0.57 eye widths out, the outer one
        # higher): ended at +-0.5 on the eye's axis they left a wedge at each corner open
        k0, k1 = _CORNERS[0] if upper_i[0] == R_UPPER[0] else _CORNERS[1]
        ends = lm[[k0, k1], :2] - origin
        us = np.concatenate([[ends[0] @ r], (up - origin) @ r, [ends[1] @ r]])
        vu = np.concatenate([[ends[0] @ d], (up - origin) @ d, [ends[1] @ d]])
        ls = np.concatenate([[ends[0] @ r], (lo - origin) @ r, [ends[1] @ r]])
        vl = np.concatenate([[ends[0] @ d], (lo - origin) @ d, [ends[1] @ d]])
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

    def eyelid_field(self, blink: float, v_offset: float = 0.0
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The blink of both eyes closed by ``blink`` (0..1): ``(field, band, shade)``,
        a backward displacement (h, w, 2) float32 (working-crop pixels, added to the mouth
        warp), the (h, w) float32 weight of the unfolded lid and its (h, w) float32 convex
        shading gain (both for :meth:`relight`), or None when ``blink`` < 0.02.

        A pure warp of the photo's own upper lid, no pasted shape: per column of the eye frame
        (u along the eye, v down) the lash margin (a band ``m`` = :data:`_LASH_MARGIN` eye
        widths above the upper lid, thinning by :data:`_LASH_THIN` as it closes) is translated
        down onto the lower lid so that its middle - the lid's edge as a viewer (and Face
        Mesh) sees it - lies at ``v_u + blink * (v_l - v_u)``, the lid curves running out to
        the eye's own corners; the lid skin above it, from
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
        for e in self.eyes:
            x0, y0, x1, y1 = e["box"]
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            px = e["px"] + v_offset * self.down[0]
            py = e["py"] + v_offset * self.down[1]
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
            # the lid's edge, the middle of the (thinning) lash margin, lands where asked:
            # blink x the opening down from the open upper lid (the margin's lower edge there
            # left the lid a margin's half-width short, read as 0.15 more open)
            d = blink * hgt + 0.5 * m * (1.0 - _LASH_THIN * blink) * _smoothstep(blink / 0.3) * np.minimum(1.0, hgt / m)
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
            fade = np.clip((_FADE_TO * ew - np.abs(u)) / (0.14 * ew), 0.0, 1.0)
            fade = fade * fade * (3 - 2 * fade)
            dv = (src - v) * fade
            field[y0:y1, x0:x1, 0] += (dv * self.down[0]).astype(np.float32)
            field[y0:y1, x0:x1, 1] += (dv * self.down[1]).astype(np.float32)
            # where the unfolded lid lies over the eye (for relighting), feathered
            # broad at the top (no edge where the photo's lid skin meets the relit one)
            lid_top = vu - m - np.maximum(reach, _LID_FULL * ew) - _FLATTEN * ew  # the crease's shadow flattens too
            # fully relit from _LID_FULL above the lash margin at least (long lashes reach higher)
            full = vu - m - np.maximum(0.3 * reach, _LID_FULL * ew)
            lid = _smoothstep((v - lid_top) / np.maximum(full - lid_top, 0.5)) * \
                (1 - _smoothstep((v - vu - d + 1.0 * m) / max(0.5 * m, 0.5)))
            band[y0:y1, x0:x1] = np.maximum(band[y0:y1, x0:x1], (lid * fade * min(1.0, 2 * blink)).astype(np.float32))
            # a closed lid is convex: lit in its middle, darker where it turns into the lash line
            lidtop = vu - m - 0.5 * reach
            t = np.clip((v - lidtop) / np.maximum(vu + d - lidtop, 1.0), 0.0, 1.0)
            sh = 1.0 + _LID_HIGHLIGHT * np.sin(np.pi * t) ** 2 - _LID_TURN * _smoothstep((t - 0.75) / 0.25)
            shade[y0:y1, x0:x1] = (1.0 + (sh - 1.0) * fade * min(1.0, blink)).astype(np.float32)
        return field, band, shade

    def _skin_maps(self, e: dict) -> None:
        """Per eye, once per photo, over its box (all (bh, bw) float32): the eye frame
        coordinates ``u``, ``v`` and lid curves ``vu``, ``vl`` (pixels), the lid's fade beyond
        the eye corners; ``lid`` (bh, bw, 3) the closed lid's RGB: the skin round the eye filled
        in over it (:meth:`_skin_fill`) times the skin texture (a luminance gain around 1: the
        photo's own skin below the eye, mirrored up about a line :data:`_MIRROR_BELOW` eye
        widths below the lower lid, high-passed, clipped to +-:data:`_TEXTURE_CLIP`); and
        ``lash_rgb`` (3,) float32, the colour of the photo's upper lashes (the darkest fifth of
        the lash margin)."""
        x0, y0, x1, y1 = e["box"]
        ew = e["ew"]
        px, py = e["px"], e["py"]
        rel = np.stack([px - e["origin"][0], py - e["origin"][1]], -1)
        u, v = rel @ self.right, rel @ self.down
        vu = np.interp(u, e["us"], e["vu"])
        vl = np.maximum(np.interp(u, e["ls"], e["vl"]), vu)
        fade = _smoothstep((_FADE_TO * ew - np.abs(u)) / (0.14 * ew))
        luma = cv2.cvtColor(self.crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
        mean = cv2.GaussianBlur(luma, (0, 0), max(0.8, _TEXTURE_SCALE * ew))
        hp = luma / np.maximum(mean, 1.0)
        # mirror about a line below the lower lid: the skin just below it continues up over the lid
        vm = 2.0 * (vl + _MIRROR_BELOW * ew) - v
        mx = (px + (vm - v) * self.down[0]).astype(np.float32)
        my = (py + (vm - v) * self.down[1]).astype(np.float32)
        tex = cv2.remap(hp, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        tex = 1.0 + np.clip(_DETAIL * (tex - 1.0), -_TEXTURE_CLIP, _TEXTURE_CLIP)
        # the skin round the shut lid, filled in smoothly (a normalized convolution): its colour
        # and shading gradient without the eye, lashes, liner and brow (darker than the skin)
        fill = self._skin_fill(e)
        # the lashes' colour: the darkest fifth of the margin above the middle of the upper lid
        margin = (np.abs(u) < 0.3 * ew) & (v > vu - _LASH_MARGIN * ew) & (v < vu)
        roi = self.crop[y0:y1, x0:x1].astype(np.float32)
        if margin.sum() >= 3:
            lum = luma[y0:y1, x0:x1][margin]
            lash_rgb = roi[margin][lum <= np.percentile(lum, 20)].mean(0)
        else:
            lash_rgb = 0.35 * e["skin_rgb"]
        e.update(u=u.astype(np.float32), v=v.astype(np.float32), vu_px=vu.astype(np.float32),
                 vl_px=vl.astype(np.float32), fade=fade.astype(np.float32),
                 lash_rgb=np.asarray(lash_rgb, np.float32),
                 # the closed lid's colour: the skin round the eye filled in, with its own texture
                 lid=fill * tex.astype(np.float32)[..., None])

    def _skin_fill(self, e: dict) -> np.ndarray:
        """(bh, bw, 3) float32 RGB over an eye's box: the photo's skin round the eye, filled in
        over the eye and its lids by a normalized Gaussian convolution (sigma
        :data:`_FILL_SIGMA` eye widths) of the skin pixels outside them (the eye, its lids
        from just above the crease down to the lower lid's margin, and anything darker than
        :data:`_FILL_DARK` x the ring's median luminance - lashes, liner, brow - left out):
        the colour a shut lid takes, with the light's gradient across it."""
        x0, y0, x1, y1 = e["box"]
        ew = e["ew"]
        h, w = self.crop.shape[:2]
        pad = int(np.ceil(0.5 * ew))
        X0, Y0, X1, Y1 = max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)
        px, py = np.meshgrid(np.arange(X0, X1, dtype=np.float64), np.arange(Y0, Y1, dtype=np.float64))
        rel = np.stack([px - e["origin"][0], py - e["origin"][1]], -1)
        uu, vv = rel @ self.right, rel @ self.down
        vuu = np.interp(uu, e["us"], e["vu"])
        vll = np.maximum(np.interp(uu, e["ls"], e["vl"]), vuu)
        lid = (np.abs(uu) < _FADE_TO * ew) & (vv > vuu - _LASH_MARGIN * ew - e["crease"] - 0.06 * ew) \
            & (vv < vll + (_COVER_BELOW + 0.04) * ew)
        img = self.crop[Y0:Y1, X0:X1].astype(np.float32)
        lum = img @ np.array([0.299, 0.587, 0.114], np.float32)
        ring = ~lid
        if ring.sum() < 10:
            return np.broadcast_to(e["skin_rgb"].astype(np.float32), (y1 - y0, x1 - x0, 3)).copy()
        ok = (ring & (lum >= _FILL_DARK * float(np.median(lum[ring])))).astype(np.float32)
        sig = max(1.0, _FILL_SIGMA * ew)
        num = cv2.GaussianBlur(img * ok[..., None], (0, 0), sig)
        den = cv2.GaussianBlur(ok, (0, 0), sig)
        fill = num / np.maximum(den, 1e-4)[..., None]
        return fill[y0 - Y0:y1 - Y0, x0 - X0:x1 - X0].astype(np.float32)

    def relight(self, out: np.ndarray, band: np.ndarray, shade: np.ndarray | None = None) -> None:
        """Light the unfolded lid (``band`` (h, w) float32 weight, 0..1) of ``out`` ((h, w, 3)
        uint8, in place) with the photo's own skin round the eye (``lid``, :meth:`_skin_maps`): its
        colour and light gradient filled in over the eye, with the texture of the skin below
        the eye (the stretched lid's own detail drew its lashes as vertical streaks; the face's
        tone at the under-eye skin's lightness read as a pale, flat, pasted patch), times
        ``shade`` ((h, w) float32 gain, the closed lid's convex shading; None = 1)."""
        for e in self.eyes:
            x0, y0, x1, y1 = e["box"]
            b = band[y0:y1, x0:x1]
            if x1 - x0 < 2 or y1 - y0 < 2 or float(b.max()) <= 0.0:
                continue
            roi = out[y0:y1, x0:x1].astype(np.float32)
            lid = e["lid"]
            if shade is not None:
                lid = lid * shade[y0:y1, x0:x1, None]
            roi += b[..., None] * (lid - roi)
            out[y0:y1, x0:x1] = np.clip(roi + 0.5, 0, 255).astype(np.uint8)

    def lashes(self, out: np.ndarray, blink: float) -> None:
        """The closed lid's lash line (in place on ``out`` (h, w, 3) uint8, blink >= 0.5): the
        lid's skin (``lid``, :meth:`_skin_maps`) drawn over the squeezed lash margin and, as the lid
        shuts (blink 0.8 -> 1), over the lower lid's own margin down to :data:`_COVER_BELOW`
        eye widths below it (its lashes and rim stayed as a dark oval round the shut lid), then
        one soft dark line of the photo's lash colour along the seam (a Gaussian of
        :data:`_LASH_SIGMA` eye widths, :data:`_LASH_STRENGTH`, tapering towards the corners,
        darkening only)."""
        k = float(np.clip((blink - 0.5) / 0.4, 0.0, 1.0))
        if k <= 0.0:
            return
        shut = float(_smoothstep((blink - 0.8) / 0.2))
        for e in self.eyes:
            x0, y0, x1, y1 = e["box"]
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            ew, u, v = e["ew"], e["u"], e["v"]
            vu, vl = e["vu_px"], e["vl_px"]
            seam = vu + blink * (vl - vu)  # the lid's edge (eyelid_field)
            m = _LASH_MARGIN * ew
            roi = out[y0:y1, x0:x1].astype(np.float32)
            # skin over the squeezed lash margin and (shut) the lower lid's margin
            lo = seam + shut * _COVER_BELOW * ew
            top = _smoothstep((v - (seam - 1.6 * m)) / (0.6 * m))
            bottom = 1.0 - _smoothstep((v - (lo - 0.5 * _COVER_BELOW * ew * shut)) / max(0.5 * _COVER_BELOW * ew * shut, 0.5))
            cover = (k * e["fade"] * top * bottom)[..., None]
            roi += cover * (e["lid"] - roi)
            # the lash line: soft, dark, thinning towards the corners
            sig = max(_LASH_SIGMA * ew, 0.6)
            taper = _smoothstep((0.58 * ew - np.abs(u)) / (0.2 * ew))
            # a Gaussian above the seam, below it the lashes pointing down fade over _LASH_TAIL
            x = v - seam
            prof = np.where(x < 0, np.exp(-0.5 * (x / sig) ** 2),
                            np.exp(-0.5 * (np.minimum(x, sig) / sig) ** 2 - np.maximum(x - sig, 0.0) / max(_LASH_TAIL * ew, 0.5)))
            line = (k * _LASH_STRENGTH * taper * prof)[..., None]
            roi += line * np.minimum(e["lash_rgb"][None, None, :] - roi, 0.0)
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
