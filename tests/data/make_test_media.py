"""Make the tiny test media in tests/data from the shared media (not run by the tests).

    .venv/bin/python tests/data/make_test_media.py [--media ../shared/media] [--out tests/data]

Writes (about 160 kB in all; origins and licences in docs/licenses.md, "Test media"):

    tiny_talk.mp4      video/vretalking_face2.mp4 (Apache-2.0): its first 2.4 s (60 frames at
                       25 fps), scaled 844x844 -> 320x320 (face ~110 px wide), H.264 yuv420p
                       crf 26, mono AAC 16 kHz.
    tiny_portrait.jpg  portrait/avg_man4.jpg (MIT): a 320x320 crop around the face at the
                       photo's own resolution (face ~120 px wide), JPEG quality 90.
    tiny_speech.wav    speech_en/realthreed_obama_5s.wav (MIT): its first 3.0 s (ending in a
                       pause), down-mixed to mono, 16 kHz 16-bit PCM.

Only PyAV and NumPy are used (no ffmpeg command, no twintake import), single-threaded so the
output is the same on every run with the same PyAV build.
"""

from __future__ import annotations

import argparse
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_MEDIA = HERE.parents[2] / "shared" / "media"

VIDEO_SRC = "video/vretalking_face2.mp4"
VIDEO_SECONDS = 2.4
VIDEO_SIZE = 320
VIDEO_FPS = 25
VIDEO_AUDIO_HZ = 16000

PHOTO_SRC = "portrait/avg_man4.jpg"
PHOTO_BOX = (151, 0, 471, 320)  # left, top, right, bottom in the 626x417 photo; face at x 252-371

SPEECH_SRC = "speech_en/realthreed_obama_5s.wav"
SPEECH_SECONDS = 3.0
SPEECH_HZ = 16000


def decode_mono(path: Path, rate: int) -> np.ndarray:
    """The first audio track of ``path`` as mono float32 at ``rate`` Hz."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    chunks = []
    with av.open(str(path)) as c:
        for frame in c.decode(c.streams.audio[0]):
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.clip(np.concatenate(chunks), -1.0, 1.0).astype(np.float32)


def make_video(src: Path, out: Path) -> None:
    n_frames = round(VIDEO_SECONDS * VIDEO_FPS)
    audio = decode_mono(src, VIDEO_AUDIO_HZ)[: round(VIDEO_SECONDS * VIDEO_AUDIO_HZ)]
    with av.open(str(src)) as inp, av.open(str(out), "w", options={"movflags": "+faststart"}) as o:
        vs = o.add_stream("libx264", rate=VIDEO_FPS,
                          options={"crf": "26", "preset": "medium", "threads": "1"})
        vs.width = vs.height = VIDEO_SIZE
        vs.pix_fmt = "yuv420p"
        vs.codec_context.time_base = Fraction(1, VIDEO_FPS)
        aus = o.add_stream("aac", rate=VIDEO_AUDIO_HZ, layout="mono")
        aus.bit_rate = 48000
        aus.codec_context.time_base = Fraction(1, VIDEO_AUDIO_HZ)
        written = 0
        for frame in inp.decode(inp.streams.video[0]):
            if written == n_frames:
                break
            small = frame.reformat(width=VIDEO_SIZE, height=VIDEO_SIZE, format="yuv420p",
                                   interpolation="AREA")
            small.pts, small.time_base = written, Fraction(1, VIDEO_FPS)
            o.mux(vs.encode(small))
            written += 1
        o.mux(vs.encode(None))
        af = av.AudioFrame.from_ndarray(audio.reshape(1, -1), format="fltp", layout="mono")
        af.sample_rate, af.pts, af.time_base = VIDEO_AUDIO_HZ, 0, Fraction(1, VIDEO_AUDIO_HZ)
        o.mux(aus.encode(af))
        o.mux(aus.encode(None))
    if written != n_frames:
        raise SystemExit(f"{src} gave only {written} frames")


def make_photo(src: Path, out: Path) -> None:
    with av.open(str(src)) as c:
        img = next(c.decode(video=0)).to_image()  # PIL image (Pillow comes with PyAV's to_image)
    img.crop(PHOTO_BOX).save(out, quality=90)


def make_speech(src: Path, out: Path) -> None:
    samples = decode_mono(src, SPEECH_HZ)[: round(SPEECH_SECONDS * SPEECH_HZ)]
    pcm = np.round(samples * 32767.0).astype("<i2")
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SPEECH_HZ)
        w.writeframes(pcm.tobytes())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--media", type=Path, default=DEFAULT_MEDIA, help="the shared media folder")
    ap.add_argument("--out", type=Path, default=HERE, help="where to write the tiny files")
    args = ap.parse_args()
    make_video(args.media / VIDEO_SRC, args.out / "tiny_talk.mp4")
    make_photo(args.media / PHOTO_SRC, args.out / "tiny_portrait.jpg")
    make_speech(args.media / SPEECH_SRC, args.out / "tiny_speech.wav")
    for name in ("tiny_talk.mp4", "tiny_portrait.jpg", "tiny_speech.wav"):
        print(f"{name}: {(args.out / name).stat().st_size / 1000:.0f} kB")


if __name__ == "__main__":
    main()
