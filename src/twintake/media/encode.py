"""Writing the output: H.264 + AAC MP4 files and 16-bit WAV files, atomically.

Files are written to a hidden temporary file in the target folder and renamed onto the target
only when complete, so an interrupted run never leaves a half-written file at the target path.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import os
import pathlib
import tempfile
import wave
from fractions import Fraction
from types import TracebackType
from typing import Any

import av
import av.error
import numpy as np

from ..errors import OutputError
from .probe import PathLike, describe_av_error

__all__ = ["VideoWriter", "write_wav", "AAC_RATES", "aac_rate", "check_output_path", "add_h264_stream", "to_yuv420p"]

log = logging.getLogger(__name__)

_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov"}
#: How far (s) encoded audio may run ahead of the video written so far.
_AUDIO_LEAD_S = 0.5
# AVCOL_* values for BT.709 and the limited ("tv"/MPEG) range
_BT709 = 1
_RANGE_TV = 1


#: Sample rates AAC accepts; audio at other rates is resampled to 48 kHz.
AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


def aac_rate(sample_rate_hz: int) -> int:
    """The rate audio at ``sample_rate_hz`` is encoded at: itself if AAC accepts it, else 48000."""
    return int(sample_rate_hz) if int(sample_rate_hz) in AAC_RATES else 48000


def check_output_path(out: PathLike) -> pathlib.Path:
    """Raise :class:`OutputError` unless the video ``out`` can be written (checked before any
    work starts): an ``.mp4``/``.m4v``/``.mov`` name in an existing, writable folder."""
    out = pathlib.Path(out)
    if out.suffix.lower() not in _FORMATS:
        raise OutputError(f"cannot write {out}: the output must be an .mp4 file")
    if out.is_dir():
        raise OutputError(f"cannot write {out}: it is a folder")
    _check_folder(out)
    return out


def _check_folder(path: pathlib.Path) -> pathlib.Path:
    """Raise OutputError unless the folder of ``path`` exists and is writable; return it."""
    folder = path.parent if str(path.parent) else pathlib.Path(".")
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
    if not folder.exists():
        raise OutputError(
            f"cannot write {path}: folder {folder} does not exist; create it first"
        )
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(
            f"cannot write {path}: folder {folder} is not writable; choose another folder"
        )
    return folder


def _temp_beside(path: pathlib.Path, folder: pathlib.Path) -> pathlib.Path:
    """Create an empty hidden temporary file next to ``path`` and return its path."""
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{path.name}.tmp-", suffix=path.suffix or ".tmp", dir=folder
        )
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    os.close(fd)
    # mkstemp makes the file private (0600); the finished output gets a normal file's mode
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(name, 0o666 & ~umask)
    return pathlib.Path(name)


#: x264 options every output gets: a fixed B-frame pattern, so that the same frames always give
#: the same bytes (x264's adaptive B-frame decision is not repeatable in a long-lived process;
#: see :class:`VideoWriter`).
X264_PARAMS = "b-adapt=0"


def add_h264_stream(container: Any, fps: Fraction | float, width: int, height: int, crf: int = 18,
                    preset: str = "veryfast") -> Any:
    """Add the video stream every twintake MP4 has to an open PyAV output ``container``: H.264
    (libx264 at ``crf``/``preset`` with :data:`X264_PARAMS`), yuv420p, BT.709 limited range,
    time base 1/``fps``. ``width``/``height`` in pixels (even). Returns the stream.

    Raises:
        av.error.FFmpegError, ValueError: the encoder rejects the settings (callers wrap it).
    """
    fps_f = Fraction(fps).limit_denominator(100_000)
    vs = container.add_stream(
        "libx264", rate=fps_f,
        options={"crf": str(int(crf)), "preset": str(preset), "x264-params": X264_PARAMS},
    )
    vs.width, vs.height = int(width), int(height)
    vs.pix_fmt = "yuv420p"
    vs.codec_context.time_base = Fraction(1) / fps_f
    vs.codec_context.colorspace = _BT709
    vs.codec_context.color_primaries = _BT709
    vs.codec_context.color_trc = _BT709
    vs.codec_context.color_range = _RANGE_TV
    return vs


def to_yuv420p(image: np.ndarray) -> Any:
    """An ``av.VideoFrame`` in yuv420p, BT.709 limited range, of one (H, W, 3) uint8 RGB image
    (even H and W): what :class:`VideoWriter` hands the encoder."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    return frame.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")


