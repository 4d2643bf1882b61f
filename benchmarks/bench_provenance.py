"""Provenance measures (docs/provenance.md): the marks against re-encoding, downscaling, a cut and
MP3; false positives on unmarked shared media; the frame mark's PSNR and time cost; the manifest
against a one-byte edit.

    .venv/bin/python benchmarks/bench_provenance.py [--quick] [--out bench_provenance.json]

Needs ../shared/media. The frame mark runs exactly as in a render (``FrameMarker`` as the frame
filter, then ``VideoWriter`` at CRF 18); the attacks are ``twintake.provenance.attacks``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
MEDIA = ROOT.parent / "shared" / "media"

from twintake.media import VideoWriter, iter_frames, load_audio, probe  # noqa: E402
from twintake.provenance import FrameMarker, MarkDetector, detect_audio, mark_audio, read_manifest  # noqa: E402
from twintake.provenance.attacks import mp3_roundtrip, reencode_video  # noqa: E402
from twintake.provenance.payload import channel_accuracy  # noqa: E402
from twintake.provenance.video_mark import FRAME_ID_BITS, luma_of_frame  # noqa: E402

SHORT = ["sadtalker_wda_aoc", "sadtalker_wda_katiehill", "vretalking_face2", "vretalking_face3",
         "realthreed_may_5s", "pt_beard_glasses"]
LONG = ["digisay_avatar2", "musetalk_sun"]  # >= 20 s: for the 10 s cut from the middle
SPEECH = ["speech_en/tortoise_freeman_2.wav", "speech_en/digisay_english_sample.wav", "speech_ar/klaam_demo.wav",
          "speech_en/musetalk_eng.wav", "speech_en/tortoise_halle_1.wav", "speech_en/ljspeech_lj001_0012.wav",
          "speech_ar/digisay_arabic_sample.wav", "speech_en/tortoise_geralt_2.wav"]


def frames_of(path: Path, limit: int | None = None) -> tuple[list[np.ndarray], float]:
    fps = probe(path).video.fps
    out = []
    for fr in iter_frames(path):
        out.append(fr.image)
        if limit and len(out) >= limit:
            break
    return out, fps


def write(frames, path: Path, fps: float, marker=None) -> tuple[float, float]:
    """Encode (CRF 18, as a render does), marking each frame when ``marker``; returns the wall
    and CPU seconds spent in the marker (the CPU time of this thread's process: the encoder
    thread runs at the same time, so the CPU figure of :func:`bench_speed` is the clean one)."""
    spent, cpu = 0.0, 0.0
    with VideoWriter(path, fps, frames[0].shape[1], frames[0].shape[0], crf=18) as w:
        for i, f in enumerate(frames):
            if marker is not None:
                t, c = time.perf_counter(), time.thread_time()
                f = marker(f, i)
                spent += time.perf_counter() - t
                cpu += time.thread_time() - c
            w.write(f)
    return spent, cpu


def lumas(path: Path, start: int = 0, count: int | None = None) -> list[np.ndarray]:
    import av

    out = []
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i < start:
                continue
            if count is not None and len(out) >= count:
                break
            out.append(luma_of_frame(f))
    return out


def detect(ys, expected=None):
    det = MarkDetector()
    for y in ys:
        det.add(y)
    r = det.result(expected)
    return r, channel_accuracy(det.soft_bits(), expected, FRAME_ID_BITS) if expected is not None else None


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255 ** 2 / max(mse, 1e-12))


def decoded_rgb(path: Path) -> list[np.ndarray]:
    return [fr.image for fr in iter_frames(path)]


def bench_video(tmp: Path, names: list[str], frames_limit: int, rows: dict) -> None:
    for k, name in enumerate(names):
        src = MEDIA / "video" / f"{name}.mp4"
        raw, fps = frames_of(src, frames_limit)
        job = 0x100000 + k
        marker = FrameMarker(job)
        marked_path, plain_path = tmp / f"{name}_m.mp4", tmp / f"{name}_u.mp4"
        t_mark, cpu_mark = write(raw, marked_path, fps, marker)
        write(raw, plain_path, fps)
        dm, du = decoded_rgb(marked_path), decoded_rgb(plain_path)
        p_m = np.mean([psnr(a, b) for a, b in zip(dm, raw)])
        p_u = np.mean([psnr(a, b) for a, b in zip(du, raw)])
        marked_raw = [marker(f, i) for i, f in enumerate(raw[:10])]
        p_mark = np.mean([psnr(a, b) for a, b in zip(marked_raw, raw[:10])])
        row = {"frames": len(raw), "size": f"{raw[0].shape[1]}x{raw[0].shape[0]}", "psnr_marked_vs_raw": p_mark,
               "psnr_encoded_marked": p_m, "psnr_encoded_unmarked": p_u, "psnr_cost_db": p_u - p_m,
               "mark_ms_per_frame": 1000 * t_mark / len(raw), "mark_cpu_ms_per_frame": 1000 * cpu_mark / len(raw),
               "amplitude": float(np.sqrt(np.mean(marker.pattern ** 2)))}
        r, ch = detect(lumas(marked_path), job)
        row["as_written"] = {"found": r.found, "bit_accuracy": r.bit_accuracy, "channel": ch}
        for attack, kw in (("crf23", {"crf": 23}), ("crf28", {"crf": 28}), ("half_crf18", {"crf": 18, "scale": 0.5}),
                           ("half_crf23", {"crf": 23, "scale": 0.5}), ("half_crf28", {"crf": 28, "scale": 0.5})):
            out = tmp / f"{name}_{attack}.mp4"
            reencode_video(marked_path, out, **kw)
            r, ch = detect(lumas(out), job)
            row[attack] = {"found": r.found, "bit_accuracy": r.bit_accuracy, "channel": ch}
        rows[name] = row
        print(name, json.dumps({k: v for k, v in row.items()}, default=float), flush=True)


def bench_cut(tmp: Path, names: list[str], rows: dict) -> None:
    for k, name in enumerate(names):
        src = MEDIA / "video" / f"{name}.mp4"
        raw, fps = frames_of(src)
        job = 0x200000 + k
        marked_path = tmp / f"{name}_m.mp4"
        write(raw, marked_path, fps, FrameMarker(job))
        del raw
        dur = len(lumas(marked_path)) / fps
        start = max(0.0, dur / 2 - 5.0)
        row = {"duration_s": dur, "cut_start_s": start}
        for attack, crf in (("cut10s_crf18", 18), ("cut10s_crf23", 23), ("cut10s_crf28", 28)):
            out = tmp / f"{name}_{attack}.mp4"
            reencode_video(marked_path, out, crf=crf, start_s=start, duration_s=10.0)
            r, ch = detect(lumas(out), job)
            row[attack] = {"found": r.found, "bit_accuracy": r.bit_accuracy, "channel": ch}
        rows[name] = row
        print(name, json.dumps(row, default=float), flush=True)


def bench_audio(files: list[str], rows: dict) -> None:
    for k, rel in enumerate(files):
        x = load_audio(MEDIA / rel, 24000)
        job = 0x300000 + k
        t = time.perf_counter()
        m = mark_audio(x, 24000, job)
        t_mark = time.perf_counter() - t
        snr = 10 * np.log10(np.sum(x.astype(np.float64) ** 2) / max(np.sum((m - x).astype(np.float64) ** 2), 1e-12))
        a = mp3_roundtrip(m, 24000, gain_db=-6.0)
        r = detect_audio(a, 24000, job)
        row = {"duration_s": len(x) / 24000, "snr_db": snr, "mark_s": t_mark,
               "mp3_128k_-6dB": {"found": r.found, "bit_accuracy": r.bit_accuracy}}
        if len(a) > 12 * 24000:
            mid = len(a) // 2
            r = detect_audio(a[mid - 5 * 24000: mid + 5 * 24000], 24000, job)
            row["mp3_cut10s"] = {"found": r.found, "bit_accuracy": r.bit_accuracy}
        rows[rel] = row
        print(rel, json.dumps(row, default=float), flush=True)


def bench_false_positives(window_s: float, rows: dict) -> None:
    """Unmarked windows of every shared video (decoded as they are) and every speech file."""
    vids = sorted((MEDIA / "video").glob("*.mp4"))
    found, confs, n = 0, [], 0
    for v in vids:
        ys = lumas(v)
        fps = probe(v).video.fps
        w = max(1, int(round(window_s * fps)))
        for s in range(0, max(1, len(ys) - w // 2), w):
            r, _ = detect(ys[s:s + w])
            found += r.found
            confs.append(r.confidence)
            n += 1
    rows["video"] = {"windows": n, "window_s": window_s, "found": found, "max_confidence": max(confs)}
    afound, aconf, an = 0, [], 0
    for f in sorted(list((MEDIA / "speech_en").glob("*")) + list((MEDIA / "speech_ar").glob("*"))
                    + list((MEDIA / "other").glob("*")) + vids):
        if f.suffix not in (".wav", ".mp3", ".mp4"):
            continue
        try:
            x = load_audio(f, 16000)
        except Exception:  # a silent video
            continue
        r = detect_audio(x, 16000)
        afound += r.found
        aconf.append(r.confidence)
        an += 1
    rows["audio"] = {"clips": an, "found": afound, "max_confidence": max(aconf)}
    print("false positives", json.dumps(rows), flush=True)


def bench_still(tmp: Path, rows: dict) -> None:
    """A photo animation (tests/data/tiny_portrait.jpg + tiny_speech.wav) with and without the
    frame mark: the 40 x 40 corners' largest mean absolute change from frame 0 (decoded output),
    and whether verify finds the mark."""
    import twintake
    from twintake.provenance import verify

    data = ROOT / "tests" / "data"
    for prov in (False, True):
        out = tmp / f"still_{prov}.mp4"
        twintake.lipsync(data / "tiny_portrait.jpg", data / "tiny_speech.wav", out, provenance=prov)
        frames = np.stack(decoded_rgb(out)).astype(np.int16)
        drift = [float(np.abs(c - c[0]).mean(axis=(1, 2, 3)).max()) for c in
                 (frames[:, :40, :40], frames[:, :40, -40:], frames[:, -40:, :40], frames[:, -40:, -40:])]
        r = verify(out).video
        rows["marked" if prov else "unmarked"] = {"corner_drift_max": max(drift), "corner_drifts": drift,
                                                   "found": r.found, "bit_accuracy": r.bit_accuracy}
    print("still background", json.dumps(rows), flush=True)


def bench_speed(rows: dict, frames: int = 100) -> None:
    """CPU time of the frame marker on one thread (``main`` sets ``cv2.setNumThreads(1)`` for the
    whole run; ``time.thread_time``) per frame at 1280 x 854 (digisay_avatar1), 844 x 844 (vretalking_face2) and 512 x 512
    (sadtalker_wda_aoc): the first frame (pattern shaped, amplitude calibrated through x264 and
    rendered; CPU time of the whole process, x264's own threads included, and wall time) apart
    from the others."""
    for name in ("digisay_avatar1", "vretalking_face2", "sadtalker_wda_aoc"):
        raw, _ = frames_of(MEDIA / "video" / f"{name}.mp4", frames)
        best = None
        for _ in range(3):  # best of three: the machine is shared
            marker = FrameMarker(0x400000)
            c, t = time.process_time(), time.perf_counter()
            marker(raw[0], 0)
            first, first_wall = time.process_time() - c, time.perf_counter() - t
            c = time.thread_time()
            for i, f in enumerate(raw[1:], 1):
                marker(f, i)
            per = (time.thread_time() - c) / (len(raw) - 1)
            best = (first, per, first_wall) if best is None or per < best[1] else best
        rows[name] = {"size": f"{raw[0].shape[1]}x{raw[0].shape[0]}", "first_frame_ms": 1000 * best[0],
                      "first_frame_wall_ms": 1000 * best[2], "cpu_ms_per_frame": 1000 * best[1],
                      "frames": len(raw)}
        print("speed", name, json.dumps(rows[name]), flush=True)


def bench_render_time(tmp: Path, rows: dict, repeats: int) -> None:
    """make_video with and without provenance on a real source (preparation cached first)."""
    from twintake.job import make_video

    src, speech = MEDIA / "video" / "vretalking_face2.mp4", MEDIA / "speech_en" / "tortoise_daniel_2.wav"
    make_video(src, audio=speech, out=tmp / "warm.mp4", provenance=False)
    times = {True: [], False: []}
    for _ in range(repeats):
        for prov in (False, True):
            t = time.perf_counter()
            job = make_video(src, audio=speech, out=tmp / f"t_{prov}.mp4", provenance=prov)
            total = time.perf_counter() - t
            times[prov].append({"total_s": total, "render_s": job.render.timings_s.get("render", 0.0),
                                "frames": job.render.frames})
    t_off = float(np.median([t["total_s"] for t in times[False]]))
    t_on = float(np.median([t["total_s"] for t in times[True]]))
    rows.update({"source": src.name, "speech": speech.name, "runs": times, "median_off_s": t_off,
                 "median_on_s": t_on, "cost_pct": 100 * (t_on - t_off) / t_off})
    print("render time", json.dumps(rows, default=float), flush=True)
    signed = tmp / "t_True.mp4"
    data = bytearray(signed.read_bytes())
    i = data.find(b"tt-")
    data[i + 4] ^= 1
    edited = tmp / "edited.mp4"
    edited.write_bytes(bytes(data))
    good, bad = read_manifest(signed), read_manifest(edited)
    rows["manifest"] = {"signed_valid": good.valid, "one_byte_edit_valid": bad.valid, "errors": bad.errors}
    print("manifest", json.dumps(rows["manifest"]), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer videos, clips and repeats")
    ap.add_argument("--out", type=Path, default=Path("bench_provenance.json"))
    ap.add_argument("--only", default="video,cut,audio,fp,still,speed,time", help="comma-separated parts to run")
    a = ap.parse_args()
    import cv2

    cv2.setNumThreads(1)  # the marker and detector on one thread (x264 keeps its own threads)
    if not (MEDIA / "MANIFEST.tsv").is_file():
        sys.exit(f"shared media not found at {MEDIA}")
    os.environ.setdefault("XDG_CONFIG_HOME", tempfile.mkdtemp(prefix="twintake-bench-config-"))
    parts = set(a.only.split(","))
    res: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-provenance-") as d:
        tmp = Path(d)
        if "video" in parts:
            bench_video(tmp, SHORT[:3] if a.quick else SHORT, 125, res.setdefault("video", {}))
        if "cut" in parts:
            bench_cut(tmp, LONG[:1] if a.quick else LONG, res.setdefault("cut", {}))
        if "audio" in parts:
            bench_audio(SPEECH[:3] if a.quick else SPEECH, res.setdefault("audio", {}))
        if "fp" in parts:
            bench_false_positives(2.5, res.setdefault("false_positives", {}))
        if "still" in parts:
            bench_still(tmp, res.setdefault("still", {}))
        if "speed" in parts:
            bench_speed(res.setdefault("speed", {}))
        if "time" in parts:
            bench_render_time(tmp, res.setdefault("time", {}), 1 if a.quick else 2)
    a.out.write_text(json.dumps(res, indent=1, default=float))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
