"""Arabic voice: Kokoro-82M vs eSpeak NG as the base voice, before and after voice conversion.

    PYTHONPATH=src python benchmarks/bench_arabic_voice.py [--engine espeak|kokoro|both]
        [--speakers daniel,freeman,...] [--sentences 12] [--per-speakers N] [--kokoro-voice NAME]
        [--png DIR] [--speed 1.0]

Per engine:

* similarity: resemblyzer cosine of Arabic speech (the 3-sentence ``TEXT``) to clip 2 of each of 6
  English reference speakers (tortoise_<name>_2), the base voice vs converted to clip 1
  (``synthesize(..., voice=profile)``). Kokoro's base voice is the one ``base_voice_for`` picks
  for the reference (``--kokoro-voice`` forces one); eSpeak has one voice.
* intelligibility proxy (no Arabic ASR offline): phone error rate of pocketsphinx's English
  acoustic model in allphone mode (``twintake.speech.phones.recognize_phones``, accurate mode)
  against the intended phone sequence. The reference is the same for both engines: eSpeak NG's
  phoneme events for the gold-diacritized sentence, mapped to ARPAbet
  (``g2p.arabic_ipa_to_arpabet``); repeated phones (geminates) collapsed, SIL dropped, in both.
  PER39 = over the 39 ARPAbet phones; PERcls = over 12 broad (viseme-like) classes. Sentences:
  every 4th of tests/data/ar_msa_diacritized.txt, spoken from their gold marks (no diacritizer).
  Limits: an English model has no pharyngeals/emphatics/uvulars and its phone LM expects English
  phonotactics, so absolute values are high; the numbers only rank engines on the same
  sentences (it rewards clear, well-formed consonants and vowels in English categories).
* quality checks on the base audio of those sentences: seconds per character, clipped samples
  (|x| >= 0.99), longest internal pause (20 ms frames 45 dB below the loudest), level and
  spectral flatness of pause frames (noise floor: flatness near 1 = hiss), F0 glitches (share of
  adjacent 5 ms voiced frames that jump more than 3 semitones; pyworld DIO + StoneMask).
* real-time factor: TTS wall time / audio time, conversion wall time / audio time.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_speech import MEDIA, ROOT, _to16k  # noqa: E402

from twintake.speech.synthesize import base_voice_for, synthesize  # noqa: E402
from twintake.speech.tts import arabic_chunks  # noqa: E402
from twintake.speech.tts.diacritics import strip_diacritics  # noqa: E402
from twintake.speech.tts.espeak import synthesize_espeak  # noqa: E402
from twintake.speech.tts.g2p import arabic_ipa_to_arpabet  # noqa: E402
from twintake.speech.tts.text import normalize_arabic  # noqa: E402
from twintake.speech.voice import VoiceProfile, convert_many, decode_audio  # noqa: E402

TEXT = "مرحبا بكم جميعا. هذا اختبار قصير لصوت المتحدث. نتمنى لكم يوما سعيدا وجميلا."
SPEAKERS = ["daniel", "freeman", "emma", "angie", "deniro", "jlaw"]
RATE = 24000
_CLASSES = {
    **dict.fromkeys("AA AE AH AO AW AY ER".split(), "Va"), **dict.fromkeys("IY IH EY EH Y".split(), "Vi"),
    **dict.fromkeys("UW UH OW OY W".split(), "Vu"), **dict.fromkeys("P B M".split(), "PBM"),
    **dict.fromkeys("F V".split(), "FV"), **dict.fromkeys("TH DH".split(), "TH"),
    **dict.fromkeys("S Z".split(), "S"), **dict.fromkeys("SH ZH CH JH".split(), "SH"),
    **dict.fromkeys("T D N".split(), "TDN"), "L": "L", "R": "R", **dict.fromkeys("K G NG HH".split(), "KGH"),
}


def _edit(a: list[str], b: list[str]) -> int:
    d = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, y in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (x != y))
    return d[-1]


def _collapse(seq: list[str]) -> list[str]:
    out: list[str] = []
    for s in seq:
        if s and s != "SIL" and (not out or out[-1] != s):
            out.append(s)
    return out


def intended_phones(diacritized: str) -> list[str]:
    """ARPAbet sequence eSpeak NG intends for ``diacritized`` (same reference for both engines)."""
    return _collapse([arabic_ipa_to_arpabet(p.symbol) for p in synthesize_espeak(diacritized, "ar").phones])


def heard_phones(x: np.ndarray, rate: int) -> list[str]:
    from twintake.speech.phones import recognize_phones

    return _collapse([p.symbol for p in recognize_phones(x, rate, mode="accurate")])


def quality(x: np.ndarray, rate: int) -> dict[str, float]:
    """Clipping, pauses, pause noise and F0 continuity of one clip (see the module docstring)."""
    import pyworld

    x = x.astype(np.float64)
    hop = int(0.02 * rate)
    fr = x[: len(x) // hop * hop].reshape(-1, hop)
    db = 10 * np.log10(np.mean(fr ** 2, axis=1) + 1e-12)
    quiet = db < db.max() - 45
    loud = np.flatnonzero(~quiet)
    inner = quiet[loud[0]: loud[-1] + 1] if loud.size else quiet
    longest = run = 0
    for q in inner:
        run = run + 1 if q else 0
        longest = max(longest, run)
    spec = np.abs(np.fft.rfft(fr * np.hanning(hop), axis=1)) ** 2 + 1e-20
    flat = np.exp(np.mean(np.log(spec), axis=1)) / np.mean(spec, axis=1)
    f0, t = pyworld.dio(x, rate, frame_period=5.0)
    f0 = pyworld.stonemask(x, f0, t, rate)
    both = (f0[1:] > 0) & (f0[:-1] > 0)
    jumps = np.abs(12 * np.log2(f0[1:][both] / f0[:-1][both])) > 3
    return {"clip": float(np.mean(np.abs(x) >= 0.99)), "gap_s": longest * 0.02,
            "pause_db": float(np.median(db[quiet] - db.max())) if quiet.any() else float("nan"),
            "pause_flat": float(np.mean(flat[quiet])) if quiet.any() else float("nan"),
            "f0_glitch": float(np.mean(jumps)) if both.any() else float("nan"),
            "voiced": float(np.mean(f0 > 0))}


def _chunks(engine: str, sentences: list[str], voice: str | None, speed: float):
    t = time.perf_counter()
    chunks = [list(arabic_chunks([s], speed, vocalize=False, engine=engine, voice=voice)) for s in sentences]
    dt = time.perf_counter() - t
    audio = [np.concatenate([c.samples for c in ch]) for ch in chunks]
    return audio, dt


def _per(audio: list[np.ndarray], refs: list[list[str]]) -> tuple[float, float]:
    e39 = ecls = n = 0
    for x, ref in zip(audio, refs):
        hyp = heard_phones(x, RATE)
        e39 += _edit(ref, hyp)
        ecls += _edit(_collapse([_CLASSES.get(p, p) for p in ref]), _collapse([_CLASSES.get(p, p) for p in hyp]))
        n += len(ref)
    return e39 / n, ecls / n


def spectrogram_png(path: Path, clips: list[tuple[str, np.ndarray]], rate: int = RATE) -> None:
    """Save log-magnitude spectrograms (0-8 kHz, 25 ms Hann, 5 ms hop) of ``clips`` stacked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.signal import spectrogram

    fig, axes = plt.subplots(len(clips), 1, figsize=(12, 2.6 * len(clips)), squeeze=False)
    for ax, (title, x) in zip(axes[:, 0], clips):
        f, t, s = spectrogram(x, rate, window="hann", nperseg=int(0.025 * rate), noverlap=int(0.02 * rate))
        keep = f <= 8000
        sdb = 10 * np.log10(s[keep] + 1e-12)
        ax.pcolormesh(t, f[keep] / 1000, sdb, vmin=sdb.max() - 80, vmax=sdb.max(), shading="auto", cmap="magma")
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("kHz")
    axes[-1, 0].set_xlabel("s")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", choices=["espeak", "kokoro", "both"], default="both")
    ap.add_argument("--speakers", default=",".join(SPEAKERS))
    ap.add_argument("--sentences", type=int, default=12, help="MSA sentences for the PER proxy")
    ap.add_argument("--per-speakers", type=int, default=6, help="speakers whose converted audio gets a PER")
    ap.add_argument("--kokoro-voice", default=None, help="force this Kokoro voice pack (default: base_voice_for)")
    ap.add_argument("--speed", type=float, default=1.0)
    ap.add_argument("--png", type=Path, default=None, help="folder for spectrogram PNGs")
    args = ap.parse_args()
    engines = ["espeak", "kokoro"] if args.engine == "both" else [args.engine]
    speakers = [s for s in args.speakers.split(",") if s]

    import resemblyzer

    enc = resemblyzer.VoiceEncoder("cpu", verbose=False)

    def emb(x, r):
        return enc.embed_utterance(resemblyzer.preprocess_wav(_to16k(x, r), 16000))

    gold = [ln.strip() for ln in (ROOT / "tests" / "data" / "ar_msa_diacritized.txt")
            .read_text(encoding="utf-8").splitlines() if ln.strip()][::4][: args.sentences]
    gold = [normalize_arabic(s) for s in gold]
    refs = [intended_phones(s) for s in gold]
    n_chars = sum(len(strip_diacritics(s)) for s in gold)  # letters, spaces, punctuation
    profiles = {}
    for name in speakers:
        t = time.perf_counter()
        profiles[name] = VoiceProfile.from_audio(MEDIA / f"tortoise_{name}_1.wav")
        print(f"profile {name}: F0 {profiles[name].f0_median_hz:.0f} Hz ({time.perf_counter() - t:.1f} s)", flush=True)
    held = {name: emb(decode_audio(MEDIA / f"tortoise_{name}_2.wav", 16000), 16000) for name in speakers}

    summary = {}
    for engine in engines:
        print(f"\n=== engine {engine}", flush=True)
        voices = {name: (args.kokoro_voice or base_voice_for(profiles[name])) if engine == "kokoro" else None
                  for name in speakers}
        base_cache: dict = {}
        rows = []
        tts_time = tts_audio = vc_time = vc_audio = 0.0
        for name in speakers:
            v = voices[name]
            if v not in base_cache:
                t = time.perf_counter()
                b = synthesize(TEXT, lang="ar", ar_engine=engine, tts_voice=v)
                tts_time += time.perf_counter() - t
                tts_audio += b.duration_s
                base_cache[v] = (b, emb(b.samples, b.sample_rate_hz))
            base, eb = base_cache[v]
            t = time.perf_counter()
            conv = synthesize(TEXT, lang="ar", voice=profiles[name], ar_engine=engine, tts_voice=v)
            vc_time += time.perf_counter() - t
            vc_audio += conv.duration_s
            rows.append((name, v, float(eb @ held[name]), float(emb(conv.samples, RATE) @ held[name])))
            print(f"  {name:8s} {v or 'espeak':14s} base {rows[-1][2]:.3f} -> converted {rows[-1][3]:.3f}", flush=True)
        b_mean, c_mean = np.mean([r[2] for r in rows]), np.mean([r[3] for r in rows])
        print(f"  similarity mean over {len(rows)}: base {b_mean:.3f} -> converted {c_mean:.3f} ({c_mean - b_mean:+.3f})")
        # intelligibility proxy + quality on the gold sentences
        per_base = {}
        base_audio = {}
        for v in sorted(set(voices.values()), key=str):
            audio, dt = _chunks(engine, gold, v, args.speed)
            base_audio[v] = audio
            dur = sum(len(a) for a in audio) / RATE
            per_base[v] = _per(audio, refs)
            q = [quality(a, RATE) for a in audio]
            qm = {k: float(np.nanmean([d[k] for d in q])) for k in q[0]}
            qm["gap_s"] = max(d["gap_s"] for d in q)
            print(f"  base {v or 'espeak'}: PER39 {per_base[v][0]:.3f} PERcls {per_base[v][1]:.3f}  "
                  f"{dur / n_chars:.3f} s/char  TTS RTF {dt / dur:.3f}  clip {qm['clip']:.4f}  "
                  f"max pause {qm['gap_s']:.2f} s  pause {qm['pause_db']:.0f} dB flat {qm['pause_flat']:.2f}  "
                  f"F0 glitch {qm['f0_glitch']:.4f} voiced {qm['voiced']:.2f}", flush=True)
        per_conv = []
        for name in speakers[: args.per_speakers]:
            conv = convert_many(base_audio[voices[name]], RATE, profiles[name], loudness_lufs=None)
            per_conv.append(_per(conv, refs))
            print(f"  converted {name}: PER39 {per_conv[-1][0]:.3f} PERcls {per_conv[-1][1]:.3f}", flush=True)
            if args.png and name == speakers[0]:
                args.png.mkdir(parents=True, exist_ok=True)
                spectrogram_png(args.png / f"arabic_{engine}.png",
                                [(f"{engine} base ({voices[name] or 'espeak'}): {gold[0][:40]}", base_audio[voices[name]][0]),
                                 (f"{engine} converted to {name}", conv[0])])
        per_b = np.mean([per_base[voices[n]] for n in speakers[: args.per_speakers]], axis=0)
        per_c = np.mean(per_conv, axis=0) if per_conv else (np.nan, np.nan)
        summary[engine] = (b_mean, c_mean, per_b, per_c, tts_time / tts_audio, vc_time / vc_audio)
    print("\n| engine | similarity base -> converted | PER39 base -> converted | PERcls base -> converted | "
          "TTS RTF | synth+VC RTF |")
    print("|---|---|---|---|---|---|")
    for engine, (b, c, pb, pc, rtf, vrtf) in summary.items():
        print(f"| {engine} | {b:.3f} -> {c:.3f} ({c - b:+.3f}) | {pb[0]:.3f} -> {pc[0]:.3f} | "
              f"{pb[1]:.3f} -> {pc[1]:.3f} | {rtf:.3f} | {vrtf:.3f} |")


if __name__ == "__main__":
    main()
