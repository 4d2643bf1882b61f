"""Face tracking with MediaPipe Face Mesh (478 landmarks, refined lips/eyes/irises).

Streaming: frames are decoded, tracked and dropped one at a time. The landmarks are smoothed
with a One-Euro filter (Casiez et al. 2012). Results are cached on disk by content hash.
"""

from __future__ import annotations

import logging
import os
import sys
import types
from contextlib import ExitStack, contextmanager
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BackendError, NoFaceError
from ..hooks import Progress
from ..types import FaceTrack
from . import landmarks as L
from .smoothing import OneEuroFilter

log = logging.getLogger(__name__)

#: Minimum usable face width (cheek to cheek) in pixels.
MIN_FACE_PX = 64


@dataclass(frozen=True)
class FaceBox:
    """A face found in one image: bounding box of its landmarks, in pixels."""

    x: float
    y: float
    width: float
    height: float


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


def detect_faces(image: np.ndarray, max_faces: int = 5) -> list[np.ndarray]:
    """Find faces in one RGB image.

    Args:
        image: (H, W, 3) uint8 RGB.
        max_faces: upper bound on faces returned.
    Returns:
        Landmarks (478, 3) float32 in pixels of each face, largest face first.
    """
    fm = _face_mesh_module()
    h, w = image.shape[:2]
    with _quiet_native_stderr():
        mesh = fm.FaceMesh(static_image_mode=True, max_num_faces=max_faces, refine_landmarks=True,
                           min_detection_confidence=0.5)
        try:
            res = mesh.process(np.ascontiguousarray(image))
        finally:
            mesh.close()
    faces = [_to_pixels(f, w, h) for f in (res.multi_face_landmarks or [])]
    faces.sort(key=lambda p: -float(L.face_width_px(p)))
    return faces


def face_box(landmarks: np.ndarray) -> FaceBox:
    """Bounding box of a face's landmarks."""
    x0, y0 = landmarks[:, :2].min(0)
    x1, y1 = landmarks[:, :2].max(0)
    return FaceBox(float(x0), float(y0), float(x1 - x0), float(y1 - y0))


class MediaPipeTracker:
    """Tracks one face through a stream of frames (the ``mediapipe`` tracking backend).

    Args:
        fps: frame rate of the stream (for the One-Euro filter).
        face_index: which face to follow when several are visible: 0 = largest, 1 = second
            largest... chosen on the first frame with enough faces, then followed by position.
        max_faces: faces MediaPipe looks for per frame (>= face_index + 1).
        smooth: apply the One-Euro filter.
    """

    name = "mediapipe"

    def __init__(self, fps: float, face_index: int = 0, max_faces: int | None = None,
                 smooth: bool = True) -> None:
        self.fps = fps
        self.face_index = face_index
        self.max_faces = max(max_faces or (face_index + 1), face_index + 1)
        self.smooth = smooth

    def track_frames(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray | None]:
        """Yield (478, 3) float32 pixel landmarks per frame, or None where no face was found."""
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
        with mesh, quiet:
            for i, image in enumerate(frames):
                h, w = image.shape[:2]
                if i == 5:
                    quiet.close()
                res = mesh.process(np.ascontiguousarray(image))
                faces = [_to_pixels(f, w, h) for f in (res.multi_face_landmarks or [])]
                pts = self._choose(faces, prev_centre)
                if pts is None:
                    upper.reset()
                    mouth.reset()
                    yield None
                    continue
                prev_centre = pts[:, :2].mean(0)
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


def track_video(path, fps: float, face_index: int = 0, progress: Progress | None = None,
                frame_count: int | None = None) -> FaceTrack:
    """Track the face of a video file on its constant-fps timeline.

    Args:
        path: video file.
        fps: timeline rate (see :func:`twintake.media.probe`).
        face_index: 0 = largest face, 1 = next...
        progress: hook wrapper; reports stage ``"track"``.
        frame_count: expected number of frames (for progress only).
    Returns:
        :class:`FaceTrack` with (N, 478, 3) float32 landmarks.
    Raises:
        NoFaceError: no face in any frame, the face is under 64 px wide, or ``face_index``
            exceeds the faces visible.
    """
    from ..media import iter_frames, probe, sample_frames

    progress = progress or Progress()
    # Count faces on a few sampled frames to decide how many MediaPipe must look for.
    info = probe(path)
    n_expected = frame_count or (info.video.frame_count if info.video else 0)
    max_faces = face_index + 1
    sample_at = set(np.linspace(0, max(n_expected - 1, 0), num=3).astype(int).tolist())
    for fr in sample_frames(path, sample_at, fps=fps):
        max_faces = max(max_faces, len(detect_faces(fr.image, max_faces=4)))
    tracker = MediaPipeTracker(fps, face_index=face_index, max_faces=max_faces)
    lms: list[np.ndarray] = []
    valid: list[bool] = []
    size = (info.video.width, info.video.height) if info.video else (0, 0)

    def frames():
        for fr in iter_frames(path, fps=fps):
            progress("track", fr.index + 1, n_expected or None)
            yield fr.image

    for pts in tracker.track_frames(frames()):
        if pts is None:
            lms.append(np.zeros((478, 3), np.float32))
            valid.append(False)
        else:
            lms.append(pts)
            valid.append(True)
    track = FaceTrack(landmarks=np.stack(lms) if lms else np.zeros((0, 478, 3), np.float32),
                      valid=np.array(valid, bool), fps=float(fps), width=size[0], height=size[1])
    check_track(track, path, face_index)
    return track


def check_track(track: FaceTrack, path, face_index: int = 0) -> None:
    """Raise :class:`NoFaceError` when a track has no usable face."""
    if not track.valid.any():
        which = "a face" if face_index == 0 else f"face number {face_index} (0 = largest)"
        raise NoFaceError(
            f"no face found in any of the {len(track)} frames of {path}: twintake needs {which} "
            "seen from the front; try another video or a different --face-index"
        )
    width = float(np.median(L.face_width_px(track.landmarks[track.valid])))
    if width < MIN_FACE_PX:
        raise NoFaceError(
            f"the face in {path} is too small (~{width:.0f} px wide, at least {MIN_FACE_PX} px "
            "needed): use a higher-resolution video or one where the face fills more of the frame"
        )


def invalid_ranges(valid: np.ndarray, fps: float) -> list[tuple[int, int]]:
    """Runs of False in ``valid`` as (first, last) frame index pairs."""
    out: list[tuple[int, int]] = []
    start = None
    for i, v in enumerate(valid):
        if not v and start is None:
            start = i
        elif v and start is not None:
            out.append((start, i - 1))
            start = None
    if start is not None:
        out.append((start, len(valid) - 1))
    return out
