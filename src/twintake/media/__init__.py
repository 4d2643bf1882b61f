"""Media I/O: probing, streaming decode onto a constant-fps timeline, audio loading, and
atomic MP4 / WAV writing. Everything goes through PyAV (bundled FFmpeg); no shell commands."""

from __future__ import annotations

from .audio import load_audio
from .decode import VideoFrame, iter_frames, sample_frames
from .encode import AAC_RATES, VideoWriter, aac_rate, check_output_path, write_wav
from .probe import AudioInfo, MediaInfo, VideoInfo, probe
from .seek import iter_frames_at

__all__ = [
    "AudioInfo",
    "MediaInfo",
    "VideoInfo",
    "probe",
    "VideoFrame",
    "iter_frames",
    "iter_frames_at",
    "sample_frames",
    "load_audio",
    "VideoWriter",
    "write_wav",
    "AAC_RATES",
    "aac_rate",
    "check_output_path",
]
