"""What a re-upload does to a video, for measuring the marks (``benchmarks/bench_provenance.py``
and the tests): re-encode (H.264 at a CRF, optionally rescaled and cut) and lossy audio (MP3
128 kbit/s with a gain). All with PyAV's bundled FFmpeg; the outputs carry no C2PA manifest.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

__all__ = ["reencode_video", "mp3_roundtrip"]


def reencode_video(src: str | Path, dst: str | Path, *, crf: int = 28, scale: float = 1.0,
                   start_s: float = 0.0, duration_s: float | None = None, preset: str = "veryfast") -> int:
    """Decode ``src`` and write its video (frames from ``start_s`` for ``duration_s``) as a new
    H.264 yuv420p MP4 at ``crf``, resized by ``scale`` (area filter, in YUV as ``ffmpeg -vf
    scale`` does); returns the frames written.
    The audio is re-encoded too (AAC) when present."""
    import av

    written = 0
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        rate = vin.average_rate or 25
        vs = None
        ain = inp.streams.audio[0] if inp.streams.audio else None
        aout = out.add_stream("aac", rate=ain.rate, layout="mono") if ain is not None else None
        end = None if duration_s is None else start_s + duration_s
        for frame in inp.decode(vin):
            t = float(frame.time or 0.0)
            if t < start_s - 1e-6:
                continue
            if end is not None and t >= end - 1e-6:
                break
            w, h = frame.width, frame.height
            if scale != 1.0:  # in YUV, like ffmpeg -vf scale: no RGB round trip
                w, h = int(w * scale) // 2 * 2, int(h * scale) // 2 * 2
            if vs is None:
                vs = out.add_stream("libx264", rate=rate, options={"crf": str(crf), "preset": preset})
                vs.width, vs.height, vs.pix_fmt = w // 2 * 2, h // 2 * 2, "yuv420p"
            f = frame.reformat(width=vs.width, height=vs.height, format="yuv420p", interpolation="AREA")
            f.pts = None
            for p in vs.encode(f):
                out.mux(p)
            written += 1
        if vs is not None:
            for p in vs.encode():
                out.mux(p)
        if aout is not None:
            inp.seek(0)
            rs = av.AudioResampler(format=aout.format.name, layout="mono", rate=ain.rate)
            for frame in inp.decode(ain):
                t = float(frame.time or 0.0)
                if t < start_s - 1e-6 or (end is not None and t >= end):
                    continue
                for f in rs.resample(frame):
                    for p in aout.encode(f):
                        out.mux(p)
            for p in aout.encode():
                out.mux(p)
    return written


def mp3_roundtrip(samples: np.ndarray, sample_rate_hz: int, *, bitrate: int = 128000,
                  gain_db: float = -6.0) -> np.ndarray:
    """Apply ``gain_db``, encode as MP3 (libmp3lame, ``bitrate``) and decode; mono float32 at
    ``sample_rate_hz``."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3") as c:
        s = c.add_stream("libmp3lame", rate=sample_rate_hz, layout="mono")
        s.bit_rate = bitrate
        y = (np.asarray(samples, np.float32) * 10 ** (gain_db / 20)).astype(np.float32)
        fr = av.AudioFrame.from_ndarray(y[None, :], format="flt", layout="mono")
        fr.sample_rate = sample_rate_hz
        rs = av.AudioResampler(format=s.format.name, layout="mono", rate=sample_rate_hz)
        for f in rs.resample(fr) + rs.resample(None):
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    buf.seek(0)
    with av.open(buf) as c:
        rs = av.AudioResampler(format="flt", layout="mono", rate=sample_rate_hz)
        out = [f.to_ndarray().reshape(-1) for fr in c.decode(audio=0) for f in rs.resample(fr)]
    return np.concatenate(out) if out else np.zeros(0, np.float32)
