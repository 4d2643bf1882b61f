"""Rendering a photo avatar: one image brought to life, speaking.

* :mod:`.face` - reading the photo, finding one usable face, the upscaled working crop;
* :mod:`.animator` - one frame of the working crop for a mouth shape, a blink and a head pose;
* :mod:`.mouth_interior` - teeth, tongue and cavity of the open mouth (model + the photo's own),
  graded to the photo's colours (:mod:`.look`), lower teeth drawn per tooth (:mod:`.teeth`);
* :mod:`.body` - head motion on the whole photo: hair, neck and shoulders follow, the
  background stays;
* :class:`PhotoPlanner` (here) - the speech side of the stream: phones and the photo's motion
  (:mod:`twintake.motion.photo`) block by block;
* :class:`PhotoCompositor` (here) - the picture side: animate the working crop, scale it back,
  paste it with a feathered mask, then move the head and body (:class:`.body.BodyMotion`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ...errors import MediaError
from ...face import landmarks as L
from ...motion.driver import DriverOptions, VisemeDriver
from ...motion.head import load_head_model
from ...motion.photo import block_closures, blink_track, closure_track, head_track, loudness01, mouth_track
from ...speech.input import recognize_block, recognizer_mode
from ...types import Speech
from ..region import BlendRegion
from ..stream import Rendered
from ..video.plan import speech_blocks
from .animator import PhotoAnimator
from .body import BodyMotion, person_mask
from .face import MIN_PHOTO_FACE_PX, PhotoFace, crop_to_size, find_photo_face, load_photo, prepare_face
from .mouth_interior import load_model

__all__ = ["PhotoCompositor", "PhotoPlanner", "PhotoMotion", "PhotoFace", "load_photo", "find_photo_face",
           "MIN_PHOTO_FACE_PX", "crop_to_size", "prepare_face", "MAX_PHOTO_SIDE_PX", "default_photo_size"]


#: The real talking videos' head motion scaled for a warped photo (a 2-D warp of one view
#: cannot turn a head by 5-10 degrees without showing it).
_POSE_SCALE = 0.7
#: Soft limits (degrees) of pitch, yaw and roll on a photo.
_POSE_LIMIT = np.array([5.0, 5.0, 3.0])


#: Longest side of a photo's video when no size is given, pixels: a 24-megapixel photo at full
#: size took 200 s and 4 GB for 3 s of video, and many players cannot play such a stream.
MAX_PHOTO_SIDE_PX = 1920


def default_photo_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) of a photo's video when no size is given: the photo's own size, or scaled
    to :data:`MAX_PHOTO_SIDE_PX` on its longer side (aspect kept, even numbers) when larger."""
    scale = min(1.0, MAX_PHOTO_SIDE_PX / max(int(width), int(height), 1))
    if scale == 1.0:
        return int(width), int(height)
    return max(16, int(width * scale) // 2 * 2), max(16, int(height * scale) // 2 * 2)


class PhotoCompositor:
    """The picture side of a photo render.

    Args:
        image_path: the photo (jpg, png, webp...; any aspect ratio; EXIF orientation applied).
        size: (width, height) of the output, cropped around the face and resized; None = the
            photo's own size rounded down to even numbers, scaled down to
            :data:`MAX_PHOTO_SIDE_PX` on its longer side when it is larger (:func:`default_photo_size`).
        face_index: which face when several are visible (0 = largest).
    Raises:
        MediaError: unreadable image, or ``size`` under 16 x 16.
        NoFaceError: no face, a face under ~40 px wide, a profile view, or no face number
            ``face_index``.
    """

    def __init__(self, image_path: str | Path, size: tuple[int, int] | None = None, face_index: int = 0) -> None:
        image = load_photo(image_path)
        lm = find_photo_face(image, image_path, face_index)
        if size is None:  # the photo's own size, or scaled down when it is very large
            own = (image.shape[1], image.shape[0])
            scaled = default_photo_size(*own)
            size = None if scaled == own else scaled
        if size is not None:
            if int(size[0]) < 16 or int(size[1]) < 16:
                raise MediaError(f"output size {size} is too small: use at least 16 x 16 pixels")
            image, lm = crop_to_size(image, lm, size)
        h, w = image.shape[:2]
        h, w = h - h % 2, w - w % 2
        self.image = np.ascontiguousarray(image[:h, :w])
        self.landmarks = lm
        self.width, self.height = w, h
        self.face = face = prepare_face(self.image, lm)
        x0, y0, x1, y1 = face.roi
        self.animator = PhotoAnimator(face.crop, face.landmarks, load_model())
        paste = self.animator.paste_mask
        if face.scale > 1.0:
            paste = cv2.resize(paste, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
        self._paste3 = paste[..., None]
        self._base_roi = self.image[y0:y1, x0:x1].astype(np.float32)
        self.mouth_region = _mouth_region(lm, (h, w))
        # head motion: the head turns, hair, neck and shoulders follow, the background stays
        self.body = BodyMotion(self.image, lm, person_mask(self.image))

    def base_frames(self) -> Iterator[np.ndarray]:
        while True:
            yield self.image

    def render(self, t: int, base: np.ndarray, plan: "PhotoMotion", i: int) -> Rendered:
        x0, y0, x1, y1 = self.face.roi
        head = plan.head[i]
        work, changed = self.animator.frame(float(plan.open[i]), float(plan.width[i]), float(plan.blink[i]),
                                            float(head[3]) if len(head) > 3 else 0.0)
        frame = base
        if changed:
            small = work if self.face.scale == 1.0 else cv2.resize(work, (x1 - x0, y1 - y0),
                                                                   interpolation=cv2.INTER_AREA)
            blended = self._base_roi + self._paste3 * (small.astype(np.float32) - self._base_roi)
            frame = base.copy()
            frame[y0:y1, x0:x1] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
        if self.body.maps(float(head[0]), float(head[1]), float(head[2])) is not None:
            frame = self.body.apply(frame.copy(), frame, head)
        return Rendered(image=frame, base=base, landmarks=self.landmarks, blend=self.mouth_region)


def _mouth_region(lm: np.ndarray, shape: tuple[int, int]) -> BlendRegion | None:
    """Feathered region of the lips and jaw (where the mouth warp changes the photo), for the
    enhancer: hull of the lips and the lower jaw line, grown by 4 % of the face width."""
    h, w = shape
    pts = lm[np.concatenate([L.LIPS_OUTER, L.JAW]), :2].astype(np.float64)
    fw = float(L.face_width_px(lm))
    pad = int(np.ceil(0.1 * fw)) + 2
    x0, y0 = (int(max(0, np.floor(v) - pad)) for v in pts.min(0))
    x1, y1 = int(min(w, np.ceil(pts[:, 0].max()) + pad)), int(min(h, np.ceil(pts[:, 1].max()) + pad))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    hull = cv2.convexHull((pts - (x0, y0)).astype(np.float32)).astype(np.int32)
    cv2.fillConvexPoly(mask, hull, 1.0, lineType=cv2.LINE_AA)
    grow = max(1, int(round(0.04 * fw)))
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.03 * fw))
    mask[mask < 1.0 / 255] = 0.0
    return BlendRegion(y0=y0, x0=x0, alpha=mask)


