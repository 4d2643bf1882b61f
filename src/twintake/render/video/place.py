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

The rigid fit leaves the mouth off by a few per cent of the inter-ocular distance, and that
offset follows what the rigid points cannot show (how the face mesh reads pitch and yaw, a squint).
The eyelids carry it: their landmarks' residual after the rigid fit (:data:`LID_POINTS`, undone
to the mean head pose, minus the person's mean) predicts the mouth's offset through a linear map
(:class:`OffsetModel`, a ridge regression trained by ``scripts/train_placement.py`` on other
people's videos; held out, correlation 0.67 vertically and 0.79 horizontally on 12 videos). The
eyelids do not read the mouth: moving a frame's lower face by 6 % IOD moves the prediction by
0.3 % IOD the other way (``docs/video.md``, *Placement*).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import TwintakeError
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
#: Upper and lower eyelid points of both eyes (3 pairs each): the offset model's input.
LID_POINTS = np.array([159, 145, 158, 153, 160, 144, 386, 374, 385, 380, 387, 373])
#: The mouth offset model shipped with the package (``scripts/train_placement.py``).
DEFAULT_OFFSET_MODEL = Path(__file__).resolve().parents[2] / "data" / "mouth_offset.npz"
#: Largest mouth offset applied, inter-ocular units (a safety bound: the 12 shared videos' real offsets
#: are within it in 98 % of frames, at most 0.17).
MAX_OFFSET_IOD = 0.08


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


@dataclass
class OffsetModel:
    """The mouth's offset from its rigidly placed position, predicted from the eyelids.

    ``offset = residual @ weights``: ``residual`` (F,) is the base frame's :data:`LID_POINTS`
    (x, y, z) undone to the mean head pose, minus the person's mean (:meth:`HeadPlacement.lid_residual`),
    inter-ocular units; ``offset`` (2,) moves the whole target mouth (x, y, face-aligned units).

    Attributes:
        weights: (F, 2) float64, F = 3 x len(:data:`LID_POINTS`).
        info: how it was trained.
    """

    weights: np.ndarray
    info: str = ""

    @classmethod
    def fit(cls, residuals: np.ndarray, offsets: np.ndarray, ridge: float, info: str = "") -> "OffsetModel":
        """Ridge regression (no intercept: both sides are centred per person).

        Args:
            residuals: (N, F) lid residuals, each person's mean removed.
            offsets: (N, 2) the real mouth's offset from its rigidly placed mean shape, each
                person's mean removed, inter-ocular units.
            ridge: penalty per frame (the normal equations get ``ridge * N`` on the diagonal).
        """
        x, y = np.asarray(residuals, np.float64), np.asarray(offsets, np.float64)
        w = np.linalg.solve(x.T @ x + ridge * len(x) * np.eye(x.shape[1]), x.T @ y)
        return cls(weights=w, info=info)

    def predict(self, residuals: np.ndarray) -> np.ndarray:
        """(..., 2) offsets, clipped to +-:data:`MAX_OFFSET_IOD`, of (..., F) residuals."""
        return np.clip(np.asarray(residuals, np.float64) @ self.weights, -MAX_OFFSET_IOD, MAX_OFFSET_IOD)

    def save(self, path: str | Path) -> None:
        np.savez(path, weights=self.weights, points=LID_POINTS, info=np.array(self.info))

    @classmethod
    def load(cls, path: str | Path = DEFAULT_OFFSET_MODEL) -> "OffsetModel":
        """Load a model written by :meth:`save`.

        Raises:
            TwintakeError: the file is missing, unreadable or made for other lid points.
        """
        return _load_offset(str(path))


def _load_offset(path: str) -> OffsetModel:
    try:
        stamp = Path(path).stat().st_mtime_ns
    except OSError as e:
        raise TwintakeError(f"mouth offset model {path} could not be read ({e}); "
                            "make it with scripts/train_placement.py") from None
    return _read_offset(path, stamp)


@functools.lru_cache(maxsize=4)
def _read_offset(path: str, stamp: int) -> OffsetModel:
    """The model at ``path`` as of modification time ``stamp`` (a rewritten file is read again)."""
    try:
        with np.load(path) as d:
            points, weights, info = d["points"], d["weights"], str(d["info"])
    except Exception as e:  # noqa: BLE001 - empty, truncated, not an npz, missing keys: one line
        raise TwintakeError(f"mouth offset model {path} could not be read ({type(e).__name__}: {e}); "
                            "make it with scripts/train_placement.py") from None
    if not np.array_equal(points, LID_POINTS) or weights.shape != (3 * len(LID_POINTS), 2):
        raise TwintakeError(f"mouth offset model {path} was made for other eyelid points: "
                            "retrain it with scripts/train_placement.py")
    return OffsetModel(weights=weights, info=info)


def offset_model(name: str | None) -> OffsetModel | None:
    """The offset model named by :attr:`CompositeOptions.offset_model`: ``"default"`` (shipped),
    ``"none"`` / None (no offset), or a path. Raises :class:`TwintakeError` when it cannot be read."""
    if name is None or name == "none":
        return None
    return OffsetModel.load(DEFAULT_OFFSET_MODEL if name == "default" else name)


class HeadPlacement:
    """Places face-aligned target mouths in base frames with the base's 3D head pose.

    Args:
        landmarks: (N, 478, 3) float32 pixels of the source frames (x, y, z).
        valid: (N,) bool.
        transforms: (N, 2, 3) pixel -> face-aligned similarity per source frame.
        offset: the eyelids' mouth offset model (None: the rigid placement alone).
    """

    def __init__(self, landmarks: np.ndarray, valid: np.ndarray, transforms: np.ndarray,
                 offset: OffsetModel | None = None) -> None:
        ok = np.flatnonzero(valid)
        self.ok = len(ok) > 0
        idx = np.concatenate([PLACE_POINTS, L.MOUTH_POINTS])
        mean = (np.mean([aligned_3d(landmarks[i], transforms[i], idx) for i in ok], 0) if self.ok
                else np.zeros((len(idx), 3)))
        #: (P, 3) the person's mean upper face, face-aligned units
        self.mean_face = mean[: len(PLACE_POINTS)]
        #: (57,) the mean depth of each mouth point (face-aligned units)
        self.mouth_depth = mean[len(PLACE_POINTS):, 2]
        self.offset = offset
        #: (F,) the person's mean lid residual (over the frames with a plausible fit)
        self.mean_lids = np.zeros(3 * len(LID_POINTS))
        if offset is not None and self.ok:
            fits = [(i, self.fit(landmarks[i], transforms[i])) for i in ok]
            res = [self._lids(landmarks[i], transforms[i], f) for i, f in fits if f is not None]
            if res:
                self.mean_lids = np.mean(res, 0)

    def fit(self, landmarks: np.ndarray, pixel_to_aligned: np.ndarray) -> tuple[float, np.ndarray, np.ndarray] | None:
        """(scale, (3, 3) rotation, (3,) shift) taking the mean upper face to this frame's
        (face-aligned units), or None when not plausible (:data:`MAX_TURN_DEG`, :data:`MAX_RESIDUAL_IOD`)."""
        dst = aligned_3d(landmarks, pixel_to_aligned, PLACE_POINTS)
        scale, rot, shift = umeyama(self.mean_face, dst)
        if not scale > 1e-6:  # collapsed or degenerate landmarks: no pose
            return None
        turn = np.degrees(np.arccos(np.clip((np.trace(rot) - 1.0) / 2.0, -1.0, 1.0)))
        resid = float(np.sqrt(((scale * self.mean_face @ rot.T + shift - dst) ** 2).sum(1).mean()))
        return None if turn > MAX_TURN_DEG or resid > MAX_RESIDUAL_IOD else (scale, rot, shift)

    @staticmethod
    def _lids(landmarks: np.ndarray, pixel_to_aligned: np.ndarray, fit) -> np.ndarray:
        scale, rot, shift = fit
        return (((aligned_3d(landmarks, pixel_to_aligned, LID_POINTS) - shift) @ rot) / scale).reshape(-1)

    def lid_residual(self, landmarks: np.ndarray, pixel_to_aligned: np.ndarray) -> np.ndarray | None:
        """(F,) float64 the frame's :data:`LID_POINTS` in the mean head pose minus the person's
        mean (inter-ocular units), or None when the head fit is not plausible. The mean is
        computed only when the placement has an offset model; without one it is zero and the
        lid points come back uncentred (``scripts/train_placement.py`` centres them per video)."""
        f = self.fit(landmarks, pixel_to_aligned) if self.ok else None
        return None if f is None else self._lids(landmarks, pixel_to_aligned, f) - self.mean_lids

    def place(self, target: np.ndarray, landmarks: np.ndarray, pixel_to_aligned: np.ndarray) -> np.ndarray:
        """(114,) float32: ``target`` ((114,) face-aligned mouth points of the mean head pose)
        moved to where the base frame's head (``landmarks`` (478, 3) pixels, its
        ``pixel_to_aligned`` (2, 3) similarity) puts it, in the base's face-aligned frame, then
        by the eyelids' offset (when the placement has an :class:`OffsetModel`); unmoved when
        the fit is not plausible (:data:`MAX_TURN_DEG`, :data:`MAX_RESIDUAL_IOD`)."""
        f = self.fit(landmarks, pixel_to_aligned) if self.ok else None
        if f is None:
            return np.asarray(target, np.float32)
        scale, rot, shift = f
        p = np.asarray(target, np.float64).reshape(-1, 2)
        p3 = np.hstack([p, self.mouth_depth[: len(p), None]])
        out = (scale * p3 @ rot.T + shift)[:, :2]
        if self.offset is not None:
            out = out + self.offset.predict(self._lids(landmarks, pixel_to_aligned, f) - self.mean_lids)
        return out.reshape(-1).astype(np.float32)
