"""Preparing a source video once: face track, alignment, mouth model, viseme shapes, mouth bank.

Everything here depends only on the source video (and the face chosen), so it is cached on disk
under ``<cache>/sources/<content-hash>-<options>-v<FORMAT_VERSION>/`` and a second run on the same
video skips tracking and bank building.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._version import __version__
from ._phones_child import recognize_source_phones
from .cache import atomic_dir, cache_enabled, cache_root, file_hash
from .errors import MediaError
from .face import landmarks as L
from .face.align import align_transforms, make_template
from .face.tracker import check_track, track_video
from .hooks import Progress
from .media import MediaInfo, iter_frames, probe
from .motion.driver import VisemeShapes
from .motion.shapes import MouthModel, mouth_descriptors, opening
from .render.video.bank import CropBox, build_bank, lower_face_box
from .types import FaceTrack, Phone

log = logging.getLogger(__name__)

#: Bump when the cached data's meaning or layout changes.
FORMAT_VERSION = 1


@dataclass
class PreparedVideo:
    """A source video ready to render from.

    Attributes:
        source: the video file.
        info: what :func:`twintake.media.probe` saw.
        track: the face track, (N, 478, 3) landmarks.
        transforms: (N, 2, 3) pixel -> face-aligned similarity per frame.
        descriptors: (N, 114) float32 face-aligned mouth points per frame.
        pose: (N, 3) float32 head-pose descriptor (aligned nose tip x, y; yaw proxy).
        model: the person's mouth-shape model.
        shapes: the person's viseme shapes.
        box: lower-face crop box of the bank.
        bank: (N, Hc, Wc, 3) uint8 face-aligned lower-face crops (memory-mapped).
        phones: phones recognized in the source's own audio (empty if it has none).
        cache_hits: stages served from the cache.
        timings_s: seconds per stage.
    """

    source: Path
    info: MediaInfo
    track: FaceTrack
    transforms: np.ndarray
    descriptors: np.ndarray
    pose: np.ndarray
    model: MouthModel
    shapes: VisemeShapes
    box: CropBox
    bank: np.ndarray
    phones: list[Phone] = field(default_factory=list)
    cache_hits: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.track.fps

    @property
    def openness(self) -> np.ndarray:
        """(N,) inner-lip opening, inf where no face."""
        op = opening(self.descriptors).astype(np.float64)
        return np.where(self.track.valid, op, np.inf)


def head_pose(landmarks: np.ndarray, transforms: np.ndarray) -> np.ndarray:
    """(N, 3) pose descriptor: face-aligned nose tip (x, y) and a yaw proxy (cheek depth difference
    over face width)."""
    nose = np.einsum("nij,nj->ni", transforms[:, :, :2], landmarks[:, L.NOSE_TIP, :2]) + transforms[:, :, 2]
    width = np.maximum(L.face_width_px(landmarks), 1e-6)
    yaw = (landmarks[:, 454, 2] - landmarks[:, 234, 2]) / width
    return np.concatenate([nose, yaw[:, None]], 1).astype(np.float32)


class _SourcePhones:
    """The source's phones, recognized in a child process while the face is tracked.

    PocketSphinx holds the GIL and face tracking keeps only ~1.2 of the 2 cores busy, so a
    separate process shortens preparation (35 s at 1280x854: 17.4 s -> 11.7 s for tracking +
    phones). The child is a fresh interpreter running ``python -m twintake._phones_child``: it
    imports only what recognition needs and never re-runs the caller's script (which
    ``multiprocessing``'s spawn would do for a script without a ``__main__`` guard). If the
    child cannot start or fails, the phones are recognized in-process.
    """

    def __init__(self, path: Path, info: MediaInfo) -> None:
        self.path, self.info = path, info
        self._proc: subprocess.Popen | None = None
        if info.audio is None:
            return
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parent.parent)  # twintake importable as in this process
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        try:
            self._proc = subprocess.Popen([sys.executable, "-m", "twintake._phones_child", str(path)],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, env=env)
        except (OSError, ValueError) as e:  # no child processes here: do it inline later
            log.info("recognizing the source's phones in-process (%s)", e)

    def result(self) -> list[Phone]:
        """The phones (waits for the child; recognizes in-process if the child failed)."""
        if self.info.audio is None:
            return []
        if self._proc is not None:
            out, err = self._proc.communicate()
            code, self._proc = self._proc.returncode, None
            if code == 0:
                try:
                    return [Phone(str(s), float(a), float(b)) for s, a, b in json.loads(out)]
                except (ValueError, TypeError) as e:
                    log.info("unreadable phones from the child (%s)", e)
            else:
                log.info("phone recognition child failed (exit %s): %s", code,
                         err.decode(errors="replace").strip()[-500:])
        return recognize_source_phones(self.path)

    def close(self) -> None:
        """Stop the child if it is still running (tracking failed or was cancelled)."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.communicate()
            self._proc = None


