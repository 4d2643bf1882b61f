"""The mouth bank: face-aligned lower-face crops of every source frame.

Each crop is the source frame resampled into the face-aligned frame (eye line horizontal,
inter-ocular distance = ``scale`` pixels), cut to the lower-face box. Crops are written to a
``.npy`` file that is memory-mapped when rendering, so the bank never has to fit in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ...face import landmarks as L
from ...face.align import apply_affine
from ...hooks import Progress

#: Largest crop width in pixels (crops of very large faces are downscaled to this).
MAX_CROP_WIDTH_PX = 640


@dataclass(frozen=True)
class CropBox:
    """The lower-face box in face-aligned units and its pixel scale.

    Crop pixel = (aligned point - (x0, y0)) * scale; the crop is ``width_px`` x ``height_px``.
    """

    x0: float
    y0: float
    x1: float
    y1: float
    scale: float

    @property
    def width_px(self) -> int:
        return int(np.ceil((self.x1 - self.x0) * self.scale))

    @property
    def height_px(self) -> int:
        return int(np.ceil((self.y1 - self.y0) * self.scale))

    def aligned_to_crop(self) -> np.ndarray:
        """(2, 3) affine: face-aligned -> crop pixels."""
        return np.array([[self.scale, 0, -self.x0 * self.scale], [0, self.scale, -self.y0 * self.scale]])

    def pixel_to_crop(self, pixel_to_aligned: np.ndarray) -> np.ndarray:
        """(2, 3) affine: a frame's pixels -> crop pixels."""
        a = self.aligned_to_crop()
        out = np.zeros((2, 3))
        out[:, :2] = a[:, :2] @ pixel_to_aligned[:, :2]
        out[:, 2] = a[:, :2] @ pixel_to_aligned[:, 2] + a[:, 2]
        return out

    def to_array(self) -> np.ndarray:
        return np.array([self.x0, self.y0, self.x1, self.y1, self.scale], np.float64)

    @classmethod
    def from_array(cls, a) -> "CropBox":
        return cls(*[float(v) for v in a])


#: Points whose extent defines the lower-face box.
LOWER_FACE = np.concatenate([L.JAW, L.UNDER_NOSE, L.LIPS_OUTER])


def lower_face_box(landmarks: np.ndarray, transforms: np.ndarray, valid: np.ndarray) -> CropBox:
    """The box covering the lower face in every valid frame, with margins for an open jaw.

    Args:
        landmarks: (N, 478, 2+) pixels; transforms: (N, 2, 3) pixel -> aligned; valid: (N,).
    """
    idx = np.flatnonzero(valid)
    pts = np.stack([apply_affine(transforms[i], landmarks[i, LOWER_FACE, :2]) for i in idx])
    x0, y0 = np.percentile(pts[..., 0], 0.5), np.percentile(pts[..., 1], 0.5)
    x1, y1 = np.percentile(pts[..., 0], 99.5), np.percentile(pts[..., 1], 99.5)
    from ...face.landmarks import interocular_px

    iod = float(np.median(interocular_px(landmarks[idx])))
    w = (x1 - x0) + 0.3
    scale = min(iod, MAX_CROP_WIDTH_PX / w)
    return CropBox(x0=float(x0 - 0.15), y0=float(y0 - 0.1), x1=float(x1 + 0.15), y1=float(y1 + 0.35),
                   scale=float(scale))


def build_bank(frames, transforms: np.ndarray, valid: np.ndarray, box: CropBox, out_path: Path,
               progress: Progress | None = None) -> None:
    """Write the crops of all frames to ``out_path`` (.npy, shape (N, Hc, Wc, 3) uint8).

    Args:
        frames: iterable of (H, W, 3) uint8 RGB source frames, in order, N of them.
        transforms, valid: per-frame pixel -> aligned transforms and face flags.
        box: the crop box.
        out_path: the .npy file to write (invalid frames are left black).
    """
    progress = progress or Progress()
    n = len(valid)
    arr = np.lib.format.open_memmap(out_path, mode="w+", dtype=np.uint8,
                                    shape=(n, box.height_px, box.width_px, 3))
    for i, img in enumerate(frames):
        if i >= n:
            break
        if valid[i]:
            m = box.pixel_to_crop(transforms[i])
            arr[i] = cv2.warpAffine(img, m, (box.width_px, box.height_px), flags=cv2.INTER_CUBIC,
                                    borderMode=cv2.BORDER_REPLICATE)
        progress("bank", i + 1, n)
    arr.flush()
    del arr
