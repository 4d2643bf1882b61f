"""Cutting a video: its first seconds re-encoded (H.264 + AAC) on the constant-fps timeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .audio import load_audio
from .decode import iter_frames
from .encode import VideoWriter, aac_rate
from .probe import probe

__all__ = ["write_clip"]


def write_clip(path: str | Path, out: str | Path, max_seconds: float, crf: int = 14) -> Path:
    """Write the first ``max_seconds`` of the video ``path`` to ``out`` (atomically).

    Args:
        path: a video; out: the .mp4 to write; max_seconds: length kept, seconds;
        crf: x264 quality.
    Returns:
        ``out`` as a :class:`Path`.
    Raises:
        MediaError: ``path`` is not a video. OutputError: ``out`` cannot be written.
    """
    info = probe(path)
    fps = float(info.video.fps)
    n = int(min(info.video.frame_count or 1 << 30, np.floor(max_seconds * fps + 1e-6)))
    sr = aac_rate(info.audio.sample_rate_hz) if info.audio else 48000
    audio = load_audio(path, sr) if info.audio else None
    w, h = info.video.width, info.video.height
    written = 0
    with VideoWriter(out, fps, w, h, crf=crf, preset="veryfast",
                     audio_sample_rate_hz=sr if audio is not None else None) as wr:
        for fr in iter_frames(path, fps=fps, stop=n):
            wr.write(fr.image)
            written += 1
        if audio is not None:
            wr.write_audio(audio[: int(round(written * sr / fps))])
    return Path(out)
