"""Is a render repeatable? The same lip-sync job run N times in one process: the MD5 of each MP4,
whether the frames handed to the encoder were the same, and the largest decoded pixel
difference from the first run.

    TWINTAKE_NO_CACHE=1 OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/bench_repeat.py --runs 6
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
from pathlib import Path

import av
import numpy as np

import twintake
from twintake.media import encode
from twintake.options import LipsyncOptions

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default=str(DATA / "tiny_talk.mp4"))
    ap.add_argument("--audio", default=str(DATA / "tiny_speech.wav"))
    ap.add_argument("--runs", type=int, default=6)
    args = ap.parse_args()

    handed: list[str] = []
    write = encode.VideoWriter.write

    def recording_write(self, image):  # the frame as the encoder receives it
        handed.append(hashlib.md5(np.ascontiguousarray(image).tobytes()).hexdigest())
        return write(self, image)

    encode.VideoWriter.write = recording_write
    first_frames = first_handed = None
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            handed.clear()
            out = Path(tmp) / f"run{i}.mp4"
            twintake.lipsync(args.video, args.audio, out, LipsyncOptions(enhance="none"), provenance=False)
            with av.open(str(out)) as c:
                frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)]).astype(np.int16)
            if first_frames is None:
                first_frames, first_handed = frames, list(handed)
            diff = int(np.abs(frames - first_frames).max()) if frames.shape == first_frames.shape else -1
            print(f"run {i}: mp4 md5 {hashlib.md5(out.read_bytes()).hexdigest()[:10]}  "
                  f"encoder input same as run 0: {handed == first_handed}  max decoded diff from run 0: {diff}")


if __name__ == "__main__":
    main()
