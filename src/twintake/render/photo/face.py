"""The face of a photo: reading the image, finding one usable face, and the working crop.

Every warp of a photo is computed on a *working crop* around the head, upscaled so the face is
about 220 px wide (up to 4x; faces under ~220 px), with landmarks refined by a second face-mesh
pass on that crop; the result is scaled back and pasted with a feathered mask, so small faces
(70-120 px) work and pixels outside the head stay exactly the photo's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ...errors import MediaError, NoFaceError
from ...face import landmarks as L
from ...face.tracker import detect_faces

__all__ = ["PhotoFace", "MIN_PHOTO_FACE_PX", "load_photo", "find_photo_face", "crop_to_size", "prepare_face"]

#: Faces narrower than this (cheek to cheek, pixels) are refused.
MIN_PHOTO_FACE_PX = 40
#: Faces are processed on a crop upscaled so the face is about this wide (pixels) ...
_WORK_FACE_PX = 220.0
#: ... by at most this factor.
_MAX_UPSCALE = 4.0


@dataclass
class PhotoFace:
    """The face of a photo in working-crop coordinates.

    Attributes:
        roi: (x0, y0, x1, y1) pixels of the crop in the (output-sized) photo.
        scale: working pixels per photo pixel (>= 1).
        landmarks: (478, 2) float64 working-crop pixels.
        face_width_px: cheek-to-cheek width in *photo* pixels.
        crop: (h, w, 3) uint8 the working crop itself: the photo's ``roi``, upscaled by
            ``scale`` (bicubic) when it is > 1.
    """

    roi: tuple[int, int, int, int]
    scale: float
    landmarks: np.ndarray
    face_width_px: float
    crop: np.ndarray


def load_photo(path: str | Path) -> np.ndarray:
    """Read an image (EXIF orientation applied) as (H, W, 3) uint8 RGB.

    16- and 32-bit greyscale images (PIL modes ``I;16*``, ``I``, ``F``) are scaled to 8 bits
    (PIL's own conversion clips them to white). Transparent pixels of an image with alpha are
    laid on white (an MP4 has no transparency; PIL's conversion would bring back whatever
    colour the transparent pixels hold).

    Raises:
        MediaError: missing or not an image.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise MediaError(f"{p} does not exist: give a photo (jpg, png, webp)")
    try:
        with Image.open(p) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode.startswith("I") or im.mode == "F":
                grey = np.asarray(im, np.float64)
                top = float(grey.max()) if grey.size else 0.0
                if im.mode.startswith("I;16") or top > 255:
                    peak = 65535.0
                elif im.mode == "F" and top <= 1.0:
                    peak = 1.0  # a float image in 0..1
                else:
                    peak = 255.0
                grey = np.clip(grey / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
                return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = np.asarray(im.convert("RGBA"), np.float32)
                alpha = rgba[..., 3:] / 255.0
                rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
                return np.ascontiguousarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8))
            return np.ascontiguousarray(np.asarray(im.convert("RGB")))
    except Image.DecompressionBombError as e:
        raise MediaError(f"{p} is too large to read safely ({e}): scale it down, e.g. to 4000 px") from None
    except (UnidentifiedImageError, OSError) as e:
        raise MediaError(f"{p} is not an image twintake can read ({e}): use a jpg or png photo") from e


def _yaw_ratio(lm: np.ndarray) -> float:
    """Frontalness in [0, 1]: the smaller over the larger horizontal distance from the nose tip
    to the two outer eye corners (1 = frontal, ~0 = profile)."""
    e = lm[263, :2] - lm[33, :2]
    e = e / max(float(np.linalg.norm(e)), 1e-6)
    a = float((lm[L.NOSE_TIP, :2] - lm[33, :2]) @ e)
    b = float((lm[263, :2] - lm[L.NOSE_TIP, :2]) @ e)
    if min(a, b) <= 0:
        return 0.0
    return min(a, b) / max(a, b)