def _remove_quietly(p: pathlib.Path) -> None:
    with contextlib.suppress(OSError):
        p.unlink()


class VideoWriter:
    """Write an H.264 (libx264, yuv420p, BT.709) MP4 with an optional mono AAC track.

    Use as a context manager::

        with VideoWriter("out.mp4", fps=25, width=700, height=700,
                         audio_sample_rate_hz=16000) as w:
            for image in images:
                w.write(image)          # (H, W, 3) uint8 RGB
                w.write_audio(chunk)    # mono float32, any length, any interleaving

    The file is written to a hidden temporary file beside ``path`` (``.NAME.tmp-XXXX.mp4``)
    and renamed onto ``path`` only by a successful :meth:`close` (or a ``with`` block ending
    without an exception). On an exception (including ``KeyboardInterrupt``) inside the
    ``with`` block, or on :meth:`abort`, the temporary file is removed and ``path`` is left
    untouched.

    Odd sizes: H.264 4:2:0 needs even dimensions, so when ``width``/``height`` is odd the last
    column/row of every image is cropped (the file is ``width//2*2 x height//2*2``).

    Timing: video frame ``i`` has pts ``i`` in time base ``1/fps``; audio pts count samples.
    Writing ``round(audio_duration_s * fps)`` frames gives a file whose duration matches the
    audio within one frame. Audio is encoded in step with the video (at most
    ~0.5 s ahead of the frames written so far; the rest waits, as float32, until the video catches
    up or the writer is closed), so the two streams are interleaved in the file.

    Repeatability: the same frames give the same bytes, also when one process renders many times.
    x264's adaptive B-frame decision (``b-adapt=1``, the default of the fast presets) reads
    memory it has not initialised in a long-lived process (the output changed with the heap's
    old contents: ``MALLOC_PERTURB_=85`` and ``=170`` gave two different streams of the same
    frames). The writer therefore uses a fixed B-frame pattern (:data:`X264_PARAMS`:
    ``b-adapt=0``), measured at -4..+3 % size and -0.4..+0.2 dB PSNR against the default at CRF
    18 (``docs/benchmarks.md``, *Repeatable renders*).

    Attributes:
        path: the target path.
        fps: the frame rate (exact).
        width, height: encoded (even) frame size in pixels.
        frames_written: number of frames written so far.
        audio_samples_written: number of audio samples received so far.
    """

    def __init__(
        self,
        path: PathLike,
        fps: float | Fraction,
        width: int,
        height: int,
        *,
        crf: int = 18,
        preset: str = "veryfast",
        audio_sample_rate_hz: int | None = None,
        audio_bitrate: int = 128000,
    ) -> None:
        """Check the target, then open the encoder on a temporary file.

        Args:
            path: output file (.mp4, .m4v or .mov).
            fps: frame rate in frames/s (a float such as 29.97 is turned into a fraction).
            width, height: size in pixels of the images passed to :meth:`write` (>= 2).
            crf: x264 constant rate factor (0-51; lower is better quality, 18 is visually lossless).
            preset: x264 preset (ultrafast ... veryslow).
            audio_sample_rate_hz: rate of the samples passed to :meth:`write_audio`; None for
                no audio track.
            audio_bitrate: AAC bit rate in bits/s.

        Raises:
            OutputError: the folder does not exist or is not writable, the path is a folder, the
                extension is not .mp4/.m4v/.mov, or the encoder cannot be opened.
            ValueError: invalid fps, size, crf or sample rate.
        """
        self.path = pathlib.Path(path)
        folder = _check_folder(self.path)
        fmt = _FORMATS.get(self.path.suffix.lower())
        if fmt is None:
            raise OutputError(
                f"cannot write {self.path}: twintake writes MP4 video; "
                f"name the output with a .mp4 extension"
            )
        if isinstance(fps, bool) or not isinstance(fps, (int, float, Fraction)):
            raise ValueError(f"fps must be a number, not {type(fps).__name__}")
        fps_f = Fraction(fps).limit_denominator(100_000)
        if not 0 < fps_f <= 1000:
            raise ValueError(f"fps must be in (0, 1000], got {fps}")
        if int(width) < 2 or int(height) < 2:
            raise ValueError(f"width and height must be at least 2 pixels, got {width}x{height}")
        if not 0 <= int(crf) <= 51:
            raise ValueError(f"crf must be in 0..51, got {crf}")
        if audio_sample_rate_hz is not None and int(audio_sample_rate_hz) <= 0:
            raise ValueError(f"audio_sample_rate_hz must be positive, got {audio_sample_rate_hz}")

        self.fps = fps_f
        self.in_width, self.in_height = int(width), int(height)
        self.width, self.height = self.in_width // 2 * 2, self.in_height // 2 * 2
        self.audio_sample_rate_hz = int(audio_sample_rate_hz) if audio_sample_rate_hz else None
        self.frames_written = 0
        self.audio_samples_written = 0
        self._audio_encoded = 0
        self._pending: collections.deque[np.ndarray] = collections.deque()
        self._pending_samples = 0
        self._closed = False

        self._tmp = _temp_beside(self.path, folder)
        try:
            self._container: Any = av.open(
                str(self._tmp), mode="w", format=fmt, options={"movflags": "+faststart"}
            )
            self._vstream = add_h264_stream(self._container, fps_f, self.width, self.height, crf, preset)
            self._astream: Any = None
            if self.audio_sample_rate_hz:
                astream = self._container.add_stream(
                    "aac", rate=self.audio_sample_rate_hz, layout="mono"
                )
                astream.bit_rate = int(audio_bitrate)
                astream.codec_context.time_base = Fraction(1, self.audio_sample_rate_hz)
                self._astream = astream
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            self._abort_quietly()
            raise OutputError(
                f"cannot write {self.path}: the encoder could not be set up "
                f"({describe_av_error(exc)}); check the preset/crf options"
            ) from exc
        except BaseException:
            self._abort_quietly()
            raise

    # -- context manager ----------------------------------------------------------------

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:  # a writer dropped without close(): leave nothing behind
        if not getattr(self, "_closed", True):
            self._abort_quietly()

    # -- writing ------------------------------------------------------------------------

    def _fail(self, what: str, exc: BaseException) -> OutputError:
        self._abort_quietly()
        return OutputError(
            f"cannot write {self.path}: {what} failed ({describe_av_error(exc)}); "
            "check free disk space"
        )

    def write(self, image: np.ndarray) -> None:
        """Encode one frame.

        Args:
            image: (height, width, 3) uint8 RGB with the size given to the constructor; an odd
                last row/column is cropped.

        Raises:
            ValueError: wrong shape or dtype.
            OutputError: the writer is closed, or encoding/writing failed (then the temporary
                file is removed).
        """
        self._check_open()
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
            raise ValueError("image must be a uint8 numpy array (H, W, 3) RGB")
        if image.shape != (self.in_height, self.in_width, 3):
            raise ValueError(
                f"image must have shape ({self.in_height}, {self.in_width}, 3), got {image.shape}"
            )
        try:
            frame = to_yuv420p(image[: self.height, : self.width])
            frame.pts = self.frames_written
            frame.time_base = self._vstream.codec_context.time_base
            for packet in self._vstream.encode(frame):
                self._container.mux(packet)
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise self._fail("video encoding", exc) from exc
        self.frames_written += 1
        if self._astream is not None:
            self._encode_audio_until(self._audio_target())

    def write_audio(self, samples: np.ndarray) -> None:
        """Add mono audio at ``audio_sample_rate_hz``; may be called any number of times.

        Args:
            samples: (n,) (or (n, 1)) float samples in [-1, 1] (values outside are clipped).

        Raises:
            ValueError: the writer has no audio track, or the samples are not 1-D / not finite.
            OutputError: the writer is closed, or encoding failed.
        """
        self._check_open()
        if self._astream is None:
            raise ValueError("this VideoWriter has no audio track; pass audio_sample_rate_hz")
        arr = np.asarray(samples)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ValueError(f"audio samples must be mono, shape (n,), got {arr.shape}")
        if arr.size == 0:
            return
        arr = np.clip(arr.astype(np.float32), -1.0, 1.0)
        if not np.all(np.isfinite(arr)):
            raise ValueError("audio samples contain NaN or infinity")
        self._pending.append(arr)
        self._pending_samples += arr.size
        self.audio_samples_written += arr.size
        self._encode_audio_until(self._audio_target())

    def _audio_target(self) -> int:
        assert self.audio_sample_rate_hz is not None
        video_s = self.frames_written / self.fps
        return math.ceil((video_s + _AUDIO_LEAD_S) * self.audio_sample_rate_hz)

    def _encode_audio_until(self, target: int | None) -> None:
        """Encode pending audio up to sample ``target`` (all of it when None)."""
        assert self._astream is not None and self.audio_sample_rate_hz is not None
        want = self._pending_samples if target is None else target - self._audio_encoded
        want = min(want, self._pending_samples)
        if want <= 0:
            return
        parts: list[np.ndarray] = []
        taken = 0
        while taken < want:
            head = self._pending[0]
            need = want - taken
            if head.size <= need:
                parts.append(self._pending.popleft())
                taken += head.size
            else:
                parts.append(head[:need])
                self._pending[0] = head[need:]
                taken += need
        self._pending_samples -= taken
        chunk = np.concatenate(parts) if len(parts) > 1 else parts[0]
        try:
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(chunk.reshape(1, -1)), format="fltp", layout="mono"
            )
            frame.sample_rate = self.audio_sample_rate_hz
            frame.pts = self._audio_encoded
            frame.time_base = Fraction(1, self.audio_sample_rate_hz)
            for packet in self._astream.encode(frame):
                self._container.mux(packet)
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise self._fail("audio encoding", exc) from exc
        self._audio_encoded += taken

    # -- finishing ----------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise OutputError(f"cannot write {self.path}: the writer is already closed")

    def close(self) -> None:
        """Flush the encoders and move the finished file onto ``path`` (replacing it).

        Calling close() again does nothing.

        Raises:
            OutputError: no frame was written, or finishing/renaming failed (the temporary file
                is removed and ``path`` is not touched).
        """
        if self._closed:
            return
        if self.frames_written == 0:
            self._abort_quietly()
            raise OutputError(f"cannot write {self.path}: no video frame was written")
        try:
            for packet in self._vstream.encode(None):
                self._container.mux(packet)
            if self._astream is not None:
                self._encode_audio_until(None)
                for packet in self._astream.encode(None):
                    self._container.mux(packet)
            self._container.close()
        except OutputError:
            raise
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise self._fail("finishing the file", exc) from exc
        except BaseException:
            self._abort_quietly()
            raise
        try:
            os.replace(self._tmp, self.path)
        except OSError as exc:
            _remove_quietly(self._tmp)
            self._closed = True
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self._closed = True
        log.debug("wrote %s (%d frames)", self.path, self.frames_written)

    def abort(self) -> None:
        """Stop writing and remove the temporary file; ``path`` is left untouched."""
        self._abort_quietly()

    def _abort_quietly(self) -> None:
        self._closed = True
        container = getattr(self, "_container", None)
        if container is not None:
            with contextlib.suppress(Exception):
                container.close()
            self._container = None
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            _remove_quietly(tmp)


