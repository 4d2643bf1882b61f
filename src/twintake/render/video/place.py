"""Where the target mouth goes in a base frame: the rigid head pose of the upper face, in 3D.

A target mouth is a shape in the face-aligned frame (eye midpoint at 0, eye line horizontal,
inter-ocular distance 1), which a 2D similarity fits to the upper face. Head pitch and yaw move
the mouth relative to that frame - a nod foreshortens the eyes-to-mouth distance, a turn moves
the protruding lip centre against the deeper mouth corners - and a 2D similarity cannot say so.

:class:`HeadPlacement` keeps the person's mean face in 3D (MediaPipe's x, y and relative depth z,
in face-aligned units) and, for each base frame, fits a 3D similarity (rotation, uniform scale,
translation; Umeyama, IEEE TPAMI 1991) from the mean face's speech-independent points - eye
corners, brows, forehead, temples, nose bridge, tip and wings (:data:`PLACE_POINTS`) - to the
base frame's. The target's points get the mean face's depth of the same mouth points, are moved
by that similarity and projected back (orthographically, as the face mesh's own x, y are). No lip,
jaw or cheek point of the base frame is used: in self-reenactment the base frame's mouth is the
answer, and a dubbing render uses the same cues in the same way.
"""

from __future__ import annotations

import numpy as np

from ...face import landmarks as L
from ...face.align import apply_affine, umeyama

#: Nose bridge, tip, columella base and wings: rigid with the skull, closest to the mouth.
_NOSE_POINTS = np.array([1, 2, 4, 5, 195, 98, 327, 48, 278, 64, 294])
#: The upper-face points the head pose is fitted to (eyes, brows, forehead, temples, nose).
PLACE_POINTS = np.unique(np.concatenate([L.STABLE, _NOSE_POINTS]))
#: A fit is not trusted (the target stays where the 2D alignment puts it) when the head is turned
#: more than this from the person's mean pose, degrees (the 12 shared videos: at most 21.5)...
MAX_TURN_DEG = 45.0
#: ... or when the upper-face points miss the fitted pose by more than this RMS, inter-ocular
#: units (the 12 shared videos: at most 0.045): a tracking failure, not a head pose.
MAX_RESIDUAL_IOD = 0.1


def aligned_3d(landmarks: np.ndarray, pixel_to_aligned: np.ndarray, index: np.ndarray) -> np.ndarray:
    """(P, 3) float64 face-aligned points ``index`` of one frame: x, y through the frame's
    similarity, the face mesh's z (pixels, relative depth) times the similarity's scale.

    Args:
        landmarks: (478, 2 or 3) pixels; without z the depth is 0.
        pixel_to_aligned: (2, 3) pixel -> face-aligned similarity.
        index: (P,) landmark indices.
    """
    lm = np.asarray(landmarks)[index]
    out = np.zeros((len(index), 3))
    out[:, :2] = apply_affine(pixel_to_aligned, lm[:, :2])
    if lm.shape[1] > 2:
        out[:, 2] = lm[:, 2] * float(np.hypot(*pixel_to_aligned[0, :2]))
    return out


class HeadPlacement:
    """Places face-aligned target mouths in base frames with the base's 3D head pose.

    Args:
        landmarks: (N, 478, 3) float32 pixels of the source frames (x, y, z).
        valid: (N,) bool.
        transforms: (N, 2, 3) pixel -> face-aligned similarity per source frame.
    """

    def __init__(self, landmarks: np.ndarray, valid: np.ndarray, transforms: np.ndarray) -> None:
        ok = np.flatnonzero(valid)
        self.ok = len(ok) > 0
        idx = np.concatenate([PLACE_POINTS, L.MOUTH_POINTS])
        mean = (np.mean([aligned_3d(landmarks[i], transforms[i], idx) for i in ok], 0) if self.ok
                else np.zeros((len(idx), 3)))
        #: (P, 3) the person's mean upper face, face-aligned units
        self.mean_face = mean[: len(PLACE_POINTS)]
        #: (57,) the mean depth of each mouth point (face-aligned units)
        self.mouth_depth = mean[len(PLACE_POINTS):, 2]

    def place(self, target: np.ndarray, landmarks: np.ndarray, pixel_to_aligned: np.ndarray) -> np.ndarray:
        """(114,) float32: ``target`` ((114,) face-aligned mouth points of the mean head pose)
        moved to where the base frame's head (``landmarks`` (478, 3) pixels, its
        ``pixel_to_aligned`` (2, 3) similarity) puts it, in the base's face-aligned frame;
        unmoved when the fit is not plausible (:data:`MAX_TURN_DEG`, :data:`MAX_RESIDUAL_IOD`)."""
        if not self.ok:
            return np.asarray(target, np.float32)
        dst = aligned_3d(landmarks, pixel_to_aligned, PLACE_POINTS)
        scale, rot, shift = umeyama(self.mean_face, dst)
        turn = np.degrees(np.arccos(np.clip((np.trace(rot) - 1.0) / 2.0, -1.0, 1.0)))
        resid = float(np.sqrt(((scale * self.mean_face @ rot.T + shift - dst) ** 2).sum(1).mean()))
        if turn > MAX_TURN_DEG or resid > MAX_RESIDUAL_IOD:
            return np.asarray(target, np.float32)
        p = np.asarray(target, np.float64).reshape(-1, 2)
        p3 = np.hstack([p, self.mouth_depth[: len(p), None]])
        return (scale * p3 @ rot.T + shift)[:, :2].reshape(-1).astype(np.float32)