def prepare_video(path: str | Path, *, face_index: int = 0, fps: float | None = None,
                  progress: Progress | None = None, use_cache: bool = True) -> PreparedVideo:
    """Track, model and bank a source video (cached).

    Args:
        path: the talking video.
        face_index: which face (0 = largest).
        fps: timeline rate (default: the video's, see :func:`twintake.media.probe`).
        progress: progress wrapper (stages ``"track"``, ``"bank"``).
        use_cache: read/write the on-disk cache.
    Returns:
        :class:`PreparedVideo`.
    Raises:
        MediaError: not a video, or a still image.
        NoFaceError: no usable face.
    """
    path = Path(path)
    progress = progress or Progress()
    info = probe(path)
    if info.is_image or info.video is None:
        what = "a still image" if info.is_image else "has no video stream"
        raise MediaError(f"{path} is {what}: give a talking video (photos: twintake.Avatar.prepare or twintake say PHOTO)"
                         if info.is_image else f"{path} {what}: give a talking video")
    fps = float(fps or info.video.fps)
    key = f"{file_hash(path)}-f{face_index}-r{fps:.3f}-v{FORMAT_VERSION}"
    folder = cache_root() / "sources" / key
    use_cache = use_cache and cache_enabled()
    if use_cache and (folder / "meta.json").is_file():
        try:
            prep = load_prepared(folder, path, info)
            check_track(prep.track, path, face_index)
            return prep
        except (OSError, KeyError, ValueError, json.JSONDecodeError) as e:
            log.warning("ignoring unreadable cache entry %s (%s)", folder, e)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    source_phones = _SourcePhones(path, info)
    try:
        return _prepare(path, info, fps, face_index, folder, use_cache, progress, source_phones, timings, t0)
    finally:
        source_phones.close()  # stops the child if tracking or banking failed or was cancelled


def _prepare(path: Path, info: MediaInfo, fps: float, face_index: int, folder: Path, use_cache: bool,
             progress: Progress, source_phones: _SourcePhones, timings: dict[str, float], t0: float) -> PreparedVideo:
    track = track_video(path, fps=fps, face_index=face_index, progress=progress,
                        frame_count=info.video.frame_count)
    timings["track"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    first = int(np.flatnonzero(track.valid)[0])
    template = make_template(track.landmarks[first])
    transforms = align_transforms(track.landmarks, track.valid, template)
    desc = mouth_descriptors(track.landmarks, transforms)
    pose = head_pose(track.landmarks, transforms)
    model = MouthModel.fit(desc[track.valid])
    coeffs = model.encode(desc)
    box = lower_face_box(track.landmarks, transforms, track.valid)
    timings["model"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    target = folder if use_cache else Path(_tmp_folder())
    with atomic_dir(target) as tmp:
        # the bank is built while the child process may still be recognizing phones
        build_bank((f.image for f in iter_frames(path, fps=fps)), transforms, track.valid, box,
                   tmp / "bank.npy", progress)
        timings["bank"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        phones = source_phones.result()
        shapes = VisemeShapes.learn(model, coeffs, track.valid, fps, phones) if phones else VisemeShapes.generic(model)
        timings["model"] += time.perf_counter() - t1
        t0 = time.perf_counter()
        np.savez(tmp / "data.npz", landmarks=track.landmarks, valid=track.valid, transforms=transforms,
                 descriptors=desc, pose=pose, box=box.to_array(),
                 phones_symbol=np.array([p.symbol for p in phones]),
                 phones_time=np.array([[p.start_s, p.end_s] for p in phones], np.float64).reshape(-1, 2),
                 **{f"model_{k}": v for k, v in model.to_dict().items()}, **shapes.to_dict())
        meta = {"format_version": FORMAT_VERSION, "created_by": __version__, "source": str(path.resolve()),
                "fps": fps, "width": track.width, "height": track.height, "face_index": face_index,
                "frames": len(track)}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    timings["bank"] += time.perf_counter() - t0
    prep = load_prepared(target, path, info)
    prep.cache_hits = []
    prep.timings_s = timings
    if not use_cache:  # a private copy: removed when the PreparedVideo is garbage-collected
        weakref.finalize(prep, shutil.rmtree, str(target), True)
    return prep


def _tmp_folder() -> str:
    return tempfile.mkdtemp(prefix="twintake-prep-")


def load_prepared(folder: Path, path: Path, info: MediaInfo) -> PreparedVideo:
    """Load prepared data written by :func:`prepare_video` from ``folder`` (bank memory-mapped).

    Raises:
        ValueError: format version mismatch; OSError / KeyError: missing or partial files.
    """
    meta = json.loads((folder / "meta.json").read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError("format version mismatch")
    d = np.load(folder / "data.npz")
    track = FaceTrack(landmarks=d["landmarks"], valid=d["valid"].astype(bool), fps=float(meta["fps"]),
                      width=int(meta["width"]), height=int(meta["height"]))
    model = MouthModel.from_dict({k[6:]: d[k] for k in d.files if k.startswith("model_")})
    shapes = VisemeShapes.from_dict(d)
    phones = [Phone(str(s), float(a), float(b)) for s, (a, b) in zip(d["phones_symbol"], d["phones_time"])]
    bank = np.load(folder / "bank.npy", mmap_mode="r")
    return PreparedVideo(source=path, info=info, track=track, transforms=d["transforms"],
                         descriptors=d["descriptors"], pose=d["pose"], model=model, shapes=shapes,
                         box=CropBox.from_array(d["box"]), bank=bank, phones=phones,
                         cache_hits=["track", "bank"], timings_s={"track": 0.0, "bank": 0.0})
