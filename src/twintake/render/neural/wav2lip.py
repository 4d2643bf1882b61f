"""Wav2Lip as a twintake lip-sync backend (``--lipsync-backend wav2lip --checkpoint wav2lip_gan.pth``).

Optional: needs the ``neural`` extra (``pip install "twintake[neural]"``, PyTorch) and a
checkpoint the user has (twintake never downloads weights). The published ``wav2lip.pth`` and
``wav2lip_gan.pth`` load (``{"state_dict": ...}`` with DataParallel's ``module.`` prefixes; the
widths are read from the tensor shapes, :mod:`.wav2lip_arch`). Their licence is non-commercial
(``docs/licenses.md``).

The two sides of :func:`twintake.render.stream.render_stream`:

* :class:`Wav2LipPlanner` - the speech side: per block, the 80 x 16 mel window of every frame
  (:mod:`.mel`); no phone recognition.
* :class:`Wav2LipCompositor` - the picture side, batched (``render_batch``): per frame the face
  box from the MediaPipe track (face oval across, chin to upper forehead; no S3FD), the crop
  resized to 96 x 96 in BGR, its lower half zeroed and stacked with the unmasked reference (the
  same frame, or another frame for the evaluation's leave-segment-out), the prediction resized
  back and blended under a feathered lower-face mask (the jaw line and the line under the nose):
  pixels above the nose and outside the jaw stay bit-exact, and the ``--enhance`` stage works on
  the same mask.

Reference: Prajwal, Mukhopadhyay, Namboodiri and Jawahar, "A Lip Sync Expert Is All You Need for
Speech to Lip Generation In the Wild", ACM Multimedia 2020.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ...devices import check_device
from ...errors import BackendError
from ...face import landmarks as L
from ...speech.analysis import resample
from ...types import Speech
from ..region import BlendRegion
from ..stream import Rendered
from .mel import SAMPLE_RATE_HZ, MelWindows

__all__ = ["Wav2LipBackend", "Wav2LipPlanner", "Wav2LipCompositor", "load_wav2lip", "face_box", "lower_face_mask",
           "check_device", "IMG_SIZE"]

IMG_SIZE = 96
_INSTALL = 'pip install "twintake[neural]"'
_EXPECT = "expected a Wav2Lip generator checkpoint such as wav2lip.pth or wav2lip_gan.pth"
#: Frames per network call on each device.
BATCH = {"cpu": 16, "cuda": 64}


def _torch():
    try:
        import torch
    except ImportError:
        raise BackendError(f"the wav2lip lip-sync backend needs PyTorch, which is not installed: {_INSTALL}") from None
    return torch


def load_wav2lip(path: str | Path, device: str = "cpu"):
    """Load a Wav2Lip generator checkpoint (the last one loaded is kept: a second call for the
    same unchanged file and device returns the same network at once).

    Args:
        path: a ``.pth`` file: ``{"state_dict": ...}`` (the published files; ``module.``
            prefixes are stripped) or a bare state dict.
        device: ``"cpu"`` or ``"cuda"``.
    Returns:
        The :class:`~twintake.render.neural.wav2lip_arch.Wav2Lip` network in eval mode on ``device``.
    Raises:
        BackendError: the file is missing; PyTorch is not installed (names the extra); CUDA
            asked for without a GPU; not a readable PyTorch file (truncated, another format);
            another architecture (keys missing); tensors of the wrong shape.
    """
    path = Path(path)
    if not path.is_file():
        raise BackendError(f"Wav2Lip checkpoint {path} not found" + (" (it is a folder)" if path.is_dir() else "")
                           + f": {_EXPECT}")
    _torch()
    check_device(device, str(path))
    st = path.stat()
    return _load(str(path.resolve()), st.st_mtime_ns, st.st_size, device)


@functools.lru_cache(maxsize=1)
def _load(path_str: str, _mtime_ns: int, _size: int, device: str):
    torch = _torch()
    from .wav2lip_arch import Wav2Lip, config_from_state_dict

    path = Path(path_str)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same user error
        raise BackendError(f"cannot read {path} as a PyTorch checkpoint ({type(e).__name__}: the file is truncated "
                           f"or not a .pth): {_EXPECT}") from None
    sd = ckpt
    if isinstance(ckpt, dict):  # the published files hold "state_dict"; other families other keys
        for key in ("state_dict", "params_ema", "params", "model"):
            if isinstance(ckpt.get(key), dict):
                sd = ckpt[key]
                break
    if not isinstance(sd, dict) or not sd or not all(hasattr(v, "shape") for v in sd.values()):
        raise BackendError(f"{path} holds no state dict of tensors: {_EXPECT}")
    sd = {(k[len("module."):] if k.startswith("module.") else k): v for k, v in sd.items()}
    try:
        cfg = config_from_state_dict(sd)
    except KeyError as e:
        hint = " (this looks like a SyncNet expert, not the generator)" if any(
            k.startswith("face_encoder.") for k in sd) else ""
        raise BackendError(f"{path} is not a Wav2Lip checkpoint: it has no tensor {e.args[0]!r}{hint}; "
                           f"{_EXPECT}") from None
    except ValueError as e:
        raise BackendError(f"{path} is not a Wav2Lip checkpoint ({e}): {_EXPECT}") from None
    try:
        net = Wav2Lip(cfg)
        net.load_state_dict(sd, strict=True)
    except (RuntimeError, KeyError, ValueError) as e:
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()][1:3]
        raise BackendError(f"{path} does not fit the Wav2Lip architecture ({'; '.join(lines)[:300]}): "
                           f"{_EXPECT}") from None
    return net.eval().to(device)


class Wav2LipPlanner:
    """The speech side: mel windows block by block.

    Args:
        speech: the speech (any rate; resampled to 16 kHz once).
        fps: the video's frame rate.
        n_frames: output frames T.
        first_s, block_s: the first block's and the other blocks' length, seconds.
    """

    def __init__(self, speech: Speech, fps: float, n_frames: int, first_s: float = 2.0, block_s: float = 8.0) -> None:
        x = speech.samples if speech.sample_rate_hz == SAMPLE_RATE_HZ else resample(
            speech.samples, speech.sample_rate_hz, SAMPLE_RATE_HZ)
        self.mel = MelWindows(x, fps)
        self.n_frames = int(n_frames)
        self._first = max(1, int(round(first_s * fps)))
        self._block = max(1, int(round(block_s * fps)))

    def blocks(self) -> list[tuple[int, int]]:
        out, t, size = [], 0, self._first
        while t < self.n_frames:
            out.append((t, min(self.n_frames, t + size)))
            t, size = out[-1][1], self._block
        return out

    def speech_block(self, start: int, stop: int) -> None:
        """Nothing: Wav2Lip reads the spectrogram, not phones."""

    def motion_block(self, start: int, stop: int) -> np.ndarray:
        """(stop - start, 1, 80, 16) float32 mel windows."""
        return self.mel.windows(start, stop)


def face_box(landmarks: np.ndarray, width: int, height: int) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) pixels (x1, y1 exclusive) of the Wav2Lip face crop from face-mesh
    landmarks: across the face oval, from the upper forehead (half-way between the brows and the
    top of the oval) to 5 % of the face's height below the chin - close to the S3FD boxes (with
    Wav2Lip's 10 px chin padding) the model was trained on. None when under 16 px."""
    p = np.asarray(landmarks, np.float64)[:, :2]
    oval = p[L.FACE_OVAL]
    brows = min(p[105, 1], p[334, 1])
    top, chin = oval[:, 1].min(), p[L.CHIN, 1]
    y0 = (brows + top) / 2
    y1 = chin + 0.05 * (chin - y0)
    x0, x1 = oval[:, 0].min(), oval[:, 0].max()
    box = (int(max(0, np.floor(x0))), int(max(0, np.floor(y0))), int(min(width, np.ceil(x1))),
           int(min(height, np.ceil(y1))))
    if box[2] - box[0] < 16 or box[3] - box[1] < 16:
        return None
    return box


