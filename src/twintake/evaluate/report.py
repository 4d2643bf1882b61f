"""Reports of the evaluation: results.json, a Markdown table, and plots (matplotlib, Agg)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .protocol import EvalConfig, VideoEval

__all__ = ["METRICS", "summary", "markdown", "plot_opening", "plot_strip", "write_report"]

#: (field, column label, format, better) in report order; better: "low", "high", "1" (closest to
#: 1), "0" (closest to 0), "" (no ranking).
METRICS: list[tuple[str, str, str, str]] = [
    ("lmd", "LMD (% IOD) ↓", "{:.2f}", "low"),
    ("sync_conf", "sync conf ↑", "{:.3f}", "high"),
    ("av_offset", "AV offset (frames)", "{:+.1f}", "0"),
    ("open_corr", "opening corr vs real ↑", "{:.3f}", "high"),
    ("open_lag", "opening lag vs real (frames)", "{:+.1f}", "0"),
    ("silent_mouth", "silent mouth (of range) ↓", "{:.3f}", "0"),
    ("sharpness", "mouth sharpness (×src)", "{:.2f}", "1"),
    ("ssim_identity", "identity SSIM ↑", "{:.4f}", "high"),
    ("psnr_identity", "identity PSNR (dB) ↑", "{:.1f}", "high"),
    ("jitter", "jitter (×real)", "{:.2f}", "1"),
    ("face_found", "face found", "{:.2f}", "high"),
    ("pops_per_min", "mouth pops per min ↓", "{:.1f}", "low"),
    ("lmd_p95", "LMD p95 (% IOD) ↓", "{:.2f}", "low"),
    ("outside_change", "outside-face change (% frame) ↓", "{:.3f}", "low"),
    ("ghost", "ghost edges ↓", "{:.3f}", "low"),
]

#: Fields reported in percent (stored as fractions / IOD units).
PERCENT = ("lmd", "lmd_p95", "outside_change")


def _value(ev: VideoEval, method: str, key: str) -> float:
    r = ev.results.get(method)
    if r is None:
        return float("nan")
    v = float(getattr(r, key, float("nan")))
    return v * 100 if key in PERCENT else v


def summary(evals: list[VideoEval]) -> dict[str, dict[str, float]]:
    """method -> metric -> mean over videos (NaNs ignored; LMD in % of IOD)."""
    methods: list[str] = []
    for ev in evals:
        methods += [m for m in ev.results if m not in methods]
    out: dict[str, dict[str, float]] = {}
    for m in methods:
        out[m] = {}
        for key, *_ in METRICS:
            vals = np.array([_value(ev, m, key) for ev in evals], np.float64)
            vals = vals[np.isfinite(vals)]
            out[m][key] = float(vals.mean()) if len(vals) else float("nan")
    return out


def _fmt(fmt: str, v: float) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)


def markdown(evals: list[VideoEval], config: EvalConfig | None = None) -> str:
    """The Markdown report: mean of every metric per method side by side, then per video."""
    cfg = config or EvalConfig()
    s = summary(evals)
    methods = list(s)
    lines = [f"Self-reenactment on {len(evals)} video(s), first {cfg.max_seconds:g} s each, leave-segment-out "
             f"±{cfg.exclude_s:g} s; `real` is the video itself (reference).", "",
             "| metric | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
    for key, label, fmt, _ in METRICS:
        lines.append(f"| {label} | " + " | ".join(_fmt(fmt, s[m][key]) for m in methods) + " |")
    lines += ["", "Per video (LMD % IOD / sync conf / AV offset / opening corr vs real):", "",
              "| video | frames | " + " | ".join(methods) + " |", "|---|---:|" + "---|" * len(methods)]
    for ev in evals:
        cells = []
        for m in methods:
            if m not in ev.results:
                cells.append("–")
                continue
            r = ev.results[m]
            cells.append(f"{r.lmd * 100:.2f} / {r.sync_conf:.2f} / {r.av_offset:+d} / {r.open_corr:.2f}")
        lines.append(f"| {ev.name} | {ev.frames} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_opening(ev: VideoEval, path: str | Path) -> Path:
    """PNG: mouth opening of the real video and every method over time, with the loudness."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.arange(ev.frames) / ev.fps
    fig, ax = plt.subplots(figsize=(11, 4), dpi=100)
    for key, series in ev.series.items():
        if key.startswith("opening_"):
            m = key[8:]
            y = np.array(series, np.float64)
            ax.plot(t[: len(y)], y, lw=2.2 if m in ("real", "twintake") else 1.0,
                    color="black" if m == "real" else None, label=m, alpha=1.0 if m in ("real", "twintake") else 0.7)
    sil = np.array(ev.series.get("silent", []), bool)
    for i in np.flatnonzero(sil):
        ax.axvspan(i / ev.fps, (i + 1) / ev.fps, color="0.9", lw=0, zorder=0)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("inner-lip opening (IOD)")
    ax2 = ax.twinx()
    ax2.plot(t[: len(ev.series["loudness_db"])], ev.series["loudness_db"], color="tab:purple", lw=0.8, ls="--", alpha=0.6)
    ax2.set_ylabel("loudness (dBFS, dashed)", color="tab:purple")
    ax.legend(loc="upper left", fontsize=8, ncol=5)
    ax.set_title(f"{ev.name}: mouth opening vs loudness (grey = silence)")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_strip(ev: VideoEval, path: str | Path) -> Path:
    """PNG: mouth crops of the same frames, one row per method (first row: real)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [m for m in ev.strip if ev.strip[m]]
    cols = max(len(ev.strip[m]) for m in rows) if rows else 1
    fig, axes = plt.subplots(len(rows), cols, figsize=(1.6 * cols, 1.3 * len(rows) + 0.4), dpi=100, squeeze=False)
    for i, m in enumerate(rows):
        for j in range(cols):
            ax = axes[i][j]
            ax.axis("off")
            if j < len(ev.strip[m]):
                ax.imshow(ev.strip[m][j])
            if j == 0:
                ax.text(-0.05, 0.5, m, transform=ax.transAxes, ha="right", va="center", fontsize=9)
            if i == 0 and j < len(ev.strip_index):
                ax.set_title(f"{ev.strip_index[j] / ev.fps:.2f} s", fontsize=8)
    fig.suptitle(f"{ev.name}: generated vs real mouths", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(evals: list[VideoEval], out_dir: str | Path, config: EvalConfig | None = None,
                 extra: dict | None = None) -> dict[str, Path]:
    """Write ``results.json``, ``results.md`` and per-video ``<name>_opening.png`` /
    ``<name>_strip.png`` into ``out_dir``. Returns name -> path of what was written."""
    cfg = config or EvalConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    data = {"config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__}, "summary": summary(evals),
            "videos": [ev.to_json() for ev in evals], **(extra or {})}
    (out / "results.json").write_text(json.dumps(data, indent=1, default=float))
    written["json"] = out / "results.json"
    (out / "results.md").write_text(markdown(evals, cfg))
    written["markdown"] = out / "results.md"
    for ev in evals:
        written[f"{ev.name}_opening"] = plot_opening(ev, out / f"{ev.name}_opening.png")
        written[f"{ev.name}_strip"] = plot_strip(ev, out / f"{ev.name}_strip.png")
    return written
