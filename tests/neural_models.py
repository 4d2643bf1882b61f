"""Tiny randomly initialised checkpoints in the published file layouts, built by the tests (no
downloads): an XTTS-v2 folder (config.json, model.pth, vocab.json) and a Stable Diffusion
diffusers folder (unet, vae, text_encoder, tokenizer, scheduler, model_index.json)."""

from __future__ import annotations

import json
from pathlib import Path

ARABIC = [chr(c) for c in range(0x621, 0x64B)]


def build_tiny_xtts(folder: Path, dim: int = 64, layers: int = 1, heads: int = 2,
                    max_audio_tokens: int = 120, seed: int = 0) -> Path:
    """An XTTS-v2 folder with a 1-layer 64-wide GPT (the HiFi-GAN decoder and speaker encoder
    keep their real, fixed sizes), random weights; ``model.pth`` = ``{"model": state dict}``."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers

    from twintake.speech.tts.xtts import _import_torchaudio

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"[STOP]": 0, "[UNK]": 1, "[SPACE]": 2, "[START]": 3, "[en]": 4, "[ar]": 5}
    for c in list("abcdefghijklmnopqrstuvwxyz'.,!?-") + ARABIC:
        vocab.setdefault(c, len(vocab))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(folder / "vocab.json"))
    _import_torchaudio()
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer
    from TTS.tts.models.xtts import Xtts

    cfg = XttsConfig()
    a = cfg.model_args
    a.gpt_layers, a.gpt_n_model_channels, a.gpt_n_heads, a.decoder_input_dim = layers, dim, heads, dim
    a.gpt_use_perceiver_resampler = True  # as XTTS-v2
    a.gpt_max_audio_tokens = max_audio_tokens
    a.gpt_num_audio_tokens, a.gpt_start_audio_token, a.gpt_stop_audio_token = 1026, 1024, 1025
    cfg.languages = ["en", "ar"]
    (folder / "config.json").write_text(json.dumps(cfg.to_dict()))
    torch.manual_seed(seed)
    m = Xtts(cfg)
    m.tokenizer = VoiceBpeTokenizer(vocab_file=folder / "vocab.json")
    m.init_models()
    sd = {k: v for k, v in m.state_dict().items() if not k.startswith("gpt.gpt_inference.")}
    torch.save({"model": sd}, folder / "model.pth")
    return folder


def build_tiny_sd(folder: Path, seed: int = 0, turbo: bool = True) -> Path:
    """A Stable Diffusion diffusers folder with tiny random parts (as diffusers' own fast tests:
    a 2-block UNet2DConditionModel, AutoencoderKL and 5-layer CLIPTextModel, width 32) and a CLIP
    BPE tokenizer built here from a character vocabulary (no hub files); the scheduler config
    names "turbo" when ``turbo`` (SD-Turbo's licence family)."""
    import torch

    from twintake.speech.tts.xtts import _import_torchaudio

    _import_torchaudio()
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(block_out_channels=(32, 64), layers_per_block=1, sample_size=32, in_channels=4,
                                out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
                                norm_num_groups=32)
    vae = AutoencoderKL(block_out_channels=[32, 64], in_channels=3, out_channels=3,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                        latent_channels=4, norm_num_groups=32)
    text = CLIPTextModel(CLIPTextConfig(bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=32,
                                        intermediate_size=37, num_attention_heads=4, num_hidden_layers=5,
                                        vocab_size=1000, max_position_embeddings=77))
    tok_dir = folder / "_tok"
    tok_dir.mkdir(exist_ok=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in "abcdefghijklmnopqrstuvwxyz0123456789,.'-!?":
        vocab.setdefault(c, len(vocab))
        vocab.setdefault(c + "</w>", len(vocab))
    (tok_dir / "vocab.json").write_text(json.dumps(vocab))
    (tok_dir / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(tok_dir / "vocab.json"), str(tok_dir / "merges.txt"), model_max_length=77)
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       timestep_spacing="trailing")
    if turbo:
        scheduler.register_to_config(_note="sd-turbo-like test model")
    pipe = StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text, tokenizer=tokenizer, scheduler=scheduler,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(str(folder / "model"))
    return folder / "model"
