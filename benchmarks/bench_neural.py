"""SD-Turbo and XTTS-v2 at their real sizes on the CPU: seconds per image, real-time factor, peak memory.

Run (from the repo root; needs the ``neural`` extra):

  PYTHONPATH=src nice python benchmarks/bench_neural.py [--only sd|xtts] [--images 2] [--json out.json]

No checkpoint is downloaded or needed: each model is built in-process from the real model's
configuration (written out below) with random weights, in a fresh child process each, so that
the peak RSS is that model's alone.

* **SD-Turbo, 1 step, 512x512**: ``UNet2DConditionModel`` with SD 2.1 / SD-Turbo's config
  (865.9 M parameters), ``AutoencoderKL`` (83.7 M), ``CLIPTextModel`` of OpenCLIP ViT-H's text
  tower as SD 2.x ships it (23 layers, width 1024; 340.4 M), Euler scheduler with trailing
  timesteps, guidance off (turbo): the call ``twintake avatar create`` makes
  (:func:`twintake.generate.generate_portraits`). The CLIP BPE vocabulary cannot be built
  offline, so the tokenizer is a character-level CLIP tokenizer (as in the tests); every prompt
  is padded to the 77 tokens SD uses, so the text encoder's compute is the same.
* **XTTS-v2**: the published ``config.json``'s sizes (30-layer, 1024-wide GPT with perceiver
  conditioning, 6681 text tokens, 1026 audio tokens, the HiFi-GAN decoder and speaker encoder),
  saved in the published folder layout and loaded through twintake's ``xtts`` synthesizer (the
  code ``--voice-backend xtts`` runs, incl. the phone recognition of each sentence), cloning a
  5 s clip. The vocabulary is character-level (the BPE merges are not available offline): a
  100-character sentence gives ~100 text tokens instead of ~30, a slightly longer GPT prefix.
  A random GPT never emits its stop token, so each sentence runs to twintake's cap
  (1 s + 0.12 s per character of audio codes): RTF = run seconds / seconds of audio made.

Random weights give the real compute but not a usable image or voice. There is no GPU here.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "media"
REFERENCE = SHARED / "speech_en" / "realthreed_obama_5s.wav"
EN = "The quarterly report is ready, and the team will present all of its results to the boards on Monday."
AR = "التقرير الفصلي جاهز الآن، وسيعرض الفريق أهم نتائجه على أعضاء مجلس الإدارة يوم الاثنين المقبل صباحاً."

#: stabilityai/sd-turbo unet/config.json (the SD 2.1 UNet; sample_size 64 = 512 px).
SD_UNET = {
    "act_fn": "silu", "attention_head_dim": [5, 10, 20, 20], "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False, "cross_attention_dim": 1024,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1, "dual_cross_attention": False, "flip_sin_to_cos": True, "freq_shift": 0,
    "in_channels": 4, "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05,
    "norm_num_groups": 32, "out_channels": 4, "sample_size": 64,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "use_linear_projection": True, "upcast_attention": False,
}
#: sd-turbo vae/config.json (the SD VAE).
SD_VAE = {
    "act_fn": "silu", "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4, "up_block_types": ["UpDecoderBlock2D"] * 4,
    "in_channels": 3, "out_channels": 3, "latent_channels": 4, "layers_per_block": 2,
    "norm_num_groups": 32, "sample_size": 512, "scaling_factor": 0.18215,
}
#: sd-turbo text_encoder/config.json (OpenCLIP ViT-H/14 text tower, penultimate layer: 23 layers).
SD_TEXT = {
    "hidden_size": 1024, "intermediate_size": 4096, "num_attention_heads": 16, "num_hidden_layers": 23,
    "hidden_act": "gelu", "max_position_embeddings": 77, "vocab_size": 49408, "projection_dim": 512,
    "layer_norm_eps": 1e-05, "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1,
}
#: sd-turbo scheduler/scheduler_config.json (EulerDiscreteScheduler).
SD_SCHEDULER = {
    "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "num_train_timesteps": 1000,
    "prediction_type": "epsilon", "timestep_spacing": "trailing", "steps_offset": 1,
}
#: coqui/XTTS-v2 config.json: model_args and the inference settings.
XTTS_ARGS = {
    "gpt_max_audio_tokens": 605, "gpt_max_text_tokens": 402, "gpt_max_prompt_tokens": 70, "gpt_layers": 30,
    "gpt_n_model_channels": 1024, "gpt_n_heads": 16, "gpt_number_text_tokens": 6681,
    "gpt_num_audio_tokens": 1026, "gpt_start_audio_token": 1024, "gpt_stop_audio_token": 1025,
    "gpt_code_stride_len": 1024, "gpt_use_masking_gt_prompt_approach": True, "gpt_use_perceiver_resampler": True,
    "input_sample_rate": 22050, "output_sample_rate": 24000, "output_hop_length": 256,
    "decoder_input_dim": 1024, "d_vector_dim": 512, "cond_d_vector_in_each_upsampling_layer": True,
    "duration_const": 102400, "kv_cache": True,
}
XTTS_INFERENCE = {"temperature": 0.75, "length_penalty": 1.0, "repetition_penalty": 5.0, "top_k": 50,
                  "top_p": 0.85}


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU seconds of this process so far (all threads): less sensitive than wall time to the
    other work on a shared machine."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _params(m) -> float:
    return sum(p.numel() for p in m.parameters()) / 1e6


def _timed(module, name: str, into: dict) -> None:
    """Add ``module``'s forward seconds to ``into[name]``."""
    start = {}

    def pre(*_):
        start[0] = time.perf_counter()

    def post(*_):
        into[name] = into.get(name, 0.0) + time.perf_counter() - start[0]

    module.register_forward_pre_hook(pre)
    module.register_forward_hook(post)