def lower_face_mask(landmarks: np.ndarray, box: tuple[int, int, int, int], feather: float = 0.06) -> np.ndarray:
    """(h, w) float32 blend weights over ``box``: the lower face (convex hull of the jaw line and
    the line under the nose), eroded and feathered by ``feather`` inter-ocular distances so the
    boundary never shows; 0 above the nose and outside the jaw."""
    x0, y0, x1, y1 = box
    p = np.asarray(landmarks, np.float64)[:, :2] - (x0, y0)
    pts = np.vstack([p[L.JAW], p[L.MASK_TOP]]).astype(np.float32)
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    cv2.fillConvexPoly(mask, cv2.convexHull(pts).astype(np.int32), 1.0, lineType=cv2.LINE_AA)
    sigma = max(1.0, feather * float(L.interocular_px(np.asarray(landmarks))) / 2)
    er = max(1, int(round(2 * sigma)))
    mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * er + 1, 2 * er + 1)))
    mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    mask[mask < 1.0 / 255] = 0.0
    return mask


class Wav2LipCompositor:
    """The picture side: Wav2Lip's mouth on the base frames, ``batch_size`` frames per call.

    Args:
        net: the network (:func:`load_wav2lip`).
        device: where it runs.
        frames: the base frame of each output frame, (H, W, 3) uint8 RGB, in order.
        base: (T,) int64 source frame under each output frame (its landmarks are used).
        landmarks: (N, 478, 3) float32 pixels of the source frames; valid: (N,) bool.
        width, height: frame size.
        reference: (T,) int64 source frame whose face is the identity reference of each output
            frame, or None (the frame itself, as Wav2Lip's own inference does); with
            ``reference_frames`` yielding those frames' images in order.
        batch_size: frames per network call.
    """

    def __init__(self, net, device: str, frames: Iterator[np.ndarray], base: np.ndarray, landmarks: np.ndarray,
                 valid: np.ndarray, width: int, height: int, reference: np.ndarray | None = None,
                 reference_frames: Iterator[np.ndarray] | None = None, batch_size: int | None = None) -> None:
        self.net, self.device = net, device
        self._frames = frames
        self.base, self.landmarks, self.valid = np.asarray(base), landmarks, valid
        self.width, self.height = int(width), int(height)
        self.reference = None if reference is None else np.asarray(reference)
        self._ref_frames = reference_frames
        self.batch_size = int(batch_size or BATCH["cuda" if device.startswith("cuda") else "cpu"])
        #: PyTorch CPU threads during a network call: half the cores (on 2 shared cores one
        #: thread was 2x faster than two: 0.25 vs 0.56 s a frame for the full-size model)
        self.threads = max(1, (os.cpu_count() or 2) // 2)
        self.seconds_network = 0.0

    def base_frames(self) -> Iterator[np.ndarray]:
        return self._frames

    def _crop(self, img: np.ndarray, lm: np.ndarray) -> np.ndarray | None:
        box = face_box(lm, img.shape[1], img.shape[0])
        if box is None:
            return None
        x0, y0, x1, y1 = box
        return cv2.resize(np.ascontiguousarray(img[y0:y1, x0:x1, ::-1]), (IMG_SIZE, IMG_SIZE))

    def predict(self, faces: np.ndarray, refs: np.ndarray, mels: np.ndarray) -> np.ndarray:
        """The network on a batch.

        Args:
            faces, refs: (B, 96, 96, 3) uint8 BGR crops of the frames and of their references.
            mels: (B, 1, 80, 16) float32 mel windows.
        Returns:
            (B, 96, 96, 3) uint8 BGR predicted faces.
        """
        import time

        torch = _torch()
        masked = faces.copy()
        masked[:, IMG_SIZE // 2:] = 0
        x = np.concatenate([masked, refs], axis=3).transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        t0 = time.perf_counter()
        threads = torch.get_num_threads()
        if self.device == "cpu":  # half the cores: the decoder and encoder threads need the rest
            torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                y = self.net(torch.from_numpy(mels).to(self.device), torch.from_numpy(x).to(self.device))
            y = y.float().cpu().numpy()
        finally:
            torch.set_num_threads(threads)
        self.seconds_network += time.perf_counter() - t0
        return (y.transpose(0, 2, 3, 1) * 255.0 + 0.5).clip(0, 255).astype(np.uint8)

    def render(self, t: int, base: np.ndarray, plan: np.ndarray, i: int) -> Rendered:
        return self.render_batch(t, [base], plan, i)[0]

    def render_batch(self, t0: int, bases: list[np.ndarray], plan: np.ndarray, i0: int) -> list[Rendered]:
        """Output frames ``t0 ..`` from their base frames and rows ``i0 ..`` of ``plan`` (mel
        windows), in one network call."""
        out: list[Rendered | None] = [None] * len(bases)
        todo, faces, refs = [], [], []
        for k, img in enumerate(bases):
            t = t0 + k
            b = int(self.base[t])
            ref_img = next(self._ref_frames) if self._ref_frames is not None else img
            r = b if self.reference is None else int(self.reference[t])
            face = self._crop(img, self.landmarks[b]) if self.valid[b] else None
            ref = face if r == b else (self._crop(ref_img, self.landmarks[r]) if self.valid[r] else None)
            if face is None or ref is None:
                out[k] = Rendered(image=img, base=img, base_index=b)
                continue
            todo.append(k)
            faces.append(face)
            refs.append(ref)
        if todo:
            pred = self.predict(np.stack(faces), np.stack(refs), plan[[i0 + k for k in todo]])
            for k, p in zip(todo, pred):
                out[k] = self._paste(bases[k], p, int(self.base[t0 + k]))
        return out  # type: ignore[return-value]

    def _paste(self, img: np.ndarray, pred_bgr: np.ndarray, b: int) -> Rendered:
        lm = self.landmarks[b]
        box = face_box(lm, img.shape[1], img.shape[0])
        x0, y0, x1, y1 = box
        face = cv2.resize(np.ascontiguousarray(pred_bgr[:, :, ::-1]), (x1 - x0, y1 - y0), interpolation=cv2.INTER_CUBIC)
        alpha = lower_face_mask(lm, box)
        new = img.copy()
        roi = new[y0:y1, x0:x1]
        r32 = roi.astype(np.float32)
        mixed = np.clip(r32 + alpha[..., None] * (face.astype(np.float32) - r32) + 0.5, 0, 255).astype(np.uint8)
        keep = alpha <= 0
        mixed[keep] = roi[keep]
        roi[...] = mixed
        return Rendered(image=new, base=img, landmarks=lm, blend=BlendRegion(y0=y0, x0=x0, alpha=alpha),
                        base_index=b, mouth_index=b)


class Wav2LipBackend:
    """A loaded Wav2Lip checkpoint that makes planners and compositors for renders.

    Args:
        checkpoint: the ``.pth`` file (:func:`load_wav2lip`).
        device: ``"cpu"`` or ``"cuda"``.
        batch_size: frames per network call (None: 16 on the CPU, 64 on CUDA).
    Raises:
        BackendError: see :func:`load_wav2lip`.
    """

    name = "wav2lip"

    def __init__(self, checkpoint: str | Path, device: str = "cpu", batch_size: int | None = None) -> None:
        self.net = load_wav2lip(checkpoint, device)
        self.device, self.batch_size = device, batch_size

    def planner(self, speech: Speech, fps: float, n_frames: int) -> Wav2LipPlanner:
        return Wav2LipPlanner(speech, fps, n_frames)

    def compositor(self, frames: Iterator[np.ndarray], base: np.ndarray, landmarks: np.ndarray, valid: np.ndarray,
                   width: int, height: int, reference: np.ndarray | None = None,
                   reference_frames: Iterator[np.ndarray] | None = None) -> Wav2LipCompositor:
        return Wav2LipCompositor(self.net, self.device, frames, base, landmarks, valid, width, height,
                                 reference=reference, reference_frames=reference_frames, batch_size=self.batch_size)
