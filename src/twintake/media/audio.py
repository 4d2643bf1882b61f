"""Decoding audio: the first audio track of any media file as mono float32 at a chosen rate."""

from __future__ import annotations

import av
import av.error
import numpy as np

from ..errors import MediaError
from .probe import PathLike, check_readable, describe_av_error, open_input

__all__ = ["load_audio"]

#: Decoded audio this much (fraction of a second) longer than the stream says is trimmed.
_MAX_TAIL_PADDING = 0.05


def load_audio(path: PathLike, sample_rate_hz: int = 16000) -> np.ndarray:
    """Decode the whole first audio track of a file as mono float32.

    Works for wav/mp3/m4a/flac/ogg and for the audio track of a video file. Channels are
    down-mixed by FFmpeg's resampler and the signal is resampled to ``sample_rate_hz``.

    Args:
        path: audio or video file.
        sample_rate_hz: output rate in Hz.

    Returns:
        (n_samples,) float32 array, values clipped to [-1, 1], at ``sample_rate_hz``. For MP4/MOV
        files the encoder's end padding (< 50 ms) is trimmed so the length matches the
        duration declared by the container.

    Raises:
        MediaError: missing/unreadable file, no audio stream ("X has no audio stream"), or a
            decode error.
        ValueError: ``sample_rate_hz`` is not positive.
    """
    if int(sample_rate_hz) <= 0:
        raise ValueError(f"sample_rate_hz must be positive, got {sample_rate_hz}")
    p = check_readable(path)
    with open_input(p) as container:
        if not container.streams.audio:
            raise MediaError(f"{p} has no audio stream; give a file with sound")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=int(sample_rate_hz))
        chunks: list[np.ndarray] = []
        last_time = 0.0
        expected: int | None = None
        if "mp4" in container.format.name and stream.duration and stream.time_base:
            expected = round(float(stream.duration * stream.time_base) * int(sample_rate_hz))
        try:
            for frame in container.decode(stream):
                if frame.time is not None:
                    last_time = float(frame.time)
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as exc:
            raise MediaError(
                f"{p}: audio decoding failed at about {last_time:.2f} s "
                f"({describe_av_error(exc)}); the file may be damaged or truncated"
            ) from exc
    if not chunks:
        raise MediaError(f"{p}: the audio stream contains no decodable samples")
    audio = np.concatenate(chunks).astype(np.float32, copy=False)
    if expected is not None and 0 < len(audio) - expected <= _MAX_TAIL_PADDING * sample_rate_hz:
        audio = audio[:expected]  # drop the encoder's end padding (AAC in MP4 decodes to n*1024)
    np.clip(audio, -1.0, 1.0, out=audio)
    return audio