def child_sd(images: int) -> dict:
    import torch

    from twintake.speech.tts.xtts import _import_torchaudio

    _import_torchaudio()
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from twintake.generate import generate_portraits

    torch.manual_seed(0)
    t0 = time.perf_counter()
    unet = UNet2DConditionModel(**SD_UNET)
    vae = AutoencoderKL(**SD_VAE)
    text = CLIPTextModel(CLIPTextConfig(**SD_TEXT))
    build_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        vocab = {"<|startoftext|>": 0, "!": 1, "<|endoftext|>": 2}
        for c in "abcdefghijklmnopqrstuvwxyz0123456789,.'-?":
            vocab.setdefault(c, len(vocab))
            vocab.setdefault(c + "</w>", len(vocab))
        (Path(tmp) / "vocab.json").write_text(json.dumps(vocab))
        (Path(tmp) / "merges.txt").write_text("#version: 0.2\n")
        tok = CLIPTokenizer(str(Path(tmp) / "vocab.json"), str(Path(tmp) / "merges.txt"), model_max_length=77,
                            pad_token="!")
    pipe = StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text, tokenizer=tok,
                                   scheduler=EulerDiscreteScheduler(**SD_SCHEDULER), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    parts: dict[str, float] = {}
    _timed(pipe.text_encoder, "text_encoder", parts)
    _timed(pipe.unet, "unet", parts)
    _timed(pipe.vae.decoder, "vae_decoder", parts)
    prompt = "head and shoulders portrait of a smiling woman, 40, studio light, portrait photo"
    runs = []
    for i in range(images + 1):  # the first is a warm-up
        parts.clear()
        t, c = time.perf_counter(), _cpu_s()
        (p,) = generate_portraits(pipe, prompt, count=1, steps=1, seed=i, size=512, turbo=True)
        runs.append({"s": round(time.perf_counter() - t, 2), "cpu_s": round(_cpu_s() - c, 2),
                     **{k: round(v, 2) for k, v in parts.items()}})
        assert p.image.shape == (512, 512, 3)
    return {"model": "sd-turbo (random weights)", "size": 512, "steps": 1,
            "params_m": {"unet": round(_params(unet), 1), "vae": round(_params(vae), 1),
                         "text_encoder": round(_params(text), 1)},
            "build_s": round(build_s, 1), "warmup": runs[0], "runs": runs[1:],
            "s_per_image": round(sum(r["s"] for r in runs[1:]) / images, 2),
            "cpu_s_per_image": round(sum(r["cpu_s"] for r in runs[1:]) / images, 2),
            "threads": torch.get_num_threads(), "peak_rss_mb": round(_rss_mb(), 0)}


