"""The ``mediapipe`` face-tracking backend: MediaPipe Face Mesh 0.10.14 (478 landmarks, refined
lips/eyes/irises; Kartynnik et al., "Real-time Facial Surface Geometry from Monocular Video on
Mobile GPUs", CVPR Workshops 2019), smoothed with a One-Euro filter (Casiez et al. 2012).

MediaPipe is imported on first use (inside :func:`_face_mesh_module`), never when this module
is imported.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np

from ..errors import BackendError
from ..types import FaceTrack
from . import landmarks as L
from . import small_faces
from .base import collect_track
from .smoothing import OneEuroFilter

__all__ = ["MediaPipeTracker"]


#: MediaPipe modules imported by ``mediapipe.python.solutions`` that face tracking never uses;
#: ``drawing_utils`` pulls in matplotlib.pyplot (about 0.3 s of the 0.56 s import).
_DRAWING_MODULES = ("mediapipe.python.solutions.drawing_utils", "mediapipe.python.solutions.drawing_styles")


class _DeferredModule(types.ModuleType):
    """A module whose code runs on the first access to a name it does not have yet."""

    def __getattr__(self, attr: str):
        spec = self.__dict__["__spec__"]
        if self.__dict__.get("_twintake_loaded"):
            raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}")
        self.__dict__["_twintake_loaded"] = True
        spec.loader.exec_module(self)
        return getattr(self, attr)


def _defer_drawing_modules() -> list[str]:
    """Register MediaPipe's drawing helpers as modules that load on first use.

    ``import mediapipe`` imports every solution and its drawing helpers; ``drawing_utils``
    imports matplotlib.pyplot (about 0.3 s of the 0.56 s import). The helpers are put in
    ``sys.modules`` with their spec but not executed; their code runs when a name in them is
    first looked up, so code that does use ``mp.solutions.drawing_utils`` still works.

    Returns:
        the deferred module names (empty once mediapipe is imported or if its files are not
        where expected).
    """
    import importlib.util

    if "mediapipe" in sys.modules:
        return []
    try:  # locate the files without importing mediapipe's packages (find_spec would)
        root = importlib.util.find_spec("mediapipe")
    except (ImportError, ValueError):
        return []
    if root is None or not root.submodule_search_locations:
        return []
    deferred = []
    for name in _DRAWING_MODULES:
        path = Path(list(root.submodule_search_locations)[0], *name.split(".")[1:]).with_suffix(".py")
        spec = importlib.util.spec_from_file_location(name, path) if path.is_file() else None
        if name in sys.modules or spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        module.__class__ = _DeferredModule
        sys.modules[name] = module
        deferred.append(name)
    return deferred


def _face_mesh_module():
    import warnings

    # MediaPipe / TFLite / absl log to stderr at import and graph start; keep the CLI clean.
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    warnings.filterwarnings("ignore", message=".*SymbolDatabase.GetPrototype.*")
    try:
        deferred = _defer_drawing_modules()
        import mediapipe as mp

        for name in deferred:  # the import found them in sys.modules, so it did not bind them
            setattr(mp.solutions, name.rsplit(".", 1)[1], sys.modules[name])
    except ImportError as e:  # pragma: no cover - mediapipe is a base dependency
        raise BackendError(
            "face tracking needs mediapipe: pip install mediapipe==0.10.14"
        ) from e
    return mp.solutions.face_mesh


def _full_range_detector():
    """A ``FaceDetection`` with BlazeFace's full-range model (:mod:`.small_faces`)."""
    _face_mesh_module()  # the quiet, lazy mediapipe import
    import mediapipe as mp

    return mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5)