def find_photo_face(image: np.ndarray, path: str | Path, face_index: int = 0) -> np.ndarray:
    """Landmarks (478, 3) float32 (photo pixels) of face ``face_index`` (0 = largest).

    Raises:
        NoFaceError: no face (names the file), fewer faces than ``face_index + 1``, a face
            under :data:`MIN_PHOTO_FACE_PX` wide ("too small"), or a profile view.
    """
    faces = detect_faces(image, max_faces=max(face_index + 1, 4))
    if not faces:
        raise NoFaceError(f"no face found in {path}: use a photo showing one face from the front, "
                          "at least ~100 px wide (head and shoulders works best)")
    if face_index >= len(faces):
        raise NoFaceError(f"{path} shows {len(faces)} face(s); face number {face_index} (0 = largest) "
                          "does not exist: choose a smaller --face-index")
    lm = faces[face_index]
    width = float(L.face_width_px(lm))
    if width < MIN_PHOTO_FACE_PX:
        raise NoFaceError(f"the face in {path} is too small (~{width:.0f} px wide, at least "
                          f"{MIN_PHOTO_FACE_PX} px needed): use a larger or closer-cropped photo where "
                          "the face is 100 px wide or more")
    if _yaw_ratio(lm) < 0.3:
        raise NoFaceError(f"the face in {path} is seen from the side (profile): use a photo where the "
                          "person looks roughly towards the camera, both eyes visible")
    return lm


def crop_to_size(image: np.ndarray, lm: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Crop the largest box of aspect ``size`` centred (as far as possible) on the face and
    resize to ``size``; returns the image and the landmarks moved with it."""
    w_out, h_out = int(size[0]), int(size[1])
    h, w = image.shape[:2]
    aspect = w_out / h_out
    cw = min(w, h * aspect)
    ch = cw / aspect
    cx, cy = lm[:, 0].mean(), lm[:, 1].mean()
    x0 = float(np.clip(cx - cw / 2, 0, w - cw))
    y0 = float(np.clip(cy - ch / 2, 0, h - ch))
    s = w_out / cw
    m = np.array([[s, 0, -x0 * s], [0, s, -y0 * s]])
    out = cv2.warpAffine(image, m, (w_out, h_out), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC,
                         borderMode=cv2.BORDER_REPLICATE)
    lm2 = lm.copy()
    lm2[:, :2] = lm[:, :2] * s - np.array([x0 * s, y0 * s])
    lm2[:, 2] *= s
    return out, lm2


def working_scale(face_width_px: float) -> float:
    """Upscaling factor of the working crop for a face ``face_width_px`` pixels wide (cheek to
    cheek): the face is brought to ~220 px (at most 4x; never downscaled). Float >= 1."""
    return float(np.clip(_WORK_FACE_PX / max(float(face_width_px), 1e-6), 1.0, _MAX_UPSCALE))


def prepare_face(image: np.ndarray, lm: np.ndarray) -> PhotoFace:
    """Working crop around the head, upscaled for small faces; landmarks refined on it."""
    h, w = image.shape[:2]
    fw = float(L.face_width_px(lm))
    oval = lm[L.FACE_OVAL, :2]
    cx, cy = oval.mean(0)
    fh = float(np.ptp(oval[:, 1]))
    x0 = int(max(0, np.floor(cx - 1.35 * fw)))
    x1 = int(min(w, np.ceil(cx + 1.35 * fw)))
    y0 = int(max(0, np.floor(cy - 0.6 * fh - 0.75 * fw)))
    y1 = int(min(h, np.ceil(cy + 0.5 * fh + 0.8 * fw)))
    s = working_scale(fw)
    crop = image[y0:y1, x0:x1]
    if s > 1.0:
        crop = cv2.resize(crop, (int(round((x1 - x0) * s)), int(round((y1 - y0) * s))),
                          interpolation=cv2.INTER_CUBIC)
    guess = (lm[:, :2] - [x0, y0]) * s
    refined = detect_faces(crop, max_faces=3)
    best = guess.astype(np.float64)
    if refined:
        d = [float(np.linalg.norm(f[:, :2].mean(0) - guess.mean(0))) for f in refined]
        i = int(np.argmin(d))
        if d[i] < 0.2 * fw * s:
            best = refined[i][:, :2].astype(np.float64)
    return PhotoFace(roi=(x0, y0, x1, y1), scale=s, landmarks=best, face_width_px=fw,
                     crop=np.ascontiguousarray(crop))