def write_wav(path: PathLike, samples: np.ndarray, sample_rate_hz: int) -> None:
    """Write mono audio as a 16-bit PCM WAV file, atomically (temp file + rename).

    Args:
        path: output file.
        samples: (n,) float samples in [-1, 1] (clipped), or int16 samples (written as is).
        sample_rate_hz: sampling rate in Hz.

    Raises:
        OutputError: the folder does not exist or is not writable, or writing failed.
        ValueError: samples are not 1-D, not finite, or the rate is not positive.
    """
    p = pathlib.Path(path)
    if int(sample_rate_hz) <= 0:
        raise ValueError(f"sample_rate_hz must be positive, got {sample_rate_hz}")
    arr = np.asarray(samples)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"audio samples must be mono, shape (n,), got {arr.shape}")
    if arr.dtype == np.int16:
        pcm = arr
    else:
        f = arr.astype(np.float32)
        if not np.all(np.isfinite(f)):
            raise ValueError("audio samples contain NaN or infinity")
        pcm = np.round(np.clip(f, -1.0, 1.0) * 32767.0).astype(np.int16)
    folder = _check_folder(p)
    tmp = _temp_beside(p, folder)
    try:
        with wave.open(str(tmp), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(int(sample_rate_hz))
            w.writeframes(pcm.astype("<i2", copy=False).tobytes())
        os.replace(tmp, p)
    except OSError as exc:
        _remove_quietly(tmp)
        raise OutputError(f"cannot write {p}: {exc.strerror or exc}") from exc
    except BaseException:
        _remove_quietly(tmp)
        raise