@contextmanager
def _quiet_native_stderr():
    """Silence MediaPipe's native (absl/TFLite) start-up logging written straight to fd 2."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def _to_pixels(face, width: int, height: int) -> np.ndarray:
    pts = np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float32)
    pts[:, 0] *= width
    pts[:, 1] *= height
    pts[:, 2] *= width
    return pts


class MediaPipeTracker:
    """The ``mediapipe`` tracking backend (a :class:`~twintake.face.base.Tracker`).

    Built without arguments by the registry, it serves :meth:`detect` and :meth:`track`. Built
    with ``fps`` it also streams one face with :meth:`track_frames`.

    Args:
        fps: frame rate of the stream (for the One-Euro filter); needed by :meth:`track_frames`
            only.
        face_index: which face to follow when several are visible: 0 = largest, 1 = second
            largest... chosen on the first frame with enough faces, then followed by position.
        max_faces: faces MediaPipe looks for per frame (>= face_index + 1).
        smooth: apply the One-Euro filter.
    """

    name = "mediapipe"

    def __init__(self, fps: float | None = None, face_index: int = 0, max_faces: int | None = None,
                 smooth: bool = True) -> None:
        self.fps = fps
        self.face_index = face_index
        self.max_faces = max(max_faces or (face_index + 1), face_index + 1)
        self.smooth = smooth

    def detect(self, image: np.ndarray, max_faces: int = 5) -> list[np.ndarray]:
        """Find faces in one RGB image (Face Mesh in still-image mode).

        Args:
            image: (H, W, 3) uint8 RGB.
            max_faces: upper bound on faces returned.
        Returns:
            Landmarks (478, 3) float32 in pixels of each face, largest face first.
        Raises:
            BackendError: mediapipe cannot be imported.
        """
        fm = _face_mesh_module()
        h, w = image.shape[:2]
        with _quiet_native_stderr():
            mesh = fm.FaceMesh(static_image_mode=True, max_num_faces=max_faces, refine_landmarks=True,
                               min_detection_confidence=0.5)
            try:
                res = mesh.process(np.ascontiguousarray(image))
                faces = [_to_pixels(f, w, h) for f in (res.multi_face_landmarks or [])]
                if not faces:  # too small for Face Mesh's own detector? (small_faces)
                    faces = self._detect_small(mesh, image, max_faces)
            finally:
                mesh.close()
        faces.sort(key=lambda p: -float(L.face_width_px(p)))
        return faces

    @staticmethod
    def _detect_small(mesh, image: np.ndarray, max_faces: int) -> list[np.ndarray]:
        """Faces the full-range detector finds, each meshed on its own crop by ``mesh`` (a
        still-image Face Mesh) - frame pixels."""
        h, w = image.shape[:2]
        faces: list[np.ndarray] = []
        with _full_range_detector() as det:
            boxes = small_faces.face_boxes(det, image, max_faces)
        for centre, bw in boxes:
            found = small_faces.mesh_on_crop(mesh, image, centre, small_faces.crop_side(bw, w, h), _to_pixels)
            faces += [f for f in found if np.linalg.norm(f[:, :2].mean(0) - centre) < 0.5 * bw]
        return faces

    def track(self, frames: Iterable[np.ndarray], fps: float, width: int, height: int,
              face_index: int = 0, max_faces: int | None = None) -> FaceTrack:
        """Follow one face through ``frames`` (see :class:`~twintake.face.base.Tracker`).

        The face is chosen on the first frame showing more than ``face_index`` faces, then
        followed by position (the face nearest the previous one, within half a face width).
        Landmarks are One-Euro smoothed unless this tracker was built with ``smooth=False``.

        Returns:
            :class:`~twintake.types.FaceTrack`, landmarks (N, 478, 3) float32 pixels.
        Raises:
            BackendError: mediapipe cannot be imported.
        """
        stream = MediaPipeTracker(fps, face_index=face_index, max_faces=max_faces, smooth=self.smooth)
        return collect_track(stream.track_frames(frames), fps, width, height)

    def track_frames(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray | None]:
        """Yield (478, 3) float32 pixel landmarks per frame, or None where no face was found.

        Args:
            frames: (H, W, 3) uint8 RGB images, in order.
        Raises:
            ValueError: the tracker was built without ``fps``.
            BackendError: mediapipe cannot be imported.
        """
        if self.fps is None:
            raise ValueError("MediaPipeTracker.track_frames needs the stream's fps: MediaPipeTracker(fps)")
        fm = _face_mesh_module()
        upper = OneEuroFilter(self.fps, min_cutoff_hz=1.0, beta=0.3)
        mouth = OneEuroFilter(self.fps, min_cutoff_hz=3.0, beta=1.5)
        mouth_idx = np.unique(np.concatenate([L.MOUTH_POINTS, L.EYELIDS]))
        prev_centre: np.ndarray | None = None
        # The graph's threads open the native models (and log about it) asynchronously after
        # FaceMesh() returns, up to the first processed frames: stay quiet until frame 5.
        quiet = ExitStack()
        quiet.enter_context(_quiet_native_stderr())
        try:
            mesh = fm.FaceMesh(static_image_mode=False, max_num_faces=self.max_faces,
                               refine_landmarks=True, min_detection_confidence=0.5,
                               min_tracking_confidence=0.5)
        except BaseException:
            quiet.close()
            raise
        prev_width: float | None = None
        small = small_faces.SmallFaceSearch(fm, _full_range_detector, _to_pixels, self.face_index,
                                            self.max_faces)
        with mesh, quiet, small:
            for i, image in enumerate(frames):
                h, w = image.shape[:2]
                if i == 5:
                    quiet.close()
                # a small face being followed in its crop (small_faces); else the whole frame,
                # and where that finds nothing, a small face the full-range detector sees
                pts = small.follow(image, prev_centre) if small.active else None
                if pts is None:
                    res = mesh.process(np.ascontiguousarray(image))
                    faces = [_to_pixels(f, w, h) for f in (res.multi_face_landmarks or [])]
                    pts = self._choose(faces, prev_centre)
                    if pts is not None:
                        small.stop()
                    else:
                        pts = small.find(image, prev_centre, prev_width)
                if pts is None:
                    upper.reset()
                    mouth.reset()
                    yield None
                    continue
                prev_centre = pts[:, :2].mean(0)
                prev_width = float(L.face_width_px(pts))
                if self.smooth:
                    iod = float(L.interocular_px(pts))
                    sm = upper(pts, scale=iod)
                    sm[mouth_idx] = mouth(pts[mouth_idx], scale=iod)
                    pts = sm
                yield pts

    def _choose(self, faces: list[np.ndarray], prev_centre: np.ndarray | None) -> np.ndarray | None:
        if not faces:
            return None
        if prev_centre is not None:
            d = [float(np.linalg.norm(f[:, :2].mean(0) - prev_centre)) for f in faces]
            best = int(np.argmin(d))
            if d[best] < 0.5 * float(L.face_width_px(faces[best])) + 1e-6:
                return faces[best]
        faces = sorted(faces, key=lambda p: -float(L.face_width_px(p)))
        if len(faces) <= self.face_index:
            return None
        return faces[self.face_index]