@dataclass
class PhotoMotion:
    """The photo's motion for one block: opening (B,), width (B,), blink (B,) float32 and head
    (B, 4) float64 pitch, yaw, roll (degrees), brow lift (inter-ocular distances) (see
    :mod:`twintake.motion.photo`)."""

    open: np.ndarray
    width: np.ndarray
    blink: np.ndarray
    head: np.ndarray


class PhotoPlanner:
    """The speech side of a photo render: phones (recognized block by block when not given),
    then the mouth of each block; blinks and head motion are drawn once for the whole speech.

    Args:
        speech: the speech (not modified).
        animator: the compositor's animator (its rest pose limits the opening of open photos).
        fps: output frame rate.
        driver: the motion driver's options.
        seed: seed of the blink and head-motion randomness (same seed, same video).
        photo_seed: the photo's content seed, mixed with ``seed`` so different photos blink and
            move differently with the same ``seed``; default :attr:`PhotoAnimator.photo_seed`
            (a hash of the working crop).
    """

    def __init__(self, speech: Speech, animator: PhotoAnimator, fps: float, driver: DriverOptions | None = None,
                 seed: int = 0, photo_seed: int | None = None) -> None:
        self.speech = dataclasses.replace(speech, phones=list(speech.phones))
        self.animator = animator
        self.fps = float(fps)
        # the spectral opening model is for videos (measured against real mouths there); on a
        # photo it left the mouth parted in pauses, so photos keep the phone-driven opening
        self.driver = dataclasses.replace(driver or DriverOptions(), opening_model="none")
        n = self.n_frames = max(1, int(round(speech.duration_s * fps)))
        self.scale = VisemeDriver(self.driver).articulation_scale(self.speech, self.fps, n)
        active = self.scale[1]
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, int(animator.photo_seed if photo_seed is None else photo_seed) & 0xFFFFFFFFFFFFFFFF])
        head_model = load_head_model()
        self.blinks = blink_track(n, self.fps, rng, head_model.blink_frames)
        self.loud = loudness01(self.speech, self.fps, n, active)
        # louder syllables open wider (on top of the driver's clipped loudness gain)
        self.gain = np.clip(0.3 + 1.0 * np.convolve(self.loud, [0.25, 0.5, 0.25], mode="same"), 0.0, 1.25)
        head = head_track(self.speech, self.fps, n, rng, head_model)
        # a warped photo cannot turn far: scaled, and softly limited (tanh) per channel
        self.head = head.copy()
        self.head[:, :3] = _POSE_LIMIT * np.tanh(head[:, :3] * _POSE_SCALE / _POSE_LIMIT)
        self.head[:, 3] = np.clip(head[:, 3], -0.02, 0.06)
        self._known_phones = bool(self.speech.phones)
        self._mode = recognizer_mode(self.speech.duration_s)

    def blocks(self) -> list[tuple[int, int]]:
        return speech_blocks(self.scale[0], self.fps, self.n_frames)

    def speech_block(self, start: int, stop: int) -> None:
        if not self._known_phones:
            self.speech.phones.extend(recognize_block(self.speech, start / self.fps, stop / self.fps, self._mode))

    def motion_block(self, start: int, stop: int) -> PhotoMotion:
        n = self.n_frames
        # the bilabials' closure evidence, measured once for the opening and the closures
        w = block_closures(self.speech, self.fps, n, start=start, stop=stop, options=self.driver)
        op, wd, _ = mouth_track(self.speech, self.fps, n, start=start, stop=stop, options=self.driver,
                                scale=self.scale, closures=w)
        op = (op * self.gain[start:stop]).astype(np.float32)
        if self.animator.rest_open:
            # the photo's own (open) mouth is the rest: closures close it, openings add to it
            shut = closure_track(self.speech, self.fps, n, start=start, stop=stop, options=self.driver, closures=w)
            op = (op * (1.0 - shut) - shut).astype(np.float32)
            # ... but the total gap stays within real speech (no scream)
            op = self.animator.limit_opening(op, wd)
        return PhotoMotion(open=op, width=wd, blink=self.blinks[start:stop], head=self.head[start:stop])

