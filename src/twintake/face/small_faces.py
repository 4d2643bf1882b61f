"""Faces too small for Face Mesh's own detector, found with MediaPipe's full-range face detector
and meshed on a square crop around them.

Face Mesh looks for a face with BlazeFace's *short-range* model on a 128 x 128 picture of the
whole frame, so a face under about a sixth of the frame's shorter side is never found, however
sharp it is: a 120 px face in a 1080 x 1920 phone video, a presenter in a wide shot, a face in a
group photo. MediaPipe 0.10.14 also ships BlazeFace's *full-range* model (192 x 192, faces up to
~5 m from the camera; Bazarevsky et al., "BlazeFace: Sub-millisecond Neural Face Detection on
Mobile GPUs", CVPR Workshops 2019; model card "MediaPipe BlazeFace Full Range"). It finds such a
face; Face Mesh then runs on a square crop of :data:`CROP_FACTOR` face widths around it, where the
face fills a third of the picture, and the landmarks are moved back to frame pixels.

Used only where Face Mesh on the whole frame found nothing (:meth:`MediaPipeTracker.detect`,
:meth:`MediaPipeTracker.track_frames`), so every frame it does find a face in is unchanged.
"""

from __future__ import annotations

import numpy as np

from . import landmarks as L

__all__ = ["CROP_FACTOR", "MIN_CROP_PX", "SMALL_FACE", "SmallFaceSearch", "crop_side", "face_boxes", "mesh_on_crop"]

#: Crop side in face widths (the detector's box width): the face fills ~1/3 of the crop.
CROP_FACTOR = 3.0
#: Smallest crop side, pixels.
MIN_CROP_PX = 192
#: A face narrower than this share of the frame's shorter side counts as small: when Face Mesh
#: loses it, the tracker looks for it in a crop. A larger lost face is left lost, as before
#: (turned away or covered, not too small to see).
SMALL_FACE = 0.25


def crop_side(face_width_px: float, width: int, height: int) -> int:
    """Side (pixels, int) of the square crop for a face ``face_width_px`` wide in a
    ``width`` x ``height`` frame: :data:`CROP_FACTOR` face widths, at least
    :data:`MIN_CROP_PX`, at most the frame's shorter side."""
    side = max(float(MIN_CROP_PX), CROP_FACTOR * float(face_width_px))
    return int(round(min(side, min(width, height))))


def _crop_origin(centre: np.ndarray, side: int, width: int, height: int) -> tuple[int, int]:
    x0 = int(round(float(centre[0]) - side / 2))
    y0 = int(round(float(centre[1]) - side / 2))
    return int(np.clip(x0, 0, max(width - side, 0))), int(np.clip(y0, 0, max(height - side, 0)))


def face_boxes(detector, image: np.ndarray, max_faces: int) -> list[tuple[np.ndarray, float]]:
    """Faces found by the full-range detector in one frame.

    Args:
        detector: a ``mediapipe.solutions.face_detection.FaceDetection(model_selection=1)``.
        image: (H, W, 3) uint8 RGB.
        max_faces: upper bound on faces returned.
    Returns:
        ``(centre, width)`` of each face, largest first: centre (2,) float64 pixels (x, y), width
        of the detector's box in pixels.
    """
    h, w = image.shape[:2]
    res = detector.process(np.ascontiguousarray(image))
    out = []
    for d in res.detections or []:
        b = d.location_data.relative_bounding_box
        bw, bh = float(b.width) * w, float(b.height) * h
        if bw < 4 or bh < 4:
            continue
        centre = np.array([(float(b.xmin) + float(b.width) / 2) * w, (float(b.ymin) + float(b.height) / 2) * h])
        out.append((centre, bw))
    out.sort(key=lambda c: -c[1])
    return out[:max_faces]


def mesh_on_crop(mesh, image: np.ndarray, centre: np.ndarray, side: int, to_pixels) -> list[np.ndarray]:
    """Face Mesh on the square crop of ``side`` pixels around ``centre`` (moved inside the frame).

    Args:
        mesh: a ``FaceMesh`` (static or video mode; in video mode keep ``side`` fixed).
        image: (H, W, 3) uint8 RGB frame.
        centre: (2,) pixels (x, y) the crop is centred on.
        side: crop side in pixels (:func:`crop_side`).
        to_pixels: ``(face, width, height) -> (478, 3) float32`` landmark conversion.
    Returns:
        Landmarks (478, 3) float32 in *frame* pixels of each face found in the crop.
    """
    h, w = image.shape[:2]
    side = int(min(side, w, h))
    x0, y0 = _crop_origin(centre, side, w, h)
    crop = np.ascontiguousarray(image[y0:y0 + side, x0:x0 + side])
    res = mesh.process(crop)
    faces = []
    for f in res.multi_face_landmarks or []:
        pts = to_pixels(f, crop.shape[1], crop.shape[0])
        pts[:, 0] += x0
        pts[:, 1] += y0
        faces.append(pts)
    return faces


