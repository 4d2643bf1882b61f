#!/usr/bin/env python
"""Video render speed at 1280x720 with and without the provenance frame mark (issue 14's target).

Usage::

    python benchmarks/bench_render_speed.py [--media ../shared/media] [--seconds 20] [--runs 2]

The first ``--seconds`` of ``digisay_avatar1.mp4`` (1280x854) are cropped to 1280x720 (rows
60-779, re-encoded at CRF 14 with PyAV into a temp folder) and prepared (face track and mouth bank,
cached); the first ``--seconds`` of ``musetalk_eng.wav`` get their phones once. Then
:func:`twintake.engine.render_video` runs with the default options, without and with the frame
mark (:class:`twintake.provenance.video_mark.FrameMarker`, as ``make_video`` adds it), alternated,
``--runs`` times each; printed: frames per second of wall time of the whole call, and the CPU
time of the process's threads during the call (the fair figure on a busy machine).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def crop_720(src: Path, dst: Path, seconds: float) -> None:
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vs = inp.streams.video[0]
        rate = int(round(float(vs.average_rate)))
        st = out.add_stream("libx264", rate=rate)
        st.width, st.height, st.pix_fmt, st.options = 1280, 720, "yuv420p", {"crf": "14"}
        for n, f in enumerate(inp.decode(vs)):
            if n >= seconds * rate:
                break
            img = np.ascontiguousarray(f.to_ndarray(format="rgb24")[60:780, :1280])
            for p in st.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in st.encode():
            out.mux(p)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--media", type=Path, default=Path("../shared/media"))
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--runs", type=int, default=2)
    a = ap.parse_args()

    from twintake.engine import render_video
    from twintake.options import LipsyncOptions
    from twintake.prepare import prepare_video
    from twintake.provenance.video_mark import FrameMarker
    from twintake.speech.input import ensure_phones, load_speech

    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "digisay_avatar1_720p.mp4"
        crop_720(a.media / "video" / "digisay_avatar1.mp4", video, a.seconds)
        prep = prepare_video(video)
        sp = load_speech(a.media / "speech_en" / "musetalk_eng.wav")
        sp.samples = sp.samples[: int(a.seconds * sp.sample_rate_hz)]
        sp = ensure_phones(sp)
        for _ in range(a.runs):
            for mark in (False, True):
                t0, c0 = time.perf_counter(), time.process_time()
                r = render_video(prep, sp, Path(tmp) / "out.mp4", LipsyncOptions(),
                                 frame_filters=[FrameMarker(0x123456)] if mark else ())
                dt, cpu = time.perf_counter() - t0, time.process_time() - c0
                print(f"{'with' if mark else 'without'} the frame mark: {r.frames} frames, {dt:.2f} s, "
                      f"{r.frames / dt:.1f} fps; CPU {cpu:.2f} s ({1000 * cpu / r.frames:.1f} ms "
                      "per frame, all threads)", flush=True)


if __name__ == "__main__":
    main()