def _xtts_folder(folder: Path) -> dict:
    """The real-size XTTS-v2 with random weights, saved like the published folder."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers

    from twintake.speech.tts.xtts import _import_torchaudio

    _import_torchaudio()
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer
    from TTS.tts.models.xtts import Xtts

    vocab = {"[STOP]": 0, "[UNK]": 1, "[SPACE]": 2, "[START]": 3}
    for lang in XttsConfig().languages:
        vocab[f"[{lang}]"] = len(vocab)
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789'.,!?;:-\"()") + [chr(c) for c in range(0x600, 0x6FF)]
    for c in chars:
        vocab.setdefault(c, len(vocab))
    n = XTTS_ARGS["gpt_number_text_tokens"]
    for i in range(n - len(vocab)):  # fill to the real vocabulary size (unused entries)
        vocab[f"[pad{i}]"] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "vocab.json"))
    cfg = XttsConfig()
    for k, v in XTTS_ARGS.items():
        setattr(cfg.model_args, k, v)
    for k, v in XTTS_INFERENCE.items():
        setattr(cfg, k, v)
    (folder / "config.json").write_text(json.dumps(cfg.to_dict()))
    torch.manual_seed(0)
    m = Xtts(cfg)
    m.tokenizer = VoiceBpeTokenizer(vocab_file=folder / "vocab.json")
    m.init_models()
    sd = {k: v for k, v in m.state_dict().items() if not k.startswith("gpt.gpt_inference.")}
    torch.save({"model": sd}, folder / "model.pth")
    def count(prefix: str) -> float:
        return round(sum(v.numel() for k, v in sd.items() if k.startswith(prefix)) / 1e6, 1)

    return {"gpt": count("gpt."), "hifigan_decoder": count("hifigan_decoder."), "total": count("")}


def child_xtts(reference: str) -> dict:
    import torch

    import twintake.speech.phones as phones
    from twintake.speech.tts.xtts import SAMPLE_RATE, XttsSynthesizer

    spent = {"phones": 0.0}
    real = phones.recognize_phones

    def timed_phones(*a, **k):
        t = time.perf_counter()
        try:
            return real(*a, **k)
        finally:
            spent["phones"] += time.perf_counter() - t

    phones.recognize_phones = timed_phones
    with tempfile.TemporaryDirectory(prefix="xtts-bench-") as tmp:
        t0 = time.perf_counter()
        params = _xtts_folder(Path(tmp) / "XTTS-v2")
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        synth = XttsSynthesizer(Path(tmp) / "XTTS-v2", reference=reference)
        load_s = time.perf_counter() - t0
    list(synth.chunks(["Hello there."], "en"))  # warm-up
    rows = []
    for lang, sentence in (("en", EN), ("ar", AR)):
        spent["phones"] = 0.0
        t, c = time.perf_counter(), _cpu_s()
        (chunk,) = list(synth.chunks([sentence], lang))
        dt, cpu = time.perf_counter() - t, _cpu_s() - c
        audio_s = chunk.samples.size / SAMPLE_RATE
        rows.append({"lang": lang, "chars": len(sentence), "s": round(dt, 2), "audio_s": round(audio_s, 2),
                     "rtf": round(dt / audio_s, 2), "cpu_s": round(cpu, 2),
                     "cpu_s_per_audio_s": round(cpu / audio_s, 2), "phones_s": round(spent["phones"], 2),
                     "rtf_without_phones": round((dt - spent["phones"]) / audio_s, 2)})
    return {"model": "xtts-v2 (random weights)", "params_m": params, "build_and_save_s": round(build_s, 1),
            "load_and_clone_s": round(load_s, 1), "runs": rows, "threads": torch.get_num_threads(),
            "peak_rss_mb": round(_rss_mb(), 0)}


def _run_child(what: str, *args: str) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", what, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{what} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _load() -> list[float]:
    import os

    return [round(x, 1) for x in os.getloadavg()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=["sd", "xtts"])
    ap.add_argument("--images", type=int, default=2, help="timed SD images after one warm-up")
    ap.add_argument("--reference", default=str(REFERENCE), help="the voice clip XTTS clones")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child == "sd":
        print(json.dumps(child_sd(a.images)))
        return
    if a.child == "xtts":
        print(json.dumps(child_xtts(a.reference)))
        return
    out = {"date": time.strftime("%Y-%m-%d"), "cpu_threads": None, "load_before": _load()}
    if a.only in (None, "sd"):
        out["sd"] = _run_child("sd", "--images", str(a.images))
        print(json.dumps(out["sd"], indent=1), flush=True)
    if a.only in (None, "xtts"):
        out["xtts"] = _run_child("xtts", "--reference", a.reference)
        print(json.dumps(out["xtts"], indent=1), flush=True)
    import os

    out["cpu_threads"] = os.cpu_count()
    out["load_after"] = _load()
    if a.json:
        a.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