class SmallFaceSearch:
    """Finds and follows one small face through a stream where Face Mesh on the whole frame
    finds nothing (:meth:`MediaPipeTracker.track_frames`).

    :meth:`find` runs the full-range detector and, for a face narrower than :data:`SMALL_FACE`
    of the frame's shorter side, starts a crop session: a video-mode Face Mesh on a square crop
    of fixed side that :meth:`follow` re-centres on the face every frame. A session ends when
    the face is lost in its crop or grows past :data:`SMALL_FACE` (the whole frame is used
    again). A lost face that was *not* small is not searched for (it is turned away or covered).

    Args:
        face_mesh: ``mediapipe.solutions.face_mesh``.
        make_detector: ``() -> FaceDetection`` (full-range).
        to_pixels: ``(face, width, height) -> (478, 3) float32`` landmark conversion.
        face_index: which face when several are found (0 = largest).
        max_faces: faces the detector may return.
    """

    def __init__(self, face_mesh, make_detector, to_pixels, face_index: int = 0, max_faces: int = 1) -> None:
        self._fm, self._make_detector, self._to_pixels = face_mesh, make_detector, to_pixels
        self.face_index, self.max_faces = int(face_index), max(int(max_faces), int(face_index) + 1)
        self._detector = None
        self._mesh = None
        self.side = 0

    @property
    def active(self) -> bool:
        """A crop session is running."""
        return self._mesh is not None

    def __enter__(self) -> SmallFaceSearch:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        if self._detector is not None:
            self._detector.close()
            self._detector = None

    def stop(self) -> None:
        """End the crop session (the next frame uses the whole frame again)."""
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None

    def _small(self, width_px: float, image: np.ndarray) -> bool:
        return float(width_px) < SMALL_FACE * min(image.shape[:2])

    def follow(self, image: np.ndarray, centre: np.ndarray) -> np.ndarray | None:
        """Landmarks (478, 3) float32 frame pixels of the followed face in ``image`` ((H, W, 3)
        uint8 RGB), searched in the session's crop around ``centre`` ((2,) pixels); None when
        it is not there. The session ends then, and when the face has grown past
        :data:`SMALL_FACE` (its landmarks are still returned)."""
        if self._mesh is None:
            return None
        pts = _nearest(mesh_on_crop(self._mesh, image, centre, self.side, self._to_pixels), centre)
        if pts is None or not self._small(L.face_width_px(pts), image):
            self.stop()
        return pts

    def find(self, image: np.ndarray, prev_centre: np.ndarray | None,
             prev_width: float | None) -> np.ndarray | None:
        """Look for a small face in ``image`` ((H, W, 3) uint8 RGB) with the full-range detector
        and start a crop session on it. ``prev_centre``/``prev_width`` (pixels): where the
        followed face was last seen; a face seen before that was not small is not searched for.
        Returns landmarks (478, 3) float32 frame pixels, or None."""
        if prev_width is not None and not self._small(prev_width, image):
            return None
        if self._detector is None:
            self._detector = self._make_detector()
        h, w = image.shape[:2]
        boxes = [b for b in face_boxes(self._detector, image, self.max_faces) if self._small(b[1], image)]
        if not boxes:
            return None
        if prev_centre is not None:
            d = [float(np.linalg.norm(c - prev_centre)) for c, _ in boxes]
            box = boxes[int(np.argmin(d))]
            if min(d) > max(box[1], 0.5 * (prev_width or 0.0)):
                return None
        elif len(boxes) > self.face_index:
            box = boxes[self.face_index]
        else:
            return None
        self.stop()
        self.side = crop_side(box[1], w, h)
        self._mesh = self._fm.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=True,
                                       min_detection_confidence=0.5, min_tracking_confidence=0.5)
        pts = _nearest(mesh_on_crop(self._mesh, image, box[0], self.side, self._to_pixels), box[0])
        if pts is None:
            self.stop()
        return pts


def _nearest(faces: list[np.ndarray], centre: np.ndarray) -> np.ndarray | None:
    if not faces:
        return None
    d = [float(np.linalg.norm(f[:, :2].mean(0) - centre)) for f in faces]
    return faces[int(np.argmin(d))]
