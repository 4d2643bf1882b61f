"""Head motion of a photo with the body following: the head turns and nods, hair, neck and
shoulders follow with a soft falloff, the background stays still.

The person is segmented once (MediaPipe Selfie Segmentation; an ellipse around the head when
segmentation fails). Each frame applies a backward map ``p = q - D(q)`` over the person's box,
where the forward displacement of a small head rotation is

``D(q) = w(q) [R(roll) (q - pivot) + pivot - q] + Z(q) (yaw, pitch)``  (radians),

``pivot`` the neck below the chin, ``w`` the *follow weight* (1 on the head and hair, falling
smoothly to 0.45 half a face height below the chin, 0.2 at the shoulders one face height
below it and to 0 two face heights
down, times the person mask, fading to 0 from 0.8 to 1.6 face widths to the side of the face
(1.2 to 2.0 at the shoulders: a neighbour stays still), and fading to 0 at the frame's border: over the outer 35 % of
the frame at the sides and bottom, 0.3 face widths at the top) and ``Z(q) = w(q) n(q) (z0 + z_face(q))`` a depth proxy (``n`` keeps the
turns on the head and neck: 1 at the chin, 0 0.8 face heights below it): an ellipsoid
over the face oval (0.5 face widths at its centre) on top of the head's depth from its
rotation axis ``z0`` = 0.35 face widths. Points in front move further than the outline: a
small out-of-plane rotation (first-order parallax of a rigid head; the same small-angle model
as the head warps of e.g. Averbuch-Elor et al., "Bringing portraits to life", 2017).
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from ...face import landmarks as L

__all__ = ["person_mask", "BodyMotion"]

log = logging.getLogger(__name__)


def person_mask(image: np.ndarray) -> np.ndarray | None:
    """(H, W) float32 in [0, 1]: the people in ``image`` ((H, W, 3) uint8 RGB), or None when
    segmentation is unavailable or finds nobody."""
    try:
        from ...face.mediapipe import _face_mesh_module, _quiet_native_stderr

        _face_mesh_module()  # the package's quiet import set-up
        from mediapipe.python.solutions import selfie_segmentation as ss
    except Exception as e:  # noqa: BLE001 - an optional refinement: the ellipse fallback works
        log.info("person segmentation unavailable (%s): the head moves alone", e)
        return None
    with _quiet_native_stderr():
        with ss.SelfieSegmentation(model_selection=0) as seg:
            res = seg.process(np.ascontiguousarray(image))
    m = getattr(res, "segmentation_mask", None)
    if m is None or float(m.max()) < 0.5:
        return None
    return np.clip(m.astype(np.float32), 0.0, 1.0)


class BodyMotion:
    """Per-frame head/body warp of a photo (see the module docstring).

    Args:
        image: (H, W, 3) uint8 RGB photo (output size).
        lm: (478, >=2) its face landmarks, pixels.
        mask: :func:`person_mask` of ``image`` or None (head ellipse only).
    """

    def __init__(self, image: np.ndarray, lm: np.ndarray, mask: np.ndarray | None) -> None:
        h, w = image.shape[:2]
        lm = np.asarray(lm, np.float64)[:, :2]
        fw = float(L.face_width_px(lm))
        e = lm[263] - lm[33]
        right = e / max(float(np.linalg.norm(e)), 1e-6)
        down = np.array([-right[1], right[0]])
        oval = lm[L.FACE_OVAL]
        centre = oval.mean(0)
        chin = lm[L.CHIN]
        fh = float(np.ptp(oval @ down))
        self.pivot = chin + 0.25 * fw * down
        # the box that may move: the person's bounding box (or around the head), clipped
        if mask is not None:
            ys, xs = np.nonzero(mask > 0.3)
            x0, x1 = xs.min(), xs.max() + 1
            y0, y1 = ys.min(), ys.max() + 1
        else:
            x0, x1 = centre[0] - 1.2 * fw, centre[0] + 1.2 * fw
            y0, y1 = centre[1] - 1.3 * fh, chin[1] + 0.6 * fh
        pad = int(np.ceil(0.08 * fw)) + 2
        x0, y0 = max(0, int(np.floor(x0)) - pad), max(0, int(np.floor(y0)) - pad)
        x1, y1 = min(w, int(np.ceil(x1)) + pad), min(h, int(np.ceil(y1)) + pad)
        self.box = (x0, y0, x1, y1)
        px, py = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
        rel = np.stack([px - centre[0], py - centre[1]], -1)
        v = rel @ down  # down the face from its centre
        u = rel @ right
        below = (np.stack([px - chin[0], py - chin[1]], -1) @ down) / max(fh, 1.0)  # face heights below the chin
        fall = np.interp(below, [0.0, 0.5, 1.0, 2.0], [1.0, 0.45, 0.2, 0.0])
        head = np.zeros((y1 - y0, x1 - x0), np.float32)
        axes = (int(round(0.75 * fw)), int(round(0.5 * fh + 0.35 * fw)))
        angle = float(np.degrees(np.arctan2(right[1], right[0])))
        hc = centre - 0.15 * fw * down
        cv2.ellipse(head, (int(round(hc[0] - x0)), int(round(hc[1] - y0))), axes, angle, 0, 360, 1.0, -1, cv2.LINE_AA)
        head = cv2.GaussianBlur(head, (0, 0), max(1.0, 0.1 * fw))
        if mask is not None:
            # the person mask, grown a little (a moving edge must not tear) and softened
            m = mask[y0:y1, x0:x1]
            grow = max(1, int(round(0.03 * fw)))
            m = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
            m = cv2.GaussianBlur(m, (0, 0), max(1.0, 0.03 * fw))
            wgt = np.maximum(head * np.clip(m * 1.5, 0, 1), m * fall)
        else:
            wgt = head * np.clip(fall, 0.0, 1.0)
        # the frame's border stays put (a still camera; nothing is pulled in from outside): the
        # sides and the bottom, where the body is cut, are still in their outer 10 % and move
        # fully from 35 % in; the top (hair) from 0.05 to 0.3 face widths
        mn = float(min(h, w))
        sides = np.minimum(np.minimum(px, w - 1 - px), h - 1 - py)
        taper = np.clip((sides - 0.1 * mn) / (0.25 * mn), 0.0, 1.0)
        taper = np.minimum(taper, np.clip((py - 0.05 * fw) / (0.25 * fw), 0.0, 1.0))
        wgt = wgt.astype(np.float64) * taper * taper * (3 - 2 * taper)
        # only this person: full weight within 0.8 face widths of the face's axis (1.2 at the
        # shoulders), none beyond 0.8 more (a neighbour in a group shot or a second panel stays)
        lim = 0.8 + 0.4 * np.clip(below, 0.0, 1.0)
        side = np.clip((lim + 0.8 - np.abs(u) / max(fw, 1.0)) / 0.8, 0.0, 1.0)
        wgt = wgt * side * side * (3 - 2 * side)
        # out-of-plane turns move the head and the neck; the shoulders only follow the roll
        near = np.interp(below, [0.0, 0.4, 0.8], [1.0, 0.4, 0.0])
        # depth proxy: ellipsoid over the face oval on top of the head's depth from its axis
        ax, ay = 0.5 * float(np.ptp(oval @ right)), 0.5 * fh
        r2 = (u / ax) ** 2 + (v / ay) ** 2
        zface = 0.5 * fw * np.sqrt(np.clip(1.0 - r2, 0.0, 1.0))
        zface = cv2.GaussianBlur(zface.astype(np.float32), (0, 0), max(1.0, 0.05 * fw)).astype(np.float64)
        z = wgt * near * (0.35 * fw + zface)
        self._wx = (wgt * (px - self.pivot[0])).astype(np.float32)
        self._wy = (wgt * (py - self.pivot[1])).astype(np.float32)
        self._z = z.astype(np.float32)
        self._px, self._py = px.astype(np.float32), py.astype(np.float32)
        self.weight = wgt.astype(np.float32)

    def maps(self, pitch_deg: float, yaw_deg: float, roll_deg: float) -> tuple[np.ndarray, np.ndarray] | None:
        """Backward maps (x, y) (box h, box w) float32 photo pixels for a pose, or None when
        the pose is ~0."""
        th, ps, ro = np.radians([pitch_deg, yaw_deg, roll_deg])
        if max(abs(th), abs(ps), abs(ro)) < 1e-4:
            return None
        c1, s = float(np.cos(ro) - 1.0), float(np.sin(ro))
        dx = c1 * self._wx - s * self._wy + float(ps) * self._z
        dy = s * self._wx + c1 * self._wy + float(th) * self._z
        return self._px - dx, self._py - dy

    def apply(self, frame: np.ndarray, source: np.ndarray, pose: np.ndarray) -> np.ndarray:
        """Warp the person's box of ``source`` ((H, W, 3) uint8, the frame before head motion)
        into ``frame`` (same size, modified in place and returned) for ``pose`` (pitch, yaw,
        roll degrees, ...)."""
        m = self.maps(float(pose[0]), float(pose[1]), float(pose[2]))
        if m is None:
            return frame
        x0, y0, x1, y1 = self.box
        frame[y0:y1, x0:x1] = cv2.remap(source, m[0], m[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        return frame
